"""Draw a degree heat map (``air.plot_data.HeatMap``) to SVG or PNG with matplotlib.

matplotlib is an optional dependency (``pip install 'air[plot]'``), imported only here and only when a
plot is drawn; the figure is built without pyplot (no global backend state, no display needed: the
Agg canvas renders it). The SVG is deterministic (fixed ``svg.hashsalt``, no date in its metadata), so a
committed image changes only when its data does.

Layout: row labels on the left (operation, opcode), one column per design (labels on top), the degree
printed in each cell; a group label and rule above each flag class; more than ``MAX_ROWS_PER_PANEL``
rows are split into panels side by side (a class cut in two is labelled "(cont.)" in the second).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

from air.plot_data import (
    ABSENT_COLOR,
    DEGREE_COLORS,
    HEADROOM_COLORS,
    OVER_COLOR,
    UNGATED_COLOR,
    HeatMap,
    text_color,
)

__all__ = ["PlotUnavailable", "PLOT_FORMATS", "render", "plot_format"]

PLOT_FORMATS = ("svg", "png")
MAX_ROWS_PER_PANEL = 56
INSTALL_HINT = "pip install 'air[plot]'"

# sizes in inches and points: chosen so that the seven Miden designs (101 rows, 2 panels) stay readable when
# the image is shown ~900 px wide (a README): 8 pt in a 10.5 in wide figure is ~9.5 px there
CELL_W, CELL_H = 0.44, 0.19
LABEL_W = 1.25  # row labels
GROUP_GAP = 0.30  # the band above each group holding its label
PANEL_GAP = 0.35
FONT = 8.0


class PlotUnavailable(Exception):
    """matplotlib is not installed: the message names the extra to install."""


def plot_format(path: str | Path) -> str:
    """'svg' or 'png' from the file's suffix; ValueError naming the file otherwise."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise ValueError(f"{path}: --plot writes .svg or .png files, not {Path(path).suffix or 'no suffix'!r}")
    return fmt


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401  (the canvas savefig uses)
    except ImportError as e:
        raise PlotUnavailable(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}") from e
    return matplotlib


def _panels(hm: HeatMap) -> list[list[int]]:
    """Row indices per panel: as few panels as keep each at most MAX_ROWS_PER_PANEL rows, balanced."""
    n = len(hm.rows)
    k = max(1, math.ceil(n / MAX_ROWS_PER_PANEL))
    size = math.ceil(n / k)
    return [list(range(i, min(n, i + size))) for i in range(0, n, size)]


def _group_label(hm: HeatMap, group: str, cont: bool) -> str:
    ops = [r.opcode for r in hm.rows if r.group == group and r.opcode is not None]
    name = {"buses": "buses (bus constraint degree)"}.get(group, group)
    if ops and group != "buses":
        name += f" (opcodes {min(ops)}-{max(ops)})" if min(ops) != max(ops) else f" (opcode {ops[0]})"
    return name + (" (cont.)" if cont else "")


def _title(hm: HeatMap, width_in: float) -> str:
    budgets = set(hm.budgets)
    if budgets == {None}:
        b = "no budget: coloured by degree"
    elif len(budgets) == 1:
        b = f"budget {hm.budgets[0]}"
    else:
        b = "budgets " + ", ".join(f"{lab} {bud}" for lab, bud in zip(hm.labels, hm.budgets))
    names = ", ".join(dict.fromkeys(hm.airs))
    return "\n".join(
        textwrap.wrap(f"Degree per operation and bus ({b}): {names}", int(width_in * 12), break_on_hyphens=False)
    )


def _legend_handles(hm: HeatMap, mpl: Any) -> list[Any]:
    from matplotlib.patches import Patch

    edge = {"edgecolor": "#808080", "linewidth": 0.5}
    cats = {c.category for r in hm.rows for c in r.cells}
    hs: list[Any] = []
    if any(b is not None for b in hm.budgets):
        hs.append(Patch(facecolor=OVER_COLOR, hatch="////", label="over budget", edgecolor="#ffffff", linewidth=0.5))
        n = len(HEADROOM_COLORS)
        for h, col in enumerate(HEADROOM_COLORS):
            lab = "at budget (headroom 0)" if h == 0 else f"headroom {h}" + ("+" if h == n - 1 else "")
            hs.append(Patch(facecolor=col, label=lab, **edge))
    if "degree" in cats:
        n = len(DEGREE_COLORS)
        for d, col in enumerate(DEGREE_COLORS):
            hs.append(Patch(facecolor=col, label=f"degree {d}" + ("+ (no budget)" if d == n - 1 else ""), **edge))
    if "ungated" in cats:
        hs.append(Patch(facecolor=UNGATED_COLOR, label="- gates nothing", **edge))
    if "absent" in cats:
        hs.append(Patch(facecolor=ABSENT_COLOR, label="(blank) not in the design", **edge))
    if any(c.moved for r in hm.rows for c in r.cells):
        hs.append(Patch(facecolor=ABSENT_COLOR, label="* another opcode in this design", **edge))
    return hs


