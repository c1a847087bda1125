"""The hasher chiplet (docs/src/design/chiplets/hasher.md, identical in substance at v0.18.0 and v0.19.0).

Layout (air/src/trace/chiplets/mod.rs, hasher.rs): chiplet selector chip0 (= 0 on hasher rows), selectors
``s0, s1, s2`` (chip1..3), state ``h0..h11`` (chip4..15; capacity h0..h3, rate h4..h11, digest h4..h7), node
index ``i`` (chip16). Every constraint is multiplied by the chiplet flag ``f_hash = 1 - chip0``
(chiplets/main.md: "degree = 1 + deg(c_hash)").

Periodic columns of the 8-row cycle: ``k0 = [0,0,0,0,0,0,0,1]``, ``k1 = [0,0,0,0,0,0,1,0]``,
``k2 = [1,0,0,0,0,0,0,0]``, and the RPO round constants ``ark1_j``, ``ark2_j`` (row r < 7 holds ARK1[r][j],
ARK2[r][j]; row 7 holds 0, as air/src/constraints/chiplets/hasher/mod.rs lays them out), taken from
``air.miden.rpo``. The engine counts a periodic column as degree 0 (``air.symbols.Periodic``), as
Winterfell's base degree does (``TransitionConstraintDegree::with_cycles``); the docs count ``k0, k1, k2`` as
degree 1 ("the degree of these flags is 4"), so every docs degree with a k in it is higher than ours.

Flags: ``f_bp, f_mp, f_mv, f_mu = k2 * s0 * {(1-s1)(1-s2), (1-s1) s2, s1 (1-s2), s1 s2}``,
``f_abp, f_mpa, f_mva, f_mua`` the same with k0, ``f_hout = k0 (1-s0)(1-s1)(1-s2)``,
``f_sout = k0 (1-s0)(1-s1) s2``, ``f_out = k0 (1-s0)(1-s1)``, ``f_out' = k1 (1-s0')(1-s1')``,
``f_an = f_mp + f_mv + f_mu + f_mpa + f_mva + f_mua``, ``b = i - 2 i'``.

Constraints (docs degree, + 1 for f_hash):

    s_j^2 - s_j = 0 (j = 0, 1, 2)                                  (2)
    (s_j' - s_j)(1 - f_out')(1 - f_out) = 0 (j = 1, 2)             (7)
    s0' (f_abp + f_mpa + f_mva + f_mua) = 0                        (5)
    k0 (1 - s0) s1 = 0                                             (3)
    f_an (b^2 - b) = 0                                             (6)
    f_out i = 0                                                    (4)
    (1 - f_an - f_out)(i' - i) = 0                                 (5)
    (1 - k0)(h_j'^7 - (MDS (MDS h + ark1)^7 + ark2)_j) = 0          (RPO round, j = 0..11; main.md: internal 8)
    f_abp (h_j' - h_j) = 0 (j = 0..3)                              (5)
    f_mpa+mva+mua ((1-b)(h_{j+4}' - h_{j+4}) + b (h_{j+8}' - h_{j+4})) = 0 (j = 0..3)   (6)
    (f_bp + f_mp + f_mv)(1 - p1) = 0                               (5; p1 = the chiplets virtual table)

The round is written as the docs/code write it: the inverse S-box x^(1/7) of the second half-round as the
forward S-box on the next row. The Merkle absorption rule: the docs flag it with ``f_mp + f_mv + f_mu`` (the
first-row flags, under which an honest trace fails it) and the v0.18/v0.19 Rust multiplies those by k0
(``k0 k2 = 0`` on every row, so it constrains nothing); the text says "when absorbing the next node", the last
row of a cycle, so the model uses ``f_mpa + f_mva + f_mua``.

Bus b_chip (chiplets bus), one response per row kind, header ``v_h = alpha_0 + alpha_1 m + alpha_2 (clk + 1) +
alpha_3 i`` with the system clock as the row address (the docs: "the clk column from the system component is
used, but we add 1"; the hasher is the first chiplet, so its row r is the trace row r, clk = r):

    f_bp v_all (m = 19), f_sout v_all (41), f_mp / f_mv / f_mu v_leaf (27 / 23 / 31), f_abp v_abp (35),
    f_hout v_res (33)

with v_all = v_h + v_a + v_b + v_c, v_leaf = v_h + (1-b) v_b + b v_d, v_res = v_h + v_b. The absorption
response carries the next row's rate, ``v_abp = v_h + v_b' + v_c'``, as the processor builds it
(processor/src/chiplets/aux_trace/bus/hasher.rs) and the decoder's RESPAN request matches; the docs write the
delta ``v_b' + v_c' - (v_b + v_c)``. Labels: ``layout.HASHER_*`` (code offsets, see there).

Sibling table (bus chiplets_vtable, p1): ``v_sibling = alpha_0 + alpha_3 i + b v_b + (1-b) v_c``. On MV/MU
rows (first row of a cycle) from the current row; on MVA/MUA rows (last row) from the next row, which holds
the absorbed sibling (processor/src/chiplets/aux_trace/virtual_table.rs; the docs use the current row there,
which holds the digest, not the sibling). MV/MVA multiply p1 (responses), MU/MUA divide it (requests), as the
code does; the docs' formula puts them the other way round (a balanced table is the same either way).
"""

