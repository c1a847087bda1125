"""AirScript lowering: names, degrees (derived by hand in the comments), operations, buses, modules, errors,
traces checked, and the commands that take ``--air file.air``."""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import sympy as sp

import air
from air.airscript import AirScriptError, load_airscript
from air.analysis import analyze
from air.cli import main
from air.symbols import Cell


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


VM = """\
def Vm
use lib::*;

trace_columns {
    main: [a, b, s, t, c[3]],
}
public_inputs {
    res: [2],
    tab: [[2]],
}
periodic_columns {
    k: [1, 0, 0, 0],
}
buses {
    multiset p,
    logup q,
}
boundary_constraints {
    enf a.first = 1;
    enf b.last = res[1];
    enf p.first = null;
    enf p.last = null;
    enf q.first = tab;
    enf q.last = null;
}
integrity_constraints {
    enf s^2 = s; # degree 2
    enf v^2 = v for v in c;
    enf a' = s * b + (1 - s) * b;
    enf match {
        case s & t: step([a, b]),
        case !s: a' = a * k,
    };
    enf b' = b when is_on(t);
    enf step([b, a]);
    p.insert(a, b) when s;
    p.remove(a, b) when t;
    q.remove(a, b) with c[0];
}
"""

LIB = """\
mod lib

ev step([x, y]) {
    enf x' = x + y^2; # degree 1
}

fn is_on(v: felt) -> felt {
    return v * v;
}
"""


@pytest.fixture
def vm(tmp_path: Path) -> air.Air:
    write(tmp_path, "lib.air", LIB)
    return load_airscript(write(tmp_path, "vm.air", VM))


def test_columns_publics_periodic(vm: air.Air) -> None:
    assert vm.name == "Vm" and vm.budget is None
    assert vm.column_names == ["a", "b", "s", "t", "c[0]", "c[1]", "c[2]"]
    assert {c.group for c in vm.layout} == {"main"}
    assert vm.column_info("c[1]").doc == "vm.air:5"
    assert list(vm.public_inputs) == ["res[0]", "res[1]"]
    assert vm.public_tables["tab"][0] == 2
    assert vm.periodic == {"k": [1, 0, 0, 0]}


def test_names_sites_and_degrees(vm: air.Air) -> None:
    a = analyze(vm)
    deg = {c.name: c.degree for c in a.constraints}
    names = [c.name for c in vm.constraints]
    # line numbers of vm.air: 19 a.first, 20 b.last, 27 s^2, 28 comprehension, 29 s*b+(1-s)*b, 30 match,
    # 31 case s & t: step (inlined from lib.air:4), 32 case !s, 34 when is_on(t), 35 step([b, a])
    assert names == [
        "vm.air:19", "vm.air:20", "vm.air:27", "vm.air:28[0]", "vm.air:28[1]", "vm.air:28[2]", "vm.air:29",
        "lib.air:4[0]", "vm.air:32", "vm.air:34", "lib.air:4[1]",
    ]
    # s^2 - s: 2.  v^2 - v: 2 each.  a' - (s*b + (1-s)*b) = a' - b: exact 1, AirScript counts 1 + 1 = 2
    assert deg["vm.air:27"] == 2 and deg["vm.air:28[1]"] == 2 and deg["vm.air:29"] == 1
    assert vm.declared_degrees["vm.air:29"][0] == 2
    # (s*t) * (a' - a - b^2): flag 2 + body 2 = 4, AirScript the same
    c = vm.constraint("lib.air:4[0]")
    assert c.flag == Cell("s") * Cell("t") and deg["lib.air:4[0]"] == 4 and vm.declared_degrees["lib.air:4[0]"][0] == 4
    assert c.doc == "via vm.air:31" and c.operation == "step" and c.defined_at.endswith("lib.air:4")
    # (1 - s) * (a' - a*k): the engine counts the periodic k as 1 (1 + 2 = 3); AirScript counts it 0 (1 + 1 = 2)
    assert deg["vm.air:32"] == 3
    assert vm.declared_degrees["vm.air:32"] == (2, "periodic cycle 4")
    # is_on(t) = t*t: flag 2, body b' - b: 1 -> 3; the operation is named after the function
    assert deg["vm.air:34"] == 3 and vm.constraint("vm.air:34").operation == "is_on"
    # step([b, a]) without a selector: b' - b - a^2, degree 2, no operation
    assert deg["lib.air:4[1]"] == 2 and vm.constraint("lib.air:4[1]").operation is None


