"""Rebuild the exported sample traces: every scenario program under every design that runs it.

    .venv/bin/python traces/regenerate.py

Writes traces/<scenario>/<design>.npz (+ .npz.json metadata sidecar) and traces/INDEX.md, which says,
for each scenario and design, the stack outputs, the cycle count, and whether the run was refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from air.miden.executor import EXECUTOR_DESIGNS, FILLED_FAMILIES, PENDING, ExecutionError, export, run_program
from air.miden.masm import MasmError

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
KERNEL = PROGRAMS / "kernel.masm"
SCENARIOS = [
    ("nested_syscall", "kernel proc with locals calls a user proc that syscalls again, then reads its local"),
    ("caller", "kernel proc_2 calls kernel proc_1, which runs caller"),
    ("call_from_syscall", "call from inside a syscall"),
    ("dyncall_from_syscall", "dyncall from inside a syscall"),
    ("syscall_from_syscall", "syscall from inside a syscall"),
    ("ordinary", "locals, memory across contexts, loops, branches, call, caller"),
    ("hashing", "hash, hmerge and hperm (HPERM's hasher cycles), a loop re-hashing its body"),
]


def main() -> None:
    lines = ["# Exported sample traces", "", "Regenerate with `.venv/bin/python traces/regenerate.py`.", ""]
    lines += [f"The honest traces pass `air check --only {','.join(FILLED_FAMILIES)}` (the executor's families).", ""]
    lines += [f"Not yet checkable: {fam}: {why}." for fam, why in PENDING.items()] + [""]
    lines += ["| scenario | design | result | cycles | rows |", "|---|---|---|---|---|"]
    for name, what in SCENARIOS:
        out = HERE / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        shutil.copy(PROGRAMS / f"{name}.masm", out / f"{name}.masm")
        for design in EXECUTOR_DESIGNS:
            try:
                res = run_program(PROGRAMS / f"{name}.masm", KERNEL, design)
            except (ExecutionError, MasmError) as e:
                lines.append(f"| {name} | {design} | refused: {str(e).split(': ', 1)[-1]} | | |")
                continue
            export(res, out / f"{design}.npz")
            top = " ".join(str(v) for v in res.stack_outputs[:2])
            lines.append(f"| {name} | {design} | stack {top} ... | {res.cycles} | {res.n_rows} |")
        print(f"{name}: {what}")
    (HERE / "INDEX.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
