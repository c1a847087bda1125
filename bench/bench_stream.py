"""Benchmark: `air check` of long traces of the whole miden-v0.19 model, streamed in row chunks from a
memory-mapped trace (air/chunked.py): peak memory against the trace's size, and --jobs 1 against --jobs 2.

The traces: the reference executor runs bench/loop_program.py (``--iterations``, default 16000: 2^20 rows), and
its rows are tiled to 2^20, 2^22 and 2^24 rows, written as directories of ``.npy`` files (the layout
``load_trace`` memory-maps, traces/FORMAT.md "Large traces"). A tiled trace is not one valid execution (each
seam breaks a few transitions, the public inputs' boundary messages count once): what is measured is the check's
time and memory, which do not depend on that. Each check is ``python -m air check DIR --only FILLED_FAMILIES``
(the families the executor fills, as bench_check.py) in a child process; its peak memory is the largest sum of
the RSS of the child and its workers (psutil, sampled every 50 ms), its CPU time the children's
``getrusage``. Baseline, in the same run: one numpy pass (a sum) over every column of the same mapped trace.

Run: ``python bench/bench_stream.py [--sizes 20,22,24] [--iterations N] [--base DIR] [--work DIR] [--repeat R]``.
The machine is shared: wall times are the min of ``--repeat`` runs; the CPU times are printed next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GIB = 1 << 30


def make_base(work: Path, iterations: int) -> Path:
    from loop_program import loop_run

    from air.trace import save_trace

    out = work / f"base-{iterations}"
    if (out / "__air_columns__.json").is_file():
        return out
    t = time.perf_counter()
    r = loop_run(iterations, "miden-v0.19")
    save_trace(str(out) + "/", r.columns, r.public_inputs, r.meta, public_tables=r.public_tables)
    print(f"executor: {iterations} iterations, {r.n_rows} rows in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def tile(base: Path, log_rows: int, work: Path) -> Path:
    """``base``'s rows repeated to 2^log_rows rows, column by column (never the whole trace in memory)."""
    out = work / f"t{log_rows}"
    n = 1 << log_rows
    names = json.loads((base / "__air_columns__.json").read_text())
    done = out / "__air_columns__.json"
    if done.is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = np.load(base / f"{name}.npy", mmap_mode="r")
        dst = np.lib.format.open_memmap(out / f"{name}.npy", mode="w+", dtype="<u8", shape=(n,))
        for s in range(0, n, len(src)):
            e = min(n, s + len(src))
            dst[s:e] = src[: e - s]
        dst.flush()
        del dst, src
    shutil.copy(base / "__air_meta__.json", out / "__air_meta__.json")
    shutil.copy(base / "__air_columns__.json", done)
    return out


def npz_of(trace_dir: Path) -> Path:
    """The same trace as a compressed NPZ (what ``air run -o t.npz`` writes)."""
    from air.trace import load_trace, save_trace

    out = trace_dir.with_suffix(".npz")
    if not out.is_file():
        t = load_trace(trace_dir)
        save_trace(out, {k: np.asarray(v) for k, v in t.columns.items()}, t.public_inputs, t.meta, t.public_tables)
    return out


def one_pass(trace_dir: Path) -> float:
    """Seconds (min of 3) of one numpy pass over every column: the floor any check pays to read the trace."""
    best = 1e9
    names = json.loads((trace_dir / "__air_columns__.json").read_text())
    for _ in range(3):
        t = time.perf_counter()
        for name in names:
            np.load(trace_dir / f"{name}.npy", mmap_mode="r").sum(dtype=np.uint64)
        best = min(best, time.perf_counter() - t)
    return best


def run_check(trace: Path, args: list[str]) -> dict[str, float]:
    """``air check`` in a child: wall seconds, CPU seconds (children's user+sys), peak RSS of its process tree."""
    import psutil

    from air.miden.executor import FILLED_FAMILIES

    cmd = [sys.executable, "-m", "air", "check", str(trace), "--only", ",".join(FILLED_FAMILIES), "--format", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    env = dict(os.environ, AIR_MAX_TRACE_BYTES=str(1 << 40))
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = [0]

    def sample() -> None:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                total = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            except psutil.Error:
                continue
            peak[0] = max(peak[0], total)
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    _, err = proc.communicate()
    th.join()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"air check failed ({proc.returncode}): {err.decode()[:500]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak": peak[0], "maxrss_child": after.ru_maxrss * 1024, "code": proc.returncode}


