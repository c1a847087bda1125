"""Helpers shared by the executor tests (not tests): a run's trace, its verdict over the filled families, and why a
changed cell was not caught (no constraint reads the column where its flag is on)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from air.buscheck import check_buses
from air.evaluate import check
from air.miden import rpo
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, RunResult, run_program
from air.select import select_families
from air.trace import Trace

P = 2**64 - 2**32 + 1
PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"


def scenario_inputs(name: str) -> dict[str, Any]:
    """``run_program``'s inputs for traces/programs/NAME.masm: its advice stack (advice.json), if any, and its Merkle
    tree (NAME_tree.json, the leaves ``air run --merkle-tree`` takes), if any."""
    tree = PROGRAMS / f"{name}_tree.json"
    return {
        "advice": json.loads((PROGRAMS / "advice.json").read_text()).get(name),
        "merkle_trees": [json.loads(tree.read_text())] if tree.is_file() else [],
    }


def merkle_root(leaves: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The root of the Merkle tree over ``leaves`` (node = rpo.merge(left, right), level by level), by hand."""
    level = [tuple(w) for w in leaves]
    while len(level) > 1:
        level = [rpo.merge(level[k], level[k + 1]) for k in range(0, len(level), 2)]
    return level[0]


def filled(res):
    """The design's AIR restricted to the families the executor fills."""
    return select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]


def trace_of(res) -> Trace:
    """The run's trace with the public inputs its buses start from (program hash, kernel procedures)."""
    return Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)


def verdict(res) -> tuple[list[str], list[str]]:
    air = filled(res)
    t = trace_of(res)
    cons = [f.constraint for f in check(air, t).failures]
    buses = [b.bus for b in check_buses(air, t, seed=1).buses if not b.ok]
    return cons, buses


def live_rows(air, t: Trace, col: str) -> np.ndarray:
    """Rows where some transition constraint or bus term that mentions ``col`` has a nonzero flag (at
    the row, or at the row before for ``col'``): the rows on which the column is read."""
    from air.compile import Program

    n = t.n_rows
    live = np.zeros(n, dtype=bool)
    flags = [c.flag for c in air.constraints if c.domain == "transition" and _mentions(c.expr, col)]
    flags += [
        term.flag
        for b in air.buses
        for term in b.terms
        if _mentions(term.flag, col) or any(_mentions(e, col) for m in term.messages for _, e in m.fields)
    ]
    for flag in flags:
        if flag is None:
            on = np.ones(n, dtype=bool)
        else:
            prog = Program([flag])
            on = np.broadcast_to(prog.run(_columns(air, t))[0] != 0, (n,)).copy()
        on[n - 1] = False
        live |= on | np.roll(on, 1)
    live[n - 1] = False
    return np.flatnonzero(live)


def _columns(air, t: Trace) -> dict[str, np.ndarray]:
    """Every column at every row (``x``) and at the next row (``x'``, wrapping), and the periodic columns."""
    env = dict(t.columns) | {name + "'": np.roll(v, -1) for name, v in t.columns.items()}
    for name, cycle in air.periodic.items():
        env[name] = np.resize(np.array(cycle, dtype=np.uint64), t.n_rows)
    return env


def _mentions(e, col: str) -> bool:
    import sympy as sp

    return any(getattr(s, "name", None) in (col, col + "'") for s in sp.sympify(e).free_symbols)


def why_not_caught(air, base: Trace, col: str, r: int, new: int) -> str | None:
    """Why changing ``col`` at row ``r`` to ``new`` changes no constraint and no bus message, worked out
    with sympy and Python ints (not the numpy evaluator under test). None when there is no reason."""
    import sympy as sp

    from air.compile import eval_int
    from air.evaluate import row_env

    n = base.n_rows
    readers = [(c.flag, c.body if c.body is not None else c.expr) for c in air.constraints if c.domain == "transition"]
    for b in air.buses:
        for term in b.terms:
            for m in term.messages:
                for _, e in m.fields:
                    readers.append((term.flag, sp.sympify(e)))
    reasons = set()
    for shift, at in ((0, r), (1, r - 1)):
        if at < 0 or at >= n - 1:
            continue
        name = col if shift == 0 else col + "'"
        env = row_env(air, base, at)
        changed = dict(env, **{name: new})
        for flag, body in readers:
            flag = flag if flag is not None else sp.Integer(1)
            if not any(getattr(s, "name", None) == name for s in (flag * body).free_symbols):
                continue
            f0, f1 = eval_int(flag, env), eval_int(flag, changed)
            b0, b1 = eval_int(body, env), eval_int(body, changed)
            if f0 == 0 and f1 == 0:
                reasons.add("flag off on this row")
            elif b0 == b1 == 0 and (f0 == 0 or f1 == 0):
                reasons.add("flag switched by the change, body zero")
            elif b0 == b1:
                reasons.add("multiplied by a zero cell in the body")
            else:
                return None
    return ", ".join(sorted(reasons)) or "no constraint reads it"


def run_masm(tmp_path: Path, text: str, design: str, kernel: str | None = None, **kw: Any) -> RunResult:
    """Run MASM ``text`` (and ``kernel``, if given) under ``design``, written as p.masm / k.masm in ``tmp_path``;
    ``kw`` goes to ``run_program`` (stack_inputs, advice, merkle_trees)."""
    p = tmp_path / "p.masm"
    p.write_text(text)
    k = None
    if kernel is not None:
        k = tmp_path / "k.masm"
        k.write_text(kernel)
    return run_program(p, k, design, **kw)
