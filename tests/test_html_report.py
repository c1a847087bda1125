"""The HTML check report (`air check --html`), the notebook tables (`_repr_html_`) and the page in a real headless
Chromium: it loads without errors, and the failing rows, unmatched messages and bus totals it shows are those of
the JSON report of the same run (`air check --format json --html`: one report, two renderings)."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import air
from air.air import Air
from air.coverage import row_operation_codes
from air.evaluate import active_operations
from air.html_report import build_strip
from air.trace import Trace, load_trace, save_trace
from tests.toy_airs import S, toy, toy_trace

TRACES = Path(__file__).resolve().parent.parent / "traces"
P = 2**64 - 2**32 + 1
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Dom(HTMLParser):
    """Every element as (tag, attributes, text inside it), and every table row as (its table's class, the row's
    attributes, its cells' text)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.stack: list[int] = []
        self.tables: list[str] = []
        self.rows: list[tuple[str, dict[str, str], list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a, []))
        if tag == "table":
            self.tables.append(a.get("class", ""))
        elif tag == "tr":
            self.rows.append((self.tables[-1] if self.tables else "", a, []))
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in ("meta", "br", "hr", "img", "input", "link"):
            self.stack.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][2].append("".join(self._cell))
            self._cell = None
        if tag == "table" and self.tables:
            self.tables.pop()
        while self.stack:
            if self.elements[self.stack.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for i in self.stack:
            self.elements[i][2].append(data)
        if self._cell is not None:
            self._cell.append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        """(attributes, text) of every ``tag`` element whose attributes include ``attrs`` (``_`` for ``-``)."""
        return [
            (a, "".join(t))
            for tg, a, t in self.elements
            if tg == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def table(self, cls: str) -> tuple[list[str], list[list[str]]]:
        """The header and the body rows of the tables of class ``cls``, as text cells."""
        rows = [cells for c, _, cells in self.rows if c == cls]
        assert rows, f"no table of class {cls}"
        return rows[0], rows[1:]


def page_failures(dom: Dom) -> list[tuple[int, str]]:
    return [(int(a["data-row"]), a["data-constraint"]) for a, _ in dom.find("section", **{"class": "failure"})]


def json_failures(doc: dict) -> list[tuple[int, str]]:
    """The JSON report's listed failures in row order (on one row in the AIR's order, as the text report)."""
    listed = [(f["row"], i, g["constraint"]) for i, g in enumerate(doc["failures"]) for f in g["rows"]]
    return [(r, c) for r, _, c in sorted(listed)]


def page_totals(dom: Dom) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (a["data-bus"], a["data-label"]): (int(a["data-requested"]), int(a["data-answered"]))
        for a, _ in dom.find("tr")
        if "data-label" in a
    }


def json_totals(doc: dict) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (b["bus"], label): (t.get("request", 0), t.get("response", 0))
        for b in doc["buses"]
        for label, t in b["totals"].items()
    }


def forged_bus_trace(path: Path) -> Path:
    """traces/gate_protected_write/miden-gate.npz (its `gate` fails on row 12) with the memory chiplet's v0 on row
    33 raised by one: that row answers the element FMPUPDATE (row 3) writes at clk 3, so now the chiplet answers a
    message nobody requested and FMPUPDATE's request goes unanswered (the chiplet's value is free on a write: no
    constraint notices). The same design as the other case: built once in the session."""
    t = load_trace(TRACES / "gate_protected_write" / "miden-gate.npz")
    cols = {k: v.copy() for k, v in t.columns.items()}
    assert int(cols["chip10"][33]) == 2**30 and int(cols["chip9"][33]) == 3  # v0 and clk of that memory row
    cols["chip10"][33] += 1
    save_trace(path, cols, public_inputs=t.public_inputs, meta=t.meta, public_tables=t.public_tables)
    return path


