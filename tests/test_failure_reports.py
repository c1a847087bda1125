"""The malicious provers of the seed discussion, built from honest executor traces: each tampered trace
makes `air check` exit 1 with a report naming the right constraint or bus message, its row, operation
and values; the JSON, JUnit and SARIF outputs are parsed, not grepped. `air check` checks the families the executor
fills (``--only FILLED_FAMILIES``, the chiplets bus and the real hasher chiplet included)."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from air.evaluate import active_operations
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, export
from air.miden.layout import MEM
from air.trace import Trace, load_trace, save_trace

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
KERNEL = PROGRAMS / "kernel.masm"
P = 2**64 - 2**32 + 1
FMP_ADDR = 2**32 - 2  # core/src/lib.rs:151 at v0.19.0 (the docs say 2^32 - 1; the code wins)
FMP_INIT = 2**31  # FMP_INIT_VALUE, core/src/lib.rs:148 at v0.19.0
ONLY = ",".join(FILLED_FAMILIES)


def honest(scenario, name: str, design: str):
    res = scenario(name, design)  # the session's run (shared): its columns are copied below before any change
    air = DESIGNS[res.air]()
    ops = active_operations(air, Trace(res.columns, res.n_rows), np.arange(res.n_rows))
    return res, ops, {k: v.copy() for k, v in res.columns.items()}


def write(res, cols: dict[str, np.ndarray], path: Path) -> Path:
    export(res, path)  # the sidecar (design, digests, public inputs) as the executor writes it
    t = load_trace(path)
    save_trace(path, cols, public_inputs=t.public_inputs, meta=t.meta, public_tables=t.public_tables)
    return path


def air_check(
    air_proc, path: Path, tmp_path: Path, *extra: str, only: str = ONLY
) -> tuple[int, dict, ET.Element, dict, str]:
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    r = air_proc("check", str(path), "--only", only, "--format", "json", "--junit", str(junit), "--sarif", str(sarif),
                *extra)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    text = air_proc("check", str(path), "--only", only, "--no-color").stdout
    return r.returncode, json.loads(r.stdout), ET.fromstring(junit.read_text()), json.loads(sarif.read_text()), text


def sarif_texts(sarif: dict, rule: str) -> list[str]:
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert any(x["id"] == rule for x in run["tool"]["driver"]["rules"])
    return [x["message"]["text"] for x in run["results"] if x["ruleId"] == rule]


def junit_failure(suite: ET.Element, name: str) -> ET.Element:
    case = next(c for c in suite.iter("testcase") if c.get("name") == name)
    failure = case.find("failure")
    assert failure is not None, name
    return failure


def test_forged_context_return_at_end(air_proc, scenario, tmp_path) -> None:
    """The prover returns from a CALL into the callee's context (ctx stays 28 after END) instead of the
    caller's (0). Every row-to-row ctx constraint still holds (END may change ctx); the block-stack bus
    catches it: the END's request carries ctx' = 28, the CALL saved 0."""
    res, ops, cols = honest(scenario, "call_from_syscall", "miden-v0.19")
    call = ops.index("CALL")
    callee_ctx = int(cols["ctx"][call + 1])
    # the END that closes the CALL: the first END after which ctx is back to the caller's
    end = next(r for r in range(call + 1, res.n_rows - 1) if ops[r] == "END" and cols["ctx"][r + 1] != callee_ctx
               and cols["ctx"][r] == callee_ctx)  # fmt: skip
    assert int(cols["ctx"][end + 1]) == 0
    cols["ctx"][end + 1 :] = callee_ctx
    code, doc, junit, sarif, text = air_check(air_proc, write(res, cols, tmp_path / "t.npz"), tmp_path)
    assert code == 1 and doc["summary"]["ok"] is False
    assert doc["failures"] == []  # no transition constraint sees it ...
    forged = [u for u in doc["unmatched"] if u["bus"] == "block_stack" and u["row"] == end]
    assert len(forged) == 1  # ... the block-stack bus does, at the END row
    assert forged[0]["side"] == "request" and forged[0]["operation"] == "END"
    assert forged[0]["fields"]["ctx"] == str(callee_ctx)
    saved = [u for u in doc["unmatched"] if u["bus"] == "block_stack" and u["row"] == call]
    assert saved[0]["side"] == "response" and saved[0]["operation"] == "CALL" and saved[0]["fields"]["ctx"] == "0"
    pair = next(p for p in doc["likely_pairs"] if p["request_row"] == end)
    assert pair["response_row"] == call
    assert pair["differences"] == [{"field": "ctx", "requested": str(callee_ctx), "answered": "0"}]
    assert f"requested by END at row {end}, no response" in junit_failure(junit, "bus:block_stack").text
    assert any(f"requested by END at row {end}" in m for m in sarif_texts(sarif, "bus:block_stack"))
    assert f"the request by END at row {end} and the response by CALL at row {call} differ only in ctx" in text


def test_memory_response_removed(air_proc, scenario, tmp_path) -> None:
    """The memory chiplet row that answers CALL's fmp-initialising write (v0.19) is deleted (the rows
    below move up). The chiplets bus names the write, its context, address, value, and the CALL row."""
    res, ops, cols = honest(scenario, "call_from_syscall", "miden-v0.19")
    call = ops.index("CALL")
    callee_ctx = int(cols["ctx"][call + 1])
    m = {k: cols[v] for k, v in MEM.items()}
    row = np.flatnonzero((m["s0"] == 1) & (m["s1"] == 1) & (m["s2"] == 0) & (m["ctx"] == callee_ctx)
                         & (m["clk"] == call))  # fmt: skip
    assert len(row) == 1
    r = int(row[0])
    for c in (f"chip{i}" for i in range(20)):
        cols[c][r:-1] = cols[c][r + 1 :].copy()
    assert "chiplets.bus" in FILLED_FAMILIES
    path = write(res, cols, tmp_path / "t.npz")
    # every unmatched message written (--max-failures bounds them per bus)
    code, doc, junit, sarif, text = air_check(air_proc, path, tmp_path, "--max-failures", "1000", only=ONLY)
    text = air_proc("check", str(path), "--only", ONLY, "--max-failures", "1000").stdout
    assert code == 1
    lost = [u for u in doc["unmatched"] if u["bus"] == "chiplets"]
    assert len(lost) == 1  # the hasher answers every one of its requests: only the deleted row's is left
    u = lost[0]
    assert (u["side"], u["operation"], u["row"]) == ("request", "CALL", call)
    assert u["label"].startswith("memory write element")
    assert u["fields"] == {"ctx": str(callee_ctx), "addr": str(FMP_ADDR), "clk": str(call), "v0": str(FMP_INIT)}
    expect = (f"memory write element (fmp init) ctx={callee_ctx} addr={FMP_ADDR} clk={call} v0={FMP_INIT}, "
              f"requested by CALL at row {call}, no response")  # fmt: skip
    assert expect in text and expect in junit_failure(junit, "bus:chiplets").text
    assert sarif_texts(sarif, "bus:chiplets") == [u["text"]]
    totals = next(b for b in doc["buses"] if b["bus"] == "chiplets")["totals"]
    label = next(k for k in totals if k.startswith("memory write element (fmp init)"))
    assert totals[label]["request"] == totals[label]["response"] + 1


def test_tampered_fmp(air_proc, scenario, tmp_path) -> None:
    """v0.18: after a procedure's FMPUPDATE the prover moves fmp 8 higher for the whole frame (so that
    fmp_unchanged holds everywhere). FMPUPDATE's constraint fails on its row and on the frame's closing
    FMPUPDATE, and every FMPADD in the frame no longer adds the real fmp."""
    res, ops, cols = honest(scenario, "ordinary", "miden-v0.18")
    up = ops.index("FMPUPDATE")
    fmp = cols["fmp"]
    end = up + 1
    while fmp[end + 1] == fmp[up + 1]:
        end += 1
    honest_fmp = int(fmp[up + 1])
    fmp[up + 1 : end + 1] = (fmp[up + 1 : end + 1] + 8) % P
    path = write(res, cols, tmp_path / "t.npz")
    code, doc, junit, sarif, text = air_check(air_proc, path, tmp_path, "--max-failures", "3")
    assert code == 1 and doc["unmatched"] == []
    groups = {g["constraint"]: g for g in doc["failures"]}
    assert set(groups) == {"fmpupdate", "fmpadd"}
    first = groups["fmpupdate"]["rows"][0]
    assert first["row"] == up and first["operation"] == "FMPUPDATE" and first["opcode"] == 47
    assert first["cells"]["fmp'"] == str(honest_fmp + 8) and first["value"] == "8"  # fmp' - fmp - s0 = 8
    assert [w["row"] for w in first["window"] if w["mark"]] == [up]
    fmpadd = groups["fmpadd"]
    frame_adds = [r for r in range(up + 1, end + 1) if ops[r] == "FMPADD"]
    assert fmpadd["total"] == len(frame_adds) and len(fmpadd["rows"]) == 3  # capped by --max-failures
    assert all(x["operation"] == "FMPADD" and x["value"] == str(P - 8) for x in fmpadd["rows"])
    assert int(junit.get("failures")) == 2
    # the frame's closing FMPUPDATE (which restores fmp) now starts from the raised value: it fails too
    assert ops[end] == "FMPUPDATE" and [x["row"] for x in groups["fmpupdate"]["rows"]] == [up, end]
    assert junit_failure(junit, "fmpupdate").get("message") == f"2 failing row(s); first: {up}, {end}"
    assert sarif_texts(sarif, "fmpupdate")[0].startswith(f"row {up} (FMPUPDATE): value 8")
    assert f"... and {len(frame_adds) - 5} more failing row(s) of fmpadd" in text  # the text report: 5 shown


def test_spoofed_caller_hash(air_proc, scenario, tmp_path) -> None:
    """`caller` in the kernel returns a hash the prover chose instead of fn_hash: caller_s0..s3 fail on
    the CALLER row, each showing the fn_hash limb it should have copied; the stack's general rules then
    catch the forged values again on the next row (the next operation keeps s0..s3, the row after it does not
    hold the forged values)."""
    res, ops, cols = honest(scenario, "caller", "miden-v0.19")
    r = ops.index("CALLER")
    spoof = [11, 22, 33, 44]
    for i in range(4):
        cols[f"s{i}"][r + 1] = spoof[i]
    code, doc, junit, sarif, text = air_check(air_proc, write(res, cols, tmp_path / "t.npz"), tmp_path)
    assert code == 1
    groups = {g["constraint"]: g for g in doc["failures"]}
    caller = {f"caller_s{i}" for i in range(4)}
    shift = {f"stack_s{i}_shift" for i in range(4)}
    assert set(groups) == caller | shift
    assert all([f["row"] for f in groups[c]["rows"]] == [r + 1] for c in shift)
    for i in range(4):
        f = groups[f"caller_s{i}"]["rows"][0]
        fh = int(cols[f"fn_hash{3 - i}"][r])
        assert (f["row"], f["operation"], f["next_operation"]) == (r, "CALLER", ops[r + 1])
        assert f["cells"] == {**{k: f["cells"][k] for k in f["cells"] if k.startswith("b")},
                              f"fn_hash{3 - i}": str(fh), f"s{i}'": str(spoof[i])}  # fmt: skip
        assert int(f["value"]) == (spoof[i] - fh) % P
    failed = {c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None}
    assert failed == caller | shift
    assert len(sarif["runs"][0]["results"]) == 8
    assert f"row {r}: operation CALLER (opcode 9)" in text


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_honest_report_documents(air_proc, scenario, tmp_path, design) -> None:
    res, _, cols = honest(scenario, "ordinary", design)
    code, doc, junit, sarif, text = air_check(air_proc, write(res, cols, tmp_path / "t.npz"), tmp_path)
    assert code == 0 and doc["summary"]["ok"] is True and doc["failures"] == [] and doc["unmatched"] == []
    assert junit.get("failures") == "0" and sarif["runs"][0]["results"] == []
    assert text.startswith("OK")
