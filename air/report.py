"""Reports: the analysis and check results rendered as text tables, Markdown or JSON.

Pure functions: definition -> analysis -> (this module) -> CLI. Nothing here parses arguments,
prints or exits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from air.analysis import Analysis, analyze_constraint, constraint_ops

if TYPE_CHECKING:  # sympy is imported by the explanations only: the tables print a cached analysis without it
    import sympy as sp

    from air.air import Air

# a coverage.Coverage (not imported: coverage renders its tables with this module, and imports go one way)
Coverage = Any

__all__ = [
    "table",
    "degree_table",
    "degree_rows",
    "degrees_json",
    "compare",
    "compare_json",
    "explain_item",
]


def _s(v: Any) -> str:
    return "-" if v is None else str(v)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    """An aligned plain-text table, or a Markdown table."""
    cells = [[_s(c) for c in r] for r in rows]
    if fmt == "markdown":
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
        return "\n".join(out)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _budget(budget: int | None) -> str:
    return "no budget declared" if budget is None else f"budget {budget}"


def _mark(degree: int | None, budget: int | None, claimed: int | None = None) -> str:
    notes = []
    if degree is not None and budget is not None and degree > budget:
        notes.append(f"OVER BUDGET by {degree - budget}")
    if claimed is not None and degree is not None and claimed != degree:
        notes.append(f"claimed {claimed}")
    return "; ".join(notes)


def _occurs(n: int) -> str:
    """A coverage cell of ``degrees --by op``: the row count, with operations that never occur marked."""
    return f"{n} (never)" if n == 0 else str(n)


def degrees_json(a: Analysis, by: str = "constraint", coverage: Coverage | None = None) -> dict[str, Any]:
    """The degree table as JSON; with ``coverage`` (``--by op`` only), each operation's ``rows`` on the traces."""
    doc: dict[str, Any] = {"air": a.air.name, "budget": a.budget}
    declared = getattr(a.air, "declared_degrees", None) or {}
    if by == "constraint":
        doc["constraints"] = [c.to_json() for c in a.constraints]
        for c in doc["constraints"]:
            if c["name"] in declared:  # the degree the AIR's own notation declares (AirScript's structural count)
                c["airscript_degree"], c["airscript_note"] = declared[c["name"]]
    elif by == "op":
        doc["operations"] = [o.to_json() for o in a.operations]
        if coverage is not None:
            for o in doc["operations"]:
                o["rows"] = coverage.operations.get(o["name"], 0)
            doc["coverage"] = {
                "traces": coverage.traces,
                "rows": coverage.rows,
                "never": coverage.operations_never,
            }
    elif by == "bus":
        doc["buses"] = [b.to_json() for b in a.buses]
        for bj in doc["buses"]:
            if f"bus:{bj['name']}" in declared:
                bj["airscript_degree"], bj["airscript_note"] = declared[f"bus:{bj['name']}"]
    else:
        raise ValueError(f"unknown view {by!r}")
    doc["claim_differences"] = [
        {"item": item, "claimed": claimed, "computed": computed} for item, claimed, computed in a.claim_differences()
    ]
    if a.inexact:
        doc["notes"] = list(a.inexact)
    return doc


def _declared(d: tuple[int, str] | None) -> str:
    if d is None:
        return "-"
    return f"{d[0]} ({d[1]})" if d[1] else str(d[0])


def _claim_rows(a: Analysis) -> list[list[Any]]:
    return [[item, claimed, computed, computed - claimed] for item, claimed, computed in a.claim_differences()]


def _summary(a: Analysis) -> str:
    over = a.over_budget()
    diffs = a.claim_differences()
    if a.budget is None:
        fits = "no budget declared: no degree is checked against one; "
    else:
        fits = f"budget {a.budget}); {len(over)} over budget{(': ' + ', '.join(over)) if over else ''}; "
        fits = "(" + fits
    head = f"{a.air.name}: max degree {a.max_degree} "
    if a.budget is None:
        head = head.rstrip() + "; "
    return f"{head}{fits}{len(diffs)} claimed degree(s) differ from the computed ones"


def _coverage_note(cov: Coverage) -> str:
    n_ops = len(cov.operations) - 1  # without the "(none)" entry
    return (
        f"rows: over {len(cov.traces)} trace(s), {cov.rows} rows; "
        f"{n_ops - len(cov.operations_never)} of {n_ops} operations occur, "
        f"{len(cov.operations_never)} never"
    )


