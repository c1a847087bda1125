"""The chiplets (docs/src/design/chiplets/main.md; v0.19: chiplets/index.md), their bus b_chip and the
chiplets virtual table vt_chip.

The chiplets share the chiplet columns, stacked one after another and told apart by the selectors
s0..s4 (``selectors``). b_chip is a multiset bus: the decoder's and the stack's requests
(``decoder.requests``, ``stack.io_ops``, ``stack.system_ops``) against the chiplets' responses
(``memory``, ``hasher``, ``bitwise``, ``ace``, ``kernel_rom``). Its degree, stated in
decoder/constraints.md, is ``claims["bus:chiplets"]``. The verifier initialises b_chip with the
KERNEL_PROC_INIT requests (b_chip * v_init = 1 in the first row, v_init the product of the reduced kernel
digests): boundary messages from the public table ``kernel_procedures`` (``kernel_rom``).

vt_chip (``chiplets_vtable``) is a multiset bus used by the chiplets only: the hasher's sibling table and
the ACE chiplet's memory reads (answered by the memory chiplet on b_chip). It is merged with b_chip in the
last row (vt_chip * b_chip = 1, ``selectors``).
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.chiplets import ace, bitwise, hasher, kernel_rom, memory, selectors

BUS = "chiplets"


@family("chiplets.bus")
def constrain(b: MidenBuilder) -> None:
    b.bus(BUS, "multiset", "b_chip", doc=DOC + "decoder/constraints.md")
    b.bus(
        "chiplets_vtable",
        "multiset",
        "v_table",
        doc=DOC + "chiplets/main.md (chiplets virtual table): hasher sibling table, ACE memory requests; "
        "merged with b_chip in the last row",
    )
    selectors.constrain(b)
    hasher.constrain(b)
    bitwise.constrain(b)
    memory.constrain(b)
    ace.constrain(b)
    kernel_rom.constrain(b)