def best_of(trace: Path, args: list[str], repeat: int) -> dict[str, float]:
    runs = [run_check(trace, args) for _ in range(repeat)]
    return {
        "wall": min(r["wall"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
        "peak": max(r["peak"] for r in runs),
        "code": runs[0]["code"],
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,22,24", help="log2 of the row counts")
    ap.add_argument("--iterations", type=int, default=16000, help="loop iterations of the executor's run")
    ap.add_argument("--base", type=Path, default=None, help="an executor trace directory to tile (skips the run)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/air-bench-stream"))
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement up to 2^22 (2^24: one)")
    ap.add_argument("--jobs-at", type=int, default=22, help="the size at which --jobs 1 and 2 are compared")
    ap.add_argument("--npz-at", type=int, default=20, help="the size also checked from a compressed NPZ")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    base = a.base or make_base(a.work, a.iterations)
    sizes = [int(s) for s in a.sizes.split(",")]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    rows = []
    for k in sizes:
        d = tile(base, k, a.work)
        n_cols = len(json.loads((d / "__air_columns__.json").read_text()))
        size = (1 << k) * n_cols * 8
        floor = one_pass(d)
        r1 = best_of(d, ["--jobs", "1"], a.repeat if k <= 22 else 1)
        line = {
            "log_rows": k,
            "trace_gib": size / GIB,
            "one_pass_s": floor,
            "jobs1_wall_s": r1["wall"],
            "jobs1_cpu_s": r1["cpu"],
            "jobs1_peak_gib": r1["peak"] / GIB,
            "peak_over_trace": r1["peak"] / size,
            "x_one_pass": r1["wall"] / floor,
        }
        if k == a.jobs_at:
            r2 = best_of(d, ["--jobs", "2"], a.repeat)
            line |= {"jobs2_wall_s": r2["wall"], "jobs2_cpu_s": r2["cpu"], "jobs2_peak_gib": r2["peak"] / GIB}
            line["speedup_2_jobs"] = r1["wall"] / r2["wall"]
            rp = best_of(d, ["--jobs", "2", "--pool", "processes"], a.repeat)
            line |= {"procs2_wall_s": rp["wall"], "procs2_cpu_s": rp["cpu"], "procs2_peak_gib": rp["peak"] / GIB}
        if k == a.npz_at:  # the in-memory path: a compressed NPZ is inflated (one copy), chunks run on threads
            z = npz_of(d)
            z1 = best_of(z, ["--jobs", "1"], a.repeat)
            z2 = best_of(z, ["--jobs", "2"], a.repeat)
            line |= {
                "npz_jobs1_wall_s": z1["wall"],
                "npz_jobs1_cpu_s": z1["cpu"],
                "npz_peak_over_trace": z1["peak"] / size,
                "npz_jobs2_peak_over_trace": z2["peak"] / size,
                "npz_jobs2_wall_s": z2["wall"],
                "npz_jobs2_cpu_s": z2["cpu"],
                "npz_threads_speedup": z1["wall"] / z2["wall"],
            }
        rows.append(line)
        print(json.dumps(line), flush=True)
        print(f"  load average now {os.getloadavg()[0]:.1f}", flush=True)
    print("\ntargets:")
    for r in rows:
        k = r["log_rows"]
        print(
            f"  2^{k}: {r['trace_gib']:.2f} GiB trace, check {r['jobs1_wall_s']:.1f} s wall / "
            f"{r['jobs1_cpu_s']:.1f} s CPU "
            f"(--jobs 1; {r['x_one_pass']:.0f}x one numpy pass of {r['one_pass_s']:.2f} s)"
        )
        print(
            f"    peak RSS {r['jobs1_peak_gib']:.2f} GiB = {r['peak_over_trace']:.2f}x the trace "
            f"(target <= 1.5x): {verdict(r['peak_over_trace'] <= 1.5)}"
        )
        if k == 24:
            print(
                f"    2^24 streamed in <= 6 GB: {r['jobs1_peak_gib'] * GIB / 1e9:.2f} GB: "
                f"{verdict(r['jobs1_peak_gib'] * GIB <= 6e9)}"
            )
        if "npz_jobs1_wall_s" in r:
            worst = max(r["npz_peak_over_trace"], r["npz_jobs2_peak_over_trace"])
            print(
                f"    compressed NPZ (read into memory, packed): peak {r['npz_peak_over_trace']:.2f}x the trace "
                f"(--jobs 1), {r['npz_jobs2_peak_over_trace']:.2f}x (--jobs 2) "
                f"(target <= 1.5x): {verdict(worst <= 1.5)}; "
                f"--jobs 1 {r['npz_jobs1_wall_s']:.1f} s, "
                f"--jobs 2 (threads) {r['npz_jobs2_wall_s']:.1f} s: {r['npz_threads_speedup']:.2f}x"
            )
        if "speedup_2_jobs" in r:
            print(
                f"    --jobs 2 (threads): {r['jobs2_wall_s']:.1f} s wall / {r['jobs2_cpu_s']:.1f} s CPU, peak "
                f"{r['jobs2_peak_gib']:.2f} GiB = {r['jobs2_peak_gib'] / r['trace_gib']:.2f}x; "
                f"speedup over --jobs 1: {r['speedup_2_jobs']:.2f}x"
            )
            print(
                f"    --jobs 2 --pool processes: {r['procs2_wall_s']:.1f} s wall / {r['procs2_cpu_s']:.1f} s CPU, "
                f"peak (parent + workers) {r['procs2_peak_gib']:.2f} GiB = {r['procs2_peak_gib'] / r['trace_gib']:.2f}x"
            )


if __name__ == "__main__":
    main()
