"""traces/FORMAT.md's column table (Miden's main-trace layout at v0.18.0 / v0.19.0) is the column order of the
built-in miden-v0.18 and miden-v0.19 AIRs; the widths are the ones Miden's air/src/trace/mod.rs states."""

import re
from pathlib import Path

from air.miden.designs import DESIGNS

FORMAT = Path(__file__).resolve().parent.parent / "traces" / "FORMAT.md"
ROW = re.compile(r"^\| (\d+) \| (\d+|-) \| `([a-z_0-9]+)` \| (.+) \|$")


def table() -> list[tuple[int, int | None, str, str]]:
    text = FORMAT.read_text()
    section = text[text.index("## Miden's main-trace layout, column by column") :]
    rows = []
    for line in section.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((int(m[1]), None if m[2] == "-" else int(m[2]), m[3], m[4]))
    return rows


def test_table_is_the_column_order_of_the_builtin_airs() -> None:
    rows = table()
    assert [r[0] for r in rows] == list(range(len(rows)))
    assert [r[2] for r in rows] == DESIGNS["miden-v0.18"]().column_names
    v19 = sorted((r[1], r[2]) for r in rows if r[1] is not None)
    assert [i for i, _ in v19] == list(range(len(v19)))
    assert [c for _, c in v19] == DESIGNS["miden-v0.19"]().column_names


def test_table_widths_match_mod_rs() -> None:
    # air/src/trace/mod.rs: v0.18 system 8, decoder 24, stack 19, range 2, chiplets 20 (73); v0.19 system 6 (71)
    rows = table()
    assert len(rows) == 8 + 24 + 19 + 2 + 20 == 73
    assert sum(r[1] is not None for r in rows) == 6 + 24 + 19 + 2 + 20 == 71
    assert [r[2] for r in rows if r[1] is None] == ["fmp", "in_syscall"]  # the two v0.19 dropped
    assert rows[8 + 24 + 19][2] == "range_m" and rows[8 + 24 + 19 + 2][2] == "chip0"  # CHIPLETS_OFFSET = 53
    assert "memory is_read" in rows[53 + 3][3] and "kernel ROM s_first" in rows[53 + 5][3]
