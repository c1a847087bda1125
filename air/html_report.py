"""HTML renderings: the check page (``air check --html``) and the notebook tables (``_repr_html_``).

The check page is drawn from the JSON report of the check (``diagnose.to_json`` plus ``checked_against``:
the document ``air check --format json`` prints), so the page and the JSON say the same thing; the only
other inputs are a ``Strip`` (the trace binned along its rows: the operation of every row as
``coverage.row_operation_codes`` finds it, and where failures and unmatched messages sit) and, when given,
the coverage of the trace (``Coverage.to_json``). The page is one self-contained file: inline CSS, inline
SVG, no script, and a Content-Security-Policy that forbids loading anything. Every text from the AIR, the
trace or the report goes through ``html.escape``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from air.air import Air

__all__ = [
    "STRIP_BINS",
    "Strip",
    "build_strip",
    "check_html",
    "check_page",
    "check_fragment",
    "degrees_html",
    "html_table",
]

STRIP_BINS = 600  # the strip's resolution: rows are binned to at most this many columns
CSP = "default-src 'none'; style-src 'unsafe-inline'"  # nothing is loaded: no script, font, image or frame

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-family:monospace}
code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;word-break:break-all}
.fail{color:#b00020;font-weight:bold}.ok{color:#0a7d2c;font-weight:bold}
table.window td{text-align:right;font-family:ui-monospace,monospace;font-size:12px}
tr.mark td{background:#fff3c4}tr.bad td{background:#fde2e2}
section.failure{border-left:3px solid #b00020;padding-left:.6em;margin:.8em 0}
.note{color:#555}
"""


def _e(v: Any) -> str:
    """``v`` as escaped text ("-" for None)."""
    return escape("-" if v is None else str(v), quote=True)


def _num(v: Any) -> bool:
    """A number (the JSON report writes field elements as decimal strings): right-aligned."""
    if isinstance(v, str):
        return v.isdigit()
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    cls: str = "",
    row_attrs: Sequence[str] | None = None,
    mark_numbers: bool = True,
) -> str:
    """An HTML table of escaped cells (numbers right-aligned, unless ``mark_numbers=False``: the page's CSS then
    aligns the table); ``row_attrs[i]``: raw attributes of row i, which the caller builds with ``_attrs``."""
    out = [
        f'<table class="{_e(cls)}">' if cls else "<table>",
        "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr>",
    ]
    for i, r in enumerate(rows):
        extra = f" {row_attrs[i]}" if row_attrs and row_attrs[i] else ""
        cells = "".join(f'<td class="n">{_e(c)}</td>' if mark_numbers and _num(c) else f"<td>{_e(c)}</td>" for c in r)
        out.append(f"<tr{extra}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _attrs(**kw: Any) -> str:
    """HTML attributes, escaped (``data_row=3`` -> ``data-row="3"``; ``cls`` -> ``class``)."""
    names = {"cls": "class"}
    return " ".join(f'{names.get(k, k.replace("_", "-"))}="{_e(v)}"' for k, v in kw.items() if v is not None)


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs) + "</table>"


# ---------------------------------------------------------------------------------------------- the strip