def test_operations_and_selector_groups(vm: air.Air) -> None:
    ops = {o.name: o.flag for o in vm.operations}
    assert ops == {"step": Cell("s") * Cell("t"), "!s": 1 - Cell("s"), "is_on": Cell("t") ** 2}
    assert vm.selector_groups == {"vm.air:30 match": [("step", Cell("s") * Cell("t")), ("!s", 1 - Cell("s"))]}


def test_claims(vm: air.Air) -> None:
    a = analyze(vm)
    # `enf s^2 = s; # degree 2` agrees; lib.air:4 claims 1 for a' - a - b^2 (2) and (s*t)*(...) (4): both differ
    assert vm.constraint("vm.air:27").claimed_degree == 2
    diffs = {(i, c, d) for i, c, d in a.claim_differences()}
    assert diffs == {("lib.air:4[0]", 1, 4), ("lib.air:4[1]", 1, 2)}
    assert vm.gate_claims


def test_buses(vm: air.Air) -> None:
    p, q = vm.buses
    # buses.md (v0.4.0): p' * (remove side) = p * (insert side): insert is the engine's response, remove its request
    assert (p.kind, [t.side for t in p.terms]) == ("multiset", ["response", "request"])
    assert [t.name for t in p.terms] == ["vm.air:36", "vm.air:37"]
    assert p.terms[0].flag == Cell("s") and p.terms[0].messages[0].label_value is None
    assert [e for _, e in p.terms[0].messages[0].fields] == [Cell("a"), Cell("b")]
    assert (p.initial, p.final) == (1, 1)
    # logup: q.remove with c[0] is a request of multiplicity c[0]; q.first = tab: the bus starts holding tab
    assert q.kind == "logup" and q.terms[0].side == "request" and q.terms[0].multiplicity == Cell("c[0]")
    assert (q.initial, q.final) == (0, 0) and q.boundary[0].table == "tab" and q.boundary[0].side == "response"
    # whole multiset column (AirScript): each side one factor f*v + 1 - f of degree 1 + 1 = 2, times p: 3
    assert vm.declared_degrees["bus:p"][0] == 3
    # logup: (q' - q) * v + ... : v has degree 1; 1 + 1 = 2, and c[0] (1) * (no other denominator) = 1 -> 2
    assert vm.declared_degrees["bus:q"][0] == 2




def test_check_named_constraint_fails(tmp_path: Path) -> None:
    text = """def T
trace_columns {
    main: [a, b[2]],
}
public_inputs {
    out: [1],
}
boundary_constraints {
    enf a.first = 1;
    enf a.last = out[0];
}
integrity_constraints {
    enf a' = a + b[0] + b[1];
    enf x^2 = x for x in b;
}
"""
    t = load_airscript(write(tmp_path, "t.air", text))
    # a: 1, 2, 3, 5 with b = (1,0), (0,1), (1,1), (0,0): a' = a + b0 + b1 on rows 0..2
    cols = {"a": [1, 2, 3, 5], "b[0]": [1, 0, 1, 0], "b[1]": [0, 1, 1, 0]}
    ok = air.check(t, air.Trace.from_columns(cols, public_inputs={"out[0]": 5}))
    assert ok.ok, ok.text()
    bad = air.check(t, air.Trace.from_columns({**cols, "b[1]": [0, 2, 1, 0]}, public_inputs={"out[0]": 5}))
    names = {f.name: f.rows for f in bad.failures}
    # b[1] = 2 on row 1 breaks the transition of row 1 (2 + 0 + 2 != 3) and 2^2 != 2 (comprehension, 2nd copy)
    assert names == {"t.air:13": (1,), "t.air:14[1]": (1,)}


