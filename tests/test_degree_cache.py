"""The degree cache (air/cache.py): warm output byte-identical to cold, keyed by the definition's content,
corrupt/foreign/unwritable caches harmless, ``--no-cache``, and a warm start without sympy or numpy.

Every test runs with its own ``$AIR_CACHE_DIR`` (the autouse fixture in conftest.py). The reference outputs
come from ``degree_table(analyze(load_air(...)))`` computed in this process without the cache, or from a run
with ``--no-cache``; a warm run is proven to be a hit by making ``load_air`` raise while it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import air.registry
from air.analysis import analyze
from air.cache import cache_dir, cache_key
from air.registry import load_air
from air.report import compare, degree_table

# A user's AIR: POWER and BUDGET are filled in per test. It imports a helper module of its own (found next to
# it), has a claimed degree that differs (POWER + 1 vs 2), a constraint whose exact degree is past the work
# limit (the structural bound and a note are reported), an operation and a multiset bus.
USER_AIR = """
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import dc_helper  # noqa: E402  (a module of the user's: the cache keys by its content too)

from air.air import Air, Bus, BusTerm, Message  # noqa: E402


def make_air():
    air = Air("mine", "a user AIR", budget=BUDGET)
    s, a, b, c, x, y, z = air.columns("main", ["s", "a", "b", "c", "x", "y", "z"])
    inc = air.operation("INC", s, opcode=1)
    air.constrain("inc", body=a.next - a - b**POWER, operation=inc, claimed_degree=2)
    air.transition("s_binary", s * s - s)
    air.transition("wide", (x + y + z + 1) ** 60 - (x + y + z + 2) ** 60)
    air.transition("helper", dc_helper.poly(x))
    air.boundary("b_first", b - 1)
    m = Message("val", 1, (("c", c),))
    air.bus(Bus("vals", "multiset", "p", (
        BusTerm("req", "request", s, (m, m), operation="INC"),
        BusTerm("resp", "response", 1 - s, (m,)),
    )))
    return air
