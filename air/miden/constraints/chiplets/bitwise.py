"""The bitwise chiplet (docs/src/design/chiplets/bitwise.md; v0.18/v0.19 air/src/constraints/chiplets/bitwise).

An 8-row cycle per U32AND/U32XOR, 4 bits per row. Periodic columns: ``k0`` = 1 on the cycle's first row,
``k1`` = 1 on all but its last row. Columns: operation selector ``s`` (0 AND, 1 XOR), ``a``, ``b``, their
bits ``a_i``, ``b_i``, the previous output ``z_p`` and the output ``z``. Every constraint is multiplied
by the chiplet flag ``f_bitwise = s0 (1 - s1)`` (chiplets/main.md: degree 2 + deg(c)):

    s^2 - s = 0 (2)                           k1 (s' - s) = 0 (2)
    a_i^2 - a_i = 0, b_i^2 - b_i = 0 (2)      k0 (a - Σ 2^i a_i) = 0, k0 (b - Σ 2^i b_i) = 0 (2)
    k1 (a' - (16 a + Σ 2^i a_i')) = 0 (2)     k1 (b' - (16 b + Σ 2^i b_i')) = 0 (2)
    k0 z_p = 0 (2)                            k1 (z - z_p') = 0 (2)
    (1 - s)(z - (16 z_p + Σ 2^i a_i b_i)) = 0 (3)
    s (z - (16 z_p + Σ 2^i (a_i + b_i - 2 a_i b_i))) = 0 (3)

The docs count a periodic column as degree 1; the engine counts it 0 (the v0.18 code writes these as
``TransitionConstraintDegree::with_cycles(3, [8])``). The code's flag is ``s0 (1 - s1')``; the docs'
``s0 (1 - s1)`` is used (the constraints are periodic, so the last row does not conflict; same degree).

Response on b_chip in the cycle's last row (``1 - k1``): ``α0 + α1 op_bit + α2 a + α3 b + α4 z`` with
op_bit = 2 + 4 s (BITWISE_AND = 2, BITWISE_XOR = 6).
"""

from __future__ import annotations

import sympy as sp

from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"
DOCB = DOC + "chiplets/bitwise.md"
K0 = (1, 0, 0, 0, 0, 0, 0, 0)
K1 = (1, 1, 1, 1, 1, 1, 1, 0)


def _agg(bits: tuple[sp.Expr, ...]) -> sp.Expr:
    return sp.Add(*[2**i * x for i, x in enumerate(bits)])


@family("chiplets.bitwise")
def constrain(b: MidenBuilder) -> None:
    w = b.bitwise
    f = b.chiplets.f_bitwise
    k0 = b.air.periodic_column("bitwise_k0", K0)
    k1 = b.air.periodic_column("bitwise_k1", K1)
    s = w.op
    b.constrain("bw_s_binary", flag=f, body=s**2 - s, doc=DOCB)
    b.constrain("bw_s_stay", flag=f * k1, body=s.next - s, doc=DOCB)
    for i in range(4):
        b.constrain(f"bw_a{i}_binary", flag=f, body=w.a_bits[i] ** 2 - w.a_bits[i], doc=DOCB)
    for i in range(4):
        b.constrain(f"bw_b{i}_binary", flag=f, body=w.b_bits[i] ** 2 - w.b_bits[i], doc=DOCB)
    b.constrain("bw_a_first", flag=f * k0, body=w.a - _agg(w.a_bits), doc=DOCB)
    b.constrain("bw_b_first", flag=f * k0, body=w.b - _agg(w.b_bits), doc=DOCB)
    nxt_a = tuple(x.next for x in w.a_bits)
    nxt_b = tuple(x.next for x in w.b_bits)
    b.constrain("bw_a_step", flag=f * k1, body=w.a.next - (16 * w.a + _agg(nxt_a)), doc=DOCB)
    b.constrain("bw_b_step", flag=f * k1, body=w.b.next - (16 * w.b + _agg(nxt_b)), doc=DOCB)
    b.constrain("bw_zp_first", flag=f * k0, body=w.z_p, doc=DOCB)
    b.constrain("bw_zp_copy", flag=f * k1, body=w.z - w.z_p.next, doc=DOCB)
    and_bits = sp.Add(*[2**i * w.a_bits[i] * w.b_bits[i] for i in range(4)])
    xor_bits = sp.Add(*[2**i * (w.a_bits[i] + w.b_bits[i] - 2 * w.a_bits[i] * w.b_bits[i]) for i in range(4)])
    b.constrain("bw_and", flag=f * (1 - s), body=w.z - (16 * w.z_p + and_bits), doc=DOCB)
    b.constrain("bw_xor", flag=f * s, body=w.z - (16 * w.z_p + xor_bits), doc=DOCB)
    resp = M.bitwise("bitwise chiplet result", 2 + 4 * s, w.a, w.b, w.z)
    b.respond(BUS, "v_bitwise", f * (1 - k1), (resp,), factors=("v_bitwise",), doc=DOCB)
