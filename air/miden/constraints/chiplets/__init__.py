"""The chiplets (docs/src/design/chiplets/main.md) and their bus b_chip.

The chiplets share the chiplet columns, stacked one after another and told apart by the selectors
s0..s4. b_chip is a multiset bus: the decoder's and the stack's requests (``decoder.requests``,
``stack.io_ops``, ``stack.system_ops``) against the chiplets' responses (``memory``, ``hasher``,
``kernel_rom``). The chiplets virtual table (bus ``chiplets_vtable``, column v_table) holds the hasher's
sibling table. b_chip's degree, stated in decoder/constraints.md, is ``claims["bus:chiplets"]``.

To come here: the selector constraints s0..s4 and the chiplet flags; bitwise and ACE in modules of their own.
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.chiplets import hasher, kernel_rom, memory

BUS = "chiplets"


@family("chiplets.bus")
def constrain(b: MidenBuilder) -> None:
    b.bus(BUS, "multiset", "b_chip", doc=DOC + "decoder/constraints.md")
    b.bus("chiplets_vtable", "multiset", "v_table", doc=DOC + "chiplets/main.md (chiplets virtual table)")
    for column in ("chip18", "chip19"):
        b.unchecked(column, "unused by the modeled chiplets")
    memory.constrain(b)
    hasher.constrain(b)
    kernel_rom.constrain(b)
