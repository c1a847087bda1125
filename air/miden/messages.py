"""Chiplets-bus message constructors: memory and hasher messages, as the requesters and chiplets send them.

A message is ``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*field_j`` (chiplets/main.md); the labels are
in ``layout`` (v0.18 air/src/trace/chiplets/*.rs).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from air.air import Message

__all__ = ["memory", "hasher", "sibling"]


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
