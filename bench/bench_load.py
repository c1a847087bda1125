"""Benchmark (issue 15): the seconds of `air check TRACE` before its first chunk (start-up, trace load and
validation, AIR build, compiled kernels), and after its report (the process's exit), against this checkout's
earlier code (``--before DIR``) measured in the same run, interleaved, under the same load.

Each `air check` runs as a child process (``python -c`` running ``air.cli.main`` as the program does):

* first chunk: the wall time from the child's start to the call of ``air.chunked.check_chunked`` (hooked when that
  module is imported, so the hook changes no import order), and the child's CPU time (all threads) by then;
* end to end: the whole check, wall and CPU, and the wall time between the last atexit handler and the process's
  end as the parent sees it (the interpreter's finalization);
* baselines in the same run: ``python -c pass`` and one numpy pass over the trace's columns loaded (a sum each).

The minimum over the runs of each figure, wall and CPU apart (the machine is shared: CPU is the steadier figure).

Run: ``python bench/bench_load.py TRACE [--before DIR] [--runs N]``; DIR holds an earlier ``air`` package (e.g.
``git archive COMMIT air | tar -x -C DIR``). TRACE: a 2^20-row trace of the complete model (bench_scale.py builds
one as /tmp/air-bench/loop16000.npz); ``.npz`` compressed, or stored (memory-mapped).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import atexit, importlib.abc, importlib.util, json, resource, sys, time
T0 = time.time()
out = {}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def report():
    out["atexit"] = time.time()
    print("BENCH " + json.dumps(out), file=sys.stderr, flush=True)
atexit.register(report)
mode, path = sys.argv[1], sys.argv[2]

class Hook(importlib.abc.MetaPathFinder):
    # wraps air.chunked.check_chunked once air imports the module itself (no import is moved earlier)
    def find_spec(self, name, p, target=None):
        if name != "air.chunked":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            inner = module.check_chunked
            def check_chunked(*a, **k):
                out["first_chunk"] = time.time()
                out["first_chunk_cpu"] = cpu()
                if mode == "first":  # the rest is the lead's (air.chunked): stop here
                    print("BENCH " + json.dumps(out), file=sys.stderr, flush=True)
                    import os
                    os._exit(0)
                return inner(*a, **k)
            module.check_chunked = check_chunked
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Hook())
sys.argv = ["air", "check", path]
import air.cli
air.cli.main()
"""

META = r"""
import json, sys
from air.trace import open_trace
print(json.dumps(open_trace(sys.argv[1]).meta.get("air") or "miden-v0.19"))
"""

FLOOR = r"""
import sys, time, resource
import numpy as np
from air.trace import load_trace
t = load_trace(sys.argv[1])
best = [1e9, 1e9]
for _ in range(3):
    w, c = time.perf_counter(), time.process_time()
    s = [int(v.sum()) for v in t.columns.values()]
    best = [min(best[0], time.perf_counter() - w), min(best[1], time.process_time() - c)]
print(best[0], best[1])
"""


GIL_BOUND = r"""
import json, sys, time
c = [time.process_time()]
import air.cli
c.append(time.process_time())
import numpy
c.append(time.process_time())
import sympy
c.append(time.process_time())
import air.chunked, air.diagnose
c.append(time.process_time())
from air.registry import load_builtin
air = load_builtin(sys.argv[1])
c.append(time.process_time())
from air import kernels
kernels.load()
c.append(time.process_time())
print(json.dumps([b - a for a, b in zip(c, c[1:])]))
"""
GIL_PARTS = ["air.cli import", "numpy import", "sympy import", "air.chunked + air.diagnose import",
             "AIR build + validation (load_builtin)", "compiled kernels (numba import + cache)"]  # fmt: skip


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float, float, dict, str]:
    """(wall, child CPU, end time, the child's BENCH record, stdout) of one child, run from the tree it imports
    (``python -c`` puts the working directory first on the path)."""
    c0, w0, t0 = child_cpu(), time.perf_counter(), time.time()
    argv = [sys.executable, "-c", code, *args]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=env["PYTHONPATH"])
    end = time.time()
    rec = {}
    for line in p.stderr.splitlines():
        if line.startswith("BENCH "):
            rec = json.loads(line[6:])
    if p.returncode not in (0, 1):
        raise SystemExit(f"child failed ({p.returncode}): {p.stderr[-1500:]}")
    rec = {k: (v - t0 if k in ("first_chunk", "atexit") else v) for k, v in rec.items()}
    return time.perf_counter() - w0, child_cpu() - c0, end - t0, rec, p.stdout


