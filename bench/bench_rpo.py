"""Benchmark: RPO permutations and hasher chiplet rows, measured in the same run.

* naive: ``air.miden.rpo.permute_trace`` (pure Python ints, the checked reference), one state at a time;
* numpy: ``air.miden.rpo_vec.permute_trace_many`` over N distinct states at once (uint64, 32-bit limbs);
* repeated: ``hasher_trace.rows`` for a loop that re-hashes the same blocks R times (each distinct job's rows
  built once and copied, as the processor copies a memoized block): hasher rows/s, and the permutations/s this
  amounts to, against what the naive path would take for them.

Run: ``python bench/bench_rpo.py [N] [R]`` (defaults 4096 states, 2^16 repetitions).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from air.miden import hasher_trace as HT
from air.miden import rpo, rpo_vec


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 16
    rng = np.random.default_rng(2026)
    states = rng.integers(0, rpo.P, size=(n, 12), dtype=np.uint64)

    k = min(n, 200)
    py_states = [[int(v) for v in s] for s in states[:k]]
    t0 = time.perf_counter()
    ref = [rpo.permute_trace(s) for s in py_states]
    t_naive = (time.perf_counter() - t0) / k

    rpo_vec.permute_trace_many(states[:64])  # warm-up
    t0 = time.perf_counter()
    out = rpo_vec.permute_trace_many(states)
    t_vec = (time.perf_counter() - t0) / n
    assert all(out[i].tolist() == [list(x) for x in ref[i]] for i in range(k)), "rpo_vec differs from rpo"

    # a loop body: its control block (LOOP) once, then per iteration its basic block and one HPERM of a fixed state
    body = HT.LinearHash(tuple(range(1, 9)))
    perm = HT.Permute(tuple(range(12)))
    jobs: list[HT.Job] = [HT.Merge((1, 2, 3, 4), (0, 0, 0, 0), 85)] + [body, perm] * reps
    t0 = time.perf_counter()
    rows = HT.rows(jobs)
    t_rows = time.perf_counter() - t0
    perms = len(rows) // 8

    print(f"naive rpo (pure Python): {1 / t_naive:,.0f} permutations/s ({t_naive * 1e3:.2f} ms each, {k} states)")
    print(f"rpo_vec (numpy, {n} states at once): {1 / t_vec:,.0f} permutations/s  ({t_naive / t_vec:.1f}x naive)")
    print(
        f"hasher_trace.rows, {reps:,} loop iterations ({perms:,} permutations, {len(rows):,} rows): "
        f"{t_rows:.2f} s = {perms / t_rows:,.0f} permutations/s  (naive: {perms * t_naive:,.0f} s, "
        f"{perms * t_naive / t_rows:,.0f}x)"
    )


if __name__ == "__main__":
    main()
