"""What the stack operations the executor runs through a table do: field ops, comparisons, manipulation, advice
and environment inputs (``OPS``: operation name -> function).

Each function gets the VM, the ``Op`` and ``row``: it checks what the processor checks, calls ``row(helpers)``
exactly once with the user-op helper registers (decoder h2, h3, ... as the model reads them; [] when the operation
has none), then changes the stack. The row records the state before the operation (the executor's rule: one row
per cycle, the state at its start). Sources, all at v0.18.0 (unchanged at v0.19.0):

* processor/src/operations/field_ops.rs: INV (error on 0), NOT/AND/OR (``assert_binary``), EQZ (h0 = 1/s0 or 0),
  EXPACC (h0 = the base when the exponent's low bit is 1, else 1; exp' = exp >> 1 on the integer);
* processor/src/operations/ext2_ops.rs: EXT2MUL on [b1, b0, a1, a0]: (b1, b0, (b0 + b1)(a1 + a0) - b0 a0,
  b0 a0 - 2 b1 a1);
* processor/src/operations/horner_ops.rs: HORNERBASE / HORNEREXT (8 or 4 Horner steps at alpha, the word at s13,
  on the accumulator (s15, s14); helpers alpha, the word's other half, the midway value);
* processor/src/operations/stack_ops.rs: MOVDNn, SWAPW/SWAPW2/SWAPW3/SWAPDW, CSWAP/CSWAPW (pop c, binary);
* processor/src/operations/io_ops.rs: ADVPOP (push the advice stack's top), ADVPOPW (the advice word
  [w0, w1, w2, w3], w0 popped first, written as s0 = w3 .. s3 = w0; the stack does not shift); MSTREAM and PIPE
  (two words at s12 and s12 + 4, read from memory or popped from the advice stack and written, onto s7..s0;
  s12 += 8);
  processor/src/host/advice/mod.rs: the inputs' first value is the advice stack's top (``stack.reverse()``);
* processor/src/operations/sys_ops/mod.rs: SDEPTH pushes the depth before the push, CLK the cycle; EMIT leaves the
  stack alone and calls the host with the event id s0. The events a program can reach here are two system events
  (their v0.18 or v0.19 ids: ``masm.SYSTEM_EVENTS``): Ext2Inv (emitted by ext2inv/ext2div as PUSH(id) EMIT DROP),
  whose handler (sys_ops/sys_event_handlers.rs ``push_ext2_inv_result``) pushes 1/(s2 + s1 x) in
  F_p[x]/(x^2 - x + 2) onto the advice stack, coefficient 1 first, so coefficient 0 is on top; and
  MerkleNodeToStack (emitted by mtree_get and mtree_set): ``copy_merkle_node_to_adv_stack`` pushes the node
  (s1 = depth, s2 = index) of the tree whose root is the word at s3..s6 from the executor's Merkle store.

The constraints these rows must satisfy: docs/src/design/stack/{field_ops,stack_ops,io_ops,system_ops}.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from air.miden.exec_errors import ExecutionError
from air.miden.layout import P
from air.miden.masm import SYSTEM_EVENTS

Row = Callable[[Sequence[int]], None]
StackOp = Callable[[Any, Any, Row], None]

__all__ = ["OPS", "inverse"]


def inverse(v: int) -> int:
    """v^-1 mod p (0 for 0)."""
    return pow(v, P - 2, P) if v % P else 0


def _fail(vm: Any, o: Any, msg: str) -> Exception:
    """An ExecutionError naming the instruction."""
    return ExecutionError(f"{o.src or vm.at()}: {msg}")


def _binary(vm: Any, o: Any, *values: int) -> None:
    for v in values:
        if v not in (0, 1):
            raise _fail(vm, o, f"{o.name} needs binary values on the stack, found {v} (processor: assert_binary)")


# ------------------------------------------------------------------------------------------ field ops
def _inv(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    if s[0] == 0:
        raise _fail(vm, o, "inv of 0 (division by zero)")
    row([])
    s[0] = inverse(s[0])


def _not(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    _binary(vm, o, s[0])
    row([])
    s[0] = 1 - s[0]


def _and_or(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    _binary(vm, o, s[0], s[1])
    row([])
    a, b = s[0], s[1]
    vm.pop()
    s[0] = a & b if o.name == "AND" else a | b


def _eqz(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    row([inverse(s[0])])
    s[0] = int(s[0] == 0)


def _expacc(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    base, acc, exp = s[1], s[2], s[3]
    bit = exp & 1
    factor = base if bit else 1
    row([factor])
    s[0], s[1], s[2], s[3] = bit, base * base % P, acc * factor % P, exp >> 1


def _ext2mul(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    b1, b0, a1, a0 = s[0], s[1], s[2], s[3]
    row([])
    s[2] = ((b0 + b1) * (a1 + a0) - b0 * a0) % P
    s[3] = (b0 * a0 - 2 * b1 * a1) % P


Quad = tuple[int, int]


def _qmul(a: Quad, b: Quad) -> Quad:
    """(a0 + a1 x)(b0 + b1 x) in F_p[x]/(x^2 - x + 2) (Miden's QuadFelt): x^2 = x - 2."""
    return (a[0] * b[0] - 2 * a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0] + a[1] * b[1]) % P


