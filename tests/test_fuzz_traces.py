"""Fuzzing the trace loader through the ``air check`` command: malformed NPZ (random member bytes,
mutated headers, lying zip directories, truncation), metadata of random JSON types in every format,
and CSV text with odd characters. Every input gives exit 0/1 only when it is valid (checked against
an independent oracle: numpy's own reader, or a reference CSV/metadata parser), otherwise exit 2 with
exactly one line on stderr; never a traceback. A few cases run in a child process under a memory
limit and a timeout, to show that loading stays bounded. ``AIR_FUZZ_EXAMPLES=1000`` runs deeper."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from air.cli import main
from air.examples.fibonacci import fibonacci_trace
from air.trace import TraceError, load_trace, save_trace
from tests.npzkit import air_subprocess, fib_members, npy, npy_header, raw_zip, write_precompressed

P = 2**64 - 2**32 + 1
FUZZ = settings(
    max_examples=int(os.environ.get("AIR_FUZZ_EXAMPLES", "50")),  # raise it for a deeper run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLS, PIS = fibonacci_trace(4)


def run_check(path: Path, *extra: str) -> tuple[int, str]:
    """``air check PATH --air fibonacci`` in this process, through ``main``: (exit code, stderr). An
    exception escaping ``main`` (a traceback for the user) fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["check", str(path), "--air", "fibonacci", "--any-length", *extra])
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    return code, err.getvalue()


def assert_outcome(path: Path, valid: bool | None) -> int:
    """Exit 2 with one line naming the file for bad input; 0/1 (no stderr) only when ``valid`` is not
    False; ``valid=None`` when only the loader itself decides (the caller checks with an oracle)."""
    code, err = run_check(path)
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:  # a TraceError names the file; main's fallback for a stray OSError/ValueError/KeyError does not
        assert err.startswith(f"air: error: {path}") and err.count("\n") == 1, err
    else:
        assert err == "", err
        assert valid is not False, f"accepted an invalid trace: {path}"
    return code


# --- NPZ -------------------------------------------------------------------------------------------

MEMBER_NAMES = st.sampled_from(["a.npy", "b.npy", "a", "__air_meta__.npy", "__air_columns__.npy", "x/", "c.npy"])


@st.composite
def npy_member(draw) -> bytes:
    """NPY bytes: an honest column, a header with one random part, random bytes, or a mutated one."""
    kind = draw(st.sampled_from(["good", "header", "random", "mutated"]))
    good = npy(np.array(draw(st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=6)), dtype=np.uint64))
    if kind == "good":
        return good
    if kind == "header":
        descr = draw(st.sampled_from(["<u8", "<i4", "|u1", "|b1", "<f8", "|O", "<U4", ">u8", "<c8", "u8", 7]))
        shape = draw(st.sampled_from([(4,), (0,), (2, 2), (10**15,), (-1,), [4], (), (2**62,), "4"]))
        fortran = draw(st.sampled_from([False, True, 0, None]))
        return npy_header(descr, shape, fortran) + draw(st.binary(max_size=40))
    if kind == "random":
        return draw(st.binary(max_size=200))
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


def numpy_agrees(path: Path) -> bool:
    """The oracle for an accepted NPZ: numpy's own reader gives the same values for every column."""
    t = load_trace(path, require_pow2=False)
    with np.load(path, allow_pickle=False) as z:
        return all(np.array_equal(z[k].astype(np.uint64), v) for k, v in t.columns.items())


@FUZZ
@given(
    members=st.lists(st.tuples(MEMBER_NAMES, npy_member()), min_size=0, max_size=4),
    deflate=st.booleans(),
    lie=st.sampled_from([None, "file_size", "compress_size", "crc"]),
    lie_value=st.integers(0, 2**32 - 1),
)
def test_fuzz_npz_members(tmp_path, members, deflate, lie, lie_value) -> None:
    p = tmp_path / "f.npz"
    lies = {members[0][0]: {lie: lie_value}} if lie and members else None
    raw_zip(p, members, deflate=deflate, lie=lies)
    try:
        load_trace(p, require_pow2=False)
    except TraceError as e:
        assert str(p) in str(e) and "\n" not in str(e)
    else:
        assert numpy_agrees(p)
    assert_outcome(p, None)


@FUZZ
@given(data=st.data())
def test_fuzz_npz_byte_mutations_and_truncation(tmp_path, data) -> None:
    """An honest archive with bytes flipped, inserted or cut: either refused, or read exactly as written."""
    p = save_trace(tmp_path / "f.npz", COLS, PIS, {"air": "fibonacci"})
    raw = bytearray(p.read_bytes())
    op = data.draw(st.sampled_from(["flip", "insert", "truncate"]))
    if op == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(0, len(raw) - 1))
            if op == "flip":
                raw[i] ^= data.draw(st.integers(1, 255))
            else:
                raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    p.write_bytes(bytes(raw))
    code = assert_outcome(p, False if op == "truncate" else None)
    if code != 2:
        t = load_trace(p)
        assert all(np.array_equal(t.columns[k], v) for k, v in COLS.items()) and t.public_inputs == PIS


