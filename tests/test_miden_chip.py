"""Range checker and chiplets other than the hasher: degrees derived by hand from the Miden docs (v0.18.0 and
v0.19.0, identical for these pages), the kernel ROM column fix, and hand-built rows that satisfy a constraint
and tampered ones that violate it."""

from __future__ import annotations

import numpy as np
import pytest

from air.air import Air
from air.bus import term_degree
from air.buscheck import check_buses
from air.compile import eval_int
from air.miden import layout as L
from air.miden.claims import claimed
from air.miden.design import V18, V19
from air.miden.designs import DESIGNS
from air.trace import Trace

P = 2**64 - 2**32 + 1


@pytest.fixture(scope="module", params=["miden-v0.18", "miden-v0.19"])
def an(request, miden_analyses):
    return miden_analyses[request.param]


# Computed degrees, by hand. Chiplet flags (chiplets/main.md): bitwise 2, memory 3, ACE 4, kernel ROM 5.
# the public inputs every Miden trace carries (the buses' boundaries): a program hash and the kernel's procedures
MIDEN_PUBLIC: dict = {
    "public_inputs": {f"program_hash{i}": 0 for i in range(4)},
    "public_tables": {"kernel_procedures": []},
}

EXPECTED = {
    # range.md: product of nine linear factors in Δv
    "rc_delta": 9,
    # chiplets/main.md: s0..s_{k-1} (s_k^2 - s_k) and s0..s_k (s_k - s_k'): k + 2
    **{f"chip_s{k}_binary": k + 2 for k in range(5)},
    **{f"chip_s{k}_stay": k + 2 for k in range(5)},
    "vt_hasher_boundary": 2,
    "vt_bchip_last": 2,
    # bitwise.md: flag 2 + (s^2 - s) 2; a periodic k0/k1 factor counts 1, as the docs (and Winterfell) count it:
    # k1 (s - s') is 2 + 1 + 1, k0 (a - Σ 2^i a_i) is 2 + 1 + 1
    "bw_s_binary": 4,
    "bw_s_stay": 4,
    "bw_a0_binary": 4,
    "bw_b3_binary": 4,
    "bw_a_first": 4,
    "bw_b_step": 4,
    "bw_zp_first": 4,
    "bw_zp_copy": 4,
    "bw_and": 5,  # 2 + (1 - s)(z - 16 z_p - Σ a_i b_i) = 2 + 3
    "bw_xor": 5,
    # memory.md
    "mem_n0_binary": 7,
    "mem_same_ctx": 6,  # 3 + (1 - n0)(1) with n0 of degree 2: the docs say 7, the v0.18 code 6
    "mem_n1_binary": 9,
    "mem_same_addr": 8,
    "mem_is_read_binary": 5,
    "mem_delta": 8,
    "mem_f_scw": 7,
    "mem_same_clk_read": 8,  # 3 + f_scw' 1 + (1 - Δclk t') 2 + (1 - rw) 1 + (1 - rw') 1
    "mem_v0_first": 9,  # f_mem_fr 4 + c_i 4 + v_i' 1
    "mem_v3_copy": 9,  # f_mem_nl 3 + c_i 4 + 2
    # kernel_rom.md + main.md (f_krom 5)
    "krom_s_first_binary": 7,
    "krom_s_first_init": 7,  # f_ace 4 + s3' 1 + (1 - s4') 1 + (1 - s_first') 1
    "krom_r0_same": 8,
    # ace.md, d = 4
    "ace_start_binary": 6,
    "ace_start_first": 6,  # f_prev 3 + s2' (1 - s3') 2 + 1: the docs' f_prev (1 - s2') gives d+1 = 5
    "ace_start_last": 6,
    "ace_start_not_twice": 7,  # f_ace_next (d+1) * s_start s_start' (2): the docs say d+2
    "ace_block_binary": 6,
    "ace_first_read": 6,
    "ace_eval_then_eval": 8,
    "ace_end_eval": 7,
    "ace_n_eval": 7,
    "ace_ctx": 7,
    "ace_ptr": 7,
    "ace_id0": 7,
    "ace_read_ids": 6,
    "ace_op": 8,
    "ace_eval_v00": 9,
    "ace_eval_v01": 9,
    "ace_end_id": 7,
    "ace_end_v01": 7,
}


