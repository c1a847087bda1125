"""Benchmark: the cost of the failure report (``air.diagnose.diagnose``) against the check it explains.

A committed honest miden-v0.19 trace (traces/ordinary) with seven cells forged (each in a different column), so
that about ten constraints fail; timed: ``check`` alone, then ``diagnose`` of its result (operations on every
shown row and its successor, cell values, windows). The report should cost about as much as the check, not a
multiple of it: the operation flags are evaluated once for the whole report.

Run: ``python bench/bench_diagnose.py [repetitions]`` (default 5).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from air.diagnose import diagnose
from air.evaluate import check
from air.miden.executor import FILLED_FAMILIES
from air.registry import load_air
from air.select import select_families
from air.trace import Trace, load_trace

P = 2**64 - 2**32 + 1
FORGED = ["clk", "s0", "s3", "ctx", "b0", "h0", "s15"]


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    air = select_families(load_air("miden-v0.19"), FILLED_FAMILIES)[0]
    honest = load_trace("traces/ordinary/miden-v0.19.npz")
    cols = {k: v.copy() for k, v in honest.columns.items()}
    rng = np.random.default_rng(1)
    for col in FORGED:
        r = int(rng.integers(5, honest.n_rows - 5))
        cols[col][r] = (int(cols[col][r]) + 7) % P
    trace = Trace(cols, honest.n_rows, public_inputs=honest.public_inputs, source="forged")
    res = check(air, trace)  # compiles the constraint programs once (cached for the runs below)
    t0 = time.perf_counter()
    for _ in range(reps):
        res = check(air, trace)
    t1 = time.perf_counter()
    for _ in range(reps):
        diagnose(air, trace, res)
    t2 = time.perf_counter()
    c, d = (t1 - t0) / reps, (t2 - t1) / reps
    print(f"{honest.n_rows} rows, {len(res.failures)} failing constraints, {res.total_failures} failing rows")
    print(f"check {c * 1000:.1f} ms; diagnose {d * 1000:.1f} ms; diagnose / check = {d / c:.2f}")


if __name__ == "__main__":
    main()