def degree_rows(
    a: Analysis, by: str = "constraint", coverage: Coverage | None = None
) -> tuple[list[str], list[list[Any]]]:
    """The headers and rows of the degree table (``degree_table`` prints them; ``air.html_report`` puts them in
    an HTML table): one row per constraint, per operation, or per bus and bus term."""
    if coverage is not None and by != "op":
        raise ValueError("a coverage column is only shown by operation")
    b = a.budget
    if by == "constraint":
        headers = ["constraint", "domain", "degree", "structural", "flag", "body", "claimed", "note"]
        rows = [
            [
                c.name,
                c.domain,
                c.degree,
                c.structural_degree,
                c.flag_degree,
                c.body_degree,
                c.claimed_degree,
                _mark(c.degree, b, c.claimed_degree),
            ]
            for c in a.constraints
        ]
        declared = getattr(a.air, "declared_degrees", None) or {}
        if declared:  # beside the exact degree: the degree the AIR's notation declares (AirScript: structural)
            headers.insert(3, "airscript")
            for r in rows:
                r.insert(3, _declared(declared.get(r[0])))
    elif by == "op":
        headers = ["operation", "opcode", "class", "flag", "body", "total", "headroom", "highest", "note"]
        rows = []
        for o in a.operations:
            behind = ", ".join(o.constraints[:3]) + (f" (+{len(o.constraints) - 3})" if len(o.constraints) > 3 else "")
            rows.append(
                [
                    o.name,
                    o.opcode,
                    o.flag_class,
                    o.flag_degree,
                    o.body_degree,
                    o.degree,
                    o.headroom,
                    behind,
                    _mark(o.degree, b),
                ]
            )
            if coverage is not None:
                rows[-1].insert(-1, _occurs(coverage.operations.get(o.name, 0)))
        if coverage is not None:
            headers.insert(-1, "rows")
    elif by == "bus":
        # a term's own degree and the degree of its part of the bus constraint (what the budget applies to)
        headers = ["bus", "term", "side", "operation", "flag", "factors", "term degree", "constraint degree"]
        headers += ["claimed", "note"]
        rows = []
        for bus in a.buses:
            mark = _mark(bus.degree, b, bus.claimed_degree)
            rows.append(
                [bus.name, f"({bus.kind} bus constraint)", "", "", "", "", "", bus.degree, bus.claimed_degree, mark]
            )
            for t in bus.terms:
                fac = " * ".join(f"{n}({d})" for n, d in t.factors)
                note = "; ".join(
                    x for x in (_mark(t.constraint_degree, b), _mark(t.degree, 10**9, t.claimed_degree)) if x
                )
                rows.append(
                    [
                        "",
                        t.name,
                        t.side,
                        t.operation,
                        t.flag_degree,
                        fac,
                        t.degree,
                        t.constraint_degree,
                        t.claimed_degree,
                    ]
                    + [note]
                )
        declared = getattr(a.air, "declared_degrees", None) or {}
        if declared:  # AirScript's degree of the whole bus column (product of all factors) beside the per-term view
            headers.insert(-2, "airscript")
            for r in rows:
                r.insert(-2, _declared(declared.get(f"bus:{r[0]}")) if r[0] else "")
    else:
        raise ValueError(f"unknown view {by!r}")
    return headers, rows


def degree_table(a: Analysis, by: str = "constraint", fmt: str = "table", coverage: Coverage | None = None) -> str:
    """The degree table of an analysis, per constraint, per operation or per bus term. With ``coverage``
    (of traces, ``air.coverage.coverage``; ``--by op`` only) the operation view gains a ``rows`` column:
    on how many rows of the traces each operation occurs, ``0 (never)`` for those that never do."""
    if coverage is not None and by != "op":
        raise ValueError("a coverage column is only shown by operation")
    if fmt == "json":
        return json.dumps(degrees_json(a, by, coverage), indent=2)
    b = a.budget
    headers, rows = degree_rows(a, by, coverage)
    title = f"{a.air.name} — degrees by {by} ({_budget(b)})"
    body = table(headers, rows, fmt)
    if coverage is not None:
        body += ("\n\n" if fmt == "markdown" else "\n") + _coverage_note(coverage)
    notes = "".join(f"\nnote: {n}" for n in a.inexact)
    # every difference the summary counts, whatever the view (an operation view shows no claims of its own)
    claims = _claim_rows(a)
    diffs = ""
    if claims:
        head = ["item", "claimed", "computed", "computed - claimed"]
        diffs = f"claimed degrees that differ from the computed ones ({len(claims)}):\n" + table(head, claims, fmt)
    if fmt == "markdown":
        return f"## {title}\n\n{body}\n\n{_summary(a)}\n" + (f"\n{diffs}\n" if diffs else "") + notes
    return f"{title}\n{body}\n{_summary(a)}" + (f"\n\n{diffs}" if diffs else "") + notes


