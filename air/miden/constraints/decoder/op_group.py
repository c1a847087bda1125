"""The op group table p3 (docs/src/design/decoder/constraints.md "Op group table constraints", v0.18.0 and
v0.19.0), a multiset bus of rows ``(batch_id, group_pos, group)`` at ``alpha_0 + alpha_1 batch + alpha_2 pos +
alpha_3 group`` (processor/src/decoder/aux_trace/op_group_table.rs).

    v_i = (a', gc - i, h_i), i in [1, 8)                                               1
    u   = (a, gc, (2^7 h0' + op') (1 - f_imm) + s0' f_push)                             7
    f_dg = sp (gc - gc')                                                               2
    p3' (f_dg u + 1 - f_dg) = p3 (f_g2 v_1 + f_g4 prod_{1..3} v_i + f_g8 prod_{1..7} v_i + 1 - (f_span + f_respan))   9

Responses (rows added) on SPAN/RESPAN by the batch flags (``span.batch_flags``: f_g8 = c0, ...); one request
(row removed) whenever the group count drops inside a basic block. The docs' right side subtracts
``f_span + f_respan``; with a one-group batch (f_g1, nothing added) that would give ``p3 (0 + 1 - 1) = 0``. The
bus here is ``1 + sum f (v - 1)`` over the three terms (f_g2, f_g4, f_g8), which is what the processor computes.
p3 starts and ends at 1 (the docs' boundary constraints).
"""

from __future__ import annotations

import sympy as sp

from air.air import Message
from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.decoder.flow import nxt
from air.miden.constraints.decoder.span import batch_flags

BUS = "op_group"
DOCF = DOC + "decoder/constraints.md#op-group-table-constraints"


def row(batch: sp.Expr, pos: sp.Expr, group: sp.Expr) -> Message:
    """An op group table row ``(batch_id, group_pos, group)``."""
    return Message("op group row", None, (("batch", batch), ("pos", sp.sympify(pos)), ("group", sp.sympify(group))))


@family("decoder.op_group")
def constrain(b: MidenBuilder) -> None:
    f, dec = b.flags, b.decoder
    a, h, sp_, gc = dec.addr, dec.h, dec.in_span, dec.group_count
    g = batch_flags(dec.c)
    b.bus(BUS, "multiset", "p3", doc=DOCF)

    def v(i: int) -> Message:
        return row(a.next, gc - i, h[i])

    for name, flag, n in (("v_g2", g["g2"], 2), ("v_g4", g["g4"], 4), ("v_g8", g["g8"], 8)):
        b.respond(
            BUS,
            name,
            flag,
            tuple(v(i) for i in range(1, n)),
            factors=tuple(f"v_{i}" for i in range(1, n)),
            operation="SPAN+RESPAN",
            doc=DOCF,
        )
    f_imm = f.imm
    group = (h[0].next * 2**7 + nxt(dec.opcode)) * (1 - f_imm) + b.stack.s[0].next * f.op("PUSH")
    b.request(BUS, "u", sp_ * (dec.group_count - gc.next), (row(a, gc, group),), factors=("u",), doc=DOCF)
