"""Reports that mean what they say (issue 12): explain by operation, every claim difference, check output
in row order with the first failing row, small negatives, --hex, fitted columns, what OK does not cover,
generic words for generic AIRs, bounded JSON, SARIF at the definition, --version, NO_COLOR, --force,
no silent default AIR, --air module:OBJ from the current directory.

Known answers are derived by hand from the examples' definitions and the Miden docs cited per test.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from air.examples.fibonacci import fibonacci_trace
from air.examples.stack_machine import OPCODES, stack_machine_trace
from air.registry import load_air
from air.trace import save_trace

P = 2**64 - 2**32 + 1


def one_line_error(code: int, out: str, err: str) -> bool:
    return code == 2 and out == "" and err.count("\n") == 1 and err.startswith("air: error: ")


def fib_broken(tmp_path: Path, meta: dict | None = None) -> Path:
    """Fibonacci with b[5] raised by 1: fib_b fails on rows 4 (b5 != a4 + b4) and 5 (b6 != a5 + b5),
    fib_a on row 5 (a6 = old b5 = b5 - 1, so a6 - b5 = -1)."""
    cols, pis = fibonacci_trace(16)
    cols["b"][5] = (int(cols["b"][5]) + 1) % P
    return save_trace(tmp_path / "fib_bad.npz", cols, pis, meta or {})


# ------------------------------------------------------------------------------------------ explain
def test_explain_an_operation_of_the_stack_machine(air_cli) -> None:
    """ADD (opcode 1) is a deg7 flag: 6 opcode-bit literals and (1 - op6); its 5 rules (s0..s3, depth)
    have bodies of degree 1, so each is 7 + 1 = 8, headroom 9 - 8 = 1."""
    code, out, _ = air_cli("explain", "ADD", "--air", "stack-machine")
    assert code == 0
    assert out.startswith("operation ADD (opcode 1)")
    assert "flag f_add: degree 7" in out
    assert "constraints gated by ADD: 5" in out
    assert "ADD_s0 (transition): flag 7 + body 1 = degree 8" in out
    assert "operation degree 8 (budget 9, headroom 1)" in out
    # a name differing in case only is the same operation
    assert air_cli("explain", "add", "--air", "stack-machine")[1] == out


def test_explain_dyncall(air_cli) -> None:
    """DYNCALL is opcode 92 with a degree-5 flag (v0.19 docs/src/design/stack/op_constraints.md, the
    opcode table); ctx' = clk + 1 under it is 5 + 1 = 6. Its terms are named with their bus."""
    code, out, _ = air_cli("explain", "DYNCALL", "--air", "miden-v0.19")
    assert code == 0 and out.startswith("operation DYNCALL (opcode 92)")
    assert "flag f_dyncall: degree 5" in out
    assert "ctx_call (transition): flag 5 + body 1 = degree 6" in out
    assert "chiplets/u_dyncall (request)" in out
    # explain and degrees --by op agree on the operation's degree
    _, js, _ = air_cli("degrees", "--air", "miden-v0.19", "--by", "op", "--format", "json")
    deg = next(o for o in json.loads(js)["operations"] if o["name"] == "DYNCALL")["degree"]
    assert f"operation degree {deg} (budget 9, headroom {9 - deg})" in out


@pytest.mark.parametrize(
    "air,typo,near",
    [("miden-v0.19", "DYNCAL", "DYNCALL"), ("fibonacci", "fib_c", "fib_a"), ("stack-machine", "ad_s0", "ADD_s0")],
)
def test_explain_suggests_near_names(air_cli, air, typo, near) -> None:
    code, out, err = air_cli("explain", typo, "--air", air)
    assert one_line_error(code, out, err) and f"no constraint, operation, bus or bus term named {typo!r}" in err
    assert "did you mean" in err and near in err.split("did you mean", 1)[1]


# ------------------------------------------------------------------------------------------ degrees
CLAIMS = """
from air.air import Air, Bus, BusTerm, Message

def make():
    air = Air("claims", "claims that differ", budget=9, n_challenges=4)
    x, y, on = air.columns("main", ["x", "y", "on"])
    op = air.operation("OP", on, 1)
    air.constrain("xy", body=x * y, operation=op, claimed_degree=5)   # 1 + 2 = 3, claimed 5
    air.transition("ok", x.next - x, claimed_degree=1)
    m = Message("m", 1, (("x", x),))
    air.bus(Bus("b", "multiset", "acc", (BusTerm("u", "request", on, (m,), operation="OP", claimed_degree=7),
                                          BusTerm("v", "response", on, (m,))), claimed_degree=2))
    return air
"""


