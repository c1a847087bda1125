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

Run: ``python bench/bench_executor.py [iterations] [--naive-rows N]`` (default 50000 iterations = 950,017 cycles,
2^20 trace rows).
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


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        kind, path = argv[1], argv[2]
        print(json.dumps(child_executor(path) if kind == "executor" else child_naive(path, int(argv[3]))))
        return
    naive_rows = 1 << 16
    if "--naive-rows" in argv:
        i = argv.index("--naive-rows")
        naive_rows = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    iterations = int(argv[0]) if argv else 50000
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "loop.masm"
        big.write_text(PROGRAM.format(n=iterations))
        ex = run_child("executor", str(big))
        # the naive builder's rows come from a program just long enough
        small = Path(tmp) / "small.masm"
        small.write_text(PROGRAM.format(n=naive_rows // 19 + 2))
        nv = run_child("naive", str(small), str(naive_rows))
    cycles = ex["cycles"]
    ex_rate, ex_mem = cycles / ex["cpu"], ex["peak_mb"] - ex["base_mb"]
    nv_rate = nv["rows"] / nv["cpu"]
    nv_mem = (nv["peak_mb"] - nv["base_mb"]) * ex["rows"] / nv["rows"]
    print(f"{DESIGN}: a while loop of {iterations} iterations of field ops = {cycles:,} cycles -> "
          f"{ex['rows']:,} rows x {ex['cols']} columns")  # fmt: skip
    print(f"executor (run_program end to end): {ex['cpu']:.1f} s CPU ({ex['wall']:.1f} s wall) = {ex_rate:,.0f} "
          f"cycles/s; peak memory {ex_mem:,.0f} MB above start-up ({ex['peak_mb']:,.0f} MB RSS)")  # fmt: skip
    print(f"naive per-row dicts, {nv['rows']:,} rows: storage alone {nv_rate:,.0f} rows/s (whole trace: "
          f"~{ex['rows'] / nv_rate:,.0f} s on top of interpreting); memory ~{nv_mem:,.0f} MB scaled to "
          f"{ex['rows']:,} rows")  # fmt: skip
    print(f"memory naive / executor: {nv_mem / ex_mem:.1f}x")


if __name__ == "__main__":
    main()
