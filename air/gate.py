"""The degree gate: compare an analysis with a committed baseline and name every regression.

A baseline records the degree of every constraint, operation, bus and bus term, and the budget.
The gate fails when an item's degree rose above its baseline value, or when an item exceeds the
budget and was not already over budget at that degree in the baseline (so a design that is over
budget by design is gated against its own baseline: it passes while it does not get worse).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from air.analysis import Analysis

__all__ = [
    "BaselineError",
    "Regression",
    "baseline_of",
    "compare_to_baseline",
    "read_baseline",
    "write_baseline",
]


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class Regression:
    """``new``/``old`` are the item's own degrees; for a bus term ``constraint_degree`` is the degree of its
    part of the bus constraint (``air.bus.TermDegree``), the one the budget applies to, named apart."""

    kind: str  # constraint | operation | bus | bus term
    name: str
    old: int | None
    new: int
    budget: int | None
    reason: str
    constraint_degree: int | None = None

    def __str__(self) -> str:
        cd = self.constraint_degree
        word = {"bus": "bus constraint degree", "bus term": "term degree"}.get(self.kind, "degree")
        within = "" if cd is None else f" (bus constraint degree {cd})"
        if self.old is None:
            return f"{self.kind} {self.name}: {word} {self.new}{within} exceeds the budget {self.budget} (new item)"
        if self.new > self.old:
            top = self.new if cd is None else cd
            over = f", over the budget {self.budget}" if self.budget is not None and top > self.budget else ""
            rose = f"{word} rose {self.old} -> {self.new} (+{self.new - self.old})"
            return f"{self.kind} {self.name}: {rose}{within}{over}"
        return f"{self.kind} {self.name}: {word} {self.new}{within} exceeds the budget {self.budget}"


def _items(a: Analysis) -> dict[str, dict[str, int]]:
    ops = {o.name: o.degree for o in a.operations if o.degree is not None}
    return {
        "constraints": {c.name: c.degree for c in a.constraints},
        "operations": ops,  # type: ignore[dict-item]
        "buses": {b.name: b.degree for b in a.buses},
        "bus_terms": {f"{b.name}/{t.name}": t.degree for b in a.buses for t in b.terms},
    }


def baseline_of(a: Analysis) -> dict[str, Any]:
    return {"air": a.air.name, "budget": a.budget, **_items(a)}


_KINDS = {"constraints": "constraint", "operations": "operation", "buses": "bus", "bus_terms": "bus term"}


def compare_to_baseline(a: Analysis, baseline: dict[str, Any]) -> list[Regression]:
    """Every item whose degree rose above the baseline, or that exceeds the AIR's budget and did not already in
    the baseline. An AIR without a budget is gated against its baseline only."""
    now = _items(a)
    # a bus term's own degree is compared with the budget through its part of the bus constraint
    parts = {f"{b.name}/{t.name}": t.constraint_degree for b in a.buses for t in b.terms}
    out: list[Regression] = []
    budget = a.budget
    for section, kind in _KINDS.items():
        old_items = baseline.get(section, {})
        for name, new in now[section].items():
            cd = parts[name] if section == "bus_terms" else None
            effective = new if cd is None else cd
            old = old_items.get(name)
            old_eff = None if old is None else old + (effective - new)
            if old is not None and new > old:
                out.append(Regression(kind, name, old, new, budget, "rose", cd))
            elif budget is not None and effective > budget and (old_eff is None or old_eff <= budget):
                out.append(Regression(kind, name, old, new, budget, "over budget", cd))
    return out


def read_baseline(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise BaselineError(f"{p}: no such baseline file (create it with --update)")
    try:
        doc = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BaselineError(f"{p}: not a valid JSON baseline ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("constraints"), dict):
        raise BaselineError(f"{p}: not a degree baseline (no 'constraints' object)")
    return doc


def write_baseline(a: Analysis, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(baseline_of(a), indent=1, sort_keys=False) + "\n")
    return p