@pytest.mark.parametrize("by", ["constraint", "op", "bus"])
def test_degrees_shows_every_claim_difference_in_every_view(air_cli, tmp_path, by) -> None:
    """Hand: xy = on * (x*y) has degree 3 (claimed 5); the term u = on * (message of degree 1) has
    degree 2 (claimed 7); the bus constraint is acc' * (...) of degree 1 + 2 = 3 (claimed 2)."""
    src = tmp_path / "claims.py"
    src.write_text(CLAIMS)
    code, out, _ = air_cli("degrees", "--air", f"{src}:make", "--by", by)
    assert code == 0 and "3 claimed degree(s) differ" in out
    listing = out.split("claimed degrees that differ from the computed ones (3):", 1)[1]
    for item, claimed, computed in (("xy", 5, 3), ("bus:b/u", 7, 2), ("bus:b", 2, 3)):
        line = next(ln for ln in listing.splitlines() if ln.split()[:1] == [item])
        assert line.split()[1:3] == [str(claimed), str(computed)], line
    _, js, _ = air_cli("degrees", "--air", f"{src}:make", "--by", by, "--format", "json")
    diffs = {(d["item"], d["claimed"], d["computed"]) for d in json.loads(js)["claim_differences"]}
    assert diffs == {("xy", 5, 3), ("bus:b/u", 7, 2), ("bus:b", 2, 3)}


# ------------------------------------------------------------------------------------------ check: text
def test_failures_in_row_order_and_the_first_failing_row(air_cli, tmp_path) -> None:
    t = fib_broken(tmp_path)
    code, out, _ = air_cli("check", str(t), "--air", "fibonacci")
    assert code == 1
    assert out.splitlines()[0].endswith("first failing row 4 (constraint fib_b)")
    heads = [ln for ln in out.splitlines() if ln.startswith("row ")]
    assert heads == [
        "row 4 — constraint fib_b (transition)",
        "row 5 — constraint fib_a (transition)",
        "row 5 — constraint fib_b (transition)",
    ]
    # the old order, constraint by constraint (fib_a is declared first)
    code, out, _ = air_cli("check", str(t), "--air", "fibonacci", "--group-by", "constraint")
    blocks = [ln for ln in out.splitlines() if ln.startswith("constraint ")]
    assert blocks == [
        "constraint fib_a (transition) — 1 failing row(s)",
        "constraint fib_b (transition) — 2 failing row(s)",
    ]
    assert out.splitlines()[0].endswith("first failing row 4 (constraint fib_b)")


def test_small_negatives_hex_and_fitted_columns(air_cli, tmp_path) -> None:
    t = fib_broken(tmp_path)
    _, out, _ = air_cli("check", str(t), "--air", "fibonacci", "--context", "1")
    fib_a = out.split("row 5 — constraint fib_a (transition)", 1)[1]
    assert "value -1 (p−1) (must be 0)" in fib_a  # a6 - b5 = -1
    # the window: values up to 21 (a6 = 13, b6 = 21), so columns 2 characters wide, not 22
    window = [ln for ln in out.splitlines() if ln.startswith("       row") or ln.startswith("    >>")]
    assert window and max(len(ln) for ln in window) < 25
    _, hx, _ = air_cli("check", str(t), "--air", "fibonacci", "--hex")
    assert "value -0x1 (p−0x1) (must be 0)" in hx
    assert "cells: a=0x5, b=0x8, b'=0xe" in hx  # row 4: a4 = 5, b4 = 8, b5 = 13 + 1 = 14


def test_window_rows_name_their_operation(air_cli, tmp_path) -> None:
    cols, pis = stack_machine_trace(64, seed=5)
    r = 30
    cols["depth"][r] = (int(cols["depth"][r]) + 1) % P
    t = save_trace(tmp_path / "sm.npz", cols, pis, {"air": "stack-machine"})
    code, out, _ = air_cli("check", str(t), "--context", "2", "--max-failures", "1")
    assert code == 1
    # the operation of a row, decoded from its 7 opcode bits by hand (op0 least significant)
    names = {v: k for k, v in OPCODES.items()}

    def op_at(i: int) -> str:
        return names[sum(int(cols[f"op{b}"][i]) << b for b in range(7))]

    block = out.split(f"row {r - 1}: operation {op_at(r - 1)}", 1)[1]  # depth[r] breaks row r-1's rule
    lines = block.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["row", "operation"])
    for ln, row in zip(lines[header + 1 : header + 6], range(r - 3, r + 2)):
        assert ln.split(">>")[-1].split()[:2] == [str(row), op_at(row)], ln


