"""The data of a degree heat map: operations (grouped by flag class, in opcode order) and buses x designs.

Pure data, no drawing (``air/plot.py`` draws it with matplotlib). Each cell holds the degree the
comparison reports (``air compare --format json``: an operation's degree, a bus's constraint degree)
and its colour, a function of the headroom ``h = budget - degree`` alone:

* ``h < 0``: over budget, one saturated red (``OVER_COLOR``; drawn hatched as well);
* ``h >= 0``: a sequential blue scale, darkest at ``h = 0`` (at the budget), lighter as ``h`` grows,
  ``HEADROOM_COLORS[min(h, len - 1)]``;
* an AIR with no budget: the degree alone, ``DEGREE_COLORS[min(degree, len - 1)]`` (light = low);
* an operation that gates nothing in a design (degree None): grey; absent from the design: white.

Rows: the union of the designs' operations, each placed by its opcode and flag class in the first
design (column order) that has it; a design that gives it another opcode marks the cell (``moved``).
Groups are ordered by their lowest opcode; operations without an opcode follow, in definition order.
The buses (each bus constraint's degree) are the last group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from air.analysis import Analysis

__all__ = [
    "OVER_COLOR",
    "HEADROOM_COLORS",
    "DEGREE_COLORS",
    "UNGATED_COLOR",
    "ABSENT_COLOR",
    "Cell",
    "Row",
    "HeatMap",
    "cell_style",
    "text_color",
    "heatmap",
]

OVER_COLOR = "#d7001f"  # saturated red: over budget (not on either sequential scale)
# headroom 0, 1, 2, 3, >= 4: dark blue (at the budget) to near white (room to spare); 0 and 1 far apart in
# lightness, since most operations of a tight design sit there
HEADROOM_COLORS = ("#173f7a", "#86acd9", "#b9d0ea", "#dbe6f3", "#f0f4f9")
# no budget: degree 0, 1, ..., >= 8, light to dark purple
DEGREE_COLORS = (
    "#f5f2f8", "#e4dcee", "#cfc2e2", "#b7a5d3", "#9c86c2", "#8068b0", "#674c9b", "#503683", "#3b236b",
)  # fmt: skip
UNGATED_COLOR = "#c8c8c8"  # the operation gates nothing in this design
ABSENT_COLOR = "#ffffff"  # the design has no such operation
BUS_GROUP = "buses"


@dataclass(frozen=True)
class Cell:
    """One (row, design) cell: the degree and what colours it."""

    degree: int | None  # None: absent, or nothing gated
    headroom: int | None  # budget - degree (None without a budget or a degree)
    category: str  # "over", "ok" (headroom >= 0), "degree" (no budget), "ungated", "absent"
    color: str  # "#rrggbb", cell_style(degree, budget, present)
    text: str  # printed in the cell: the degree, "*" appended when moved; "-" ungated; "" absent
    moved: bool = False  # the operation has another opcode in this design than the row's

    def to_json(self) -> dict[str, Any]:
        return {
            "degree": self.degree,
            "headroom": self.headroom,
            "category": self.category,
            "color": self.color,
            "text": self.text,
            "moved": self.moved,
        }


@dataclass(frozen=True)
class Row:
    name: str  # the operation's name, or "bus NAME"
    kind: str  # "operation" or "bus"
    group: str  # the flag class (the row's first design), or "buses"
    opcode: int | None
    cells: tuple[Cell, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "group": self.group,
            "opcode": self.opcode,
            "cells": [c.to_json() for c in self.cells],
        }


@dataclass(frozen=True)
class HeatMap:
    """Rows x designs; ``labels`` head the columns, ``airs`` are the AIRs' names."""

    airs: tuple[str, ...]
    labels: tuple[str, ...]
    budgets: tuple[int | None, ...]
    rows: tuple[Row, ...]

    def groups(self) -> list[tuple[str, int, int]]:
        """(group, first row, end row) for each run of rows of one group, in order."""
        out: list[tuple[str, int, int]] = []
        for i, r in enumerate(self.rows):
            if out and out[-1][0] == r.group:
                out[-1] = (r.group, out[-1][1], i + 1)
            else:
                out.append((r.group, i, i + 1))
        return out

    def over_budget(self) -> list[tuple[str, str]]:
        """(row, label) of every cell over its design's budget."""
        return [(r.name, lab) for r in self.rows for c, lab in zip(r.cells, self.labels) if c.category == "over"]

    def to_json(self) -> dict[str, Any]:
        return {
            "airs": list(self.airs),
            "labels": list(self.labels),
            "budgets": list(self.budgets),
            "rows": [r.to_json() for r in self.rows],
        }


