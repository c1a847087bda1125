"""``air probe``: a planted hole is named exactly; with none, every constrained cell change is caught.

The toy AIR (written here, known by hand): a selector ``s`` picks INC (``a' = a + b``) or KEEP (``a' = a``);
``b`` is constant (``b' = b``, ``b = 1`` on the first row); ``s`` is binary, follows a periodic schedule and
is 0 on the last row; ``c`` is 0 (on the last row by a boundary: no transition row reads it there). With the
KEEP rule removed, ``a`` on a KEEP row whose previous row is also KEEP (or row 0) is read by no constraint:
the probe must name exactly (a, KEEP), structural.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from air.air import Air, Bus, BusTerm, Message
from air.buscheck import check_buses
from air.evaluate import check
from air.field import P
from air.probe import Mutation, apply, caught_mutations, probe
from air.trace import Trace
from tests.toy_airs import S_BUS, S, toy, toy_trace  # noqa: F401 (the CLI loads tests/test_probe.py:toy)


def test_toy_trace_is_honest() -> None:
    assert check(toy(), toy_trace()).ok
    assert check(toy(with_keep=False), toy_trace()).ok


def test_planted_hole_is_named_exactly() -> None:
    air = toy(with_keep=False)
    res = probe(air, toy_trace(), samples=16, seed=3)
    surv = [(p.column, p.operation) for p in res.survivors]
    assert surv == [("a", "KEEP")]
    p = res.survivors[0]
    assert p.structural
    ex = p.example
    assert ex is not None and ex.column == "a"
    # by hand: a survivor sits on a KEEP row whose previous row is KEEP too (or row 0), never after INC
    assert S[ex.row] == 0 and (ex.row == 0 or S[ex.row - 1] == 0)


def test_no_hole_full_kill() -> None:
    res = probe(toy(), toy_trace(), samples=16, seed=5)
    assert res.total > 0 and res.caught == res.total, res.summary()
    assert not res.survivors
    # every (column, operation) of the trace was probed
    assert {(p.column, p.operation) for p in res.pairs} == {(c, o) for c in "sabc" for o in ("INC", "KEEP")}


def test_restricting_to_a_column_and_operation() -> None:
    res = probe(toy(with_keep=False), toy_trace(), samples=4, column="a", operation="INC")
    assert {(p.column, p.operation) for p in res.pairs} == {("a", "INC")}
    assert res.caught == res.total == 4
    with pytest.raises(KeyError):
        probe(toy(), toy_trace(), column="nope")


def _naive(air: Air, trace: Trace, m: Mutation) -> bool:
    """A full check of the mutated trace (constraints, then the bus balance): the independent answer."""
    t = apply(trace, m)
    if not check(air, t).ok:
        return True
    return bool(air.buses) and not check_buses(air, t, seed=11).ok


def test_windowed_verdicts_agree_with_full_checks_including_the_bus() -> None:
    air = toy(bus=True)
    trace = toy_trace(bus=True)
    assert check(air, trace).ok and check_buses(air, trace).ok
    rng = np.random.default_rng(0)
    muts = []
    for col in "sabc":
        data = trace.columns[col]
        for r in range(trace.n_rows):
            old = int(data[r])
            muts.append(Mutation(col, r, "random", old, int(rng.integers(0, P - 1, dtype=np.uint64)), ""))
            muts.append(Mutation(col, r, "plus1", old, (old + 1) % P, ""))
            if r + 1 < trace.n_rows and int(data[r + 1]) != old:
                muts.append(Mutation(col, r, "swap", old, int(data[r + 1]), ""))
    v = caught_mutations(air, trace, muts, seed=11)
    caught, killer = v.caught, v.killer
    assert v.baseline_failures == 0
    want = [_naive(air, trace, m) for m in muts]
    assert caught.tolist() == want
    # the bus is the only reader of c: c's catches are the bus's
    c_kill = {k for m, k, ok in zip(muts, killer, caught.tolist()) if m.column == "c" and ok}
    assert c_kill == {"bus:vals"}
    # and c on the last row (no transition row reads it, the bus stops at row n-2) survives
    last = [ok for m, ok in zip(muts, caught.tolist()) if m.column == "c" and m.row == trace.n_rows - 1]
    assert last and not any(last)
    # ... and no reader was active on it there (flags evaluated); survivors elsewhere were read
    surv_read = {(m.column, m.row): bool(r) for m, r, ok in zip(muts, v.read.tolist(), caught.tolist()) if not ok}
    assert surv_read[("c", trace.n_rows - 1)] is False
    assert not v.masked.any()


def test_cli_probe_on_a_scenario_trace(air_cli) -> None:
    import json


    meta = json.load(open("traces/caller/miden-v0.19.npz.json"))
    only = ",".join(meta["filled_families"])
    args = ["probe", "traces/caller/miden-v0.19.npz", "--only", only, "--samples", "1", "--column", "s0"]
    code, out, _ = air_cli(*args, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["mutations"] == sum(p["total"] for p in doc["pairs"]) > 0
    assert all(p["column"] == "s0" for p in doc["pairs"])
    # s0 (the top of the stack) is read by every operation's shift rule: nothing about it is structural
    assert all(p.get("reason") != "structural" for p in doc["pairs"])
    code, _, err = air_cli(*args[:2], "--column", "nope")
    assert code == 2 and "nope" in err


def toy_hole() -> Air:
    """The toy AIR with KEEP's rule removed (for ``--air tests/test_probe.py:toy_hole``)."""
    return toy(with_keep=False)


