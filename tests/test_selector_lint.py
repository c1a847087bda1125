"""The selector lint (air-script #428): every group of ``Air.selector_groups`` binary and mutually exclusive.

Toy AIRs written here in Python (no parser); each expected witness is found by hand: assignments are enumerated
as a binary count with the group's first cell as the lowest bit, and the first one that shows a problem is named.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import sympy as sp

from air.air import Air
from air.lint import MAX_SELECTORS, check_selectors, lint, render


def two_bits() -> tuple[Air, sp.Expr, sp.Expr]:
    air = Air("sel", "selector groups", budget=4)
    b0, b1 = air.columns("main", ["b0", "b1"])
    air.transition("b0_binary", b0**2 - b0)
    air.transition("b1_binary", b1**2 - b1)
    return air, b0, b1


def test_a_full_decoding_of_two_bits_is_binary_and_exclusive() -> None:
    air, b0, b1 = two_bits()
    air.selector_groups["decode"] = [
        ("A", b0 * b1),
        ("B", b0 * (1 - b1)),
        ("C", (1 - b0) * b1),
        ("D", (1 - b0) * (1 - b1)),
    ]
    (g,) = check_selectors(air)
    # 2 cells: 4 assignments, each arm is 1 on exactly one of them
    assert g.ok and g.cells == ("b0", "b1") and g.assignments == 4 and g.excluded == 0
    assert lint(air).selector_problems == 0


def test_two_arms_that_can_both_be_on_are_named_with_the_assignment() -> None:
    air, b0, b1 = two_bits()
    air.selector_groups["m"] = [("ADD", b0), ("MUL", b1), ("NOP", (1 - b0) * (1 - b1))]
    (g,) = check_selectors(air)
    # ADD = b0 and MUL = b1 are both 1 at b0 = b1 = 1 (assignment 3, the first where both are nonzero);
    # NOP is 1 only at b0 = b1 = 0, where ADD and MUL are 0
    assert g.non_binary == ()
    assert g.overlaps == (("ADD", "MUL", (("b0", 1), ("b1", 1)), 1, 1),)
    text = render(lint(air))
    assert "ADD and MUL can both be on: 1 and 1 at b0=1, b1=1" in text


def test_a_selector_taking_another_value_than_0_or_1_is_named() -> None:
    air, b0, b1 = two_bits()
    # b0 + b1 is 2 at b0 = b1 = 1; 1 - b0 - b1 is -1 (p - 1) there, and 1 at (0, 0) where b0 + b1 is 0
    air.selector_groups["m"] = [("TWO", b0 + b1), ("NEG", 1 - b0 - b1)]
    (g,) = check_selectors(air)
    p = 2**64 - 2**32 + 1
    assert g.non_binary == (("TWO", (("b0", 1), ("b1", 1)), 2), ("NEG", (("b0", 1), ("b1", 1)), p - 1))
    # both nonzero first at b0 = b1 = 1 (at b0=1, b1=0: TWO = 1, NEG = 0)
    assert g.overlaps == (("TWO", "NEG", (("b0", 1), ("b1", 1)), 2, p - 1),)
    assert lint(air).selector_problems == 3


def test_assignments_a_constraint_over_the_same_cells_refuses_are_not_counted() -> None:
    air, b0, b1 = two_bits()
    e = air.column("main", "e")
    air.transition("e_def", e - b0 * b1)  # e is defined by the bits: only 4 of the 8 assignments occur
    air.selector_groups["m"] = [("P", e), ("Q", b0 * (1 - b1))]
    (g,) = check_selectors(air)
    # without e_def, e = 1, b0 = 1, b1 = 0 would make both 1; with it e = 1 only at b0 = b1 = 1, where Q = 0
    assert g.ok and g.assignments == 4 and g.excluded == 4
    air.constraints = [c for c in air.constraints if c.name != "e_def"]
    (g,) = check_selectors(air)
    assert g.assignments == 8 and g.overlaps == (("P", "Q", (("b0", 1), ("b1", 0), ("e", 1)), 1, 1),)


def test_next_row_cells_are_variables_of_their_own() -> None:
    air = Air("nx", "next-row selector", budget=4)
    (s,) = air.columns("main", ["s"])
    air.selector_groups["m"] = [("NOW", s), ("NEXT", s.next)]
    (g,) = check_selectors(air)
    assert g.cells == ("s", "s'") and g.overlaps == (("NOW", "NEXT", (("s", 1), ("s'", 1)), 1, 1),)


def test_too_many_columns_is_said_not_checked() -> None:
    air = Air("wide", "17 columns", budget=4)
    cols = air.columns("main", [f"c{i}" for i in range(MAX_SELECTORS + 1)])
    air.selector_groups["wide"] = [("ANY", sum(cols)), ("ONE", cols[0])]
    (g,) = check_selectors(air)
    assert g.not_checked.startswith(f"not checked: {MAX_SELECTORS + 1} columns") and g.ok
    assert f"selector group wide: not checked: {MAX_SELECTORS + 1} columns" in render(lint(air))


TOY = """
import sympy as sp
from air.air import Air


