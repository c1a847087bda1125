"""The chiplet selectors and the virtual table's boundaries (docs/src/design/chiplets/main.md, v0.19
chiplets/index.md, "Chiplet selector constraints", "Chiplets virtual table constraints").

s_k acts as a selector once s_0..s_{k-1} are all 1; while it does, it is binary and may only go 0 -> 1:

    s0 s1 .. s_{k-1} (s_k^2 - s_k) = 0       degree k + 2
    s0 s1 .. s_{k-1} s_k (s_k - s_k') = 0    degree k + 2       (k = 0..4)

This orders the chiplets hasher (s0=0), bitwise {1,0}, memory {1,1,0}, ACE {1,1,1,0}, kernel ROM
{1,1,1,1,0}, padding {1,1,1,1,1}; the flags are ``layout.ChipletSelectors``. The v0.18/v0.19 code
(air/src/constraints/chiplets/mod.rs) enforces only k = 0..2 (6 constraints); the docs' 10 are modeled.

vt_chip must be 1 wherever s0 changes (the hasher's end), and vt_chip * b_chip = 1 in the last row:

    (s0' - s0)(1 - vt_chip) = 0   (degree 2)        vt_chip * b_chip - 1 = 0, last row (degree 2)
"""

from __future__ import annotations

import sympy as sp

from air.miden.builder import DOC, MidenBuilder, family
from air.symbols import AuxCell

DOCS = DOC + "chiplets/main.md"


@family("chiplets.selectors")
def constrain(b: MidenBuilder) -> None:
    s = b.chiplets.s
    for k in range(5):
        active = sp.Mul(*s[:k]) if k else sp.Integer(1)
        b.constrain(f"chip_s{k}_binary", flag=active if k else None, body=s[k] ** 2 - s[k], doc=DOCS)
        b.constrain(f"chip_s{k}_stay", flag=active * s[k], body=s[k] - s[k].next, doc=DOCS)
    vt, b_chip = AuxCell("v_table"), AuxCell("b_chip")
    b.transition("vt_hasher_boundary", (s[0].next - s[0]) * (1 - vt), doc=DOCS + " (chiplets virtual table)")
    b.boundary("vt_bchip_last", vt * b_chip - 1, last=True, doc=DOCS + " (vt_chip merged with b_chip)")
