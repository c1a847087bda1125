"""Decoding of basic blocks: in_span, block address, group count, op group decoding, op index and the op batch
flags (docs/src/design/decoder/constraints.md, "Basic block", v0.18.0 and v0.19.0; layout: decoder/main.md at
v0.18.0, decoder/index.md at v0.19.0).

With ``dgc = gc - gc'``, ``op = sum 2^i b_i``, ``f_sgc = sp sp' (1 - dgc)``, ``ng = dgc - f_imm``,
``dox = ox' - ox`` (docs degrees on the right):

    (f_span + f_respan)(1 - sp') = 0                                6   in_span
    (f_end' + f_respan') sp' = 0                                    5
    (1 - f_span - f_respan - f_end' - f_respan')(sp' - sp) = 0      6
    sp = 0 on the first row                                         -
    sp (a' - a) = 0                                                 2   block address
    sp dgc (dgc - 1) = 0                                            3   group count
    sp dgc (1 - f_imm) h0 = 0                                       8
    (f_span + f_respan + f_imm)(dgc - 1) = 0                        6
    dgc (f_end' + f_respan') = 0                                    5
    f_end gc = 0                                                    5
    (f_span + f_respan + f_imm + f_sgc)(h0 - 2^7 h0' - op') = 0     6   op group decoding
    sp (f_end' + f_respan') h0 = 0                                  6
    (f_span + f_respan) ox' = 0                                     6   op index
    sp ng ox' = 0                                                   6
    sp sp' (1 - ng)(dox - 1) = 0                                    7
    prod_{i=0..8} (ox - i) = 0                                      9
    c_i^2 - c_i = 0, i in [0, 3)                                    2   op batch flags
    (f_span + f_respan) - (f_g1 + f_g2 + f_g4 + f_g8) = 0           5
    (1 - f_span - f_respan)(c0 + c1 + c2) = 0                       6
    (f_g1 + f_g2 + f_g4) h_i = 0, i in [4, 8)                       4
    (f_g1 + f_g2) h_i = 0, i in {2, 3}                              4
    f_g1 h1 = 0                                                     4

Batch flags: f_g8 = c0, f_g4 = (1-c0) c1 (1-c2), f_g2 = (1-c0)(1-c1) c2, f_g1 = (1-c0) c1 c2: the encoding of
decoder/main.md ("Operation batch flags": (0,1,0) four groups, (0,1,1) one group) and of the code
(``OP_BATCH_4_GROUPS = [0, 1, 0]``, ``OP_BATCH_1_GROUPS = [0, 1, 1]`` in air/src/trace/decoder/mod.rs at both
tags). constraints.md writes f_g4 and f_g1 the other way round (c2 and 1 - c2 swapped); degrees are the same.
"""

from __future__ import annotations

import sympy as sp

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.decoder.flow import nxt

DOCF = DOC + "decoder/constraints.md#basic-block"


def batch_flags(c: tuple[sp.Expr, ...]) -> dict[str, sp.Expr]:
    """``f_g8, f_g4, f_g2, f_g1`` from the batch flag cells ``c0, c1, c2`` (decoder/main.md encoding)."""
    c0, c1, c2 = c
    return {
        "g8": c0,
        "g4": (1 - c0) * c1 * (1 - c2),
        "g2": (1 - c0) * (1 - c1) * c2,
        "g1": (1 - c0) * c1 * c2,
    }


@family("decoder.span")
def constrain(b: MidenBuilder) -> None:
    f, dec = b.flags, b.decoder
    a, h, sp_, gc, ox = dec.addr, dec.h, dec.in_span, dec.group_count, dec.op_index
    f_span, f_respan, f_end, f_imm = f.op("SPAN"), f.op("RESPAN"), f.op("END"), f.imm
    span_or_respan = f_span + f_respan
    end_or_respan_next = nxt(f_end) + nxt(f_respan)
    dgc = gc - gc.next
    op_next = nxt(dec.opcode)
    span_tags = ("op:SPAN", "op:RESPAN")

    # in_span
    b.constrain("sp_span_next", flag=span_or_respan, body=1 - sp_.next, tags=span_tags, doc=DOCF)
    b.constrain("sp_end_respan_next", flag=end_or_respan_next, body=sp_.next, doc=DOCF)
    b.constrain("sp_copy", flag=1 - f_span - f_respan - nxt(f_end) - nxt(f_respan), body=sp_.next - sp_, doc=DOCF)
    b.boundary("sp_first", sp_, doc=DOCF + " (boundary: sp = 0 on the first row)")
    # block address
    b.constrain("addr_in_span", flag=sp_, body=a.next - a, doc=DOCF)
    # group count
    b.constrain("gc_step", flag=sp_, body=dgc * (dgc - 1), doc=DOCF)
    b.constrain("gc_group_done", flag=sp_ * dgc * (1 - f_imm), body=h[0], doc=DOCF)
    b.constrain("gc_decrement", flag=span_or_respan + f_imm, body=dgc - 1, tags=(*span_tags, "op:PUSH"), doc=DOCF)
    b.constrain("gc_end_respan_next", flag=end_or_respan_next, body=dgc, doc=DOCF)
    b.constrain("gc_end_zero", flag=f_end, body=gc, operation="END", doc=DOCF)
    # op group decoding
    f_sgc = sp_ * sp_.next * (1 - dgc)
    b.constrain(
        "h0_decode",
        flag=span_or_respan + f_imm + f_sgc,
        body=h[0] - h[0].next * 2**7 - op_next,
        tags=(*span_tags, "op:PUSH"),
        doc=DOCF,
    )
    b.constrain("h0_batch_end", flag=sp_ * end_or_respan_next, body=h[0], doc=DOCF)
    # op index
    ng = dgc - f_imm
    b.constrain("ox_span_reset", flag=span_or_respan, body=ox.next, tags=span_tags, doc=DOCF)
    b.constrain("ox_group_reset", flag=sp_ * ng, body=ox.next, doc=DOCF)
    b.constrain("ox_increment", flag=sp_ * sp_.next * (1 - ng), body=ox.next - ox - 1, doc=DOCF)
    b.transition("ox_range", sp.Mul(*[ox - i for i in range(9)], evaluate=False), doc=DOCF)
    # op batch flags
    g = batch_flags(dec.c)
    for i, c in enumerate(dec.c):
        b.transition(f"c{i}_binary", c**2 - c, doc=DOCF)
    b.transition("batch_flags_span", span_or_respan - (g["g1"] + g["g2"] + g["g4"] + g["g8"]), tags=span_tags, doc=DOCF)
    b.constrain("batch_flags_zero", flag=1 - span_or_respan, body=dec.c[0] + dec.c[1] + dec.c[2], doc=DOCF)
    for i in range(4, 8):
        b.constrain(f"batch_g4_h{i}_zero", flag=g["g1"] + g["g2"] + g["g4"], body=h[i], doc=DOCF)
    for i in (2, 3):
        b.constrain(f"batch_g2_h{i}_zero", flag=g["g1"] + g["g2"], body=h[i], doc=DOCF)
    b.constrain("batch_g1_h1_zero", flag=g["g1"], body=h[1], doc=DOCF)
