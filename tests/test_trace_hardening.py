"""Malformed trace files: each is refused with exit 2 and one line naming the file (and where it
applies the member, column or row); never a traceback, a silent wrong read or an unbounded read."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from air.examples.fibonacci import fibonacci_air, fibonacci_trace
from air.registry import load_air
from air.trace import TraceError, load_trace, save_trace
from tests.npzkit import (
    air_subprocess,
    deflated,
    fib_members,
    json_member,
    npy,
    npy_header,
    raw_zip,
    write_precompressed,
)

P = 2**64 - 2**32 + 1


def refused(air_cli, path, *needles: str, air: str = "fibonacci") -> str:
    code, _, err = air_cli("check", str(path), "--air", air)
    assert code == 2 and err.startswith(f"air: error: {path}") and err.count("\n") == 1, err
    assert str(path) in err and "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


# --- the bus check on a trace whose bus has responses and no request (e.g. 2 rows) -----------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_short_miden_trace_bus_with_responses_only(tmp_path, air_cli, n) -> None:
    air = load_air("miden-v0.18")
    rng = np.random.default_rng(0)  # seed 0: the chiplets bus has responses and no request
    cols = {c: rng.integers(0, 2, n).astype(np.uint64) for c in air.column_names}
    pis = {f"program_hash{i}": 0 for i in range(4)}  # the buses' boundaries: program hash, kernel procedures
    p = save_trace(tmp_path / "t.npz", cols, pis, {"air": "miden-v0.18"}, public_tables={"kernel_procedures": []})
    code, out, err = air_cli("check", str(p), "--any-length")
    assert code == 1 and err == "", err  # constraints fail on random bits; the buses are checked
    assert "bus block_stack:" in out and "bus chiplets:" in out


def test_bus_with_only_a_response_is_unmatched(tmp_path, air_cli) -> None:
    src = tmp_path / "busair.py"
    src.write_text(
        "from air.air import Air, Bus, BusTerm, Message\n"
        "def make():\n"
        "    air = Air('zb', 'one request, one response', n_challenges=3)\n"
        "    req, resp, x = air.columns('main', ['req', 'resp', 'x'])\n"
        "    m = Message('m', None, (('x', x),))\n"
        "    air.bus(Bus('b', 'multiset', 'acc', (BusTerm('u', 'request', req, (m,)),"
        " BusTerm('v', 'response', resp, (m,)))))\n"
        "    return air\n"
    )
    trace = tmp_path / "t.csv"
    trace.write_text("req,resp,x\n0,1,7\n0,0,0\n")
    code, out, err = air_cli("check", str(trace), "--air", f"{src}:make")
    assert code == 1 and err == "", err
    assert "response m x=7, answered by term v at row 0, no request" in out  # a generic AIR: no "chiplet"


# --- helpers: NPY bytes, and zip archives written byte by byte (so the directory may lie) ----------


# --- NPZ: members, headers, sizes ------------------------------------------------------------------


def test_npz_honest_raw_zip_is_accepted(tmp_path, capsys) -> None:
    """The hand-written archive format itself is sound: the same columns, deflated or stored, pass."""
    for deflate in (True, False):
        p = raw_zip(tmp_path / "ok.npz", fib_members(), deflate=deflate)
        t = load_trace(p, fibonacci_air())
        assert t.columns["b"].tolist() == [1, 2, 3, 5]


@pytest.mark.parametrize(
    "extra,needles",
    [
        (("notes.txt", b"hello, not numpy"), ["member 'notes.txt' is not NPY data"]),
        (("sub/", b""), ["member 'sub/' is a directory"]),
        (("a.npy", npy(np.arange(4, dtype=np.uint64))), ["entry 'a' appears twice"]),  # last would win silently
        (("a", npy(np.arange(4, dtype=np.uint64))), ["entry 'a' appears twice"]),  # 'a' and 'a.npy' are one key
        ((".npy", npy(np.arange(4, dtype=np.uint64))), ["member '.npy' has an empty name"]),
    ],
)
def test_npz_bad_members(tmp_path, air_cli, extra, needles) -> None:
    p = raw_zip(tmp_path / "t.npz", fib_members() + [extra])
    refused(air_cli, p, *needles)


def test_npz_corrupt_deflate_names_the_member(tmp_path, air_cli) -> None:
    p = raw_zip(tmp_path / "t.npz", fib_members())
    raw = bytearray(p.read_bytes())
    at = raw.index(b"a.npy") + 5
    raw[at : at + 8] = b"\xff" * 8
    p.write_bytes(bytes(raw))
    refused(air_cli, p, "member 'a.npy' is corrupt")


def test_npz_bad_crc_and_truncated_data(tmp_path, air_cli) -> None:
    members = fib_members()
    p = raw_zip(tmp_path / "crc.npz", members, lie={"b.npy": {"crc": 12345}})
    refused(air_cli, p, "member 'b.npy' is corrupt", "CRC")
    short = [members[0], ("b.npy", members[1][1][:-8])]  # the directory says 8 bytes more than the stream holds
    p = raw_zip(tmp_path / "short.npz", short, lie={"b.npy": {"file_size": len(members[1][1])}})
    refused(air_cli, p, "member 'b.npy'")


@pytest.mark.parametrize(
    "header,needle",
    [
        (b"\x93NUMPX\x01\x00", "is not NPY data (no \\x93NUMPY magic)"),
        (b"\x93NUMPY\x09\x00\x10\x00", "unsupported NPY version 9.0"),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30), "NPY header of 1073741824 bytes, over the limit"),
        (b"\x93NUMPY\x01\x00\x40\x00" + b"{'descr': '<u8', 'shape': (4,), 'fortran_order': False" + b" " * 8,
         "NPY header is not a Python literal"),
        (npy_header(extra="'x': 1"), "NPY header is not a dict of exactly 'descr', 'fortran_order', 'shape'"),
        (npy_header(fortran=1), "fortran_order is not a bool"),
        (npy_header(shape=[4]), "shape '[4]' is not a tuple of sizes"),
        (npy_header(shape=(-4,)), "is not a tuple of sizes"),
        (npy_header(shape=(True,)), "is not a tuple of sizes"),
        (npy_header(shape=(2, 2)), "column 'a' is not one-dimensional"),
        (npy_header(descr="<U8"), "column 'a' has non-numeric type '<U8'"),
        (npy_header(descr="<c16"), "column 'a' has non-numeric type '<c16'"),
        (npy_header(descr=3), "column 'a' has non-numeric type a int"),
        (npy_header(descr="|O"), "entry 'a' is an object array (it needs pickle to load); refused"),
        (npy_header(descr=[("x", "<u8")]), "entry 'a' is a structured array"),
        (npy_header(descr="<f8"), "column 'a' holds floating-point values (float64)"),
    ],
)
def test_npy_header_errors_say_what_is_wrong(tmp_path, air_cli, header, needle) -> None:
    data = header + bytes(32)
    p = raw_zip(tmp_path / "t.npz", [("a.npy", data), fib_members()[1]])
    err = refused(air_cli, p, needle)
    assert "pickle" not in err or "|O" in repr(header)


def test_npz_object_array_from_numpy_needs_pickle(tmp_path, air_cli) -> None:
    p = raw_zip(tmp_path / "t.npz", [("a.npy", npy(np.array([object(), 1], dtype=object))), fib_members()[1]])
    refused(air_cli, p, "entry 'a' is an object array (it needs pickle to load); refused")


def test_npz_huge_declared_shape_refused_before_allocating(tmp_path, air_cli) -> None:
    """A header declaring 10^16 rows: refused from the directory's size, nothing allocated."""
    data = npy_header(shape=(10**16,)) + bytes(32)
    p = raw_zip(tmp_path / "t.npz", [("a.npy", data), fib_members()[1]])
    refused(air_cli, p, "member 'a.npy': its NPY header declares 10000000000000000 x 8 bytes of data")


