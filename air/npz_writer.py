"""Write a compressed NPZ fast: each member deflated on its own thread, at the fastest level.

``numpy.savez_compressed`` deflates member after member at zlib's level 6 in one thread: 5.0 s for a 2^20-row
Miden trace (71 columns), longer than the executor takes to run the program (``air run -o t.npz``). Here each
member (its NPY header, then its data, never copied) is deflated at level 1 on a pool of threads: by ISA-L
where it is installed (the extra ``air[fast]``: 0.25 s for that trace, one core) or by zlib (1.6 s), both of
which release the GIL; the archive is then written in the members' order. The files are 1.7-2x larger than
level 6 (12-15 MiB for 7.4 MiB at 2^20 rows) and read by ``numpy.load`` and ``load_trace`` as any NPZ.

The zip layout is APPNOTE.TXT's (4.3.7 local file header, 4.3.12 central directory header, 4.3.16 end of
central directory record), without ZIP64: an archive whose sizes or offsets would not fit in 32 bits is written
again by ``numpy.savez_compressed`` (which writes ZIP64).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_npz", "usable_cores"]

LEVEL = 1  # deflate level: the fastest; levels 2-6 cost 1.2-20x the time for 1.1-1.7x smaller files
_LIMIT = 0xFFFFFFFF  # the largest size or offset a zip header without ZIP64 holds
_DOS_TIME = (0, (1 << 5) | 1)  # 1980-01-01 00:00: fixed, so equal traces give equal files
_MADE_BY = (3 << 8) | 20  # Unix, zip 2.0: the external attributes are file permissions
_MODE = 0o644 << 16  # rw-r--r--


def _zlib() -> Any:
    """ISA-L's zlib-compatible module where installed (``AIR_NO_ISAL=1`` turns it off), else zlib."""
    if not os.environ.get("AIR_NO_ISAL"):
        try:
            from isal import isal_zlib

            return isal_zlib
        except ImportError:
            pass
    return zlib


def _npy_header(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(a))
    return buf.getvalue()


def _member(a: np.ndarray) -> tuple[bytes, int, int]:
    """The member ``a`` as an NPY file, deflated: (compressed bytes, CRC-32, uncompressed size)."""
    z = _zlib()
    head = _npy_header(a)
    data = memoryview(a).cast("B")
    d = z.compressobj(LEVEL, z.DEFLATED, -15)  # raw deflate, as zip stores it
    out = d.compress(head) + d.compress(data) + d.flush()
    return out, z.crc32(data, z.crc32(head)), len(head) + len(data)


def usable_cores() -> int:
    """The cores this process may use (its CPU affinity where the platform says, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray], jobs: int | None = None) -> None:
    """``arrays`` (name -> 1-D C-contiguous little-endian array) to ``path`` as members ``NAME.npy``, deflated on
    ``jobs`` threads (default: the cores this process may use), written in order as they are ready."""
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    if len(arrays) >= 0xFFFF or any(v.nbytes + 512 >= _LIMIT for v in arrays.values()):
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
        return
    central = bytearray()
    offset = 0
    with ThreadPoolExecutor(min(jobs or usable_cores(), max(1, len(arrays))), thread_name_prefix="air-save") as pool:
        with open(path, "wb") as f:
            for name, (comp, crc, size) in zip(arrays, pool.map(_member, arrays.values())):
                fname = f"{name}.npy".encode()
                flags = 0 if fname.isascii() else 0x800  # bit 11: the name is UTF-8 (APPNOTE 4.4.4)
                if offset + 30 + len(fname) + len(comp) >= _LIMIT:
                    break  # offsets past 32 bits: numpy writes it with ZIP64 (below)
                fixed = (20, flags, 8, *_DOS_TIME, crc, len(comp), size, len(fname))
                f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fixed, 0) + fname)
                f.write(comp)
                central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, *fixed, 0, 0, 0, 0, _MODE, offset)
                central += fname
                offset += 30 + len(fname) + len(comp)
            else:
                if offset + len(central) < _LIMIT:
                    f.write(central)
                    eocd = (0x06054B50, 0, 0, len(arrays), len(arrays), len(central), offset, 0)
                    f.write(struct.pack("<IHHHHIIH", *eocd))
                    return
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
