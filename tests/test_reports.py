"""air check reports: text, JSON, JUnit and SARIF, with constraint failures and unmatched bus messages."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from air.cli import cli
from air.trace import save_trace

TOY = """
from air.air import Air, Bus, BusTerm, Message

def make():
    air = Air("toy-mem", "writes answered by a memory", budget=9, n_challenges=4)
    op_w, is_resp, addr, val, clk = air.columns("main", ["op_write", "is_resp", "addr", "val", "clk"])
    w = air.operation("WRITE", op_w, 1)
    air.transition("clk", clk.next - clk - 1)
    air.constrain("write_addr_nonzero_hint", body=op_w * op_w - op_w, operation=w)
    air.bus(Bus("mem", "multiset", "b", (
        BusTerm("u_write", "request", op_w, (Message("memory write", 4, (("addr", addr), ("value", val))),),
                ("m",), "WRITE"),
        BusTerm("v_mem", "response", is_resp, (Message("memory write", 4, (("addr", addr), ("value", val))),),
                ("v",), None),
    )))
    return air
"""


def make_files(tmp_path: Path, break_clk: bool, drop_response: bool) -> tuple[str, Path]:
    mod = tmp_path / "toy.py"
    mod.write_text(TOY)
    n = 16
    cols = {k: np.zeros(n, dtype=np.uint64) for k in ("op_write", "is_resp", "addr", "val")}
    cols["clk"] = np.arange(n, dtype=np.uint64)
    for i, (a, v) in enumerate([(10, 100), (11, 111)]):
        cols["op_write"][i], cols["addr"][i], cols["val"][i] = 1, a, v
        cols["is_resp"][4 + i], cols["addr"][4 + i], cols["val"][4 + i] = 1, a, v
    if break_clk:
        cols["clk"][9] = 42
    if drop_response:
        cols["is_resp"][5] = 0
    return f"{mod}:make", save_trace(tmp_path / "t.npz", cols, {}, {})


def test_ok(tmp_path) -> None:
    spec, trace = make_files(tmp_path, False, False)
    r = CliRunner().invoke(cli, ["check", str(trace), "--air", spec])
    assert r.exit_code == 0 and "OK" in r.stdout and "bus mem: balanced" in r.stdout


def test_text_json_junit_sarif(tmp_path) -> None:
    spec, trace = make_files(tmp_path, True, True)
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    r = CliRunner().invoke(
        cli, ["check", str(trace), "--air", spec, "--junit", str(junit), "--sarif", str(sarif), "--context", "1"]
    )
    assert r.exit_code == 1
    out = r.stdout
    assert "constraint clk (transition) — 2 failing row(s)" in out
    assert "row 8:" in out and "row 9:" in out and "clk'=42" in out
    assert ">>" in out  # the failing row is marked in the window
    assert "memory write addr=11 value=111, requested by WRITE at row 1, no response" in out

    r = CliRunner().invoke(cli, ["check", str(trace), "--air", spec, "--format", "json", "--max-failures", "1"])
    doc = json.loads(r.stdout)
    assert doc["summary"]["ok"] is False and doc["summary"]["failing_rows"] == 2
    (group,) = doc["failures"]
    assert group["constraint"] == "clk" and group["total"] == 2 and len(group["rows"]) == 1
    assert group["rows"][0]["cells"] == {"clk": "8", "clk'": "42"} and group["rows"][0]["value"] == "33"
    (u,) = doc["unmatched"]
    assert (u["side"], u["row"], u["operation"], u["fields"]) == ("request", 1, "WRITE", {"addr": "11", "value": "111"})

    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "2"
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"clk", "bus:mem"}

    s = json.loads(sarif.read_text())
    assert s["version"] == "2.1.0"
    results = s["runs"][0]["results"]
    assert {x["ruleId"] for x in results} == {"clk", "bus:mem"}
    assert any(x["locations"][0]["logicalLocations"][0]["name"] == "row 8" for x in results)