def compare_json(analyses: Sequence[Analysis], labels: Sequence[str] | None = None) -> dict[str, Any]:
    """The comparison as JSON; ``labels`` (one per analysis) tell apart AIRs that share a name."""
    out = []
    for i, a in enumerate(analyses):
        out.append(
            {
                "air": a.air.name,
                "label": labels[i] if labels else a.air.name,
                "description": a.air.description,
                "columns": {"total": len(a.air.layout), "groups": a.air.groups()},
                "max_degree": a.max_degree,
                "budget": a.budget,
                "over_budget": a.over_budget(),
                "operations": {o.name: o.degree for o in a.operations},
                "bus_terms": {f"{bd.name}/{t.name}": t.degree for bd in a.buses for t in bd.terms},
                # each term's part of its bus constraint (what the budget applies to), apart from its own degree
                "bus_term_constraint_degrees": {
                    f"{bd.name}/{t.name}": t.constraint_degree for bd in a.buses for t in bd.terms
                },
                "buses": {bd.name: bd.degree for bd in a.buses},
            }
        )
    return {"airs": out}


def compare(analyses: Sequence[Analysis], fmt: str = "table", labels: Sequence[str] | None = None) -> str:
    """Designs side by side: columns, operation degrees, bus term degrees, what exceeds the budget.
    ``labels`` (one per analysis, default the AIR names) head the columns."""
    if fmt == "json":
        return json.dumps(compare_json(analyses, labels), indent=2)
    names = list(labels) if labels else [a.air.name for a in analyses]
    groups: list[str] = []
    for a in analyses:
        for g in a.air.groups():
            if g not in groups:
                groups.append(g)
    rows: list[list[Any]] = []
    for g in groups:
        rows.append([f"columns: {g}"] + [a.air.groups().get(g, 0) for a in analyses])
    rows.append(["columns: total"] + [len(a.air.layout) for a in analyses])
    rows.append(["max degree"] + [a.max_degree for a in analyses])
    sections = [table(["", *names], rows, fmt)]

    # Operations whose degree differs somewhere, or that some design lacks or exceeds with.
    op_names: list[str] = []
    for a in analyses:
        for o in a.operations:
            if o.name not in op_names:
                op_names.append(o.name)
    orows = []
    for n in op_names:
        vals = []
        for a in analyses:
            try:
                o = a.operation(n)
                vals.append(o.degree if o.degree is not None else f"({o.flag_degree})")
            except KeyError:
                vals.append("absent")
        if len({str(v) for v in vals}) > 1 or any(
            isinstance(v, int) and a.budget is not None and v > a.budget for v, a in zip(vals, analyses)
        ):
            orows.append([n] + vals)
    if orows:
        sections.append("operations whose degree differs (flag degree in parentheses where nothing is gated):")
        sections.append(table(["operation", *names], orows, fmt))
    terms: list[str] = []
    for a in analyses:
        for bd in a.buses:
            for t in bd.terms:
                k = f"{bd.name}/{t.name}"
                if k not in terms:
                    terms.append(k)
    trows = []
    for k in terms:
        bname, tname = k.split("/", 1)
        vals = []
        for a in analyses:
            try:
                vals.append(a.term(bname, tname).degree)
            except KeyError:
                vals.append("absent")
        trows.append([k] + vals)
    if trows:
        brows = [
            [f"bus {bn}"] + [_bus_deg(a, bn) for a in analyses]
            for bn in dict.fromkeys(bd.name for a in analyses for bd in a.buses)
        ]
        sections.append("bus terms (the term's own degree) and buses (the bus constraint's degree):")
        sections.append(table(["term", *names], trows + brows, fmt))
    over = [
        [n, ", ".join(a.over_budget()) or ("none" if a.budget is not None else _budget(None))]
        for n, a in zip(names, analyses)
    ]
    sections.append("over budget:")
    sections.append(table(["air", "items over budget"], over, fmt))
    return "\n\n".join(sections)


