"""``air lint``: planted holes in a small AIR are found from the definition alone (known by hand)."""

from __future__ import annotations

import sympy as sp

from air.air import Air
from air.lint import DocumentedOpen, lint, readers, render


def planted() -> Air:
    air = Air("planted", "holes on purpose", budget=4)
    s, a, b, junk, hb = air.columns("main", ["s", "a", "b", "junk", "hb"])
    inc = air.operation("INC", s)
    keep = air.operation("KEEP", 1 - s)
    air.operation("GHOST", s * (1 - s))  # zero on both valid rows of s: unreachable, no body
    air.transition("s_binary", s * s - s)
    air.constrain("inc", body=a.next - a - b, operation=inc)
    air.constrain("keep", body=a.next - a, operation=keep)
    # (s+1)^2 - s^2 - 2s - 1 is the zero polynomial, written unexpanded
    zero = sp.Add((s + 1) ** 2, -(s**2), -2 * s, -1, evaluate=False)
    air.constrain("dead", flag=zero, body=b - 7)
    air.constrain("never", flag=s * (1 - s), body=b - 3)  # not the zero polynomial, zero on s in {0, 1}
    air.transition("b_const", b.next - b)
    air.boundary("hb_first", hb)  # hb: read by a boundary only
    return air


def test_planted_holes() -> None:
    res = lint(planted())
    assert res.selectors == ["s"]
    assert res.unread == ["junk"]
    assert res.boundary_only == ["hb"]
    assert res.zero_flags == ["dead"]
    assert res.never_active == ["never"]
    assert res.unreachable_ops == ["GHOST"]
    assert res.no_body == ["GHOST"]
    # by hand: under INC the readers are s_binary (s), inc (a, a', b), b_const (b, b'): free = junk, hb;
    # under KEEP: s_binary, keep (a, a'), b_const: free = junk, hb
    assert res.free_under("INC") == ["junk", "hb"]
    assert res.free_under("KEEP") == ["junk", "hb"]
    assert "inc" in res.active["INC"] and "inc" not in res.active["KEEP"]
    assert "keep" in res.active["KEEP"] and "keep" not in res.active["INC"]


def test_removing_a_rule_frees_its_column_under_its_operation() -> None:
    air = planted()
    air.constraints = [c for c in air.constraints if c.name != "keep"]
    res = lint(air)
    assert res.free_under("KEEP") == ["a", "junk", "hb"]
    assert res.free_under("INC") == ["junk", "hb"]
    # GHOST and "(none)" have no valid selector row (s is 0 or 1): they free nothing, not everything
    assert res.free_ops()["a"] == ["KEEP"]


def test_documented_open_is_reported_apart() -> None:
    air = planted()
    air.constraints = [c for c in air.constraints if c.name != "keep"]
    doc = DocumentedOpen(("a",), ("KEEP",), "a is a don't-care on KEEP rows", "toy.md")
    res = lint(air, [doc])
    assert res.is_documented("a", "KEEP") is doc and res.is_documented("a", "INC") is None
    j = res.to_json()
    a = next(f for f in j["free"] if f["column"] == "a")
    assert a["documented"] == ["KEEP"] and "KEEP" not in a["gaps"]
    assert "documented open" in render(res)


def test_readers_split_current_and_next_cells() -> None:
    r = {x.name: x for x in readers(planted())}
    assert r["inc"].cur == {"s", "a", "b"} and r["inc"].nxt == {"a"}
    assert r["b_const"].flag is None and r["b_const"].nxt == {"b"}


def test_cli_lint_on_a_miden_design(air_cli) -> None:
    code, out, _ = air_cli("lint", "--air", "miden-v0.19", "--format", "json")
    assert code == 0
    import json

    doc = json.loads(out)
    assert doc["selectors"] == ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "e0", "e1"]
    assert doc["unread_columns"] == []
    # b1 (the overflow address) is written only by shifting operations (stack/index.md): free under NOOP
    b1 = next(f for f in doc["free"] if f["column"] == "stack_overflow_addr")
    assert "NOOP" in b1["operations"] and "DROP" not in b1["operations"]


def test_miden_documented_open_table() -> None:
    from air.miden.holes import documented_open
    from air.registry import load_air

    docs = documented_open(load_air("miden-v0.19"))

    def covered(col: str, op: str) -> bool:
        return any(d.covers(col, op) for d in docs)

    assert covered("h2", "ADD") and covered("h1", "PUSH") and covered("c1", "SPAN") and covered("h0", "HALT")
    assert not covered("h2", "JOIN")  # a control-flow row hashes h0..h7
    assert not covered("stack_overflow_addr", "NOOP")  # a gap, not a choice (holes.py docstring)
    assert all(d.source for d in docs)