def test_unconstrained_bus_demands_no_balance(tmp_path: Path) -> None:
    text = """def U
trace_columns {
    main: [a, s],
}
public_inputs {
    x: [1],
}
buses {
    multiset p,
}
boundary_constraints {
    enf a.first = x[0];
    enf p.first = null;
    enf p.last = LAST;
}
integrity_constraints {
    p.insert(a) when s;
}
"""
    cols = {"a": [1, 2, 3, 4], "s": [1, 0, 0, 0]}
    balanced = load_airscript(write(tmp_path, "n.air", text.replace("LAST", "null")))
    free = load_airscript(write(tmp_path, "u.air", text.replace("LAST", "unconstrained")))
    tr = air.Trace.from_columns(cols, public_inputs={"x[0]": 1})
    # one insert that is never removed: unbalanced for `null`, accepted for `unconstrained`
    assert not air.check(balanced, tr).ok
    assert air.check(free, tr).ok and free.buses[0].final is None


@pytest.mark.parametrize(
    "body, where, words",
    [
        ("enf a = zz;", "m.air:6:13:", "unknown name 'zz'"),
        ("enf a = a ^ b;", "m.air:6:17:", "exponent of ^ must be a constant"),
        ("enf a = c[3];", "m.air:6:14:", "index 3 out of range for 'c' of length 3"),
        ("enf ev1([a, b]);", "m.air:6:9:", "takes 1 column(s), got 2"),
        ("enf a = f1(a, b);", "m.air:6:13:", "f1 takes 1 argument(s), got 2"),
        ("enf [a, b] = [a];", "m.air:6:9:", "compares a vector of length 2 with a vector of length 1"),
        ("enf a = x for (x, y) in (c, c[0..2]);", "m.air:6:15:", "different lengths"),
        ("p.insert(a);", "m.air:6:5:", "needs `when SELECTOR`"),
        ("p.insert(a) with b;", "m.air:6:17:", "`with` is for logup buses"),
        ("enf a.first = 1;", "m.air:6:9:", "only allowed in boundary_constraints"),
    ],
)
def test_semantic_errors(tmp_path: Path, body: str, where: str, words: str) -> None:
    text = f"""def M
trace_columns {{ main: [a, b, c[3]], }}
buses {{ multiset p, }}
fn f1(v: felt) -> felt {{ return v; }}
integrity_constraints {{
    {body}
}}
ev ev1([x]) {{ enf x' = x; }}
"""
    with pytest.raises(AirScriptError) as e:
        load_airscript(write(tmp_path, "m.air", text))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "m.air") + ":" + where.split(":", 1)[1]), msg
    assert words in msg and "\n" not in msg


def test_missing_and_cyclic_modules(tmp_path: Path) -> None:
    root = write(tmp_path, "r.air", "def R\nuse nothere::*;\ntrace_columns { main: [a], }\n")
    with pytest.raises(AirScriptError, match=r"r\.air:2:5: module 'nothere' not found"):
        load_airscript(root)
    write(tmp_path, "m1.air", "mod m1\nuse m2::*;\n")
    write(tmp_path, "m2.air", "mod m2\nuse m1::*;\n")
    root = write(tmp_path, "c.air", "def C\nuse m1::*;\ntrace_columns { main: [a], }\n")
    with pytest.raises(AirScriptError, match=r"m2\.air:2:5: cyclic use of modules \(c -> m1 -> m2 -> m1\)"):
        load_airscript(root)
    write(tmp_path, "m3.air", "mod m3\nconst K = 2;\n")
    root = write(tmp_path, "d.air", "def D\nuse m3::J;\ntrace_columns { main: [a], }\n")
    with pytest.raises(AirScriptError, match="module 'm3' has no item 'J'"):
        load_airscript(root)