"""
HELPER = "def poly(x):\n    return x**{}\n"


def _user_air(tmp_path: Path, power: int = 2, budget: int | None = 9, helper_power: int = 3) -> str:
    (tmp_path / "dc_helper.py").write_text(HELPER.format(helper_power))
    f = tmp_path / "mine.py"
    f.write_text(USER_AIR.replace("POWER", str(power)).replace("BUDGET", str(budget)))
    return f"{f}:make_air"


def _entries() -> list[Path]:
    return sorted(cache_dir().glob("analysis-*.json"))


@pytest.fixture()
def no_load(monkeypatch):
    """While active, loading an AIR raises: a command that still succeeds read the cache."""

    def arm() -> None:
        def refuse(spec: str):
            raise AssertionError(f"load_air({spec!r}) on what should be a cache hit")

        monkeypatch.setattr(air.registry, "load_air", refuse)

    return arm


def test_warm_output_is_byte_identical_for_every_view_and_format(air_cli, no_load, miden_analyses) -> None:
    name = "miden-v0.18"
    ref = miden_analyses[name]  # the cold analysis, computed in this session without the cache
    code, out, err = air_cli("degrees", "--air", name, "--by", "op")  # cold: computes and stores
    assert (code, err) == (0, "") and out == degree_table(ref, by="op") + "\n"
    assert len(_entries()) == 1
    no_load()
    for by in ("constraint", "op", "bus"):
        for fmt in ("table", "json", "markdown"):
            code, out, err = air_cli("degrees", "--air", name, "--by", by, "--format", fmt)
            assert (code, err) == (0, ""), (by, fmt, err)
            assert out == degree_table(ref, by=by, fmt=fmt) + "\n", (by, fmt)


def test_user_air_notes_claims_bus_and_no_budget_survive_the_cache(tmp_path, air_cli, no_load) -> None:
    spec = _user_air(tmp_path, budget=9)
    air_cli("degrees", "--air", spec)  # cold, budget 9
    spec = _user_air(tmp_path, budget=None)  # the same file, now with no budget: another key
    ref = analyze(load_air(spec))
    assert ref.inexact and ref.claim_differences() and ref.buses and ref.budget is None  # what this test is about
    air_cli("degrees", "--air", spec)  # cold, no budget
    assert len(_entries()) == 2  # one per content
    no_load()
    for by in ("constraint", "op", "bus"):
        for fmt in ("table", "json", "markdown"):
            code, out, _ = air_cli("degrees", "--air", spec, "--by", by, "--format", fmt)
            assert code == 0 and out == degree_table(ref, by=by, fmt=fmt) + "\n", (by, fmt)


def test_changing_the_file_changes_the_key_and_the_degrees(tmp_path, air_cli) -> None:
    spec = _user_air(tmp_path, power=2)
    key2 = cache_key(spec)
    code, out, _ = air_cli("degrees", "--air", spec, "--format", "json")
    inc = {c["name"]: c["degree"] for c in json.loads(out)["constraints"]}["inc"]
    assert code == 0 and inc == 1 + 2  # flag s (1) times the body a' - a - b^2 (2)
    # the constraint changed (and the file's size: Python's own .pyc check is mtime + size, to the second, and
    # would run stale bytecode of a same-size edit within a second, whatever the degree cache does)
    _user_air(tmp_path, power=12)
    assert cache_key(spec) not in (None, key2)
    code, out, _ = air_cli("degrees", "--air", spec, "--format", "json")
    inc = {c["name"]: c["degree"] for c in json.loads(out)["constraints"]}["inc"]
    assert code == 0 and inc == 1 + 12


def test_a_changed_helper_module_is_a_miss(tmp_path, air_proc) -> None:
    # in a child process each run: the helper is imported afresh (in this process it would stay in sys.modules)
    spec = _user_air(tmp_path, helper_power=3)
    degrees = []
    for helper_power in (3, 3, 4):
        (tmp_path / "dc_helper.py").write_text(HELPER.format(helper_power))
        r = air_proc("degrees", "--air", spec, "--format", "json")
        assert r.returncode == 0, r.stderr
        degrees.append({c["name"]: c["degree"] for c in json.loads(r.stdout)["constraints"]}["helper"])
    assert degrees == [3, 3, 4]  # x^3, the same from the cache, then x^4 once dc_helper.py changed
    (entry,) = _entries()  # the key is mine.py's; a changed helper made the lookup miss and the run rewrite it
    deps = [Path(p).name for p, _ in json.loads(entry.read_text())["deps"]]
    assert "dc_helper.py" in deps and "mine.py" in deps


@pytest.mark.parametrize(
    "content",
    [
        "not json {",
        "",
        "[]",
        json.dumps({"format": 1, "key": "someone else's", "deps": [], "analysis": {}}),
        "WRONG_TYPES",  # this AIR's own key, but a degree that is a string: type-checked, refused
        "DEV_ZERO",  # this AIR's own key, a "dependency" that is a device: never read (it would never end)
    ],
)
def test_a_corrupt_or_foreign_cache_file_is_ignored_and_replaced(air_cli, content) -> None:
    ref = degree_table(analyze(load_air("fibonacci")), by="constraint")
    assert air_cli("degrees", "--air", "fibonacci")[1] == ref + "\n"
    (entry,) = _entries()
    good = json.loads(entry.read_text())
    if content == "WRONG_TYPES":
        bad = json.loads(entry.read_text())
        bad["analysis"]["constraints"][0][2] = "2"
        content = json.dumps(bad)
    if content == "DEV_ZERO":
        content = json.dumps({**good, "deps": [["/dev/zero", "0" * 64]]})
    entry.write_text(content)
    code, out, err = air_cli("degrees", "--air", "fibonacci")
    assert (code, out, err) == (0, ref + "\n", "")
    assert json.loads(entry.read_text()) == good  # rewritten by the run that ignored it


def test_no_writable_cache_dir_still_works(tmp_path, air_cli, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("AIR_CACHE_DIR", str(blocker / "cache"))  # below a regular file: mkdir fails (even as root)
    ref = degree_table(analyze(load_air("fibonacci")), by="op")
    for _ in range(2):
        assert air_cli("degrees", "--air", "fibonacci", "--by", "op") == (0, ref + "\n", "")
    assert blocker.read_text() == "not a directory"


def test_no_cache_option_and_env_neither_read_nor_write(air_cli, monkeypatch) -> None:
    ref = degree_table(analyze(load_air("fibonacci")), by="constraint", fmt="json")
    assert air_cli("degrees", "--air", "fibonacci", "--format", "json", "--no-cache")[1] == ref + "\n"
    assert _entries() == []
    monkeypatch.setenv("AIR_NO_CACHE", "1")
    assert air_cli("degrees", "--air", "fibonacci", "--format", "json")[1] == ref + "\n"
    assert _entries() == []
    monkeypatch.delenv("AIR_NO_CACHE")
    air_cli("degrees", "--air", "fibonacci", "--format", "json")
    (entry,) = _entries()
    # a planted entry with a false degree: read by a plain run (it is this AIR's key), never with --no-cache
    doc = json.loads(entry.read_text())
    doc["analysis"]["constraints"][0][2] = 7
    entry.write_text(json.dumps(doc))
    assert json.loads(air_cli("degrees", "--air", "fibonacci", "--format", "json")[1])["constraints"][0]["degree"] == 7
    assert air_cli("degrees", "--air", "fibonacci", "--format", "json", "--no-cache")[1] == ref + "\n"


def test_module_specs_are_not_cached(air_cli) -> None:
    code, _, _ = air_cli("degrees", "--air", "air.examples.fibonacci:fibonacci_air")
    assert code == 0 and _entries() == [] and cache_key("air.examples.fibonacci:fibonacci_air") is None


def test_compare_and_gate_read_the_cache(tmp_path, air_cli, no_load, miden_analyses) -> None:
    names = ["miden-v0.18", "miden-v0.19"]
    refs = [miden_analyses[n] for n in names]
    baseline = tmp_path / "b.json"
    assert air_cli("gate", "--air", "miden-v0.19", "--baseline", str(baseline), "--update")[0] == 0
    cold_gate = air_cli("gate", "--air", "miden-v0.19", "--baseline", str(baseline), "--format", "json")
    assert air_cli("compare", *names)[0] == 0  # stores miden-v0.18 (miden-v0.19 is stored already)
    no_load()
    assert air_cli("compare", *names) == (0, compare(refs, labels=names) + "\n", "")
    assert air_cli("gate", "--air", "miden-v0.19", "--baseline", str(baseline), "--format", "json") == cold_gate
    assert cold_gate[0] == 0 and json.loads(cold_gate[1])["ok"] is True


_PROBE = """
import sys
from air.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sympy", "numpy"})
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


