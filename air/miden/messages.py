"""Chiplets-bus message constructors: memory and hasher messages, as the requesters and chiplets send them.

A message is ``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*field_j`` (chiplets/main.md); the labels are
in ``layout`` (v0.18 air/src/trace/chiplets/*.rs).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from air.air import Message

__all__ = [
    "memory",
    "hasher",
    "sibling",
    "bitwise",
    "ace",
    "kernel_rom",
    "range_check",
    "ace_wire",
    "hasher_state",
    "ace_init",
    "log_precompile_state",
]
__all__ = ["memory", "hasher", "overflow_row"]


def memory(
    label: str, label_value: int, ctx: sp.Expr, addr: sp.Expr, clk: sp.Expr, values: Sequence[sp.Expr]
) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*ctx + alpha_3*addr + alpha_4*clk + sum alpha_{5+j} v_j
    (stack/io_ops.md, chiplets/memory.md)."""
    fields = [("ctx", ctx), ("addr", addr), ("clk", clk)] + [(f"v{j}", v) for j, v in enumerate(values)]
    return Message(label, label_value, tuple(fields))


def hasher(
    label: str,
    label_value: int,
    addr: sp.Expr,
    rate: Sequence[sp.Expr],
    domain: sp.Expr = 0,
    *,
    node_index: sp.Expr = 0,
    capacity: Sequence[sp.Expr] | None = None,
) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*addr + alpha_3*node_index + alpha_4..7*capacity + alpha_8..15*rate
    (decoder/constraints.md, chiplets/hasher.md: v_h + v_a + v_b + v_c). Without ``capacity`` the capacity is
    [0, domain, 0, 0] (the opcode d of a control block sits in capacity[1], alpha_5); ``rate`` may be shorter
    than 8 (missing elements are absent, i.e. 0)."""
    if capacity is None:
        cap = [sp.Integer(0), sp.sympify(domain), sp.Integer(0), sp.Integer(0)]
    else:
        if len(capacity) != 4 or sp.sympify(domain) != 0:
            raise ValueError("hasher message: give either a 4-element capacity or a domain")
        cap = [sp.sympify(c) for c in capacity]
    fields: list[tuple[str, sp.Expr]] = [("addr", sp.sympify(addr)), ("node_index", sp.sympify(node_index))]
    fields += [(f"cap{i}", c) for i, c in enumerate(cap)]
    fields += [(f"h{i}", sp.sympify(v)) for i, v in enumerate(rate)]
    return Message(label, label_value, tuple(fields))


def sibling(label: str, node_index: sp.Expr, rate: Sequence[sp.Expr]) -> Message:
    """A sibling-table entry (chiplets/hasher.md, sibling table): alpha_0 + alpha_3*i + sum_j alpha_{8+j}*rate_j,
    with no label (alpha_1, alpha_2 and the capacity slots alpha_4..7 carry 0), as the v0.18/v0.19 processor
    builds it (processor/src/chiplets/aux_trace/virtual_table.rs)."""
    zero = sp.Integer(0)
    fields: list[tuple[str, sp.Expr]] = [("label", zero), ("addr", zero), ("node_index", sp.sympify(node_index))]
    fields += [(f"cap{i}", zero) for i in range(4)]
    fields += [(f"h{i}", sp.sympify(v)) for i, v in enumerate(rate)]
    return Message(label, None, tuple(fields))


def bitwise(label: str, op_bit: int | sp.Expr, a: sp.Expr, b: sp.Expr, z: sp.Expr) -> Message:
    """alpha_0 + alpha_1*op_bit + alpha_2*a + alpha_3*b + alpha_4*z (chiplets/bitwise.md "Chiplets bus
    constraints"; stack/u32_ops.md U32AND/U32XOR): ``op_bit`` is ``layout.BITWISE_AND`` (2) or
    ``BITWISE_XOR`` (6) for a requester, or the chiplet's computed label ``2 + 4 s`` (then carried as the
    first field, named "label"); ``a``/``b`` are the operands and ``z`` the result."""
    ops = (("a", sp.sympify(a)), ("b", sp.sympify(b)), ("z", sp.sympify(z)))
    if isinstance(op_bit, int):
        return Message(label, op_bit, ops)
    return Message(label, None, (("label", sp.sympify(op_bit)),) + ops)


def ace(ctx: sp.Expr, ptr: sp.Expr, clk: sp.Expr, n_read: sp.Expr, n_eval: sp.Expr) -> Message:
    """alpha_0 + alpha_1*ACE_LABEL + alpha_2*ctx + alpha_3*ptr + alpha_4*clk + alpha_5*n_read + alpha_6*n_eval
    (chiplets/ace.md "Chiplet and Virtual table bus", stack/crypto_ops.md EVALCIRCUIT), ACE_LABEL = 8.

    ``n_read`` is the number of extension-field elements read, ``n_eval`` the number of instructions. The
    v0.18 processor (chiplets/aux_trace/bus/ace.rs) orders the fields clk, ctx, ptr; the docs' order is used.
    """
    fields = (("ctx", ctx), ("ptr", ptr), ("clk", clk), ("n_read", n_read), ("n_eval", n_eval))
    return Message("ace init", 8, tuple((n, sp.sympify(e)) for n, e in fields))


def kernel_rom(label: str, label_value: int, digest: Sequence[sp.Expr]) -> Message:
    """alpha_0 + alpha_1*label + sum_i alpha_{2+i}*r_i (chiplets/kernel_rom.md): KERNEL_PROC_CALL (16) or
    KERNEL_PROC_INIT (48) with the procedure digest r0..r3."""
    return Message(label, label_value, tuple((f"r{i}", sp.sympify(r)) for i, r in enumerate(digest)))


def range_check(value: sp.Expr, label: str = "range check") -> Message:
    """The range checker bus's denominator ``alpha_0 + alpha_1*value`` (range.md writes alpha - v, the v0.18
    code alpha + v; both are a random affine map of the value). No label: the bus carries one kind."""
    return Message(label, None, (("v", sp.sympify(value)),))


def ace_wire(ctx: sp.Expr, clk: sp.Expr, node_id: sp.Expr, v0: sp.Expr, v1: sp.Expr) -> Message:
    """The ACE wiring bus's node ``w = alpha_0 + alpha_1 ctx + alpha_2 clk + alpha_3 id + alpha_4 v_0 +
    alpha_5 v_1`` (chiplets/ace.md "Wire bus"): node ``id`` with extension-field value (v_0, v_1)."""
    fields = (("ctx", ctx), ("clk", clk), ("id", node_id), ("v0", v0), ("v1", v1))
    return Message("ace wire", None, tuple((n, sp.sympify(e)) for n, e in fields))
# --- stack u32 / I/O / crypto requests (stk2); range_check and bitwise are the ones above ---------------
def hasher_state(label: str, label_value: int, addr: sp.Expr, node_index: sp.Expr, state: Sequence[sp.Expr]) -> Message:
    """``hasher`` with every field given: alpha_2*addr + alpha_3*node_index + sum_j alpha_{4+j}*state_j, the
    state being capacity (4) then rate (8), as ``HasherMessage::value`` (v0.18/v0.19 processor bus/hasher.rs).
    Same field names as ``hasher``; zeros where a request leaves a slot out (MPVERIFY, MRUPDATE)."""
    if len(state) != 12:
        raise ValueError(f"{label}: a hasher state has 12 elements, got {len(state)}")
    fields: list[tuple[str, sp.Expr]] = [("addr", sp.sympify(addr)), ("node_index", sp.sympify(node_index))]
    fields += [(f"cap{i}", sp.sympify(v)) for i, v in enumerate(state[:4])]
    fields += [(f"h{i}", sp.sympify(v)) for i, v in enumerate(state[4:])]
    return Message(label, label_value, tuple(fields))


def ace_init(label_value: int, clk: sp.Expr, ctx: sp.Expr, ptr: sp.Expr, n_read: sp.Expr, n_eval: sp.Expr) -> Message:
    """alpha_0 + alpha_1*ACE_INIT + alpha_2*clk + alpha_3*ctx + alpha_4*ptr + alpha_5*n_read + alpha_6*n_eval:
    the order of ``AceMessage::value`` (processor bus/ace.rs, v0.18.0 and v0.19.0). crypto_ops.md#evalcircuit
    writes ctx, ptr, clk at alpha_2..4: a docs slip (the response side uses the code's order)."""
    fields = (("clk", clk), ("ctx", ctx), ("ptr", ptr), ("n_read", n_read), ("n_eval", n_eval))
    return Message("ACE circuit evaluation", label_value, tuple((k, sp.sympify(v)) for k, v in fields))


def log_precompile_state(label: str, label_value: int, cap: Sequence[sp.Expr]) -> Message:
    """alpha_0 + alpha_1*op_log_precompile + sum_j alpha_{2+j}*CAP_j: the precompile transcript state on the
    chiplets virtual table (crypto_ops.md#log_precompile at v0.19.0, ``LogPrecompileMessage``)."""
    return Message(label, label_value, tuple((f"cap{j}", sp.sympify(v)) for j, v in enumerate(cap)))
def overflow_row(label: str, addr: sp.Expr, value: sp.Expr, prev: sp.Expr) -> Message:
    """A stack overflow table row ``alpha_0 + alpha_1 t0 + alpha_2 t1 + alpha_3 t2`` (stack/main.md, v0.19
    stack/index.md): address, value, previous address; no label slot."""
    return Message(label, None, (("t0", addr), ("t1", value), ("t2", prev)))
