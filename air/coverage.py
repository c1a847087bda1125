"""Coverage of an AIR by traces: what a test corpus exercises, and what it never does.

* ``unread_columns(air)``: columns no constraint or bus term reads (from the definition);
* ``operation_rows(air, trace)``: rows per operation (the first operation whose flag is nonzero on the row;
  ``(none)`` where no flag is);
* ``constraint_rows(air, trace)``: per constraint, the rows where it is *active*: a gated transition
  constraint where its flag is nonzero (rows 0..n-2), an ungated one on every transition row, a boundary
  constraint on its one row;
* ``bus_term_rows(air, trace)``: per bus term (``bus/term``), the transition rows where its flag (LogUp:
  its multiplicity) is nonzero, i.e. where it puts a message on the bus.

``coverage(air, traces)`` adds these up over several traces and lists what never occurred. This module is
the one implementation of these counts (``air check``'s coverage line, ``air coverage``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from air.air import Air
from air.compile import program
from air.evaluate import _column_env, operation_codes
from air.lint import NONE_OP
from air.records import exercise_note
from air.symbols import AuxCell
from air.trace import Trace

__all__ = [
    "unread_columns",
    "operation_rows",
    "row_operation_codes",
    "constraint_rows",
    "bus_term_rows",
    "Coverage",
    "coverage",
    "coverage_line",
    "exercise_note",
    "operations_occurring",
    "render",
]


def unread_columns(air: Air) -> list[str]:
    """Columns of ``air`` that no constraint or bus term reads (``Air.read_columns``), in layout order."""
    read = air.read_columns()
    return [c for c in air.column_names if c not in read]


def row_operation_codes(air: Air, trace: Trace, chunk: int = 1 << 16) -> np.ndarray:
    """The operation of every row of ``trace`` (``evaluate.operation_codes``: an index into ``air.operations``,
    -1 where none runs), evaluated over chunks of rows so memory stays bounded. What ``operation_rows`` counts
    and the HTML report's strip draws."""
    n = trace.n_rows
    parts = [operation_codes(air, trace, np.arange(s, min(s + chunk, n), dtype=np.int64)) for s in range(0, n, chunk)]
    return np.concatenate(parts) if parts else np.full(0, -1, dtype=np.int64)


def operation_rows(air: Air, trace: Trace, codes: np.ndarray | None = None) -> dict[str, int]:
    """Rows per operation on ``trace`` (every operation of ``air`` listed, 0 when absent; ``(none)`` last);
    ``codes``: the trace's ``row_operation_codes`` when the caller has them already."""
    if codes is None:
        codes = row_operation_codes(air, trace)
    counts = np.bincount(codes + 1, minlength=len(air.operations) + 1)
    out = {o.name: 0 for o in air.operations}
    for o, k in zip(air.operations, counts[1:].tolist()):
        out[o.name] += int(k)  # two operations of one name (never in a validated AIR) would add up
    out[NONE_OP] = int(counts[0])
    return out


def _scal(air: Air, trace: Trace) -> dict[str, np.ndarray]:
    env = {c.name: np.array(0, dtype=np.uint64) for c in air.challenges}
    env.update({k: np.array(int(v), dtype=np.uint64) for k, v in trace.public_inputs.items()})
    return env


def _count_nonzero(air: Air, trace: Trace, exprs: list, rows: np.ndarray) -> list[int]:
    if not exprs or len(rows) == 0:
        return [0] * len(exprs)
    prog = program(exprs)
    env = _scal(air, trace) | _column_env(air, trace, prog.inputs, rows)
    return [int(np.count_nonzero(np.broadcast_to(v, (len(rows),)))) for v in prog.run(env)]


def constraint_rows(air: Air, trace: Trace) -> dict[str, int]:
    """Per constraint (over the main trace), the number of rows on which it is active (see the module)."""
    n = trace.n_rows
    trans_rows = np.arange(max(n - 1, 0), dtype=np.int64)
    out: dict[str, int] = {}
    gated = []
    for c in air.constraints:
        if any(isinstance(s, AuxCell) for s in c.expr.free_symbols):
            continue
        if c.domain != "transition":
            out[c.name] = 1
        elif c.flag is not None and c.body is not None:
            gated.append(c)
        else:
            out[c.name] = len(trans_rows)
    for c, k in zip(gated, _count_nonzero(air, trace, [c.flag for c in gated], trans_rows)):
        out[c.name] = k
    return {c.name: out[c.name] for c in air.constraints if c.name in out}


def bus_term_rows(air: Air, trace: Trace) -> dict[str, int]:
    """Per bus term (``bus/term``), the transition rows on which it puts a message on its bus."""
    rows = np.arange(max(trace.n_rows - 1, 0), dtype=np.int64)
    terms = [(b, t) for b in air.buses for t in b.terms]
    exprs = [t.multiplicity if t.multiplicity is not None else t.flag for _, t in terms]
    return {f"{b.name}/{t.name}": k for (b, t), k in zip(terms, _count_nonzero(air, trace, exprs, rows))}


