"""The degree gate: compare an analysis with a committed baseline and name every difference.

A baseline records the degree of every constraint, operation, bus and bus term, and the budget
(``baseline_of``). The gate compares item by item, by name, and also the AIR as a whole, so that a
renamed item cannot carry a higher degree past it:

* **failures** (exit 1): an item whose degree rose; an item over the budget that was not over it at
  that degree in the baseline; an item **new** to the AIR (not in the baseline, shown with its degree:
  a rename is a new item and a gone one); the AIR's maximum degree above the baseline's maximum
  (``max`` over constraints and buses, as ``Analysis.max_degree``); a budget raised above the
  baseline's (which would hide over-budget items).
* **warnings** (exit 0): an item gone from the AIR; an item whose degree fell; the maximum degree or
  the budget fell. Each says "run ``--update``", so the baseline does not drift from the AIR.
* **claimed degrees** of an AIR that sets ``gate_claims`` (its claims are its author's annotations, e.g.
  AirScript's ``# degree 5``), whatever the baseline: one below the computed degree is a failure (the
  prover would get a higher degree than declared); one above it a warning.

A design that is over budget by design is gated against its own baseline: it passes while nothing
gets worse. A bus term's degree is compared with the budget through the bus constraint it sits in
(term + 1 for a multiset accumulator ``b'``, docs/src/design/chiplets/main.md; + 0 for LogUp).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from air.analysis import Analysis

__all__ = [
    "BaselineError",
    "Finding",
    "GateResult",
    "Regression",
    "baseline_of",
    "compare_to_baseline",
    "gate",
    "read_baseline",
    "render_github",
    "render_json",
    "render_markdown",
    "render_text",
    "write_baseline",
]

SECTIONS: tuple[str, ...] = ("constraints", "operations", "buses", "bus_terms")
_KINDS = {"constraints": "constraint", "operations": "operation", "buses": "bus", "bus_terms": "bus term"}
UPDATE_HINT = "run `air gate --update` to accept"


class BaselineError(ValueError):
    """A baseline file that cannot be read, or one written for another AIR (exit 2)."""


@dataclass(frozen=True)
class Finding:
    """One difference between the AIR and its baseline.

    ``kind``: constraint | operation | bus | bus term | air; ``reason``: rose | over budget | new | gone |
    improved | max degree rose | max degree fell | budget rose | budget fell | claimed below | claimed above
    (``old`` is then the claimed degree, ``new`` the computed one); ``severity``: error | warning.
    """

    kind: str
    name: str
    old: int | None
    new: int | None
    budget: int | None
    reason: str
    severity: str = "error"
    constraint_degree: int | None = None  # a bus term's part of its bus constraint (``air.bus.TermDegree``)

    @property
    def section(self) -> str | None:
        """The baseline section holding the item (None for the AIR as a whole)."""
        return next((s for s, k in _KINDS.items() if k == self.kind), None)

    def _over(self) -> bool:
        top = self.new if self.constraint_degree is None else self.constraint_degree
        return self.budget is not None and top is not None and top > self.budget

    def __str__(self) -> str:
        k, n, old, new = self.kind, self.name, self.old, self.new
        # a bus term's own degree and its bus constraint's degree are named apart (the budget applies to the second)
        word = {"bus": "bus constraint degree", "bus term": "term degree"}.get(k, "degree")
        cd = self.constraint_degree
        within = "" if cd is None else f" (bus constraint degree {cd})"
        if self.reason == "rose":
            over = f", over the budget {self.budget}" if self._over() else ""
            return f"{k} {n}: {word} rose {old} -> {new} (+{(new or 0) - (old or 0)}){within}{over}"
        if self.reason == "over budget":
            was = "" if old is None else f" (baseline {old})"
            return f"{k} {n}: {word} {new}{within} exceeds the budget {self.budget}{was}"
        if self.reason == "new":
            over = f", over the budget {self.budget}" if self._over() else ""
            return f"{k} {n}: new, {word} {new}{within}{over}; not in the baseline: review it and {UPDATE_HINT}"
        if self.reason == "gone":
            return f"{k} {n}: gone from the AIR (baseline degree {old}); {UPDATE_HINT}"
        if self.reason == "improved":
            return f"{k} {n}: improved, degree {old} -> {new}; {UPDATE_HINT}"
        if self.reason == "claimed below":
            return f"{k} {n}: the annotation claims degree {old}, the polynomial has degree {new}"
        if self.reason == "claimed above":
            return f"{k} {n}: the annotation claims degree {old}, the polynomial has degree {new} (lower)"
        if self.reason == "max degree rose":
            return f"the AIR's maximum degree rose {old} -> {new} (baseline maximum {old}, budget {self.budget})"
        if self.reason == "max degree fell":
            return f"the AIR's maximum degree fell {old} -> {new}; {UPDATE_HINT}"
        if self.reason == "budget rose":
            return f"the budget rose {old} -> {new}: items up to {new} would pass unseen; {UPDATE_HINT}"
        if self.reason == "budget fell":
            return f"the budget fell {old} -> {new}; {UPDATE_HINT}"
        return f"{k} {n}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "reason": self.reason,
            "kind": self.kind,
            "name": self.name,
            "baseline": self.old,
            "degree": self.new,
            "budget": self.budget,
            "constraint_degree": self.constraint_degree,
            "text": str(self),
        }


Regression = Finding  # the name older code imports


@dataclass
class GateResult:
    """The gate's verdict: the AIR's and the baseline's maximum degree and budget, failures and warnings."""

    air: str
    baseline_air: str | None
    budget: int | None
    baseline_budget: int | None
    max_degree: int
    baseline_max_degree: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.failures


