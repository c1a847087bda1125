"""Rebuild the exported sample traces: every scenario program under every design that runs it.

    .venv/bin/python traces/regenerate.py

Writes traces/<scenario>/<design>.npz (+ .npz.json metadata sidecar) and traces/INDEX.md, which says,
for each scenario and design, the stack outputs, the cycle count, and whether the run was refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from air.evaluate import active_operations, check
from air.miden.designs import DESIGNS
from air.miden.executor import EXECUTOR_DESIGNS, FILLED_FAMILIES, PENDING, ExecutionError, export, run_program
from air.miden.masm import MasmError
from air.select import select_families
from air.trace import Trace

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
KERNEL = PROGRAMS / "kernel.masm"
ADVICE = json.loads((PROGRAMS / "advice.json").read_text())  # scenario -> its advice stack (`air run --advice`)
# scenario -> the Merkle tree of its advice provider: programs/NAME_tree.json, its leaves (`air run --merkle-tree`)
TREES = {p.name[: -len("_tree.json")]: [json.loads(p.read_text())] for p in PROGRAMS.glob("*_tree.json")}
SCENARIOS = [
    ("nested_syscall", "kernel proc with locals calls a user proc that syscalls again, then reads its local"),
    ("caller", "kernel proc_2 calls kernel proc_1, which runs caller"),
    ("call_from_syscall", "call from inside a syscall"),
    ("dyncall_from_syscall", "dyncall from inside a syscall"),
    ("syscall_from_syscall", "syscall from inside a syscall"),
    ("ordinary", "locals, memory across contexts, loops, branches, call, caller"),
    ("gate_protected_write", "miden-gate: a called procedure mem_storew's its fn_hash slot mem[0..3], then caller"),
    ("gate_caller_in_syscall", "caller inside a syscall reached from a called procedure (miden-gate finding)"),
    ("u32_ops", "u32 arithmetic, division, bitwise and comparison instructions: range checks, the bitwise chiplet"),
    ("field_ops", "field operations and comparisons, with immediates"),
    ("stack_ops", "every stack manipulation instruction, 52 deep (the overflow table)"),
    ("io_ops", "advice inputs, sdepth, clk, memory immediates and word orders, locals"),
    ("hashing", "hash, hmerge and hperm (HPERM's hasher cycles), a loop re-hashing its body"),
    ("merkle", "mtree_get, mtree_set (MRUPDATE: the sibling table) and mtree_verify, in a called procedure too"),
    ("streams", "adv_pipe and mem_stream (PIPE, MSTREAM) around hperm, as memory is hashed: the digests agree"),
    ("horner", "horner_eval_base and horner_eval_ext (HORNERBASE, HORNEREXT) over piped coefficients"),
    ("precompile", "log_precompile (v0.19): the precompile transcript through the chiplets virtual table"),
    ("dynexec", "dynexec (DYN): a procedure's root from procref, through memory, run twice"),
]
# (scenario, design) runs exported on purpose although the AIR refuses them: their failing constraints (over the
# executor's families) are listed under the table, as `air check` finds them
REFUSED_BY_AIR = {("gate_protected_write", "miden-gate"), ("io_ops", "miden-gate")}  # io_ops: mem_*.0/1 below 2^N


def main() -> None:
    lines = ["# Exported sample traces", "", "Regenerate with `.venv/bin/python traces/regenerate.py`.", ""]
    lines += [f"The honest traces pass `air check --only {','.join(FILLED_FAMILIES)}` (the executor's families).", ""]
    lines += [f"Not yet checkable: {fam}: {why}." for fam, why in PENDING.items()] + [""]
    lines += ["| scenario | design | result | cycles | rows |", "|---|---|---|---|---|"]
    refused: list[str] = []
    for name, what in SCENARIOS:
        out = HERE / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        shutil.copy(PROGRAMS / f"{name}.masm", out / f"{name}.masm")
        for design in EXECUTOR_DESIGNS:
            try:
                res = run_program(
                    PROGRAMS / f"{name}.masm", KERNEL, design, advice=ADVICE.get(name), merkle_trees=TREES.get(name, [])
                )
            except (ExecutionError, MasmError) as e:
                lines.append(f"| {name} | {design} | refused: {str(e).split(': ', 1)[-1]} | | |")
                continue
            export(res, out / f"{design}.npz")
            top = " ".join(str(v) for v in res.stack_outputs[:2])
            lines.append(f"| {name} | {design} | stack {top} ... | {res.cycles} | {res.n_rows} |")
            if (name, design) in REFUSED_BY_AIR:
                air = select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]
                trace = Trace(res.columns, res.n_rows, public_inputs=res.public_inputs)
                for f in check(air, trace).failures:
                    where = zip(f.rows.tolist(), active_operations(air, trace, f.rows), strict=True)
                    ops = ", ".join(f"row {r}: {op}" for r, op in where)
                    refused.append(f"- {name} under {design}: constraint `{f.constraint}` fails ({ops})")
        print(f"{name}: {what}")
    if refused:
        lines += ["", "Exported on purpose although the AIR refuses them (`air check` exits 1):", "", *refused]
    (HERE / "INDEX.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
