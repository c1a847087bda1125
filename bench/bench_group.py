"""Benchmark: grouping bus message keys (issue 15) -- the compiled hash table (air/_numba_bus.py) against the
numpy path (np.unique of the 64-bit row hashes, then a whole-matrix compare) and np.unique(axis=0) (a
lexicographic sort of the rows), then `air check` of a 2^20-row trace with the compiled grouping on and off.

1. Keys as a bus carries them (width 16: a label code among 8, then 15 random field elements): each key once as
   a request and once as a response, 1% without a partner, shuffled; ``--sizes`` million keys (default 1 and 4).
   Timed: ``_group_rows`` (distinct rows in hash order + each row's group), ``_net_counts`` (the keys whose
   requests minus responses is not 0; ordered, and unordered as the chunk map asks), np.unique(axis=0).
2. ``python -m air check TRACE`` (``--jobs 1`` and the default) in child processes, the compiled grouping on and
   off (off: the child sets ``air.kernels._BUS`` to "tried, none", so every grouping takes the numpy path and
   everything else is unchanged); CPU time from the children's getrusage.

   ``--before DIR``: also the code of another checkout (e.g. the commit before this work), in the same rounds.

Run: ``python bench/bench_group.py [--sizes 1,4] [--repeat 3] [--trace /tmp/kern/t20.npz] [--no-check]
[--before DIR]``.
The machine is shared: every time is the min of ``--repeat`` runs, wall and CPU (process time) both printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from air import buscheck as B  # noqa: E402
from air import kernels as K  # noqa: E402

P = (1 << 64) - (1 << 32) + 1


def bus_keys(n: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n keys: n/2 requests, their responses (all but 1%) and unpartnered ones, shuffled; weights +1 / -1."""
    rng = np.random.default_rng(seed)
    half = n // 2
    req = rng.integers(0, P, (half, width), dtype=np.uint64)
    req[:, 0] = rng.integers(1, 9, half, dtype=np.uint64)
    resp = req.copy()
    lost = rng.random(half) < 0.01
    resp[lost, 1] ^= np.uint64(1)  # a response with a field changed: both stay unmatched
    keys = np.concatenate([req, resp])
    weights = np.concatenate([np.ones(half, dtype=np.int64), -np.ones(half, dtype=np.int64)])
    perm = rng.permutation(len(keys))
    return keys[perm], weights[perm]


def timed(f: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(min wall, min CPU, result) over ``repeat`` runs."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, out


def numpy_only(f: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        K._reset(disable=True)
        try:
            return f()
        finally:
            K._reset()

    return run


def grouping(sizes: list[float], width: int, repeat: int) -> None:
    assert K.load_bus() is not None, "numba must be installed for the compiled grouping"
    B._group_rows(bus_keys(1 << 15, width, 0)[0])  # compile (or load from the cache) outside the timing
    B._net_counts(*bus_keys(1 << 15, width, 0))
    print(f"1. grouping keys of width {width} (min of {repeat}; wall / CPU seconds; ratio = baseline CPU / kernel CPU)")
    for m in sizes:
        one_size(int(m * (1 << 20)), width, repeat)


def one_size(n: int, width: int, repeat: int) -> None:
    keys, weights = bus_keys(n, width, 1)
    rows = [
        ("_group_rows, compiled", lambda: B._group_rows(keys)),
        ("_group_rows, numpy", numpy_only(lambda: B._group_rows(keys))),
        ("np.unique(axis=0)", lambda: np.unique(keys, axis=0, return_inverse=True)),
        ("_net_counts, compiled", lambda: B._net_counts(keys, weights)),
        ("_net_counts unordered, compiled", lambda: B._net_counts(keys, weights, ordered=False)),
        ("_net_counts, numpy", numpy_only(lambda: B._net_counts(keys, weights))),
    ]
    res = {name: timed(f, repeat) for name, f in rows}
    # the same answer whichever path: the benchmark compares equal work
    a, b = res["_group_rows, compiled"][2], res["_group_rows, numpy"][2]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    a, b = res["_net_counts, compiled"][2], res["_net_counts, numpy"][2]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    print(f"   {n:,} keys ({len(a[0]):,} unmatched)")  # type: ignore[index]
    base = {"_group_rows": res["_group_rows, compiled"][1], "_net_counts": res["_net_counts, compiled"][1]}
    for name, (wall, cpu, _) in res.items():
        fam = "_net_counts" if name.startswith("_net_counts") else "_group_rows"
        ratio = cpu / base[fam]
        print(f"   {name:34s} {wall:7.3f} / {cpu:7.3f}   {ratio:5.1f}x the compiled {fam}")


CHILD = (
    "import sys, air.kernels as K\n"
    "if sys.argv[1] == 'off':\n"
    "    K._BUS.update(tried=True, kernels=None)\n"
    "from air.cli import main\n"
    "main(sys.argv[2:])\n"
)


def child(mode: str, args: list[str], tree: Path = ROOT) -> tuple[float, float, int]:
    """(wall, CPU of the child and its workers, exit code) of one ``air`` run of the code in ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(tree))
    p = subprocess.run([sys.executable, "-c", CHILD, mode, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.returncode


def check(trace: str, repeat: int, before: Path | None) -> None:
    print(f"2. air check {trace} (child processes, interleaved, min of {repeat}; wall / CPU seconds, with workers)")
    modes = [("off", "numpy grouping", ROOT), ("on", "compiled grouping", ROOT)]
    if before is not None:
        modes.insert(0, ("before", f"code in {before}", before))
    for jobs in (["--jobs", "1"], []):
        args = ["check", trace, *jobs]
        for _, _, tree in modes:
            child("on", args, tree)  # warm the numba cache and the degree cache
        runs: dict[str, list] = {m: [] for m, _, _ in modes}
        for _ in range(repeat):  # interleaved: a change of the machine's load hits every mode alike
            for mode, _, tree in modes:
                runs[mode].append(child(mode, args, tree))
        got = {m: (min(r[0] for r in rs), min(r[1] for r in rs), {r[2] for r in rs}) for m, rs in runs.items()}
        label = " ".join(jobs) or "(default jobs)"
        for mode, what, _ in modes:
            wall, cpu, codes = got[mode]
            print(f"   {label:15s} {what:18s} {wall:6.2f} / {cpu:6.2f}   exit {sorted(codes)}")
        saved = got["off"][1] - got["on"][1]
        speed = got["off"][0] / got["on"][0]
        print(f"   {label:15s} CPU saved {saved:.2f} s ({saved / got['off'][1]:.0%}); wall {speed:.2f}x")
        if before is not None:
            saved = got["before"][1] - got["on"][1]
            speed, share = got["before"][0] / got["on"][0], saved / got["before"][1]
            print(f"   {label:15s} vs before: CPU saved {saved:.2f} s ({share:.0%}); wall {speed:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4", help="million keys per grouping benchmark")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trace", default="/tmp/kern/t20.npz")
    ap.add_argument("--no-check", action="store_true", help="only the grouping benchmark")
    ap.add_argument("--before", type=Path, help="a checkout of earlier code, also timed on the trace")
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    grouping([float(s) for s in a.sizes.split(",")], a.width, a.repeat)
    if not a.no_check and Path(a.trace).exists():
        check(a.trace, a.repeat, a.before)


if __name__ == "__main__":
    main()
