"""The range checker (docs/src/design/range.md): not modeled yet.

To come here: the 16-bit range checker's columns ``range_m`` (multiplicity) and ``range_v`` (value), its
transition constraints, and its LogUp bus with the stack's u32 helpers and the memory chiplet's d0/d1.
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family


@family("range.checker")
def constrain(b: MidenBuilder) -> None:
    b.bus("range", "logup", "b_range", doc=DOC + "range.md (LogUp bus b_range)")
    for column in ("range_m", "range_v"):
        b.unchecked(column, "range checker not modeled")
