"""What happens before the first chunk of ``air check`` and after its report: the trace inflating while the AIR is
built, the same results and the same bad-input errors as a load that runs first, and a quick exit."""

from __future__ import annotations

import gc
import sys
import zipfile
import zlib

import numpy as np
import pytest

import air.trace
from air.cli import main
from air.examples.fibonacci import fibonacci_trace
from air.field import P
from air.trace import (
    COLUMNS_KEY,
    META_KEY,
    PackedColumns,
    TraceError,
    column_rows,
    load_trace,
    open_trace,
    save_trace,
)
from tests.npzkit import deflated, fib_members, json_member, npy, npy_header, raw_zip, write_precompressed


def _code(argv: list[str] | None) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return 0 if e.code is None else int(e.code)
    return 0


def test_program_exit_freezes_the_collector_and_a_caller_keeps_it(monkeypatch, capsys) -> None:
    """As the program (argv None) main leaves the collector frozen and off, so the interpreter's finalization does
    not walk every object sympy and numba made (0.4 s at 2^20 rows); called with a list it leaves gc alone."""
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.collect()  # what is collectable now is not counted as frozen below
    assert _code(["--version"]) == 0
    assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, frozen)
    monkeypatch.setattr(sys, "argv", ["air", "--version"])
    try:
        assert _code(None) == 0
        assert not gc.isenabled() and gc.get_freeze_count() > frozen
        assert "air" in capsys.readouterr().out  # the output was printed all the same
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


# --- the trace's columns on threads (open_trace / TraceLoad) ----------------------------------------------------


@pytest.fixture(params=["isal", "libz", "decompressobj"])
def inflater(request, monkeypatch) -> str:
    """Every way a deflated column is inflated and its CRC taken: ISA-L (the optional extra air[fast]), libz
    through ctypes, and zlib.decompressobj (the fallback of both)."""
    if request.param == "isal":
        pytest.importorskip("isal")
        assert air.trace._isal() is not None
    else:
        monkeypatch.setattr(air.trace, "_ISAL", [None])
    if request.param == "decompressobj":
        monkeypatch.setattr(air.trace, "_LIBZ", [None])
    elif request.param == "libz":
        assert air.trace._libz() is not None  # this machine has libz: the ctypes path is what runs
    return request.param


