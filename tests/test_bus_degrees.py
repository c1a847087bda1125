"""A bus term's own degree and its bus constraint's degree are named apart and derived from the constraint
actually formed (hand-derived below); `degrees`, `explain` and `gate` agree; a plain integer flag is accepted or
refused alike by every command; the bus polynomial the degree analyzer reads is the one the checker balances."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from air.air import Air, AirDefinitionError, Bus, BusTerm, Message
from air.analysis import analyze
from air.bus import bus_constraint, bus_degree
from air.buscheck import challenges_from_seed, check_buses
from air.compile import eval_int
from air.degree import structural_degree
from air.evaluate import row_env
from air.gate import compare_to_baseline
from air.trace import Trace, save_trace

P = 2**64 - 2**32 + 1


def two_bus_air(budget: int = 9) -> Air:
    """LogUp bus L: r1 (flag a, message a*b: denominator degree 2), r2 (flag a*b*c, message c: degree 1),
    s (response, multiplicity m, message a*b*c: degree 3). Multiset bus M: u (flag a, messages b and c)."""
    air = Air("two-bus", "a LogUp and a multiset bus", budget=budget, n_challenges=4)
    a, b, c, m = air.columns("main", ["a", "b", "c", "m"])
    air.transition("a_bin", a * (a - 1))
    air.bus(
        Bus(
            "L",
            "logup",
            "pl",
            (
                BusTerm("r1", "request", a, (Message("x", 1, (("v", a * b),)),)),
                BusTerm("r2", "request", a * b * c, (Message("y", 2, (("v", c),)),)),
                BusTerm("s", "response", sp.Integer(1), (Message("z", 3, (("v", a * b * c),)),), multiplicity=m),
            ),
            initial=sp.Integer(0),
            final=sp.Integer(0),
        )
    )
    air.bus(
        Bus(
            "M",
            "multiset",
            "pm",
            (BusTerm("u", "request", a, (Message("p", 4, (("v", b),)), Message("q", 5, (("v", c),)))),),
        )
    )
    return air


def test_term_and_constraint_degrees_by_hand() -> None:
    an = analyze(two_bus_air())
    # LogUp, cleared: (pl' - pl) * d1*d2*d3 - (-a*d2*d3 - abc*d1*d3 + m*d1*d2), degrees d = 2, 1, 3 (sum 6)
    # accumulator part 1 + 6 = 7; r1: 1 + (6 - 2) = 5; r2: 3 + (6 - 1) = 8; s: 1 + (6 - 3) = 4
    L = an.bus("L")
    assert {t.name: (t.degree, t.constraint_degree) for t in L.terms} == {"r1": (3, 5), "r2": (4, 8), "s": (4, 4)}
    assert L.degree == 8
    # multiset: pm' * (a*p*q + 1 - a) - pm: the term's own degree 1 + 1 + 1 = 3, in the constraint 4
    M = an.bus("M")
    assert [(t.degree, t.constraint_degree) for t in M.terms] == [(3, 4)] and M.degree == 4
    air = two_bus_air()
    for b in air.buses:  # the degree read from the polynomial the checker and evaluator form
        assert structural_degree(bus_constraint(air, b)) == bus_degree(air, b)
    # with a budget of 7 the LogUp term r2 (own degree 4) is over budget through its constraint degree 8
    assert "bus:L/r2" in analyze(two_bus_air(budget=7)).over_budget()
    assert "bus:L/r1" not in analyze(two_bus_air(budget=7)).over_budget()


def test_builtin_bus_degrees_are_their_polynomials(miden_airs) -> None:
    for air in miden_airs.values():
        for b in air.buses:
            assert structural_degree(bus_constraint(air, b)) == bus_degree(air, b), (air.name, b.name)


def test_degrees_explain_and_json_agree(air_cli) -> None:
    spec = f"{Path(__file__)}:two_bus_air"
    code, out, _ = air_cli("degrees", "--by", "bus", "--format", "json", "--air", spec)
    assert code == 0
    doc = {b["name"]: b for b in json.loads(out)["buses"]}
    terms = {t["name"]: t for t in doc["L"]["terms"]}
    assert (terms["r2"]["degree"], terms["r2"]["constraint_degree"]) == (4, 8)
    assert doc["L"]["constraint_degree"] == doc["L"]["degree"] == 8
    code, out, _ = air_cli("explain", "L", "--air", spec)
    assert code == 0 and "bus constraint degree 8 = max(7 " in out
    assert re.search(r"r2: term degree 4 = flag 3 \+ y\(1\); in the bus constraint 8", out)
    code, out, _ = air_cli("explain", "L/r2", "--air", spec)
    assert code == 0 and "= term degree 4" in out and "bus constraint degree 8 for this term" in out
    code, out, _ = air_cli("explain", "M/u", "--air", spec)
    assert code == 0 and "= term degree 3" in out and "bus constraint degree 4 for this term" in out
    code, out, _ = air_cli("degrees", "--by", "bus", "--air", spec)
    header = out.splitlines()[1]
    assert "term degree" in header and "constraint degree" in header
    code, out, _ = air_cli("compare", spec, "--format", "json")
    (doc,) = json.loads(out)["airs"]
    assert doc["bus_terms"]["L/r2"] == 4 and doc["bus_term_constraint_degrees"]["L/r2"] == 8
    assert doc["buses"]["L"] == 8


def test_gate_names_term_and_constraint_degree() -> None:
    an = analyze(two_bus_air(budget=3))  # the multiset term u: own degree 3 = budget, constraint degree 4
    msgs = [str(r) for r in compare_to_baseline(an, {"constraints": {}})]
    new = "; not in the baseline: review it and run `air gate --update` to accept"
    assert f"bus term M/u: new, term degree 3 (bus constraint degree 4), over the budget 3{new}" in msgs
    assert f"bus M: new, bus constraint degree 4, over the budget 3{new}" in msgs
    for m in msgs:  # never "degree 3 ..., over the budget 3" for the term's own degree alone
        d = re.search(r"degree (\d+), over the budget (\d+)", m)
        assert d is None or int(d.group(1)) > int(d.group(2)), m
    # an item already in the baseline that crosses the budget names both degrees too
    base = {"constraints": {}, "bus_terms": {"M/u": 2}, "buses": {"M": 3}}
    rose = [str(r) for r in compare_to_baseline(an, base) if r.name == "M/u"]
    assert rose == ["bus term M/u: term degree rose 2 -> 3 (+1) (bus constraint degree 4), over the budget 3"]


FLAG_AIR = """
import sympy as sp
from air.air import Air, Bus, BusTerm, Message