def _heavy_modules(*args: str) -> tuple[str, str]:
    r = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=300)
    return r.stdout, r.stderr.rsplit("HEAVY:", 1)[1].strip()


def test_warm_degrees_and_the_light_commands_import_neither_sympy_nor_numpy() -> None:
    # deterministic, not timed: which modules a run left in sys.modules
    cold, heavy = _heavy_modules("degrees", "--air", "stack-machine", "--by", "op")
    assert heavy == "numpy,sympy"  # the cold run computed the degrees (the probe sees imports)
    warm, heavy = _heavy_modules("degrees", "--air", "stack-machine", "--by", "op")
    assert warm == cold and heavy == ""
    for args in (["--version"], ["airs"], ["--help"], ["degrees", "--help"]):
        out, heavy = _heavy_modules(*args)
        assert out and heavy == "", args


def test_airscript_key_covers_every_air_file_of_the_root_directory(tmp_path) -> None:
    # an AirScript root may import its siblings: a change to any .air file beside it is a new key; other files not
    (tmp_path / "root.air").write_text("def root\n")
    (tmp_path / "lib.air").write_text("mod lib\n")
    (tmp_path / "notes.txt").write_text("x")
    k0 = cache_key(str(tmp_path / "root.air"))
    assert k0 is not None
    (tmp_path / "notes.txt").write_text("y")
    assert cache_key(str(tmp_path / "root.air")) == k0
    (tmp_path / "lib.air").write_text("mod lib  # changed\n")
    k1 = cache_key(str(tmp_path / "root.air"))
    assert k1 not in (None, k0)
    (tmp_path / "more.air").write_text("mod more\n")
    assert cache_key(str(tmp_path / "root.air")) not in (k0, k1)
    assert cache_key(str(tmp_path / "missing.air")) is None


def test_concurrent_writers_and_readers_see_whole_entries(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from air.cache import analysis_to_json, lookup, store

    a = analyze(load_air("stack-machine"))
    want = analysis_to_json(a)

    def write(_: int) -> bool:
        return store("stack-machine", a)

    def read(_: int) -> object:
        hit = lookup("stack-machine")
        return None if hit is None else analysis_to_json(hit)

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(write if i % 2 else read, i) for i in range(40)]
        results = [j.result() for j in jobs]
    assert all(r is True for r in results[1::2])
    assert all(r is None or r == want for r in results[0::2])  # a reader never sees half a file
    assert len(_entries()) == 1 and not list(cache_dir().glob(".analysis-*"))  # no temporary file left
    assert analysis_to_json(lookup("stack-machine")) == want


def test_entries_unused_for_a_month_are_pruned_when_one_is_written(air_cli) -> None:
    import time

    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    month = 31 * 86400
    old, recent, tmp, other = d / "analysis-old.json", d / "analysis-recent.json", d / ".analysis-x.tmp", d / "mine.txt"
    for f in (old, recent, tmp, other):
        f.write_text("{}")
    for f in (old, tmp, other):
        os.utime(f, (time.time() - month, time.time() - month))
    assert air_cli("degrees", "--air", "fibonacci")[0] == 0  # a miss: writes its entry, then prunes
    assert not old.exists() and not tmp.exists() and recent.exists() and other.exists()
    (entry,) = [e for e in _entries() if e != recent]
    os.utime(entry, (time.time() - month, time.time() - month))
    assert air_cli("degrees", "--air", "fibonacci")[0] == 0  # a hit marks the entry used
    assert time.time() - entry.stat().st_mtime < 3600


def test_an_airs_claim_attributes_survive_the_cache(air_cli) -> None:
    # declared_degrees / gate_claims: attributes an AIR may carry (an AirScript program's `# degree d` notes),
    # read by the reports and the gate with getattr: a hit must give them back as the AIR had them
    from air.cache import analysis_from_json, analysis_to_json

    a = analyze(load_air("fibonacci"))
    a.air.declared_degrees = {"fib_a": (2, "fib.air:3")}
    a.air.gate_claims = True
    back = analysis_from_json(json.loads(json.dumps(analysis_to_json(a)))).air
    assert (back.declared_degrees, back.gate_claims) == ({"fib_a": (2, "fib.air:3")}, True)
    plain = analysis_from_json(analysis_to_json(analyze(load_air("fibonacci")))).air
    assert (plain.declared_degrees, plain.gate_claims) == ({}, False)
