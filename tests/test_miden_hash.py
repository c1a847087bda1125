"""The hasher chiplet (docs/src/design/chiplets/hasher.md at v0.18.0 and v0.19.0): degrees against numbers
derived by hand, and honest rows from ``hasher_trace`` against the constraints, the responses and rpo."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from air.air import Air
from air.analysis import analyze
from air.buscheck import check_buses
from air.compile import eval_int
from air.evaluate import check
from air.miden import layout as L
from air.miden import messages as M
from air.miden import rpo
from air.miden.designs import DESIGNS
from air.miden.hasher_trace import LinearHash, Merge, MerklePath, MerkleUpdate, Permute
from air.miden.hasher_trace import build as build_rows
from air.symbols import Periodic
from air.trace import Trace

FAMILY = "chiplets.hasher"


@pytest.fixture(scope="module")
def v18(miden_airs) -> Air:
    return miden_airs["miden-v0.18"]


def _hasher_only(air: Air) -> Air:
    sub = copy.copy(air)
    sub.constraints = [c for c in air.constraints if air.families.get(c.name) == FAMILY]
    sub.buses = []
    return sub


def _trace(rows: list[dict[str, int]], n: int | None = None) -> Trace:
    n = n or len(rows)
    cols = {c: np.zeros(n, dtype=np.uint64) for c in rows[0]}
    for r, row in enumerate(rows):
        for c, v in row.items():
            cols[c][r] = v
    cols["clk"] = np.arange(n, dtype=np.uint64)
    return Trace(cols, n)


# ----------------------------------------------------------------------------------------------- degrees
# Hand-derived, a periodic column k counting 1 per factor (air.symbols.Periodic: Winterfell's with_cycles, the
# docs' own count), 1 for the chiplet flag (1 - chip0); f_out = k0 s0 s1 (1 - s2)-like flags carry one k each:
#   s_j^2 - s_j: 1 + 2 = 3                            (1-f_out')(1-f_out)(s'-s): 1 + 3 + 3 + 1 = 8
#   s0' (f_abp+f_mpa+f_mva+f_mua) = s0' k0 s0: 1+1+1+1 = 4   (docs 6: they do not sum the four flags)
#   k0 (1-s0) s1 (selectors valid): 1 + 1 + 2 = 4
#   f_an (b^2 - b), f_an = k2 s0 (s1+s2-s1 s2) + k0 ...: 1 + 4 + 2 = 7
#   f_out i: 1 + 3 + 1 = 5                            (1 - f_an - f_out)(i' - i): 1 + 4 + 1 = 6
#   round (1-k0)(h'^7 - ...): 1 + 1 + 7 = 9           f_abp (h' - h): 1 + 4 + 1 = 6
#   (f_mpa+f_mva+f_mua)((1-b)(..) + b(..)): 1 + 4 + 2 = 7   (f_bp+f_mp+f_mv)(1 - p1): 1 + 4 + 1 = 6
# Each is the base degree of air/src/constraints/chiplets/hasher/mod.rs (v0.18.0) plus one per cycle.
COMPUTED = {
    **{f"hasher_s{j}_binary": 3 for j in range(3)},
    "hasher_s1_copy": 8,
    "hasher_s2_copy": 8,
    "hasher_s0_after_absorb": 4,
    "hasher_selectors_valid": 4,
    "hasher_index_bit": 7,
    "hasher_index_out_zero": 5,
    "hasher_index_copy": 6,
    **{f"hasher_round_{j}": 9 for j in range(12)},
    **{f"hasher_abp_capacity_{j}": 6 for j in range(4)},
    **{f"hasher_mp_absorb_{j}": 7 for j in range(4)},
    "hasher_vtable_empty": 6,
}
# hasher.md's stated degree + 1 (chiplets/main.md); the round: main.md's table, total 9.
CLAIMED = {
    **{f"hasher_s{j}_binary": 3 for j in range(3)},
    "hasher_s1_copy": 8,
    "hasher_s2_copy": 8,
    "hasher_s0_after_absorb": 6,
    "hasher_selectors_valid": 4,
    "hasher_index_bit": 7,
    "hasher_index_out_zero": 5,
    "hasher_index_copy": 6,
    **{f"hasher_round_{j}": 9 for j in range(12)},
    **{f"hasher_abp_capacity_{j}": 6 for j in range(4)},
    **{f"hasher_mp_absorb_{j}": 7 for j in range(4)},
    "hasher_vtable_empty": 6,
}


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_hasher_constraint_degrees(design: str) -> None:
    a = analyze(DESIGNS[design]())
    mine = {c.name: c for c in a.constraints if a.air.families.get(c.name) == FAMILY}
    assert set(mine) == set(COMPUTED)  # 31: hasher.md's 19 written constraints + 12 round constraints
    for name, c in mine.items():
        assert (c.degree, c.claimed_degree) == (COMPUTED[name], CLAIMED[name]), name


def test_hasher_bus_term_degrees(v18: Air) -> None:
    a = analyze(v18)
    # flag: chiplet flag (1) + 3 selectors + one periodic k (1); v_all, v_res, v_abp linear (1): 6;
    # v_leaf (1-b) h: 2 -> 7
    want = {"v_bp": 6, "v_sout": 6, "v_abp": 6, "v_hout": 6, "v_mp": 7, "v_mv": 7, "v_mu": 7}
    assert {n: a.term("chiplets", n).degree for n in want} == want
    # sibling entries: flag 4 + k 1 + b h (2) = 7; the vtable constraint 7 + 1 = 8 (hasher.md: 7 without
    # the chiplet flag)
    for n in ("sibling_mv", "sibling_mva", "sibling_mu", "sibling_mua"):
        assert a.term("chiplets_vtable", n).degree == 7
    assert a.bus("chiplets_vtable").degree == 8


def test_periodic_columns(v18: Air) -> None:
    p = v18.periodic
    assert p["hasher_k0"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert p["hasher_k1"] == [0, 0, 0, 0, 0, 0, 1, 0]
    assert p["hasher_k2"] == [1, 0, 0, 0, 0, 0, 0, 0]
    assert p["hasher_ark1_0"][:7] == [rpo.ARK1[r][0] for r in range(7)] and p["hasher_ark1_0"][7] == 0
    assert p["hasher_ark2_11"][6] == rpo.ARK2[6][11]
    assert len([k for k in p if k.startswith("hasher_ark")]) == 24


def test_labels_follow_the_code() -> None:
    # processor/src/chiplets/aux_trace/bus/hasher.rs: op label + 16 (first row) / + 32 (last row)
    assert (L.HASHER_LINEAR_HASH, L.HASHER_ABSORB, L.HASHER_RETURN_HASH, L.HASHER_RETURN_STATE) == (19, 35, 33, 41)
    assert (L.HASHER_MP_VERIFY, L.HASHER_MR_UPDATE_OLD, L.HASHER_MR_UPDATE_NEW) == (27, 23, 31)


# ----------------------------------------------------------------------------------------------- rows
def _digest(k: int) -> tuple[int, ...]:
    return tuple(1000 * k + j for j in range(4))


PATH = (_digest(1), _digest(2), _digest(3))
JOBS = [
    LinearHash(tuple(range(1, 11))),  # 10 elements: two blocks, one ABP
    Merge(_digest(7), _digest(8), 0xA),  # control-block hash with a domain
    Permute(tuple(range(100, 112))),
    MerklePath(_digest(5), 6, PATH),
    MerkleUpdate(_digest(5), _digest(6), 6, PATH),
]


def _root(leaf: tuple[int, ...], index: int, path: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    node = leaf
    for sib in path:
        node = rpo.merge(node, sib) if index & 1 == 0 else rpo.merge(sib, node)
        index >>= 1
    return node


@pytest.fixture(scope="module")
def rows():
    return build_rows(JOBS)


def test_row_builder_digests(rows) -> None:
    assert rows.results[0] == rpo.hash_elements(range(1, 11))
    assert rows.results[1] == rpo.merge_in_domain(_digest(7), _digest(8), 0xA)
    assert rows.results[2] == tuple(rpo.permute(range(100, 112)))
    assert rows.results[3] == _root(_digest(5), 6, PATH)
    assert rows.results[4] == (_root(_digest(5), 6, PATH), _root(_digest(6), 6, PATH))
    # cycles: 2 + 1 + 1 + 3 + 6 = 13
    assert len(rows.rows) == 13 * 8


def test_honest_rows_pass_every_hasher_constraint(v18: Air, rows) -> None:
    res = check(_hasher_only(v18), _trace(rows.rows))
    assert res.ok, [(f.constraint, f.rows[:5].tolist()) for f in res.failures]


def test_responses_at_the_builder_rows(v18: Air, rows) -> None:
    """Each b_chip response flag is 1 exactly on the rows the builder names, with the label it names."""
    t = _trace(rows.rows)
    bus = next(b for b in v18.buses if b.name == "chiplets")
    mine = [x for x in bus.terms if v18.families[f"bus:chiplets/{x.name}"] == FAMILY]
    term_label = {x.name: x.messages[0].label_value for x in mine}
    seen = set()
    n = t.n_rows
    for r in range(n):  # the last row's response too (in the VM other chiplets' rows follow)
        env = {c: int(v[r]) for c, v in t.columns.items()}
        env |= {c + "'": int(v[(r + 1) % n]) for c, v in t.columns.items()}
        env |= {k: v[r % len(v)] for k, v in v18.periodic.items()}
        for term in bus.terms:
            if term.name in term_label and eval_int(term.flag, env) == 1:
                seen.add((term_label[term.name], r))
    assert seen == {(x.label, x.row) for x in rows.responses}


def test_response_message_is_the_digest_at_clk_plus_one(v18: Air, rows) -> None:
    t = _trace(rows.rows)
    bus = next(b for b in v18.buses if b.name == "chiplets")
    hout = next(x for x in bus.terms if x.name == "v_hout")
    resp = next(x for x in rows.responses if x.job == 0 and x.label == L.HASHER_RETURN_HASH)
    r = resp.row
    env = {c: int(v[r]) for c, v in t.columns.items()} | {c + "'": int(v[r + 1]) for c, v in t.columns.items()}
    fields = {n: eval_int(e, env) for n, e in hout.messages[0].fields}
    assert fields["addr"] == r + 1 and fields["node_index"] == 0
    assert tuple(fields[f"h{j}"] for j in range(4)) == rpo.hash_elements(range(1, 11))


def test_sibling_table_balances_over_a_root_update(v18: Air, rows) -> None:
    sub = copy.copy(v18)
    sub.constraints = []
    sub.buses = [b for b in v18.buses if b.name == "chiplets_vtable"]
    rep = check_buses(sub, _trace(rows.rows))
    assert rep.ok, rep.render()
    # a different sibling on the new path leaves the table unbalanced
    bad = build_rows([MerkleUpdate(_digest(5), _digest(6), 6, PATH), MerklePath(_digest(5), 6, PATH)])
    rows_bad = [dict(r) for r in bad.rows]
    new_path_start = 3 * 8
    rows_bad[new_path_start][L.HASHER["h"][8]] += 1  # the sibling of the new path's first leg (index bit 0)
    assert not check_buses(sub, _trace(rows_bad)).ok


# ----------------------------------------------------------------------------------------------- tampering
def test_tampered_state_cell_fails_the_round_at_its_row(v18: Air, rows) -> None:
    bad = [dict(r) for r in rows.rows]
    col = L.HASHER["h"][5]
    bad[3][col] = (bad[3][col] + 1) % rpo.P
    res = check(_hasher_only(v18), _trace(bad))
    fails = {f.constraint: f.rows.tolist() for f in res.failures}
    # row 2 -> 3 (h5' changed) fails round 5; row 3 -> 4 (h5 enters the MDS) fails every round
    assert fails["hasher_round_5"] == [2, 3]
    assert all(fails[f"hasher_round_{j}"] == [3] for j in range(12) if j != 5)
    assert set(fails) == {f"hasher_round_{j}" for j in range(12)}


def test_hand_built_pair_selector_and_index(v18: Air) -> None:
    """Two rows by hand: an ABP row (k0 = 1 at row 7) must be followed by s0' = 0 and keep the capacity."""
    air = _hasher_only(v18)
    h = L.HASHER
    row = {h["chip_s0"]: 0, h["i"]: 0, **dict(zip(h["s"], (1, 0, 0))), **{c: 5 for c in h["h"]}}
    nxt = {h["chip_s0"]: 0, h["i"]: 0, **dict(zip(h["s"], (0, 0, 0))), **{c: 5 for c in h["h"]}}
    rows = [dict(row) for _ in range(7)] + [row, nxt]

    def fails(rs: list[dict[str, int]], name: str) -> list[int]:
        res = check(air, _trace(rs))
        return next((f.rows.tolist() for f in res.failures if f.constraint == name), [])

    assert fails(rows, "hasher_s0_after_absorb") == [] and fails(rows, "hasher_abp_capacity_0") == []
    rows[8] = {**nxt, h["s"][0]: 1}
    assert fails(rows, "hasher_s0_after_absorb") == [7]
    rows[8] = {**nxt, h["h"][0]: 6}
    assert fails(rows, "hasher_abp_capacity_0") == [7]


