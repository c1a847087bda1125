"""The executor's u32 operations and the bitwise chiplet's rows (Miden v0.18.0).

Each operation of ``U32_OPS`` checks its operands, writes its row (``VM.emit``) with the user-op helper registers
h_0..h_5 (the decoder's h2..h7) filled as stack/u32_ops.md and the model (``constraints/stack/u32_ops.py``) read
them, records its four 16-bit range-check requests (``VM.range_checks``; the range checker answers them with
multiplicities) and, for U32AND/U32XOR, the bitwise chiplet's operation (``VM.bitwise``); then it changes the stack.

Helpers, as processor/src/operations/u32_ops.rs (``add_range_checks(op, lo, hi, check_element_validity)``) sets them
at v0.18.0: ``h_0, h_1`` the 16-bit limbs of ``lo``, ``h_2, h_3`` those of ``hi``, ``h_4 = (2^32 - 1 - hi)^{-1}``
(0 when that is 0) for U32SPLIT/U32MUL/U32MADD and 0 otherwise, ``h_5 = 0``; the four limbs are range-checked by
every u32-class operation. Per operation (stack top first, ``b = s0, a = s1``):

    U32SPLIT    x = s0: lo, hi = x mod 2^32, x >> 32              -> [hi, lo, ...] (right shift)
    U32ASSERT2  lo = a, hi = b (both < 2^32, else an error)        -> unchanged
    U32ADD      a + b = hi 2^32 + lo                               -> [hi, lo, ...]
    U32ADD3     s0 + s1 + s2 = hi 2^32 + lo                        -> [hi, lo, ...] (left shift)
    U32SUB      a - b = lo - 2^32 borrow; helpers (lo, 0)          -> [borrow, lo, ...]
    U32MUL      a b = hi 2^32 + lo                                 -> [hi, lo, ...]
    U32MADD     a b + s2 = hi 2^32 + lo                            -> [hi, lo, ...] (left shift)
    U32DIV      a = q b + r; helpers (a - q, b - r - 1)            -> [r, q, ...]
    U32AND/XOR  the bitwise chiplet computes a op b                -> [a op b, ...] (left shift); no helpers

The docs (u32_ops.md "U32ASSERT2") say h_0, h_1 hold the limbs of s0; the processor puts s1's there (lo = a) and
the constraints ``s0' = v_hi, s1' = v_lo`` agree with the processor, which is followed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from air.miden import layout as L
from air.miden.exec_errors import ExecutionError

if TYPE_CHECKING:
    from air.miden.masm import Op

VM = Any  # the executor's VM (air.miden.executor imports this module, so it is not imported back)

P = L.P
U32 = 2**32
# bitwise chiplet operation selector (air/src/trace/chiplets/bitwise.rs: BITWISE_AND = 0, BITWISE_XOR = 1)
BITWISE_SELECTOR = {"U32AND": 0, "U32XOR": 1}
BITWISE_WIDTH = 3  # VM.bitwise entries per operation: selector, a, b


def _fail(msg: str) -> None:
    raise ExecutionError(msg)


def _require_u32(vm: VM, o: Op, n: int) -> list[int]:
    """The top ``n`` stack elements, each checked to be a u32 (processor: require_u32_operands)."""
    vals = vm.top[:n]
    bad = [v for v in vals if v >= U32]
    if bad:
        _fail(f"{vm.at()}: {o.name} needs u32 operands, got {', '.join(str(v) for v in bad)}")
    return vals


def _helpers(vm: VM, lo: int, hi: int, validity: bool) -> list[int]:
    """h_0..h_5 for ``lo``/``hi`` (each < 2^32), with their four 16-bit limbs recorded as range checks."""
    limbs = [lo & 0xFFFF, lo >> 16, hi & 0xFFFF, hi >> 16]
    vm.range_checks.extend(limbs)
    m = 0
    if validity and (U32 - 1 - hi) % P:
        m = pow((U32 - 1 - hi) % P, P - 2, P)
    return limbs + [m, 0]


def _row(vm: VM, o: Op, h: list[int], gc: int, ox: int, helpers: list[int]) -> None:
    vm.emit(o.name, [h[0], h[1], *helpers], in_span=1, gc=gc, ox=ox)


def _split(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    x = vm.top[0]
    lo, hi = x % U32, x >> 32
    _row(vm, o, h, gc, ox, _helpers(vm, lo, hi, True))
    vm.top[0] = lo
    vm.push(hi)


def _assert2(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    _row(vm, o, h, gc, ox, _helpers(vm, a, b, False))


def _two_limbs(total: int) -> tuple[int, int]:
    return total % U32, total >> 32


def _add(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    lo, hi = _two_limbs(a + b)
    _row(vm, o, h, gc, ox, _helpers(vm, lo, hi, False))
    vm.top[0], vm.top[1] = hi, lo


def _add3(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    c, b, a = _require_u32(vm, o, 3)
    lo, hi = _two_limbs(a + b + c)
    _row(vm, o, h, gc, ox, _helpers(vm, lo, hi, False))
    vm.pop()
    vm.top[0], vm.top[1] = hi, lo


def _sub(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    lo, borrow = (a - b) % U32, int(a < b)
    _row(vm, o, h, gc, ox, _helpers(vm, lo, 0, False))
    vm.top[0], vm.top[1] = borrow, lo


def _mul(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    lo, hi = _two_limbs(a * b)
    _row(vm, o, h, gc, ox, _helpers(vm, lo, hi, True))
    vm.top[0], vm.top[1] = hi, lo


def _madd(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a, c = _require_u32(vm, o, 3)
    lo, hi = _two_limbs(a * b + c)
    _row(vm, o, h, gc, ox, _helpers(vm, lo, hi, True))
    vm.pop()
    vm.top[0], vm.top[1] = hi, lo


def _div(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    if b == 0:
        _fail(f"{vm.at()}: U32DIV: division by zero")
    q, r = divmod(a, b)
    _row(vm, o, h, gc, ox, _helpers(vm, a - q, b - r - 1, False))
    vm.top[0], vm.top[1] = r, q


def _bitwise(vm: VM, o: Op, h: list[int], gc: int, ox: int) -> None:
    b, a = _require_u32(vm, o, 2)
    z = a & b if o.name == "U32AND" else a ^ b
    vm.emit(o.name, h, in_span=1, gc=gc, ox=ox)
    vm.bitwise.extend((BITWISE_SELECTOR[o.name], a, b))
    vm.pop()
    vm.top[0] = z


# operation name -> its semantics: emits the operation's row, then changes the stack (VM.op ticks the clock)
U32_OPS: dict[str, Callable[[VM, Op, list[int], int, int], None]] = {
    "U32SPLIT": _split,
    "U32ASSERT2": _assert2,
    "U32ADD": _add,
    "U32ADD3": _add3,
    "U32SUB": _sub,
    "U32MUL": _mul,
    "U32MADD": _madd,
    "U32DIV": _div,
    "U32AND": _bitwise,
    "U32XOR": _bitwise,
}


def bitwise_rows(ops: np.ndarray) -> dict[str, np.ndarray]:
    """The bitwise chiplet's columns (``layout.BITWISE`` keys, a_bits/b_bits as a0..a3/b0..b3), 8 rows per
    operation (chiplets/bitwise.md; processor/src/chiplets/bitwise/mod.rs): row i of a cycle holds the top
    4(i+1) bits of a and b (``a >> (28 - 4i)``), the bits of their lowest nibble, the previous output z_p and
    the output z = (z_p << 4) | (nibble a op nibble b). ``ops`` is (k, 3): selector (0 AND, 1 XOR), a, b."""
    k = len(ops)
    u64 = np.uint64
    sel = np.repeat(ops[:, 0], 8)
    shifts = np.tile(np.arange(28, -1, -4, dtype=u64), k)
    a = np.repeat(ops[:, 1], 8) >> shifts
    b = np.repeat(ops[:, 2], 8) >> shifts
    an, bn = a & u64(0xF), b & u64(0xF)
    nib = np.where(sel == 0, an & bn, an ^ bn).reshape(k, 8)
    # z on row i: the nibbles 0..i aggregated, most significant first
    z = np.zeros((k, 8), dtype=u64)
    acc = np.zeros(k, dtype=u64)
    for i in range(8):  # over the 8 rows of a cycle, vectorized over the operations
        acc = (acc << u64(4)) | nib[:, i]
        z[:, i] = acc
    z_p = np.zeros((k, 8), dtype=u64)
    z_p[:, 1:] = z[:, :-1]
    out = {"s0": np.ones(8 * k, dtype=u64), "s1": np.zeros(8 * k, dtype=u64), "op": sel, "a": a, "b": b}
    for j in range(4):
        out[f"a{j}"] = (an >> u64(j)) & u64(1)
        out[f"b{j}"] = (bn >> u64(j)) & u64(1)
    out["z_p"] = z_p.reshape(-1)
    out["z"] = z.reshape(-1)
    return out
