"""The AirScript examples (air/examples/airscript/*.air) and their traces (traces/airscript/).

The committed traces are what traces/airscript/regenerate.py writes (a staleness check, as tests/test_scenarios.py
does for traces/); the generator computes rows from the semantics written in the .air files' comments, with Python
ints, and asserts its own results (the bitwise chiplet's output equals x AND y / x XOR y).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from air.trace import load_trace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "air" / "examples" / "airscript"
TRACES = ROOT / "traces" / "airscript"


def _generator():
    spec = importlib.util.spec_from_file_location("airscript_regenerate", TRACES / "regenerate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_traces_are_what_the_generator_writes() -> None:
    expected = _generator().traces()
    assert {f"{name}.npz" for name, *_ in expected} == {p.name for p in TRACES.glob("*.npz")}
    for name, air_file, cols, pis, what in expected:
        t = load_trace(TRACES / f"{name}.npz")
        assert list(t.columns) == list(cols), name
        for c, values in cols.items():
            assert np.array_equal(t.columns[c], np.array(values, dtype=np.uint64)), f"{name}.npz: {c} is stale"
        assert t.public_inputs == pis, name
        assert t.meta["airscript"] == f"air/examples/airscript/{air_file}" and t.meta.get("broken", "") == what
        assert (EXAMPLES / air_file).is_file()


def test_the_generator_follows_the_designs_by_hand() -> None:
    g = _generator()
    fib, pis = g.fibonacci()
    # F(2..9) = 1 2 3 5 8 13 21 34: b.last = 34
    assert fib["b"] == [1, 2, 3, 5, 8, 13, 21, 34] and pis["result[0]"] == 34
    bit, pis = g.bitwise()
    # 0xB6C3 & 0x5A0F = 0x1203, 0xB6C3 ^ 0x5A0F = 0xECCC (worked nibble by nibble: B&5=1, 6&A=2, C&0=0, 3&F=3;
    # B^5=E, 6^A=C, C^0=C, 3^F=C); each at the cycle's last row
    assert bit["z"][7] == 0x1203 and bit["z"][15] == 0xECCC == pis["last_result[0]"]
    vm, pis = g.vm()
    # add(3,4)=7, mul=28, store (4,28) -> (0,5), add 5, add 10, mul 50, store (5,50) -> (0,6), nop, add 6
    assert (pis["stack_out[0]"], pis["stack_out[1]"]) == (6, 6)
    assert vm["m_addr"][13:] == [4, 5, 5] and vm["m_val"][13:] == [28, 50, 50]
    # ADD removes 4, 5, 5, 6 from the range-check bus
    assert vm["r_mult"][4:7] == [1, 2, 1] and sum(vm["r_mult"]) == 4


# ---------------------------------------------------------------------------------------------------------------
# The examples through the commands. Constraint names are FILE:LINE of the `enf` (or of the match arm; inside an
# evaluator, of the evaluator's `enf`), `[k]` for the k-th of a comprehension: found here from the source text.


def line_of(file: str, text: str) -> int:
    """The line (1-based) of ``file`` holding ``text``: exactly one."""
    hits = [i + 1 for i, line in enumerate((EXAMPLES / file).read_text().splitlines()) if text in line]
    assert len(hits) == 1, (file, text, hits)
    return hits[0]


def at(file: str, text: str, k: int | None = None) -> str:
    return f"{file}:{line_of(file, text)}" + ("" if k is None else f"[{k}]")


def degrees(air_cli, path: str, by: str = "constraint") -> dict:
    code, out, err = air_cli("degrees", "--air", path, "--by", by, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def by_name(doc: dict, key: str = "constraints") -> dict[str, dict]:
    return {c["name"]: c for c in doc[key]}


FIB = str(EXAMPLES / "fibonacci.air")
BIT = str(EXAMPLES / "bitwise.air")
VM = str(EXAMPLES / "vm.air")


def test_fibonacci_degrees_by_hand(air_cli) -> None:
    got = by_name(degrees(air_cli, FIB))
    f = "fibonacci.air"
    # by hand: boundary a - start[0], b - start[1], b - result[0] (a public input has degree 0): degree 1;
    # a' - b and b' - (a + b): linear, degree 1 (annotated `# degree 1`); AirScript counts the same
    want = {
        at(f, "enf a.first"): (1, 1, None),
        at(f, "enf b.first"): (1, 1, None),
        at(f, "enf b.last"): (1, 1, None),
        at(f, "enf a' = b"): (1, 1, 1),
        at(f, "enf b' = a + b"): (1, 1, 1),
    }
    assert {n: (c["degree"], c["airscript_degree"], c["claimed_degree"]) for n, c in got.items()} == want


def test_bitwise_degrees_by_hand(air_cli) -> None:
    got = by_name(degrees(air_cli, BIT))
    f = "bitwise.air"
    # exact degree: a periodic column counts 1 (Miden's rule); AirScript's structural degree counts it 0.
    # s^2 - s: 2 / 2.   k1*(s' - s): 1 + 1 = 2 / 0 + 1 = 1.   x^2 - x (2 bits of a, 2 of b): 2 / 2.
    # k0*(a - a_now), k1*(a' - 4a - a_next) (a_now, a_next linear in the bits), same for b: 2 / 1.
    # match arms: flag !s = 1 - s or s (degree 1) times k0*(z - and_now): and_now = sum 2^i x_i y_i (degree 2),
    # xor_now = sum 2^i (x_i + y_i - 2 x_i y_i) (degree 2): 1 + 1 + 2 = 4 / 1 + 0 + 2 = 3; the transition arms
    # k1*(z' - 4z - and_next / xor_next) (next-row bits, degree 2): 4 / 3
    want = {
        at(f, "enf z.last"): (1, 1, None),
        at(f, "enf s^2 = s"): (2, 2, 2),
        at(f, "enf k1 * (s' - s)"): (2, 1, 2),
        at(f, "for x in a_bits", 0): (2, 2, 2),
        at(f, "for x in a_bits", 1): (2, 2, 2),
        at(f, "for y in b_bits", 0): (2, 2, 2),
        at(f, "for y in b_bits", 1): (2, 2, 2),
        at(f, "enf k0 * (a - a_now)"): (2, 1, None),
        at(f, "enf k0 * (b - b_now)"): (2, 1, None),
        at(f, "enf k1 * (a' -"): (2, 1, None),
        at(f, "enf k1 * (b' -"): (2, 1, None),
        at(f, "case !s: k0"): (4, 3, None),
        at(f, "case s: k0"): (4, 3, None),
        at(f, "case !s: k1"): (4, 3, None),
        at(f, "case s: k1"): (4, 3, None),
    }
    assert {n: (c["degree"], c["airscript_degree"], c["claimed_degree"]) for n, c in got.items()} == want
    # by operation: the arms' selectors (no evaluator or function named): !s and s, flag 1, body 3 (k0 or k1
    # times a degree-2 bit sum)
    ops = by_name(degrees(air_cli, BIT, "op"), "operations")
    assert {o: (v["flag_degree"], v["body_degree"]) for o, v in ops.items()} == {"!s": (1, 3), "s": (1, 3)}


def vm_expected() -> dict[str, tuple[int, int, int | None]]:
    f, o = "vm.air", "vm_ops.air"
    # boundaries: s[i] - stack_in[i], s[i] - stack_out[i], clk, r_val, r_val - RC_MAX: 1 / 1
    out = {at(f, t): (1, 1, None) for t in ("s[0].first", "s[1].first", "s[0].last", "s[1].last", "clk.first")}
    out |= {at(f, "r_val.first"): (1, 1, None), at(f, "r_val.last"): (1, 1, None)}
    # b[k]^2 - b[k]: 2 / 2, annotated 2
    out |= {at(f, "for x in b", k): (2, 2, 2) for k in (0, 1)}
    # the match: every flag (is_nop .. is_store, from vm_ops.air) is a product of two bits or their
    # complements: 2. Bodies x' - x, y' - y, x' - (x + y), x' - 0, y' - (y + 1): 1, so 3 / 3; MUL's x' - x*y: 2,
    # so 4 / 4 (no periodic column, nothing to simplify: AirScript agrees)
    for text in ("enf x' = x;", "enf y' = y;", "enf x' = x + y;", "enf x' = 0;", "enf y' = y + 1;"):
        lines = [i + 1 for i, line in enumerate((EXAMPLES / o).read_text().splitlines()) if text in line]
        out |= {f"{o}:{n}": (3, 3, None) for n in lines}
    out[at(o, "enf x' = x * y;")] = (4, 4, None)
    # the clock: b0*(clk' - clk - 1) + (1 - b0)*(clk' - clk - 1) = clk' - clk - 1: exact 1, AirScript 1 + 1 = 2
    out[at(f, "enf b[0] * (clk'")] = (1, 2, 1)
    # m_sel^2 - m_sel: 2 / 2; m_sel * (m_sel' - 1): 2 / 2; d * (d - 1), d = r_val' - r_val: 2 / 2; all annotated 2
    out |= {at(f, t): (2, 2, 2) for t in ("enf m_sel^2", "enf m_sel' = 1 when m_sel", "enf prod([d, d - 1])")}
    return out


def test_vm_degrees_by_hand(air_cli) -> None:
    got = by_name(degrees(air_cli, VM))
    assert {n: (c["degree"], c["airscript_degree"], c["claimed_degree"]) for n, c in got.items()} == vm_expected()
    # the text table says the same: the clock's row reads degree 1, airscript 2, claimed 1
    code, out, _ = air_cli("degrees", "--air", VM)
    (row,) = [line.split() for line in out.splitlines() if line.startswith(at("vm.air", "enf b[0] * (clk'") + " ")]
    assert row[1:4] == ["transition", "1", "2"] and row[-1] == "1"
    # by operation: named after the evaluator each arm calls (nop, add, mul, store; flags of degree 2) and the
    # `when m_sel` selector (flag 1, body m_sel' - 1: 1); highest body: MUL's x' - x*y (2), else 1
    ops = by_name(degrees(air_cli, VM, "op"), "operations")
    assert {n: (v["flag_degree"], v["body_degree"]) for n, v in ops.items()} == {
        "nop": (2, 1),
        "add": (2, 1),
        "mul": (2, 2),
        "store": (2, 1),
        "m_sel": (1, 1),
    }


def test_vm_bus_degrees_by_hand(air_cli) -> None:
    buses = by_name(degrees(air_cli, VM, "bus"), "buses")
    f = "vm.air"
    terms = {t["name"]: (t["side"], t["flag_degree"], t["degree"]) for b in buses.values() for t in b["terms"]}
    # per term: flag degree + message degree (each message is linear in the columns): remove (s[1], s[0]) when
    # is_store(b): 2 + 1 = 3; insert (m_addr, m_val) when m_sel: 1 + 1 = 2; rc.remove(s[1]) when is_add(b): 3;
    # rc.insert(r_val) with r_mult: 1 + 1 = 2. remove = request, insert = response (buses.md: a remove
    # multiplies p', an insert p, as the engine's requests and responses)
    assert terms == {
        at(f, "mem.remove"): ("request", 2, 3),
        at(f, "mem.insert"): ("response", 1, 2),
        at(f, "rc.remove"): ("request", 2, 3),
        at(f, "rc.insert"): ("response", 1, 2),
    }
    # AirScript's whole column (buses.md): mem' * (v_r*f_r + 1 - f_r) = mem * (v_s*f_s + 1 - f_s): 1 + (1 + 2) = 4;
    # logup (q' - q) * v_r * v_s = f_r * v_s + r_mult * v_r: max(1 + 1 + 1, 2 + 1, 1 + 1) = 3
    assert buses["mem"]["airscript_degree"] == 4 and buses["rc"]["airscript_degree"] == 3


@pytest.mark.parametrize(
    ("trace", "air"), [("fibonacci", FIB), ("bitwise", BIT), ("vm", VM)], ids=["fibonacci", "bitwise", "vm"]
)
def test_honest_traces_pass(air_cli, trace: str, air: str) -> None:
    code, out, err = air_cli("check", str(TRACES / f"{trace}.npz"), "--air", air)
    assert code == 0, out + err


def test_broken_traces_fail_naming_file_and_line(air_cli) -> None:
    cases = [
        # fibonacci_broken: a[7] = 22: a' = b fails on row 6 only (regenerate.py)
        ("fibonacci_broken", FIB, at("fibonacci.air", "enf a' = b"), [6]),
        # bitwise_broken: z[11] + 1: the XOR arm of the transition match, rows 10 and 11
        ("bitwise_broken", BIT, at("bitwise.air", "case s: k1"), [10, 11]),
        # vm_broken: clk[7] = 8: the clock constraint, rows 6 and 7
        ("vm_broken", VM, at("vm.air", "enf b[0] * (clk'"), [6, 7]),
    ]
    for trace, air, name, rows in cases:
        code, out, _ = air_cli("check", str(TRACES / f"{trace}.npz"), "--air", air, "--format", "json")
        assert code == 1, out
        doc = json.loads(out)
        failing = [(f["constraint"], [r["row"] for r in f["rows"]]) for f in doc["failures"]]
        assert doc["unmatched"] == []
        assert failing == [(name, rows)], (trace, failing)
        code, text, _ = air_cli("check", str(TRACES / f"{trace}.npz"), "--air", air)
        assert code == 1 and name in text


def test_an_unmatched_bus_message_is_named(air_cli) -> None:
    code, out, _ = air_cli("check", str(TRACES / "vm_unmatched.npz"), "--air", VM)
    # STORE on row 6 removes (5, 50); the memory row 14 inserts (5, 51): both unmatched, nothing else fails
    assert code == 1
    assert (
        f"term {at('vm.air', 'mem.remove')} at row 6" in out and f"term {at('vm.air', 'mem.insert')} at row 14" in out
    )
    assert "v0=5 v1=50" in out and "v0=5 v1=51" in out
    assert "bus rc: balanced" in out


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the VM fragment (vm.air + vm_ops.air) in ``tmp_path`` with ``old`` replaced once by ``new``."""
    for name in ("vm.air", "vm_ops.air"):
        text = (EXAMPLES / name).read_text()
        if old in text:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        (tmp_path / name).write_text(text)
    assert new in (tmp_path / "vm.air").read_text() + (tmp_path / "vm_ops.air").read_text()
    return tmp_path / "vm.air"