def test_npz_directory_lies_about_sizes(tmp_path, air_cli) -> None:
    """The directory claiming 4 GB from a few compressed bytes, or more compressed data than the file holds."""
    data = npy_header(shape=(499_999_984,)) + bytes(32)
    p = raw_zip(tmp_path / "t.npz", [("a.npy", data), fib_members()[1]], lie={"a.npy": {"file_size": 4_000_000_000}})
    refused(air_cli, p, "member 'a.npy' declares 4000000000 bytes from", "more than deflate can produce")
    p = raw_zip(tmp_path / "u.npz", fib_members(), lie={"a.npy": {"compress_size": 10**6}})
    refused(air_cli, p, "declares more compressed data than the file holds")
    p = raw_zip(tmp_path / "s.npz", fib_members(), deflate=False, lie={"a.npy": {"file_size": 10**6}})
    refused(air_cli, p, "member 'a.npy': stored with")


def test_npz_bool_bytes_other_than_0_1(tmp_path, air_cli) -> None:
    data = npy(np.ones(4, dtype=bool))
    data = data[:-4] + b"\x01\x02\x01\x01"
    p = raw_zip(tmp_path / "t.npz", [("a.npy", data), fib_members()[1]])
    refused(air_cli, p, "column 'a' row 1: boolean byte 2 is neither 0 nor 1")


