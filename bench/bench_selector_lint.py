"""Benchmark: the selector lint (``air.lint.check_selectors``) on a 2^16-assignment group, vs a naive loop.

The group: 16 binary columns b0..b15 and 16 arms, arm i = b_i * prod_{j != i, j < 4} (1 - b_j) for i < 4 (a
one-hot decode of the first four bits) and b_i * (1 - b_0) for i >= 4 (so arms 4.. overlap each other: the
lint has pairs to report). Both paths evaluate every arm on all 2^16 assignments of the 16 columns:

* vectorized: ``check_selectors`` (one compiled program over arrays of all assignments at once);
* naive: a Python loop over the assignments, each arm a ``sympy.lambdify``'d Python function of ints.

Times are the min of several runs, CPU time (``time.process_time``) beside wall time (the machine is shared).
Run: ``python bench/bench_selector_lint.py [runs]``.
"""

from __future__ import annotations

import sys
import time
from itertools import product

import sympy as sp

from air.air import Air
from air.lint import check_selectors

P = 2**64 - 2**32 + 1
K = 16


def make_air() -> Air:
    air = Air("sel-bench", "a selector group over 16 bits", budget=20)
    b = air.columns("main", [f"b{i}" for i in range(K)])
    arms = []
    for i in range(K):
        if i < 4:
            e = b[i] * sp.Mul(*[(1 - b[j]) for j in range(4) if j != i])
        else:
            e = b[i] * (1 - b[0])
        arms.append((f"A{i}", e))
    air.selector_groups["bench"] = arms
    return air


def naive(air: Air) -> tuple[int, int]:
    """Every arm on every assignment in a Python loop; returns (non-binary arms, overlapping pairs)."""
    (arms,) = air.selector_groups.values()
    cols = [sp.Symbol(c) for c in air.column_names]
    fns = [sp.lambdify(cols, e, "math") for _, e in arms]
    bad: set[int] = set()
    pairs: set[tuple[int, int]] = set()
    for v in product((0, 1), repeat=K):
        vals = [f(*v) % P for f in fns]
        on = [i for i, x in enumerate(vals) if x]
        bad.update(i for i in on if vals[i] != 1)
        pairs.update((i, j) for i in on for j in on if i < j)
    return len(bad), len(pairs)


def timed(fn, runs: int) -> tuple[float, float, object]:
    best_cpu = best_wall = float("inf")
    out = None
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    air = make_air()
    check_selectors(air)  # compile once (the program cache), as a second `air lint` run would
    cpu_v, wall_v, res = timed(lambda: check_selectors(air), runs)
    (g,) = res  # type: ignore[misc]
    cpu_n, wall_n, (nb, npairs) = timed(lambda: naive(air), max(1, runs - 1))  # type: ignore[misc]
    # both find the same overlapping pairs (the vectorized lint reports one witness per pair)
    assert len(g.overlaps) == npairs and len(g.non_binary) == nb, (len(g.overlaps), npairs)
    print(f"{2**K} assignments x {K} arms; {npairs} overlapping pairs, {nb} non-binary arms (both paths)")
    print(f"vectorized check_selectors: {cpu_v:.3f} s CPU, {wall_v:.3f} s wall (min of {runs})")
    print(f"naive Python loop:          {cpu_n:.3f} s CPU, {wall_n:.3f} s wall (min of {max(1, runs - 1)})")
    print(f"ratio (naive / vectorized): {cpu_n / cpu_v:.0f}x CPU, {wall_n / wall_v:.0f}x wall")


if __name__ == "__main__":
    main()
