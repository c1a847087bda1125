"""The operand stack (docs/src/design/stack/): one module per operation group, as in the docs.

Modeled: ``io_ops`` (SDEPTH, MSTREAM, PIPE; MLOAD/MSTORE/MLOADW/MSTOREW: their memory requests; the gate
design's gate), ``system_ops`` (FMPADD, FMPUPDATE, CALLER, and their memory-resident forms), ``u32_ops`` (u32
arithmetic, range checks, bitwise requests), ``crypto_ops`` (hasher, ACE and Horner memory requests, HORNERBASE/
HORNEREXT) and ``precompiles`` (v0.19 LOGPRECOMPILE).

To come here: general stack shifting (no shift / left / right, stack/index.md), the depth b0, the
overflow address b1 and helper h0 = 1/(b0 - 16), and the overflow table; then the other groups
(field_ops, manipulation) in modules of their own.
"""

from __future__ import annotations

from air.miden.builder import MidenBuilder, family
from air.miden.constraints.stack import crypto_ops, io_ops, precompiles, system_ops, u32_ops


@family("stack")
def constrain(b: MidenBuilder) -> None:
    b.unchecked("stack_h0", "stack overflow flag helper: general stack constraints not modeled")
    io_ops.constrain(b)
    system_ops.constrain(b)
    u32_ops.constrain(b)
    crypto_ops.constrain(b)
    precompiles.constrain(b)
