"""Check a trace against an AIR over Goldilocks, vectorized over whole columns.

Domains: a transition constraint ``C(x, x')`` is checked on rows ``0 .. n-2`` (``x`` = row i,
``x'`` = row i+1); ``first`` on row 0; ``last`` on row n-1.

Zero test: a field has no zero divisors, so ``flag * body = 0`` exactly when ``flag = 0`` or
``body = 0``. The checker evaluates every distinct flag once (one shared program), then evaluates
the bodies gated by a flag only on the rows where that flag is nonzero (a gather), and reports
a row as failing when both are nonzero. Constraints without a flag are evaluated on every row.
Rows are processed in chunks of 2^16 to keep temporaries in cache.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from air import field as F
from air.air import Air, Constraint
from air.bus_keys import signed_counts
from air.compile import eval_int, program, symbols_in
from air.records import CheckResult, ConstraintFailures  # noqa: F401 - re-exported
from air.symbols import AuxCell, Cell, Periodic, PublicInput
from air.trace import Trace, TraceError

__all__ = [
    "ConstraintFailures",
    "CheckResult",
    "check",
    "cell_values",
    "constraint_value",
    "active_operations",
    "operation_codes",
    "row_env",
    "check_multiplicities",
]

CHUNK = 1 << 16


@lru_cache(maxsize=8192)
def symbols_of(expr: sp.Expr) -> frozenset:
    """``expr.free_symbols``, remembered: sympy walks the whole tree on every call, and a check asks for every
    constraint's symbols three times (3.4 s of a 2^20-row check of the complete Miden model, most of it)."""
    return frozenset(symbols_in([expr]))


def _scalar_env(air: Air, trace: Trace, challenges: dict[str, int] | None) -> dict[str, np.ndarray]:
    env: dict[str, np.ndarray] = {}
    ch = challenges or {}
    for c in air.challenges:
        env[c.name] = np.array(int(ch.get(c.name, 0)) % F.P, dtype=np.uint64)
    return env


def _needed_publics(air: Air, cons: list[Constraint], trace: Trace) -> dict[str, np.ndarray]:
    env: dict[str, np.ndarray] = {}
    for c in cons:
        for s in symbols_of(c.expr):
            if isinstance(s, PublicInput):
                if s.name not in trace.public_inputs:
                    raise TraceError(
                        f"{trace.source}: public input {s.name!r} (read by constraint {c.name!r}) is missing"
                    )
                env[s.name] = np.array(int(trace.public_inputs[s.name]), dtype=np.uint64)
    return env


def _column_env(air: Air, trace: Trace, inputs: set[str], rows: np.ndarray | slice) -> dict[str, np.ndarray]:
    """Arrays for every cell name in ``inputs`` at ``rows`` (x' reads row i+1, wrapping)."""
    env: dict[str, np.ndarray] = {}
    n = trace.n_rows
    for name in inputs:
        if name.endswith("'"):
            col = name[:-1]
            shift = 1
        else:
            col, shift = name, 0
        if col in air.periodic:
            cyc = np.array(air.periodic[col], dtype=np.uint64)
            idx = np.arange(n)[rows] if isinstance(rows, slice) else rows
            env[name] = cyc[idx % len(cyc)]
            continue
        if col not in trace.columns:
            continue  # a challenge or public input, bound elsewhere
        data = trace.stored(col)  # a packed column: only the rows read are widened, not the whole column
        if shift == 0:
            got = data[rows]
        elif isinstance(rows, slice):
            start, stop = rows.start or 0, rows.stop if rows.stop is not None else n
            if stop < n:
                got = data[start + 1 : stop + 1]
            else:
                got = np.concatenate([data[start + 1 : n], data[:1]])
        else:
            got = data[(rows + 1) % n]
        env[name] = got if got.dtype == np.uint64 else got.astype(np.uint64)
    return env


def _nonzero(v: np.ndarray, length: int) -> np.ndarray:
    if v.ndim == 0:
        return np.full(length, bool(v != 0))
    return v != 0


def _check_columns(air: Air, trace: Trace, cons: list[Constraint]) -> None:
    for c in cons:
        for s in symbols_of(c.expr):
            if isinstance(s, AuxCell):
                continue
            if isinstance(s, Cell) and s.column not in trace.columns and s.column not in air.periodic:
                raise TraceError(f"{trace.source}: column {s.column!r} (read by {c.name!r}) is missing")