def test_constraint_degrees(an) -> None:
    for name, deg in EXPECTED.items():
        assert an.constraint(name).degree == deg, name


def test_the_docs_degrees_are_claimed() -> None:
    for d in (V18, V19):
        assert claimed(d, "bw_s_stay") == 4 and claimed(d, "bw_and") == 5  # bitwise.md 2 / 3, + flag 2
        assert claimed(d, "mem_same_ctx") == 7 and claimed(d, "mem_v2_first") == 9  # memory.md
        assert claimed(d, "ace_start_not_twice") == 6 and claimed(d, "ace_eval_v00") == 9  # ace.md d+2, d+5
        assert claimed(d, "krom_r3_same") == 8 and claimed(d, "bus:chiplets/v_krom_init") == 7
        assert claimed(d, "rc_delta") == 9 and claimed(d, "bus:range") == 9  # range.md


def test_counts_per_docs_page() -> None:
    air = DESIGNS["miden-v0.19"]()
    fam = air.families
    count = {f: sum(1 for c in air.constraints if fam[c.name] == f) for f in set(fam.values())}
    assert count["range.checker"] == 3  # range.md: the transition and two boundaries
    assert count["chiplets.selectors"] == 12  # main.md: 5 binary + 5 monotone + 2 virtual table
    assert count["chiplets.bitwise"] == 18  # bitwise.md (the code merges AND/XOR into one: 17)
    assert count["chiplets.memory"] == 19  # memory.md and memory/mod.rs NUM_CONSTRAINTS
    assert count["chiplets.kernel_rom"] == 6  # kernel_rom.md: s_first binary, s_first opens, r0..r3
    assert count["chiplets.ace"] == 20  # ace.md's 18, with v0 = v_out and v0 = 0 in two base-field components each


def _bus(air: Air, name: str):
    return next(b for b in air.buses if b.name == name)


def test_bus_term_degrees(an) -> None:
    air = an.air
    deg = {(b.name, t.name): term_degree(air, b, t).degree for b in air.buses for t in b.terms}
    assert deg[("range", "v_range")] == 2  # range.md: m/(α + v)
    assert deg[("range", "m_d0")] == 4  # f_mem 3 + (α + d0) 1
    assert deg[("chiplets", "v_krom_init")] == deg[("chiplets", "v_krom_call")] == 7  # 5 + s_first 1 + 1
    assert deg[("chiplets", "v_mem")] == 7  # f_mem 3 + v_mem 4 (memory.md)
    assert deg[("chiplets", "v_bitwise")] == 4  # f_bitwise 2 + (1 - k1) 1 + the message 1
    assert deg[("chiplets_vtable", "u_ace_read")] == 6  # f_ace 4 + f_read 1 + 1
    assert deg[("ace_wiring", "w1")] == 7  # f_ace 4 + (f_read m1 - f_eval) 2 + 1
    ace_wiring = next(r for r in an.buses if r.name == "ace_wiring")
    assert ace_wiring.degree == 8  # ace.md: d + 4


def test_kernel_rom_columns_follow_the_v018_code() -> None:
    # v0.18/v0.19 air/src/trace/chiplets/mod.rs: five selectors, then s_first (CHIPLETS_OFFSET + 5), r0..r3
    assert L.KROM["s_first"] == "chip5" and [L.KROM[f"r{i}"] for i in range(4)] == ["chip6", "chip7", "chip8", "chip9"]
    air = DESIGNS["miden-v0.18"]()
    terms = {t.name: t for t in _bus(air, "chiplets").terms}
    assert terms["v_krom_init"].messages[0].label_value == L.KERNEL_PROC_INIT == 48
    assert terms["v_krom_call"].messages[0].label_value == L.KERNEL_PROC_CALL == 16
    fields = [str(e) for _, e in terms["v_krom_call"].messages[0].fields]
    assert fields == ["chip6", "chip7", "chip8", "chip9"]
    assert "chip5" in {s.name for s in terms["v_krom_init"].flag.free_symbols}


# ------------------------------------------------------------------------------------ numeric checks
def _value(
    air: Air, name: str, cur: dict[str, int], nxt: dict[str, int], periodic: dict[str, int] | None = None
) -> int:
    """The constraint ``name`` on the frame (cur, nxt); columns not given are 0."""
    expr = air.constraint(name).expr
    periodic = periodic or {}

    def get(v: str) -> int:
        if v in periodic:
            return periodic[v]
        if v.endswith("'"):
            return nxt.get(v[:-1], 0)
        return cur.get(v, 0)

    return eval_int(expr, get)