from __future__ import annotations

import sympy as sp

from air.miden import layout as L
from air.miden import messages as M
from air.miden import rpo
from air.miden.builder import DOC, MidenBuilder, family
from air.symbols import AuxCell

BUS = "chiplets"
VTABLE = "chiplets_vtable"
DOCH = DOC + "chiplets/hasher.md"
CYCLE = 8
K0 = (0, 0, 0, 0, 0, 0, 0, 1)
K1 = (0, 0, 0, 0, 0, 0, 1, 0)
K2 = (1, 0, 0, 0, 0, 0, 0, 0)


def ark_columns() -> tuple[list[list[int]], list[list[int]]]:
    """The round constants as 24 periodic columns: ark1[j][r] = ARK1[r][j] for r < 7, 0 on row 7."""
    ark1 = [[rpo.ARK1[r][j] for r in range(rpo.NUM_ROUNDS)] + [0] for j in range(rpo.STATE_WIDTH)]
    ark2 = [[rpo.ARK2[r][j] for r in range(rpo.NUM_ROUNDS)] + [0] for j in range(rpo.STATE_WIDTH)]
    return ark1, ark2


def _mds(v: list[sp.Expr]) -> list[sp.Expr]:
    return [sp.Add(*[rpo.MDS[r][c] * v[c] for c in range(rpo.STATE_WIDTH)]) for r in range(rpo.STATE_WIDTH)]