def _items(a: Analysis) -> dict[str, dict[str, int]]:
    ops = {o.name: o.degree for o in a.operations if o.degree is not None}
    return {
        "constraints": {c.name: c.degree for c in a.constraints},
        "operations": ops,  # type: ignore[dict-item]
        "buses": {b.name: b.degree for b in a.buses},
        "bus_terms": {f"{b.name}/{t.name}": t.degree for b in a.buses for t in b.terms},
    }


def baseline_of(a: Analysis) -> dict[str, Any]:
    """The baseline document of ``a``: its AIR's name, budget and every item's degree."""
    return {"air": a.air.name, "budget": a.budget, **_items(a)}


def _baseline_max(baseline: dict[str, Any]) -> int:
    """The baseline AIR's maximum degree: max over constraints and buses (as ``Analysis.max_degree``)."""
    vals = list(baseline.get("constraints", {}).values()) + list(baseline.get("buses", {}).values())
    return max(vals, default=0)


def gate(a: Analysis, baseline: dict[str, Any]) -> GateResult:
    """Compare ``a`` with ``baseline`` (see the module docstring for what fails and what warns)."""
    now = _items(a)
    budget = a.budget
    # a bus term is compared with the budget through its part of the bus constraint (air.bus.bus_part_degrees)
    parts = {f"{b.name}/{t.name}": t.constraint_degree for b in a.buses for t in b.terms}
    out: list[Finding] = []
    for section, kind in _KINDS.items():
        old_items: dict[str, int] = baseline.get(section, {})
        for name, new in now[section].items():
            cd = parts.get(name) if section == "bus_terms" else None
            e = 0 if cd is None else cd - new  # what the bus constraint adds to the term's own degree
            old = old_items.get(name)
            if old is None:
                out.append(Finding(kind, name, None, new, budget, "new", constraint_degree=cd))
            elif new > old:
                out.append(Finding(kind, name, old, new, budget, "rose", constraint_degree=cd))
            elif budget is not None and new + e > budget and old + e <= budget:
                out.append(Finding(kind, name, old, new, budget, "over budget", constraint_degree=cd))
            elif new < old:
                out.append(Finding(kind, name, old, new, budget, "improved", "warning", cd))
        for name, old in old_items.items():
            if name not in now[section]:
                out.append(Finding(kind, name, old, None, budget, "gone", "warning"))
    old_max, new_max = _baseline_max(baseline), a.max_degree
    if new_max > old_max:
        out.append(Finding("air", a.air.name, old_max, new_max, budget, "max degree rose"))
    elif new_max < old_max:
        out.append(Finding("air", a.air.name, old_max, new_max, budget, "max degree fell", "warning"))
    # only an AIR whose claims are its author's annotations (AirScript's `# degree d`) is gated on them; a
    # model's degrees quoted from the docs are reported by `air degrees`, not gated (some docs are off by one)
    claims = a.claim_differences() if getattr(a.air, "gate_claims", False) else []
    for item, claimed, computed in claims:
        kind, name = "constraint", item
        if item.startswith("bus:"):
            kind, name = ("bus term", item[4:]) if "/" in item else ("bus", item[4:])
        below = claimed < computed
        out.append(
            Finding(kind, name, claimed, computed, budget, "claimed below" if below else "claimed above",
                    "error" if below else "warning")
        )
    old_budget = baseline.get("budget")
    if isinstance(old_budget, int) and isinstance(budget, int) and budget != old_budget:
        reason, sev = ("budget rose", "error") if budget > old_budget else ("budget fell", "warning")
        out.append(Finding("air", a.air.name, old_budget, budget, budget, reason, sev))
    base_air = baseline.get("air")
    return GateResult(
        a.air.name,
        base_air if isinstance(base_air, str) else None,
        budget,
        old_budget if isinstance(old_budget, int) else None,
        new_max,
        old_max,
        out,
    )


