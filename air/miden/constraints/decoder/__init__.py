"""Decoder: op bits, the degree-reduction columns e0/e1 and the opcode shapes (docs/src/design/decoder/
constraints.md, stack/op_constraints.md); then the block stack table (``block_stack``) and the decoder's
chiplets-bus requests (``requests``).

* ``b_i^2 - b_i = 0`` for the seven op bits (degree 2);
* ``e0 = b6 (1-b5) b4`` (3), ``e1 = b6 b5`` (2);
* u32 opcodes have b0 = 0: ``b6 (1-b5)(1-b4) b0 = 0`` (4); degree-4 opcodes have b0 = b1 = 0: ``b6 b5 b_i = 0`` (3).

To come here: in_span, group_count, op_index and the batch flags c0..c2 (decoder/constraints.md), the
op-group table p3 and the block-hash table p2.
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.decoder import block_stack, requests

NOT_MODELED = {
    "in_span": "op group / span constraints not modeled",
    "group_count": "op group / span constraints not modeled",
    "op_index": "op group / span constraints not modeled",
    "c0": "op batch flags not modeled",
    "c1": "op batch flags not modeled",
    "c2": "op batch flags not modeled",
}


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
    for column, why in NOT_MODELED.items():
        b.unchecked(column, why)
    block_stack.constrain(b)
    requests.constrain(b)