# --- metadata of random JSON types, in every format ------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
    max_leaves=8,
)
PI_VALUE = st.one_of(
    JSON,
    st.integers(-2, P + 2),
    st.sampled_from(["0", "12", "0x1F", "0X10", "1.5", " 1", "1_0", "\u0663", "-1", "", str(P), str(P - 1), "0x"]),
)
META_DOC = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "format": st.one_of(st.just("air-trace/1"), JSON),
            "public_inputs": st.one_of(st.dictionaries(st.sampled_from(["result", "x"]), PI_VALUE, max_size=2), JSON),
            "meta": st.one_of(st.fixed_dictionaries({}, optional={"air": st.one_of(st.just("fibonacci"), JSON)}), JSON),
            "extra": JSON,
        },
    ),
)
_PI_TEXT = re.compile(r"(?:0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})\Z")


def _scalar_ok(v: object) -> bool:
    if type(v) is int:
        return 0 <= v < P
    if isinstance(v, str) and _PI_TEXT.match(v):
        return int(v, 16 if v[1:2] in ("x", "X") else 10) < P
    return False


def meta_valid(doc: object) -> bool:
    """The reference for a metadata document (traces/FORMAT.md), written independently of the loader."""
    if not isinstance(doc, dict) or set(doc) - {"format", "public_inputs", "meta"}:
        return False
    if "format" in doc and doc["format"] != "air-trace/1":
        return False
    pis = doc.get("public_inputs", {})
    if not isinstance(pis, dict):
        return False
    for v in pis.values():
        if isinstance(v, list):  # a public table: rows of scalars, all of one width (none at all is a table too)
            ok = all(isinstance(r, list) and r and len(r) == len(v[0]) and all(map(_scalar_ok, r)) for r in v)
        else:
            ok = _scalar_ok(v)
        if not ok:
            return False
    meta = doc.get("meta", {})
    return isinstance(meta, dict) and ("air" not in meta or (isinstance(meta["air"], str) and meta["air"] != ""))


def with_meta(tmp_path: Path, suffix: str, text: str) -> Path:
    p = save_trace(tmp_path / f"m{suffix}", COLS)
    if suffix == ".npz":
        raw_zip(p, fib_members() + [("__air_meta__.npy", npy(np.frombuffer(text.encode(), dtype=np.uint8)))])
    elif suffix == ".csv":
        Path(str(p) + ".meta.json").write_text(text)
    else:
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(p).replace_schema_metadata({"air": text}), p)
    return p


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
@FUZZ
@given(doc=META_DOC)
def test_fuzz_metadata_types(tmp_path, suffix, doc) -> None:
    p = with_meta(tmp_path, suffix, json.dumps(doc))
    valid = meta_valid(doc)
    try:
        t = load_trace(p)
        accepted = True
    except TraceError as e:
        accepted = False
        assert str(p) in str(e) and "\n" not in str(e)
    assert accepted == valid, doc
    if accepted:
        want = {k: int(v, 0) if isinstance(v, str) and v[1:2] in ("x", "X") else int(v)
                for k, v in doc.get("public_inputs", {}).items() if not isinstance(v, list)}  # fmt: skip
        assert t.public_inputs == want
        assert set(t.public_tables) == {k for k, v in doc.get("public_inputs", {}).items() if isinstance(v, list)}
    code = assert_outcome(p, None)
    if code != 2:  # fibonacci needs the public input 'result': accepted only with it, and checked
        assert accepted and "result" in t.public_inputs


# --- CSV -------------------------------------------------------------------------------------------

ODD = ["0", "1", "7", "9", ",", "\n", "\r", " ", "\t", '"', "\f", "\v", "\x00", "x", "a", "F", "\u0663", "\uff13"]
ODD += ["_", "-", "+", ".", "e", "\ufeff", "\u2028", "\x85", "\xa0", "0x", "18446744069414584321"]
ODD += ["99999999999999999999"]
_CELL = re.compile(r"[ \t]*(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})[ \t]*\Z")


def csv_reference(body: str, k: int) -> list[list[int]] | None:
    """The rows of a CSV body under traces/FORMAT.md, parsed one cell at a time (None: invalid)."""
    if body == "":
        return []
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
    rows = []
    for line in lines:
        line = line[:-1] if line.endswith("\r") else line
        cells = line.split(",")
        if len(cells) != k:
            return None
        row = []
        for c in cells:
            m = _CELL.match(c)
            if m is None:
                return None
            v = int(m.group(1), 16) if m.group(1)[1:2] in ("x", "X") else int(m.group(1))
            if v >= P:
                return None
            row.append(v)
        rows.append(row)
    return rows


