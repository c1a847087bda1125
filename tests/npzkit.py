"""Byte-level builders for trace-file tests (not tests): NPY members and zip archives written byte by byte, so
that a directory, CRC or size may lie; and ``air`` in a child process with a memory limit."""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from air.examples.fibonacci import fibonacci_trace


def npy(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=arr.dtype.hasobject)
    return b.getvalue()


def npy_header(descr: object = "<u8", shape: object = (4,), fortran: object = False, extra: str = "") -> bytes:
    """An NPY v1.0 header from its parts (any of them may be wrong)."""
    text = f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {shape!r}, {extra}}}".encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def raw_zip(path: Path, members: list[tuple[str, bytes]], *, deflate: bool = True, lie: dict | None = None) -> Path:
    """A zip archive whose members' compressed bytes, CRC and sizes we choose: ``lie`` maps a member
    name to directory fields to overwrite (``file_size``, ``compress_size``, ``crc``)."""
    out = bytearray()
    central = bytearray()
    for name, data in members:
        method = 8 if deflate else 0
        if deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        else:
            comp = data
        f = {"crc": zlib.crc32(data), "compress_size": len(comp), "file_size": len(data)} | (lie or {}).get(name, {})
        nb = name.encode()
        offset = len(out)
        local = (0x04034B50, 20, 0, method, 0, 0, f["crc"], len(comp), f["file_size"], len(nb), 0)
        out += struct.pack("<IHHHHHIIIHH", *local)
        out += nb + comp
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, f["crc"], f["compress_size"], f["file_size"],
            len(nb), 0, 0, 0, 0, 0, offset,
        ) + nb
    n = len(members)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    path.write_bytes(bytes(out))
    return path


def fib_members(n: int = 4) -> list[tuple[str, bytes]]:
    cols, _ = fibonacci_trace(n)
    return [("a.npy", npy(cols["a"])), ("b.npy", npy(cols["b"]))]


def json_member(key: str, doc: object) -> tuple[str, bytes]:
    return (f"{key}.npy", npy(np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)))


def deflated(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def write_precompressed(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    out, central = bytearray(), bytearray()
    for name, comp, crc, size in members:
        nb, offset = name.encode(), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(comp), size, len(nb), 0) + nb + comp
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(comp), size, len(nb), 0, 0, 0, 0, 0, offset
        ) + nb
    n = len(members)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    path.write_bytes(bytes(out))


def air_subprocess(*args: str, mem_mb: int = 2000, timeout: float = 120) -> subprocess.CompletedProcess:
    """``air ARGS`` in a child limited to ``mem_mb`` of address space (a hang guard as the timeout)."""
    limit = mem_mb << 20

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "air", *args], capture_output=True, text=True, timeout=timeout,
        preexec_fn=limit_memory, env=env,
    )