WHEN_LINE = "enf m_sel' = 1 when m_sel;  # degree 2"


def test_a_wrong_annotation_is_flagged_by_degrees_and_gate(air_cli, tmp_path: Path) -> None:
    # the variant claims degree 1 for m_sel * (m_sel' - 1), whose degree is 2 (a product of two columns)
    bad = variant(tmp_path, WHEN_LINE, WHEN_LINE.replace("# degree 2", "# degree 1"))
    name = at("vm.air", WHEN_LINE)
    doc = degrees(air_cli, str(bad))
    assert [(d["item"], d["claimed"], d["computed"]) for d in doc["claim_differences"]] == [(name, 1, 2)]
    assert degrees(air_cli, VM)["claim_differences"] == []  # the honest file's annotations all hold
    # the gate: a baseline written from the honest file, the variant gated against it: its claim below the
    # computed degree is a failure (exit 1) naming the constraint; the honest file passes
    base = tmp_path / "base.json"
    code, _, err = air_cli("gate", "--air", VM, "--baseline", str(base), "--update")
    assert code == 0, err
    code, out, _ = air_cli("gate", "--air", VM, "--baseline", str(base))
    assert code == 0, out
    code, out, _ = air_cli("gate", "--air", str(bad), "--baseline", str(base))
    assert code == 1 and name in out and "claims degree 1" in out, out