@dataclass
class Coverage:
    air: str
    traces: list[str]
    rows: int = 0
    operations: dict[str, int] = field(default_factory=dict)
    constraints: dict[str, int] = field(default_factory=dict)
    bus_terms: dict[str, int] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)

    def never(self, what: dict[str, int]) -> list[str]:
        return [k for k, v in what.items() if v == 0]

    @property
    def operations_never(self) -> list[str]:
        return [o for o in self.never(self.operations) if o != NONE_OP]

    def summary(self) -> str:
        return (
            f"coverage {self.air} over {len(self.traces)} trace(s), {self.rows} rows: "
            f"operations {len(self.operations) - 1 - len(self.operations_never)}/{len(self.operations) - 1} occurred, "
            f"constraints {len(self.constraints) - len(self.never(self.constraints))}/{len(self.constraints)} active, "
            f"bus terms {len(self.bus_terms) - len(self.never(self.bus_terms))}/{len(self.bus_terms)} fired; "
            f"{len(self.unread)} column(s) unread"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "air": self.air,
            "traces": self.traces,
            "rows": self.rows,
            "operations": self.operations,
            "constraints": self.constraints,
            "bus_terms": self.bus_terms,
            "never": {
                "operations": self.operations_never,
                "constraints": self.never(self.constraints),
                "bus_terms": self.never(self.bus_terms),
            },
            "unread_columns": self.unread,
            "summary": self.summary(),
        }


def coverage(
    air: Air,
    traces: Sequence[Trace],
    operations_only: bool = False,
    row_codes: Sequence[np.ndarray] | None = None,
) -> Coverage:
    """Operations, active constraints and fired bus terms over ``traces``, added up (with
    ``operations_only``, the rows per operation alone: what ``air degrees --by op --traces`` shows).
    ``row_codes[i]``: the ``row_operation_codes`` of ``traces[i]``, when the caller has computed them already."""
    cov = Coverage(air.name, [t.source for t in traces], unread=unread_columns(air))
    for i, t in enumerate(traces):
        cov.rows += t.n_rows
        counts = [(operation_rows(air, t, row_codes[i] if row_codes is not None else None), cov.operations)]
        if not operations_only:
            counts += [(constraint_rows(air, t), cov.constraints), (bus_term_rows(air, t), cov.bus_terms)]
        for src, dst in counts:
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
    return cov


def operations_occurring(air: Air, trace: Trace) -> set[str]:
    """Names of the operations whose flag is nonzero on some transition row (0 .. n-2), the rows where
    the constraints they gate are evaluated. Vectorized over whole columns, in chunks."""
    n = trace.n_rows
    if not air.operations or n < 2:
        return set()
    prog = program([o.flag for o in air.operations])
    if any(i.rstrip("'") not in trace.columns and i.rstrip("'") not in air.periodic for i in prog.inputs):
        return set()  # a flag over something the trace lacks (never the case for a matched trace)
    seen: set[str] = set()
    chunk = 1 << 16
    for start in range(0, n - 1, chunk):
        rows = np.arange(start, min(start + chunk, n - 1), dtype=np.int64)
        for o, v in zip(air.operations, prog.run(_column_env(air, trace, prog.inputs, rows))):
            if o.name not in seen and bool(np.any(np.asarray(v) != 0)):
                seen.add(o.name)
    return seen


def coverage_line(air: Air, trace: Trace) -> str:
    """The one-line coverage summary ``air check`` prints after OK (``exercise_note`` of ``unread_columns``
    and ``operations_occurring``): one implementation for check, coverage and the API."""
    absent = None
    if air.operations:
        seen = operations_occurring(air, trace)
        absent = [o.name for o in air.operations if o.name not in seen]
    return exercise_note(len(unread_columns(air)), len(air.column_names), absent, len(air.operations))


def render(cov: Coverage, fmt: str = "table") -> str:
    """Counts per operation, then what never occurred, then the summary line (``table`` or ``markdown``)."""
    from air.report import table

    out = [table(["operation", "rows"], [[k, v] for k, v in cov.operations.items() if v], fmt)]
    for title, items in (
        ("operations that never occurred", cov.operations_never),
        ("constraints never active", cov.never(cov.constraints)),
        ("bus terms that never fired", cov.never(cov.bus_terms)),
        ("columns no constraint reads", cov.unread),
    ):
        out.append(f"{'## ' if fmt == 'markdown' else ''}{title}: {len(items)}")
        if items:
            out.append(("- " if fmt == "markdown" else "  ") + ", ".join(items))
    out.append(cov.summary())
    return "\n".join(out)