def make(kind, flag, multiplicity=None):
    def build():
        air = Air("flags", "integer flags", budget=4, n_challenges=3)
        a, b = air.columns("main", ["a", "b"])
        air.transition("a_zero", a)
        end = sp.Integer(0 if kind == "logup" else 1)
        terms = tuple(BusTerm(n, side, flag, (Message("m", 1, (("x", b),)),), multiplicity=multiplicity)
                      for n, side in (("req", "request"), ("resp", "response")))
        air.bus(Bus("B", kind, "pb", terms, initial=end, final=end))
        return air
    return build

ms_one = make("multiset", 1)
ms_np_one = make("multiset", __import__("numpy").int64(1))
ms_two = make("multiset", 2)
ms_true = make("multiset", True)
lu_one = make("logup", 1)
lu_two = make("logup", 1, 2)
lu_half = make("logup", 1, sp.Rational(1, 2))
lu_neg = make("logup", -1)
"""


@pytest.mark.parametrize(
    "obj, refused",
    [
        ("ms_one", None),
        ("ms_np_one", None),
        ("ms_two", "the constant flag 2 is neither 0 nor 1"),
        ("ms_true", "flag True is not an expression nor an integer"),
        ("lu_one", None),
        ("lu_two", None),
        ("lu_half", "the constant multiplicity 1/2 is not a count"),
        ("lu_neg", "the constant multiplicity -1 is not a count"),
    ],
)
def test_integer_flag_same_answer_from_every_command(air_cli, tmp_path: Path, obj: str, refused: str | None) -> None:
    src = tmp_path / "flags.py"
    src.write_text(FLAG_AIR)
    n = 8
    cols = {"a": np.zeros(n, dtype=np.uint64), "b": np.arange(n, dtype=np.uint64)}
    trace = save_trace(tmp_path / "t.npz", cols, {}, {})
    spec = f"{src}:{obj}"
    commands = [
        ("degrees", "--by", "bus", "--air", spec),
        ("explain", "B", "--air", spec),
        ("explain", "B/req", "--air", spec),
        ("check", str(trace), "--air", spec),
        ("gate", "--air", spec, "--baseline", str(tmp_path / "b.json"), "--update"),
    ]
    for args in commands:
        code, out, err = air_cli(*args)
        if refused is None:
            assert code == 0, (args, out, err)
        else:
            assert code == 2 and refused in err and len(err.strip().splitlines()) == 1, (args, err)


def test_multiset_term_has_no_multiplicity() -> None:
    with pytest.raises(AirDefinitionError, match="a multiplicity is for LogUp buses"):
        Bus("B", "multiset", "p", (BusTerm("t", "request", 1, (Message("m", 1, ()),), multiplicity=2),))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_checker_accumulator_satisfies_the_analyzed_bus_polynomial(seed: int) -> None:
    """On random traces (flags not binary, multiplicities any field element) the accumulator the checker builds
    makes the very polynomial the degree analyzer reads vanish on every transition row, term by term as the
    polynomial has them: for both bus kinds."""
    air = two_bus_air()
    n = 16
    rng = np.random.default_rng(seed)
    cols = {c: rng.integers(0, P, size=n, dtype=np.uint64) for c in air.column_names}
    cols["m"] = rng.integers(0, 3, size=n, dtype=np.uint64)  # a LogUp multiplicity counts messages
    trace = Trace(cols, n)
    alphas = challenges_from_seed(air, seed)
    rep = check_buses(air, trace, challenges=alphas)
    ch = {c.name: v for c, v in zip(air.challenges, alphas)}
    for b, res in zip(air.buses, rep.buses):
        poly = bus_constraint(air, b)
        acc = res.column
        assert acc is not None and len(acc) == n
        for i in range(n - 1):
            env = row_env(air, trace, i, ch) | {b.column: int(acc[i]), b.column + "'": int(acc[i + 1])}
            assert eval_int(poly, env) == 0, (b.name, i)
        # and a different accumulator value does not (the tie is not vacuous)
        env = row_env(air, trace, 0, ch) | {b.column: int(acc[0]), b.column + "'": (int(acc[1]) + 1) % P}
        assert eval_int(poly, env) != 0
