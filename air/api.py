"""The Python API: load an AIR, check an in-memory or saved trace, assert it in a test.

::

    import air
    my_air = air.load_air("fibonacci")                      # or "my_air.py:make_air", "pkg.mod:AIR", an Air
    trace = air.Trace.from_columns({"a": a, "b": b})        # numpy arrays or lists, validated
    report = air.check(my_air, trace)                       # every constraint and every bus
    assert report.ok, report.text()
    air.assert_satisfied(my_air, trace)                     # the same, raising AssertionError with the report

``check`` runs what ``air check`` runs: the constraints over Goldilocks on every row (``evaluate.check``),
the LogUp multiplicity bounds, and every bus balanced by exact message matching plus its running
product / LogUp sum (``buscheck.check_buses``) under random challenges (``seed=None``: fresh ones, their
seed kept in the report; an int makes the run repeatable).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from air.air import Air
from air.registry import load_air as _load_air
from air.trace import Trace, load_trace, match_air

__all__ = ["DegreeReport", "Failure", "Report", "assert_satisfied", "check", "degrees", "load_air"]


def load_air(spec: str | Air) -> Air:
    """The AIR named ``spec``, validated: a built-in name (``air airs`` lists them), ``path/to/file.py:OBJECT``
    or ``package.module:OBJECT`` (an ``Air`` or a function returning one). A fresh object on every call.

    Raises ``AirNotFound`` (unknown name, or the user's code raised: its type, message and file:line),
    ``NotPolynomialError`` or ``AirDefinitionError`` (a definition no command could read). An ``Air`` given
    directly is validated and returned as is.
    """
    if isinstance(spec, Air):
        spec.validate()
        return spec
    return _load_air(spec)


@dataclass
class DegreeReport:
    """The degrees of an AIR as ``air degrees --by BY`` shows them: ``analysis`` (``air.analysis.Analysis``: every
    constraint, operation, bus and bus term), ``text()`` the table the command prints, ``to_json()`` its JSON, and
    in a notebook HTML tables (``_repr_html_``: the same rows, by operation, bus term and constraint)."""

    analysis: Any
    by: str = "constraint"

    def text(self, fmt: str = "table") -> str:
        """What ``air degrees --by BY --format FMT`` prints (``table``, ``markdown`` or ``json``)."""
        from air.report import degree_table

        return degree_table(self.analysis, by=self.by, fmt=fmt)

    def to_json(self) -> dict[str, Any]:
        """What ``air degrees --by BY --format json`` prints, as a dict."""
        from air.report import degrees_json

        return degrees_json(self.analysis, self.by)

    def _repr_html_(self) -> str:
        from air.html_report import degrees_html

        return degrees_html(self.analysis, first=self.by)


def degrees(air: Air | str, by: str = "constraint") -> DegreeReport:
    """The degree analysis of ``air`` (an ``Air`` or a spec for ``load_air``) as ``air degrees --by BY`` reports
    it: ``by`` is ``constraint``, ``op`` or ``bus``."""
    from air.analysis import analyze

    if by not in ("constraint", "op", "bus"):
        raise ValueError(f"by must be constraint, op or bus, not {by!r}")
    return DegreeReport(analyze(load_air(air)), by)


@dataclass(frozen=True)
class Failure:
    """One thing that does not hold: a constraint (``kind="constraint"``, ``rows`` every failing row) or a
    bus (``kind="bus"``, ``rows`` the rows of its unmatched messages; -1 for a boundary message)."""

    kind: str
    name: str
    rows: tuple[int, ...]
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Report:
    """The result of ``check``: ``ok``, the ``failures`` (constraints first, then buses) and ``text()``, the
    report ``air check`` prints; ``to_json()`` what ``air check --format json`` prints, ``html()`` the page
    ``air check --html`` writes, and in a notebook HTML tables (``_repr_html_``). ``seed``/``challenges`` are the
    bus challenges used (rerun with ``check(..., seed=report.seed)`` to reproduce a bus failure exactly)."""

    air: str
    n_rows: int
    failures: list[Failure]
    seed: int | None
    challenges: list[int]
    not_evaluated: list[str] = field(default_factory=list)
    _text: str = field(default="", repr=False)
    _doc: dict[str, Any] = field(default_factory=dict, repr=False)
    # builds the page (it holds the AIR and the trace: the strip and the coverage read every row)
    _page: Callable[[], str] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        """The JSON report ``air check --format json`` prints (bounded by ``max_failures``)."""
        return self._doc

    def html(self) -> str:
        """The self-contained HTML page ``air check --html`` writes (``air.html_report.check_page``)."""
        if self._page is None:
            from air.html_report import check_page

            return check_page(self._doc)
        return self._page()

    def _repr_html_(self) -> str:
        """The report as HTML tables, for a notebook (``air.html_report.check_fragment``)."""
        from air.html_report import check_fragment

        return check_fragment(self._doc)

    def text(self) -> str:
        """The text report: every failing constraint with its rows, cells and operation; every unbalanced bus
        with its unmatched messages; the AIR and challenges checked against."""
        return self._text

    def __bool__(self) -> bool:
        return self.ok


def check(
    air: Air | str,
    trace: Trace | str | Path,
    *,
    seed: int | None = None,
    challenges: list[int] | None = None,
    max_failures: int = 5,
    context: int = 2,
) -> Report:
    """Check ``trace`` against ``air``: every constraint on every row and every bus (``Report``).

    ``air`` is an ``Air`` or a spec for ``load_air``; ``trace`` a ``Trace`` (``Trace.from_columns``) or a
    trace file path (``load_trace``). The trace must hold every column of the AIR (extra columns are
    ignored). Bus challenges: ``challenges`` if given, else drawn from ``seed`` (a fresh random seed when
    None). ``max_failures``/``context``: rows shown per constraint in ``text()`` and rows around each (the
    ``failures`` list every failing row). Bad input (a missing column or public input, an impossible LogUp
    multiplicity) raises ``TraceError``.
    """
    from air.buscheck import check_buses
    from air.diagnose import diagnose, render_text, to_json
    from air.evaluate import check as check_constraints
    from air.evaluate import check_multiplicities
    from air.html_report import check_html

    a = load_air(air) if isinstance(air, str) else air
    a.validate()
    t = load_trace(trace) if isinstance(trace, (str, Path)) else trace
    t = match_air(t, a)
    result = check_constraints(a, t)
    if challenges is None and seed is None:
        seed = secrets.randbits(63)
    bus_report = None
    if a.buses:
        check_multiplicities(a, t)
        bus_report = check_buses(a, t, challenges=challenges, seed=seed if seed is not None else 0)
    d = diagnose(a, t, result, max_failures=max_failures, context=context)
    failures = [
        Failure("constraint", f.constraint, tuple(int(r) for r in f.rows), _constraint_line(f.constraint, f.rows))
        for f in result.failures
    ]
    if bus_report is not None:
        for b in bus_report.buses:
            if not b.ok:
                rows = tuple(sorted({u.row for u in b.unmatched}))
                failures.append(Failure("bus", b.bus, rows, b.summary()))
    used = challenges if challenges is not None else (bus_report.challenges if bus_report is not None else [])
    text = render_text(d, bus_report, color=False)
    how = f"challenges {list(challenges)}" if challenges is not None else f"seed {seed}"
    text += f"\nchecked against AIR {a.name}" + (f" (bus challenges from {how})" if a.buses else "")
    if result.not_evaluated:
        text += f"; {len(result.not_evaluated)} constraint(s) over bus columns not evaluated"
    doc = to_json(d, bus_report)
    doc["checked_against"] = {
        "air": a.name,
        "source": "python",
        "text": text.rsplit("\n", 1)[-1],
        "not_evaluated": list(result.not_evaluated),
    }
    failure_rows = [f.rows for f in result.failures]
    unmatched = [u.row for b in bus_report.buses for u in b.unmatched] if bus_report is not None else []
    return Report(
        a.name,
        t.n_rows,
        failures,
        None if challenges is not None else seed,
        list(used),
        list(result.not_evaluated),
        text,
        doc,
        lambda: check_html(a, t, doc, failure_rows, unmatched),
    )


def _constraint_line(name: str, rows: Any) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:5])
    more = f" (+{len(rows) - 5} more)" if len(rows) > 5 else ""
    return f"constraint {name} fails on {len(rows)} row(s): {shown}{more}"


def assert_satisfied(air: Air | str, trace: Trace | str | Path, **kw: Any) -> None:
    """Raise ``AssertionError`` with the text report unless every constraint and bus holds (as halo2's
    ``MockProver::assert_satisfied``); ``kw`` as for ``check``."""
    report = check(air, trace, **kw)
    if not report.ok:
        raise AssertionError(f"trace does not satisfy AIR {report.air}:\n{report.text()}")