@pytest.fixture(scope="module")
def v18(miden_airs) -> Air:
    return miden_airs["miden-v0.18"]


def test_range_step(v18) -> None:
    assert _value(v18, "rc_delta", {"range_v": 3}, {"range_v": 3 + 2187}) == 0
    assert _value(v18, "rc_delta", {"range_v": 3}, {"range_v": 3 + 9}) == 0
    assert _value(v18, "rc_delta", {"range_v": 3}, {"range_v": 3 + 2}) != 0


def _mem_row(**kw: int) -> dict[str, int]:
    row = {L.MEM["s0"]: 1, L.MEM["s1"]: 1}
    row.update({L.MEM[k]: v for k, v in kw.items()})
    return row


def test_memory_values_are_kept(v18) -> None:
    # write v = (1, 2, 3, 4) at word 8, then read element 1 of the same word at a later clock
    cur = _mem_row(ctx=0, word=8, clk=5, v0=1, v1=2, v2=3, v3=4, is_word=1)
    nxt = _mem_row(ctx=0, word=8, clk=9, v0=1, v1=2, v2=3, v3=4, is_read=1, idx0=1, f_scw=1, d0=4, d_inv=pow(4, -1, P))
    for i in range(4):
        assert _value(v18, f"mem_v{i}_copy", cur, nxt) == 0
    assert _value(v18, "mem_same_clk_read", cur, nxt) == 0
    tampered = dict(nxt, **{L.MEM["v2"]: 7})  # a read that changes v2
    assert _value(v18, "mem_v2_copy", cur, tampered) != 0
    # a write to element 1 of the same word may change v1 only
    write = dict(nxt, **{L.MEM["is_read"]: 0, L.MEM["v1"]: 99})
    assert _value(v18, "mem_v1_copy", cur, write) == 0 and _value(v18, "mem_v0_copy", cur, write) == 0


def test_memory_first_row_is_zero_initialised(v18) -> None:
    prev = {"chip0": 0}  # a hasher row
    first = _mem_row(ctx=0, word=4, clk=3, v0=0, v1=0, v2=5, v3=0, idx1=1)  # writes element 2
    for i in range(4):
        assert _value(v18, f"mem_v{i}_first", prev, first) == 0
    assert _value(v18, "mem_v3_first", prev, dict(first, **{L.MEM["v3"]: 1})) != 0


def _krom_row(s_first: int, r: tuple[int, ...]) -> dict[str, int]:
    row = {f"chip{i}": 1 for i in range(4)}
    row[L.KROM["s_first"]] = s_first
    row.update({L.KROM[f"r{i}"]: v for i, v in enumerate(r)})
    return row


def test_kernel_rom_digest_and_s_first(v18) -> None:
    d, e = (1, 2, 3, 4), (5, 6, 7, 8)
    assert _value(v18, "krom_r0_same", _krom_row(1, d), _krom_row(0, d)) == 0
    assert _value(v18, "krom_r0_same", _krom_row(1, d), _krom_row(0, e)) != 0
    assert _value(v18, "krom_r0_same", _krom_row(0, d), _krom_row(1, e)) == 0  # a new procedure's block
    assert _value(v18, "krom_s_first_binary", _krom_row(2, d), _krom_row(0, d)) != 0
    # the last ACE row must hand over to a kernel ROM row with s_first = 1
    ace_last = {"chip0": 1, "chip1": 1, "chip2": 1, "chip3": 0}
    assert _value(v18, "krom_s_first_init", ace_last, _krom_row(1, d)) == 0
    assert _value(v18, "krom_s_first_init", ace_last, _krom_row(0, d)) != 0
    # an empty kernel ROM: padding (s0..s4 = 1, the rest 0, as the processor fills it) follows the ACE chiplet
    padding = {f"chip{i}": 1 for i in range(5)}
    assert _value(v18, "krom_s_first_init", ace_last, padding) == 0


