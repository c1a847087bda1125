"""Every command validates a user's AIR the same way before using it: exit 2 with one line, never a
traceback, never a silent misevaluation."""

import json
from pathlib import Path

import pytest
import sympy as sp

from air.air import Air, AirDefinitionError
from air.compile import const_value, eval_int
from air.degree import NotPolynomialError, P, check_polynomial, degree_or_bound, exact_degree
from air.symbols import Cell

HEADER = """import sympy as sp
from air.air import Air, Bus, BusTerm, Message
from air.symbols import Cell
P = 2**64 - 2**32 + 1
"""


def user_air(tmp_path: Path, body: str, columns: str = '["x", "y", "z"]') -> str:
    src = tmp_path / "user_air.py"
    src.write_text(
        HEADER + "def make_air():\n"
        "    air = Air('u', 'a user AIR', budget=9, n_challenges=4)\n"
        f"    x, y, z = air.columns('main', {columns})\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + "    return air\n"
    )
    return f"{src}:make_air"


def trace(tmp_path: Path, rows: list[tuple[int, int, int]]) -> str:
    p = tmp_path / "t.csv"
    p.write_text("x,y,z\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return str(p)




ONES = [(1, 1, 4)] * 4  # x = y = 1, z = 4: every misevaluated case below used to pass on it

CASES = [
    ("float", 'air.transition("c", x - 1.5)', ["constraint 'c'", "a float", "1.5"]),
    ("float_coeff", 'air.transition("c", 0.5 * x)', ["constraint 'c'", "a float", "0.5"]),
    ("float_flag", 'op = air.operation("OP", 0.5 * x)\nair.constrain("c", body=y - 1, operation=op)', ["a float"]),
    (
        "float_field",
        "m = Message('m', 1, (('f', 0.5 * x),))\n"
        "air.bus(Bus('b', 'multiset', 'acc', (BusTerm('t', 'request', y, (m,)), BusTerm('s', 'response', y, (m,)))))",
        ["bus 'b' term 't' field 'f'", "a float"],
    ),
    ("symbolic_exponent", 'air.transition("c", 2**x - 2)', ["constraint 'c'", "non-integer power", "`2**x`"]),
    ("minus_oo", 'air.transition("c", x - sp.oo)', ["constraint 'c'", "not a field element", "`-oo`"]),
    ("nan", 'air.transition("c", x * sp.nan)', ["constraint 'c'", "not a field element", "`nan`"]),
    ("zoo", 'air.transition("c", x + sp.zoo)', ["constraint 'c'", "`zoo`"]),
    ("no_inverse", 'air.transition("c", sp.Rational(1, P) * x)', ["constraint 'c'", "no inverse mod p"]),
    (
        "division",
        'air.transition("c", sp.Mul(x, 1 / x, evaluate=False) - 1)',
        ["constraint 'c'", "division by `x`", "`1/x`"],
    ),
    ("zero_constraint", 'air.transition("c", x * (1 / x) - 1)', ["constraint 'c' is identically 0"]),
    ("sqrt_boundary", 'air.boundary("c", sp.sqrt(z) - 1)', ["constraint 'c'", "non-integer power", "`sqrt(z)`"]),
    ("abs", 'air.transition("c", sp.Abs(x) - 1)', ["constraint 'c'", "function call", "Abs(x)"]),
    ("undeclared_symbol", 'air.transition("c", x - sp.Symbol("w"))', ["constraint 'c'", "undeclared symbol 'w'"]),
    ("undeclared_cell", 'air.transition("c", x - Cell("w"))', ["constraint 'c'", "Cell 'w' is not declared"]),
    ("bad_bus_kind", "air.bus(Bus('b', 'weird', 'acc', ()))", ["kind 'weird' is not one of multiset, logup"]),
    ("no_messages", "air.bus(Bus('b', 'multiset', 'acc', (BusTerm('t', 'request', x, ()),)))", ["'t' has no messages"]),
    ("raises", "air.transition('c', x - 1)\nraise KeyError('boom')", ["building the AIR raised KeyError: 'boom' at "]),
]


@pytest.mark.parametrize("name,body,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_air_is_exit_2_one_line_in_degrees_and_check(tmp_path, air_cli, name, body, needles) -> None:
    spec = user_air(tmp_path, body)
    t = trace(tmp_path, ONES)
    for args in (["degrees", "--air", spec], ["check", t, "--air", spec]):
        code, out, err = air_cli(*args)
        assert code == 2 and out == "", (args, code, out, err)
        assert err.count("\n") == 1 and err.startswith("air: error: ") and "Traceback" not in err
        for needle in needles:
            assert needle in err, (needle, err)


def test_builder_error_names_the_users_line(tmp_path, air_cli) -> None:
    spec = user_air(tmp_path, "air.transition('c', x - 1)\nraise KeyError('boom')")
    code, _, err = air_cli("degrees", "--air", spec)
    src = spec.rsplit(":", 1)[0]
    line = next(i for i, t in enumerate(Path(src).read_text().splitlines(), 1) if "raise KeyError" in t)
    assert code == 2 and f"{src}:{line}" in err
    # an error raised inside the engine (a column declared twice) names the user's line that called it
    spec = user_air(tmp_path, "air.column('main', 'x')")
    code, _, err = air_cli("degrees", "--air", spec)
    line = next(i for i, t in enumerate(Path(src).read_text().splitlines(), 1) if "air.column(" in t)
    assert code == 2 and "ValueError" in err and "declared twice" in err and f"{src}:{line}" in err


def test_builder_exiting_is_refused(tmp_path, air_cli) -> None:
    spec = user_air(tmp_path, "import sys\nsys.exit(0)")
    code, _, err = air_cli("degrees", "--air", spec)
    assert code == 2 and "raised SystemExit" in err and err.count("\n") == 1


def test_class_instead_of_instance(tmp_path, air_cli) -> None:
    src = tmp_path / "cls.py"
    src.write_text("from air.air import Air\nclass MyAir(Air):\n    pass\n")
    code, _, err = air_cli("degrees", "--air", f"{src}:MyAir")
    assert code == 2 and "is the class MyAir, not an Air" in err and err.count("\n") == 1
    code, _, err = air_cli("degrees", "--air", f"{src}:Air")
    assert code == 2 and "is the class Air" in err


def test_column_names_must_be_identifiers(tmp_path, air_cli) -> None:
    spec = user_air(tmp_path, "", columns='["x\'", "y", "z"]')
    for args in (["degrees", "--air", spec], ["check", trace(tmp_path, ONES), "--air", spec]):
        code, _, err = air_cli(*args)
        assert code == 2 and 'column name "x\'" is not an identifier' in err and err.count("\n") == 1
    with pytest.raises(AirDefinitionError):
        Air("a", "a").column("main", "a b")


@pytest.mark.parametrize(
    "args",
    [
        ["airs", "--columns", "{spec}"],
        ["compare", "fibonacci", "{spec}"],
        ["explain", "c", "--air", "{spec}"],
        ["gate", "--air", "{spec}", "--baseline", "reports/degrees-fibonacci.json"],
    ],
)
def test_every_command_validates(tmp_path, air_cli, args) -> None:
    spec = user_air(tmp_path, 'air.transition("c", x - 1.5)')
    code, out, err = air_cli(*[a.format(spec=spec) for a in args])
    assert code == 2 and err.count("\n") == 1 and "constraint 'c'" in err and "a float" in err


def test_logup_multiplicity_is_bounded(tmp_path, air_cli) -> None:
    spec = user_air(
        tmp_path,
        "m = Message('m', None, (('x', x),))\n"
        "air.bus(Bus('b', 'logup', 'acc', (BusTerm('t', 'request', y, (m,), multiplicity=sp.Integer(2**40)),"
        " BusTerm('s', 'response', y, (m,)))))",
    )
    assert air_cli("degrees", "--air", spec)[0] == 0  # a polynomial: its degrees are fine
    code, out, err = air_cli("check", trace(tmp_path, ONES), "--air", spec)
    assert code == 2 and err.count("\n") == 1 and "term 't' has multiplicity 1099511627776 on row 0" in err


def test_logup_honest_multiplicities_still_balance(tmp_path, air_cli) -> None:
    spec = user_air(
        tmp_path,
        "m = Message('m', None, (('x', x),))\n"
        "air.bus(Bus('b', 'logup', 'acc', (BusTerm('t', 'request', y, (m,)),"
        " BusTerm('s', 'response', 1 - y, (m,), multiplicity=z)), initial=0, final=0))",
    )
    code, out, err = air_cli("check", trace(tmp_path, [(7, 1, 0)] * 3 + [(7, 0, 3)]), "--air", spec)
    assert code == 1 and "unmatched" in out  # 3 requests of 7; the response row is the last (no transition)
    code, out, err = air_cli("check", trace(tmp_path, [(7, 0, 2), (7, 1, 0), (7, 1, 0), (0, 0, 0)]), "--air", spec)
    assert code == 0, out + err


def test_exact_degree_work_limit_falls_back_with_a_note(tmp_path, air_cli) -> None:
    x, y, z = Cell("x"), Cell("y"), Cell("z")
    assert degree_or_bound((x + y + z + 1) ** 60 - (x + y + z + 2) ** 60) == (60, False)
    assert degree_or_bound((x + 1) ** 3 - x**3) == (2, True)
    spec = user_air(tmp_path, 'air.transition("c", (x + y + z + 1)**60 - (x + y + z + 2)**60)')
    code, out, err = air_cli("degrees", "--air", spec)
    assert code == 0 and "note: constraint c: the exact degree was not computed" in out
    doc = json.loads(air_cli("degrees", "--air", spec, "--format", "json")[1])
    assert doc["constraints"][0]["degree"] == 60 and "exact degree was not computed" in doc["notes"][0]
    # the built-in reports carry no such note
    assert "notes" not in json.loads(air_cli("degrees", "--air", "miden-v0.19", "--format", "json")[1])


def test_rationals_are_field_inverses_consistently(tmp_path, air_cli) -> None:
    """x/2 is allowed (the inverse of 2); the degree analysis and both evaluators agree on it."""
    x = Cell("x")
    check_polynomial(x / 2 - 1, "c")
    assert exact_degree(x / 2 - 1) == 1 and eval_int(x / 2 - 1, {"x": 2}) == 0
    spec = user_air(tmp_path, 'air.transition("c", x / 2 - 1)')
    assert air_cli("check", trace(tmp_path, [(2, 0, 0)] * 4), "--air", spec)[0] == 0
    code, out, _ = air_cli("check", trace(tmp_path, [(2, 0, 0), (3, 0, 0), (2, 0, 0), (2, 0, 0)]), "--air", spec)
    assert code == 1 and "row 1" in out


def test_engine_never_rounds() -> None:
    with pytest.raises(NotPolynomialError):
        const_value(sp.Float(1.5))
    with pytest.raises(NotPolynomialError, match="no inverse"):
        const_value(sp.Rational(1, P))
    with pytest.raises(NotPolynomialError, match="no inverse"):
        check_polynomial(sp.Rational(3, 2 * P) * Cell("x"), "c")
    assert const_value(sp.Pow(2, -1, evaluate=False)) == (P + 1) // 2
    with pytest.raises(NotPolynomialError):
        check_polynomial(sp.Pow(P, -1, evaluate=False) * Cell("x"), "c")
