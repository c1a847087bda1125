"""Chiplets-bus message constructors: memory and hasher messages, as the requesters and chiplets send them.

A message is ``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*field_j`` (chiplets/main.md); the labels are
in ``layout`` (v0.18 air/src/trace/chiplets/*.rs).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from air.air import Message

__all__ = ["memory", "hasher", "overflow_row"]


def memory(
    label: str, label_value: int, ctx: sp.Expr, addr: sp.Expr, clk: sp.Expr, values: Sequence[sp.Expr]
) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*ctx + alpha_3*addr + alpha_4*clk + sum alpha_{5+j} v_j
    (stack/io_ops.md, chiplets/memory.md)."""
    fields = [("ctx", ctx), ("addr", addr), ("clk", clk)] + [(f"v{j}", v) for j, v in enumerate(values)]
    return Message(label, label_value, tuple(fields))


def hasher(label: str, label_value: int, addr: sp.Expr, rate: Sequence[sp.Expr], domain: sp.Expr = 0) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*addr + alpha_3*node_index + alpha_4..7*capacity + alpha_8..15*rate
    (decoder/constraints.md, chiplets/hasher.md); the opcode d sits in capacity[1] (alpha_5)."""
    fields: list[tuple[str, sp.Expr]] = [
        ("addr", addr),
        ("node_index", sp.Integer(0)),
        ("cap0", sp.Integer(0)),
        ("cap1", sp.sympify(domain)),
        ("cap2", sp.Integer(0)),
        ("cap3", sp.Integer(0)),
    ]
    fields += [(f"h{i}", sp.sympify(v)) for i, v in enumerate(rate)]
    return Message(label, label_value, tuple(fields))


def overflow_row(label: str, addr: sp.Expr, value: sp.Expr, prev: sp.Expr) -> Message:
    """A stack overflow table row ``alpha_0 + alpha_1 t0 + alpha_2 t1 + alpha_3 t2`` (stack/main.md, v0.19
    stack/index.md): address, value, previous address; no label slot."""
    return Message(label, None, (("t0", addr), ("t1", value), ("t2", prev)))