def test_cli_fail_on_survivor(air_cli, tmp_path) -> None:
    from air.trace import save_trace

    p = tmp_path / "toy.npz"
    save_trace(p, toy_trace().columns)
    base = ["probe", str(p), "--samples", "16", "--fail-on-survivor"]
    code, out, _ = air_cli(*base, "--air", "tests/test_probe.py:toy")
    assert code == 0 and "0 surviving" in out
    code, out, _ = air_cli(*base, "--air", "tests/test_probe.py:toy_hole")
    assert code == 1
    assert out.splitlines()[2].split()[:2] == ["a", "KEEP"] and "structural" in out
    code, out, _ = air_cli("probe", str(p), "--air", "tests/test_probe.py:toy_hole", "--samples", "16")
    assert code == 0  # survivors are findings, not a failed check, without --fail-on-survivor


def test_windowed_verdicts_agree_on_a_logup_bus() -> None:
    """A LogUp lookup (requests of c on s = 1 rows, a table v with multiplicities m): the windowed sum
    difference must give the verdicts of a full bus balance, cell by cell."""
    air = Air("lookup", "LogUp toy", budget=3)
    s, c, v, m = air.columns("main", ["s", "c", "v", "m"])
    air.transition("s_binary", s * s - s)
    air.bus(
        Bus(
            "lk",
            "logup",
            "q",
            (
                BusTerm("req", "request", s, (Message("c", None, (("x", c),)),)),
                BusTerm("resp", "response", sp.Integer(1), (Message("v", None, (("x", v),)),), multiplicity=m),
            ),
            initial=sp.Integer(0),
            final=sp.Integer(0),
        )
    )
    n = 16
    sel = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0]
    cv = [3, 0, 5, 3, 0, 7, 0, 0, 5, 3, 0, 9, 0, 5, 0, 0]
    table = [3, 5, 7, 9] + [11] * (n - 4)
    counts = [sum(1 for i in range(n - 1) if sel[i] and cv[i] == t) for t in table[:4]] + [0] * (n - 4)
    trace = Trace({k: np.array(x, dtype=np.uint64) for k, x in (("s", sel), ("c", cv), ("v", table), ("m", counts))}, n)
    assert check_buses(air, trace, seed=5).ok
    muts = []
    for col in "scvm":
        data = trace.columns[col]
        for r in range(n):
            old = int(data[r])
            muts.append(Mutation(col, r, "plus1", old, (old + 1) % P, ""))
            if r + 1 < n and int(data[r + 1]) != old:
                muts.append(Mutation(col, r, "swap", old, int(data[r + 1]), ""))
    got = caught_mutations(air, trace, muts, seed=5).caught.tolist()
    assert got == [_naive(air, trace, mu) for mu in muts]
    assert any(got) and not all(got)  # e.g. c on a row with s = 0 is free, and a swap of equal-value rows
