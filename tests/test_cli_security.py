"""A trace file never chooses code to run; exit codes 2 (bad input) and 3 (internal error, --debug)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import air.cli
from air.examples.fibonacci import fibonacci_trace
from air.examples.stack_machine import stack_machine_trace
from air.miden.executor import FILLED_FAMILIES
from air.trace import load_trace, save_trace

MIDEN_TRACE = Path(__file__).parent.parent / "traces" / "nested_syscall" / "miden-v0.19.npz"




def air_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "air", *args], capture_output=True, text=True, timeout=300)


def stack_trace(tmp_path: Path, meta: dict) -> Path:
    cols, pis = stack_machine_trace(64, seed=3)
    return save_trace(tmp_path / "sm.npz", cols, pis, meta)


def test_metadata_cannot_run_a_file(tmp_path, air_cli) -> None:
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.py"
    evil.write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n"
        "def make_air():\n"
        f"    Path({str(marker)!r}).write_text('x')\n"
        "    from air.examples.stack_machine import stack_machine_air\n"
        "    return stack_machine_air()\n"
    )
    t = stack_trace(tmp_path, {"air": f"{evil}:make_air"})
    code, out, err = air_cli("check", str(t))
    assert code == 2 and not marker.exists()
    assert err.count("\n") == 1 and f"names AIR '{evil}:make_air'" in err and "pass --air" in err
    # the same file given on the command line is the user's choice: it runs
    code, out, err = air_cli("check", str(t), "--air", f"{evil}:make_air")
    assert code == 0 and marker.exists() and "checked against AIR stack-machine (--air)" in out


@pytest.mark.parametrize("name", ["sys:exit", "os:abort", "air.examples.fibonacci:fibonacci_air", "Fibonacci", 42])
def test_metadata_names_only_builtins(air_proc, tmp_path, name) -> None:
    t = stack_trace(tmp_path, {"air": name})
    r = air_proc("check", str(t))  # a subprocess: os:abort must not take the test run with it
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, (r.returncode, r.stderr)
    if isinstance(name, str):
        assert f"names AIR {name!r}" in r.stderr and "pass --air" in r.stderr
    else:  # not a name at all: the trace loader refuses the metadata before any AIR is looked up
        assert "meta.air is a JSON number, not the name of an AIR" in r.stderr


def test_no_air_named_requires_air(tmp_path, air_cli) -> None:
    t = stack_trace(tmp_path, {})
    code, out, err = air_cli("check", str(t))
    assert code == 2 and out == "" and err.count("\n") == 1 and "names no AIR; pass --air" in err
    assert air_cli("check", str(t), "--air", "stack-machine")[0] == 0


def test_air_option_wins_with_force_and_a_note(air_cli, tmp_path) -> None:
    cols, pis = fibonacci_trace(16)
    t = save_trace(tmp_path / "f.npz", cols, pis, {"air": "stack-machine"})
    code, out, err = air_cli("check", str(t), "--air", "fibonacci")  # a differing --air needs --force
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "names AIR 'stack-machine', not 'fibonacci'" in err and "--force" in err
    code, out, err = air_cli("check", str(t), "--air", "fibonacci", "--force")
    assert code == 0 and err == ""
    assert out.splitlines()[-1] == "checked against AIR fibonacci (--air; the trace names AIR 'stack-machine')"
    cols["b"][5] = (int(cols["b"][5]) + 1) % (2**64 - 2**32 + 1)  # the note does not change the exit code
    bad = save_trace(tmp_path / "bad.npz", cols, pis, {"air": "stack-machine"})
    code, out, err = air_cli("check", str(bad), "--air", "fibonacci", "--force")
    assert code == 1 and "(--air; the trace names AIR 'stack-machine')" in out and "fib_b" in out


def test_builtin_downgrade_is_visible(tmp_path, air_cli) -> None:
    """A forged Miden trace naming `fibonacci` (a built-in) is checked against fibonacci -- and says so."""
    loaded = load_trace(MIDEN_TRACE)
    fib, pis = fibonacci_trace(loaded.n_rows)
    cols = dict(loaded.columns) | {k: np.asarray(v) for k, v in fib.items()}
    t = save_trace(tmp_path / "forged.npz", cols, pis, dict(loaded.meta, air="fibonacci"))
    code, out, err = air_cli("check", str(t))
    assert code == 0 and "checked against AIR fibonacci (from the trace's metadata)" in out
    code, out, err = air_cli("check", str(t), "--format", "json")
    doc = json.loads(out)
    assert doc["checked_against"] == {
        "air": "fibonacci",
        "source": "from the trace's metadata",
        "text": "checked against AIR fibonacci (from the trace's metadata)",
        "not_evaluated": [],
    }
    # the honest Miden trace says which AIR it was checked against too
    # (restricted to the families the executor fills: the rest of the model is not its to pass)
    code, out, err = air_cli("check", str(MIDEN_TRACE), "--only", ",".join(FILLED_FAMILIES))
    assert code == 0 and "checked against AIR miden-v0.19 [only system," in out
    assert "(from the trace's metadata)" in out


def _boom(*a, **k):
    raise RuntimeError("boom\nsecond line")


def test_internal_error_is_exit_3_one_line(tmp_path, air_cli, monkeypatch) -> None:
    monkeypatch.setattr(air.cli, "cached_analysis", _boom)
    code, out, err = air_cli("degrees", "--air", "fibonacci")
    assert code == 3 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("air: internal error: RuntimeError: boom (please report; rerun with --debug")
    code, out, err = air_cli("--debug", "degrees", "--air", "fibonacci")
    assert code == 3 and "Traceback (most recent call last)" in err and "_boom" in err
    assert err.splitlines()[-1].startswith("air: internal error: RuntimeError: boom")
    # --debug is per run: the next run without it has no traceback
    assert "Traceback" not in air_cli("degrees", "--air", "fibonacci")[2]


def test_bad_input_stays_exit_2_under_debug(tmp_path, air_cli) -> None:
    code, out, err = air_cli("--debug", "degrees", "--air", "no-such-air")
    assert code == 2 and err.count("\n") == 1 and "unknown AIR 'no-such-air'" in err