def _bus_deg(a: Analysis, name: str) -> Any:
    try:
        return a.bus(name).degree
    except KeyError:
        return "absent"


def _names(air: Air) -> dict[sp.Basic, str]:
    names: dict[sp.Basic, str] = {}
    for o in air.operations:
        names.setdefault(o.flag, f"f_{o.name.lower()}")
    return names


def _explain_operation(air: Air, name: str) -> str:
    """An operation: its flag and flag degree, the constraints it gates (flag + body degrees) and its bus
    terms (term degree, and the bus constraint's for a multiset bus, whose accumulator adds 1)."""
    import sympy as sp

    from air.bus import term_degree
    from air.degree import exact_degree

    o = air.op(name)
    fd = exact_degree(o.flag)
    head = f"operation {o.name}" + (f" (opcode {o.opcode})" if o.opcode is not None else "")
    out = [f"{head}  ({air.name}" + (f"; flag class {o.flag_class}" if o.flag_class else "") + ")"]
    if o.doc:
        out.append(f"source: {o.doc}")
    out.append(f"flag f_{o.name.lower()}: degree {fd}")
    out.append(sp.pretty(o.flag, use_unicode=True))
    degrees: list[int] = []
    cons = [c for c in air.constraints if o.name in constraint_ops(c)]
    out.append(f"constraints gated by {o.name}: {len(cons)}")
    for c in cons:
        cd = analyze_constraint(air, c)
        parts = f"flag {cd.flag_degree} + body {cd.body_degree} = " if cd.flag_degree is not None else ""
        claim = f"; claimed {cd.claimed_degree}" if cd.claimed_degree is not None else ""
        out.append(f"  {c.name} ({c.domain}): {parts}degree {cd.degree}{claim}")
        text = sp.sstr(c.body) if c.body is not None else ""
        if c.body is None:  # gated through a composite flag (a tag op:NAME): the whole polynomial is long
            out.append(f"    gated through a shared flag; the whole polynomial: air explain {c.name}")
        elif len(text) <= 160:
            out.append(f"    body: {text}")
        else:
            out.append(f"    body: {len(text)} characters; air explain {c.name}")
        degrees.append(cd.degree)
    terms = [(b, t) for b in air.buses for t in b.terms if o.name in (t.operation or "").split("+")]
    out.append(f"bus terms of {o.name}: {len(terms)}")
    for b, t in terms:
        td = term_degree(air, b, t)
        facs = " * ".join(f"{n}({d})" for n, d in td.factors)
        line = f"  {b.name}/{t.name} ({t.side}): flag({td.flag_degree}) * {facs} = term degree {td.degree}"
        if b.kind == "multiset":
            line += f"; in the bus constraint (times {b.column}') degree {td.degree + 1}"
            degrees.append(td.degree + 1)
        else:
            degrees.append(td.degree)
        out.append(line)
    if degrees:
        top = max(degrees)
        out.append(f"operation degree {top} (budget {air.budget}, headroom {air.budget - top})")
    else:
        out.append("nothing in this AIR is gated by this operation")
    return "\n".join(out)


def _suggest(air: Air, item: str) -> str:
    """Up to five names close to ``item`` (difflib; case-insensitive), as a hint."""
    import difflib

    names = [c.name for c in air.constraints] + [o.name for o in air.operations]
    names += [b.name for b in air.buses] + [f"{b.name}/{t.name}" for b in air.buses for t in b.terms]
    by_lower: dict[str, str] = {}
    for n in names:
        by_lower.setdefault(n.lower(), n)
    near = difflib.get_close_matches(item.lower(), list(by_lower), n=5, cutoff=0.6)
    return f"; did you mean {', '.join(by_lower[n] for n in near)}?" if near else ""