def chromium_dom(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM of ``page`` after load (``--dump-dom``) and Chromium's log (console messages, CSP refusals)."""
    assert CHROMIUM is not None
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
        "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, r.stderr


def page_errors(log: str) -> list[str]:
    """Chromium log lines that report a problem with the page: a console message (a script error, a refused
    load: the page has no script, so any console line is one), or a Content-Security-Policy refusal."""
    return [ln for ln in log.splitlines() if "CONSOLE" in ln or "Content Security Policy" in ln or "Uncaught" in ln]


# ------------------------------------------------------------------------------------------------ in-process


def test_strip_bins_by_hand() -> None:
    """10 rows in 4 bins: row r is in bin r*4//10, so bins hold rows 0-2, 3-4, 5-7, 8-9 (bin_rows, by hand).
    Majority operations (operations A, B, C; -1 none): bin 0 A A B -> A; bin 1 B none -> a tie, which goes to
    none; bin 2 C C C -> C; bin 3 none none -> none."""
    codes = np.array([0, 0, 1, 1, -1, 2, 2, 2, -1, -1])
    s = build_strip(codes, ["A", "B", "C"], [np.array([1, 2]), np.array([2, 9])], [4, -1, 5, 5], bins=4)
    assert [s.bin_rows(b) for b in range(4)] == [(0, 2), (3, 4), (5, 7), (8, 9)]
    names = [s.operations[i] if i >= 0 else None for i in s.bin_operation.tolist()]
    assert names == ["A", None, "C", None]
    assert s.failures.tolist() == [3, 0, 0, 1]  # rows 1, 2, 2 in bin 0; row 9 in bin 3
    assert s.unmatched.tolist() == [0, 1, 2, 0] and s.boundary_unmatched == 1


def test_row_operation_codes_name_what_active_operations_names() -> None:
    """The vectorized operation of every row equals evaluate.active_operations (row by row) on the toy trace."""
    a, t = toy(), toy_trace()
    codes = row_operation_codes(a, t, chunk=5)  # chunks of 5 rows: 16 rows in 4 chunks, the last one short
    names = [a.operations[c].name if c >= 0 else None for c in codes.tolist()]
    assert names == active_operations(a, t, np.arange(t.n_rows))
    assert names == ["INC" if v else "KEEP" for v in S]  # INC where s = 1, KEEP (flag 1 - s) elsewhere


def test_report_repr_html_lists_the_failures_and_bus_totals() -> None:
    """The toy bus AIR (INC rows request (c) twice, KEEP rows answer once) with c raised on row 1 (a KEEP row):
    that answer no longer matches a request; the notebook table shows the same rows and totals as to_json()."""
    t = toy_trace(bus=True)
    cols = {k: v.copy() for k, v in t.columns.items()}
    cols["c"][1] += 1
    bad = Trace(cols, t.n_rows, public_inputs=t.public_inputs)
    report = air.check(toy(bus=True), bad, seed=1)
    doc = report.to_json()
    assert not report.ok and doc["summary"]["unmatched_messages"] == 2  # the changed answer, the orphan request
    dom = Dom(report._repr_html_())
    assert page_totals(dom) == json_totals(doc)
    # hand count: 5 INC rows request twice, 10 KEEP rows answer once, one label: 10 requested, 10 answered
    assert json_totals(doc) == {("vals", next(iter(doc["buses"][0]["totals"]))): (10, 10)}
    assert sorted(int(a["data-row"]) for a, _ in dom.find("li", **{"class": "unmatched"})) == sorted(
        u["row"] for u in doc["unmatched"]
    )
    assert 1 in [u["row"] for u in doc["unmatched"]]


def test_degree_report_repr_html_by_operation() -> None:
    """The toy bus AIR's degrees by operation, derived by hand: INC gates `inc` (flag s: 1, body a'-a-b: 1 -> 2)
    and the request term s * m * m (1 + 1 + 1 = 3, times the accumulator p' in the multiset bus: 4, over the
    budget 3); KEEP gates `keep` (1-s: 1, a'-a: 1 -> 2) alone (the response term names no operation)."""
    report = air.degrees(toy(bus=True), by="op")
    headers, body = Dom(report._repr_html_()).table("degrees-op")
    rows = {r[0]: r for r in body}
    assert {k: int(r[headers.index("total")]) for k, r in rows.items()} == {"INC": 4, "KEEP": 2}
    assert "OVER BUDGET by 1" in rows["INC"][headers.index("note")]
    assert rows["KEEP"][headers.index("note")] == ""


def test_names_from_the_air_are_escaped(tmp_path: Path) -> None:
    """A constraint named like markup and an AIR whose name is markup: the page shows them as text, and no
    element of theirs appears (a user's AIR cannot inject a script or a link into the report)."""
    evil = Air('<img src=x onerror="alert(1)">', "markup in names", budget=2)
    (x,) = evil.columns("main", ["x"])
    evil.transition("<script>alert('c')</script>", x.next - x - 1)
    t = Trace.from_columns({"x": np.array([0, 1, 5, 6], dtype=np.uint64)})
    page = air.check(evil, t, seed=0).html()
    dom = Dom(page)
    assert not dom.find("script") and not dom.find("img")
    assert any("<script>alert('c')</script>" in text for _, text in dom.find("code"))
    assert page_failures(dom) == [(1, "<script>alert('c')</script>")]  # x' - x - 1 = 5 - 1 - 1 on row 1


def test_many_failures_stay_bounded() -> None:
    """A 1024-row Fibonacci trace whose b is raised by one on the even rows 100..1022. fib_b (b' = a + b) on row
    i reads b_i and b_{i+1}, of which exactly one is forged for every i in 99..1022: 924 failing rows (by hand).
    The page lists --max-failures (3) of them, says how many are left out, and stays small."""
    n = 1024
    a = np.zeros(n, dtype=object)
    b = np.zeros(n, dtype=object)
    a[0], b[0] = 1, 1
    for i in range(n - 1):
        a[i + 1], b[i + 1] = b[i], (a[i] + b[i]) % P
    forged = b.copy()
    forged[100::2] = [(v + 1) % P for v in forged[100::2]]
    t = air.Trace.from_columns({"a": list(a), "b": list(forged)}, public_inputs={"result": int(forged[-1])})
    report = air.check("fibonacci", t, max_failures=3, seed=0)
    fib_b = next(f for f in report.failures if f.name == "fib_b")
    assert len(fib_b.rows) == 924
    page = report.html()
    dom = Dom(page)
    listed = [c for _, c in page_failures(dom) if c == "fib_b"]
    assert len(listed) == 3
    (note,) = [text for _, text in dom.find("p", id="left-out")]
    left_out = sum(len(f.rows) - min(len(f.rows), 3) for f in report.failures)  # fib_a fails too (a' = b)
    assert f"left out: {left_out} failing row(s)" in note
    assert "921 more failing row(s) of fib_b" in [text for _, text in dom.find("li")]
    assert len(page.encode()) < 60_000, len(page)


# ------------------------------------------------------------------------------------------- in a browser


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs the Debian package)")
def test_chromium_detects_a_page_error(tmp_path: Path) -> None:
    """The error check below is not vacuous: a page whose script throws is reported by page_errors."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction()</script></body></html>")
    _, log = chromium_dom(bad, tmp_path)
    assert page_errors(log), log[-2000:]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs the Debian package)")
@pytest.mark.parametrize("which", ["constraint", "bus"])
def test_page_in_chromium_matches_the_json_report(air_cli, tmp_path: Path, which: str) -> None:
    """`air check --format json --html`: Chromium loads the page with no console message or CSP refusal, and
    the failing rows, unmatched messages and bus totals in its DOM equal the JSON report's. `constraint`: the
    refused traces/gate_protected_write/miden-gate.npz (INDEX.md: `gate` fails on row 12, MSTOREW); `bus`: the
    same with one unmatched request and one unmatched response besides (``forged_bus_trace``)."""
    if which == "constraint":
        trace = TRACES / "gate_protected_write" / "miden-gate.npz"
    else:
        trace = forged_bus_trace(tmp_path / "forged.npz")
    page = tmp_path / "report.html"
    code, out, err = air_cli("check", str(trace), "--format", "json", "--html", str(page))
    assert code == 1, err
    doc = json.loads(out)
    dom_text, log = chromium_dom(page, tmp_path)
    assert page_errors(log) == [], page_errors(log)
    dom = Dom(dom_text)
    assert [text for _, text in dom.find("p", id="verdict")] == ["FAIL"]
    assert page_failures(dom) == json_failures(doc)
    assert page_totals(dom) == json_totals(doc) and json_totals(doc)
    shown = sorted((a["data-bus"], int(a["data-row"])) for a, _ in dom.find("li", **{"class": "unmatched"}))
    assert shown == sorted((u["bus"], u["row"]) for u in doc["unmatched"])
    ticks = [a for a, _ in dom.find("rect", **{"class": "tick"})]
    if which == "constraint":
        assert page_failures(dom) == [(12, "gate")] and doc["unmatched"] == []
        assert [(a["data-rows"], a["data-count"]) for a in ticks] == [("12-12", "1")]
        # the operation band over the failing row names the operation the JSON report names there
        row, op = doc["failures"][0]["rows"][0]["row"], doc["failures"][0]["rows"][0]["operation"]
        bands = [(a, t) for a, t in dom.find("rect") if a.get("class", "").startswith("op ")]
        lo_hi = [(*map(int, a["data-rows"].split("-")), t) for a, t in bands]
        (title,) = [t for lo, hi, t in lo_hi if lo <= row <= hi]
        assert title == f"rows {row}-{row}: {op}" and op == "MSTOREW"  # 64 rows: every row its own column
    else:
        assert page_failures(dom) == [(12, "gate")] and sorted(u["row"] for u in doc["unmatched"]) == [3, 33]
        # 64 rows: one row per bin; the constraint lane's tick first, then the bus lane's
        assert [a["data-rows"] for a in ticks] == ["12-12", "3-3", "33-33"]


def test_degree_report_is_what_the_cli_prints(air_cli) -> None:
    """`air.degrees(A, by=...)` holds what `air degrees --air A --by ...` prints, as text and as JSON."""
    for by in ("constraint", "op"):
        report = air.degrees("stack-machine", by=by)
        code, out, _ = air_cli("degrees", "--air", "stack-machine", "--by", by)
        assert code == 0 and out.rstrip("\n") == report.text()
        code, out, _ = air_cli("degrees", "--air", "stack-machine", "--by", by, "--format", "json")
        assert code == 0 and json.loads(out) == report.to_json()
    headers, body = Dom(air.degrees("stack-machine", by="op")._repr_html_()).table("degrees-op")
    assert [r[0] for r in body] == [o["name"] for o in json.loads(out)["operations"]]


def test_ok_page_has_the_coverage() -> None:
    """An honest toy trace: the page says OK, lists no failure, and shows the coverage of the trace, whose rows
    per operation are counted by hand from the toy's schedule S (7 rows with s = 1: INC; 9 with s = 0: KEEP)."""
    page = air.check(toy(), toy_trace(), seed=0).html()
    dom = Dom(page)
    assert [text for _, text in dom.find("p", id="verdict")] == ["OK"] and page_failures(dom) == []
    headers, body = dom.table("coverage")
    assert dict((r[0], int(r[1])) for r in body) == {"INC": 7, "KEEP": 9}


def test_cli_html_beside_the_text_report(air_cli, tmp_path: Path) -> None:
    """`air check --html` with the default text output: the text is printed as before, exit 0 for an honest
    Fibonacci trace (1 1 2 3 / 1 2 3 5), and the page says OK for the same trace and AIR."""
    trace = tmp_path / "fib.npz"
    save_trace(trace, {"a": np.array([1, 1, 2, 3], dtype=np.uint64), "b": np.array([1, 2, 3, 5], dtype=np.uint64)},
               public_inputs={"result": 5})  # fmt: skip
    page = tmp_path / "r.html"
    code, out, _ = air_cli("check", str(trace), "--air", "fibonacci", "--html", str(page))
    assert code == 0 and out.startswith("OK: ")
    dom = Dom(page.read_text(encoding="utf-8"))
    assert [text for _, text in dom.find("p", id="verdict")] == ["OK"]
    title = dom.find("title")[0][1]  # the page's (the strip's tooltips are <title>s too)
    assert title == f"air check: {trace} against fibonacci: OK"
