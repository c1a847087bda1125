"""The fast NPZ writer (air/npz_writer.py): archives that zipfile and numpy.load read back exactly (CRC checked by
zipfile, an independent reader), with either deflater, deterministic, and numpy's own ZIP64 writer where sizes
or offsets would not fit in 32 bits."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import numpy as np
import pytest

import air.npz_writer as W
from air.field import P
from air.trace import load_trace, save_trace


def _arrays(n: int = 5000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "clk": np.arange(n, dtype=np.uint64),
        "r": rng.integers(0, P, size=n, dtype=np.uint64),
        "bit": rng.integers(0, 2, size=n, dtype=np.uint64),
        "zéro": np.zeros(n, dtype=np.uint64),  # a non-ASCII name: flagged UTF-8 in the zip headers
        "doc": np.frombuffer(b'{"air": "fibonacci"}', dtype=np.uint8),
    }


@pytest.fixture(params=["isal", "zlib"])
def deflater(request, monkeypatch) -> str:
    if request.param == "isal":
        pytest.importorskip("isal")
        monkeypatch.delenv("AIR_NO_ISAL", raising=False)
    else:
        monkeypatch.setenv("AIR_NO_ISAL", "1")
    return request.param


@pytest.mark.parametrize("jobs", [1, 2])
def test_archives_read_back_exactly(tmp_path, deflater, jobs) -> None:
    arrays = _arrays()
    p = tmp_path / "a.npz"
    W.write_npz(p, arrays, jobs=jobs)
    raw = p.read_bytes()
    with zipfile.ZipFile(p) as zf:
        assert zf.testzip() is None  # every member inflates and its CRC-32 matches
        assert all(raw[i.header_offset + 28 : i.header_offset + 30] == b"\0\0" for i in zf.infolist())  # no ZIP64
        assert [i.filename for i in zf.infolist()] == [f"{k}.npy" for k in arrays]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    with np.load(p, allow_pickle=False) as z:
        for k, v in arrays.items():
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v), k
    if shutil.which("unzip"):  # Info-ZIP's reader too, where installed
        assert subprocess.run(["unzip", "-tq", str(p)], capture_output=True).returncode == 0


def test_the_same_arrays_give_the_same_bytes(tmp_path, deflater) -> None:
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    W.write_npz(a, _arrays(), jobs=2)
    W.write_npz(b, _arrays(), jobs=1)
    assert a.read_bytes() == b.read_bytes()


def test_offsets_past_32_bits_are_left_to_numpys_zip64(tmp_path, monkeypatch) -> None:
    """With the 32-bit limit lowered to a few KiB (a stand-in for 4 GiB), the archive is numpy's: ZIP64 extra
    fields on its members, and the same arrays back."""
    monkeypatch.setattr(W, "_LIMIT", 20_000)
    arrays = _arrays()
    p = tmp_path / "big.npz"
    W.write_npz(p, arrays, jobs=2)
    raw = p.read_bytes()
    with zipfile.ZipFile(p) as zf:
        assert zf.testzip() is None
        for i in zf.infolist():  # numpy forces ZIP64: an extra field in each local header (its length at byte 28)
            assert int.from_bytes(raw[i.header_offset + 28 : i.header_offset + 30], "little") > 0, i.filename
    with np.load(p, allow_pickle=False) as z:
        assert all(np.array_equal(z[k], v) for k, v in arrays.items())


def test_save_trace_writes_a_trace_load_trace_reads(tmp_path, deflater) -> None:
    cols = {k: v for k, v in _arrays(1 << 12).items() if v.dtype == np.uint64}
    p = save_trace(tmp_path / "t.npz", cols, {"x": 3}, {"air": "fibonacci"}, {"k": [(1, 2)]})
    t = load_trace(p)
    assert list(t.columns) == list(cols) and t.public_inputs == {"x": 3} and t.meta == {"air": "fibonacci"}
    assert t.public_tables == {"k": [(1, 2)]}
    assert all(np.array_equal(t.columns[k], v) for k, v in cols.items())
