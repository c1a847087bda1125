"""The air command as a user runs it: outputs, JSON keys, exit codes, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from air.cli import cli
from air.examples.fibonacci import fibonacci_trace
from air.examples.stack_machine import stack_machine_trace
from air.trace import save_trace

P = 2**64 - 2**32 + 1


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr if r.stderr_bytes is not None else ""


def air_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "air", *args], capture_output=True, text=True, timeout=300)


def test_airs_lists_builtins() -> None:
    code, out, _ = run("airs")
    assert code == 0
    for name in ("fibonacci", "stack-machine", "miden-v0.18", "miden-v0.19", "miden-fnhash-mem-column"):
        assert name in out


def test_airs_columns_marks_unread(tmp_path: Path) -> None:
    code, out, _ = run("airs", "--columns", "miden-v0.19")  # the whole model reads every column
    assert code == 0 and "71 columns, 0 not read" in out and "UNCHECKED" not in out
    src = tmp_path / "two.py"
    src.write_text(
        "from air.air import Air\n"
        "def make():\n"
        "    air = Air('two', 'one column unread', budget=2)\n"
        "    x, y = air.columns('main', ['x', 'y'])\n"
        "    air.transition('t', x.next - x)\n"
        "    return air\n"
    )
    code, out, _ = run("airs", "--columns", f"{src}:make")
    assert code == 0 and "UNCHECKED" in out and "2 columns, 1 not read" in out


def test_degrees_json_by_constraint() -> None:
    code, out, _ = run("degrees", "--air", "miden-sys-fmp", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"air", "budget", "constraints", "claim_differences"} and doc["budget"] == 9
    keys = {"name", "domain", "degree", "structural_degree", "flag_degree", "body_degree", "claimed_degree", "tags"}
    assert all(set(c) == keys for c in doc["constraints"])
    fmpupdate = next(c for c in doc["constraints"] if c["name"] == "fmpupdate")
    assert (fmpupdate["degree"], fmpupdate["flag_degree"], fmpupdate["body_degree"]) == (9, 7, 2)


def test_degrees_json_by_op_and_bus() -> None:
    doc = json.loads(run("degrees", "--air", "miden-v0.19", "--by", "op", "--format", "json")[1])
    ops = {o["name"]: o for o in doc["operations"]}
    assert set(ops["DYNCALL"]) >= {"name", "opcode", "flag_degree", "body_degree", "degree", "headroom", "constraints"}
    assert ops["DYNCALL"]["opcode"] == 92 and ops["DYNCALL"]["degree"] == 9 and ops["DYNCALL"]["headroom"] == 0
    assert "bus:chiplets/u_dyncall" in ops["DYNCALL"]["constraints"]
    doc = json.loads(run("degrees", "--air", "miden-v0.19", "--by", "bus", "--format", "json")[1])
    chip = next(b for b in doc["buses"] if b["name"] == "chiplets")
    term = next(t for t in chip["terms"] if t["name"] == "u_dyncall")
    assert chip["degree"] == 9 and term["degree"] == 8 and term["operation"] == "DYNCALL"
    assert term["factors"] == ["h_dynordyncall", "m_dynordyncall", "m_fmpwrite"]


def test_degrees_table_and_markdown() -> None:
    code, out, _ = run("degrees", "--air", "miden-fnhash-mem", "--by", "bus")
    assert code == 0 and "OVER BUDGET by 1" in out and "u_dyncall" in out
    code, out, _ = run("degrees", "--air", "miden-v0.18", "--by", "op", "--format", "markdown")
    assert code == 0 and out.startswith("## miden-v0.18") and "| FMPUPDATE | 47 |" in out


def test_compare_column_counts() -> None:
    code, out, _ = run("compare", "miden-v0.18", "miden-v0.19", "--format", "json")
    doc = json.loads(out)
    cols = {a["air"]: a["columns"]["total"] for a in doc["airs"]}
    assert code == 0 and cols == {"miden-v0.18": 73, "miden-v0.19": 71}
    assert all({"air", "columns", "max_degree", "over_budget"} <= set(a) for a in doc["airs"])
    code, out, _ = run("compare", "miden-v0.18", "miden-v0.19")
    assert any(line.split() == ["columns:", "total", "73", "71"] for line in out.splitlines())


def test_explain() -> None:
    code, out, _ = run("explain", "fmpupdate", "--air", "miden-sys-fmp")
    assert code == 0 and "LaTeX:" in out and "degree 9" in out and "f_fmpupdate" in out
    code, out, _ = run("explain", "chiplets/u_dyncall", "--air", "miden-v0.19")
    assert code == 0 and "f_dyncall(5) * h_dynordyncall(1) * m_dynordyncall(1) * m_fmpwrite(1) = term degree 8" in out
    assert "multiplied by b_chip': bus constraint degree 9 for this term" in out


def test_gate_passes_on_baselines_and_fails_when_raised(tmp_path) -> None:
    for name in ("miden-v0.19", "miden-fnhash-mem"):  # the second is over budget by design
        code, out, _ = run("gate", "--air", name, "--baseline", f"reports/degrees-{name}.json")
        assert code == 0, out
    # a copy of the fibonacci AIR with one constraint raised
    user = tmp_path / "raised.py"
    user.write_text(
        "from air.examples.fibonacci import fibonacci_air\n"
        "def make():\n"
        "    air = fibonacci_air()\n"
        "    air.name = 'fibonacci'\n"
        "    c = air.constraints[1]\n"
        "    object.__setattr__(c, 'expr', c.expr * air.col('a'))\n"
        "    return air\n"
    )
    base = tmp_path / "base.json"
    assert run("gate", "--air", "fibonacci", "--baseline", str(base), "--update")[0] == 0
    code, out, _ = run("gate", "--air", f"{user}:make", "--baseline", str(base))
    assert code == 1 and "constraint fib_b: degree rose 1 -> 2 (+1)" in out


@pytest.fixture()
def stack_trace(tmp_path) -> Path:
    cols, pis = stack_machine_trace(256, seed=5)
    return save_trace(tmp_path / "sm.npz", cols, pis, {"air": "stack-machine"})


def test_check_ok_and_failure(stack_trace, tmp_path) -> None:
    code, out, _ = run("check", str(stack_trace), "--air", "stack-machine")
    assert code == 0 and out.startswith("OK")
    cols = dict(np.load(stack_trace, allow_pickle=False))
    cols = {k: v for k, v in cols.items() if not k.startswith("__")}
    cols["depth"][100] = (int(cols["depth"][100]) + 1) % P
    bad = save_trace(tmp_path / "bad.npz", cols, {}, {"air": "stack-machine"})
    code, out, _ = run("check", str(bad))  # the AIR comes from the file's metadata
    assert code == 1 and "_depth (transition)" in out and "row 99" in out and "row 100" in out
    code, out, _ = run("check", str(bad), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["ok"] is False
    rows = {r["row"] for f in doc["failures"] for r in f["rows"]}
    assert {99, 100} <= rows


@pytest.mark.parametrize(
    "content,needle",
    [
        (f"a,b\n1,1\n1,{P}\n", "value 18446744069414584321 is not a field element"),
        ("a\n1\n1\n", "column 'b' of AIR 'fibonacci' is missing"),
        ("a,b\n1,1\n1,zz\n", "'zz' is not an integer"),
    ],
)
def test_check_bad_input_exit_2(air_proc, tmp_path, content, needle) -> None:
    p = tmp_path / "t.csv"
    p.write_text(content)
    r = air_proc("check", str(p), "--air", "fibonacci")
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_check_random_bytes_and_unknown_air(air_proc, tmp_path) -> None:
    p = tmp_path / "junk.npz"
    p.write_bytes(bytes(range(256)) * 10)
    r = air_proc("check", str(p), "--air", "fibonacci")
    assert r.returncode == 2 and "not a readable NPZ file" in r.stderr and "Traceback" not in r.stderr
    r = air_proc("degrees", "--air", "no-such-air")
    assert r.returncode == 2 and "unknown AIR 'no-such-air'" in r.stderr


def test_check_fibonacci_honest_csv(air_proc, tmp_path) -> None:
    cols, pis = fibonacci_trace(16)
    p = save_trace(tmp_path / "f.csv", cols, pis)
    r = air_proc("check", str(p), "--air", "fibonacci")
    assert r.returncode == 0, r.stderr


def test_check_zero_message_under_given_challenges_exit_2(air_proc, tmp_path) -> None:
    src = tmp_path / "busair.py"
    src.write_text(
        "from air.air import Air, Bus, BusTerm, Message\n"
        "def make():\n"
        "    air = Air('zb', 'one request, one response', n_challenges=2)\n"
        "    req, resp, x = air.columns('main', ['req', 'resp', 'x'])\n"
        "    m = Message('m', None, (('x', x),))\n"
        "    air.bus(Bus('b', 'multiset', 'acc', (BusTerm('u', 'request', req, (m,)),"
        " BusTerm('v', 'response', resp, (m,)))))\n"
        "    return air\n"
    )
    trace = tmp_path / "t.csv"
    trace.write_text("req,resp,x\n1,0,0\n0,1,0\n0,0,0\n0,0,0\n")
    r = air_proc("check", str(trace), "--air", f"{src}:make", "--challenges", "0,1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "evaluate to 0 on row 0" in r.stderr
    assert air_proc("check", str(trace), "--air", f"{src}:make", "--challenges", "5,1").returncode == 0


@pytest.mark.parametrize(
    "args,needle",
    [
        (["check", "x.npz", "--format", "nope"], "Invalid value for '--format'"),
        (["check", "t.npz", "--max-failures", "-3"], "'--max-failures': -3 is not in the range"),
        (["check", "t.npz", "--context", "-1"], "'--context': -1 is not in the range"),
        (["check"], "Missing argument 'TRACE'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(air_proc, args, needle) -> None:
    r = air_proc(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("air: error: ") and needle in r.stderr


def test_bare_air_prints_help(air_proc) -> None:
    r = air_proc()
    assert r.returncode == 0 and r.stdout.startswith("Usage: air") and "check" in r.stdout


@pytest.mark.parametrize(
    "program,needle",
    [
        ("begin\n  push.1 push.2 assert_eq\nend\n", "p.masm:2:17: assert_eq: assertion failed"),
        ("begin\n  push.4294967296 mem_load\nend\n", "p.masm:2:19: mem_load: memory address 4294967296 is not a u32"),
        ("begin\n  push.7 if.true push.1 end\nend\n", "if.true: condition 7 is not binary"),
    ],
)
def test_run_execution_errors_name_the_instruction(air_proc, tmp_path, program, needle) -> None:
    p = tmp_path / "p.masm"
    p.write_text(program)
    r = air_proc("run", str(p), "--air", "miden-v0.19")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr


def test_run_refuses_a_design_it_does_not_execute(air_proc, tmp_path) -> None:
    p = tmp_path / "p.masm"
    p.write_text("begin\n  push.1\nend\n")
    r = air_proc("run", str(p), "--air", "stack-machine")  # a built-in AIR, not a Miden design
    assert r.returncode == 2 and "does not run design 'stack-machine'" in r.stderr and r.stderr.count("\n") == 1