def _horner(n_coeffs: int) -> StackOp:
    """horner_ops.rs op_horner_eval_base (8 base-field coefficients s0..s7) / op_horner_eval_ext (4 extension
    coefficients (s_{2i+1}, s_{2i})): alpha = (w0, w1) of the word at s13, acc = (s15, s14); the coefficients
    folded from the last (s7, or (s7, s6)) down, tmp after the first half; acc' = (s15', s14'), the rest kept.
    Helpers h0..h5 = alpha0, alpha1, w2, w3, tmp0, tmp1."""

    def run(vm: Any, o: Any, row: Row) -> None:
        s = vm.top
        a = _word_address(vm, o, 13, 1)
        w = vm.mem_word(vm.ctx, a)
        alpha = (w[0], w[1])
        if n_coeffs == 8:
            coeffs = [(s[i], 0) for i in range(8)]
        else:
            coeffs = [(s[2 * i + 1], s[2 * i]) for i in range(4)]
        acc = (s[15], s[14])
        half = len(coeffs) // 2
        for k, c in enumerate(reversed(coeffs)):
            m = _qmul(acc, alpha)
            acc = ((m[0] + c[0]) % P, (m[1] + c[1]) % P)
            if k == half - 1:
                tmp = acc
        row([alpha[0], alpha[1], w[2], w[3], tmp[0], tmp[1]])
        vm.mem_read(vm.ctx, a, True, vm.here)  # the word read, on this row's clk (the memory chiplet's row)
        s[15], s[14] = acc

    return run


# ------------------------------------------------------------------------------------------ manipulation
def _movdn(n: int) -> StackOp:
    def run(vm: Any, o: Any, row: Row) -> None:
        row([])
        s = vm.top
        s.insert(n, s.pop(0))

    return run


def _swap_words(k: int, width: int = 4) -> StackOp:
    """s_i <-> s_{i+k} for i < width: SWAPW (k 4), SWAPW2 (8), SWAPW3 (12), SWAPDW (k 8, width 8)."""

    def run(vm: Any, o: Any, row: Row) -> None:
        row([])
        s = vm.top
        s[0:width], s[k : k + width] = s[k : k + width], s[0:width]

    return run


def _cswap(width: int) -> StackOp:
    """CSWAP (width 1) / CSWAPW (width 4): pop c; on 1 swap the next two elements / words."""

    def run(vm: Any, o: Any, row: Row) -> None:
        s = vm.top
        _binary(vm, o, s[0])
        row([])
        if vm.pop():
            s[0:width], s[width : 2 * width] = s[width : 2 * width], s[0:width]

    return run


# ------------------------------------------------------------------------------------------ inputs
def _advice(vm: Any, o: Any, n: int) -> list[int]:
    """The advice stack's top ``n`` values, top first (``vm.advice`` holds the advice stack top last)."""
    if len(vm.advice) < n:
        have = len(vm.advice)
        raise _fail(vm, o, f"the advice stack has {have} value(s), {o.name} needs {n} (see air run --advice)")
    return [vm.advice.pop() for _ in range(n)]


def _advpop(vm: Any, o: Any, row: Row) -> None:
    (v,) = _advice(vm, o, 1)
    row([])
    vm.push(v)


def _advpopw(vm: Any, o: Any, row: Row) -> None:
    w = _advice(vm, o, 4)
    row([])
    vm.top[0:4] = w[::-1]


def _word_address(vm: Any, o: Any, at: int, words: int) -> int:
    """The address at stack position ``at`` of ``words`` consecutive word accesses (HORNERBASE/EXT: s13, one;
    MSTREAM and PIPE: s12, two), checked as the memory chiplet does: u32 to the last word, word-aligned."""
    a = vm.top[at]
    last = a + 4 * (words - 1)
    if last >= 2**32:
        raise _fail(vm, o, f"memory address {a if a >= 2**32 else last} is not a u32")
    if a % 4:
        raise _fail(vm, o, f"word access at unaligned address {a}")
    return a