def render(hm: HeatMap, path: str | Path, title: str | None = None) -> None:
    """Write the heat map to ``path`` (.svg or .png); PlotUnavailable when matplotlib is missing."""
    fmt = plot_format(path)
    if not hm.rows:
        raise ValueError(f"{path}: nothing to plot: no operation and no bus in {', '.join(hm.airs)}")
    mpl = _matplotlib()
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    panels = _panels(hm)
    ncols = len(hm.labels)
    # vertical extent of a panel in row units: rows plus a group band (GROUP_GAP / CELL_H rows) per group start
    gap = GROUP_GAP / CELL_H

    def layout(rows: list[int]) -> tuple[list[float], list[tuple[str, float, bool]]]:
        ys: list[float] = []
        bands: list[tuple[str, float, bool]] = []
        y = 0.0
        prev = None
        for k, i in enumerate(rows):
            g = hm.rows[i].group
            if g != prev:
                cont = k == 0 and i > 0 and hm.rows[i - 1].group == g
                y += gap
                bands.append((g, y, cont))
                prev = g
            ys.append(y)
            y += 1
        return ys, bands

    layouts = [layout(p) for p in panels]
    height_rows = max(ys[-1] + 1 for ys, _ in layouts)
    longest = max(len(lab) for lab in hm.labels)
    header_h = 0.25 + 0.055 * longest * FONT / 8  # column labels at 55 degrees
    panel_w = LABEL_W + ncols * CELL_W
    overhang = 0.055 * longest * FONT / 8 * math.cos(math.radians(55))  # the last column label, right of its cell
    fig_w = max(len(panels) * panel_w + (len(panels) - 1) * PANEL_GAP + 0.25 + max(overhang, 0.25), 6.0)
    body_h = height_rows * CELL_H
    title = title or _title(hm, fig_w)
    title_h = 0.25 + 0.18 * title.count("\n") + 0.2
    handles = _legend_handles(hm, mpl)
    legend_cols = max(1, min(4, int(fig_w / 2.4)))
    legend_h = 0.2 + 0.2 * math.ceil(len(handles) / legend_cols)
    fig_h = title_h + header_h + body_h + legend_h + 0.15

    rc = {"svg.hashsalt": "air-heatmap", "font.size": FONT, "hatch.linewidth": 1.2, "hatch.color": "#ffffff"}
    with mpl.rc_context(rc):
        fig = Figure(figsize=(fig_w, fig_h))
        for p, (rows, (ys, bands)) in enumerate(zip(panels, layouts)):
            left = 0.25 + p * (panel_w + PANEL_GAP)
            ax = fig.add_axes(
                (left / fig_w, (legend_h + 0.15) / fig_h, panel_w / fig_w, body_h / fig_h),
            )
            x0 = -LABEL_W / CELL_W  # the labels' area in cell units
            ax.set_xlim(x0, ncols)
            ax.set_ylim(height_rows, 0)
            ax.axis("off")
            # the cells as one collection of unit squares (the SVG defines the square once and places it per cell,
            # 8% smaller than a path per cell; the glyphs of the numbers are most of the file); over budget again,
            # hatched, on top
            squares: list[Any] = []
            fills: list[str] = []
            hatched: list[Any] = []
            for i, y in zip(rows, ys):
                r = hm.rows[i]
                lab = r.name if r.opcode is None else f"{r.name}  {r.opcode}"
                ax.text(-0.12, y + 0.5, lab, ha="right", va="center", fontsize=FONT, family="monospace")
                for j, c in enumerate(r.cells):
                    over = c.category == "over"
                    squares.append(Rectangle((j, y), 1, 1))
                    fills.append(c.color)
                    if over:
                        hatched.append(Rectangle((j, y), 1, 1))
                    if c.text:
                        ax.text(
                            j + 0.5, y + 0.52, c.text, ha="center", va="center", fontsize=FONT,
                            color=text_color(c.color), fontweight="bold" if over else "normal",
                            bbox={"boxstyle": "square,pad=0.1", "facecolor": OVER_COLOR, "linewidth": 0}
                            if over else None,
                        )  # fmt: skip
            ax.add_collection(PatchCollection(squares, facecolors=fills, edgecolors="#e0e0e0", linewidths=0.4))
            if hatched:
                ax.add_collection(
                    PatchCollection(hatched, facecolors=OVER_COLOR, edgecolors="#ffffff", linewidths=0.4, hatch="////")
                )
            for g, y, cont in bands:
                ax.plot([x0, ncols], [y - 0.08, y - 0.08], color="#404040", linewidth=0.6)
                ax.text(x0, y - 0.2, _group_label(hm, g, cont), ha="left", va="bottom", fontsize=FONT,
                        fontweight="bold")  # fmt: skip
            for j, lab in enumerate(hm.labels):
                ax.text(j + 0.3, -0.15, lab,
                        rotation=55, rotation_mode="anchor", ha="left", va="bottom", fontsize=FONT)  # fmt: skip
        fig.text(0.5, 1 - 0.15 / fig_h, title, ha="center", va="top", fontsize=FONT + 2)
        fig.legend(
            handles=handles, loc="lower center", ncol=legend_cols, fontsize=FONT, frameon=False,
            bbox_to_anchor=(0.5, 0.05 / fig_h), handlelength=1.6, handleheight=1.1,
        )  # fmt: skip
        meta: dict[str, Any] = {"Date": None, "Creator": "air"} if fmt == "svg" else {"Software": "air"}
        fig.savefig(str(path), format=fmt, metadata=meta, dpi=150 if fmt == "png" else 72)