def group_by_flag(constraints: list[Constraint]) -> tuple[dict[sp.Expr, list[Constraint]], list[Constraint]]:
    """Constraints written flag * body, grouped by their flag (a flag's bodies are evaluated only on rows where it
    is nonzero), and the others (evaluated on every row): the checker's and the probe's shared plan."""
    gated: dict[sp.Expr, list[Constraint]] = {}
    plain: list[Constraint] = []
    for c in constraints:
        if c.flag is not None and c.body is not None:
            gated.setdefault(c.flag, []).append(c)
        else:
            plain.append(c)
    return gated, plain


def check(air: Air, trace: Trace, challenges: dict[str, int] | None = None) -> CheckResult:
    """Every failing row of every constraint of ``air`` on ``trace``."""
    cons = [c for c in air.constraints if not any(isinstance(s, AuxCell) for s in symbols_of(c.expr))]
    skipped = [c.name for c in air.constraints if any(isinstance(s, AuxCell) for s in symbols_of(c.expr))]
    _check_columns(air, trace, cons)
    n = trace.n_rows
    scal = _scalar_env(air, trace, challenges) | _needed_publics(air, cons, trace)
    fails: dict[str, list[np.ndarray]] = {c.name: [] for c in cons}

    # Boundary constraints: one row each, with Python ints (exact and cheap).
    for c in cons:
        if c.domain in ("first", "last"):
            row = 0 if c.domain == "first" else n - 1
            if constraint_value(air, c.name, trace, row, challenges) != 0:
                fails[c.name].append(np.array([row], dtype=np.int64))

    gated, plain = group_by_flag([c for c in cons if c.domain == "transition"])
    flags = list(gated)
    # the plain constraints and the flags as ONE program: the plain ones (Miden's stack shifts: a sum over every
    # operation's flag) reuse the flags' products instead of computing them again (complete Miden model: 396
    # multiplications a row instead of 302 + 261)
    row_prog = program([c.expr for c in plain] + flags) if plain or flags else None
    body_progs = {f: program([c.body for c in gated[f]]) for f in flags}

    last = n - 1  # transition rows are 0 .. n-2
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        rows = slice(start, stop)
        length = stop - start
        valid = np.ones(length, dtype=bool)
        if start <= last < stop:
            valid[last - start] = False
        if row_prog is None:
            continue
        outs = row_prog.run(scal | _column_env(air, trace, row_prog.inputs, rows))
        for c, v in zip(plain, outs[: len(plain)]):
            bad = _nonzero(v, length) & valid
            if bad.any():
                fails[c.name].append(np.flatnonzero(bad) + start)
        if flags:
            for f, fv in zip(flags, outs[len(plain) :]):
                sel = np.flatnonzero(_nonzero(fv, length) & valid)
                if len(sel) == 0:
                    continue
                prog = body_progs[f]
                benv = scal | _column_env(air, trace, prog.inputs, sel + start)
                for c, bv in zip(gated[f], prog.run(benv)):
                    bad = _nonzero(bv, len(sel))
                    if bad.any():
                        fails[c.name].append(sel[bad] + start)

    result = CheckResult(air.name, n, not_evaluated=skipped)
    for c in cons:
        if fails[c.name]:
            rows_ = np.unique(np.concatenate(fails[c.name])).astype(np.int64)
            result.failures.append(ConstraintFailures(c.name, c.domain, rows_))
    return result


def row_env(air: Air, trace: Trace, row: int, challenges: dict[str, int] | None = None) -> dict[str, int]:
    """Every variable's value at ``row`` as Python ints: x, x', challenges, periodic, publics."""
    n = trace.n_rows
    env: dict[str, int] = {}
    for name in trace.columns:
        col = trace.stored(name)  # a packed column is read, not widened
        env[name] = int(col[row])
        env[name + "'"] = int(col[(row + 1) % n])
    for name, cyc in air.periodic.items():
        env[name] = cyc[row % len(cyc)]
        env[name + "'"] = cyc[(row + 1) % len(cyc)]
    for c in air.challenges:
        env[c.name] = int((challenges or {}).get(c.name, 0))
    env.update({k: int(v) for k, v in trace.public_inputs.items()})
    return env


