"""Benchmark: grouping bus message keys (issue 15) -- the compiled hash table (air/_numba_bus.py) against the
numpy path (np.unique of the 64-bit row hashes, then a whole-matrix compare) and np.unique(axis=0) (a
lexicographic sort of the rows), then `air check` of a 2^20-row trace with the compiled grouping on and off.

1. Keys as a bus carries them (width 16: a label code among 8, then 15 random field elements): each key once as
   a request and once as a response, 1% without a partner, shuffled; ``--sizes`` million keys (default 1 and 4).
   Timed: ``_group_rows`` (distinct rows in hash order + each row's group), ``_net_counts`` (the keys whose
   requests minus responses is not 0; ordered, and unordered as the chunk map asks), np.unique(axis=0).
2. ``python -m air check TRACE`` (``--jobs 1`` and the default) in child processes, the compiled grouping on and
   off (off: the child sets ``air.kernels._BUS`` to "tried, none", so every grouping takes the numpy path and
   everything else is unchanged); CPU time from the children's getrusage, user and system apart.
3. The same check in a child process per run (after an untimed run in it), modes and trees interleaved: the CPU
   time spent in the chunk map's bus-key work (``chunked._check_buses_part`` and ``_KeyTable.fold``, timed by
   wrappers in the calling thread's CPU time) and in the whole check (process time, start-up excluded) -- less
   noisy than part 2 on a loaded machine.

   ``--before DIR``: also the code of another checkout (e.g. the commit before this work), in the same rounds.

Run: ``python bench/bench_group.py [--sizes 1,4] [--repeat 3] [--trace /tmp/kern/t20.npz] [--parts 1,2,3]
[--before DIR]``.
The machine is shared: every time is the min of ``--repeat`` runs, wall and CPU (process time) both printed.
"""

from __future__ import annotations

import argparse
import json
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
    "assert K.__file__.startswith(sys.argv[2]), (K.__file__, sys.argv[2])\n"
    "if sys.argv[1] == 'off':\n"
    "    K._BUS.update(tried=True, kernels=None)\n"
    "from air.cli import main\n"
    "main(sys.argv[3:])\n"
)

# part 3, in a child: the CPU time inside the chunk map's bus-key work (chunked._check_buses_part: decoding, net
# counts, label totals; _KeyTable.fold: merging the chunks' nets) and of the whole check, per mode, min of the
# rounds (after one untimed run); one JSON line out
STAGE = """
import json, sys, time
import air.chunked as C, air.kernels as K
assert C.__file__.startswith(sys.argv[4]), (C.__file__, sys.argv[4])
from air.cli import main
trace, rounds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
acc = [0.0]
def wrap(f):
    def g(*a, **k):
        c0 = time.thread_time()  # this thread's: the check's loading threads run meanwhile
        try:
            return f(*a, **k)
        finally:
            acc[0] += time.thread_time() - c0
    return g
C._check_buses_part = wrap(C._check_buses_part)
C._KeyTable.fold = wrap(C._KeyTable.fold)
def run():
    acc[0] = 0.0
    c0 = time.process_time()
    try:
        main(["check", trace, "--jobs", "1"])
    except SystemExit:
        pass
    return acc[0], time.process_time() - c0
run()
out = {m: [] for m in modes}
for _ in range(rounds):
    for m in modes:
        if hasattr(K, "_BUS"):
            K._BUS.update(tried=m == "off", kernels=None)  # "off": tried, none -> numpy; "on": loaded again
        out[m].append(run())
print(json.dumps({m: [min(r[0] for r in rs), min(r[1] for r in rs)] for m, rs in out.items()}))
"""


