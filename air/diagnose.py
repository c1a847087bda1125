"""What broke, and where: constraint failures enriched for a designer, in text, JSON, JUnit and SARIF.

For every failing constraint (all failing rows are known; the report shows the first
``max_failures`` of each constraint and counts the rest) each shown failure carries: the row; the
operation whose flag is nonzero on that row (and on the next row, for a transition constraint); the
value of every cell the constraint reads; the constraint rendered with those values; its (nonzero)
value; and a window of +-``context`` rows of the columns it reads, with the failing row marked.
Boundary constraints name the public inputs they compare against.

The text report lists failures in trace-row order (the first failing row first; ``group_by=
"constraint"`` for constraint by constraint), names the operation of every window row, prints a field
element ``p - k`` with small ``k`` as ``-k (p−k)`` and, with ``hex=True``, every value in hexadecimal.
An AIR without operations gets no operation wording at all. An OK report says what "OK" does not
cover: the columns no constraint or bus reads, and the operations whose flag is set on no row.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from air.field import format_value
from air.records import CheckResult, exercise_note
from air.trace import Trace

if TYPE_CHECKING:
    from air.air import Air

__all__ = [
    "Failure",
    "FailureGroup",
    "Diagnosis",
    "diagnose",
    "render_text",
    "to_json",
    "to_junit",
    "to_sarif",
]

@dataclass
class Failure:
    row: int
    value: int
    operation: str | None
    opcode: int | None
    next_operation: str | None
    cells: dict[str, int]
    rendered: str
    window: list[dict[str, Any]]
    window_operations: list[str | None] = field(default_factory=list)


@dataclass
class FailureGroup:
    constraint: str
    domain: str
    operation: str | None
    expr: str
    doc: str
    total: int
    shown: list[Failure] = field(default_factory=list)
    public_inputs: dict[str, int] = field(default_factory=dict)
    defined_at: str = ""

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


@dataclass
class Diagnosis:
    air: str
    trace: str
    n_rows: int
    groups: list[FailureGroup]
    n_constraints: int
    has_operations: bool = True
    n_columns: int = 0
    unread_columns: list[str] = field(default_factory=list)
    n_operations: int = 0
    # operations whose flag is set on no transition row; None when not computed (a failing check)
    absent_operations: list[str] | None = None
    max_failures: int = 5

    @property
    def ok(self) -> bool:
        return not self.groups

    @property
    def first_failure(self) -> tuple[int, str] | None:
        """(row, constraint) of the lowest failing row, the first constraint (in AIR order) on a tie."""
        best: tuple[int, str] | None = None
        for g in self.groups:
            if g.shown and (best is None or g.shown[0].row < best[0]):
                best = (g.shown[0].row, g.constraint)
        return best

    @property
    def total_failures(self) -> int:
        return sum(g.total for g in self.groups)


def _render(text: str, cells: dict[str, int]) -> str:
    vals = ", ".join(f"{k}={v}" for k, v in cells.items())
    return f"{text}   with {vals}"


def diagnose(
    air: Air,
    trace: Trace,
    result: CheckResult,
    *,
    max_failures: int = 5,
    context: int = 2,
    occurring: set[str] | None = None,
) -> Diagnosis:
    """The failures of ``result`` explained: the first ``max_failures`` rows of each constraint with
    their cells, value and a window of +-``context`` rows (each row's operation named). ``occurring``: the
    operations that occur (``coverage.operations_occurring``), when the check already found them."""
    import sympy as sp

    from air.coverage import operations_occurring, unread_columns
    from air.evaluate import active_operations, cell_values, constraint_value
    from air.symbols import Cell, PublicInput

    opcodes = {o.name: o.opcode for o in air.operations}
    groups: list[FailureGroup] = []
    n = trace.n_rows
    shown_of = [np.asarray(f.rows[:max_failures], dtype=np.int64) for f in result.failures]
    # every row whose operation a report names (failing rows, their next rows, window rows): one evaluation
    wanted: set[int] = set()
    for rows in shown_of:
        for r in rows.tolist():
            wanted.update(range(max(0, r - context), min(n - 1, r + context) + 1))
            wanted.add((r + 1) % n)
    order = np.array(sorted(wanted), dtype=np.int64)
    op_at = dict(zip(order.tolist(), active_operations(air, trace, order))) if len(order) else {}
    for f, shown_rows in zip(result.failures, shown_of):
        c = air.constraint(f.constraint)
        text = sp.sstr(c.expr)  # printed once per constraint, reused by every shown row
        cols = sorted({s.column for s in c.expr.free_symbols if isinstance(s, Cell) and s.column in trace.columns})
        pis = {
            s.name: int(trace.public_inputs.get(s.name, 0)) for s in c.expr.free_symbols if isinstance(s, PublicInput)
        }
        g = FailureGroup(
            constraint=c.name,
            domain=c.domain,
            operation=c.operation,
            expr=text,
            doc=c.doc,
            total=len(f.rows),
            public_inputs=pis,
            defined_at=getattr(c, "defined_at", "") or "",
        )
        for r in shown_rows.tolist():
            cells = cell_values(air, c.name, trace, r)
            lo, hi = max(0, r - context), min(n - 1, r + context)
            window = [
                {"row": w, "mark": w == r, **{col: int(trace.stored(col)[w]) for col in cols}}
                for w in range(lo, hi + 1)
            ]
            op = op_at.get(r)
            g.shown.append(
                Failure(
                    row=r,
                    value=constraint_value(air, c.name, trace, r),
                    operation=op,
                    opcode=opcodes.get(op) if op else None,
                    next_operation=op_at.get((r + 1) % n) if c.domain == "transition" else None,
                    cells=cells,
                    rendered=_render(text, cells),
                    window=window,
                    window_operations=[op_at.get(w) for w in range(lo, hi + 1)],
                )
            )
        groups.append(g)
    d = Diagnosis(
        air.name,
        trace.source,
        n,
        groups,
        len(air.constraints),
        has_operations=bool(air.operations),
        n_columns=len(air.layout),
        unread_columns=unread_columns(air),
        n_operations=len(air.operations),
        max_failures=max_failures,
    )
    if not groups:  # what an OK does not cover (not needed to explain a failure)
        seen = operations_occurring(air, trace) if occurring is None else occurring
        d.absent_operations = [o.name for o in air.operations if o.name not in seen]
    return d


def ok_diagnosis(
    air_name: str,
    trace: Trace,
    n_constraints: int,
    operations: list[str],
    n_columns: int,
    unread: list[str],
    occurring: set[str],
    max_failures: int = 5,
) -> Diagnosis:
    """``diagnose``'s report of a check that found no failure, from the AIR's facts alone (``chunked.PlanFacts``):
    what an OK does not cover (the columns nothing reads, the operations that never occur)."""
    d = Diagnosis(
        air_name,
        trace.source,
        trace.n_rows,
        [],
        n_constraints,
        has_operations=bool(operations),
        n_columns=n_columns,
        unread_columns=list(unread),
        n_operations=len(operations),
        max_failures=max_failures,
    )
    d.absent_operations = [o for o in operations if o not in occurring]
    return d


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _op_words(d: Diagnosis, op: str | None, opcode: int | None) -> str:
    """How a row's operation is named: nothing for an AIR without operations."""
    if not d.has_operations:
        return ""
    if op is None:
        return "no operation's flag is set"
    return f"operation {op}" + (f" (opcode {opcode})" if opcode is not None else "")


def _first_bus_failure(bus_report: Any) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    for b in getattr(bus_report, "buses", []):
        for u in b.unmatched:
            if u.row >= 0 and (best is None or u.row < best[0]):
                best = (u.row, f"bus {b.bus}: {u.side} {u.label}")
    return best


def _summary_line(d: Diagnosis, bus_report: Any) -> str:
    parts = []
    if not d.ok:
        parts.append(f"{d.total_failures} failing row(s) in {len(d.groups)} constraint(s)")
    bad = [b for b in getattr(bus_report, "buses", []) if not b.ok]
    if bad:
        n_un = sum(len(b.unmatched) for b in bad)
        parts.append(f"{len(bad)} unbalanced bus(es) with {n_un} unmatched message(s)")
    firsts = [x for x in (d.first_failure, _first_bus_failure(bus_report)) if x is not None]
    first = ""
    if firsts:
        row, what = min(firsts, key=lambda x: x[0])
        first = f"; first failing row {row} ({'constraint ' + what if not what.startswith('bus ') else what})"
    return f"FAIL: {d.trace} against {d.air}: {', '.join(parts)}{first}"


def _ok_line(d: Diagnosis) -> str:
    """The OK line, with what OK does not cover: columns nothing reads, operations that never occur."""
    text = f"OK: {d.trace} satisfies every constraint of {d.air} ({d.n_constraints} constraints, {d.n_rows} rows)"
    absent = d.absent_operations if d.has_operations else None
    return text + "; " + exercise_note(len(d.unread_columns), d.n_columns, absent, d.n_operations)


def _window_lines(d: Diagnosis, f: Failure, hex: bool, color: bool) -> list[str]:
    """The window as an aligned table: each column as wide as its widest value."""
    cols = [k for k in f.window[0] if k not in ("row", "mark")]
    head = ["row"] + (["operation"] if d.has_operations else []) + cols
    rows = []
    for w, op in zip(f.window, f.window_operations or [None] * len(f.window)):
        cells = [str(w["row"])] + ([op or "-"] if d.has_operations else [])
        rows.append(cells + [format_value(int(w[c]), hex) for c in cols])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    text_cols = 2 if d.has_operations else 1  # row and operation left-aligned, values right-aligned

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < text_cols else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = ["       " + line(head).rstrip()]
    for w, r in zip(f.window, rows):
        text = ("    >> " if w["mark"] else "       ") + line(r).rstrip()
        out.append(_paint(text, "33", color) if w["mark"] else text)
    return out


def _failure_lines(d: Diagnosis, g: FailureGroup, f: Failure, hex: bool, color: bool, by_row: bool) -> list[str]:
    words = _op_words(d, f.operation, f.opcode)
    if words and g.domain == "transition":
        words += f"; next row: {f.next_operation or 'no operation'}"
    head = f"row {f.row}" + (f": {words}" if words else "")
    out = []
    if by_row:
        out.append(_paint(f"{head} — constraint {g.constraint} ({g.domain})", "1", color))
        expr = g.expr if len(g.expr) <= 200 else f"{g.expr[:200]}... (the whole: air explain {g.constraint})"
        out.append(f"    {expr}")
    else:
        out.append(f"  {head}")
    out.append(f"    value {format_value(f.value, hex)} (must be 0)")
    out.append("    cells: " + ", ".join(f"{k}={format_value(v, hex)}" for k, v in f.cells.items()))
    if f.window:
        out.extend(_window_lines(d, f, hex, color))
    return out


def _publics(g: FailureGroup, hex: bool) -> str:
    return ", ".join(f"{k}={format_value(v, hex)}" for k, v in g.public_inputs.items())


def render_text(
    d: Diagnosis, bus_report: Any = None, color: bool = False, *, group_by: str = "row", hex: bool = False
) -> str:
    """The text report: failures in row order (``group_by="row"``) or per constraint, then the buses."""
    out: list[str] = []
    if d.ok and (bus_report is None or bus_report.ok):
        buses = "" if bus_report is None else "\n" + bus_report.render(max_items=d.max_failures, hex=hex)
        return _paint(_ok_line(d), "32", color) + buses
    out.append(_paint(_summary_line(d, bus_report), "31;1", color))
    if group_by == "row" and d.groups:
        out.append("failing constraints (failures below in row order; --group-by constraint lists them by constraint):")
        for g in sorted(d.groups, key=lambda g: g.shown[0].row if g.shown else -1):
            first = f"; first at row {g.shown[0].row}" if g.shown else ""
            out.append(f"  constraint {g.constraint} ({g.domain}) — {g.total} failing row(s){first}")
            if g.doc:
                out.append(f"    source: {g.doc}")
            if g.public_inputs:
                out.append("    public inputs: " + _publics(g, hex))
        # stable: on one row, constraints keep the AIR's order
        shown = sorted(((f.row, i, g, f) for i, g in enumerate(d.groups) for f in g.shown), key=lambda x: x[:2])
        for _, _, g, f in shown:
            out.append("")
            out.extend(_failure_lines(d, g, f, hex, color, by_row=True))
        hidden = [g for g in d.groups if g.hidden]
        if hidden:
            out.append("")
            out.append(f"shown: the first {d.max_failures} failing row(s) of each constraint (--max-failures)")
            for g in hidden:
                out.append(f"  ... and {g.hidden} more failing row(s) of {g.constraint}")
    else:
        for g in d.groups:
            out.append("")
            out.append(_paint(f"constraint {g.constraint} ({g.domain}) — {g.total} failing row(s)", "1", color))
            out.append(f"  {g.expr}")
            if g.doc:
                out.append(f"  source: {g.doc}")
            if g.public_inputs:
                out.append("  public inputs: " + _publics(g, hex))
            for f in g.shown:
                out.extend(_failure_lines(d, g, f, hex, color, by_row=False))
            if g.hidden:
                out.append(f"  ... and {g.hidden} more failing row(s) of {g.constraint}")
    if bus_report is not None:
        out.append("")
        out.append(bus_report.render(color=color, max_items=d.max_failures, hex=hex))
    return "\n".join(out)


def to_json(d: Diagnosis, bus_report: Any = None) -> dict[str, Any]:
    """The report as JSON, bounded like the text: at most ``max_failures`` rows per constraint and
    unmatched messages (and likely pairs) per bus, with the totals of each."""
    limit = d.max_failures
    buses = [] if bus_report is None else bus_report.buses
    first = [x for x in (d.first_failure, _first_bus_failure(bus_report)) if x is not None]
    summary: dict[str, Any] = {
        "air": d.air,
        "trace": d.trace,
        "rows": d.n_rows,
        "constraints": d.n_constraints,
        "failing_constraints": len(d.groups),
        "failing_rows": d.total_failures,
        "failing_rows_shown": sum(len(g.shown) for g in d.groups),
        "unmatched_messages": sum(len(b.unmatched) for b in buses),
        "unmatched_shown": sum(min(len(b.unmatched), limit) for b in buses),
        "max_failures": limit,
        "first_failing_row": min(first)[0] if first else None,
        "columns": d.n_columns,
        "unread_columns": list(d.unread_columns),
        "ok": d.ok and (bus_report is None or bus_report.ok),
    }
    if d.absent_operations is not None:
        summary["operations"] = d.n_operations
        summary["operations_never_occurring"] = list(d.absent_operations)
    doc: dict[str, Any] = {
        "summary": summary,
        "failures": [
            {
                "constraint": g.constraint,
                "domain": g.domain,
                "expr": g.expr,
                "total": g.total,
                "shown": len(g.shown),
                "defined_at": g.defined_at,
                "public_inputs": g.public_inputs,
                "rows": [
                    {
                        "row": f.row,
                        "value": str(f.value),
                        "operation": f.operation,
                        "opcode": f.opcode,
                        "next_operation": f.next_operation,
                        "cells": {k: str(v) for k, v in f.cells.items()},
                        "rendered": f.rendered,
                        "window": [
                            {k: (v if k in ("row", "mark") else str(v)) for k, v in w.items()} for w in f.window
                        ],
                        "window_operations": list(f.window_operations),
                    }
                    for f in g.shown
                ],
            }
            for g in d.groups
        ],
        "unmatched": [] if bus_report is None else bus_report.unmatched_json(limit),
        "likely_pairs": [] if bus_report is None else bus_report.near_json(limit),
        "buses": [] if bus_report is None else bus_report.buses_json(),
    }
    return doc


def to_junit(d: Diagnosis, air: Air, bus_report: Any = None) -> str:
    """JUnit XML: one test case per constraint and per bus; failures inside (at most ``max_failures``
    rows per constraint and unmatched messages per bus, with the count of the rest)."""
    failing = {g.constraint: g for g in d.groups}
    suite = ET.Element("testsuite", name=f"air check {d.air}", tests=str(len(air.constraints)))
    nfail = 0
    for c in air.constraints:
        case = ET.SubElement(suite, "testcase", classname=d.air, name=c.name)
        g = failing.get(c.name)
        if g:
            nfail += 1
            rows = ", ".join(str(f.row) for f in g.shown)
            fe = ET.SubElement(case, "failure", message=f"{g.total} failing row(s); first: {rows}")
            fe.text = "\n".join(
                f"row {f.row}: " + (f"{_op_words(d, f.operation, f.opcode)}: " if d.has_operations else "")
                + f"value {format_value(f.value)}: {f.rendered}"
                for f in g.shown
            )
    if bus_report is not None:
        for b in bus_report.buses:
            case = ET.SubElement(suite, "testcase", classname=d.air, name=f"bus:{b.bus}")
            if not b.ok:
                nfail += 1
                fe = ET.SubElement(case, "failure", message=b.summary())
                shown = [u.describe() for u in b.unmatched[: d.max_failures]]
                more = len(b.unmatched) - len(shown)
                fe.text = "\n".join(shown + ([f"... and {more} more"] if more > 0 else []))
    suite.set("failures", str(nfail))
    suite.set("tests", str(len(suite)))
    return ET.tostring(suite, encoding="unicode")


def _sarif_location(defined_at: str) -> dict[str, Any] | None:
    """A SARIF physical location for ``file:line`` (relative to the working directory when inside it)."""
    path, _, line = defined_at.rpartition(":")
    if not path or not line.isdigit():
        return None
    p = Path(path)
    try:
        uri = p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        uri = p.resolve().as_uri()
    return {"artifactLocation": {"uri": uri}, "region": {"startLine": int(line)}}


def _row_location(d: Diagnosis, row: int) -> dict[str, Any]:
    return {"name": f"row {row}", "kind": "element", "fullyQualifiedName": f"{d.trace}:row {row}"}


def to_sarif(d: Diagnosis, air: Air, bus_report: Any = None) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per constraint or bus, one result per shown failure. A constraint's result
    points at its definition (the ``constrain(...)`` call, ``Constraint.defined_at``) as its physical
    location and at the trace row as a logical location; a bus message at the trace file and row."""
    import sympy as sp

    rules = []
    for c in air.constraints:
        rule: dict[str, Any] = {"id": c.name, "shortDescription": {"text": sp.sstr(c.expr)[:200]}}
        if c.doc:
            rule["fullDescription"] = {"text": c.doc[:1000]}
        rules.append(rule)
    results: list[dict[str, Any]] = []
    trace_loc = {"artifactLocation": {"uri": d.trace}}
    for g in d.groups:
        where = _sarif_location(g.defined_at) or trace_loc
        for f in g.shown:
            op = f" ({f.operation})" if f.operation else ""
            results.append(
                {
                    "ruleId": g.constraint,
                    "level": "error",
                    "message": {
                        "text": f"row {f.row}{op}: value {format_value(f.value)}; {f.rendered} (trace {d.trace})"
                    },
                    "locations": [{"physicalLocation": where, "logicalLocations": [_row_location(d, f.row)]}],
                }
            )
    if bus_report is not None:
        for b in bus_report.buses:
            rules.append({"id": f"bus:{b.bus}", "shortDescription": {"text": f"bus {b.bus} balances"}})
            for u in b.unmatched[: d.max_failures]:
                results.append(
                    {
                        "ruleId": f"bus:{b.bus}",
                        "level": "error",
                        "message": {"text": u.describe()},
                        "locations": [{"physicalLocation": trace_loc, "logicalLocations": [_row_location(d, u.row)]}],
                    }
                )
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "air", "rules": rules}}, "results": results}],
    }
