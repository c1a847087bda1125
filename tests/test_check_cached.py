"""`air check` from the cache (chunked.check_cached, cli._check_from_cache): once an AIR's plan and tapes are cached,
a check runs with no AIR built and no sympy imported, and must print exactly what the check with the AIR prints
(``--no-cache``, the reference), text and JSON, exit code included, on honest and failing traces alike. A failing
trace is explained with the AIR from the same result, without a second check.

A sample of the repository's traces runs by default; ``pytest -m slow`` runs every one of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import air.cli as cli_mod
import air.compile as C
from air.cache import cache_dir

ROOT = Path(__file__).resolve().parent.parent
TRACES = sorted(p for p in (ROOT / "traces").rglob("*.npz") if "airscript" not in p.parts)
SAMPLE = {
    "ordinary/miden-v0.19.npz",
    "ordinary/miden-v0.18.npz",
    "caller/miden-v0.19.npz",
    "hashing/miden-v0.19.npz",
    "u32_ops/miden-v0.19.npz",
    "gate_protected_write/miden-gate.npz",
    "call_from_syscall/miden-v0.18-permissive.npz",
    "call_from_syscall/miden-v0.19.npz",
}


def _params() -> list:
    out = []
    for p in TRACES:
        rel = str(p.relative_to(ROOT / "traces"))
        marks = () if rel in SAMPLE else (pytest.mark.slow,)
        out.append(pytest.param(p, id=rel, marks=marks))
    return out


def test_the_sample_names_traces_that_exist() -> None:
    assert {str(p.relative_to(ROOT / "traces")) for p in TRACES} >= SAMPLE


def _refuse(*a: object, **k: object) -> None:
    raise AssertionError("the AIR was built, or the trace checked again with it")


@pytest.mark.parametrize("path", _params())
def test_cached_check_prints_what_the_check_with_the_air_prints(kernels_everywhere, air_cli, monkeypatch, path) -> None:
    import air.chunked as chunked

    refs = {fmt: air_cli("check", str(path), "--format", fmt, "--no-cache") for fmt in ("table", "json")}
    assert refs["table"][0] in (0, 1), refs["table"]
    C._PROGRAMS.clear()
    assert air_cli("check", str(path)) == refs["table"]  # a miss: checked with the AIR, its plan and tapes stored
    assert sorted(q.name.split("-")[0] for q in cache_dir().iterdir() if not q.name.startswith(".")) == [
        "plan",
        "tapes",
    ]
    # from the cache: never a second check with the AIR; an OK never even builds the AIR
    monkeypatch.setattr(chunked, "check_chunked", _refuse)
    if refs["table"][0] == 0:
        monkeypatch.setattr(cli_mod, "_air_for_trace", _refuse)
    for fmt in ("table", "json"):
        assert air_cli("check", str(path), "--format", fmt) == refs[fmt], fmt


def test_a_cached_ok_imports_no_sympy() -> None:
    """In fresh processes (the kernels on for a short trace): the first check stores the plan, the second runs from
    it without importing sympy, and both print the same."""
    code = (
        "import sys, air.kernels as K\n"
        "K.MIN_SIZE = K.SMALL_SIZE = 1\n"
        "from air.cli import main\n"
        "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('SYMPY' if 'sympy' in sys.modules else 'NO-SYMPY', code, file=sys.stderr)\n"
    )
    path = str(ROOT / "traces" / "ordinary" / "miden-v0.19.npz")
    runs = [subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True) for _ in range(2)]
    assert runs[0].stderr.strip().endswith(" 0") and runs[0].stderr.strip().startswith("SYMPY"), runs[0].stderr
    assert runs[1].stderr.strip() == "NO-SYMPY 0", runs[1].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.startswith("OK:")


def _plan_doc() -> Path:
    (doc,) = [q for q in cache_dir().iterdir() if q.name.startswith("plan-")]
    return doc


@pytest.mark.parametrize(
    "spoil",
    [
        "truncated",
        "not json",
        "a list",
        "another key",
        "a periodic value over p",
        "a bus end of the wrong type",
        "a program name that is not one",
        "inputs that are not names",
    ],
)
def test_a_bad_plan_document_is_ignored(kernels_everywhere, air_cli, spoil) -> None:
    """A plan document that is corrupt, foreign or ill-typed is not used: the check runs with the AIR and prints
    the same report (and writes a good document again)."""
    import json

    path = str(ROOT / "traces" / "ordinary" / "miden-v0.19.npz")
    C._PROGRAMS.clear()
    ref = air_cli("check", path)
    assert ref[0] == 0
    f = _plan_doc()
    doc = json.loads(f.read_text())
    if spoil == "truncated":
        text = f.read_text()[:100]
    elif spoil == "not json":
        text = "\x00\x01 nope"
    elif spoil == "a list":
        text = "[1, 2, 3]"
    else:
        if spoil == "another key":
            doc["key"] = "someone else's"
        elif spoil == "a periodic value over p":
            doc["facts"]["periodic"] = {"k0": [2**64]}
        elif spoil == "a bus end of the wrong type":
            doc["facts"]["buses"][0]["final"] = ["int", "1"]
        elif spoil == "a program name that is not one":
            doc["programs"]["[{}]"] = {"inputs": [], "outputs": 1}
        else:
            first = next(iter(doc["programs"]))
            doc["programs"][first]["inputs"] = [1, 2]
        text = json.dumps(doc)
    f.write_text(text)
    assert air_cli("check", path) == ref
    assert json.loads(_plan_doc().read_text())["format"] == doc["format"]  # written again, well formed


@pytest.mark.parametrize("trace", ["ordinary/miden-v0.19.npz", "gate_protected_write/miden-gate.npz"])
def test_only_from_the_cache_says_what_it_kept(kernels_everywhere, air_cli, monkeypatch, trace) -> None:
    """``--only``: once a check with the AIR stored what the selection kept, the check from the cache prints the
    same partial-check line and JSON (an OK without the AIR, a failure explained with the selected AIR)."""
    import air.chunked as chunked

    path = str(ROOT / "traces" / trace)
    only = ("--only", "system,stack,decoder.op_bits")
    refs = {fmt: air_cli("check", path, *only, "--format", fmt, "--no-cache") for fmt in ("table", "json")}
    assert "checked only families" in refs["table"][1]
    C._PROGRAMS.clear()
    assert air_cli("check", path, *only) == refs["table"]  # stores the plan and the selection
    assert any(q.name.startswith("selection-") for q in cache_dir().iterdir())
    monkeypatch.setattr(chunked, "check_chunked", _refuse)
    if refs["table"][0] == 0:
        monkeypatch.setattr(cli_mod, "_air_for_trace", _refuse)
    for fmt in ("table", "json"):
        assert air_cli("check", path, *only, "--format", fmt) == refs[fmt], fmt


def test_a_corpus_from_the_cache_needs_no_air(kernels_everywhere, air_cli, monkeypatch) -> None:
    """``air check T1 T2 ...``: once cached, every trace's summary line (ok or FAIL with its counts) comes from the
    cached check's result, with no AIR built, and the corpus prints what it prints with the AIR."""
    import air.chunked as chunked

    paths = [str(ROOT / "traces" / rel) for rel in sorted(SAMPLE)]
    refs = {fmt: air_cli("check", *paths, "--jobs", "1", "--format", fmt, "--no-cache") for fmt in ("table", "json")}
    assert refs["table"][0] == 1 and " ok (" in refs["table"][1] and ": FAIL (" in refs["table"][1]
    C._PROGRAMS.clear()
    assert air_cli("check", *paths, "--jobs", "1") == refs["table"]  # misses: checked with the AIR, plans stored
    monkeypatch.setattr(chunked, "check_chunked", _refuse)
    monkeypatch.setattr(cli_mod, "_air_for_trace", _refuse)
    for fmt in ("table", "json"):
        assert air_cli("check", *paths, "--jobs", "1", "--format", fmt) == refs[fmt], fmt