def _two_words(vm: Any, a: int, w0: Sequence[int], w1: Sequence[int]) -> None:
    """s0..s7 = the words in stack order (s0 = w1[3] .. s3 = w1[0], s4 = w0[3] .. s7 = w0[0]), s12 += 8."""
    flat = [*w0, *w1]
    for i in range(8):
        vm.top[i] = flat[7 - i]
    vm.top[12] = (a + 8) % P


def _mstream(vm: Any, o: Any, row: Row) -> None:
    """io_ops.rs op_mstream: the words at s12 and s12 + 4 read (one clk) onto s7..s0."""
    a = _word_address(vm, o, 12, 2)
    row([])
    w0 = vm.mem_read(vm.ctx, a, True, vm.here)
    w1 = vm.mem_read(vm.ctx, a + 4, True, vm.here)
    _two_words(vm, a, w0, w1)


def _pipe(vm: Any, o: Any, row: Row) -> None:
    """io_ops.rs op_pipe: two words popped from the advice stack (pop_stack_dword: w0 first, w0[0] its top), written
    at s12 and s12 + 4, and put on s7..s0 as MSTREAM puts them."""
    a = _word_address(vm, o, 12, 2)
    vals = _advice(vm, o, 8)
    w0, w1 = vals[:4], vals[4:]
    row([])
    vm.mem_write(vm.ctx, a, tuple(w0), True, vm.here)
    vm.mem_write(vm.ctx, a + 4, tuple(w1), True, vm.here)
    _two_words(vm, a, w0, w1)


def _sdepth(vm: Any, o: Any, row: Row) -> None:
    d = vm.depth
    row([])
    vm.push(d)


def _clk(vm: Any, o: Any, row: Row) -> None:
    row([])
    vm.push(vm.clk)


def _emit(vm: Any, o: Any, row: Row) -> None:
    s = vm.top
    event = EVENT_NAMES.get(s[0])
    if event == "merkle_node_to_stack":
        # sys_event_handlers.rs copy_merkle_node_to_adv_stack on [event, d, i, R, ...]: the node (d, i) of the tree
        # with root R = get_stack_word(3) = (s6, s5, s4, s3), pushed as push_stack_word: word[0] on top
        from air.miden.merkle import MerkleError

        try:
            node = vm.merkle.node((s[6], s[5], s[4], s[3]), s[1], s[2])
        except MerkleError as e:
            raise _fail(vm, o, str(e)) from None
        row([])
        vm.advice += [node[3], node[2], node[1], node[0]]
        return
    if event != "ext2_inv":
        raise _fail(vm, o, f"event {s[0]}: the executor's host handles only the system events Ext2Inv and "
                           f"MerkleNodeToStack")  # fmt: skip
    a0, a1 = s[2], s[1]
    # (a0 + a1 x)(a0 + a1 - a1 x) = a0^2 + a0 a1 + 2 a1^2 (x^2 = x - 2): the conjugate over the norm
    norm = (a0 * a0 + a0 * a1 + 2 * a1 * a1) % P
    if norm == 0:
        raise _fail(vm, o, "ext2 inverse of 0 (division by zero)")
    r0, r1 = (a0 + a1) * inverse(norm) % P, -a1 * inverse(norm) % P
    row([])
    vm.advice += [r1, r0]  # push_stack(result[1]) then push_stack(result[0]): r0 on top (top last here)


# the events the host answers, by their v0.18 and v0.19 ids (masm.SYSTEM_EVENTS: core/src/sys_events.rs)
EVENT_NAMES = {i: name for name, ids in SYSTEM_EVENTS.items() for i in ids}

OPS: dict[str, StackOp] = {
    "INV": _inv,
    "NOT": _not,
    "AND": _and_or,
    "OR": _and_or,
    "EQZ": _eqz,
    "EXPACC": _expacc,
    "EXT2MUL": _ext2mul,
    **{f"MOVDN{n}": _movdn(n) for n in range(2, 9)},
    "SWAPW": _swap_words(4),
    "SWAPW2": _swap_words(8),
    "SWAPW3": _swap_words(12),
    "SWAPDW": _swap_words(8, 8),
    "CSWAP": _cswap(1),
    "CSWAPW": _cswap(4),
    "ADVPOP": _advpop,
    "ADVPOPW": _advpopw,
    "MSTREAM": _mstream,
    "HORNERBASE": _horner(8),
    "HORNEREXT": _horner(4),
    "PIPE": _pipe,
    "SDEPTH": _sdepth,
    "CLK": _clk,
    "EMIT": _emit,
}
