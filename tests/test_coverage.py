"""``air coverage``: rows per operation, active constraints, fired bus terms and what never occurred,
counted by hand on the toy AIR of ``test_probe``."""

from __future__ import annotations

import json

from air.coverage import (
    bus_term_rows,
    constraint_rows,
    coverage,
    coverage_line,
    operation_rows,
    render,
    unread_columns,
)
from air.trace import save_trace
from tests.toy_airs import S_BUS, S, toy, toy_trace


def with_never():
    air = toy()
    s = air.col("s")
    air.operation("NEVER", s * (1 - s))
    air.constrain("never_rule", flag=s * (1 - s), body=air.col("b") - 5)
    air.column("main", "spare")
    return air


def _trace_with_spare():
    t = toy_trace()
    t.columns["spare"] = t.columns["c"].copy()
    return t


def test_counts_by_hand() -> None:
    air, t = with_never(), _trace_with_spare()
    ops = operation_rows(air, t)
    assert ops["INC"] == sum(S) == 7 and ops["KEEP"] == len(S) - 7 and ops["NEVER"] == 0
    rows = constraint_rows(air, t)
    # transition rows 0..14: INC on 7 of them (S[15] = 0), KEEP on the other 8; ungated ones on all 15
    assert rows["inc"] == 7 and rows["keep"] == 8 and rows["s_binary"] == 15 and rows["never_rule"] == 0
    assert rows["b_first"] == 1
    assert unread_columns(air) == ["spare"]


def test_bus_terms_fired() -> None:
    got = bus_term_rows(toy(bus=True), toy_trace(bus=True))
    assert (
        got
        == {"vals/req": sum(S_BUS[:-1]), "vals/resp": len(S_BUS) - 1 - sum(S_BUS[:-1])}
        == {
            "vals/req": 5,
            "vals/resp": 10,
        }
    )


def test_over_several_traces_and_never() -> None:
    air, t = with_never(), _trace_with_spare()
    cov = coverage(air, [t, t])
    assert cov.rows == 32 and cov.operations["INC"] == 14
    assert cov.operations_never == ["NEVER"]
    assert cov.never(cov.constraints) == ["never_rule"]
    assert "operations 2/3 occurred" in cov.summary() and "1 column(s) unread" in cov.summary()
    md = render(cov, "markdown")
    assert "## operations that never occurred: 1" in md and "| INC | 14 |" in md


def test_cli_coverage_on_scenario_traces(air_cli) -> None:
    code, out, _ = air_cli(
        "coverage",
        "traces/ordinary/miden-v0.19.npz",
        "traces/caller/miden-v0.19.npz",
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["operations"]["CALLER"] >= 1 and doc["operations"]["U32ADD"] == 0
    assert "U32ADD" in doc["never"]["operations"]


def test_cli_coverage_of_a_saved_toy_trace(air_cli, tmp_path) -> None:
    t = toy_trace()
    p = tmp_path / "t.npz"
    save_trace(p, t.columns)
    code, out, _ = air_cli("coverage", str(p), "--air", "tests/test_probe.py:toy")
    assert code == 0 and "operations 2/2 occurred" in out


def test_coverage_line_for_check() -> None:
    air, t = with_never(), _trace_with_spare()
    assert coverage_line(air, t) == (
        "not exercised: 1 of 5 columns read by no constraint or bus, 1 of 3 operations never occur in the trace"
    )