def test_npz_inflation_bomb_refused_fast_and_small(tmp_path) -> None:
    """~1 MB inflating to a 1 GiB column next to a 4-row one: refused from the headers, under a 600 MB
    address-space limit (the old loader inflated it all: 13 s, 2.3 GB)."""
    n = 1 << 27
    header = npy_header(shape=(n,))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    seg = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(1 << 24)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    zblock = block.compress(zeros) + block.flush(zlib.Z_FULL_FLUSH)
    stream = seg + zblock * ((n * 8) // len(zeros)) + b"\x03\x00"
    crc = zlib.crc32(header)
    for _ in range((n * 8) // len(zeros)):
        crc = zlib.crc32(zeros, crc)
    assert zlib.decompressobj(-15).decompress(stream[: len(seg) + len(zblock)]) == header + zeros
    p = tmp_path / "bomb.npz"
    write_precompressed(p, [("a.npy", stream, crc, len(header) + n * 8)] + [deflated(*fib_members()[1])])
    assert p.stat().st_size < 2_000_000
    r = air_subprocess("check", str(p), "--air", "fibonacci", mem_mb=600)
    assert r.returncode == 2 and "column 'b' has 4 rows, others have 134217728" in r.stderr, r.stderr[-500:]
    assert r.stderr.count("\n") == 1


def test_trace_size_limit_from_the_environment(tmp_path, monkeypatch) -> None:
    p = save_trace(tmp_path / "t.npz", *fibonacci_trace(64))
    monkeypatch.setenv("AIR_MAX_TRACE_BYTES", "1000")
    with pytest.raises(TraceError, match=r"64 rows x 2 columns need 1024 bytes, over the limit of 1000"):
        load_trace(p)
    monkeypatch.setenv("AIR_MAX_TRACE_BYTES", "1024")
    assert load_trace(p).n_rows == 64
    monkeypatch.setenv("AIR_MAX_TRACE_BYTES", "8G")
    with pytest.raises(TraceError, match=r"AIR_MAX_TRACE_BYTES='8G' is not a number of bytes"):
        load_trace(p)


# --- metadata of the wrong JSON type, in every format ----------------------------------------------

BAD_DOCS = [
    ([1, 2], "metadata is a JSON array, not an object"),
    ({"public_inputs": [1]}, "public_inputs is a JSON array, not an object"),
    ({"public_inputs": None}, "public_inputs is a JSON null, not an object"),
    ({"meta": [1]}, "meta is a JSON array, not an object"),
    ({"meta": "fibonacci"}, "meta is a JSON string, not an object"),
    ({"meta": {"air": 5}}, "meta.air is a JSON number, not the name of an AIR"),
    ({"meta": {"air": None}}, "meta.air is a JSON null"),
    ({"meta": {"air": ["fibonacci"]}}, "meta.air is a JSON array"),
    ({"meta": {"air": ""}}, "meta.air is a JSON string, not the name"),
    ({"public_inputs": {"result": 1.5}}, "public input 'result' = 1.5 is not an integer"),
    ({"public_inputs": {"result": 2.0}}, "public input 'result' = 2.0 is not an integer"),
    ({"public_inputs": {"result": "1.5"}}, "public input 'result' = '1.5' is not an integer"),
    ({"public_inputs": {"result": " 1"}}, "public input 'result' = ' 1' is not an integer"),
    ({"public_inputs": {"result": "1_0"}}, "public input 'result' = '1_0' is not an integer"),
    ({"public_inputs": {"result": "\u0663"}}, "public input 'result' = '\u0663' is not an integer"),
    ({"public_inputs": {"result": True}}, "public input 'result' is a JSON boolean"),
    ({"public_inputs": {"result": None}}, "public input 'result' is a JSON null"),
    ({"public_inputs": {"result": [1]}}, "public table 'result' row 0 is not a non-empty JSON array"),
    ({"public_inputs": {"result": -1}}, "public input 'result' = -1 is not a field element"),
    ({"public_inputs": {"result": str(P)}}, f"public input 'result' = {P} is not a field element"),
    ({"format": "air-trace/2"}, "metadata format 'air-trace/2' is not 'air-trace/1'"),
    ({"format": 1}, "metadata format a JSON number is not"),
    ({"publicinputs": {"result": "3"}}, "metadata has an unknown key 'publicinputs'"),
]


def _with_meta(tmp_path: Path, suffix: str, text: str) -> Path:
    """A 4-row fibonacci trace in ``suffix`` format whose metadata document is ``text``."""
    cols, _ = fibonacci_trace(4)
    p = save_trace(tmp_path / f"t{suffix}", cols)
    if suffix == ".npz":
        raw_zip(p, fib_members() + [("__air_meta__.npy", npy(np.frombuffer(text.encode(), dtype=np.uint8)))])
    elif suffix == ".csv":
        Path(str(p) + ".meta.json").write_text(text)
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(p).replace_schema_metadata({"air": text})
        pq.write_table(table, p)
    return p


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
@pytest.mark.parametrize("doc,needle", BAD_DOCS)
def test_metadata_of_the_wrong_json_type(tmp_path, suffix, doc, needle) -> None:
    p = _with_meta(tmp_path, suffix, json.dumps(doc))
    with pytest.raises(TraceError, match=re.escape(needle)) as e:
        load_trace(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
@pytest.mark.parametrize(
    "text,needle",
    [
        ('{"meta": {}, "meta": {"air": "x"}}', "key 'meta' appears twice"),
        ("[" * 100_000, "JSON nested too deeply"),
        ("{x", "not valid JSON"),
        ('{"public_inputs": {"result": 1' + "0" * 5000 + "}}", "not valid JSON"),
    ],
)
def test_metadata_that_is_not_sound_json(tmp_path, air_cli, suffix, text, needle) -> None:
    refused(air_cli, _with_meta(tmp_path, suffix, text), needle)


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_public_inputs_accepted_forms(tmp_path, suffix) -> None:
    doc = {"format": "air-trace/1", "public_inputs": {"d": "12", "h": "0x1F", "j": 7, "z": "0"}, "meta": {}}
    t = load_trace(_with_meta(tmp_path, suffix, json.dumps(doc)))
    assert t.public_inputs == {"d": 12, "h": 31, "j": 7, "z": 0}


def test_csv_sidecar_with_a_bom_and_not_utf8(tmp_path) -> None:
    p = _with_meta(tmp_path, ".csv", "")
    side = Path(str(p) + ".meta.json")
    side.write_bytes(b"\xef\xbb\xbf" + json.dumps({"public_inputs": {"r": "5"}}).encode())
    assert load_trace(p).public_inputs == {"r": 5}
    side.write_bytes(b'{"meta": {"air": "\xff"}}')
    with pytest.raises(TraceError, match=r"meta\.json: not UTF-8 text \(byte 18\)"):
        load_trace(p)


@pytest.mark.parametrize(
    "doc,needle",
    [
        (5, "is not a JSON array of strings"),
        (None, "is not a JSON array of strings"),
        ([["a"], "b"], "is not a JSON array of strings"),
        ({"a": 1}, "is not a JSON array of strings"),
        (["a", "b", "a"], "names 'a' twice"),
        (["a", "b", "c"], "column 'c' is in the column list but not in the archive"),
    ],
)
def test_npz_column_list_of_the_wrong_type(tmp_path, air_cli, doc, needle) -> None:
    p = raw_zip(tmp_path / "t.npz", fib_members() + [json_member("__air_columns__", doc)])
    refused(air_cli, p, needle)


def test_npz_metadata_entry_must_be_bytes(tmp_path, air_cli) -> None:
    p = raw_zip(tmp_path / "t.npz", fib_members() + [("__air_meta__.npy", npy(np.arange(3, dtype=np.uint64)))])
    refused(air_cli, p, "the metadata entry '__air_meta__' is not a uint8 array")


# --- CSV -------------------------------------------------------------------------------------------


def _csv(tmp_path: Path, data: bytes | str) -> Path:
    p = tmp_path / "t.csv"
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


@pytest.mark.parametrize(
    "text,needle",
    [
        ("a,b\n" + "1" * 200_000 + ",1\n1,2\n", "column 'a' row 0: value 1111111111"),  # over csv's field limit
        ("a,b\n1,1\n1_0,2\n", "column 'a' row 1: '1_0' is not an integer (it holds '_'"),
        ("a,b\n1,1\n\u0663,2\n", "column 'a' row 1: '\u0663' is not an integer"),
        ("a,b\n1,1\n1,\uff13\n", "column 'b' row 1: '\uff13' is not an integer"),
        ('a,b\n"1\n1",1\n1,2\n', "column 'a' row 0: '\"1' is quoted (data cells are bare integers, and a quoted cell"),
        ('a,b\n"1",1\n1,2\n', "column 'a' row 0: '\"1\"' is quoted"),
        ("a,b\n1,1\f1,2\n", "column 'b' row 0: '1\\x0c1' is not an integer (it holds '\\x0c'"),
        ("a,b\n1,1\r1,2\n", "column 'b' row 0: '1\\r1' is not an integer (it holds '\\r'"),
        ("a,b\n1,1\x0002\n", "it holds '\\x00'"),
        ("a,b\n1,1\n1,2\x85\n", "column 'b' row 1"),
        ("a,b\n1,1\n1.5,2\n", "column 'a' row 1: '1.5' is not an integer"),
        ("a,b\n1,1\n1e3,2\n", "column 'a' row 1: '1e3' is not an integer"),
        ("a,b\n1,1\n+1,2\n", "column 'a' row 1: '+1' is not an integer"),
        ("a,b\n1,1\n-1,2\n", "column 'a' row 1: '-1' is not an integer"),
        ("a,b\n1,1\n1 2,2\n", "column 'a' row 1: '1 2' is not an integer"),
        ("a,b\n1,1\n0x,2\n", "column 'a' row 1: '0x' is not an integer"),
        ("a,b\n1,1\n0x1x,2\n", "column 'a' row 1: '0x1x' is not an integer"),
        ("a,b\n1,\n1,2\n", "column 'b' row 0: an empty cell"),
        ("a,b\n1,1\n\n1,2\n", "row 1 is empty, the header has 2 columns"),
        ("a,b\n1,1,3\n1,2\n", "row 0 has 3 cells, the header has 2"),
        ("a,b\n1,1\n18446744073709551616,2\n", "column 'a' row 1: value 18446744073709551616 is not a field element"),
        ("a,b\n1,1\n99999999999999999999,2\n", "column 'a' row 1: value 99999999999999999999 is not a field element"),
        (f"a,b\n1,1\n0x1,{P}\n", f"column 'b' row 1: value {P} is not a field element"),
        (b"a,b\n1,1\n1,\xff\n", "column 'b' row 1: '\ufffd' is not an integer (it holds a byte that is not UTF-8"),
        ('a,"b\nc",d\n1,2\n', "the header is not a valid CSV line"),
        ("a,,b\n1,1,1\n", "header cell 2 is an empty column name"),
        ("a,b,a\n1,1,1\n", "column 'a' appears twice in the header"),
        ("a,b\fc\n1,1\n", "holds a control character"),
        (b"a,\xffb\n1,1\n", "the header is not UTF-8 text"),
        ("", "empty CSV file"),
    ],
)
def test_csv_strictness(tmp_path, air_cli, text, needle) -> None:
    refused(air_cli, _csv(tmp_path, text), needle)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffa,b\n1,1\n1,2\n",  # a UTF-8 BOM (it used to make the first column 'a' missing)
        "a,b\r\n1,1\r\n1,2\r\n",
        "a,b\n1,1\n1,2",  # no final line end
        "a , b\n 1 ,\t1\n1,2\n",  # spaces around cells
        "a,b\n0x1,0X1\n0x01,2\n",  # hex, documented
        '"a",b\n1,1\n1,2\n',  # a quoted name in the header
        "a,b\n00000000000000000001,1\n1,2\n",
    ],
)
def test_csv_accepted_forms(tmp_path, air_cli, text) -> None:
    p = _csv(tmp_path, text)
    t = load_trace(p, require_pow2=True)
    assert list(t.columns) == ["a", "b"] and t.columns["a"].tolist() == [1, 1] and t.columns["b"].tolist() == [1, 2]
    code, out, err = air_cli("check", str(p), "--air", "fibonacci")
    assert "column 'a'" not in err and "Traceback" not in err


def test_csv_values_exact_over_2_63(tmp_path) -> None:
    p = _csv(tmp_path, f"a\n{P - 1}\n{2**63}\n0\n18446744069414584320\n")
    assert load_trace(p).columns["a"].tolist() == [P - 1, 2**63, 0, P - 1]


# --- Parquet ---------------------------------------------------------------------------------------


def test_parquet_duplicate_and_non_numeric_columns(tmp_path, air_cli) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    a = pa.array([1, 1, 2, 3], type=pa.uint64())
    p = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_arrays([a, a], names=["a", "a"]), p)
    refused(air_cli, p, "column 'a' appears twice")
    pq.write_table(pa.Table.from_arrays([a, pa.array(["x"] * 4)], names=["a", "b"]), p)
    refused(air_cli, p, "column 'b' has non-numeric type string")