def test_ok_says_what_it_does_not_cover(air_cli, tmp_path) -> None:
    """A user AIR of 4 columns, one (`spare`) read by nothing, and 2 operations, one (`READ`) never flagged."""
    src = tmp_path / "cover.py"
    src.write_text(
        "from air.air import Air\n"
        "def make():\n"
        "    air = Air('cover', 'coverage', n_challenges=2)\n"
        "    w, r, x, spare = air.columns('main', ['w', 'r', 'x', 'spare'])\n"
        "    air.constrain('w_step', body=x.next - x - 1, operation=air.operation('WRITE', w))\n"
        "    air.constrain('r_keep', body=x.next - x, operation=air.operation('READ', r))\n"
        "    return air\n"
    )
    n = 8
    cols = {"w": np.ones(n, np.uint64), "r": np.zeros(n, np.uint64), "x": np.arange(n, dtype=np.uint64)}
    cols["spare"] = np.zeros(n, np.uint64)
    t = save_trace(tmp_path / "c.npz", cols, {}, {})
    code, out, _ = air_cli("check", str(t), "--air", f"{src}:make")
    assert code == 0 and out.startswith("OK")
    assert "1 of 4 columns read by no constraint or bus" in out and "1 of 2 operations never occur" in out
    _, js, _ = air_cli("check", str(t), "--air", f"{src}:make", "--format", "json")
    s = json.loads(js)["summary"]
    assert s["unread_columns"] == ["spare"] and s["operations_never_occurring"] == ["READ"]


# ------------------------------------------------------------------------------------------ generic words
TOY = """
from air.air import Air, Bus, BusTerm, Message

def make():
    air = Air("toy-mem", "writes answered by a memory", n_challenges=4)
    w, resp, wa, ma, clk = air.columns("main", ["w", "resp", "w_addr", "m_addr", "clk"])
    air.operation("WRITE", w)
    air.transition("clk", clk.next - clk - 1)
    air.bus(Bus("mem", "multiset", "b", (
        BusTerm("u_write", "request", w, (Message("write", 4, (("addr", wa),)),), operation="WRITE"),
        BusTerm("v_mem", "response", resp, (Message("write", 4, (("addr", ma),)),)),
    )))
    return air
"""


def toy_files(tmp_path: Path, n: int, forge: bool) -> tuple[str, Path]:
    """Every row 0..n-2 writes address i and the memory answers it on the same row; forged: the
    memory's address column is shifted by 10^6 (every message unmatched) and clk is all zeros."""
    src = tmp_path / "toy.py"
    src.write_text(TOY)
    on = np.ones(n, np.uint64)
    on[-1] = 0
    addr = np.arange(n, dtype=np.uint64)
    cols = {"w": on, "resp": on.copy(), "w_addr": addr, "m_addr": addr + (10**6 if forge else 0)}
    cols["clk"] = np.zeros(n, np.uint64) if forge else addr.copy()
    return f"{src}:make", save_trace(tmp_path / "toy.npz", cols, {}, {})


def test_generic_airs_get_generic_words(air_cli, tmp_path) -> None:
    _, out, _ = air_cli("check", str(fib_broken(tmp_path)), "--air", "fibonacci")
    spec, t = toy_files(tmp_path, 8, forge=True)
    _, toy, _ = air_cli("check", str(t), "--air", spec, "--group-by", "constraint")
    for text in (out, toy):
        assert "chiplet" not in text and "opcode None" not in text and "no operation flag" not in text
    assert "operation" not in out  # fibonacci has no operations at all
    # an operation without an opcode is named without one; a term without an operation by its name
    assert "row 0: operation WRITE; next row: WRITE" in toy
    assert "write addr=1000000, answered by term v_mem at row 0, no request" in toy


# ------------------------------------------------------------------------------------------ bounded JSON
def test_json_is_bounded_with_totals(air_cli, tmp_path) -> None:
    n = 1024
    spec, t = toy_files(tmp_path, n, forge=True)
    code, out, _ = air_cli("check", str(t), "--air", spec, "--format", "json", "--max-failures", "3")
    assert code == 1
    doc = json.loads(out)
    s = doc["summary"]
    # clk all zeros: clk' - clk - 1 = -1 on each of the n-1 transition rows
    assert s["failing_rows"] == n - 1 and s["failing_rows_shown"] == 3
    assert [len(g["rows"]) for g in doc["failures"]] == [3] and doc["failures"][0]["total"] == n - 1
    # n-1 requests and n-1 responses, none matching: all unmatched, 3 written
    assert s["unmatched_messages"] == 2 * (n - 1) and len(doc["unmatched"]) == 3 == s["unmatched_shown"]
    assert doc["buses"][0]["unmatched_total"] == 2 * (n - 1) and len(doc["likely_pairs"]) <= 3
    assert len(out) < 20_000, len(out)
    junit = tmp_path / "r.xml"
    _, text, _ = air_cli("check", str(t), "--air", spec, "--max-failures", "3", "--junit", str(junit))
    assert f"... and {2 * (n - 1) - 3} more" in text
    bus_case = ET.parse(junit).getroot().find("testcase[@name='bus:mem']/failure")
    assert bus_case is not None and bus_case.text.splitlines()[3:] == [f"... and {2 * (n - 1) - 3} more"]