def test_compare_with_a_builtin_design(air_cli) -> None:
    code, out, err = air_cli("compare", VM, "miden-v0.19")
    assert code == 0, err
    assert "VmFragment" in out and "miden-v0.19" in out


def test_explain_a_constraint(air_cli) -> None:
    name = at("vm.air", "enf b[0] * (clk'")
    code, out, err = air_cli("explain", name, "--air", VM)
    assert code == 0, err
    assert name in out and "clk" in out


def test_a_syntax_error_is_one_line_naming_file_line_col(air_cli, tmp_path: Path) -> None:
    # line 4 lacks the `:` after `main` (trace_columns { main: [...], })
    bad = tmp_path / "bad.air"
    bad.write_text("def Bad\n\ntrace_columns {\n    main [a],\n}\n")
    code, out, err = air_cli("degrees", "--air", str(bad))
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:4:10:" in lines[0], err


def test_selector_lint_through_the_examples(air_cli, tmp_path: Path) -> None:
    # vm.air's match: the four flags of vm_ops.air decode two bits: binary and exclusive over the 4 assignments
    code, out, _ = air_cli("lint", "--air", VM, "--format", "json")
    assert code == 0, out
    (g,) = json.loads(out)["selector_groups"]
    assert g["group"] == f"{at('vm.air', 'enf match')} match" and g["arms"] == ["nop", "add", "mul", "store"]
    assert g["cells"] == ["b[0]", "b[1]"] and g["assignments"] == 4 and not g["overlaps"] and not g["non_binary"]
    # bitwise.air: two matches over s (arms !s and s): 2 assignments each, both fine
    code, out, _ = air_cli("lint", "--air", BIT, "--format", "json")
    assert code == 0 and [(g["arms"], g["assignments"]) for g in json.loads(out)["selector_groups"]] == [
        (["!s", "s"], 2),
        (["!s", "s"], 2),
    ]
    # a variant whose STORE arm is selected by b[0] alone: b[0] = 1, b[1] = 0 makes both add (b0 * (1 - b1) = 1)
    # and store (b0 = 1) one; nop = (1-b0)(1-b1) and mul = (1-b0) b1 are 0 wherever b0 = 1: the only overlap
    bad = variant(tmp_path, "case is_store(b): store", "case b[0]: store")
    code, out, _ = air_cli("lint", "--air", str(bad))
    assert code == 1, out
    assert "add and store can both be on: 1 and 1 at b[0]=1, b[1]=0" in out