def test_responses_meet_the_shared_request_constructor(v18: Air, rows) -> None:
    """The v_bp response of the Merge job equals what a decoder control-block request builds with
    ``messages.hasher`` (label m_bp, addr, rate, domain in capacity[1]); its v_hout equals the END request."""
    t = _trace(rows.rows)
    bus = next(b for b in v18.buses if b.name == "chiplets")
    term = {x.name: x for x in bus.terms}

    def fields_at(name: str, r: int) -> tuple[int | None, dict[str, int]]:
        env = {c: int(v[r]) for c, v in t.columns.items()} | {c + "'": int(v[r + 1]) for c, v in t.columns.items()}
        m = term[name].messages[0]
        return m.label_value, {n: eval_int(e, env) for n, e in m.fields}

    def padded(m: M.Message) -> tuple[int | None, dict[str, int]]:
        f = {n: eval_int(e, {}) for n, e in m.fields}
        return m.label_value, {n: f.get(n, 0) for n in ["addr", "node_index"] + [f"cap{j}" for j in range(4)]} | {
            f"h{j}": f.get(f"h{j}", 0) for j in range(8)
        }

    start = next(x.row for x in rows.responses if x.job == 1 and x.label == L.HASHER_LINEAR_HASH)
    rate = [*_digest(7), *_digest(8)]
    assert fields_at("v_bp", start) == padded(M.hasher("req", L.HASHER_LINEAR_HASH, start + 1, rate, 0xA))
    end = start + 7
    out = rows.results[1]
    assert fields_at("v_hout", end) == padded(M.hasher("req", L.HASHER_RETURN_HASH, end + 1, list(out)))