def test_constants_comprehensions_and_matrix(tmp_path: Path) -> None:
    text = """def K
const W = [1, 2, 4];
const M = [[1, 2], [3, 4]];
trace_columns { main: [a, b[3]], }
integrity_constraints {
    enf a = sum([w * x for (w, x) in (W, b)]) + M[1][0];
    enf a' = prod(b) | deg = 3;
}
"""
    k = load_airscript(write(tmp_path, "k.air", text))
    b0, b1, b2 = (Cell(f"b[{i}]") for i in range(3))
    assert sp.expand(k.constraint("k.air:6").expr - (Cell("a") - b0 - 2 * b1 - 4 * b2 - 3)) == 0
    assert k.constraint("k.air:7").claimed_degree == 3 and analyze(k).claim_differences() == []


def test_or_not_selectors(tmp_path: Path) -> None:
    text = """def O
trace_columns { main: [a, s, t], }
integrity_constraints {
    enf a' = a when s | !t;
}
"""
    o = load_airscript(write(tmp_path, "o.air", text))
    s, t = Cell("s"), Cell("t")
    c = o.constraint("o.air:4")
    # s | !t = s + (1 - t) - s*(1 - t); AirScript's degree: or adds, 1 + 1 = 2, times the body (1) = 3
    assert sp.expand(c.flag - (s + 1 - t - s * (1 - t))) == 0
    assert c.operation == "s | !t" and o.declared_degrees["o.air:4"][0] == 3


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _cli(*args: str, cwd: Path) -> Run:
    """``air ARGS`` in this process (``air.cli.main``, exit codes and stderr as the command has them), from ``cwd``."""
    here, out, err = os.getcwd(), io.StringIO(), io.StringIO()
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        os.chdir(here)
    return Run(code, out.getvalue(), err.getvalue())