def test_a_multiset_bus_whole_column_degree_multiplies_every_factor(air_cli, tmp_path: Path) -> None:
    # a variant where MUL also removes a message from mem: two request terms, each flag (degree 2) times a linear
    # message. AirScript expands mem' * (v_1 f_1 + 1 - f_1) * (v_2 f_2 + 1 - f_2): 1 + 3 + 3 = 7. The engine sums
    # the (exclusive) flags of one side: mem' * (f_1 v_1 + f_2 v_2 + 1 - f_1 - f_2): 1 + 3 = 4
    line = "mem.remove(s[1], s[0]) when is_store(b);"
    two = variant(tmp_path, line, line + "\n    mem.remove(s[0], s[1]) when is_mul(b);")
    (mem,) = [b for b in degrees(air_cli, str(two), "bus")["buses"] if b["name"] == "mem"]
    assert mem["airscript_degree"] == 7 and mem["degree"] == 4
    assert [t["degree"] for t in mem["terms"] if t["side"] == "request"] == [3, 3]


def test_public_inputs_from_a_json_file(air_cli, tmp_path: Path) -> None:
    # the honest vm trace ends with the stack (6, 6); a JSON file claiming stack_out[0] = 7 replaces the trace's
    # own public inputs, so exactly the boundary s[0].last = stack_out[0] fails, on the last row (15)
    pub = tmp_path / "pub.json"
    pub.write_text(json.dumps({"stack_in[0]": 3, "stack_in[1]": 4, "stack_out[0]": 7, "stack_out[1]": 6}))
    code, out, _ = air_cli("check", str(TRACES / "vm.npz"), "--air", VM, "--public", str(pub), "--format", "json")
    assert code == 1, out
    failing = [(f["constraint"], [r["row"] for r in f["rows"]]) for f in json.loads(out)["failures"]]
    assert failing == [(at("vm.air", "enf s[0].last"), [15])]
    pub.write_text(json.dumps({"stack_in[0]": 3, "stack_in[1]": 4, "stack_out[0]": 6, "stack_out[1]": 6}))
    code, out, _ = air_cli("check", str(TRACES / "vm.npz"), "--air", VM, "--public", str(pub))
    assert code == 0, out