def compare_to_baseline(a: Analysis, baseline: dict[str, Any]) -> list[Finding]:
    """The failures of ``gate(a, baseline)`` (what makes the gate exit 1)."""
    return gate(a, baseline).failures


def check_air_name(baseline: dict[str, Any], air_name: str, path: str | Path) -> None:
    """Refuse a baseline written for another AIR (``BaselineError``, exit 2): its ``"air"`` must be ``air_name``."""
    named = baseline.get("air")
    if named is not None and named != air_name:
        raise BaselineError(
            f"{path}: the baseline is for AIR {named!r}, not {air_name!r} (pass --allow-other-air to compare anyway)"
        )


def read_baseline(path: str | Path) -> dict[str, Any]:
    """A baseline document, every section checked (``BaselineError`` naming the key otherwise)."""
    p = Path(path)
    if not p.is_file():
        raise BaselineError(f"{p}: no such baseline file (create it with --update)")
    try:
        doc = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BaselineError(f"{p}: not a valid JSON baseline ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("constraints"), dict):
        raise BaselineError(f"{p}: not a degree baseline (no 'constraints' object)")
    if "air" in doc and not isinstance(doc["air"], str):
        raise BaselineError(f"{p}: 'air' is not the name of an AIR")
    budget = doc.get("budget")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool)):
        raise BaselineError(f"{p}: 'budget' is not an integer (nor null: an AIR without a budget)")
    for s in SECTIONS:
        items = doc.get(s, {})
        if not isinstance(items, dict):
            raise BaselineError(f"{p}: {s!r} is not an object of item degrees")
        for k, v in items.items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise BaselineError(f"{p}: {s}[{k!r}] = {v!r} is not an integer degree")
    return doc


def write_baseline(a: Analysis, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(baseline_of(a), indent=1, sort_keys=False) + "\n")
    return p


# ----------------------------------------------------------------------------------- rendering


def _headline(r: GateResult, baseline: str) -> str:
    deg = f"max degree {r.max_degree} (baseline {r.baseline_max_degree}), budget {r.budget}"
    if r.ok:
        warn = f", {len(r.warnings)} warning(s)" if r.warnings else ", no regression"
        return f"degree gate ok for {r.air} against {baseline}: {deg}{warn}"
    return f"degree gate FAILED for {r.air} against {baseline}: {deg}, {len(r.failures)} failure(s)"


def render_text(r: GateResult, baseline: str) -> str:
    """The plain report: a headline, then each failure and each warning on its own line."""
    lines = [_headline(r, baseline)]
    if r.baseline_air is not None and r.baseline_air != r.air:
        lines.append(f"  note: the baseline is for AIR {r.baseline_air!r} (--allow-other-air)")
    lines += [f"  {f}" for f in r.failures]
    lines += [f"  warning: {f}" for f in r.warnings]
    return "\n".join(lines)