def build(overlap):
    air = Air("toy_match", "a match over two bits", budget=4)
    b0, b1, x = air.columns("main", ["b0", "b1", "x"])
    air.transition("b0_binary", b0**2 - b0)
    air.transition("b1_binary", b1**2 - b1)
    inc = air.operation("INC", b0 * (1 - b1))
    dbl = air.operation("DBL", b0 if overlap else (1 - b0) * b1)
    air.constrain("inc", body=x.next - x - 1, operation=inc)
    air.constrain("dbl", body=x.next - 2 * x, operation=dbl)
    air.selector_groups["toy.air:7 match"] = [("INC", inc.flag), ("DBL", dbl.flag)]
    return air


def good():
    return build(False)


def bad():
    return build(True)
"""


def test_cli_lint_exits_1_on_a_selector_problem(air_cli, tmp_path: Path) -> None:
    f = tmp_path / "toy_match.py"
    f.write_text(textwrap.dedent(TOY))
    code, out, _ = air_cli("lint", "--air", f"{f}:good")
    assert code == 0, out
    assert "selector group toy.air:7 match: 2 arm(s) over b0, b1: 4 assignment(s): ok" in out
    code, out, _ = air_cli("lint", "--air", f"{f}:bad", "--format", "json")
    assert code == 1, out
    (g,) = json.loads(out)["selector_groups"]
    # b0 = 1, b1 = 0: INC = 1*(1-0) = 1 and DBL = b0 = 1
    assert g["overlaps"] == [{"arms": ["INC", "DBL"], "assignment": {"b0": 1, "b1": 0}, "values": [1, 1]}]


def test_a_builtin_design_has_no_selector_groups(air_cli) -> None:
    code, out, _ = air_cli("lint", "--air", "fibonacci", "--format", "json")
    assert code == 0 and json.loads(out)["selector_groups"] == []


def test_periodic_columns_are_enumerated_over_their_cycle() -> None:
    air = Air("per", "periodic selectors", budget=4)
    (s,) = air.columns("main", ["s"])
    k0 = air.periodic_column("k0", [1, 0, 0, 0])
    k1 = air.periodic_column("k1", [1, 1, 1, 0, 1, 1, 1, 0])
    # FIRST = k0*s and REST = (1 - k0)*s never overlap (k0 is 0 or 1): exclusive. The group reads k0 alone (cycle
    # 4): s in {0, 1} at 4 positions, 8 assignments
    air.selector_groups["ok"] = [("FIRST", k0 * s), ("REST", (1 - k0) * s)]
    # k1*s and k0*s: both 1 at s = 1, position 0 (k0 = 1, k1 = 1), the first assignment (s = 1 comes after s = 0
    # at every position; assignments run position-fastest: s=0 at positions 0..7, then s=1 at 0..7)
    air.selector_groups["bad"] = [("K1", k1 * s), ("K0", k0 * s)]
    ok, bad = check_selectors(air)
    assert ok.ok and ok.assignments == 8 and ok.cells == ("s", "k0")
    # the bad group reads k0 and k1: lcm(4, 8) = 8 positions, 16 assignments
    assert bad.cells == ("s", "k0", "k1") and bad.assignments == 16
    assert bad.overlaps == (("K1", "K0", (("s", 1), ("k0", 1), ("k1", 1)), 1, 1),)


def test_a_public_input_in_a_selector_is_said_not_checked() -> None:
    air = Air("pub", "public selector", budget=4)
    (s,) = air.columns("main", ["s"])
    p = air.public_input("p")
    air.selector_groups["g"] = [("A", p * s), ("B", 1 - s)]
    (g,) = check_selectors(air)
    assert g.not_checked == "not checked: reads p" and g.ok
