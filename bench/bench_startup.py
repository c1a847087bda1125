"""Benchmark: the start-up of every ``air`` command, cold and warm, against ``python -c pass`` and
``python -c "import numpy"`` measured in the same run (issue 15: ``air degrees --air miden-v0.18 --by op``
<= 0.5 s warm).

Each command runs as ``python -m air ...`` in a child process, from the repository root:

* cold: an empty degree cache (a fresh ``$AIR_CACHE_DIR``), right after a ``python -c pass`` (so the
  interpreter and the OS page cache are warm: what is measured is air's own work, not the disk);
* warm: the degree cache filled by an untimed run before (commands that do not read the cache: the same
  work as cold, measured again).

Bytecode: the children write and read ``.pyc`` files (under a temporary ``PYTHONPYCACHEPREFIX``, not in the
tree; ``PYTHONDONTWRITEBYTECODE`` is dropped for them), as an installed package does: without them every run
compiles air's modules again (~0.03-0.08 s more), which is a property of the environment, not of air.

Per command: the minimum over the runs of the wall time and, apart, of the child's CPU time (user + system,
``RUSAGE_CHILDREN``): on a shared machine the wall time is inflated by other jobs, the CPU time much less.
Runs are interleaved (one round: every baseline and command once) so that load drifts hit all alike.

Run: ``python bench/bench_startup.py [runs]`` (default 3).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACE = "traces/caller/miden-v0.19.npz"  # 64 rows from the executor
TARGET = 0.5  # s, wall, warm: `air degrees --air miden-v0.18 --by op`


def _families() -> str:
    """The executor's families (``air check --only``): the honest sample traces pass those."""
    from air.miden.executor import FILLED_FAMILIES

    return ",".join(FILLED_FAMILIES)


def commands() -> list[tuple[str, list[str]]]:
    only = _families()
    return [
        ("--version", ["--version"]),
        ("--help", ["--help"]),
        ("airs", ["airs"]),
        ("degrees --air miden-v0.18 --by op", ["degrees", "--air", "miden-v0.18", "--by", "op"]),
        ("compare miden-v0.18 miden-v0.19", ["compare", "miden-v0.18", "miden-v0.19"]),
        ("explain DYNCALL --air miden-v0.19", ["explain", "DYNCALL", "--air", "miden-v0.19"]),
        (
            "gate --air miden-v0.19 (committed baseline)",
            ["gate", "--air", "miden-v0.19", "--baseline", "reports/degrees-miden-v0.19.json"],
        ),
        ("check (64-row trace, --only executor's)", ["check", TRACE, "--only", only]),
        (
            "run ordinary.masm (miden-v0.19)",
            ["run", "traces/programs/ordinary.masm", "--kernel", "traces/programs/kernel.masm", "--air", "miden-v0.19"],
        ),
        ("lint --air miden-v0.19", ["lint", "--air", "miden-v0.19"]),
        ("probe (64-row trace) --samples 1", ["probe", TRACE, "--samples", "1", "--only", only]),
    ]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, child CPU s, exit code) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.returncode


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    py = sys.executable
    cmds = commands()
    best: dict[tuple[str, str], list[float]] = {}  # (name, mode) -> [min wall, min cpu]

    def note(key: tuple[str, str], wall: float, cpu: float) -> None:
        w, c = best.get(key, [float("inf"), float("inf")])
        best[key] = [min(w, wall), min(c, cpu)]

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="air-bench-startup-") as tmp:
        drop = ("AIR_NO_CACHE", "PYTHONDONTWRITEBYTECODE")
        base_env = {k: v for k, v in os.environ.items() if k not in drop}
        base_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))
        warm_env = {**base_env, "AIR_CACHE_DIR": str(Path(tmp, "warm"))}
        codes: dict[str, int] = {}
        for name, args in cmds:  # fill the warm cache (untimed)
            codes[name] = timed([py, "-m", "air", *args], warm_env)[2]
        for r in range(runs):
            for label, argv in (("python -c pass", [py, "-c", "pass"]), ("import numpy", [py, "-c", "import numpy"])):
                note((label, "base"), *timed(argv, base_env)[:2])
            for i, (name, args) in enumerate(cmds):
                cold_env = {**base_env, "AIR_CACHE_DIR": str(Path(tmp, f"cold-{r}-{i}"))}  # empty
                timed([py, "-c", "pass"], base_env)  # the interpreter's files in the page cache
                note((name, "cold"), *timed([py, "-m", "air", *args], cold_env)[:2])
                note((name, "warm"), *timed([py, "-m", "air", *args], warm_env)[:2])
    load1 = os.getloadavg()

    p_wall, p_cpu = best["python -c pass", "base"]
    n_wall, n_cpu = best["import numpy", "base"]
    print(f"air start-up, min of {runs} runs each (wall and child CPU apart); load {load0[0]:.1f} -> {load1[0]:.1f}")
    print(
        f"baselines: python -c pass {p_wall:.3f} s wall ({p_cpu:.3f} s CPU); "
        f"python -c 'import numpy' {n_wall:.3f} s wall ({n_cpu:.3f} s CPU)"
    )
    head = f"{'command':48} {'exit':>4} {'cold wall':>9} {'cold CPU':>8} {'warm wall':>9} {'warm CPU':>8}"
    head += f" {'warm/pass':>9} {'warm/numpy':>10}"
    print(head)
    print("-" * len(head))
    for name, _ in cmds:
        cw, cc = best[name, "cold"]
        ww, wc = best[name, "warm"]
        print(
            f"{name:48} {codes[name]:>4} {cw:>8.3f}s {cc:>7.3f}s {ww:>8.3f}s {wc:>7.3f}s"
            f" {ww / p_wall:>8.1f}x {ww / n_wall:>9.2f}x"
        )
    name = cmds[3][0]
    ww, wc = best[name, "warm"]
    cw, _ = best[name, "cold"]
    verdict = "PASS" if ww <= TARGET else "MISS"
    print(
        f"target: air {name} warm <= {TARGET} s wall: {ww:.3f} s ({wc:.3f} s CPU; cold {cw:.3f} s, "
        f"{cw / ww:.1f}x the warm) -> {verdict}"
    )


if __name__ == "__main__":
    main()