def main() -> None:
    args = list(sys.argv[1:])
    runs, before = 3, None
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    if "--before" in args:
        i = args.index("--before")
        before = Path(args[i + 1]).resolve()
        del args[i : i + 2]
    if not args:
        raise SystemExit(__doc__)
    trace = str(Path(args[0]).resolve())
    env_after = dict(os.environ, PYTHONPATH=str(REPO))
    trees = [("after", env_after)]
    if before is not None:
        trees.insert(0, ("before", dict(os.environ, PYTHONPATH=str(before))))
    load0 = os.getloadavg()[0]
    best: dict[tuple[str, str], float] = {}

    def note(key: tuple[str, str], v: float) -> None:
        best[key] = min(best.get(key, float("inf")), v)

    run("pass", [], env_after)  # the interpreter's files in the page cache
    for _ in range(runs):
        w, c, _, _, _ = run("pass", [], env_after)
        note(("pass", "wall"), w)
        note(("pass", "cpu"), c)
        for name, env in trees:
            _, _, _, rec, _ = run(CHILD, ["first", trace], env)
            note((name, "first wall"), rec["first_chunk"])
            note((name, "first cpu"), rec["first_chunk_cpu"])
            w, c, end, rec, _ = run(CHILD, ["full", trace], env)
            note((name, "full wall"), w)
            note((name, "full cpu"), c)
            note((name, "exit tail"), end - rec["atexit"])
    gil = [float("inf")] * len(GIL_PARTS)
    design = json.loads(subprocess.run([sys.executable, "-c", META, trace], capture_output=True, text=True,
                                       env=env_after, cwd=REPO).stdout)  # fmt: skip
    for _ in range(runs):
        p = subprocess.run([sys.executable, "-c", GIL_BOUND, design], capture_output=True, text=True, env=env_after,
                           cwd=REPO)  # fmt: skip
        gil = [min(a, b) for a, b in zip(gil, json.loads(p.stdout))]
    p = subprocess.run([sys.executable, "-c", FLOOR, trace], capture_output=True, text=True, env=env_after)
    floor_wall, floor_cpu = (float(x) for x in p.stdout.split())
    load1 = os.getloadavg()[0]

    print(f"trace {trace}; min of {runs} runs each, interleaved; load average {load0:.1f} -> {load1:.1f} "
          "(2 cores shared with other jobs)")  # fmt: skip
    print(f"baselines: python -c pass {best['pass', 'wall']:.3f} s wall ({best['pass', 'cpu']:.3f} s CPU); one numpy "
          f"pass over the loaded columns {floor_wall:.3f} s wall ({floor_cpu:.3f} s CPU)")  # fmt: skip
    head = f"{'code':8} {'first chunk wall':>16} {'CPU by then':>11} {'end to end wall':>15} {'CPU':>6}"
    head += f" {'exit tail':>9}"
    print(head)
    print("-" * len(head))
    for name, _ in trees:
        b = {k: v for (n, k), v in best.items() if n == name}
        print(f"{name:8} {b['first wall']:>15.2f}s {b['first cpu']:>10.2f}s {b['full wall']:>14.2f}s "
              f"{b['full cpu']:>5.2f}s {b['exit tail']:>8.3f}s")  # fmt: skip
    if before is not None:
        b, a = best["before", "first wall"], best["after", "first wall"]
        print(f"first chunk: {b:.2f} s -> {a:.2f} s wall ({b / a:.2f}x); CPU by then "
              f"{best['before', 'first cpu']:.2f} s -> {best['after', 'first cpu']:.2f} s; exit tail "
              f"{best['before', 'exit tail']:.3f} s -> {best['after', 'exit tail']:.3f} s")  # fmt: skip


    print(f"the work that holds the GIL before the first chunk (CPU, min of {runs}, one after the other in a child; "
          f"AIR {design}):")  # fmt: skip
    for name, v in zip(GIL_PARTS, gil):
        print(f"  {name:44} {v:.2f} s")
    print(f"  {'total':44} {sum(gil):.2f} s  (the trace's columns load beside it, on threads without the GIL)")


if __name__ == "__main__":
    main()
