"""The operand stack (docs/src/design/stack/): one module per operation group, as in the docs.

Modeled: ``general`` (how every operation shifts s0..s15, op_constraints.md), ``overflow`` (the depth b0,
the overflow address b1, the helper h0 = 1/(b0 - 16) and the overflow table, stack/main.md),
``manipulation`` (stack_ops.md), ``field_ops`` (field_ops.md), ``io_ops`` (SDEPTH, MSTREAM, PIPE;
MLOAD/MSTORE/MLOADW/MSTOREW and their memory requests; the gate design's gate), ``system_ops`` (ASSERT, CLK,
FMPADD, FMPUPDATE, CALLER, and their memory-resident forms), ``u32_ops`` (u32 arithmetic, range checks, bitwise
requests), ``crypto_ops`` (hasher, ACE and Horner memory requests, HORNERBASE/HORNEREXT) and ``precompiles``
(v0.19 LOGPRECOMPILE).
"""

from __future__ import annotations

from air.miden.builder import MidenBuilder, family
from air.miden.constraints.stack import (
    crypto_ops,
    field_ops,
    general,
    io_ops,
    manipulation,
    overflow,
    precompiles,
    system_ops,
    u32_ops,
)


@family("stack")
def constrain(b: MidenBuilder) -> None:
    general.constrain(b)
    overflow.constrain(b)
    manipulation.constrain(b)
    field_ops.constrain(b)
    io_ops.constrain(b)
    system_ops.constrain(b)
    u32_ops.constrain(b)
    crypto_ops.constrain(b)
    precompiles.constrain(b)