@family("chiplets.hasher")
def constrain(b: MidenBuilder) -> None:
    hs = b.hasher
    air = b.air
    k0 = air.periodic_column("hasher_k0", K0)
    k1 = air.periodic_column("hasher_k1", K1)
    k2 = air.periodic_column("hasher_k2", K2)
    a1, a2 = ark_columns()
    ark1 = [air.periodic_column(f"hasher_ark1_{j}", a1[j]) for j in range(rpo.STATE_WIDTH)]
    ark2 = [air.periodic_column(f"hasher_ark2_{j}", a2[j]) for j in range(rpo.STATE_WIDTH)]

    f_hash = 1 - hs.chip_s0
    s0, s1, s2 = hs.s
    h, i = hs.h, hs.i
    hn = [x.next for x in h]
    bit = i - 2 * i.next

    sel = {
        "bp": s0 * (1 - s1) * (1 - s2),  # LINEAR_HASH
        "mp": s0 * (1 - s1) * s2,  # MP_VERIFY
        "mv": s0 * s1 * (1 - s2),  # MR_UPDATE_OLD
        "mu": s0 * s1 * s2,  # MR_UPDATE_NEW
    }
    f_bp, f_mp, f_mv, f_mu = (k2 * sel[x] for x in ("bp", "mp", "mv", "mu"))
    f_abp, f_mpa, f_mva, f_mua = (k0 * sel[x] for x in ("bp", "mp", "mv", "mu"))
    f_hout = k0 * (1 - s0) * (1 - s1) * (1 - s2)
    f_sout = k0 * (1 - s0) * (1 - s1) * s2
    f_out = k0 * (1 - s0) * (1 - s1)
    f_out_next = k1 * (1 - s0.next) * (1 - s1.next)
    f_an = f_mp + f_mv + f_mu + f_mpa + f_mva + f_mua

    # selector columns
    for j, s in enumerate(hs.s):
        b.constrain(f"hasher_s{j}_binary", flag=f_hash, body=s**2 - s, doc=DOCH)
    for j in (1, 2):
        b.constrain(
            f"hasher_s{j}_copy",
            flag=f_hash * (1 - f_out_next) * (1 - f_out),
            body=hs.s[j].next - hs.s[j],
            doc=DOCH,
        )
    b.constrain("hasher_s0_after_absorb", flag=f_hash, body=s0.next * (f_abp + f_mpa + f_mva + f_mua), doc=DOCH)
    b.constrain("hasher_selectors_valid", flag=f_hash, body=k0 * (1 - s0) * s1, doc=DOCH)

    # node index
    b.constrain("hasher_index_bit", flag=f_hash * f_an, body=bit**2 - bit, doc=DOCH)
    b.constrain("hasher_index_out_zero", flag=f_hash * f_out, body=i, doc=DOCH)
    b.constrain("hasher_index_copy", flag=f_hash * (1 - f_an - f_out), body=i.next - i, doc=DOCH)

    # hasher state: the RPO round on rows 0..6 of the cycle
    step1 = [x + c for x, c in zip(_mds(list(h)), ark1)]
    step1 = [x**rpo.ALPHA for x in step1]
    step1 = [x + c for x, c in zip(_mds(step1), ark2)]
    for j in range(rpo.STATE_WIDTH):
        b.constrain(
            f"hasher_round_{j}",
            flag=f_hash * (1 - k0),
            body=hn[j] ** rpo.ALPHA - step1[j],
            doc=DOCH + " (round constraints omitted there; air/src/constraints/chiplets/hasher/mod.rs)",
        )
    # hasher state: last row of the cycle
    for j in range(4):
        b.constrain(f"hasher_abp_capacity_{j}", flag=f_hash * f_abp, body=hn[j] - h[j], doc=DOCH)
    for j in range(4):
        b.constrain(
            f"hasher_mp_absorb_{j}",
            flag=f_hash * (f_mpa + f_mva + f_mua),
            body=(1 - bit) * (hn[j + 4] - h[j + 4]) + bit * (hn[j + 8] - h[j + 4]),
            doc=DOCH + " (the docs' flag f_mp + f_mv + f_mu is the first row's; the absorbing row's flags used)",
        )

    # sibling table: empty when a computation other than the new-root path starts
    p1 = AuxCell("v_table", 0)
    b.constrain("hasher_vtable_empty", flag=f_hash * (f_bp + f_mp + f_mv), body=1 - p1, doc=DOCH)

    # chiplets bus responses
    addr = b.system.clk + 1
    zero4 = [sp.Integer(0)] * 4
    cap = list(h[0:4])

    def msg(label: str, value: int, rate: list[sp.Expr], capacity: list[sp.Expr] = zero4) -> M.Message:
        return M.hasher(label, value, addr, rate, node_index=i, capacity=capacity)

    leaf = [(1 - bit) * h[4 + j] + bit * h[8 + j] for j in range(4)] + zero4
    terms = [
        ("v_bp", f_bp, msg("hasher linear hash start (v_all)", L.HASHER_LINEAR_HASH, list(h[4:]), cap)),
        ("v_sout", f_sout, msg("hasher return state (v_all)", L.HASHER_RETURN_STATE, list(h[4:]), cap)),
        ("v_mp", f_mp, msg("hasher Merkle path start (v_leaf)", L.HASHER_MP_VERIFY, leaf)),
        ("v_mv", f_mv, msg("hasher Merkle update old start (v_leaf)", L.HASHER_MR_UPDATE_OLD, leaf)),
        ("v_mu", f_mu, msg("hasher Merkle update new start (v_leaf)", L.HASHER_MR_UPDATE_NEW, leaf)),
        ("v_abp", f_abp, msg("hasher absorb (v_abp)", L.HASHER_ABSORB, hn[4:])),
        ("v_hout", f_hout, msg("hasher return hash (v_res)", L.HASHER_RETURN_HASH, list(h[4:8]) + zero4)),
    ]
    for name, flag, m in terms:
        b.respond(BUS, name, f_hash * flag, (m,), factors=(name,), doc=DOCH + " (chiplets bus constraints)")

    # sibling table on the chiplets virtual table
    def sib(label: str, row: list[sp.Expr]) -> M.Message:
        rate = [bit * row[4 + j] for j in range(4)] + [(1 - bit) * row[8 + j] for j in range(4)]
        return M.sibling(label, i, rate)

    docs = DOCH + " (sibling table constraints)"
    b.respond(VTABLE, "sibling_mv", f_hash * f_mv, (sib("sibling added (MV)", list(h)),), doc=docs)
    b.respond(VTABLE, "sibling_mva", f_hash * f_mva, (sib("sibling added (MVA)", hn),), doc=docs)
    b.request(VTABLE, "sibling_mu", f_hash * f_mu, (sib("sibling removed (MU)", list(h)),), doc=docs)
    b.request(VTABLE, "sibling_mua", f_hash * f_mua, (sib("sibling removed (MUA)", hn),), doc=docs)
