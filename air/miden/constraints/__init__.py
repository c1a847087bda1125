"""The Miden constraints, one module per family, mirroring docs/src/design and Miden's air/src/constraints.

``build(design)`` runs the families in order (decoder, system, stack, range, chiplets) on one
``MidenBuilder`` and assembles the buses at the end. Constraints the docs do not write (Miden enforced
ctx, fn_hash and in_syscall through the processor and the block stack table only) are marked "derived,
not in docs" in their ``doc=``.

Modeled: the decoder's op bits, e0/e1 and opcode shapes, the block stack table p1 and the decoder's
chiplets-bus requests; the system registers clk, fmp (or sys_fmp + in_kernel), ctx, in_syscall, fn_hash;
the stack's general shifting of every operation, depth, overflow address and overflow table, the stack
manipulation and field operations, ASSERT, CLK, the memory instructions (requests, the gate design's
gate) and FMPADD, FMPUPDATE, CALLER; the memory chiplet's constraints and response, the kernel ROM's
response, a simplified hasher response.

Not modeled: the u32, crypto and other io stack ops, the op group / block hash tables,
the hasher permutation, bitwise and ACE chiplets, the range checker.
"""

from __future__ import annotations

from air.air import Air
from air.miden.builder import MidenBuilder
from air.miden.constraints import chiplets, decoder, range_checker, stack, system
from air.miden.design import Design

__all__ = ["build"]


def build(design: Design) -> Air:
    """The AIR of ``design``: every family's constraints, then the buses."""
    b = MidenBuilder(design)
    for family in (decoder, system, stack, range_checker, chiplets):
        family.constrain(b)
    return b.finish()
