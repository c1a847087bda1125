"""Benchmark: checking the stack-machine AIR on 2^20 rows, three ways, measured in the same run.

* vectorized: ``air.evaluate.check`` (numpy uint64 Goldilocks, shared flags, zero test);
* galois: every constraint evaluated over whole columns of galois ``GF(p)`` arrays;
* per-row: every constraint evaluated row by row with Python ints (``air.compile.eval_int``).

The galois and per-row paths are measured on a slice (their rows/s does not depend on the trace
length); the vectorized path on the whole trace. Run: ``python bench/bench_eval.py [log2_rows]``.
"""

from __future__ import annotations

import sys
import time

import galois
import numpy as np
import sympy as sp

from air.compile import const_value, eval_int
from air.evaluate import check
from air.examples.stack_machine import stack_machine_air, stack_machine_trace
from air.trace import Trace

P = 2**64 - 2**32 + 1


def galois_eval(e: sp.Basic, env: dict, gf: type) -> object:
    if isinstance(e, sp.Symbol):
        return env[e.name]
    if e.is_Number:
        return gf(const_value(e))
    if isinstance(e, sp.Add):
        out = galois_eval(e.args[0], env, gf)
        for a in e.args[1:]:
            out = out + galois_eval(a, env, gf)
        return out
    if isinstance(e, sp.Mul):
        out = galois_eval(e.args[0], env, gf)
        for a in e.args[1:]:
            out = out * galois_eval(a, env, gf)
        return out
    if isinstance(e, sp.Pow):
        return galois_eval(e.args[0], env, gf) ** int(e.args[1])
    raise TypeError(type(e))


def main() -> None:
    log_n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    n = 1 << log_n
    air = stack_machine_air()
    t0 = time.perf_counter()
    cols, pis = stack_machine_trace(n, seed=1)
    print(
        f"stack-machine AIR: {len(air.constraints)} constraints, {n} rows "
        f"(trace built in {time.perf_counter() - t0:.1f} s)"
    )
    trace = Trace(cols, n, pis)

    check(air, Trace({k: v[:1024] for k, v in cols.items()}, 1024, pis))  # warm-up
    t0 = time.perf_counter()
    res = check(air, trace)
    t_vec = time.perf_counter() - t0
    assert res.ok, res.failures[:3]
    vec = n / t_vec

    gf = galois.GF(P)
    m = min(n, 1 << 14)
    env = {}
    for k, v in cols.items():
        env[k] = gf(v[:m].astype(np.uint64).tolist())
        env[k + "'"] = gf(np.roll(v[:m], -1).tolist())
    trans = [c.expr for c in air.constraints if c.domain == "transition"]
    t0 = time.perf_counter()
    for e in trans:
        galois_eval(e, env, gf)
    gal = m / (time.perf_counter() - t0)

    r = min(n, 1 << 11)
    t0 = time.perf_counter()
    for i in range(r):
        row = {k: int(v[i]) for k, v in cols.items()}
        row |= {k + "'": int(v[i + 1]) for k, v in cols.items()}
        for e in trans:
            eval_int(e, row)
    per_row = r / (time.perf_counter() - t0)

    print(f"vectorized (air.evaluate.check), {n} rows: {t_vec:.2f} s = {vec:,.0f} rows/s")
    print(f"galois GF(p) arrays, {m}-row slice:     {gal:,.0f} rows/s")
    print(f"per-row Python ints, {r}-row slice:      {per_row:,.0f} rows/s")
    print(f"ratio vectorized / galois:  {vec / gal:.1f}x  (target >= 20x)")
    print(f"ratio vectorized / per-row: {vec / per_row:.1f}x  (target >= 200x)")


if __name__ == "__main__":
    main()