def cell_values(air: Air, constraint_name: str, trace: Trace, row: int) -> dict[str, int]:
    """The value of every cell (``x`` and ``x'``) the constraint reads, at ``row``."""
    c = air.constraint(constraint_name)
    env = row_env(air, trace, row)
    cells = sorted(
        (s for s in c.expr.free_symbols if isinstance(s, (Cell, Periodic, PublicInput))),
        key=lambda s: (s.name.rstrip("'"), s.name),
    )
    return {s.name: env[s.name] for s in cells if s.name in env}


def constraint_value(
    air: Air, constraint_name: str, trace: Trace, row: int, challenges: dict[str, int] | None = None
) -> int:
    """The constraint's value at ``row`` computed with Python ints (independent of the fast path)."""
    c = air.constraint(constraint_name)
    env = row_env(air, trace, row, challenges)
    return eval_int(c.expr, env)


def operation_codes(air: Air, trace: Trace, rows: np.ndarray) -> np.ndarray:
    """The operation on each of ``rows`` as an index into ``air.operations``: the first (in the AIR's order) whose
    flag is nonzero on the row, -1 where none is or a flag reads something the trace lacks. Vectorized over
    ``rows``; the one place that decides which operation runs on a row."""
    rows = np.asarray(rows, dtype=np.int64)
    codes = np.full(len(rows), -1, dtype=np.int64)
    if not air.operations or len(rows) == 0:
        return codes
    prog = program([o.flag for o in air.operations])
    env = _column_env(air, trace, prog.inputs, rows) | _scalar_env(air, trace, None)
    if any(i not in env for i in prog.inputs):
        return codes
    for i, v in enumerate(prog.run(env)):
        codes[(codes < 0) & _nonzero(v, len(rows))] = i
    return codes


def active_operations(air: Air, trace: Trace, rows: np.ndarray) -> list[str | None]:
    """Name of the operation whose flag is nonzero on each of ``rows`` (None where none is; ``operation_codes``)."""
    names = [o.name for o in air.operations]
    return [names[c] if c >= 0 else None for c in operation_codes(air, trace, rows).tolist()]


def check_multiplicities(air: Air, trace: Trace) -> None:
    """Refuse (``TraceError``) LogUp multiplicities that cannot be counts: the bus matcher counts every
    message, so a multiplicity of 2^40 would mean 2^40 messages. A bus of T terms over n rows holds at
    most (n-1)*T messages a side (requests of multiplicity 1, responses counting them)."""
    n = trace.n_rows
    for b in air.buses:
        if b.kind != "logup" or n < 2:
            continue
        limit = (n - 1) * len(b.terms)
        prog = program([t.multiplicity if t.multiplicity is not None else t.flag for t in b.terms])
        scal = _scalar_env(air, trace, None)
        scal |= {k: np.array(int(v) % F.P, dtype=np.uint64) for k, v in trace.public_inputs.items()}
        env = scal | _column_env(air, trace, prog.inputs, np.arange(n - 1, dtype=np.int64))
        totals = {"request": 0, "response": 0}
        for t, v in zip(b.terms, prog.run(env)):
            c = signed_counts(np.broadcast_to(v, (n - 1,)))  # a count -k: k messages of the other side
            top = int(np.argmax(np.abs(c)))
            if abs(int(c[top])) > limit:
                raise TraceError(
                    f"{trace.source}: LogUp bus {b.name!r}: term {t.name!r} has multiplicity {int(c[top])} on row "
                    f"{top}; a multiplicity counts messages, and {len(b.terms)} term(s) over {n} rows "
                    f"hold at most {limit}"
                )
            other = "request" if t.side == "response" else "response"
            totals[t.side] += int(c[c > 0].sum())
            totals[other] += int(-c[c < 0].sum())
        for side, total in totals.items():
            if total > limit:
                raise TraceError(
                    f"{trace.source}: LogUp bus {b.name!r}: the {side} multiplicities sum to {total}, more than the "
                    f"{limit} messages {len(b.terms)} term(s) over {n} rows can hold"
                )
