"""What broke, and where: constraint failures enriched for a designer, in text, JSON, JUnit and SARIF.

For every failing constraint (all failing rows are known; the report shows the first
``max_failures`` of each constraint and counts the rest) each shown failure carries: the row; the
operation whose flag is nonzero on that row (and on the next row, for a transition constraint); the
value of every cell the constraint reads; the constraint rendered with those values; its (nonzero)
value; and a window of +-``context`` rows of the columns it reads, with the failing row marked.
Boundary constraints name the public inputs they compare against.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from air.air import Air
from air.evaluate import CheckResult, active_operations, cell_values, constraint_value
from air.symbols import Cell, PublicInput
from air.trace import Trace

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

    @property
    def ok(self) -> bool:
        return not self.groups

    @property
    def total_failures(self) -> int:
        return sum(g.total for g in self.groups)


def _render(text: str, cells: dict[str, int]) -> str:
    vals = ", ".join(f"{k}={v}" for k, v in cells.items())
    return f"{text}   with {vals}"


def diagnose(air: Air, trace: Trace, result: CheckResult, *, max_failures: int = 5, context: int = 2) -> Diagnosis:
    """Enrich the check's failures. The operation flags are evaluated once, on the union of every shown
    row and its successor (one run of the compiled flag program, shared with ``check`` through
    ``air.compile.program``'s cache), not once per failing constraint; each constraint is printed once."""
    opcodes = {o.name: o.opcode for o in air.operations}
    groups: list[FailureGroup] = []
    n = trace.n_rows
    shown = {f.constraint: np.asarray(f.rows[:max_failures], dtype=np.int64) for f in result.failures}
    wanted = [r for rs in shown.values() for r in (rs, (rs + 1) % n)]
    all_rows = np.unique(np.concatenate(wanted)) if wanted else np.zeros(0, dtype=np.int64)
    op_at = dict(zip(all_rows.tolist(), active_operations(air, trace, all_rows)))
    for f in result.failures:
        c = air.constraint(f.constraint)
        shown_rows = shown[f.constraint]
        ops = [op_at[r] for r in shown_rows.tolist()]
        nxt = (
            [op_at[r] for r in ((shown_rows + 1) % n).tolist()]
            if c.domain == "transition"
            else [None] * len(shown_rows)
        )
        text = sp.sstr(c.expr)
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
        )
        for i, r in enumerate(shown_rows.tolist()):
            cells = cell_values(air, c.name, trace, r)
            lo, hi = max(0, r - context), min(n - 1, r + context)
            window = [
                {"row": w, "mark": w == r, **{col: int(trace.columns[col][w]) for col in cols}}
                for w in range(lo, hi + 1)
            ]
            g.shown.append(
                Failure(
                    row=r,
                    value=constraint_value(air, c.name, trace, r),
                    operation=ops[i],
                    opcode=opcodes.get(ops[i]) if ops[i] else None,
                    next_operation=nxt[i],
                    cells=cells,
                    rendered=_render(text, cells),
                    window=window,
                )
            )
        groups.append(g)
    return Diagnosis(air.name, trace.source, n, groups, len(air.constraints))


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def render_text(d: Diagnosis, bus_report: Any = None, color: bool = False) -> str:
    out: list[str] = []
    if d.ok and (bus_report is None or bus_report.ok):
        buses = "" if bus_report is None else "\n" + bus_report.render()
        return (
            _paint(
                f"OK: {d.trace} satisfies every constraint of {d.air} ({d.n_constraints} constraints, {d.n_rows} rows)",
                "32",
                color,
            )
            + buses
        )
    if not d.ok:
        out.append(
            _paint(
                f"FAIL: {d.total_failures} failing row(s) in {len(d.groups)} constraint(s) of {d.air} on {d.trace}",
                "31;1",
                color,
            )
        )
    for g in d.groups:
        out.append("")
        head = f"constraint {g.constraint} ({g.domain}) — {g.total} failing row(s)"
        out.append(_paint(head, "1", color))
        out.append(f"  {g.expr}")
        if g.doc:
            out.append(f"  source: {g.doc}")
        if g.public_inputs:
            out.append("  public inputs: " + ", ".join(f"{k}={v}" for k, v in g.public_inputs.items()))
        for f in g.shown:
            op = f"{f.operation} (opcode {f.opcode})" if f.operation else "no operation flag"
            nxt = f"; next row: {f.next_operation}" if g.domain == "transition" else ""
            out.append(f"  row {f.row}: operation {op}{nxt}")
            out.append(f"    value {f.value} (must be 0)")
            out.append("    cells: " + ", ".join(f"{k}={v}" for k, v in f.cells.items()))
            if f.window:
                cols = [k for k in f.window[0] if k not in ("row", "mark")]
                header = "      " + "row".rjust(7) + "".join(c.rjust(22) for c in cols)
                out.append(header)
                for w in f.window:
                    mark = ">>" if w["mark"] else "  "
                    line = f"    {mark}" + str(w["row"]).rjust(7) + "".join(str(w[c]).rjust(22) for c in cols)
                    out.append(_paint(line, "33", color) if w["mark"] else line)
        if g.hidden:
            out.append(f"  ... and {g.hidden} more failing row(s) of {g.constraint}")
    if bus_report is not None:
        out.append("")
        out.append(bus_report.render(color=color) if hasattr(bus_report, "render") else str(bus_report))
    return "\n".join(out)


