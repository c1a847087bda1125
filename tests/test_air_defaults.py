"""A generic ``Air`` carries no Miden defaults: no degree budget unless given (and the reports say so), and as
many challenges as its longest bus message needs; the Miden designs get 9 and 16 from the Miden builder."""

from __future__ import annotations

from air.air import Air, Bus, BusTerm, Message
from air.analysis import analyze
from air.gate import baseline_of, compare_to_baseline
from air.miden.builder import MIDEN_BUDGET, MIDEN_CHALLENGES
from air.report import degree_table


def _generic(**kw) -> Air:
    air = Air("generic", "no Miden here", **kw)
    a, b, c = air.columns("main", ["a", "b", "c"])
    air.transition("high", a**11 - b)  # degree 11: over Miden's 9, but this AIR has no budget
    air.bus(Bus("B", "multiset", "p", (BusTerm("t", "request", a, (Message("m", 7, (("b", b), ("c", c))),)),)))
    return air


def test_no_budget_unless_given() -> None:
    air = _generic()
    assert air.budget is None
    an = analyze(air)
    assert an.max_degree == 11 and an.over_budget() == [] and an.operations == []
    text = degree_table(an)
    assert "no budget declared" in text and "OVER BUDGET" not in text
    base = baseline_of(an)
    assert base["budget"] is None
    assert compare_to_baseline(an, base) == []  # gated against its baseline only
    lower = {**base, "constraints": {"high": 10}}
    rose = compare_to_baseline(an, lower)
    assert [str(r) for r in rose if r.kind == "constraint"] == ["constraint high: degree rose 10 -> 11 (+1)"]
    assert analyze(_generic(budget=10)).over_budget() == ["high"]


def test_challenges_as_many_as_the_longest_message_needs() -> None:
    air = _generic()
    # alpha_0 + alpha_1 * label + alpha_2 * b + alpha_3 * c
    assert [c.name for c in air.challenges] == ["alpha_0", "alpha_1", "alpha_2", "alpha_3"]
    assert len(_generic(n_challenges=6).challenges) == 6
    bare = Air("bare", "no bus")
    bare.column("main", "x")
    assert bare.challenges == []


def test_miden_designs_take_their_budget_and_challenges_from_the_builder(miden_airs) -> None:
    # docs/src/design/index.md: "The maximum allowed constraint degree in Miden VM is 9"
    assert MIDEN_BUDGET == 9 and MIDEN_CHALLENGES == 16
    for air in miden_airs.values():
        assert air.budget == MIDEN_BUDGET and len(air.challenges) == MIDEN_CHALLENGES
