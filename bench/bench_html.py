"""Benchmark: the cost of ``air check --html`` (the page: strip, coverage, rendering) against the check itself.

A stack-machine trace of 2^N rows (default 2^18) with s0 forged on every 97th row, so that thousands of rows fail
and the strip has a tick in most columns. Timed (min of the repetitions, process CPU time and wall time, as the
machine is shared): the check (constraints and the diagnosis written as the JSON report); the page
(``html_report.check_html``: the operation of every row, the coverage, the page); and the strip's binning alone,
vectorized (``build_strip``) against a naive per-row Python loop over the same rows (the baseline).

Run: ``python bench/bench_html.py [log2 rows] [repetitions]`` (default 18 and 3).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from air.coverage import row_operation_codes
from air.diagnose import diagnose, to_json
from air.evaluate import active_operations, check
from air.examples.stack_machine import stack_machine_air, stack_machine_trace
from air.html_report import STRIP_BINS, build_strip, check_html
from air.trace import Trace

P = 2**64 - 2**32 + 1


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float, object]:
    """(min CPU seconds, min wall seconds, the last result) over ``reps`` runs."""
    cpu, wall, out = [], [], None
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), out


def naive_strip(ops: list[int], failing: list[int], bins: int) -> tuple[list[int], list[int]]:
    """The baseline: the majority operation (a tie to the lowest code, -1 first) and the failure count of every
    bin, row by row in Python."""
    n = len(ops)
    k = min(n, bins)
    per_bin: list[Counter] = [Counter() for _ in range(k)]
    for r, op in enumerate(ops):
        per_bin[r * k // n][op] += 1
    fails = [0] * k
    for r in failing:
        fails[r * k // n] += 1
    majority = [min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for c in per_bin]
    return majority, fails


def main() -> None:
    log_n = int(sys.argv[1]) if len(sys.argv) > 1 else 18
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    air = stack_machine_air()
    cols, pis = stack_machine_trace(1 << log_n)
    arr = {k: np.array([int(v) % P for v in c], dtype=np.uint64) for k, c in cols.items()}
    arr["s0"][5::97] = (arr["s0"][5::97] + 1) % P
    trace = Trace(arr, 1 << log_n, public_inputs=pis, source="forged")

    def check_json() -> tuple:
        res = check(air, trace)
        return res, to_json(diagnose(air, trace, res))

    c_cpu, c_wall, (res, doc) = timed(check_json, reps)
    rows = [f.rows for f in res.failures]
    page_cpu, page_wall, page = timed(lambda: check_html(air, trace, doc, rows, []), reps)
    codes = row_operation_codes(air, trace)
    names = [o.name for o in air.operations]
    ops, failing = codes.tolist(), np.concatenate(rows).tolist() if rows else []
    v_cpu, v_wall, strip = timed(lambda: build_strip(codes, names, rows, [], STRIP_BINS), reps)
    n_cpu, n_wall, (majority, fails) = timed(lambda: naive_strip(ops, failing, STRIP_BINS), reps)
    assert strip.bin_operation.tolist() == majority and strip.failures.tolist() == fails  # the same, both ways
    # the operation of every row: vectorized over chunks (row_operation_codes) against evaluate.active_operations
    # (flags vectorized, then a Python loop over the rows where each flag is set: the baseline)
    o_cpu, o_wall, _ = timed(lambda: row_operation_codes(air, trace), reps)
    a_cpu, a_wall, named = timed(lambda: active_operations(air, trace, np.arange(trace.n_rows)), reps)
    assert [names[c] if c >= 0 else None for c in ops] == named
    print(f"stack-machine, {trace.n_rows} rows, {doc['summary']['failing_rows']} failing rows; min of {reps} runs")
    print(f"check + JSON report        cpu {c_cpu:7.3f} s  wall {c_wall:7.3f} s")
    print(f"HTML page (check_html)     cpu {page_cpu:7.3f} s  wall {page_wall:7.3f} s  ({len(str(page)) // 1024} kB)")
    print(f"  page / check             {page_cpu / c_cpu:7.2f}x (CPU)")
    print(f"strip binning, vectorized  cpu {v_cpu:7.3f} s  wall {v_wall:7.3f} s")
    print(f"strip binning, per row     cpu {n_cpu:7.3f} s  wall {n_wall:7.3f} s  -> {n_cpu / max(v_cpu, 1e-9):.1f}x")
    print(f"row operations, vectorized cpu {o_cpu:7.3f} s  wall {o_wall:7.3f} s")
    print(f"active_operations          cpu {a_cpu:7.3f} s  wall {a_wall:7.3f} s  -> {a_cpu / max(o_cpu, 1e-9):.1f}x")


if __name__ == "__main__":
    main()
