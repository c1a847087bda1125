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


# ``air degrees --by op --traces``: the coverage column (issue 13), counts from an independent computation


def test_degrees_by_op_rows_of_toy_traces(air_cli, tmp_path) -> None:
    t = _trace_with_spare()
    p1, p2 = tmp_path / "a.npz", tmp_path / "b.npz"
    save_trace(p1, t.columns)
    save_trace(p2, t.columns)
    spec = "tests/test_coverage.py:with_never"
    code, out, _ = air_cli("degrees", "--air", spec, "--by", "op", "--traces", f"{p1},{p2}")
    assert code == 0
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.split()}
    # INC where the schedule S is 1 (7 of 16 rows), KEEP on the other 9, NEVER nowhere; two copies of the trace
    assert lines["INC"].split()[-1] == str(2 * sum(S)) == "14"
    assert lines["KEEP"].split()[-1] == str(2 * (len(S) - sum(S))) == "18"
    assert lines["NEVER"].rstrip().endswith("0 (never)")
    assert "rows: over 2 trace(s), 32 rows; 2 of 3 operations occur, 1 never" in out
    code, md, _ = air_cli("degrees", "--air", spec, "--by", "op", "--traces", str(p1), "--format", "markdown")
    assert code == 0 and "| rows | note |" in md and "| 7 |" in md and "| 0 (never) |" in md
    code, js, _ = air_cli("degrees", "--air", spec, "--by", "op", "--traces", str(p1), "--format", "json")
    doc = json.loads(js)
    assert {o["name"]: o["rows"] for o in doc["operations"]} == {"INC": 7, "KEEP": 9, "NEVER": 0}
    assert doc["coverage"] == {"traces": [str(p1)], "rows": 16, "never": ["NEVER"]}
    # without --traces the view is unchanged: no rows column
    _, plain, _ = air_cli("degrees", "--air", spec, "--by", "op")
    assert "rows" not in plain.splitlines()[1].split()


def test_degrees_by_op_rows_match_miden_opcode_bits(air_cli) -> None:
    """Rows per operation on Miden traces = rows whose opcode b0 + 2*b1 + ... + 64*b6 is the operation's
    (the decoder's op bits, docs/src/design/decoder/main.md of v0.19.0), counted here with numpy."""
    import collections

    import numpy as np

    paths = ["traces/ordinary/miden-v0.19.npz", "traces/u32_ops/miden-v0.19.npz"]
    hand: collections.Counter[int] = collections.Counter()
    for p in paths:
        z = np.load(p)
        hand.update(sum(z[f"b{i}"].astype(np.int64) << i for i in range(7)).tolist())
    code, out, _ = air_cli(
        "degrees", "--air", "miden-v0.19", "--by", "op", "--format", "json", "--traces", ",".join(paths)
    )
    assert code == 0
    doc = json.loads(out)
    got = {o["opcode"]: o["rows"] for o in doc["operations"]}
    assert got == {k: hand.get(k, 0) for k in got} and set(hand) <= set(got)
    assert got[hand.most_common(1)[0][0]] > 0 and doc["coverage"]["rows"] == sum(hand.values())
    never = {o["name"] for o in doc["operations"] if hand.get(o["opcode"], 0) == 0}
    assert set(doc["coverage"]["never"]) == never and "U32ADD" not in never


def test_degrees_traces_bad_input(air_cli, tmp_path) -> None:
    t = toy_trace()  # no "spare" column: does not match with_never
    p = tmp_path / "t.npz"
    save_trace(p, t.columns)
    spec = "tests/test_coverage.py:with_never"
    for args in (
        ("--by", "op", "--traces", str(p)),  # a column of the AIR missing
        ("--by", "op", "--traces", str(tmp_path / "nope.npz")),  # no such file
        ("--by", "constraint", "--traces", str(p)),  # the column is per operation only
    ):
        code, out, err = air_cli("degrees", "--air", spec, *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, args
    assert "spare" in air_cli("degrees", "--air", spec, "--by", "op", "--traces", str(p))[2]
    code, _, err = air_cli(
        "degrees", "--air", "miden-v0.19", "--by", "op", "--traces", "traces/ordinary/miden-v0.18.npz"
    )
    assert code == 2 and "names AIR 'miden-v0.18'" in err and len(err.strip().splitlines()) == 1


def test_coverage_operations_only() -> None:
    air, t = with_never(), _trace_with_spare()
    full, ops = coverage(air, [t, t]), coverage(air, [t, t], operations_only=True)
    assert ops.operations == full.operations and ops.rows == 32 and ops.operations_never == ["NEVER"]
    assert ops.constraints == {} and ops.bus_terms == {}
