"""Degree analysis: hand-derived degrees, cancellation, claims, budget, refusals."""

import pytest
import sympy as sp

from air.air import Air, Bus, BusTerm, Message
from air.analysis import analyze, validate
from air.degree import NotPolynomialError, check_polynomial, exact_degree, explain, structural_degree
from air.symbols import Cell, Challenge


def test_hand_derived_degrees() -> None:
    x, y, z = Cell("x"), Cell("y"), Cell("z")
    a = Challenge("alpha_0")
    assert structural_degree(x * y * z.next) == 3
    assert structural_degree((x + 1) ** 3 * y) == 4
    assert structural_degree(a * x + a**5) == 1  # challenges are constants
    assert exact_degree(x * (1 - x)) == 2
    assert exact_degree(sp.Integer(5)) == 0


def test_cancellation_is_detected() -> None:
    b = [Cell(f"b{i}") for i in range(3)]
    # [b1] + [b1] over the same other bits: (1-b1) + b1 = 1, so the degree drops by one.
    f1 = b[2] * b[0] * b[1]
    f2 = b[2] * b[0] * (1 - b[1])
    assert structural_degree(f1 + f2) == 3
    assert exact_degree(f1 + f2) == 2
    x = Cell("x")
    assert exact_degree(x * x.next - x.next * x + x) == 1
    assert exact_degree((x + 1) ** 2 - x**2) == 1  # (x+1)^2 - x^2 = 2x + 1


def _small_air(claimed: int) -> Air:
    air = Air("toy", "toy", budget=3)
    b0, b1, x = air.columns("main", ["b0", "b1", "x"])
    op = air.operation("SQ", b0 * b1, 3)
    air.constrain("sq", body=x.next - x * x, operation=op, claimed_degree=claimed)
    air.transition("b0_bin", b0 * b0 - b0, claimed_degree=2)
    msg = Message("val", 7, (("x", x), ("x'", x.next)))
    air.bus(Bus("bus", "multiset", "p", (BusTerm("req", "request", op.flag, (msg, msg), ("m", "m"), "SQ"),)))
    return air


def test_flag_body_claims_budget_ops_and_bus_terms() -> None:
    a = analyze(_small_air(claimed=3))
    sq = a.constraint("sq")
    assert (sq.flag_degree, sq.body_degree, sq.degree) == (2, 2, 4)
    assert sq.over_budget and sq.claim_differs  # 4 > budget 3, claimed 3
    assert not a.constraint("b0_bin").claim_differs
    op = a.operation("SQ")
    # the op's highest item: the bus term 2 + 1 + 1 = 4, times the accumulator: 5
    assert (op.flag_degree, op.degree, op.body_degree, op.headroom) == (2, 5, 3, -2)
    assert op.constraints == ("bus:bus/req",)
    t = a.term("bus", "req")
    assert t.degree == 4 and [d for _, d in t.factors] == [1, 1]
    assert a.bus("bus").degree == 5
    assert "sq" in a.over_budget() and "bus:bus" in a.over_budget()


@pytest.mark.parametrize(
    "expr,needle",
    [
        (lambda g: 1 / g, "division by `gate`"),
        (lambda g: sp.sqrt(g), "non-integer power"),
        (lambda g: 1.5 * g, "float"),
        (lambda g: sp.sin(g), "function call"),
        (lambda g: g + sp.Symbol("mystery"), "undeclared symbol 'mystery'"),
    ],
)
def test_refusals_name_constraint_and_subexpression(expr, needle) -> None:
    air = Air("bad", "bad")
    (g,) = air.columns("main", ["gate"])
    air.transition("the_constraint", expr(g))
    with pytest.raises(NotPolynomialError) as e:
        validate(air)
    assert "the_constraint" in str(e.value) and needle in str(e.value)


def test_rational_constants_are_accepted() -> None:
    x = Cell("x")
    check_polynomial(x / 2 + sp.Rational(3, 4), "c")
    assert exact_degree(x / 2) == 1


def test_explain_adds_up() -> None:
    x, y = Cell("x"), Cell("y")
    step = explain(x * (y.next - y * x))
    assert step.degree == 3
    assert step.rule.startswith("product") and sorted(k.degree for k in step.children) == [1, 2]


def test_a_periodic_factor_counts_one() -> None:
    """A periodic column of cycle k raises the evaluation degree by (k-1)n/k (Winterfell's with_cycles): 1 each."""
    air = Air("per", "periodic", budget=9)
    (x,) = air.columns("main", ["x"])
    k = air.periodic_column("k", [1, 0, 0, 0])
    air.transition("gated", k * (x.next - x))  # 1 + 1
    air.transition("twice", k * k * x)  # 1 + 1 + 1
    air.transition("cancel", k * x - x * k + x)  # the k-terms cancel: 1
    got = {c.name: c.degree for c in analyze(air).constraints}
    assert got == {"gated": 2, "twice": 3, "cancel": 1}
    assert structural_degree(k * x) == 2