def explain_item(air: Air, item: str) -> str:
    """A constraint, an operation, a bus or ``bus/term``: pretty-printed, as LaTeX, and its degree factor
    by factor. An unknown name raises ``KeyError`` with the nearest names."""
    import sympy as sp

    from air.bus import bus_constraint, bus_degree, bus_part_degrees, numerator, term_degrees
    from air.degree import exact_degree, explain, structural_degree

    if not any(c.name == item for c in air.constraints):
        ops = {o.name: o.name for o in air.operations}
        ops.update({o.name.lower(): o.name for o in air.operations if o.name.lower() not in ops})
        if item in ops or item.lower() in ops:
            return _explain_operation(air, ops.get(item) or ops[item.lower()])
    names = _names(air)
    for c in air.constraints:
        if c.name == item:
            out = [f"{c.name}  ({c.domain}; {air.name})"]
            if c.doc:
                out.append(f"source: {c.doc}")
            if c.flag is not None and c.body is not None:
                fname = names.get(c.flag, "flag")
                out.append(f"flag {fname}: degree {exact_degree(c.flag)}")
                out.append(sp.pretty(c.flag, use_unicode=True))
                out.append(f"body: degree {exact_degree(c.body)}")
                out.append(sp.pretty(c.body, use_unicode=True))
            else:
                out.append(sp.pretty(c.expr, use_unicode=True))
            out.append("LaTeX: " + sp.latex(c.expr))
            d, sd = exact_degree(c.expr), structural_degree(c.expr)
            out.append(
                f"degree {d} (structural {sd}{', cancellation' if d != sd else ''}; "
                f"{_budget(air.budget)}; claimed {_s(c.claimed_degree)})"
            )
            out.append("how it adds up:")
            out.extend(explain(c.expr, names=names).lines(max_depth=3))
            return "\n".join(out)
    bus_name, _, term_name = item.partition("/")
    for b in air.buses:
        if b.name != bus_name:
            continue
        acc, parts = bus_part_degrees(air, b)
        tds = term_degrees(air, b)
        if not term_name:
            e = bus_constraint(air, b)
            lines = [f"bus {b.name} ({b.kind}); accumulator {b.column}", "LaTeX: " + sp.latex(e)]
            if b.kind == "multiset":
                each = ", ".join(map(str, parts))
                how = f"max({acc} (the accumulator alone), {acc} (accumulator) + term degree: {each})"
            else:
                how = (
                    f"max({acc} ((b' - b) * every denominator), multiplicity * the other denominators: "
                    f"{', '.join(map(str, parts))})"
                )
            lines.append(f"bus constraint degree {bus_degree(air, b)} = {how}")
            for t in tds:
                facs = " + ".join(f"{n}({d})" for n, d in t.factors)
                lines.append(
                    f"  {t.side:8} {t.name}: term degree {t.degree} = flag {t.flag_degree} + {facs}; "
                    f"in the bus constraint {t.constraint_degree}"
                )
            return "\n".join(lines)
        for t, td in zip(b.terms, tds):
            if t.name == term_name:
                flag = numerator(b, t)
                parts_ = [(names.get(flag, f"f_{t.operation or t.name}"), td.flag_degree), *td.factors]
                lines = [f"bus {b.name}, {t.side} term {t.name} (operation {t.operation})"]
                lines.append(" * ".join(f"{n}({d})" for n, d in parts_) + f" = term degree {td.degree}")
                for m, n in zip(t.messages, t.factor_names()):
                    fields = ", ".join(f"{k}={sp.sstr(v)}" for k, v in m.fields)
                    lines.append(f"  {n}: {m.label} [label {_s(m.label_value)}] ({fields})")
                if b.kind == "multiset":
                    lines.append(
                        f"in the bus constraint it is multiplied by {b.column}': bus constraint degree "
                        f"{td.constraint_degree} for this term"
                    )
                else:
                    lines.append(
                        f"in the LogUp constraint (denominators cleared) its multiplicity ({td.flag_degree}) is "
                        f"multiplied by the other terms' denominators ({td.constraint_degree - td.flag_degree}): "
                        f"bus constraint degree {td.constraint_degree} for this term"
                    )
                lines.append(f"the bus constraint {b.name} has degree {bus_degree(air, b)} ({_budget(air.budget)})")
                return "\n".join(lines)
    raise KeyError(f"{air.name}: no constraint, operation, bus or bus term named {item!r}{_suggest(air, item)}")
