"""Degree heat maps (`air compare/degrees --plot`): the matrix against `air compare --format json`, the colour rule,
the files written (valid SVG / PNG, deterministic SVG), the missing-matplotlib message, and the committed
reports/heatmap-designs.json against today's model (the data, not the pixels)."""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from air.plot_data import (
    ABSENT_COLOR,
    DEGREE_COLORS,
    HEADROOM_COLORS,
    OVER_COLOR,
    UNGATED_COLOR,
    cell_style,
    heatmap,
    text_color,
)

REPORTS = Path(__file__).resolve().parent.parent / "reports"
# v0.18 has FMPADD/FMPUPDATE, v0.19 drops them and adds LOGPRECOMPILE; gate and fnhash-mem are over budget;
# fnhash-mem-slot moves DYNCALL to slot 120 and RESPAN to 94 (README, "The Miden model")
FOUR = ("miden-v0.18", "miden-gate", "miden-v0.19", "miden-fnhash-mem-slot")


def _luminance(color: str) -> float:
    """Relative luminance (WCAG): the sRGB channels gamma-decoded, weighted 0.2126/0.7152/0.0722."""
    ch = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in ch]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_colour_rule() -> None:
    # over budget: one red, on neither sequential scale, whatever the excess
    assert cell_style(10, 9) == ("over", OVER_COLOR) == cell_style(30, 9)
    assert OVER_COLOR not in HEADROOM_COLORS + DEGREE_COLORS
    r, g, b = (int(OVER_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    assert r > 200 and g < 40 and b < 60  # saturated red
    # headroom 0, 1, 2, ...: strictly lighter as the headroom grows, the last colour for all larger headrooms
    lum = [_luminance(cell_style(9 - h, 9)[1]) for h in range(len(HEADROOM_COLORS))]
    assert all(a < b for a, b in zip(lum, lum[1:]))
    assert cell_style(0, 9) == ("ok", HEADROOM_COLORS[-1]) == cell_style(9 - len(HEADROOM_COLORS) + 1, 9)
    # no budget: by degree, darker as the degree grows; nothing gated: grey; absent: white
    dl = [_luminance(cell_style(d, None)[1]) for d in range(len(DEGREE_COLORS))]
    assert all(a > b for a, b in zip(dl, dl[1:]))
    assert cell_style(None, 9) == ("ungated", UNGATED_COLOR) and cell_style(9, 9, present=False)[1] == ABSENT_COLOR
    # text is white on the dark cells, black on the light ones
    assert text_color(HEADROOM_COLORS[0]) == text_color(OVER_COLOR) == "#ffffff"
    assert text_color(HEADROOM_COLORS[-1]) == text_color(ABSENT_COLOR) == "#000000"


def test_heatmap_matches_compare_json(air_cli, miden_analyses) -> None:
    code, out, err = air_cli("compare", *FOUR, "--format", "json")
    assert code == 0, err
    airs = json.loads(out)["airs"]
    hm = heatmap([miden_analyses[n] for n in FOUR])
    assert list(hm.labels) == [a["label"] for a in airs] and list(hm.budgets) == [a["budget"] for a in airs]
    ops = [r for r in hm.rows if r.kind == "operation"]
    buses = [r for r in hm.rows if r.kind == "bus"]
    # every operation of every design is a row, once; then every bus
    assert sorted(r.name for r in ops) == sorted({n for a in airs for n in a["operations"]})
    assert [r.name for r in buses] == [f"bus {b}" for b in airs[0]["buses"]]
    assert hm.rows[-len(buses) :] == tuple(buses)
    over = set()
    for r in hm.rows:
        for c, a in zip(r.cells, airs):
            table = a["operations"] if r.kind == "operation" else a["buses"]
            key = r.name if r.kind == "operation" else r.name.removeprefix("bus ")
            if key not in table:
                assert c.category == "absent" and c.text == "" and c.degree is None, (r.name, a["air"])
                continue
            d = table[key]
            assert c.degree == d, (r.name, a["air"])
            assert c.headroom == a["budget"] - d
            assert (c.category == "over") == (d > a["budget"])
            assert c.color == cell_style(d, a["budget"])[1]
            assert c.text.rstrip("*") == str(d)
            if c.category == "over":
                over.add((key, a["air"]))
                if r.kind == "bus":
                    assert f"bus:{key}" in a["over_budget"]
    # README findings 7 and the designs table: the gate design's FMPUPDATE and DYNCALL (a bus part of 10 each) and
    # its chiplets bus are the only cells over budget among these four
    assert over == {("FMPUPDATE", "miden-gate"), ("DYNCALL", "miden-gate"), ("chiplets", "miden-gate")}
    # absent: FMPADD/FMPUPDATE at v0.19 and in the slot design; LOGPRECOMPILE before v0.19
    row = {r.name: r for r in hm.rows}
    assert [c.category for c in row["FMPADD"].cells] == ["ok", "ok", "absent", "absent"]
    assert [c.category for c in row["LOGPRECOMPILE"].cells] == ["absent", "absent", "ok", "ok"]
    # the slot design moves DYNCALL (opcode 92 elsewhere) to 120 and RESPAN (120) to 94: marked, row kept
    assert [c.moved for c in row["DYNCALL"].cells] == [False, False, False, True] and row["DYNCALL"].opcode == 92
    assert row["RESPAN"].cells[3].text.endswith("*") and row["RESPAN"].opcode == 120


def test_rows_grouped_by_flag_class_in_opcode_order(miden_analyses) -> None:
    hm = heatmap([miden_analyses["miden-v0.18"]])
    assert [g for g, _, _ in hm.groups()] == ["deg7", "u32", "deg5", "deg4", "buses"]
    opcodes = [r.opcode for r in hm.rows if r.kind == "operation"]
    assert opcodes == sorted(opcodes) and len(opcodes) == 93  # README: 93 opcodes at v0.18
    # Miden's classes by opcode (op_constraints.md): 0..63 degree 7, 64..79 u32, 80..95 degree 5, 96..127 degree 4
    for r in hm.rows[:-8]:
        assert r.group == ("deg7" if r.opcode < 64 else "u32" if r.opcode < 80 else "deg5" if r.opcode < 96 else "deg4")


TOY = """
from air.air import Air

def make_air():
    air = Air("nobudget", "a toy AIR without a budget")
    a, b = air.columns("main", ["a", "b"])
    inc = air.operation("INC", a, opcode=1)
    air.operation("IDLE", 1 - a)                     # gates nothing
    air.constrain("inc", body=b.next - b - 1, operation=inc)
    air.transition("sq", a**3 - a)
    return air
"""


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_files_written(air_cli, tmp_path) -> None:
    svg, png = tmp_path / "c.svg", tmp_path / "d.png"
    code, out, err = air_cli("compare", "stack-machine", "fibonacci", "--plot", str(svg))
    assert code == 0, err
    assert "over budget:" in out  # the table is still printed
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and float(root.get("width").removesuffix("pt")) > 100
    code, out, err = air_cli("degrees", "--air", "stack-machine", "--by", "op", "--plot", str(png))
    assert code == 0, err
    w, h = _png_size(png)
    assert 600 < w < 2000 and 600 < h < 3000  # figure inches x 150 dpi: a 10-row, 1-column map
    # an AIR without a budget, with an operation that gates nothing
    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    code, _, err = air_cli("degrees", "--air", f"{toy}:make_air", "--by", "op", "--plot", str(tmp_path / "t.svg"))
    assert code == 0, err
    ET.parse(tmp_path / "t.svg")


def test_no_budget_and_ungated_cells(tmp_path) -> None:
    from air.analysis import analyze
    from air.registry import load_air

    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    hm = heatmap([analyze(load_air(f"{toy}:make_air"))])
    row = {r.name: r.cells[0] for r in hm.rows}
    # INC: flag a (1) times body b' - b - 1 (1) = 2, no budget: the degree scale
    assert (row["INC"].degree, row["INC"].category, row["INC"].color) == (2, "degree", DEGREE_COLORS[2])
    assert (row["IDLE"].degree, row["IDLE"].category, row["IDLE"].text) == (None, "ungated", "-")


def test_svg_is_deterministic(tmp_path) -> None:
    from air.analysis import analyze
    from air.plot import render
    from air.registry import load_air

    hm = heatmap([analyze(load_air("stack-machine"))])
    render(hm, tmp_path / "a.svg")
    render(hm, tmp_path / "b.svg")
    text = (tmp_path / "a.svg").read_text()
    assert text == (tmp_path / "b.svg").read_text() and "<dc:date>" not in text


def test_bad_plot_requests(air_cli, tmp_path) -> None:
    code, _, err = air_cli("compare", "fibonacci", "--plot", str(tmp_path / "x.pdf"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "x.pdf" in err and ".svg or .png" in err
    code, _, err = air_cli("degrees", "--air", "stack-machine", "--plot", str(tmp_path / "x.svg"))
    assert code == 2 and "--by op" in err and not (tmp_path / "x.svg").exists()
    code, _, err = air_cli("degrees", "--air", "fibonacci", "--by", "op", "--plot", str(tmp_path / "x.svg"))
    assert code == 2 and "nothing to plot" in err and len(err.strip().splitlines()) == 1


def test_missing_matplotlib_is_one_line(air_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    out_file = tmp_path / "x.svg"
    code, out, err = air_cli("compare", "stack-machine", "--plot", str(out_file))
    assert code == 2 and err.strip().count("\n") == 0
    assert "pip install 'air[plot]'" in err and not out_file.exists()
    # without --plot nothing needs matplotlib
    code, _, err = air_cli("compare", "stack-machine")
    assert code == 0, err


def _plot_designs():
    spec = importlib.util.spec_from_file_location("plot_designs", REPORTS / "plot_designs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_heatmap_is_current(miden_analyses) -> None:
    """reports/heatmap-designs.json is what reports/plot_designs.py draws today (run it after a degree change)."""
    mod = _plot_designs()
    assert set(mod.DESIGNS) == set(miden_analyses)  # the seven Miden designs, no more, no fewer
    hm = mod.designs_heatmap(miden_analyses)
    assert mod.data_text(hm) == mod.DATA.read_text(), "stale: run reports/plot_designs.py"
    assert json.loads(mod.DATA.read_text()) == hm.to_json()
    root = ET.parse(mod.SVG).getroot()
    assert root.tag.endswith("svg")
    # what the README's paragraph says a reader sees: these cells over budget, and 35 to 37 operations at 9 in each
    over = {(r.name, hm.airs[j]) for r in hm.rows for j, c in enumerate(r.cells) if c.category == "over"}
    gate, mem = "miden-gate", "miden-fnhash-mem"
    bus = "bus chiplets"
    assert over == {("FMPUPDATE", gate), ("DYNCALL", gate), (bus, gate), ("DYNCALL", mem), (bus, mem)}
    at9 = [sum(r.kind == "operation" and r.cells[j].degree == 9 for r in hm.rows) for j in range(len(hm.airs))]
    assert min(at9) == 35 and max(at9) == 37
