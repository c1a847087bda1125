"""Regenerate the README's heat map of the seven Miden designs and its data.

    .venv/bin/python reports/plot_designs.py            # needs pip install -e '.[plot]'

Writes reports/heatmap-designs.svg (what the README shows) and reports/heatmap-designs.json (the
matrix drawn: every cell's degree, headroom, colour category and colour). tests/test_plot.py rebuilds
the JSON from today's model and fails when the committed one differs, so the picture cannot go stale
silently (the pixels are not compared: matplotlib's output varies by version). The files are not named
``degrees-*.json``: that pattern is the degree gate's baselines (.ci/run gates every one of them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from air.analysis import Analysis, analyze
from air.plot_data import HeatMap, heatmap
from air.registry import load_air

HERE = Path(__file__).resolve().parent
SVG = HERE / "heatmap-designs.svg"
DATA = HERE / "heatmap-designs.json"
# the seed discussion's designs and the released versions, in the order the README's table lists them
DESIGNS = (
    "miden-v0.18",
    "miden-sys-fmp",
    "miden-gate",
    "miden-v0.19",
    "miden-fnhash-mem",
    "miden-fnhash-mem-slot",
    "miden-fnhash-mem-column",
)


def designs_heatmap(analyses: Mapping[str, Analysis] | None = None) -> HeatMap:
    """The heat map of DESIGNS; ``analyses`` (name -> Analysis) saves re-analysing designs already analysed."""
    got = analyses or {}
    return heatmap([got[n] if n in got else analyze(load_air(n)) for n in DESIGNS])


def data_text(hm: HeatMap) -> str:
    """The JSON sidecar as committed: one line per row, so a diff names the rows that moved."""
    d = hm.to_json()
    rows = ",\n  ".join(json.dumps(r) for r in d.pop("rows"))
    head = ",\n ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in d.items())
    return "{\n " + head + ',\n "rows": [\n  ' + rows + "\n ]\n}\n"


def main() -> None:
    from air.plot import render

    hm = designs_heatmap()
    DATA.write_text(data_text(hm))
    render(hm, SVG)
    print(f"wrote {SVG.relative_to(HERE.parent)} and {DATA.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
