"""The tape cache (air/tape_cache.py, compile.Tape.state/restored, chunked._plan): a check whose tapes come from
the cache must give the single pass's report, a stored tape must compute what the polynomials say, and an entry
that is corrupt, foreign, stale or out of range must be ignored, never run.

References: the single-pass functions (evaluate.check, buscheck.check_buses), independent of air.chunked, and
Python ints (``eval_int``). Each test has its own ``$AIR_CACHE_DIR`` (conftest.py).
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import sympy as sp

import air.compile as C
from air import tape_cache
from air.cache import cache_dir, definition_key
from air.chunked import check_chunked
from air.compile import Program, Tape, eval_int
from air.diagnose import diagnose, to_json
from tests.test_chunked import HONEST, _faulty, _same, _single

KEY = "test-air\0"


def _report(a, t, **kw) -> dict:
    c = check_chunked(a, t, seed=7, chunk_rows=64, **kw)
    return to_json(diagnose(a, t, c.result, max_failures=10_000), c.buses)


def _entries() -> list:
    return sorted(cache_dir().glob("tapes-*.npz"))


@pytest.fixture(scope="module")
def faulty() -> tuple:
    a, t = _faulty()
    return a, t, _single(a, t)


def _no_lowering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any tape lowered from sympy from now on fails the test: the plan must restore them all."""

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("a tape was lowered although the cache holds it")

    monkeypatch.setattr(Tape, "__init__", refuse)
    C._PROGRAMS.clear()  # the programs of earlier checks keep their tapes in memory: start as a new process


def test_stored_then_restored_with_the_single_pass_report(kernels_everywhere, faulty, monkeypatch) -> None:
    a, t, ref = faulty
    C._PROGRAMS.clear()
    _same(_report(a, t, tape_key=KEY), ref)  # a miss: lowered, then stored
    assert len(_entries()) == 1
    _no_lowering(monkeypatch)
    _same(_report(a, t, tape_key=KEY), ref)  # a hit: every tape restored, the same failures and bus totals
    _same(_report(a, t, tape_key=KEY, jobs=2), ref)


def test_no_key_no_entry(kernels_everywhere, faulty) -> None:
    a, t, ref = faulty
    _same(_report(a, t), ref)
    assert _entries() == []


