"""The Miden constraints, one module per family, mirroring docs/src/design and Miden's air/src/constraints.

``build(design)`` runs the families in order (decoder, system, stack, range, chiplets) on one
``MidenBuilder`` and assembles the buses at the end. Constraints the docs do not write (Miden enforced
ctx, fn_hash and in_syscall through the processor and the block stack table only) are marked "derived,
not in docs" in their ``doc=``.

Modeled: the decoder (decoder/constraints.md: op bits, e0/e1 and opcode shapes, control flow, basic-block
decoding, the block stack p1, block hash p2 and op group p3 tables, the chiplets-bus requests); the system
registers clk, fmp (or sys_fmp + in_kernel), ctx, in_syscall, fn_hash; the stack (general shifting, the
overflow table, and every operation page: field, manipulation, u32, I/O, crypto, system, v0.19
precompiles); the range checker and its LogUp bus; the chiplets (selectors, the hasher with its RPO rounds
over periodic columns, bitwise, memory, ACE, kernel ROM) with their b_chip responses and the chiplets
virtual table.
"""

from __future__ import annotations

from air.air import Air
from air.miden.builder import MidenBuilder
from air.miden.constraints import chiplets, decoder, range_checker, stack, system
from air.miden.design import Design

__all__ = ["build"]


def build(design: Design) -> Air:
    """The AIR of ``design``: every family's constraints, then a derived design's own instructions, then the buses."""
    b = MidenBuilder(design)
    for module in (decoder, system, stack, range_checker, chiplets):
        module.constrain(b)
    for op in design.extra_operations:  # a derived design's own instructions (Design.with_operation)
        if op.define is not None:
            outer, b.current_family = b.current_family, f"user.{op.name}"
            try:
                op.define(b, b.flags.op(op.name))
            finally:
                b.current_family = outer
    return b.finish()
