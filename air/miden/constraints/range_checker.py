"""The 16-bit range checker (docs/src/design/range.md; v0.18/v0.19 air/src/constraints/range.rs).

Columns ``m`` (multiplicity, ``range_m``) and ``v`` (value, ``range_v``). With ``Δv = v' - v``:

    Δv (Δv - 1)(Δv - 3)(Δv - 9)(Δv - 27)(Δv - 81)(Δv - 243)(Δv - 729)(Δv - 2187) = 0   (degree 9)
    v = 0 in the first row, v = 65535 in the last row.

The LogUp bus b_range: ``b' = b + m/(α + v) - Σ f_stack/(α + s_i) - f_mem/(α + d0) - f_mem/(α + d1)``,
degree 9 once cleared of denominators. The range checker's own response (multiplicity ``m``) is declared
here; the memory chiplet's requests of d0, d1 are in ``chiplets.memory``, the stack's u32 requests in the
stack family. range.md says b_range starts and ends at 1; the v0.18 code (range.rs
``get_aux_assertions_*``) asserts 0, the value a balanced running sum has: the model follows the code.
"""

from __future__ import annotations

import sympy as sp

from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "range"
DOCR = DOC + "range.md"
POWERS_OF_3 = (1, 3, 9, 27, 81, 243, 729, 2187)


@family("range.checker")
def constrain(b: MidenBuilder) -> None:
    r = b.range
    dv = r.v.next - r.v
    b.transition("rc_delta", sp.Mul(dv, *[dv - k for k in POWERS_OF_3], evaluate=False), doc=DOCR)
    b.boundary("rc_first", r.v, doc=DOCR + " (v = 0 in the first row)")
    b.boundary("rc_last", r.v - 65535, last=True, doc=DOCR + " (v = 65535 in the last row)")
    b.bus(
        BUS,
        "logup",
        "b_range",
        initial=sp.Integer(0),
        final=sp.Integer(0),
        doc=DOCR + ": 16-bit range checks; the range checker responds with multiplicity m "
        "(starts and ends at 0 as in v0.18 range.rs; the docs say 1)",
    )
    b.respond(BUS, "v_range", sp.Integer(1), (M.range_check(r.v, "range checker value"),), multiplicity=r.m, doc=DOCR)
