"""The benchmarks' Miden program: a loop of locals and memory traffic, ``n`` iterations (~19 cycles each), ending
at stack depth 16 as Miden requires; ``loop_run`` assembles and runs it (shared by bench_check and bench_probe)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from air.miden.executor import RunResult, run_program

PROGRAM = """
proc.step.2
    dup.0 loc_store.0
    loc_load.0 push.1 add loc_store.1
    loc_load.1 mem_store.100
    mem_load.100 drop
end

begin
    push.{n} push.1
    while.true
        exec.step
        push.1 sub
        dup.0 push.0 eq push.1 swap sub
    end
    drop
end
"""


def loop_run(n: int, design: str, keep: Path | None = None) -> RunResult:
    """Run the loop program with ``n`` iterations under ``design`` (its source written into ``keep`` if given)."""
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(keep or tmp) / "loop.masm"
        prog.write_text(PROGRAM.format(n=n))
        return run_program(prog, None, design)