def test_ace_first_row_flag(v18) -> None:
    memory = {"chip0": 1, "chip1": 1, "chip2": 0}
    ace_row = {"chip0": 1, "chip1": 1, "chip2": 1, "chip3": 0, L.ACE["s_start"]: 1}
    krom_row = {"chip0": 1, "chip1": 1, "chip2": 1, "chip3": 1, "chip4": 0}
    assert _value(v18, "ace_start_first", memory, ace_row) == 0
    assert _value(v18, "ace_start_first", memory, dict(ace_row, **{L.ACE["s_start"]: 0})) != 0
    assert _value(v18, "ace_start_first", memory, krom_row) == 0  # no ACE rows: memory, then the kernel ROM
    assert _value(v18, "ace_start_first", memory, memory) == 0


def test_chiplet_selectors_only_rise(v18) -> None:
    assert _value(v18, "chip_s1_stay", {"chip0": 1, "chip1": 0}, {"chip0": 1, "chip1": 1}) == 0
    assert _value(v18, "chip_s1_stay", {"chip0": 1, "chip1": 1}, {"chip0": 1, "chip1": 0}) != 0


def test_bitwise_and_row(v18) -> None:
    w = L.BITWISE
    a_bits, b_bits = (1, 0, 1, 1), (1, 1, 0, 1)  # a = 13, b = 11, a AND b = 9, a XOR b = 6
    row = {"chip0": 1, "chip1": 0, w["z_p"]: 3, w["z"]: 16 * 3 + 9}
    row.update({c: x for c, x in zip(w["a_bits"], a_bits)})
    row.update({c: x for c, x in zip(w["b_bits"], b_bits)})
    assert _value(v18, "bw_and", row, {}) == 0
    assert _value(v18, "bw_and", dict(row, **{w["z"]: 16 * 3 + 6}), {}) != 0
    xor = dict(row, **{w["op"]: 1, w["z"]: 16 * 3 + 6})
    assert _value(v18, "bw_xor", xor, {}) == 0 and _value(v18, "bw_and", xor, {}) == 0
    # first row of the cycle: a is the aggregation of its bits (k0 = 1)
    first = dict(row, **{w["a"]: 13})
    assert _value(v18, "bw_a_first", first, {}, {"bitwise_k0": 1}) == 0
    assert _value(v18, "bw_a_first", dict(first, **{w["a"]: 12}), {}, {"bitwise_k0": 1}) != 0


def test_ace_eval_multiplies_in_the_extension(v18) -> None:
    # (2 + 3x)(5 + 7x) with x^2 = x - 2: (10 - 2*21) + (14 + 15 + 21) x = -32 + 50x
    a = L.ACE
    row = {"chip0": 1, "chip1": 1, "chip2": 1, "chip3": 0, a["s_block"]: 1, a["op"]: 0}
    row.update({a["v10"]: 2, a["v11"]: 3, a["v20"]: 5, a["m1"]: 7, a["v00"]: (-32) % P, a["v01"]: 50})
    assert _value(v18, "ace_eval_v00", row, {}) == 0 and _value(v18, "ace_eval_v01", row, {}) == 0
    assert _value(v18, "ace_eval_v01", dict(row, **{a["v01"]: 51}), {}) != 0
    sub = dict(row, **{a["op"]: P - 1, a["v00"]: (2 - 5) % P, a["v01"]: (3 - 7) % P})
    assert _value(v18, "ace_eval_v00", sub, {}) == 0 and _value(v18, "ace_eval_v01", sub, {}) == 0
    assert _value(v18, "ace_op", dict(row, **{a["op"]: 2}), {}) != 0


def test_range_bus_balances_memory_deltas(v18) -> None:
    n = 8
    cols = {c: np.zeros(n, dtype=np.uint64) for c in v18.column_names}
    cols["chip0"][:] = 1  # no hasher rows
    cols["chip1"][:2] = 1  # rows 0, 1: memory; d = 5 and 7 (d1 = 0 twice)
    cols["chip2"][2:] = 1
    cols[L.MEM["d0"]][:2] = (5, 7)
    cols["range_v"][:] = (0, 5, 7, 7, 7, 7, 7, 7)
    cols["range_m"][:3] = (2, 1, 1)
    ok = next(r for r in check_buses(v18, Trace(cols, n, **MIDEN_PUBLIC)).buses if r.bus == "range")
    assert ok.final == 0 and not ok.unmatched
    cols["range_m"][2] = 0
    bad = next(r for r in check_buses(v18, Trace(cols, n, **MIDEN_PUBLIC)).buses if r.bus == "range")
    assert bad.final != 0
