"""Benchmark: `air check` on a 2^20-row trace of the Miden model, against a per-row Python evaluator,
measured in the same run.

The trace is real: the reference executor runs a MASM loop (a procedure with locals, memory stores and
loads, 16,000 iterations) under ``miden-v0.19`` and pads to 2^20 rows. Timed:

* vectorized: what ``air check`` does after loading -- every constraint on every row
  (``air.evaluate.check``) and every bus balanced exactly and by running product
  (``air.buscheck.check_buses``);
* per-row: the same work row by row with Python ints: every transition constraint, and for every bus
  term its flag and, when the flag is on, each message's value and the running product's update
  (``air.compile.eval_int`` on the same sympy definitions), on a slice of rows.

Run: ``python bench/bench_check.py [iterations]`` (default 16000, which fills 2^20 rows).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loop_program import loop_run  # bench/loop_program.py: the script's own folder is on sys.path

from air.air import message_value
from air.buscheck import challenges_from_seed, check_buses
from air.compile import eval_int
from air.evaluate import check, row_env
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, export
from air.select import select_families
from air.symbols import AuxCell
from air.trace import Trace

P = 2**64 - 2**32 + 1
DESIGN = "miden-v0.19"


def per_row(air, trace: Trace, rows: range, alphas: list[int]) -> None:
    """Everything `check` does, one row at a time with Python ints (no numpy)."""
    challenges = {c.name: v for c, v in zip(air.challenges, alphas)}
    # constraints over bus columns are not evaluated by `check` either (it names them)
    skip = {c.name for c in air.constraints if any(isinstance(s, AuxCell) for s in c.expr.free_symbols)}
    trans = [c.expr for c in air.constraints if c.domain == "transition" and c.name not in skip]
    acc = 1
    for r in rows:
        env = row_env(air, trace, r, challenges)
        for e in trans:
            if eval_int(e, env):
                raise AssertionError(f"row {r}")
        for bus in air.buses:
            for term in bus.terms:
                if eval_int(term.flag, env):
                    v = 1
                    for m in term.messages:
                        v = v * eval_int(message_value(m, air.challenges), env) % P
                    acc = acc * (v if term.side == "response" else pow(v, P - 2, P)) % P


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 16000
    # the families the executor fills (every family of the model; `--only` keeps the check the same as before)
    air = select_families(DESIGNS[DESIGN](), FILLED_FAMILIES)[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = loop_run(iterations, DESIGN, Path(tmp))
        t_build = time.perf_counter() - t0
        # what a user sees: `air check` on the exported file, start-up and loading included
        path = export(res, Path(tmp) / "loop.npz")
        t0 = time.perf_counter()
        only = ["--only", ",".join(FILLED_FAMILIES)]
        cli = subprocess.run([sys.executable, "-m", "air", "check", str(path), *only], capture_output=True, text=True)
        t_cli = time.perf_counter() - t0
        assert cli.returncode == 0, cli.stdout + cli.stderr
    n = res.n_rows
    trace = Trace(res.columns, n, public_inputs=res.public_inputs, public_tables=res.public_tables)
    print(f"{DESIGN}: {len(air.constraints)} constraints, {len(air.buses)} buses; a MASM loop of {iterations} "
          f"iterations ran {res.cycles} cycles -> {n} rows (executor: {t_build:.0f} s)")  # fmt: skip

    small = Trace({k: v[:4096] for k, v in res.columns.items()}, 4096, res.public_inputs, {}, "", res.public_tables)
    check(air, small)  # warm-up: compile the programs once
    check_buses(air, small, seed=1)
    t0 = time.perf_counter()
    result = check(air, trace)
    t_cons = time.perf_counter() - t0
    t0 = time.perf_counter()
    buses = check_buses(air, trace, seed=1)
    t_bus = time.perf_counter() - t0
    assert result.ok and buses.ok, "the executor's trace must pass"
    t_vec = t_cons + t_bus
    vec = n / t_vec

    m = 2000
    start = n // 3
    t0 = time.perf_counter()
    per_row(air, trace, range(start, start + m), challenges_from_seed(air, 1))
    slow = m / (time.perf_counter() - t0)

    print(f"vectorized, {n} rows: constraints {t_cons:.2f} s + buses {t_bus:.2f} s = {t_vec:.2f} s "
          f"= {vec:,.0f} rows/s")  # fmt: skip
    print(f"per-row Python ints, {m}-row slice: {slow:,.0f} rows/s (whole trace: ~{n / slow:,.0f} s)")
    print(f"ratio vectorized / per-row: {vec / slow:.0f}x  (target >= 200x)")
    print(f"`air check` on the exported {n}-row file, end to end (start-up, load, report): {t_cli:.1f} s")
    print(f"messages on the buses: {', '.join(f'{b.bus} {b.messages}' for b in buses.buses)}")


if __name__ == "__main__":
    main()
