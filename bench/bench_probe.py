"""Benchmark: ``air probe`` mutations per second on a 2^16-row Miden trace, against the naive way (a full
``check`` + bus balance of the whole mutated trace per mutation), measured in the same run.

The trace is real: the reference executor runs a MASM loop (a procedure with locals and memory) under
``miden-v0.19``, padded to 2^16 rows; the AIR is the executor's filled families (as ``air check --only``).
Timed:

* windowed: ``air.probe.caught_mutations`` on every sampled mutation (3 row pairs per mutation, every
  constraint, and each bus's per-row contribution recomputed on the window against the honest ones);
* naive: ``air.evaluate.check`` + ``air.buscheck.check_buses`` on the whole mutated trace, for a few of
  the same mutations; their verdicts must agree with the windowed ones.

Run: ``python bench/bench_probe.py [iterations] [samples]`` (default 1000 loop iterations -> 2^16 rows).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from loop_program import loop_run  # bench/loop_program.py: the script's own folder is on sys.path

from air.buscheck import check_buses
from air.evaluate import active_operations, check
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES
from air.probe import apply, caught_mutations, sample_mutations
from air.select import select_families
from air.trace import Trace

DESIGN = "miden-v0.19"


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    air = select_families(DESIGNS[DESIGN](), FILLED_FAMILIES)[0]
    res = loop_run(iterations, DESIGN)
    n = res.n_rows
    trace = Trace(res.columns, n, public_inputs=res.public_inputs, public_tables=res.public_tables)
    print(f"{DESIGN} (filled families): {len(air.constraints)} constraints, {len(air.buses)} buses; "
          f"{res.cycles} cycles -> {n} rows")  # fmt: skip
    ops = [o or "(none)" for o in active_operations(air, trace, np.arange(n, dtype=np.int64))]
    muts = sample_mutations(air, trace, ops, samples, np.random.default_rng(0), air.column_names, None)
    caught_mutations(air, trace, muts[:64], seed=1)  # warm-up: compile the programs once
    t0 = time.perf_counter()
    v = caught_mutations(air, trace, muts, seed=1)
    t_fast = time.perf_counter() - t0
    caught = v.caught
    assert v.baseline_failures == 0, "the executor's trace must pass its filled families"
    # the honest baseline (one full check) is part of every probe run: timed apart
    t0 = time.perf_counter()
    check(air, trace)
    check_buses(air, trace, seed=1)
    t_full = time.perf_counter() - t0
    fast = len(muts) / t_fast

    k = 6
    pick = np.random.default_rng(1).choice(len(muts), size=k, replace=False).tolist()
    t0 = time.perf_counter()
    agree = 0
    for i in pick:
        t = apply(trace, muts[i])
        naive = not check(air, t).ok or not check_buses(air, t, seed=1).ok
        agree += naive == bool(caught[i])
    slow = k / (time.perf_counter() - t0)
    print(f"windowed: {len(muts)} mutations in {t_fast:.2f} s = {fast:,.0f} mutations/s "
          f"({int(caught.sum())} caught, {100 * caught.mean():.1f}%); baseline check once: {t_full:.2f} s")  # fmt: skip
    print(f"naive (full check + buses per mutation), {k} mutations: {slow:.2f} mutations/s; verdicts agree {agree}/{k}")
    print(f"ratio windowed / naive: {fast / slow:,.0f}x")


if __name__ == "__main__":
    main()