@pytest.mark.parametrize("n", [1, 8, 9, 16])
def test_linear_hash_lengths(v18: Air, n: int) -> None:
    t = build_rows([LinearHash(tuple(range(7, 7 + n))), Permute(tuple(range(12)))])
    assert t.results[0] == rpo.hash_elements(range(7, 7 + n))
    assert len(t.rows) == 8 * (-(-n // 8) + 1)
    res = check(_hasher_only(v18), _trace(t.rows))
    assert res.ok, [(f.constraint, f.rows[:5].tolist()) for f in res.failures]


def test_merkle_absorb_flag_docs_and_rust_variants(v18: Air, rows) -> None:
    """hasher.md flags the Merkle absorption rule with f_mp + f_mv + f_mu (first-row flags): honest rows fail
    it. The v0.18/v0.19 Rust multiplies those by k0: k0 k2 = 0 on every row, so it holds for any rows. The
    model's f_mpa + f_mva + f_mua catches a digest not copied into the next leg."""
    c = v18.constraint("hasher_mp_absorb_0")
    k0, k2 = Periodic("hasher_k0"), Periodic("hasher_k2")
    # the model's flag is f_hash * k0 * s0 * (...): k2 in place of k0 is the docs', k0 * k2 the Rust's
    docs = c.flag.subs(k0, k2) * c.body
    rust = c.flag.subs(k0, k0 * k2) * c.body

    def failing(expr, t: Trace) -> list[int]:
        out = []
        for r in range(t.n_rows - 1):
            env = {n: int(v[r]) for n, v in t.columns.items()} | {n + "'": int(v[r + 1]) for n, v in t.columns.items()}
            env |= {k: v[r % 8] for k, v in v18.periodic.items()}
            if eval_int(expr, env):
                out.append(r)
        return out

    honest = _trace(rows.rows)
    mp = next(x.row for x in rows.responses if x.label == L.HASHER_MP_VERIFY)
    assert mp in failing(docs, honest)
    assert failing(rust, honest) == [] and failing(c.expr, honest) == []
    # index 6 = 0b110: the second leg's bit is 1, so the first leg's digest goes to h8..h11 of row mp + 8
    bad = [dict(r) for r in rows.rows]
    bad[mp + 8][L.HASHER["h"][8]] += 1
    assert failing(c.expr, _trace(bad)) == [mp + 7] and failing(rust, _trace(bad)) == []
