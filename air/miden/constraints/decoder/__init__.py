"""Decoder: op bits, the degree-reduction columns e0/e1 and the opcode shapes (docs/src/design/decoder/
constraints.md, stack/op_constraints.md); then one leaf family per section of decoder/constraints.md:

* ``decoder.flow``: the general control-flow rules (SPLIT/LOOP condition, DYN, REPEAT, RESPAN, END, HALT, sp/f_ctrl);
* ``decoder.span``: in_span, block address, group count, op group decoding, op index, op batch flags;
* ``decoder.block_stack`` (p1), ``decoder.block_hash`` (p2), ``decoder.op_group`` (p3): the decoder's tables;
* ``decoder.requests``: the decoder's requests on the chiplets bus.

Here (``decoder.op_bits``):

* ``b_i^2 - b_i = 0`` for the seven op bits (degree 2);
* ``e0 = b6 (1-b5) b4`` (3), ``e1 = b6 b5`` (2);
* u32 opcodes have b0 = 0: ``b6 (1-b5)(1-b4) b0 = 0`` (4); degree-4 opcodes have b0 = b1 = 0: ``b6 b5 b_i = 0`` (3).
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.decoder import block_hash, block_stack, flow, op_group, requests, span


@family("decoder.op_bits")
def constrain(b: MidenBuilder) -> None:
    bits, e0, e1 = b.decoder.b, b.decoder.e0, b.decoder.e1
    for i in range(7):
        b.transition(f"op_bit{i}_binary", bits[i] ** 2 - bits[i], doc=DOC + "decoder/constraints.md")
    b.transition("e0_def", e0 - bits[6] * (1 - bits[5]) * bits[4], doc=DOC + "stack/op_constraints.md")
    b.transition("e1_def", e1 - bits[6] * bits[5], doc=DOC + "stack/op_constraints.md")
    b.transition("u32_b0_zero", bits[6] * (1 - bits[5]) * (1 - bits[4]) * bits[0], doc=DOC + "stack/op_constraints.md")
    b.transition("deg4_b0_zero", bits[6] * bits[5] * bits[0], doc=DOC + "stack/op_constraints.md")
    b.transition("deg4_b1_zero", bits[6] * bits[5] * bits[1], doc=DOC + "stack/op_constraints.md")
    if b.decoder.f_dyncall is not None:
        b.transition(
            "f_dyncall_def",
            b.decoder.f_dyncall - b.flags.op("DYNCALL"),
            tags=("op:DYNCALL",),
            doc="remedy: a degree-reduction column equal to the DYNCALL flag (derived)",
        )
    flow.constrain(b)
    span.constrain(b)
    block_stack.constrain(b)
    block_hash.constrain(b)
    op_group.constrain(b)
    requests.constrain(b)
