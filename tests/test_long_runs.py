"""Long runs: the cycle cap of `air run` (exit 2 naming where the program got to) and its progress line on stderr
(only on a terminal, only after PROGRESS_AFTER seconds)."""

import io
import sys
from collections import Counter
from pathlib import Path

import pytest

import air.cli as cli
import air.miden.executor as executor
from air.miden.executor import ExecutionError, run_program

LOOP = "begin\n    push.1\n    while.true\n        push.1\n    end\nend\n"  # never ends
COUNT = (
    "begin\n    push.200 push.1\n    while.true\n        push.1 sub dup.0 push.0 eq push.0 eq\n    end\n"
    "    drop\nend\n"  # back to depth 16 (Miden refuses more at the end)
)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    p = tmp_path / "loop.masm"
    p.write_text(LOOP)
    return p


@pytest.fixture
def count(tmp_path: Path) -> Path:
    p = tmp_path / "count.masm"
    p.write_text(COUNT)
    return p


def test_while_true_stops_at_the_cycle_cap(air_cli, loop) -> None:
    code, out, err = air_cli("run", str(loop), "--air", "miden-v0.19", "--max-cycles", "5000")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "exceeded 5,000 cycles" in err and "loop.masm:" in err
    with pytest.raises(ExecutionError, match="exceeded 300 cycles"):
        run_program(loop, None, "miden-v0.18", max_cycles=300)


def test_default_cap_is_2_to_the_20(capsys) -> None:
    opt = next(p for p in cli.run_cmd.params if p.name == "max_cycles")
    assert opt.default == 2**20 == executor.MAX_CYCLES


def test_progress_line_on_a_terminal(air_cli, count, monkeypatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_AFTER", -1.0)  # show it at once
    monkeypatch.setattr(executor, "PROGRESS_EVERY", 100)
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    code, out, _ = air_cli("run", str(count), "--air", "miden-v0.19")
    assert code == 0 and "stack: 0" in out
    cycles = int(out.split("cycles: ")[1].split()[0])
    shown = tty.getvalue()
    reports = shown.split("\r")[1:]
    # one report each 100 cycles, each rewriting the line; a newline ends it
    assert len(reports) == (cycles - 1) // 100 and shown.endswith("\n")
    assert reports[0].startswith("100 cycles, ") and "cycles/s" in reports[0]


def test_no_progress_when_not_a_terminal(air_cli, count, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_AFTER", -1.0)
    monkeypatch.setattr(executor, "PROGRESS_EVERY", 100)
    code, out, err = air_cli("run", str(count), "--air", "miden-v0.19")  # capsys: stderr is not a tty
    assert code == 0 and "stack: 0" in out and err == ""


def test_no_progress_on_a_terminal_before_the_threshold(air_cli, count, monkeypatch) -> None:
    monkeypatch.setattr(executor, "PROGRESS_EVERY", 100)
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    code, _, _ = air_cli("run", str(count), "--air", "miden-v0.19")  # well under PROGRESS_AFTER = 1 s
    assert code == 0 and tty.getvalue() == ""


def test_range_table_matches_a_greedy_walk() -> None:
    """The vectorized bridging equals a walk in Python ints: from 0 to 65535 through every requested value,
    each step the largest power of 3 up to 3^7 that does not pass the next value (range.md); 65535 twice."""
    import numpy as np

    from air.miden.executor import range_table

    rng = np.random.default_rng(7)
    for k in (0, 1, 5, 300, 5000):
        req = rng.integers(0, 65536, size=k).tolist() + ([0, 65535, 2188] if k == 5 else [])
        want, v = [], 0
        for stop in sorted(set(req) | {65535}):
            while v < stop:
                want.append(v)
                v += max(3**j for j in range(8) if 3**j <= stop - v)
        want += [65535, 65535]
        got_v, got_m = range_table(np.array(req, dtype=np.uint64))
        assert got_v.tolist() == want
        mult = dict(Counter(req))
        assert {int(a): int(b) for a, b in zip(got_v, got_m) if b} == mult
        assert got_m[-1] == 0
