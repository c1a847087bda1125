"""Periodic columns and LogUp buses, numerically: the checker's answers against values computed here with
Python ints (row by row, modular inverses by Fermat), never by the code under test."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from air.air import Air, Bus, BusTerm, Message
from air.buscheck import challenges_from_seed, check_buses
from air.evaluate import cell_values, check, check_multiplicities
from air.trace import Trace

P = 2**64 - 2**32 + 1
CYCLE = [1, 0, 0, 0, 0, 0, 0, 0]  # k: 1 on every eighth row
ROUND = [3, 5, 7, 11]  # c: a round constant of cycle 4


def periodic_air() -> Air:
    """x counts blocks: x' = x + k (k = 1 at the start of every 8-row block); y' = y + c (c cycles 3, 5, 7, 11);
    'gated' is written flag * body with the periodic k as its flag."""
    air = Air("periodic", "periodic columns", budget=3)
    x, y, z = air.columns("main", ["x", "y", "z"])
    k = air.periodic_column("k", CYCLE)
    c = air.periodic_column("c", ROUND)
    air.transition("count", x.next - x - k)
    air.transition("round", y.next - y - c)
    air.constrain("gated", body=z - x, flag=k)  # at each block start z equals the block count
    return air


def honest_periodic(n: int) -> dict[str, np.ndarray]:
    xs, ys, zs = [0], [0], []
    for i in range(n - 1):
        xs.append((xs[-1] + CYCLE[i % 8]) % P)
        ys.append((ys[-1] + ROUND[i % 4]) % P)
    for i in range(n):
        zs.append(xs[i] if CYCLE[i % 8] else 12345)
    return {k: np.array(v, dtype=np.uint64) for k, v in (("x", xs), ("y", ys), ("z", zs))}


def test_periodic_columns_honest_and_forged() -> None:
    air = periodic_air()
    n = 64
    cols = honest_periodic(n)
    assert check(air, Trace(cols, n)).ok
    assert cols["x"][-1] == 8 and int(cols["y"][-1]) == sum(ROUND[i % 4] for i in range(n - 1))
    bad = {k: v.copy() for k, v in cols.items()}
    bad["z"][16] = 99  # row 16 starts a block (k = 1): gated fails there
    bad["z"][17] = 99  # k = 0: no constraint reads z there
    bad["y"][30] = (int(bad["y"][30]) + 1) % P  # round fails on rows 29 (y' wrong) and 30 (y wrong)
    res = check(air, Trace(bad, n))
    got = {f.constraint: f.rows.tolist() for f in res.failures}
    assert got == {"gated": [16], "round": [29, 30]}
    # the cell values the report shows: the periodic column's value on that row
    assert cell_values(air, "gated", Trace(bad, n), 16)["k"] == 1
    assert cell_values(air, "round", Trace(bad, n), 29)["c"] == ROUND[29 % 4]


def test_periodic_cycle_longer_than_a_short_trace() -> None:
    air = periodic_air()
    cols = honest_periodic(4)  # half a cycle of k
    assert check(air, Trace(cols, 4)).ok


def test_periodic_cycle_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power-of-two"):
        Air("p", "p").periodic_column("k", [1, 0, 0])


def logup_air() -> Air:
    """A range table: requests of v (flag f) answered by the table value t with multiplicity m."""
    air = Air("lookup", "LogUp", budget=9)
    f, v, t, m = air.columns("main", ["f", "v", "t", "m"])
    air.bus(
        Bus(
            "range",
            "logup",
            "b",
            (
                BusTerm("req", "request", f, (Message("value", 1, (("v", v),)),)),
                BusTerm("table", "response", sp.Integer(1), (Message("value", 1, (("v", t),)),), multiplicity=m),
            ),
            initial=sp.Integer(0),
            final=sp.Integer(0),
        )
    )
    return air


def _logup_by_hand(cols: dict[str, np.ndarray], alphas: list[int]) -> list[int]:
    """b[0] = 0, b[i+1] = b[i] + m_i/(a0 + a1 + a2*t_i) - f_i/(a0 + a1 + a2*v_i) on rows 0..n-2."""
    a0, a1, a2 = alphas[:3]
    b = [0]
    for i in range(len(cols["f"]) - 1):
        d_req = (a0 + a1 + a2 * int(cols["v"][i])) % P
        d_resp = (a0 + a1 + a2 * int(cols["t"][i])) % P
        step = int(cols["m"][i]) * pow(d_resp, P - 2, P) - int(cols["f"][i]) * pow(d_req, P - 2, P)
        b.append((b[-1] + step) % P)
    return b


def _lookup_trace(requests: list[int], n: int) -> dict[str, np.ndarray]:
    cols = {k: np.zeros(n, dtype=np.uint64) for k in ("f", "v", "t", "m")}
    for i, r in enumerate(requests):
        cols["f"][i], cols["v"][i] = 1, r
    for j in range(8):  # the table 0..7 on rows 0..7, multiplicity = how often each value is requested
        cols["t"][j], cols["m"][j] = j, requests.count(j)
    return cols


def test_logup_balanced_matches_python_ints() -> None:
    air = logup_air()
    n = 16
    cols = _lookup_trace([3, 3, 5, 0, 7, 3], n)
    alphas = challenges_from_seed(air, 4)
    res = check_buses(air, Trace(cols, n), challenges=alphas).buses[0]
    want = _logup_by_hand(cols, alphas)
    assert want[-1] == 0 and res.ok and res.final == 0
    assert res.column is not None and [int(x) for x in res.column] == want


def test_logup_unbalanced_matches_python_ints() -> None:
    air = logup_air()
    n = 16
    cols = _lookup_trace([3, 3, 5], n)
    cols["m"][3] += 1  # the table claims one lookup of 3 more than was requested (3 for 2)
    alphas = challenges_from_seed(air, 9)
    res = check_buses(air, Trace(cols, n), challenges=alphas).buses[0]
    want = _logup_by_hand(cols, alphas)
    # one response of 3 left over: its value 1/(a0 + a1 + 3*a2) is the final sum
    a0, a1, a2 = alphas[:3]
    assert want[-1] == pow((a0 + a1 + 3 * a2) % P, P - 2, P)
    assert not res.ok and res.final == want[-1] and [int(x) for x in res.column] == want
    assert [(u.side, dict(u.fields)["v"], u.count) for u in res.unmatched] == [("response", 3, 1)]


def signed_air() -> Air:
    """A wire bus as Miden's ACE writes it (chiplets/ace.md: a read is a multiplicity -f_eval): one response term
    per row, the wire (id w, value x) with multiplicity m - f, that is, written with fan-out m and read once where
    f = 1; a single term, both signs."""
    air = Air("wires", "signed LogUp multiplicities", budget=9)
    w, x, m, f = air.columns("main", ["w", "x", "m", "f"])
    air.bus(
        Bus(
            "wires",
            "logup",
            "b",
            (BusTerm("wire", "response", 1, (Message("wire", 1, (("id", w), ("x", x))),), multiplicity=m - f),),
            initial=sp.Integer(0),
            final=sp.Integer(0),
        )
    )
    return air


def _wire_trace(n: int) -> dict[str, np.ndarray]:
    """Rows 0-1 write wires 5 (x = 50, read twice) and 6 (x = 60, read once); rows 2-4 read them (m = 0, f = 1)."""
    cols = {k: np.zeros(n, dtype=np.uint64) for k in ("w", "x", "m", "f")}
    for i, (w, x, m, f) in enumerate([(5, 50, 2, 0), (6, 60, 1, 0), (5, 50, 0, 1), (6, 60, 0, 1), (5, 50, 0, 1)]):
        cols["w"][i], cols["x"][i], cols["m"][i], cols["f"][i] = w, x, m, f
    return cols


@pytest.mark.parametrize("jobs", [None, 1, 2])
def test_a_negative_multiplicity_is_a_request(jobs) -> None:
    """m - f = -1 on the read rows is the field element p - 1: a response of -1 is a request of 1. The sum is the
    one computed here with Python ints (0 when balanced); a read of a wire never written (row 5: wire 7) is reported
    as one unmatched request at its row, by the single pass and by the chunked check alike; a multiplicity of -(the
    bound + 1) is refused like a too large positive one."""
    from air.chunked import check_chunked
    from air.trace import TraceError

    air = signed_air()
    n = 16
    cols = _wire_trace(n)
    alphas = challenges_from_seed(air, 2)
    a0, a1, a2, a3 = alphas[:4]
    want = 0
    for i in range(n - 1):
        mult = (int(cols["m"][i]) - int(cols["f"][i])) % P
        d = (a0 + a1 + a2 * int(cols["w"][i]) + a3 * int(cols["x"][i])) % P
        want = (want + mult * pow(d, P - 2, P)) % P

    def run(c: dict[str, np.ndarray]):
        t = Trace(c, n)
        if jobs is None:  # the single pass: the bound is check_multiplicities' (air check runs it first)
            check_multiplicities(air, t)
            return check_buses(air, t, challenges=alphas).buses[0]
        return check_chunked(air, t, challenges=alphas, chunk_rows=4, jobs=jobs).buses.buses[0]

    res = run(cols)
    assert want == 0 and res.ok and res.final == 0 and res.messages == 6  # 3 written (2 + 1) and 3 read
    bad = {k: v.copy() for k, v in cols.items()}
    bad["w"][5], bad["x"][5], bad["f"][5] = 7, 70, 1
    res = run(bad)
    assert not res.ok
    assert [(u.side, dict(u.fields)["id"], u.row, u.count) for u in res.unmatched] == [("request", 7, 5, 1)]
    over = {k: v.copy() for k, v in cols.items()}
    over["f"][6] = (n - 1) * 1 + 1  # m - f = -(limit + 1), limit = (n - 1) * terms
    with pytest.raises(TraceError, match=r"term 'wire' has multiplicity -16 on row 6"):
        run(over)