def _corrupt_variants(path) -> dict[str, bytes]:
    """Ways an entry can be bad: truncated, foreign (another key), a pickled array, an op out of range."""
    raw = path.read_bytes()
    out = {"truncated": raw[: len(raw) // 2], "not a zip": b"not an npz"}
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    doc = json.loads(bytes(arrays["meta"]).decode())

    def with_(arrs: dict, meta: dict) -> bytes:
        import io

        buf = io.BytesIO()
        np.savez(buf, **{**arrs, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)})
        return buf.getvalue()

    out["foreign key"] = with_(arrays, dict(doc, key="0" * 64))
    pickled = dict(arrays)
    pickled["a_ops"] = np.array([object()], dtype=object)
    import io

    buf = io.BytesIO()
    np.savez(buf, **pickled)  # savez pickles the object array: np.load(allow_pickle=False) must refuse it
    out["pickled array"] = buf.getvalue()
    for name, bad in (("register out of range", (1, 10**6)), ("slot out of range", (2, 10**6)), ("bad code", (0, 9))):
        arrs = dict(arrays)
        ops = arrs["a_ops"].copy()
        col, value = bad
        row = int(np.flatnonzero(ops[:, 0] == 0)[0]) if col == 2 else 0
        ops[row, col] = value
        arrs["a_ops"] = ops
        out[name] = with_(arrs, doc)
    slots = dict(doc)
    first = next(iter(slots["tapes"]))
    slots["tapes"] = dict(slots["tapes"])
    slots["tapes"][first] = dict(slots["tapes"][first], slots=[*slots["tapes"][first]["slots"], 2**64])
    out["slot not a field element"] = with_(arrays, slots)
    regs = dict(doc, tapes=dict(doc["tapes"]))
    regs["tapes"][first] = dict(regs["tapes"][first], n_regs=10**12)  # registers are allocated from it
    out["register count"] = with_(arrays, regs)
    over = dict(doc, tapes=dict(doc["tapes"]))
    over["tapes"][first] = dict(over["tapes"][first], rows=dict(over["tapes"][first]["rows"], ops=10**9))
    out["rows past the array"] = with_(arrays, over)
    return out


def test_bad_entries_are_ignored_and_replaced(kernels_everywhere, faulty, monkeypatch) -> None:
    a, t, ref = faulty
    C._PROGRAMS.clear()
    _report(a, t, tape_key=KEY)
    (path,) = _entries()
    good = path.read_bytes()
    for what, content in _corrupt_variants(path).items():
        path.write_bytes(content)
        C._PROGRAMS.clear()
        _same(_report(a, t, tape_key=KEY), ref)  # lowered afresh: the same report
        assert path.read_bytes() != content, what  # and a good entry written in its place
        with np.load(path, allow_pickle=False) as z:
            assert json.loads(bytes(z["meta"]).decode())["format"] == tape_cache.FORMAT
    path.write_bytes(good)


def test_load_refuses_what_is_not_an_entry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIR_CACHE_DIR", str(tmp_path))
    key = "k" * 64
    assert tape_cache.load(key) is None  # no file
    tape_cache.entry_path(key).write_bytes(b"PK\x03\x04garbage")
    assert tape_cache.load(key) is None
    with zipfile.ZipFile(tape_cache.entry_path(key), "w") as z:
        z.writestr("meta.npy", b"\x93NUMPY garbage")
    assert tape_cache.load(key) is None


x, y, z = sp.symbols("x y z")
EXPRS = [x * y, (1 - x) * (1 - y) + x * y * z, z**3 - x * z + 7, x * y * z + 1, sp.Integer(0) * x]


def test_restored_tape_computes_the_polynomials(kernels_everywhere, tmp_path, monkeypatch) -> None:
    """A tape through the cache (tabulated over the 0/1 cells x and y) against Python ints, on rows where the
    cells are 0/1 and on a block where one is not."""
    monkeypatch.setenv("AIR_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(3)
    n = 3000
    cols = {
        "x": (rng.random(n) < 0.5).astype(np.uint64),
        "y": (rng.random(n) < 0.5).astype(np.uint64),
        "z": rng.integers(0, 2**64 - 2**32 + 1, n, dtype=np.uint64),
    }
    cols["x"][2100] = 5  # a block whose "0/1" cell is not: the polynomials as written
    prog = Program(EXPRS)
    prog.inputs = {"x", "y", "z"}
    assert prog.tabulate(["x", "y"])
    assert tape_cache.store("k1", {"p": prog.tape().state()})
    (meta, arrays) = tape_cache.load("k1")["p"]
    assert "tables" in arrays  # the tables travel with the tape
    fresh = Program(EXPRS)
    fresh.inputs = {"x", "y", "z"}
    fresh.__dict__["_tape"] = Tape.restored(meta, arrays)
    got = fresh.run_sparse(cols, n)
    for k, (rows, vals) in enumerate(got):
        found = dict(zip(rows.tolist(), vals.tolist()))
        for r in (0, 1, 1023, 1024, 2100, 2999):
            env = {c: int(v[r]) for c, v in cols.items()}
            assert found.get(r, 0) == eval_int(sp.sympify(EXPRS[k]), env), (k, r)


def test_definition_key_covers_builtins_not_python_files(tmp_path) -> None:
    assert definition_key("miden-v0.19") is not None
    assert definition_key("miden-v0.19") != definition_key("miden-v0.18")
    f = tmp_path / "mine.py"
    f.write_text("AIR = None\n")
    assert definition_key(f"{f}:AIR") is None  # a helper module it imports would not be in the key


def test_cli_writes_and_reuses_entries_and_no_cache_writes_none(kernels_everywhere, air_cli, monkeypatch) -> None:
    C._PROGRAMS.clear()
    code, out, _ = air_cli("check", str(HONEST), "--no-cache")
    assert code == 0 and _entries() == []
    monkeypatch.setenv("AIR_NO_CACHE", "1")
    assert air_cli("check", str(HONEST))[0] == 0 and _entries() == []
    monkeypatch.delenv("AIR_NO_CACHE")
    code, first, _ = air_cli("check", str(HONEST))
    assert code == 0 and len(_entries()) == 1
    assert air_cli("check", str(HONEST), "--only", "stack")[0] == 0
    assert len(_entries()) == 2  # another family selection, another program: another entry
    _no_lowering(monkeypatch)
    code, again, _ = air_cli("check", str(HONEST))
    assert code == 0 and again == first == out