def render_json(r: GateResult, baseline: str) -> dict[str, Any]:
    return {
        "air": r.air,
        "baseline": baseline,
        "baseline_air": r.baseline_air,
        "ok": r.ok,
        "budget": {"air": r.budget, "baseline": r.baseline_budget},
        "max_degree": {"air": r.max_degree, "baseline": r.baseline_max_degree},
        "failures": [f.to_json() for f in r.failures],
        "warnings": [f.to_json() for f in r.warnings],
    }


def _escape_data(s: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (GitHub Actions workflow commands)."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    """A workflow command's property value: as a message, plus ``:`` and ``,``."""
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _item_lines(baseline_text: str, findings: Iterable[Finding]) -> dict[Finding, int]:
    """The line of the baseline file where each finding's item is recorded (for annotations)."""
    lines = baseline_text.splitlines()
    out: dict[Finding, int] = {}
    section: str | None = None
    where: dict[tuple[str, str], int] = {}
    for i, line in enumerate(lines, 1):
        s = line.strip()
        for sec in SECTIONS:
            if s.startswith(f'"{sec}"'):
                section = sec
        if section and s.startswith('"') and '":' in s and not s.startswith(f'"{section}"'):
            try:
                key = json.loads(s.split('":', 1)[0] + '"')
            except json.JSONDecodeError:
                continue
            where.setdefault((section, key), i)
        if s.startswith('"max_degree"') or s.startswith('"budget"'):
            where.setdefault(("air", s[1 : s.index('"', 1)]), i)
    for f in findings:
        sec = f.section
        if sec is not None and (sec, f.name) in where:
            out[f] = where[(sec, f.name)]
        elif f.reason.startswith("budget") and ("air", "budget") in where:
            out[f] = where[("air", "budget")]
    return out


def render_markdown(r: GateResult, baseline: str) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``): the verdict, the maxima, a table of findings."""
    mark = "passed" if r.ok else "FAILED"
    out = [
        f"### Degree gate {mark}: `{r.air}`",
        "",
        f"Baseline `{baseline}`" + (f" (AIR `{r.baseline_air}`)" if r.baseline_air not in (None, r.air) else ""),
        "",
        "| | AIR | baseline |",
        "|---|---|---|",
        f"| max degree | {r.max_degree} | {r.baseline_max_degree} |",
        f"| budget | {r.budget} | {'' if r.baseline_budget is None else r.baseline_budget} |",
        "",
    ]
    if r.findings:
        out += ["| | what | item | baseline | now |", "|---|---|---|---|---|"]
        for f in r.failures + r.warnings:
            icon = "error" if f.severity == "error" else "warning"
            old = "" if f.old is None else f.old
            new = "" if f.new is None else f.new
            out.append(f"| {icon} | {f.reason} | {f.kind} `{f.name}` | {old} | {new} |")
        if any(f.reason in ("improved", "gone", "new", "max degree fell", "budget fell") for f in r.findings):
            out += ["", f"After an intended change: `air gate --air {r.air} --baseline {baseline} --update`."]
    else:
        out.append("No item changed.")
    return "\n".join(out) + "\n"


def render_github(r: GateResult, baseline: str, baseline_text: str = "") -> str:
    """GitHub Actions workflow commands: ``::error``/``::warning`` per finding, pointing at the baseline
    file (and the line recording the item when there is one), then a notice with the verdict."""
    lines = _item_lines(baseline_text, r.findings) if baseline_text else {}
    out = []
    for f in r.failures + r.warnings:
        props = f"file={_escape_prop(baseline)}"
        if f in lines:
            props += f",line={lines[f]}"
        props += f",title={_escape_prop(f'degree gate ({r.air}): {f.reason}')}"
        out.append(f"::{f.severity} {props}::{_escape_data(str(f))}")
    out.append(_headline(r, baseline))
    return "\n".join(out)