# ------------------------------------------------------------------------------------------ SARIF
def test_sarif_points_at_the_constrain_call(air_cli, tmp_path, monkeypatch) -> None:
    spec, t = toy_files(tmp_path, 8, forge=True)
    src = Path(spec.rsplit(":", 1)[0])
    line = 1 + next(i for i, ln in enumerate(src.read_text().splitlines()) if 'air.transition("clk"' in ln)
    monkeypatch.chdir(tmp_path)
    code, _, _ = air_cli("check", str(t), "--air", spec, "--sarif", "r.sarif", "--max-failures", "2")
    assert code == 1
    results = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    clk = [r for r in results if r["ruleId"] == "clk"]
    assert len(clk) == 2
    for r, row in zip(clk, (0, 1)):
        (loc,) = r["locations"]
        assert loc["physicalLocation"] == {"artifactLocation": {"uri": "toy.py"}, "region": {"startLine": line}}
        assert loc["logicalLocations"][0]["name"] == f"row {row}"
    assert len([r for r in results if r["ruleId"] == "bus:mem"]) == 2  # bounded by --max-failures too


def test_miden_constraints_are_located_in_their_family_module() -> None:
    """A family's b.constrain(...) line, not the builder's: ctx_call is written in system.py."""
    c = load_air("miden-v0.19").constraint("ctx_call")
    path, line = c.defined_at.rsplit(":", 1)
    assert "air/miden/constraints/" in path and not path.endswith("builder.py")
    call = Path(path).read_text().splitlines()[int(line) - 1 : int(line) + 3]  # the call may span lines
    assert "constrain(" in call[0] and any('"ctx_call"' in ln for ln in call), call


# ------------------------------------------------------------------------------------------ the command line
def test_version(air_cli) -> None:
    code, out, _ = air_cli("--version")
    assert code == 0 and out == f"air {version('air')}\n"


def test_no_color(air_cli, tmp_path, monkeypatch) -> None:
    t = fib_broken(tmp_path)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # as on a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in air_cli("check", str(t), "--air", "fibonacci")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in air_cli("check", str(t), "--air", "fibonacci")[1]


@pytest.mark.parametrize("args", [["degrees"], ["explain", "fib_a"], ["degrees", "--by", "op"]])
def test_no_silent_default_air(air_cli, args) -> None:
    code, out, err = air_cli(*args)
    assert one_line_error(code, out, err) and "needs --air NAME" in err and "fibonacci" in err


def test_run_needs_air_and_force_over_another_designs_trace(air_cli, tmp_path) -> None:
    prog = tmp_path / "p.masm"
    prog.write_text("begin\n push.1 drop\nend\n")
    code, out, err = air_cli("run", str(prog))
    assert one_line_error(code, out, err) and "air run needs --air" in err
    cols, pis = fibonacci_trace(16)
    old = save_trace(tmp_path / "t.npz", cols, pis, {"air": "miden-v0.18", "design": "miden-v0.18"})
    code, out, err = air_cli("run", str(prog), "--air", "miden-v0.19", "-o", str(old))
    assert one_line_error(code, out, err) and "names AIR 'miden-v0.18', not 'miden-v0.19'" in err
    code, out, _ = air_cli("run", str(prog), "--air", "miden-v0.19", "-o", str(old), "--force")
    assert code == 0 and f"wrote {old}" in out
    code, out, err = air_cli("check", str(old), "--air", "miden-v0.18")  # now a v0.19 trace: refused
    assert one_line_error(code, out, err) and "names AIR 'miden-v0.19', not 'miden-v0.18'" in err


def test_air_module_from_the_current_directory(air_cli, tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "mydesigns_r12"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "counter.py").write_text(
        "from air.air import Air\n"
        "def make_air():\n"
        "    air = Air('counter-r12', 'a counter', budget=3)\n"
        "    (x,) = air.columns('main', ['x'])\n"
        "    air.transition('step', x.next - x - 1, claimed_degree=1)\n"
        "    return air\n"
    )
    monkeypatch.chdir(tmp_path)
    # as the installed `air` script sees it: its own directory first, not the current one
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    try:
        code, out, err = air_cli("degrees", "--air", "mydesigns_r12.counter:make_air")
        assert code == 0 and "counter-r12" in out and "step" in out, err
        assert str(tmp_path) not in sys.path  # searched for this import only
        code, out, err = air_cli("degrees", "--air", "no_such_pkg_r12.x:make_air")
        assert one_line_error(code, out, err) and "cannot import module no_such_pkg_r12.x" in err
    finally:
        for name in [m for m in sys.modules if m.startswith("mydesigns_r12")]:
            del sys.modules[name]