def cell_style(degree: int | None, budget: int | None, present: bool = True) -> tuple[str, str]:
    """(category, colour) of a cell from its degree and its design's budget (the module docstring's rule)."""
    if not present:
        return "absent", ABSENT_COLOR
    if degree is None:
        return "ungated", UNGATED_COLOR
    if budget is None:
        return "degree", DEGREE_COLORS[max(0, min(degree, len(DEGREE_COLORS) - 1))]
    h = budget - degree
    if h < 0:
        return "over", OVER_COLOR
    return "ok", HEADROOM_COLORS[min(h, len(HEADROOM_COLORS) - 1)]


def text_color(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb): white when its relative
    luminance (sRGB weights 0.2126, 0.7152, 0.0722 on the gamma-decoded channels) is below 0.25."""

    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#ffffff" if lum < 0.25 else "#000000"


def _cell(degree: int | None, budget: int | None, present: bool, moved: bool = False) -> Cell:
    category, color = cell_style(degree, budget, present)
    headroom = None if degree is None or budget is None or not present else budget - degree
    if not present:
        text = ""
    elif degree is None:
        text = "-"
    else:
        text = f"{degree}*" if moved else str(degree)
    return Cell(degree if present else None, headroom, category, color, text, moved)


def heatmap(analyses: Sequence[Analysis], labels: Sequence[str] | None = None) -> HeatMap:
    """The heat map of ``analyses`` (one column each, headed by ``labels``, default the AIR names):
    operation rows grouped by flag class in opcode order, then one row per bus (its constraint's degree)."""
    labels = list(labels) if labels else [a.air.name for a in analyses]
    ops = [{o.name: o for o in a.operations} for a in analyses]
    first: dict[str, tuple[int, Any]] = {}  # name -> (order of first appearance, its OperationDegree there)
    for a in analyses:
        for o in a.operations:
            if o.name not in first:
                first[o.name] = (len(first), o)

    def key(name: str) -> tuple[bool, int, int]:
        seen, o = first[name]
        return (o.opcode is None, o.opcode if o.opcode is not None else 0, seen)

    by_group: dict[str, list[str]] = {}
    for name in sorted(first, key=key):
        by_group.setdefault(first[name][1].flag_class or "operations", []).append(name)
    # groups by their lowest member (dicts keep the order in which the sorted names reached them)
    rows: list[Row] = []
    for group, names in by_group.items():
        for name in names:
            o0 = first[name][1]
            cells = []
            for a, m in zip(analyses, ops):
                o = m.get(name)
                moved = o is not None and o.opcode != o0.opcode
                cells.append(_cell(o.degree if o else None, a.budget, o is not None, moved))
            rows.append(Row(name, "operation", group, o0.opcode, tuple(cells)))
    buses = list(dict.fromkeys(b.name for a in analyses for b in a.buses))
    for bn in buses:
        cells = []
        for a in analyses:
            bd = next((b for b in a.buses if b.name == bn), None)
            cells.append(_cell(bd.degree if bd else None, a.budget, bd is not None))
        rows.append(Row(f"bus {bn}", "bus", BUS_GROUP, None, tuple(cells)))
    return HeatMap(tuple(a.air.name for a in analyses), tuple(labels), tuple(a.budget for a in analyses), tuple(rows))