def _columns(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Columns of field elements: random below p, a counter, and constants (deflate compresses them ~1000x)."""
    rng = np.random.default_rng(seed)
    return {
        "r": rng.integers(0, P, size=n, dtype=np.uint64),
        "clk": np.arange(n, dtype=np.uint64),
        "z": np.zeros(n, dtype=np.uint64),
        "top": np.full(n, P - 1, dtype=np.uint64),
    }


@pytest.mark.parametrize("compress", [True, False])
def test_open_trace_reads_metadata_first_and_the_columns_numpy_reads(tmp_path, inflater, compress) -> None:
    """The metadata is there before the columns are waited for; the columns equal numpy.load's reading of the same
    file (an independent reader). Stored: the 2^17-row columns (1 MiB) are memory-mapped, the 16-row ones read."""
    for n in (16, 1 << 17):
        cols = _columns(n)
        p = save_trace(tmp_path / f"t{n}.npz", cols, {"x": 3}, {"air": "fibonacci"}, compress=compress)
        pending = open_trace(p)
        assert pending.meta["air"] == "fibonacci" and pending.public_inputs == {"x": 3}
        t = pending.result()
        assert t is pending.result()  # computed once
        with np.load(p, allow_pickle=False) as ref:
            assert list(t.columns) == list(cols) and t.n_rows == n
            for k in cols:
                assert np.array_equal(t.columns[k], ref[k]), k
        assert (set(t.maps) == set(cols)) == (not compress and n == 1 << 17)


@pytest.mark.parametrize(("n", "compress"), [(16, False), (16, True), (1 << 17, True)])
def test_loaded_columns_are_packed_in_the_narrowest_dtype_that_holds_them(tmp_path, inflater, n, compress) -> None:
    """A deflated (or small stored) uint64 member is kept in the narrowest unsigned dtype that holds its largest
    value, the boundaries included (255 / 256, 2^16 - 1 / 2^16, 2^32 - 1 / 2^32); ``columns[k]`` is still the
    uint64 column numpy.load reads, and the packed bytes are what those dtypes take (n * 31 bytes a row here,
    against 8 * 10 * n as uint64)."""
    rng = np.random.default_rng(3)
    cols = {
        "bit": rng.integers(0, 2, size=n, dtype=np.uint64),
        "u8": np.full(n, 255, dtype=np.uint64),
        "u8over": np.full(n, 256, dtype=np.uint64),
        "u16": rng.integers(0, 1 << 16, size=n, dtype=np.uint64),
        "u16over": np.full(n, 1 << 16, dtype=np.uint64),
        "u32": np.full(n, (1 << 32) - 1, dtype=np.uint64),
        "u32over": np.full(n, 1 << 32, dtype=np.uint64),
        "top": np.full(n, P - 1, dtype=np.uint64),
        "zero": np.zeros(n, dtype=np.uint64),
        "r": rng.integers(0, P, size=n, dtype=np.uint64),
    }
    cols["u16"][n // 2] = (1 << 16) - 1
    want = {"bit": 1, "u8": 1, "u8over": 2, "u16": 2, "u16over": 4, "u32": 4, "u32over": 8, "top": 8, "zero": 1, "r": 8}
    t = load_trace(save_trace(tmp_path / "t.npz", cols, compress=compress))
    assert isinstance(t.columns, PackedColumns) and not t.maps
    assert {k: t.stored(k).dtype.itemsize for k in cols} == want
    assert all(t.stored(k).dtype.kind == "u" for k in cols)
    assert t.columns.nbytes() == n * sum(want.values())
    with np.load(t.source, allow_pickle=False) as ref:
        for k in cols:
            assert t.columns[k].dtype == np.uint64 and np.array_equal(t.columns[k], ref[k]), k
            assert np.array_equal(column_rows(t, k, 3, 9), ref[k][3:9]), k
    t = load_trace(t.source)
    assert t.row(5) == {k: int(v[5]) for k, v in cols.items()}
    assert t.columns._wide == {}  # a row is read from the packed columns, none widened


def test_a_packed_trace_holds_its_packed_size_not_its_uint64_size(tmp_path) -> None:
    """In a fresh process, loading a compressed trace of 24 selector columns x 2^20 rows (192 MiB as uint64, 24
    MiB packed) grows the peak RSS by far less than the uint64 size: the arena's untouched pages are never
    resident, and no column was inflated whole into memory that stays."""
    import subprocess

    n = 1 << 20
    rng = np.random.default_rng(5)
    cols = {f"s{i}": np.tile(rng.integers(0, 2, size=2048, dtype=np.uint64), n // 2048) for i in range(24)}
    p = tmp_path / "sel.npz"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:  # level 1: 5x faster
        for k, v in cols.items():
            zf.writestr(f"{k}.npy", npy(v))
    code = (
        "import resource, sys\n"
        "from air.trace import load_trace\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "t = load_trace(sys.argv[1])\n"
        "assert all(t.stored(k).dtype.itemsize == 1 for k in t.columns)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True).stdout
    grown = int(out.strip())
    assert grown < 96 << 20, f"peak grew {grown >> 20} MiB loading a trace of 192 MiB as uint64 (24 MiB packed)"


def test_a_corrupt_member_is_refused_naming_it_first_in_column_order(tmp_path, inflater) -> None:
    """Two members with a wrong CRC, and one whose deflate stream is broken: the error is the first of them in the
    column order (as a serial load), whatever order the threads finish in."""
    members = [(f"{k}.npy", npy(v)) for k, v in _columns(4096).items()]
    order = json_member(COLUMNS_KEY, ["clk", "r", "z", "top"])
    p = raw_zip(tmp_path / "crc.npz", [order, *members], lie={"z.npy": {"crc": 1}, "top.npy": {"crc": 2}})
    with pytest.raises(TraceError, match=r"member 'z.npy' is corrupt \(BadZipFile: Bad CRC-32 for file 'z.npy'\)"):
        load_trace(p)
    p = raw_zip(tmp_path / "bad.npz", [order, *members], lie={"top.npy": {"crc": 2}})
    raw = bytearray(p.read_bytes())
    at = raw.index(b"r.npy") + len(b"r.npy")  # the first bytes of r's deflate stream
    raw[at : at + 16] = b"\xff" * 16  # 0b111: a final block of the reserved type 3, an error in any inflater
    p.write_bytes(bytes(raw))
    with pytest.raises(TraceError, match=r"member 'r.npy' is corrupt \((error|zlib.error): .*(invalid|Invalid)"):
        load_trace(p)


@pytest.mark.parametrize("compress", [True, False])
def test_a_value_over_p_is_refused_naming_column_and_row(tmp_path, inflater, compress) -> None:
    cols = _columns(1 << 17)
    cols["r"][70001] = P  # p itself: the smallest value that is not a field element
    p = save_trace(tmp_path / "t.npz", cols, compress=compress)
    with pytest.raises(TraceError, match=rf"column 'r' row 70001: value {P} is not a field element \(>= p\)"):
        load_trace(p)


def test_a_stream_longer_than_its_declared_size_is_cut_there(tmp_path, inflater) -> None:
    """A member whose deflate stream holds 1000 values under a directory (and NPY header) declaring 4: inflation
    stops at the declared 4 (never grows a buffer for the rest); with the CRC of what was read, as zipfile
    would check it, those 4 values are the column."""
    header = npy_header(shape=(4,))
    values = np.arange(1000, dtype=np.uint64) * 3
    body = header + values.tobytes()
    declared = len(header) + 32
    name, comp, _, _ = deflated("b.npy", body)
    a = fib_members()[0]
    p = tmp_path / "long.npz"
    write_precompressed(p, [deflated(*a), (name, comp, zlib.crc32(body[:declared]), declared)])
    assert load_trace(p).columns["b"].tolist() == [0, 3, 6, 9]
    write_precompressed(p, [deflated(*a), (name, comp, zlib.crc32(body), declared)])
    with pytest.raises(TraceError, match=r"member 'b.npy' is corrupt \(BadZipFile: Bad CRC-32"):
        load_trace(p)


def test_check_names_a_bad_column_before_the_air_it_cannot_build(tmp_path, air_cli) -> None:
    """`air check` builds the AIR while the columns load; when both fail, the column is the error, as when the
    trace was read first; with sound columns the AIR's error is."""
    meta = json_member(META_KEY, {"format": "air-trace/1", "meta": {"air": "no-such-air"}})
    p = raw_zip(tmp_path / "t.npz", [meta, *fib_members(64)], lie={"b.npy": {"crc": 5}})
    code, _, err = air_cli("check", str(p))
    assert code == 2 and "member 'b.npy' is corrupt" in err and err.count("\n") == 1, err
    p = raw_zip(tmp_path / "u.npz", [meta, *fib_members(64)])
    code, _, err = air_cli("check", str(p))
    assert code == 2 and "names AIR 'no-such-air', which is not built in" in err and err.count("\n") == 1, err


def test_check_gives_back_the_switch_interval(tmp_path, air_cli) -> None:
    """The loader's shorter GIL switch interval lasts while the trace loads beside the AIR build, then the
    interpreter's own is back (for the chunks, and for a caller in the same process)."""
    before = sys.getswitchinterval()
    p = save_trace(tmp_path / "t.npz", *fibonacci_trace(64), meta={"air": "fibonacci"})
    code, out, err = air_cli("check", str(p))
    assert code == 0, err
    assert sys.getswitchinterval() == before