GOOD_CELL = st.one_of(
    st.integers(0, P - 1).map(str),
    st.integers(0, P - 1).map(hex),
    st.sampled_from(["0", "1", " 5 ", "\t7", "0X1f", "007", "00000000000000000009"]),
)
BAD_CELL = st.sampled_from(
    ["+1", "1_0", "\u0663", "\uff13", "1.5", "1e3", "-1", '"1"', '"1', " ", "", "0x", "0x1x", "1 2", "\xa01", "1\xa0",
     "\f1", "1\v", str(P), str(2**64), "99999999999999999999", "0" * 21 + "1", "\ufeff1", "1\x00", "Ⅻ", "𝟙"]
)
BAD_SEP = st.sampled_from([";", ",,", "\t", "\f", "\v", "\x85", "\u2028", "\x1c", "\r", "\n\n", '"\n"', "\ufeff,"])


@st.composite
def csv_body(draw) -> str:
    """Rows of two valid cells, with at most one defect: an odd cell, separator or line end."""
    cells = draw(st.lists(GOOD_CELL, min_size=0, max_size=8).map(lambda c: c[: len(c) // 2 * 2]))
    seps = [("," if i % 2 == 0 else draw(st.sampled_from(["\n", "\n", "\r\n"]))) for i in range(len(cells))]
    if cells and draw(st.integers(0, 3)):  # one defect in three of four bodies
        i = draw(st.integers(0, len(cells) - 1))
        if draw(st.booleans()):
            cells[i] = draw(BAD_CELL)
        else:
            seps[i] = draw(BAD_SEP)
    if seps and draw(st.booleans()):
        seps[-1] = ""  # no final line end
    return "".join(c + e for c, e in zip(cells, seps))


@FUZZ
@given(
    body=st.one_of(csv_body(), csv_body(), st.lists(st.sampled_from(ODD), max_size=30).map("".join)),
    header=st.sampled_from(["a,b", "\ufeffa,b", "a,b\r", 'a,"b"', " a , b", "a", "a,b,c", '"a\n', "a,a", ""]),
)
def test_fuzz_csv_text(tmp_path, body, header) -> None:
    """Text with odd characters under a header: accepted exactly when the reference parser accepts it
    (with at least one row), and then with the same values."""
    p = tmp_path / "f.csv"
    p.write_bytes((header + "\n" + body).encode())
    names = {"a": ["a"], "a,b,c": ["a", "b", "c"]}.get(header, ["a", "b"] if "a,b" in header.replace(" ", "") else None)
    names = ["a", "b"] if header == 'a,"b"' else names
    rows = csv_reference(body, len(names)) if names else None
    valid = rows is not None and len(rows) > 0
    try:
        t = load_trace(p, require_pow2=False)
    except TraceError as e:
        assert not valid, (header, body, str(e))
        assert str(p) in str(e) and "\n" not in str(e)
    else:
        assert valid, (header, body)
        assert list(t.columns) == names
        assert [[int(t.columns[c][i]) for c in names] for i in range(t.n_rows)] == rows  # type: ignore[union-attr]
    assert_outcome(p, None if valid else False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_fuzz_truncated_csv_and_parquet(tmp_path, suffix, cut) -> None:
    p = save_trace(tmp_path / f"f{suffix}", COLS, PIS, {"air": "fibonacci"})
    raw = p.read_bytes()
    p.write_bytes(raw[: int(cut * len(raw))])
    if suffix == ".parquet":
        assert_outcome(p, False)
    else:  # a CSV cut at a line end is a shorter valid trace; cut inside a number, a different one
        body = raw[: int(cut * len(raw))].decode()
        ref = csv_reference(body.split("\n", 1)[1], 2) if "\n" in body else None
        code = assert_outcome(p, bool(ref))
        if code != 2:
            assert [[int(v) for v in r] for r in zip(*load_trace(p, require_pow2=False).columns.values())] == ref


# --- bounded: lying sizes and bombs in a child process with 2 GB of address space ------------------


@settings(max_examples=4, deadline=None, database=None)  # each example starts a process (~1-4 s)
@given(
    rows=st.sampled_from([2**16, 2**20, 2**24]),
    ratio=st.sampled_from([100, 1032, 5000]),
    stream=st.sampled_from(["zeros", "random", "cut"]),
)
def test_fuzz_bounded_resources(tmp_path_factory, rows, ratio, stream) -> None:
    """Two columns whose headers declare up to 128 MiB each, directories claiming up to 5000x inflation
    of streams that are zeros, random or cut short and padded with junk to the claimed size: exit 2
    with one line, in a child with 2 GB of address space and a timeout."""
    p = tmp_path_factory.mktemp("bound") / "f.npz"
    header = npy_header(shape=(rows,))
    body = header + (bytes(4096) if stream == "zeros" else np.random.default_rng(rows).bytes(4096))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp = c.compress(body) + (c.flush() if stream != "cut" else c.flush(zlib.Z_SYNC_FLUSH))
    claimed = max(len(comp), (len(header) + rows * 8) // ratio)
    comp += np.random.default_rng(ratio).bytes(claimed - len(comp))
    crc = zlib.crc32(body)
    members = [(name, comp, crc, len(header) + rows * 8) for name in ("a.npy", "b.npy")]
    write_precompressed(p, members)
    r = air_subprocess("check", str(p), "--air", "fibonacci", mem_mb=2000, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("air: error: ") and r.stderr.count("\n") == 1, r.stderr[-400:]