def child(mode: str, args: list[str], tree: Path = ROOT) -> tuple[float, float, float, int]:
    """(wall, user CPU, system CPU of the child and its workers, exit code) of one ``air`` run of ``tree``'s code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(tree))
    # -P: `python -c` would put the current directory first on sys.path, ahead of PYTHONPATH's tree
    cmd = [sys.executable, "-P", "-c", CHILD, mode, str(tree), *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, p.returncode


def check(trace: str, repeat: int, before: Path | None) -> None:
    print(f"2. air check {trace} (child processes, interleaved, min of {repeat}; wall / user CPU / system CPU")
    print("   seconds, workers included; the system time is mostly page faults and varies most with the load)")
    modes = [("off", "numpy grouping", ROOT), ("on", "compiled grouping", ROOT)]
    if before is not None:
        modes.insert(0, ("before", "--before code", before))
    for jobs in (["--jobs", "1"], []):
        args = ["check", trace, *jobs]
        for _, _, tree in modes:
            child("on", args, tree)  # warm the numba cache and the degree cache
        runs: dict[str, list] = {m: [] for m, _, _ in modes}
        for _ in range(repeat):  # interleaved: a change of the machine's load hits every mode alike
            for mode, _, tree in modes:
                runs[mode].append(child(mode, args, tree))
        got = {m: [min(r[i] for r in rs) for i in range(3)] + [{r[3] for r in rs}] for m, rs in runs.items()}
        label = " ".join(jobs) or "(default jobs)"
        for mode, what, _ in modes:
            wall, user, sys_, codes = got[mode]
            print(f"   {label:15s} {what:18s} {wall:6.2f} / {user:6.2f} / {sys_:5.2f}   exit {sorted(codes)}")
        for ref in ["off"] + (["before"] if before is not None else []):
            saved = got[ref][1] - got["on"][1]
            print(
                f"   {label:15s} compiled vs {ref}: user CPU saved {saved:.2f} s ({saved / got[ref][1]:.0%}); "
                f"wall {got[ref][0] / got['on'][0]:.2f}x"
            )


def stage(trace: str, repeat: int, before: Path | None) -> None:
    print(f"3. in-process CPU of the chunk map's bus-key work and of the whole check (--jobs 1, min of {repeat};")
    print("   one child per run, after one untimed run in it; the modes interleaved)")
    rows = [(ROOT, "off"), (ROOT, "on")] + ([(before, "before")] if before is not None else [])
    runs: dict[str, list[list[float]]] = {m: [] for _, m in rows}
    for _ in range(repeat):
        for tree, mode in rows:
            env = dict(os.environ, PYTHONPATH=str(tree))
            cmd = [sys.executable, "-P", "-c", STAGE, trace, "1", mode, str(tree)]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            runs[mode].append(json.loads(p.stdout.strip().splitlines()[-1])[mode])
    got = {m: [min(r[0] for r in rs), min(r[1] for r in rs)] for m, rs in runs.items()}
    for mode, (keys, whole) in got.items():
        print(f"   {mode:7s} bus keys {keys:6.3f} s   whole check {whole:6.3f} s")
    for ref in [m for m in ("off", "before") if m in got]:
        k, w = got[ref][0] - got["on"][0], got[ref][1] - got["on"][1]
        ratio = got[ref][0] / got["on"][0]
        print(f"   compiled vs {ref}: bus keys {ratio:.2f}x ({k:.2f} s saved), whole check {w:.2f} s saved")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4", help="million keys per grouping benchmark")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trace", default="/tmp/kern/t20.npz")
    ap.add_argument("--parts", default="1,2,3", help="which parts to run (1 grouping, 2 air check, 3 in-process)")
    ap.add_argument("--before", type=Path, help="a checkout of earlier code, also timed on the trace")
    a = ap.parse_args()
    parts = {int(x) for x in a.parts.split(",")}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if 1 in parts:
        grouping([float(s) for s in a.sizes.split(",")], a.width, a.repeat)
    if Path(a.trace).exists():
        if 2 in parts:
            check(a.trace, a.repeat, a.before)
        if 3 in parts:
            stage(a.trace, a.repeat, a.before)


if __name__ == "__main__":
    main()