def to_json(d: Diagnosis, bus_report: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": {
            "air": d.air,
            "trace": d.trace,
            "rows": d.n_rows,
            "constraints": d.n_constraints,
            "failing_constraints": len(d.groups),
            "failing_rows": d.total_failures,
            "ok": d.ok and (bus_report is None or bus_report.ok),
        },
        "failures": [
            {
                "constraint": g.constraint,
                "domain": g.domain,
                "expr": g.expr,
                "total": g.total,
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
                    }
                    for f in g.shown
                ],
            }
            for g in d.groups
        ],
        "unmatched": [] if bus_report is None else bus_report.unmatched_json(),
        "likely_pairs": [] if bus_report is None else bus_report.near_json(),
        "buses": [] if bus_report is None else bus_report.buses_json(),
    }
    return doc


def to_junit(d: Diagnosis, air: Air, bus_report: Any = None) -> str:
    """JUnit XML: one test case per constraint and per bus; failures inside."""
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
            fe.text = "\n".join(f"row {f.row}: {f.operation}: value {f.value}: {f.rendered}" for f in g.shown)
    if bus_report is not None:
        for b in bus_report.buses:
            case = ET.SubElement(suite, "testcase", classname=d.air, name=f"bus:{b.bus}")
            if not b.ok:
                nfail += 1
                fe = ET.SubElement(case, "failure", message=b.summary())
                fe.text = "\n".join(u.describe() for u in b.unmatched)
    suite.set("failures", str(nfail))
    suite.set("tests", str(len(suite)))
    return ET.tostring(suite, encoding="unicode")


def to_sarif(d: Diagnosis, air: Air, bus_report: Any = None) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per constraint or bus, one result per shown failure."""
    rules = [{"id": c.name, "shortDescription": {"text": sp.sstr(c.expr)[:200]}} for c in air.constraints]
    results: list[dict[str, Any]] = []
    for g in d.groups:
        for f in g.shown:
            results.append(
                {
                    "ruleId": g.constraint,
                    "level": "error",
                    "message": {"text": f"row {f.row} ({f.operation}): value {f.value}; {f.rendered}"},
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": d.trace}},
                            "logicalLocations": [{"name": f"row {f.row}", "kind": "element"}],
                        }
                    ],
                }
            )
    if bus_report is not None:
        for b in bus_report.buses:
            rules.append({"id": f"bus:{b.bus}", "shortDescription": {"text": f"bus {b.bus} balances"}})
            for u in b.unmatched:
                results.append(
                    {
                        "ruleId": f"bus:{b.bus}",
                        "level": "error",
                        "message": {"text": u.describe()},
                        "locations": [
                            {
                                "physicalLocation": {"artifactLocation": {"uri": d.trace}},
                                "logicalLocations": [{"name": f"row {u.row}", "kind": "element"}],
                            }
                        ],
                    }
                )
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "air", "rules": rules}}, "results": results}],
    }