def test_cli_degrees_gate_and_errors(tmp_path: Path) -> None:
    text = """def G
trace_columns { main: [a, s], }
integrity_constraints {
    enf a' = s * a + (1 - s) * a; # degree 2
    enf s^2 = s; # degree 1
}
"""
    write(tmp_path, "g.air", text)
    r = _cli("degrees", "--air", "g.air", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = {c["name"]: c for c in json.loads(r.stdout)["constraints"]}
    # a' - s*a - (1-s)*a = a' - a: exact degree 1; AirScript's count 2 (the claim agrees with AirScript, not the poly)
    assert (doc["g.air:4"]["degree"], doc["g.air:4"]["airscript_degree"]) == (1, 2)
    r = _cli("degrees", "--air", "g.air", cwd=tmp_path)
    assert "airscript" in r.stdout.splitlines()[1]
    r = _cli("gate", "--air", "g.air", "--baseline", "b.json", "--update", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("gate", "--air", "g.air", "--baseline", "b.json", cwd=tmp_path)
    # g.air:5 claims 1 for s^2 - s (2): a failure; g.air:4 claims 2 for a degree-1 polynomial: a warning
    assert r.returncode == 1
    assert "g.air:5: the annotation claims degree 1, the polynomial has degree 2" in r.stdout
    assert "warning: constraint g.air:4" in r.stdout
    write(tmp_path, "bad.air", "def B\ntrace_columns { main: [a], }\nintegrity_constraints { enf a' = q; }\n")
    r = _cli("degrees", "--air", "bad.air", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "air: error: bad.air:3:34: unknown name 'q'"
    r = _cli("degrees", "--air", "missing.air", cwd=tmp_path)
    assert r.returncode == 2 and "no such AirScript file" in r.stderr


def test_cli_check_with_public_file(tmp_path: Path) -> None:
    import numpy as np

    from air.trace import save_trace

    text = """def P
trace_columns { main: [a, b[2]], }
public_inputs { out: [1], }
boundary_constraints { enf a.last = out[0]; }
integrity_constraints { enf a' = a + b[1]; }
"""
    write(tmp_path, "p.air", text)
    # a = 1, 2, 4, 7 with b[1] = 1, 2, 3, (any): honest; out[0] must be 7
    cols = {"a": [1, 2, 4, 7], "b[0]": [0, 0, 0, 0], "b[1]": [1, 2, 3, 9]}
    save_trace(tmp_path / "t.npz", {k: np.array(v, dtype=np.uint64) for k, v in cols.items()})
    (tmp_path / "good.json").write_text('{"out[0]": 7}')
    (tmp_path / "bad.json").write_text('{"out[0]": "8"}')
    r = _cli("check", "t.npz", "--air", "p.air", "--public", "good.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _cli("check", "t.npz", "--air", "p.air", "--public", "bad.json", cwd=tmp_path)
    assert r.returncode == 1 and "constraint p.air:4 (last)" in r.stdout
    r = _cli("check", "t.npz", "--air", "p.air", cwd=tmp_path)  # no public input at all: bad input
    assert r.returncode == 2 and "out[0]" in r.stderr


def test_vector_equations_main_segment_and_module_periodics(tmp_path: Path) -> None:
    write(tmp_path, "mm.air", "mod mm\nperiodic_columns { k: [1, 1], }\nev e([x]) { enf x' = x * k; }\n")
    text = """def V
use mm::*;
trace_columns { main: [a, b[2]], }
periodic_columns { k: [0, 1], }
integrity_constraints {
    enf [a', b[0]'] = [$main[1], $main[2]];
    enf a - a = 0;
    enf e([a]);
    enf b[1] = k;
}
"""
    v = load_airscript(write(tmp_path, "v.air", text))
    # one vector equation -> two constraints a' - b[0] and b[0]' - b[1] ($main = a, b[0], b[1])
    assert [str(v.constraint(n).expr) for n in ("v.air:6[0]", "v.air:6[1]")] == ["a' - b[0]", "b[0]' - b[1]"]
    # `a - a = 0` cancels as written: dropped with a note, not an error
    assert not any(c.name == "v.air:7" for c in v.constraints) and any("v.air:7" in n for n in v.notes)
    # mm's k ([1, 1]) and the root's k ([0, 1]) are two periodic columns
    assert v.periodic == {"k": [0, 1], "mm_k": [1, 1]}
    assert str(v.constraint("mm.air:3").expr) == "-a*mm_k + a'"


def test_tags_shared_operations_and_bus_claims(tmp_path: Path) -> None:
    text = """def W
trace_columns { main: [a, s], }
buses { logup q, }
boundary_constraints { enf q.first = null; enf q.last = null; }
integrity_constraints {
    @tag(hot) enf a' = a when s;
    enf a' = 2 * a when s;
    enf a = 1 when !s;
    q.insert(a) when s; # degree 1
    q.remove(a) with s;
}
"""
    w = load_airscript(write(tmp_path, "w.air", text))
    assert w.constraint("w.air:6").tags == ("tag(hot)",) and w.constraint("w.air:7").tags == ()
    # two constraints under the same selector `s`: one operation named after its source text
    assert [(o.name, o.flag) for o in w.operations] == [("s", Cell("s")), ("!s", 1 - Cell("s"))]
    assert {c.operation for c in w.constraints} == {"s", "!s"}
    # a LogUp term's degree is its flag/multiplicity's (1) plus its message's (1): the claim 1 is below it
    ins, rem = w.buses[0].terms
    assert ins.claimed_degree == 1 and rem.claimed_degree is None and rem.multiplicity == Cell("s")
    assert ("bus:q/w.air:9", 1, 2) in analyze(w).claim_differences()
    r = _cli("compare", "w.air", "fibonacci", cwd=tmp_path)
    assert r.returncode == 0 and "W" in r.stdout.splitlines()[0] and "fibonacci" in r.stdout.splitlines()[0]
    r = _cli("explain", "w.air:6", "--air", "w.air", cwd=tmp_path)
    assert r.returncode == 0 and "w.air:6" in r.stdout
