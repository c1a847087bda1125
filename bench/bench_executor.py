"""Benchmark: the reference executor on a MASM program of ~2^20 cycles, against a naive per-row trace builder
measured in the same run.

The program is a while loop of field operations (dup, mul, add, sub, eq, push, drop) under ``miden-v0.19``,
run through ``run_program`` (assembly, the per-cycle interpreter writing typed arrays, the trace's columns).
Each measurement runs in its own child process, so that its peak resident memory (``ru_maxrss``) is its own:

* executor: ``run_program`` end to end; cycles/s by CPU time of the process (the machine is shared: wall time
  is printed too) and peak memory above the child's start-up (imports);
* naive: the same trace stored as one Python dict per row (column name -> int, the columns of the design's
  AIR), then turned into numpy columns, the storage the issue describes ("per-row Python objects"); timed
  and its memory measured on ``--naive-rows`` rows (default 2^16) and scaled to the program's cycles (both
  grow linearly with the rows). The naive builder's values are the executor's own rows, so it measures only
  the cost of the storage, not of interpreting MASM: its rows/s is an upper bound for a per-row builder.

Each executor size runs ``--repeat`` times (default 3) in fresh processes: the minimum CPU time is reported (the
machine is shared; the least disturbed run) and the largest peak. The target of issue 15 (``air run`` >= 200 k
cycles/s on the complete model's columns) is printed with PASS/MISS for the largest size.

Run: ``python bench/bench_executor.py [iterations ...] [--naive-rows N] [--repeat R]`` (default 3000 12000 50000
iterations = 57,017 / 228,017 / 950,017 cycles, 2^16 / 2^18 / 2^20 trace rows).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DESIGN = "miden-v0.19"
TARGET = 200_000  # cycles/s, issue 15
PROGRAM = """
begin
    push.{n} push.1
    while.true
        dup.0 dup.0 mul push.3 add drop
        push.1 sub
        dup.0 push.0 eq push.0 eq
    end
    drop
end
"""


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_executor(path: str) -> dict[str, float]:
    from air.miden.executor import run_program

    base = rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    res = run_program(path, None, DESIGN)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"cycles": res.cycles, "rows": res.n_rows, "cols": len(res.columns), "cpu": cpu, "wall": wall,
            "base_mb": base, "peak_mb": rss_mb()}  # fmt: skip


def child_naive(path: str, rows: int) -> dict[str, float]:
    """One dict per row of every column, then numpy columns; the values come from a short executor run."""
    import numpy as np

    from air.miden.executor import run_program

    res = run_program(path, None, DESIGN)
    names = list(res.columns)
    src = {c: res.columns[c][:rows].tolist() for c in names}  # Python ints, as a per-row builder would hold
    base = rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    trace: list[dict[str, int]] = []
    for r in range(rows):
        trace.append({c: src[c][r] for c in names})
    cols = {c: np.array([row[c] for row in trace], dtype=np.uint64) for c in names}
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = rss_mb()
    assert all(np.array_equal(cols[c], res.columns[c][:rows]) for c in names)
    return {"rows": rows, "cols": len(names), "cpu": cpu, "wall": wall, "base_mb": base, "peak_mb": peak}


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def option(argv: list[str], name: str, default: int) -> tuple[list[str], int]:
    if name not in argv:
        return argv, default
    i = argv.index(name)
    return argv[:i] + argv[i + 2 :], int(argv[i + 1])


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        kind, path = argv[1], argv[2]
        print(json.dumps(child_executor(path) if kind == "executor" else child_naive(path, int(argv[3]))))
        return
    argv, naive_rows = option(argv, "--naive-rows", 1 << 16)
    argv, repeat = option(argv, "--repeat", 3)
    sizes = [int(a) for a in argv] or [3000, 12000, 50000]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for iterations in sizes:
            path = Path(tmp) / f"loop{iterations}.masm"
            path.write_text(PROGRAM.format(n=iterations))
            rs = [run_child("executor", str(path)) for _ in range(repeat)]
            best = min(rs, key=lambda r: r["cpu"])
            peak = max(r["peak_mb"] - r["base_mb"] for r in rs)
            runs.append((iterations, best, peak, max(r["peak_mb"] for r in rs)))
        # the naive builder's rows come from a program just long enough
        small = Path(tmp) / "small.masm"
        small.write_text(PROGRAM.format(n=naive_rows // 19 + 2))
        nv = min((run_child("naive", str(small), str(naive_rows)) for _ in range(repeat)), key=lambda r: r["cpu"])
    nv_rate = nv["rows"] / nv["cpu"]
    print(f"{DESIGN}: a while loop of field ops; executor runs: min CPU time of {repeat} fresh processes, the largest "
          f"peak memory above start-up (imports)")  # fmt: skip
    print(f"naive per-row dicts, {nv['rows']:,} rows: storage alone {nv_rate:,.0f} rows/s (min CPU of {repeat})")
    for iterations, ex, ex_mem, rss in runs:
        cycles = ex["cycles"]
        ex_rate = cycles / ex["cpu"]
        nv_mem = (nv["peak_mb"] - nv["base_mb"]) * ex["rows"] / nv["rows"]
        print(f"{iterations:>6} iterations = {cycles:>9,} cycles -> {ex['rows']:>9,} rows x {ex['cols']} columns: "
              f"{ex['cpu']:5.2f} s CPU ({ex['wall']:5.1f} s wall) = {ex_rate:>8,.0f} cycles/s "
              f"({ex_rate / nv_rate:.1f}x the naive storage alone); peak {ex_mem:,.0f} MB above start-up "
              f"({rss:,.0f} MB RSS; naive ~{nv_mem:,.0f} MB, {nv_mem / ex_mem:.1f}x)")  # fmt: skip
    iterations, ex, _, _ = runs[-1]
    rate = ex["cycles"] / ex["cpu"]
    verdict = "PASS" if rate >= TARGET else "MISS"
    print(f"target (issue 15): air run >= {TARGET:,} cycles/s on {ex['rows']:,} rows x {ex['cols']} columns: "
          f"{rate:,.0f} cycles/s = {rate / TARGET:.2f}x the target -> {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
