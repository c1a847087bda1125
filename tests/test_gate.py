"""The degree gate: new, gone, improved items and the AIR's maximum; the baseline's AIR; text, JSON, github.

Every degree below is derived by hand from the polynomial written in the test (a product of k distinct
cells has degree k), not from the analyzer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def user_air(tmp_path: Path, constraints: dict[str, str], name: str = "mine", fname: str = "mine.py") -> str:
    """A user's AIR file: columns a, b, c, budget 5, one transition constraint per (name, expression)."""
    src = tmp_path / fname
    body = "".join(f"    air.transition({k!r}, {v})\n" for k, v in constraints.items())
    src.write_text(
        "from air.air import Air\n"
        "def make_air():\n"
        f"    air = Air({name!r}, 'a user AIR', budget=5)\n"
        "    a, b, c = air.columns('main', ['a', 'b', 'c'])\n" + body + "    return air\n"
    )
    return f"{src}:make_air"


BASE = {"ab": "a.next - a*b", "cc": "c.next - c"}  # degrees 2 and 1; maximum 2


@pytest.fixture()
def baseline(air_cli, tmp_path: Path) -> Path:
    path = tmp_path / "base.json"
    code, out, _ = air_cli("gate", "--air", user_air(tmp_path, BASE), "--baseline", str(path), "--update")
    assert code == 0 and path.is_file()
    doc = json.loads(path.read_text())
    assert doc["air"] == "mine" and doc["constraints"] == {"ab": 2, "cc": 1}
    return path


def test_unchanged_air_passes(air_cli, tmp_path, baseline) -> None:
    code, out, _ = air_cli("gate", "--air", user_air(tmp_path, BASE), "--baseline", str(baseline))
    assert code == 0 and "max degree 2 (baseline 2)" in out and "no regression" in out


def test_renaming_a_constraint_while_raising_its_degree_fails(air_cli, tmp_path, baseline) -> None:
    # "ab" renamed to "ab2" and raised to a*b*c (degree 3): the maximum rises 2 -> 3
    spec = user_air(tmp_path, {"ab2": "a.next - a*b*c", "cc": "c.next - c"})
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline))
    assert code == 1, out
    assert "constraint ab2: new, degree 3" in out
    assert "constraint ab: gone from the AIR (baseline degree 2)" in out
    assert "maximum degree rose 2 -> 3" in out


def test_rename_and_raise_below_the_maximum_still_fails(air_cli, tmp_path, baseline) -> None:
    # "cc" (degree 1) renamed and raised to degree 2: the maximum stays 2, the new item is still named
    spec = user_air(tmp_path, {"ab": "a.next - a*b", "cc_v2": "c.next - c*a"})
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline))
    assert code == 1 and "constraint cc_v2: new, degree 2" in out and "maximum degree" not in out


def test_improved_items_pass_with_a_warning(air_cli, tmp_path, baseline) -> None:
    spec = user_air(tmp_path, {"ab": "a.next - a", "cc": "c.next - c"})  # ab: 2 -> 1
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline))
    assert code == 0, out
    assert "warning: constraint ab: improved, degree 2 -> 1; run `air gate --update` to accept" in out
    assert "maximum degree fell 2 -> 1" in out


def test_a_raised_degree_fails(air_cli, tmp_path, baseline) -> None:
    spec = user_air(tmp_path, {"ab": "a.next - a*b", "cc": "c.next - c*a*b"})  # cc: 1 -> 3
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline))
    assert code == 1 and "constraint cc: degree rose 1 -> 3 (+2)" in out and "maximum degree rose 2 -> 3" in out


def test_baseline_of_another_air_is_refused(air_cli, tmp_path, baseline) -> None:
    spec = user_air(tmp_path, BASE, name="other")
    code, out, err = air_cli("gate", "--air", spec, "--baseline", str(baseline))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "the baseline is for AIR 'mine', not 'other'" in err and "--allow-other-air" in err
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline), "--allow-other-air")
    assert code == 0 and "the baseline is for AIR 'mine'" in out


def test_malformed_baseline_is_bad_input(air_cli, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"air": "mine", "budget": 5, "constraints": {"ab": "2"}}))
    code, _, err = air_cli("gate", "--air", user_air(tmp_path, BASE), "--baseline", str(bad))
    assert code == 2 and "constraints['ab'] = '2' is not an integer degree" in err and err.count("\n") == 1


def test_json_format(air_cli, tmp_path, baseline) -> None:
    spec = user_air(tmp_path, {"ab2": "a.next - a*b*c", "cc": "c.next - c"})
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["max_degree"] == {"air": 3, "baseline": 2} and doc["budget"] == {"air": 5, "baseline": 5}
    fails = {(f["reason"], f["name"], f["degree"]) for f in doc["failures"]}
    assert fails == {("new", "ab2", 3), ("max degree rose", "mine", 3)}
    assert [(w["reason"], w["name"], w["baseline"]) for w in doc["warnings"]] == [("gone", "ab", 2)]


def test_github_format_annotations_and_step_summary(air_cli, tmp_path, baseline, monkeypatch) -> None:
    spec = user_air(tmp_path, {"ab": "a.next - a*b", "cc": "c.next - c*a*b"})  # cc rose 1 -> 3
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline), "--format", "github")
    assert code == 1
    lines = out.splitlines()
    # the annotation points at the baseline line recording "cc"
    cc_line = next(i for i, t in enumerate(baseline.read_text().splitlines(), 1) if t.strip().startswith('"cc"'))
    err = next(ln for ln in lines if ln.startswith("::error ") and "cc" in ln)
    assert f"line={cc_line}," in err and "title=degree gate (mine)%3A rose::" in err
    assert err.endswith("::constraint cc: degree rose 1 -> 3 (+2)")
    assert str(baseline).replace(":", "%3A") in err
    assert any(ln.startswith("::error ") and "maximum degree rose 2 -> 3" in ln for ln in lines)
    assert "### Degree gate FAILED: `mine`" in out  # no $GITHUB_STEP_SUMMARY: the summary goes to stdout
    assert "| error | rose | constraint `cc` | 1 | 3 |" in out
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline), "--format", "github")
    assert code == 1 and "### Degree gate" not in out and "::error " in out
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "| max degree | 3 | 2 |" in text  # appended


def test_github_warning_for_improvement(air_cli, tmp_path, baseline, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    spec = user_air(tmp_path, {"ab": "a.next - a", "cc": "c.next - c"})
    code, out, _ = air_cli("gate", "--air", spec, "--baseline", str(baseline), "--format", "github")
    assert code == 0 and "::error" not in out
    assert any(ln.startswith("::warning ") and "improved, degree 2 -> 1" in ln for ln in out.splitlines())


def test_workflow_file_runs_ci_then_the_gate() -> None:
    wf = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "air.yml"
    text = wf.read_text()
    assert ".ci/run" in text and "air gate" in text and "--format github" in text
    readme = (wf.parent.parent.parent / "README.md").read_text()
    assert text.strip() in readme  # the README shows the workflow file as committed