@dataclass
class Strip:
    """The trace binned along its rows: bin ``b`` holds rows ``ceil(b n / bins) .. ceil((b+1) n / bins) - 1``
    (a row ``r`` is in bin ``r * bins // n``). Per bin: the operation on most of its rows (an index into
    ``operations``, -1 for rows where no operation's flag is set), the failing (constraint, row) pairs and the
    unmatched bus messages on its rows. ``boundary_unmatched``: unmatched messages of the bus boundaries."""

    n_rows: int
    operations: list[str]
    bin_operation: np.ndarray
    failures: np.ndarray
    unmatched: np.ndarray
    boundary_unmatched: int = 0

    @property
    def bins(self) -> int:
        return len(self.failures)

    def bin_rows(self, b: int) -> tuple[int, int]:
        """First and last row of bin ``b``."""
        n, k = self.n_rows, self.bins
        return -(-b * n // k), -(-(b + 1) * n // k) - 1

    def bin_of(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(rows, dtype=np.int64) * self.bins // self.n_rows


def build_strip(
    codes: np.ndarray,
    operations: Sequence[str],
    failure_rows: Iterable[np.ndarray | Sequence[int]],
    unmatched_rows: Sequence[int],
    bins: int = STRIP_BINS,
) -> Strip:
    """The strip of a checked trace: ``codes`` the operation of every row as an index into ``operations`` (-1:
    none; ``coverage.row_operation_codes``), ``failure_rows`` every failing row of each failing constraint,
    ``unmatched_rows`` the row of every unmatched message (-1: a bus boundary). Vectorized: the majority
    operation of each bin is the argmax of a (bins x (operations + 1)) count table built with one ``bincount``
    (a tie goes to "no operation", then to the operation first in ``operations``)."""
    codes = np.asarray(codes, dtype=np.int64)
    n = len(codes)
    k = max(1, min(n, bins))
    width = len(operations) + 1
    of_row = np.arange(n, dtype=np.int64) * k // max(n, 1)
    counts = np.bincount(of_row * width + codes + 1, minlength=k * width).reshape(k, width)
    fr = [np.asarray(r, dtype=np.int64) for r in failure_rows]
    all_f = np.concatenate(fr) if fr else np.zeros(0, dtype=np.int64)
    un = np.asarray(unmatched_rows, dtype=np.int64)
    return Strip(
        n_rows=n,
        operations=list(operations),
        bin_operation=np.argmax(counts, axis=1).astype(np.int64) - 1,
        failures=np.bincount(all_f * k // max(n, 1), minlength=k),
        unmatched=np.bincount(un[un >= 0] * k // max(n, 1), minlength=k),
        boundary_unmatched=int(np.count_nonzero(un < 0)),
    )


def _colour(name: str) -> str:
    """A stable colour per operation name (hue from its CRC-32)."""
    h = zlib.crc32(name.encode()) % 360
    return f"hsl({h},55%,62%)"


def _strip_svg(s: Strip, failure_links: Mapping[int, int], bus_links: Mapping[int, int]) -> str:
    """Three lanes over the rows: operation bands, constraint failures, unmatched bus messages. A tick covers a
    run of adjacent bins that hold something and links to the first failure listed in it (``failure_links``:
    bin -> row), a bus tick likewise."""
    left, width, lane, gap = 110, 1000, 18, 6
    k = s.bins
    x = [left + width * b / k for b in range(k + 1)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="100%" role="img"'
        f' viewBox="0 0 {left + width + 10} {3 * (lane + gap) + 20}" aria-label="failures along the trace">'
    ]
    for i, label in enumerate(("operation", "constraints", "buses")):
        out.append(f'<text x="0" y="{i * (lane + gap) + 13}" font-size="12">{label}</text>')
    # operation bands: runs of bins with the same majority operation; one CSS class per operation for its colour
    ops = s.bin_operation
    starts = np.flatnonzero(np.r_[True, ops[1:] != ops[:-1]]) if k else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], k]
    used = sorted({int(o) for o in ops[starts].tolist() if o >= 0})
    out.append(
        "<style>rect.n{fill:#eee}" + "".join(f"rect.o{i}{{fill:{_colour(s.operations[i])}}}" for i in used) + "</style>"
    )
    for a, b in zip(starts.tolist(), ends.tolist()):
        op = int(ops[a])
        name = s.operations[op] if op >= 0 else "(no operation)"
        lo, hi = s.bin_rows(a)[0], s.bin_rows(b - 1)[1]
        what = name if k == s.n_rows else f"mostly {name}"
        out.append(
            f'<rect class="op {"o" + str(op) if op >= 0 else "n"}" x="{x[a]:.1f}" y="0" width="{x[b] - x[a]:.1f}"'
            f' height="{lane}" data-rows="{lo}-{hi}"><title>rows {lo}-{hi}: {_e(what)}</title></rect>'
        )
    for lane_i, counts, links, colour, what in (
        (1, s.failures, failure_links, "#b00020", "failing constraint row(s)"),
        (2, s.unmatched, bus_links, "#e07b00", "unmatched message(s)"),
    ):
        y = lane_i * (lane + gap)
        out.append(f'<rect x="{left}" y="{y}" width="{width}" height="{lane}" fill="#fafafa" stroke="#ddd"/>')
        top = max(1, int(counts.max())) if len(counts) else 1
        # one tick per run of consecutive bins that all hold something (the file stays small when every bin
        # does): its count the run's total, its height from the run's fullest bin
        nz = np.r_[False, counts > 0, False]
        edges = np.flatnonzero(nz[1:] != nz[:-1])
        for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist()):  # bins a .. b-1
            c = int(counts[a:b].sum())
            h = max(4.0, lane * float(np.log1p(counts[a:b].max()) / np.log1p(top)))
            lo, hi = s.bin_rows(a)[0], s.bin_rows(b - 1)[1]
            w = max(x[b] - x[a], 2.0)
            tick = (
                f'<rect class="tick" x="{x[a]:.1f}" y="{y + lane - h:.1f}" width="{w:.1f}" height="{h:.1f}"'
                f' fill="{colour}" data-rows="{lo}-{hi}" data-count="{c}">'
                f"<title>rows {lo}-{hi}: {c} {what}</title></rect>"
            )
            first = min((links[i] for i in range(a, b) if i in links), default=None)
            if first is not None:
                tick = f'<a href="#{"row" if lane_i == 1 else "bus-row"}-{first}">{tick}</a>'
            out.append(tick)
    y = 3 * (lane + gap) + 12
    out.append(f'<text x="{left}" y="{y}" font-size="11">row 0</text>')
    out.append(f'<text x="{left + width}" y="{y}" font-size="11" text-anchor="end">row {s.n_rows - 1}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _strip_legend(s: Strip, limit: int = 40) -> str:
    """The operations the bands show (by bins covered, at most ``limit``), each with its colour."""
    shown = s.bin_operation[s.bin_operation >= 0]
    if not len(shown):
        return ""
    idx, cnt = np.unique(shown, return_counts=True)
    order = np.argsort(-cnt, kind="stable")[:limit]
    items = [
        f'<span style="display:inline-block;width:10px;height:10px;background:{_colour(s.operations[int(idx[i])])}">'
        f"</span> {_e(s.operations[int(idx[i])])}"
        for i in order.tolist()
    ]
    more = f" (+{len(idx) - limit} more)" if len(idx) > limit else ""
    return '<p class="note">' + " &nbsp; ".join(items) + _e(more) + "</p>"


# -------------------------------------------------------------------------------------------- the sections


def _summary(doc: Mapping[str, Any]) -> str:
    s = doc["summary"]
    verdict = "OK" if s["ok"] else "FAIL"
    pairs: list[tuple[str, Any]] = [
        ("verdict", verdict),
        ("AIR", s["air"]),
        ("trace", s["trace"]),
        ("rows", s["rows"]),
        ("constraints", s["constraints"]),
        ("failing constraints", s["failing_constraints"]),
        ("failing rows (all constraints)", f"{s['failing_rows']} ({s['failing_rows_shown']} listed)"),
        ("unmatched bus messages", f"{s['unmatched_messages']} ({s['unmatched_shown']} listed)"),
        ("first failing row", s["first_failing_row"]),
        ("listed per constraint and per bus (--max-failures)", s["max_failures"]),
        ("columns read by no constraint or bus", f"{len(s['unread_columns'])} of {s['columns']}"),
    ]
    if "operations_never_occurring" in s:
        pairs.append(("operations that never occur", f"{len(s['operations_never_occurring'])} of {s['operations']}"))
    checked = doc.get("checked_against")
    if checked:
        pairs.append(("checked against", checked.get("text", checked.get("air"))))
    cls = "ok" if s["ok"] else "fail"
    return f'<p class="{cls}" id="verdict">{_e(verdict)}</p>' + _kv(pairs)


def _constraint_table(doc: Mapping[str, Any]) -> str:
    groups = sorted(doc["failures"], key=lambda g: g["rows"][0]["row"] if g["rows"] else -1)
    rows = [
        [g["constraint"], g["domain"], g["total"], g["shown"], g["rows"][0]["row"] if g["rows"] else None]
        for g in groups
    ]
    attrs = [_attrs(data_constraint=g["constraint"], data_total=g["total"]) for g in groups]
    head = ["constraint", "domain", "failing rows", "listed", "first row"]
    out = [html_table(head, rows, cls="constraints", row_attrs=attrs)]
    for g in groups:
        where = f" (defined at {g['defined_at']})" if g.get("defined_at") else ""
        pis = g.get("public_inputs") or {}
        pi = f"; public inputs {', '.join(f'{k}={v}' for k, v in pis.items())}" if pis else ""
        out.append(
            f"<details><summary><code>{_e(g['constraint'])}</code>{_e(where + pi)}</summary>"
            f"<pre>{_e(g['expr'])}</pre></details>"
        )
    return "\n".join(out)


def _window(f: Mapping[str, Any], with_ops: bool) -> str:
    win = f["window"]
    if not win:
        return ""
    cols = [k for k in win[0] if k not in ("row", "mark")]
    ops = f.get("window_operations") or [None] * len(win)
    head = ["row"] + (["operation"] if with_ops else []) + cols
    rows = [[w["row"]] + ([op or "-"] if with_ops else []) + [w[c] for c in cols] for w, op in zip(win, ops)]
    attrs = [_attrs(cls="mark") if w["mark"] else "" for w in win]
    return html_table(head, rows, cls="window", row_attrs=attrs, mark_numbers=False)  # values: right (CSS)


RENDERED_CHARS = 1500  # a rendered constraint longer than this is cut (the whole: air explain, or the JSON)


def _cut(text: str) -> str:
    if len(text) <= RENDERED_CHARS:
        return text
    return f"{text[:RENDERED_CHARS]}... ({len(text) - RENDERED_CHARS} more characters: see the JSON report)"


def _failures(doc: Mapping[str, Any]) -> str:
    """Every listed failure in row order (on one row, in the AIR's order), with its window and rendering."""
    with_ops = any(f.get("operation") for g in doc["failures"] for f in g["rows"]) or any(
        op for g in doc["failures"] for f in g["rows"] for op in f.get("window_operations") or []
    )
    listed = sorted(
        ((f["row"], i, g, f) for i, g in enumerate(doc["failures"]) for f in g["rows"]), key=lambda t: t[:2]
    )
    out = []
    seen_rows: set[int] = set()
    for row, _, g, f in listed:
        anchor = "" if row in seen_rows else f' id="row-{row}"'
        seen_rows.add(row)
        op = ""
        if f.get("operation"):
            op = f"operation {f['operation']}" + (f" (opcode {f['opcode']})" if f.get("opcode") is not None else "")
            if f.get("next_operation"):
                op += f"; next row: {f['next_operation']}"
        cells = ", ".join(f"{k}={v}" for k, v in f["cells"].items())
        out.append(
            f'<section class="failure" {_attrs(data_row=row, data_constraint=g["constraint"])}{anchor}>'
            f"<h3>row {row}: constraint <code>{_e(g['constraint'])}</code> ({_e(g['domain'])})"
            + (f" — {_e(op)}" if op else "")
            + "</h3>"
            f"<p>value <code>{_e(f['value'])}</code> (must be 0); cells: <code>{_e(cells)}</code></p>"
            + _window(f, with_ops)
            + "<details><summary>the constraint with these values</summary>"
            + f"<pre>{_e(_cut(f['rendered']))}</pre></details>"
            "</section>"
        )
    hidden = [(g["constraint"], g["total"] - g["shown"]) for g in doc["failures"] if g["total"] > g["shown"]]
    if hidden:
        limit = doc["summary"]["max_failures"]
        items = "".join(f"<li>{n} more failing row(s) of <code>{_e(c)}</code></li>" for c, n in hidden)
        out.append(
            f'<p class="note" id="left-out">left out: {sum(n for _, n in hidden)} failing row(s); listed are the first '
            f"{_e(limit)} of each constraint (--max-failures)</p><ul>{items}</ul>"
        )
    return "\n".join(out)


def _buses(doc: Mapping[str, Any]) -> str:
    buses = doc.get("buses") or []
    if not buses:
        return '<p class="note">this AIR declares no bus</p>'
    rows = [
        [b["bus"], b["kind"], "balanced" if b["ok"] else "NOT balanced", b["messages"], b["unmatched_total"],
         b["final"], b["expected_final"]]
        for b in buses
    ]  # fmt: skip
    attrs = [_attrs(data_bus=b["bus"], cls=None if b["ok"] else "bad") for b in buses]
    head = ["bus", "kind", "status", "messages", "unmatched", "final value", "expected final"]
    out = [html_table(head, rows, cls="buses", row_attrs=attrs)]
    out.append("<h3>requested vs answered, by label</h3>")
    trows: list[list[Any]] = []
    tattrs: list[str] = []
    for b in buses:
        for label, t in b["totals"].items():
            req, ans = int(t.get("request", 0)), int(t.get("response", 0))
            trows.append([b["bus"], label, req, ans, req - ans])
            bad = "bad" if req != ans else None
            tattrs.append(_attrs(cls=bad, data_bus=b["bus"], data_label=label, data_requested=req, data_answered=ans))
    out.append(
        html_table(["bus", "label", "requested", "answered", "difference"], trows, cls="totals", row_attrs=tattrs)
    )
    unmatched = doc.get("unmatched") or []
    if unmatched:
        out.append("<h3>unmatched messages (by bus)</h3><ul>")
        seen: set[int] = set()
        for u in unmatched:
            anchor = "" if u["row"] in seen or u["row"] < 0 else f' id="bus-row-{u["row"]}"'
            seen.add(u["row"])
            out.append(
                f'<li class="unmatched" {_attrs(data_bus=u["bus"], data_row=u["row"])}{anchor}>{_e(u["text"])}</li>'
            )
        out.append("</ul>")
        more = [(b["bus"], b["unmatched_total"] - sum(1 for u in unmatched if u["bus"] == b["bus"])) for b in buses]
        more = [(n, k) for n, k in more if k > 0]
        if more:
            limit = doc["summary"]["max_failures"]
            out.append(
                '<p class="note">left out (--max-failures '
                + _e(limit)
                + "): "
                + _e("; ".join(f"{k} more unmatched message(s) of bus {n}" for n, k in more))
                + "</p>"
            )
    pairs = doc.get("likely_pairs") or []
    if pairs:
        out.append("<h3>likely pairs (one message split in two)</h3><ul>")
        out.extend(f"<li>bus {_e(p['bus'])}: {_e(p['text'])}</li>" for p in pairs)
        out.append("</ul>")
    return "\n".join(out)


def _coverage(cov: Mapping[str, Any], limit: int = 200) -> str:
    ops = [(k, v) for k, v in cov.get("operations", {}).items() if v]
    ops.sort(key=lambda kv: -kv[1])
    out = [f"<p>{_e(cov['summary'])}</p>"]
    if ops:
        out.append(html_table(["operation", "rows"], ops[:limit], cls="coverage"))
    for title, key in (
        ("operations that never occur", "operations"),
        ("constraints never active", "constraints"),
        ("bus terms that never fire", "bus_terms"),
    ):
        items = cov.get("never", {}).get(key, [])
        if items:
            shown = ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
            out.append(f"<details><summary>{_e(title)}: {len(items)}</summary><p>{_e(shown)}</p></details>")
    return "\n".join(out)


def _first_in_bin(s: Strip, rows: Iterable[int]) -> dict[int, int]:
    """bin -> the lowest of ``rows`` (row >= 0) that falls in it."""
    out: dict[int, int] = {}
    for r in sorted(set(rows)):
        if 0 <= r < s.n_rows:
            out.setdefault(int(r * s.bins // s.n_rows), r)
    return out


def check_page(doc: Mapping[str, Any], strip: Strip | None = None, coverage: Mapping[str, Any] | None = None) -> str:
    """The self-contained HTML page of a check: ``doc`` is the JSON report (``air check --format json``),
    ``strip`` the trace binned (``build_strip``), ``coverage`` a ``Coverage.to_json()`` of the trace."""
    s = doc["summary"]
    verdict = "OK" if s["ok"] else "FAIL"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>air check: {_e(s['trace'])} against {_e(s['air'])}: {verdict}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>air check: <code>{_e(s['trace'])}</code> against <code>{_e(s['air'])}</code></h1>",
        _summary(doc),
    ]
    if strip is not None:
        flinks = _first_in_bin(strip, (f["row"] for g in doc["failures"] for f in g["rows"]))
        blinks = _first_in_bin(strip, (u["row"] for u in doc.get("unmatched") or []))
        parts.append("<h2>along the trace</h2>")
        parts.append(
            f'<p class="note">{strip.n_rows} rows in {strip.bins} column(s); the operation band shows the operation on '
            "most rows of each column; a tick's height grows with the log of its count; click a tick for its first "
            "listed failure</p>"
        )
        parts.append(_strip_svg(strip, flinks, blinks))
        parts.append(_strip_legend(strip))
        if strip.boundary_unmatched:
            parts.append(f'<p class="note">{strip.boundary_unmatched} unmatched bus boundary message(s) (no row)</p>')
    if doc["failures"]:
        parts.append(f"<h2>failing constraints ({len(doc['failures'])})</h2>")
        parts.append(_constraint_table(doc))
        parts.append("<h2>failures in row order</h2>")
        parts.append(_failures(doc))
    parts.append("<h2>buses</h2>")
    parts.append(_buses(doc))
    if coverage is not None:
        parts.append("<h2>coverage of this trace</h2>")
        parts.append(_coverage(coverage))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


FRAGMENT_CSS = (
    "<style>.air-report tr.bad td{background:#fde2e2}.air-report tr.mark td{background:#fff3c4}"
    ".air-report td.n{text-align:right}.air-report .fail{color:#b00020;font-weight:bold}"
    ".air-report .ok{color:#0a7d2c;font-weight:bold}</style>"
)


def check_fragment(doc: Mapping[str, Any]) -> str:
    """The check report as HTML tables for a notebook (``Report._repr_html_``): the summary, the failing
    constraints, every listed failure (row, constraint, operation, value) and the buses."""
    parts = [_summary(doc)]
    if doc["failures"]:
        listed = sorted(
            ((f["row"], i, g, f) for i, g in enumerate(doc["failures"]) for f in g["rows"]), key=lambda t: t[:2]
        )
        parts.append(_constraint_table(doc))
        rows = [[r, g["constraint"], f.get("operation"), f["value"]] for r, _, g, f in listed]
        attrs = [_attrs(data_row=r, data_constraint=g["constraint"]) for r, _, g, _ in listed]
        parts.append(html_table(["row", "constraint", "operation", "value"], rows, cls="failures", row_attrs=attrs))
    if doc.get("buses"):
        parts.append(_buses(doc))
    return '<div class="air-report">' + FRAGMENT_CSS + "\n".join(parts) + "</div>"


def degrees_html(a: Any, first: str = "op") -> str:
    """An ``analysis.Analysis`` as HTML tables (``api.DegreeReport._repr_html_``): the rows ``air degrees``
    prints (``report.degree_rows``), by operation and by bus when the AIR has them, and by constraint; the view
    ``first`` (when the AIR has it) first and open, the others folded."""
    from air.report import _summary as degree_summary
    from air.report import degree_rows

    air: Air = a.air
    parts = [f"<h3>{_e(air.name)}: degrees ({'no budget' if a.budget is None else f'budget {a.budget}'})</h3>"]
    parts.append(f"<p>{_e(degree_summary(a))}</p>")
    views = [("op", "by operation")] if a.operations else []
    views += [("bus", "by bus term")] if a.buses else []
    views += [("constraint", "by constraint")]
    views.sort(key=lambda v: v[0] != first)
    for i, (by, title) in enumerate(views):
        headers, rows = degree_rows(a, by)
        attrs = [_attrs(cls="bad") if r[-1] and "OVER" in str(r[-1]) else "" for r in rows]
        table = html_table(headers, rows, cls=f"degrees-{by}", row_attrs=attrs)
        opened = " open" if i == 0 else ""
        parts.append(f"<details{opened}><summary>{_e(title)} ({len(rows)} rows)</summary>{table}</details>")
    return '<div class="air-report">' + FRAGMENT_CSS + "\n".join(parts) + "</div>"


def check_html(
    air: Air,
    trace: Any,
    doc: Mapping[str, Any],
    failure_rows: Iterable[np.ndarray | Sequence[int]],
    unmatched_rows: Sequence[int],
    *,
    with_coverage: bool = True,
) -> str:
    """The page of a check of ``trace`` (a matched ``Trace``) against ``air``: ``doc`` its JSON report,
    ``failure_rows`` every failing row of each failing constraint (``CheckResult.failures``), ``unmatched_rows``
    the row of every unmatched bus message; the strip's operations and the coverage come from ``air.coverage``."""
    from air.coverage import coverage, row_operation_codes

    codes = row_operation_codes(air, trace)  # once: the strip's bands and the coverage's rows per operation
    strip = build_strip(codes, [o.name for o in air.operations], failure_rows, unmatched_rows)
    cov = coverage(air, [trace], row_codes=[codes]).to_json() if with_coverage else None
    return check_page(doc, strip, cov)
