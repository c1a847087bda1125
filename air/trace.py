"""Trace files: NPZ, CSV and Parquet, with column names in the file and precise load errors.

A trace is a set of named main-trace columns of equal length holding canonical Goldilocks elements
(integers ``0 <= v < p``), plus public inputs and free-form metadata. The format is documented in
``traces/FORMAT.md``. Every problem is a ``TraceError`` whose one-line message names the file and,
where it applies, the column and row. Loading is bounded: sizes are checked against what the file
declares (and ``AIR_MAX_TRACE_BYTES``) before anything is allocated or inflated. NPZ archives are read
member by member without ``numpy.load``; nothing is ever unpickled (as ``allow_pickle=False``). A compressed
NPZ's columns are kept packed (``PackedColumns``: each in the narrowest unsigned dtype that holds it); large
stored members are located in the file, not read (``ColumnMap``).
"""

from __future__ import annotations

import ast
import csv
import ctypes
import json
import os
import re
import struct
import sys
import threading
import warnings
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from air.field import P
from air.npz_writer import usable_cores as _cores  # the threads that inflate an NPZ's members
from air.npz_writer import write_npz

if TYPE_CHECKING:  # the AIR is duck-typed here: loading a trace does not import sympy (0.5 s), so it can start first
    from concurrent.futures import Future, ThreadPoolExecutor

    from air.air import Air

__all__ = [
    "Trace",
    "TraceError",
    "TraceLoad",
    "ColumnMap",
    "load_trace",
    "open_trace",
    "save_trace",
    "column_rows",
    "PackedColumns",
    "META_KEY",
]

META_KEY = "__air_meta__"  # NPZ entry holding the JSON metadata as uint8 bytes
COLUMNS_KEY = "__air_columns__"  # NPZ entry holding the column names in trace order, as JSON
FORMAT = "air-trace/1"


class TraceError(ValueError):
    """A trace file that cannot be used; the message is one line naming file, column and row."""


@dataclass(frozen=True)
class ColumnMap:
    """Where a column's little-endian uint64 data lies in a file: ``length`` values from byte ``offset``."""

    path: str
    offset: int
    length: int

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start .. stop-1`` as a fresh read-only memory map of just that range (its pages are dropped
        from the process when the array is freed, so a pass over a large trace holds one chunk at a time)."""
        stop = min(stop, self.length)
        if stop <= start:
            return np.zeros(0, dtype=np.uint64)
        return np.memmap(self.path, dtype="<u8", mode="r", offset=self.offset + 8 * start, shape=(stop - start,))

    def read_into(self, out: np.ndarray, start: int) -> None:
        """Rows ``start .. start + len(out) - 1`` copied into ``out`` (C-contiguous uint64) by ``os.preadv``: a
        copy from the page cache, where a fresh map of the rows would take a page fault per 4 KiB (~5-12 us each
        on this machine kind: 0.7-1.7 s of system time for a 2^20-row trace, once to validate and once to check)."""
        n = len(out)
        if start < 0 or start + n > self.length:
            raise TraceError(f"{self.path}: rows {start}..{start + n - 1} are past the column's {self.length}")
        if n == 0:
            return
        if not hasattr(os, "preadv") or not out.flags.c_contiguous or out.dtype != np.dtype("<u8"):
            out[:] = self.rows(start, start + n)  # pragma: no cover - Windows, or a strided target
            return
        view = memoryview(out).cast("B")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            done = 0
            while done < len(view):
                got = os.preadv(fd, [view[done:]], self.offset + 8 * start + done)
                if got <= 0:
                    raise TraceError(f"{self.path}: the file ends inside column data (truncated since it was opened?)")
                done += got
        finally:
            os.close(fd)


def column_rows(trace: Trace, name: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start .. stop-1`` of column ``name``: a fresh map of that range for a memory-mapped column (see
    ``ColumnMap.rows``), else a slice of the column as stored (no copy; a packed column's rows come in its narrow
    dtype: the same values, for reading or copying into uint64, not for field arithmetic)."""
    m = trace.maps.get(name)
    if m is not None:
        return m.rows(start, stop)
    return trace.stored(name)[start:stop]


def narrowest(high: int) -> np.dtype:
    """The narrowest unsigned dtype that holds every value ``0 .. high``."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if high <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


class PackedColumns(Mapping[str, np.ndarray]):
    """A trace's columns, some stored packed: each in the narrowest unsigned dtype that holds its values (a 0/1
    selector in one byte a row, a 16-bit limb in two; the columns of a 2^20-row Miden trace in 0.45x their uint64
    size). ``cols[name]`` is the column as uint64 (a packed one is widened on its first read and kept), so
    every reader of ``Trace.columns`` sees what it always saw; ``stored(name)`` is the column as held, which the
    chunked check, ``column_rows`` and cell reads use so that a check never widens a column."""

    def __init__(self, stored: Mapping[str, np.ndarray]) -> None:
        self._stored = dict(stored)
        self._wide: dict[str, np.ndarray] = {}

    def stored(self, name: str) -> np.ndarray:
        return self._stored[name]

    def __getitem__(self, name: str) -> np.ndarray:
        v = self._stored[name]
        if v.dtype == np.uint64:
            return v
        wide = self._wide.get(name)
        if wide is None:
            wide = self._wide[name] = v.astype(np.uint64)
        return wide

    def __iter__(self) -> Any:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)

    def __contains__(self, name: object) -> bool:
        return name in self._stored

    def nbytes(self) -> int:
        """Bytes held by the stored columns (not the widened copies)."""
        return sum(v.nbytes for v in self._stored.values())


@dataclass
class Trace:
    columns: Mapping[str, np.ndarray]  # a dict, or a loaded NPZ's PackedColumns
    n_rows: int
    public_inputs: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    # public tables (``Air.public_table``): name -> rows of field elements, e.g. a kernel's procedure digests
    public_tables: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)
    # columns read by memory map (an uncompressed NPZ member or a .npy file): where their data lies in the file,
    # so a chunk can map only its own rows (and a worker process can open them without a copy of the trace)
    maps: dict[str, ColumnMap] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return self.columns[name]

    def stored(self, name: str) -> np.ndarray:
        """Column ``name`` as held: uint64, or a packed column's narrow dtype (``PackedColumns``); the same values,
        read without widening (for cells, rows and copies into uint64 buffers, not for field arithmetic)."""
        cols = self.columns
        return cols.stored(name) if isinstance(cols, PackedColumns) else cols[name]

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Any],
        public_inputs: Mapping[str, int] | None = None,
        *,
        public_tables: Mapping[str, Sequence[Sequence[int]]] | None = None,
        meta: Mapping[str, Any] | None = None,
        require_pow2: bool = True,
        source: str = "<columns>",
    ) -> Trace:
        """A trace from in-memory columns, validated as ``load_trace`` validates a file.

        ``columns`` maps each column name to a 1-D numpy array or a list of Python ints (any integer or
        bool dtype). Every value must be a canonical Goldilocks element ``0 <= v < p``: a negative value,
        a value ``>= p``, a float, a string or ``None`` is a ``TraceError`` naming the column and row (reduce
        a signed value with ``v % P`` yourself: the tool never guesses). Columns must have one length, at
        least one row and, unless ``require_pow2=False``, a power-of-two length. A uint64 or int64 array
        is used without a copy (int64 is reinterpreted in place after the sign check).
        ``public_inputs`` (name -> int) and ``public_tables`` (name -> rows of ints) follow the same rules.
        """
        if not isinstance(columns, Mapping) or not columns:
            raise TraceError(f"{source}: columns must be a non-empty mapping of column name -> values")
        cols: dict[str, np.ndarray] = {}
        for name, values in columns.items():
            if not isinstance(name, str) or not name:
                raise TraceError(f"{source}: column name {name!r} is not a non-empty string")
            cols[name] = _check_column(Path(source), name, _as_array(source, name, values))
        n = _check_shapes(Path(source), {k: len(v) for k, v in cols.items()}, require_pow2)
        pis = {str(k): _public_input(source, str(k), _plain_int(v)) for k, v in (public_inputs or {}).items()}
        tables = {
            str(k): _public_table(source, str(k), [[_plain_int(x) for x in r] for r in rows])
            for k, rows in (public_tables or {}).items()
        }
        return cls(cols, n, pis, dict(meta or {}), source, tables)

    def row(self, i: int) -> dict[str, int]:
        return {k: int(self.stored(k)[i]) for k in self.columns}  # read, not widened


def _plain_int(v: Any) -> Any:
    """A numpy integer as a Python int (other values unchanged, for the public-input checks to judge)."""
    return int(v) if isinstance(v, np.integer) else v


def _as_array(source: str, name: str, values: Any) -> np.ndarray:
    """In-memory column values as a 1-D numpy array whose dtype ``_check_column`` judges. A list of Python
    ints is read exactly (numpy alone would turn ``[2**63, 1]`` into floats); anything else that is not an
    integer is refused naming its row."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        arr = values
    else:
        seq = values.tolist() if isinstance(values, np.ndarray) else values
        if not isinstance(seq, (list, tuple, range)):
            raise TraceError(f"{source}: column {name!r} is a {type(values).__name__}, not an array or a list")
        kinds = set(map(type, seq))
        if kinds <= {int, bool}:
            if seq and (min(seq) < 0 or max(seq) >= 2**64):
                obj = np.array(seq, dtype=object)
                r = int(np.flatnonzero((obj < 0) | (obj >= P))[0])
                v = int(obj[r])
                why = f"negative value {v}" if v < 0 else f"value {v} is not a field element (>= p)"
                raise TraceError(f"{source}: column {name!r} row {r}: {why}")
            arr = np.array(seq, dtype=np.uint64)
        elif all(issubclass(k, (int, np.integer, bool, np.bool_)) for k in kinds):
            return _as_array(source, name, [int(x) for x in seq])
        else:
            r = next(i for i, x in enumerate(seq) if not isinstance(x, (int, np.integer, bool, np.bool_)))
            what = "a float" if isinstance(seq[r], (float, np.floating)) else f"a {type(seq[r]).__name__}"
            raise TraceError(f"{source}: column {name!r} row {r}: {seq[r]!r} is {what}, not an integer field element")
    if arr.ndim != 1:
        raise TraceError(f"{source}: column {name!r} has shape {arr.shape}, not one value per row")
    return arr


def _meta_doc(
    public_inputs: dict[str, int] | None,
    meta: dict[str, Any] | None,
    public_tables: dict[str, list[tuple[int, ...]]] | None = None,
) -> dict[str, Any]:
    pis: dict[str, Any] = {k: str(int(v)) for k, v in (public_inputs or {}).items()}
    for k, rows in (public_tables or {}).items():
        pis[k] = [[str(int(x)) for x in r] for r in rows]
    return {"format": FORMAT, "public_inputs": pis, "meta": meta or {}}


def save_trace(
    path: str | Path,
    columns: dict[str, np.ndarray],
    public_inputs: dict[str, int] | None = None,
    meta: dict[str, Any] | None = None,
    public_tables: dict[str, list[tuple[int, ...]]] | None = None,
    *,
    compress: bool = True,
) -> Path:
    """Write ``columns`` (in their order) to ``path``; the suffix picks NPZ, CSV or Parquet, and a path ending
    in ``/`` (or an existing directory) a directory of ``.npy`` files. ``compress=False`` writes the NPZ's
    members stored, so ``load_trace`` memory-maps them (traces/FORMAT.md, "Large traces")."""
    as_dir = str(path).endswith(("/", os.sep)) or Path(path).is_dir()
    path = Path(path)
    cols = {k: np.asarray(v, dtype=np.uint64) for k, v in columns.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise TraceError(f"{path}: columns have different lengths {sorted(lengths)}")
    doc = _meta_doc(public_inputs, meta, public_tables)
    suffix = path.suffix.lower()
    if as_dir:
        bad = next((k for k in cols if "/" in k or os.sep in k or k.startswith(".") or k.startswith("__air")), None)
        if bad is not None:
            raise TraceError(f"{path}: column name {bad!r} cannot be a file name in a trace directory")
        path.mkdir(parents=True, exist_ok=True)
        for k, v in cols.items():
            np.save(path / f"{k}.npy", v.astype("<u8", copy=False))
        (path / f"{META_KEY}.json").write_text(json.dumps(doc))
        (path / f"{COLUMNS_KEY}.json").write_text(json.dumps(list(cols)))
    elif suffix == ".npz":
        arrays = dict(cols)
        arrays[META_KEY] = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
        arrays[COLUMNS_KEY] = np.frombuffer(json.dumps(list(cols)).encode(), dtype=np.uint8)
        if compress:
            write_npz(path, arrays)  # deflated on threads at the fastest level (numpy's savez_compressed: 20x slower)
        else:
            np.savez(path, **arrays)
    elif suffix == ".csv":
        n = lengths.pop() if lengths else 0
        names = list(cols)
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            as_lists = [v.tolist() for v in cols.values()]
            for i in range(n):
                w.writerow([c[i] for c in as_lists])
        Path(str(path) + ".meta.json").write_text(json.dumps(doc, indent=1))
    elif suffix == ".parquet":
        pa, pq = _pyarrow(path)
        table = pa.table({k: pa.array(v, type=pa.uint64()) for k, v in cols.items()})
        table = table.replace_schema_metadata({"air": json.dumps(doc)})
        pq.write_table(table, path)
    else:
        raise TraceError(f"{path}: unknown trace format {suffix!r} (use .npz, .csv or .parquet)")
    return path


def _pyarrow(path: Path) -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise TraceError(f"{path}: reading Parquet needs pyarrow (pip install 'air[parquet]')") from e
    return pa, pq


# --- limits -------------------------------------------------------------------------------------

MAX_TRACE_BYTES_DEFAULT = 8 << 30
"""Default bound on a trace's size in memory (rows x columns x 8 bytes); ``AIR_MAX_TRACE_BYTES`` overrides it."""
MAX_META_BYTES = 16 << 20  # a metadata document (NPZ entry, CSV sidecar, Parquet key)
MAX_NPY_HEADER = 10_000  # numpy's own default ``max_header_size``
MAX_MEMBERS = 1 << 16  # zip members in an NPZ archive
DEFLATE_MAX_RATIO = 1032  # deflate cannot inflate a stream more than this (258-byte matches in ~2 bits)
CHUNK = 1 << 20  # bytes inflated per read

_INT_TEXT = re.compile(r"(?:0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})\Z")


def max_trace_bytes() -> int:
    """The memory bound on one trace: ``AIR_MAX_TRACE_BYTES`` (bytes) if set, else 8 GiB."""
    env = os.environ.get("AIR_MAX_TRACE_BYTES")
    if env is None:
        return MAX_TRACE_BYTES_DEFAULT
    if not (env.isascii() and env.isdigit()):
        raise TraceError(f"AIR_MAX_TRACE_BYTES={env!r} is not a number of bytes")
    return int(env)


def _short(text: str | bytes, limit: int = 40) -> str:
    """``repr`` of a cell or name, cut to ``limit`` characters (with its full length) so a message stays short."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _check_shapes(
    path: Path, lengths: dict[str, int], require_pow2: bool, in_memory: dict[str, int] | None = None
) -> int:
    """The row count shared by every column, checked (equal, nonzero, a power of two, within the limit). The
    memory limit counts the columns held in memory (``in_memory``, default all): a memory-mapped one is
    paged in and out chunk by chunk."""
    if not lengths:
        raise TraceError(f"{path}: the file holds no columns")
    n = max(lengths.values())
    short = [k for k, v in lengths.items() if v != n]
    if short:
        raise TraceError(f"{path}: column {short[0]!r} has {lengths[short[0]]} rows, others have {n}")
    if n == 0:
        raise TraceError(f"{path}: the trace has no rows")
    if require_pow2 and n & (n - 1):
        raise TraceError(f"{path}: {n} rows is not a power of two (pad the trace, or pass --any-length)")
    held = len(lengths) if in_memory is None else len(in_memory)
    need, limit = n * held * 8, max_trace_bytes()
    if need > limit:
        raise TraceError(
            f"{path}: {n} rows x {held} columns need {need} bytes, over the limit of {limit} "
            "(set AIR_MAX_TRACE_BYTES to raise it)"
        )
    return n


# --- metadata -----------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"key {k!r} appears twice")
        d[k] = v
    return d


def _json(where: str, data: bytes) -> Any:
    """A JSON document from UTF-8 bytes (a BOM allowed); any problem is a ``TraceError`` naming ``where``."""
    if len(data) > MAX_META_BYTES:
        raise TraceError(f"{where}: {len(data)} bytes of JSON, over the limit of {MAX_META_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TraceError(f"{where}: not UTF-8 text (byte {e.start})") from e
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise TraceError(f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    except RecursionError as e:
        raise TraceError(f"{where}: JSON nested too deeply") from e
    except ValueError as e:  # a duplicate key, or an integer too long to convert
        raise TraceError(f"{where}: not valid JSON ({str(e).splitlines()[0]})") from e


MAX_TABLE_ROWS = 1 << 20


def _public_table(where: str, name: str, rows: list) -> list[tuple[int, ...]]:
    """A public table: a JSON array of rows, each a non-empty array of public-input integers of one width."""
    if len(rows) > MAX_TABLE_ROWS:
        raise TraceError(f"{where}: public table {name!r} has {len(rows)} rows, over the limit of {MAX_TABLE_ROWS}")
    out: list[tuple[int, ...]] = []
    for i, r in enumerate(rows):
        if not isinstance(r, list) or not r:
            raise TraceError(f"{where}: public table {name!r} row {i} is not a non-empty JSON array")
        if out and len(r) != len(out[0]):
            raise TraceError(f"{where}: public table {name!r} row {i} has {len(r)} values, row 0 has {len(out[0])}")
        out.append(tuple(_public_input(where, f"{name}[{i}]", v) for v in r))
    return out


def _public_input(where: str, name: str, v: Any) -> int:
    """A public input: a JSON integer or a string of ASCII decimal digits (or ``0x`` hex), ``0 <= v < p``."""
    if isinstance(v, float):
        raise TraceError(f"{where}: public input {name!r} = {v!r} is not an integer")
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise TraceError(
            f"{where}: public input {name!r} is a JSON {_json_type(v)}, not an integer or a decimal string"
        )
    if isinstance(v, str):
        if not _INT_TEXT.match(v):
            raise TraceError(
                f"{where}: public input {name!r} = {_short(v)} is not an integer (ASCII decimal digits, or 0x hex)"
            )
        iv = int(v, 16) if v[:2] in ("0x", "0X") else int(v)
    else:
        iv = v
    if not 0 <= iv < P:
        raise TraceError(f"{where}: public input {name!r} = {iv} is not a field element (0 <= v < p)")
    return iv


def load_public_inputs(path: str | Path) -> tuple[dict[str, int], dict[str, list[tuple[int, ...]]]]:
    """Public inputs from a JSON file (``air check --public``): an object ``{name: integer or decimal/0x
    string, table: [[row], ...]}``, read and checked as a trace's metadata ``public_inputs``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise TraceError(f"{p}: cannot read the public inputs ({type(e).__name__})") from None
    if len(data) > MAX_META_BYTES:
        raise TraceError(f"{p}: {len(data)} bytes of JSON, over the limit of {MAX_META_BYTES}")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TraceError(f"{p}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise TraceError(f"{p}: public inputs are a JSON {_json_type(doc)}, not an object")
    pis, _ = _parse_meta(str(p), {"public_inputs": doc})
    scalars = {k: v for k, v in pis.items() if not isinstance(v, list)}
    tables = {k: v for k, v in pis.items() if isinstance(v, list)}
    return scalars, tables


def _json_type(v: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if v is None else names.get(type(v), type(v).__name__)


def _parse_meta(where: str, doc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Public inputs and ``meta`` from the metadata document, every JSON type checked."""
    if not isinstance(doc, dict):
        raise TraceError(f"{where}: metadata is a JSON {_json_type(doc)}, not an object")
    unknown = sorted(set(doc) - {"format", "public_inputs", "meta"})
    if unknown:
        raise TraceError(f"{where}: metadata has an unknown key {unknown[0]!r} (known: format, meta, public_inputs)")
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        shown = _short(fmt) if isinstance(fmt, str) else f"a JSON {_json_type(fmt)}"
        raise TraceError(f"{where}: metadata format {shown} is not {FORMAT!r}")
    raw_pis = doc.get("public_inputs", {})
    if not isinstance(raw_pis, dict):
        raise TraceError(f"{where}: public_inputs is a JSON {_json_type(raw_pis)}, not an object")
    # a value is a public input, or a public table (a JSON array of rows, each an array of integers)
    pis = {
        k: _public_table(where, k, v) if isinstance(v, list) else _public_input(where, k, v) for k, v in raw_pis.items()
    }
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise TraceError(f"{where}: meta is a JSON {_json_type(meta)}, not an object")
    if "air" in meta and not (isinstance(meta["air"], str) and meta["air"]):
        raise TraceError(f"{where}: meta.air is a JSON {_json_type(meta['air'])}, not the name of an AIR")
    return pis, dict(meta)


def _column_order(where: str, doc: Any) -> list[str]:
    if not isinstance(doc, list) or not all(isinstance(c, str) for c in doc):
        raise TraceError(f"{where}: the column list is not a JSON array of strings")
    if len(set(doc)) != len(doc):
        dup = next(c for c in doc if doc.count(c) > 1)
        raise TraceError(f"{where}: the column list names {dup!r} twice")
    return doc


# --- columns ------------------------------------------------------------------------------------


def _check_column(path: Path, name: str, values: np.ndarray) -> np.ndarray:
    """Canonical uint64 from an array that was loaded; refuses floats, NaN, negatives, >= p. Copies
    only to widen (a native uint64 column is returned as is)."""
    kind = values.dtype.kind
    if kind == "f":
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.floor(values)))
        row = int(bad[0]) if len(bad) else 0
        raise TraceError(
            f"{path}: column {name!r} holds floating-point values (row {row}: {values[row]!r}); "
            "field elements must be integers"
        )
    if kind == "i":
        neg = values < 0
        if neg.any():
            r = int(neg.argmax())
            raise TraceError(f"{path}: column {name!r} row {r}: negative value {int(values[r])}")
        del neg
        values = values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64)
    elif kind == "u":
        values = values.astype(np.uint64, copy=False)
    elif kind == "b":
        values = values.astype(np.uint64)
    else:
        raise TraceError(f"{path}: column {name!r} has non-numeric type {values.dtype}")
    values = np.ascontiguousarray(values)
    _check_block(path, name, values, 0)
    return values


# --- NPZ ----------------------------------------------------------------------------------------

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
)
_DESCR = re.compile(r"([<>|=]?)([biufO])(\d*)\Z")
_NUMERIC = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


@dataclass
class _Npy:
    """One NPZ member whose NPY header was read: ``data`` bytes follow ``offset`` header bytes."""

    info: zipfile.ZipInfo
    key: str
    dtype: np.dtype
    length: int
    offset: int
    data: int


def _read_exact(f: Any, n: int, where: str) -> bytes:
    out = f.read(n)
    if len(out) != n:
        raise TraceError(f"{where}: truncated (ends after {len(out)} of {n} bytes)")
    return out


def _npy_header(
    path: Path,
    zf: zipfile.ZipFile | None,
    info: zipfile.ZipInfo,
    key: str,
    opener: Any = None,
    where: str | None = None,
) -> _Npy:
    """Parse a member's NPY header (bounded read) and check it against the zip directory's sizes (or, with
    ``opener``, a ``.npy`` file's header against the file's size)."""
    where = where or f"{path}: member {info.filename!r}"
    try:
        with (opener() if opener is not None else zf.open(info)) as f:  # type: ignore[union-attr]
            magic = f.read(8)
            if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
                raise TraceError(f"{where} is not NPY data (no \\x93NUMPY magic)")
            major, minor = magic[6], magic[7]
            if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
                raise TraceError(f"{where}: unsupported NPY version {major}.{minor}")
            size_len = 2 if major == 1 else 4
            hlen = int.from_bytes(_read_exact(f, size_len, where), "little")
            if hlen > MAX_NPY_HEADER:
                raise TraceError(f"{where}: NPY header of {hlen} bytes, over the limit of {MAX_NPY_HEADER}")
            raw = _read_exact(f, hlen, where)
    except TraceError:
        raise
    except _ZIP_ERRORS as e:
        raise TraceError(f"{where} is corrupt ({type(e).__name__}: {_first_line(e)})") from e
    try:
        text = raw.decode("utf-8" if major == 3 else "latin1")
        header = ast.literal_eval(text)
    except (UnicodeDecodeError, SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as e:
        raise TraceError(f"{where}: NPY header is not a Python literal") from e
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise TraceError(f"{where}: NPY header is not a dict of exactly 'descr', 'fortran_order', 'shape'")
    descr, shape = header["descr"], header["shape"]
    if not isinstance(header["fortran_order"], bool):
        raise TraceError(f"{where}: NPY header's fortran_order is not a bool")
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise TraceError(f"{where}: NPY header's shape {_short(repr(shape))} is not a tuple of sizes")
    m = _DESCR.match(descr) if isinstance(descr, str) else None
    if m and m.group(2) == "O":
        raise TraceError(f"{path}: entry {key!r} is an object array (it needs pickle to load); refused")
    if isinstance(descr, list):
        raise TraceError(f"{path}: entry {key!r} is a structured array, not a column")
    if m is None or m.group(2) + m.group(3) not in _NUMERIC:
        shown = _short(descr) if isinstance(descr, str) else f"a {type(descr).__name__}"
        raise TraceError(f"{path}: column {key!r} has non-numeric type {shown}")
    dtype = np.dtype(descr)
    if dtype.kind == "f":
        raise TraceError(
            f"{path}: column {key!r} holds floating-point values ({dtype}); field elements must be integers"
        )
    if len(shape) != 1:
        raise TraceError(f"{path}: column {key!r} is not one-dimensional (shape {_short(repr(shape))})")
    offset = 8 + size_len + hlen
    data = shape[0] * dtype.itemsize
    if info.file_size != offset + data:
        raise TraceError(
            f"{where}: its NPY header declares {shape[0]} x {dtype.itemsize} bytes of data, "
            f"its zip entry holds {info.file_size - offset}"
        )
    return _Npy(info, key, dtype, shape[0], offset, data)


def _npz_members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Members by key (name without ``.npy``), after the checks on the zip directory alone: no
    directories, no duplicates, stored or deflated, unencrypted, and sizes deflate can produce from
    the bytes the file really has (so inflation is bounded by about 1032 x the file's size)."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise TraceError(f"{path}: {len(infos)} zip members, over the limit of {MAX_MEMBERS}")
    on_disk = path.stat().st_size
    if sum(i.compress_size for i in infos) > on_disk:
        raise TraceError(f"{path}: the zip directory declares more compressed data than the file holds")
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        where = f"{path}: member {info.filename!r}"
        if info.is_dir():
            raise TraceError(f"{where} is a directory, not NPY data")
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if not key:
            raise TraceError(f"{where} has an empty name")
        if key in out:
            raise TraceError(f"{path}: entry {key!r} appears twice in the archive; refused")
        if info.flag_bits & 0x1:
            raise TraceError(f"{where} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise TraceError(f"{where}: stored with {info.compress_size} bytes but declares {info.file_size}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024:
                raise TraceError(
                    f"{where} declares {info.file_size} bytes from {info.compress_size} compressed: "
                    "more than deflate can produce"
                )
        else:
            raise TraceError(f"{where}: compression method {info.compress_type} (use stored or deflated)")
        out[key] = info
    return out


def _read_member(path: Path, zf: zipfile.ZipFile, npy: _Npy) -> np.ndarray:
    """The member's data, inflated chunk by chunk into one array of its declared size (CRC checked)."""
    where = f"{path}: member {npy.info.filename!r}"
    try:
        buf = np.empty(npy.data, dtype=np.uint8)
    except MemoryError as e:
        raise TraceError(f"{where}: not enough memory for its {npy.data} bytes") from e
    try:
        with zf.open(npy.info) as f:
            _read_exact(f, npy.offset, where)
            pos = 0
            while pos < npy.data:
                chunk = f.read(min(CHUNK, npy.data - pos))
                if not chunk:
                    raise TraceError(f"{where}: truncated (ends after {pos} of {npy.data} data bytes)")
                buf[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                pos += len(chunk)  # zipfile checks the CRC when the declared end is reached
    except TraceError:
        raise
    except _ZIP_ERRORS as e:
        raise TraceError(f"{where} is corrupt ({type(e).__name__}: {_first_line(e)})") from e
    if npy.dtype.kind == "b":  # a bool byte other than 0 or 1 would be read as True
        bad = buf > 1
        if bad.any():
            r = int(bad.argmax())
            raise TraceError(f"{path}: column {npy.key!r} row {r}: boolean byte {int(buf[r])} is neither 0 nor 1")
    return buf.view(npy.dtype)


def _load_npz(path: Path, require_pow2: bool) -> tuple[dict[str, Any], dict[str, int], dict[str, Any]]:
    """Read an NPZ archive without ``numpy.load``: every header and size is checked before any column
    is inflated, nothing is ever unpickled (object arrays are refused, as with ``allow_pickle=False``).
    The columns come back as ``_Task``s (``TraceLoad`` runs them on threads): each inflates or maps one member
    and validates it (CRC-32, every value < p)."""
    with path.open("rb") as fp:
        head = fp.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise TraceError(f"{path}: not a readable NPZ file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = _npz_members(path, zf)
            headers = {k: _npy_header(path, zf, info, k) for k, info in members.items()}
            special = {META_KEY: "metadata entry", COLUMNS_KEY: "column list"}
            docs: dict[str, Any] = {}
            for key, what in special.items():
                if key not in headers:
                    continue
                h = headers.pop(key)
                if h.dtype != np.uint8:
                    raise TraceError(f"{path}: the {what} {key!r} is not a uint8 array ({h.dtype})")
                if h.data > MAX_META_BYTES:
                    raise TraceError(f"{path}: the {what} {key!r} has {h.data} bytes, over the limit")
                docs[key] = _json(f"{path}: entry {key!r}", _read_member(path, zf, h).tobytes())
    except TraceError:
        raise
    except _ZIP_ERRORS as e:
        raise TraceError(f"{path}: not a readable NPZ file ({type(e).__name__}: {_first_line(e)})") from e
    pis, meta = _parse_meta(f"{path}: entry {META_KEY!r}", docs[META_KEY]) if META_KEY in docs else ({}, {})
    order = _column_order(f"{path}: entry {COLUMNS_KEY!r}", docs[COLUMNS_KEY]) if COLUMNS_KEY in docs else []
    lost = [c for c in order if c not in headers]
    if lost:
        raise TraceError(f"{path}: column {lost[0]!r} is in the column list but not in the archive")
    keys = order + [k for k in headers if k not in order]
    mappable = {k for k in keys if _mappable(headers[k])}
    in_memory = {k: headers[k].length for k in keys if k not in mappable}
    n = _check_shapes(path, {k: h.length for k, h in headers.items()}, require_pow2, in_memory)
    # the deflated uint64 columns are packed into one arena (one allocation: numpy asks for huge pages, ~800 page
    # faults for 600 MB where 71 separate buffers took ~150 000), each in its narrowest dtype; any other member alone
    wide = [k for k in keys if k not in mappable and headers[k].dtype == np.dtype("<u8")]
    arena = _Arena(len(wide), n) if wide else None
    packed = set(wide)
    cols: dict[str, Any] = {}
    fd = _Fd(path) if wide else None
    _isal()  # imported here, once, not on a loader thread
    for k in keys:
        h = headers[k]
        where = f"{path}: member {h.info.filename!r}"
        if k in mappable:
            cols[k] = _Task(where, _map_member, path, h)
        elif k in packed:
            try:  # the local headers are read here, a few bytes each; a bad one is this member's error, in its turn
                start: int | TraceError = _local_data_start(fd, path, h.info)  # type: ignore[arg-type]
            except TraceError as e:
                start = e
            cols[k] = _Task(where, _inflate_column, path, h, arena, fd, start)
        else:
            cols[k] = _Task(where, _read_column, path, h)
    return cols, pis, meta


class _Fd:
    """A file descriptor that the column tasks share (``os.pread`` needs no seek, so no lock); closed when the
    last task that holds it is freed."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    def pread(self, n: int, offset: int) -> bytes:
        out = os.pread(self.fd, n, offset) if hasattr(os, "pread") else self._seek_read(n, offset)
        return out

    def _seek_read(self, n: int, offset: int) -> bytes:  # pragma: no cover - Windows has no os.pread
        with _FD_LOCK:
            os.lseek(self.fd, offset, os.SEEK_SET)
            return os.read(self.fd, n)

    def __del__(self) -> None:
        os.close(self.fd)


_FD_LOCK = threading.Lock()


class _Task:
    """Deferred work that yields one validated column (a ``ColumnMap`` or a checked uint64 array); ``TraceLoad``
    runs it on a thread. A zip or zlib error is the member's ``TraceError`` ("... is corrupt")."""

    def __init__(self, where: str, fn: Any, *args: Any) -> None:
        self.where, self.fn, self.args = where, fn, args

    def __call__(self) -> Any:
        try:
            return self.fn(*self.args)
        except TraceError:
            raise
        except _ZIP_ERRORS as e:
            raise TraceError(f"{self.where} is corrupt ({type(e).__name__}: {_first_line(e)})") from e


def _read_column(path: Path, npy: _Npy) -> np.ndarray:
    """A member of another dtype than uint64 (bool, narrow or signed integers): read and widened, checked."""
    with zipfile.ZipFile(path) as zf:  # its own handle: this runs on a thread beside the others
        return _check_column(path, npy.key, _read_member(path, zf, npy))


def _local_data_start(fd: _Fd, path: Path, info: zipfile.ZipInfo) -> int:
    """Where a member's (compressed) bytes start: after its zip local header (30 bytes, the name and the extra
    field; APPNOTE.TXT 4.3.7), whose signature and compression method must agree with the directory."""
    where = f"{path}: member {info.filename!r}"
    local = fd.pread(30, info.header_offset)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise TraceError(f"{where} is corrupt (no local file header)")
    method, name_len, extra_len = struct.unpack("<H", local[8:10])[0], *struct.unpack("<HH", local[26:30])
    if method != info.compress_type:
        raise TraceError(f"{where} is corrupt (its local header says compression method {method})")
    return info.header_offset + 30 + name_len + extra_len


PIECE = 1 << 20  # bytes inflated per call when libz cannot be called directly (zlib.decompressobj)


class _Arena:
    """Where a loaded NPZ's deflated uint64 columns are kept, packed: one allocation with room for all of them as
    uint64, of which only the pages the packed columns fill are ever touched (numpy's large allocations are backed
    lazily), so the process holds the packed size. ``put`` copies a checked column in, in the narrowest unsigned
    dtype that holds its largest value; the loader's threads take their places under a lock. ``scratch`` is a
    thread's buffer to inflate into when the inflater cannot hand back the column's bytes (libz, zlib)."""

    ALIGN = 64

    def __init__(self, columns: int, rows: int) -> None:
        self._buf = np.empty(columns * (8 * rows + self.ALIGN), dtype=np.uint8)
        self._pos = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def put(self, values: np.ndarray, high: int) -> np.ndarray:
        dtype = narrowest(high)
        size = len(values) * dtype.itemsize
        with self._lock:
            start = -(-self._pos // self.ALIGN) * self.ALIGN
            self._pos = start + size
        if self._pos > len(self._buf):
            raise RuntimeError("trace arena overflow")  # pragma: no cover - room for every column as uint64
        out = self._buf[start : start + size].view(dtype)
        np.copyto(out, values, casting="unsafe")  # values <= high: the narrowing loses nothing
        return out

    def scratch(self, size: int) -> np.ndarray:
        buf = getattr(self._local, "buf", None)
        if buf is None or len(buf) < size:
            buf = self._local.buf = np.empty(size, dtype=np.uint8)
        return buf[:size]


def _inflate_column(path: Path, npy: _Npy, arena: _Arena, fd: _Fd, start: int | TraceError) -> np.ndarray:
    """A uint64 member inflated (or, stored, read), validated and packed into ``arena``: the CRC-32 of header and
    data against the zip directory (as zipfile checks it), every value < p. Never more than the declared size is
    produced (``avail_out``/``max_length``: a stream that inflates further is cut).
    Runs on a thread beside a main thread that runs Python: each call here that releases the GIL (the read, the
    inflate, the CRC, the max) has to win it back, so there are few of them (one of each)."""
    if isinstance(start, TraceError):
        raise start
    where = f"{path}: member {npy.info.filename!r}"
    raw = fd.pread(npy.info.compress_size, start)
    whole: Any = None
    if npy.info.compress_type == zipfile.ZIP_STORED:  # a small stored member (a large one is mapped)
        whole = raw
    elif (fast := _isal()) is not None:  # ISA-L: 3.7x zlib's inflate on a trace's columns, without the GIL
        try:
            whole = fast.decompressobj(-15).decompress(raw, npy.info.file_size)  # never more than declared
        except fast.error as e:  # ISA-L's own error type (not zlib.error)
            raise TraceError(f"{where} is corrupt (error: {_first_line(e)})") from e
    if whole is not None:  # the member's bytes in hand: the data is read where it lies, not copied
        head = np.frombuffer(whole, dtype=np.uint8, count=min(len(whole), npy.offset))
        data = np.frombuffer(whole, dtype=np.uint8, offset=len(head))[: npy.data]
        got_head, got = len(head), len(data)
    else:
        head = np.empty(npy.offset, dtype=np.uint8)
        data = arena.scratch(npy.data)
        z = _libz()
        got_head, got = z.inflate(raw, head, data) if z is not None else _inflate_pieces(raw, head, data)
    del raw
    if got_head < npy.offset or got < npy.data:
        raise TraceError(f"{where}: truncated (ends after {max(got, 0)} of {npy.data} data bytes)")
    if _crc32(data, _crc32(head)) != npy.info.CRC:
        raise TraceError(f"{where} is corrupt (BadZipFile: Bad CRC-32 for file {npy.info.filename!r})")
    values = data.view("<u8")
    return arena.put(values, _check_block(path, npy.key, values, 0))


def _isal() -> Any:
    """``isal.isal_zlib`` (the optional extra ``air[fast]``: Intel's ISA-L, zlib-compatible, releases the GIL), or
    None where it is not installed or ``AIR_NO_ISAL=1``."""
    if os.environ.get("AIR_NO_ISAL"):
        return None
    if not _ISAL:
        try:
            from isal import isal_zlib
        except ImportError:
            isal_zlib = None
        _ISAL.append(isal_zlib)
    return _ISAL[0]


_ISAL: list[Any] = []


def _crc32(data: Any, value: int = 0) -> int:
    """CRC-32 as zip stores it: ISA-L's where installed (3x zlib's), else zlib's; both release the GIL on a large
    buffer."""
    fast = _isal()
    return (fast.crc32 if fast is not None else zlib.crc32)(data, value)


def _inflate_pieces(comp: bytes, head: np.ndarray, buf: np.ndarray) -> tuple[int, int]:
    """Raw deflate ``comp`` into ``head`` then ``buf`` by ``zlib.decompressobj`` (bounded pieces); the bytes
    written to each."""
    d = zlib.decompressobj(-15)
    first = d.decompress(comp, len(head))
    head[: len(first)] = np.frombuffer(first, dtype=np.uint8)
    if len(first) < len(head):
        return len(first), 0
    src, pos, n = d.unconsumed_tail, 0, len(buf)
    while pos < n:
        piece = d.decompress(src, min(PIECE, n - pos))
        if not piece:
            break
        src = d.unconsumed_tail
        buf[pos : pos + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
        pos += len(piece)
    return len(head), pos


class _ZStream(ctypes.Structure):
    """zlib's ``z_stream`` (zlib.h); ``inflateInit2_`` refuses a size that is not its own (Z_VERSION_ERROR)."""

    _fields_ = [
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    ]


Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_FINISH = 0, 1, -5, 4


class _LibZ:
    """The system's libz called through ctypes, which releases the GIL for each call: a member inflates into its
    row in one call (zlib.decompressobj needs the GIL back between pieces and copies each into place, and a
    thread that waits for the GIL behind a busy main thread waits up to the switch interval, 5 ms, each time)."""

    def __init__(self, name: str) -> None:
        lib, held = ctypes.CDLL(name), ctypes.PyDLL(name)  # one library; PyDLL's calls keep the GIL (no wait after)
        held.zlibVersion.restype = ctypes.c_char_p
        held.inflateInit2_.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        held.inflateEnd.argtypes = [ctypes.POINTER(_ZStream)]
        held.inflate.argtypes = lib.inflate.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int]
        self.lib, self.held, self.version = lib, held, held.zlibVersion()
        probe = zlib.compressobj(6, zlib.DEFLATED, -15)
        text = b"air: libz probe " * 64
        raw = probe.compress(text) + probe.flush()
        out = np.empty(len(text), dtype=np.uint8)
        if self.inflate(raw, out[:16], out[16:]) != (16, len(text) - 16) or out.tobytes() != text:
            raise OSError("libz does not inflate as zlib does")

    def inflate(self, comp: bytes, head: np.ndarray, buf: np.ndarray) -> tuple[int, int]:
        """Raw deflate ``comp`` into ``head`` then ``buf``; the bytes written to each (a corrupt stream: zlib.error;
        a stream that ends, or whose input runs out, early: fewer bytes than asked)."""
        s = _ZStream()
        if self.held.inflateInit2_(ctypes.byref(s), -15, self.version, ctypes.sizeof(_ZStream)) != 0:
            raise zlib.error("inflateInit2 failed")
        try:
            src = ctypes.c_char_p(comp)  # comp's own bytes, no copy; src keeps them referenced during the calls
            s.next_in, s.avail_in = ctypes.cast(src, ctypes.c_void_p).value, len(comp)
            written, ended = [], False
            for dst, inflate in ((head, self.held.inflate), (buf, self.lib.inflate)):  # the header: a few bytes
                done = 0
                while done < len(dst) and not ended:
                    n = min(len(dst) - done, 1 << 30)  # avail_out is 32 bits
                    s.next_out, s.avail_out = dst.ctypes.data + done, n
                    r = inflate(ctypes.byref(s), Z_FINISH)
                    done += n - s.avail_out
                    if r not in (Z_OK, Z_STREAM_END, Z_BUF_ERROR):
                        raise zlib.error(f"Error {r} while decompressing data: {(s.msg or b'').decode('latin1')}")
                    ended = r == Z_STREAM_END or s.avail_out > 0  # all input was given: no further progress
                written.append(done)
            return written[0], written[1]
        finally:
            self.held.inflateEnd(ctypes.byref(s))


_LIBZ: list[_LibZ | None] = []
_LIBZ_LOCK = threading.Lock()


def _libz() -> _LibZ | None:
    """libz through ctypes, once per process (checked against zlib on a probe), or None where it cannot be
    loaded; ``AIR_NO_LIBZ=1`` forces the zlib.decompressobj path."""
    with _LIBZ_LOCK:
        if not _LIBZ:
            z = None
            if not os.environ.get("AIR_NO_LIBZ"):
                names = {"darwin": ["libz.dylib"], "win32": []}.get(sys.platform, ["libz.so.1", "libz.so"])
                for name in names:
                    try:
                        z = _LibZ(name)
                        break
                    except (OSError, AttributeError, zlib.error):
                        z = None
            _LIBZ.append(z)
        return _LIBZ[0]


MAP_MIN_BYTES = 1 << 20
"""A column stored uncompressed as little-endian uint64 with at least this many bytes is memory-mapped, not read."""
VALIDATE_ROWS = 1 << 20  # rows per block when a mapped column is validated (8 MiB of it in memory at a time)


def _mappable(h: _Npy) -> bool:
    return h.info.compress_type == zipfile.ZIP_STORED and h.dtype == np.dtype("<u8") and h.data >= MAP_MIN_BYTES


def _map_member(path: Path, h: _Npy) -> ColumnMap:
    """A stored member's data located in the file (``_local_data_start``), validated block by block with its
    CRC (as zipfile would check it on a read), never read whole."""
    where = f"{path}: member {h.info.filename!r}"
    fd = _Fd(path)
    start = _local_data_start(fd, path, h.info)
    head = fd.pread(h.offset, start)
    del fd
    size = path.stat().st_size
    if len(head) != h.offset or start + h.offset + h.data > size:
        raise TraceError(f"{where}: truncated (the file ends before its {h.data} data bytes)")
    cmap = ColumnMap(str(path), start + h.offset, h.length)
    crc = _crc32(head)
    buf = np.empty(min(VALIDATE_ROWS, h.length), dtype=np.uint64)  # one block, read into again and again
    for lo in range(0, h.length, VALIDATE_ROWS):
        block = buf[: min(VALIDATE_ROWS, h.length - lo)]
        cmap.read_into(block, lo)
        crc = _crc32(block, crc)
        _check_block(path, h.key, block, lo)
    if crc != h.info.CRC:
        raise TraceError(f"{where} is corrupt (BadZipFile: Bad CRC-32 for file {h.info.filename!r})")
    return cmap


def _check_block(path: Path | str, name: str, block: np.ndarray, first_row: int) -> int:
    """Refuse a value >= p in rows ``first_row ..`` of a uint64 column (the message ``_check_column`` gives); the
    block's largest value. One reduction (``max``, no temporary; numpy runs it without the GIL) decides; only a
    column that fails is searched."""
    high = block.max() if len(block) else np.uint64(0)
    if high < np.uint64(P):
        return int(high)
    big = block >= np.uint64(P)
    if big.any():
        r = int(big.argmax())
        raise TraceError(
            f"{path}: column {name!r} row {first_row + r}: value {int(block[r])} is not a field element (>= p)"
        )
    return int(high)  # pragma: no cover - max >= p means some value is


def _load_npy_dir(path: Path, require_pow2: bool) -> tuple[dict[str, Any], dict, dict]:
    """A directory of ``NAME.npy`` files (one column each) with an optional ``__air_meta__.json`` (the
    metadata document) and ``__air_columns__.json`` (the column order; otherwise the names' sorted order).
    A little-endian uint64 ``.npy`` is memory-mapped; any other integer dtype is read and checked."""
    files = {f.name[:-4]: f for f in path.iterdir() if f.name.endswith(".npy") and f.is_file()}
    if len(files) > MAX_MEMBERS:
        raise TraceError(f"{path}: {len(files)} .npy files, over the limit of {MAX_MEMBERS}")
    pis: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    side = path / f"{META_KEY}.json"
    if side.is_file():
        pis, meta = _parse_meta(str(side), _json(str(side), _bounded_read(side)))
    listed = path / f"{COLUMNS_KEY}.json"
    order = _column_order(str(listed), _json(str(listed), _bounded_read(listed))) if listed.is_file() else []
    lost = [c for c in order if c not in files]
    if lost:
        raise TraceError(f"{path}: column {lost[0]!r} is in the column list but has no file {lost[0]}.npy")
    keys = order + sorted(k for k in files if k not in order)
    headers: dict[str, tuple[np.dtype, int, int]] = {}
    for k in keys:
        headers[k] = _npy_file_header(files[k], k)
    in_memory = {k: n for k, (dt, n, _) in headers.items() if dt != np.dtype("<u8")}
    _check_shapes(path, {k: n for k, (_, n, _) in headers.items()}, require_pow2, in_memory)
    cols: dict[str, ColumnMap | np.ndarray] = {}
    for k in keys:
        dt, n, off = headers[k]
        if dt == np.dtype("<u8"):
            cols[k] = _Task(str(files[k]), _validate_map, files[k], k, ColumnMap(str(files[k]), off, n))
        else:
            raw = np.fromfile(files[k], dtype=np.uint8, offset=off, count=n * dt.itemsize)
            if dt.kind == "b" and (raw > 1).any():
                r = int((raw > 1).argmax())
                raise TraceError(f"{files[k]}: column {k!r} row {r}: boolean byte {int(raw[r])} is neither 0 nor 1")
            cols[k] = raw.view(dt)
    return cols, pis, meta


def _validate_map(f: Path, key: str, cmap: ColumnMap) -> ColumnMap:
    """A mapped ``.npy`` column checked block by block (every value < p), never read whole."""
    buf = np.empty(min(VALIDATE_ROWS, cmap.length), dtype=np.uint64)
    for lo in range(0, cmap.length, VALIDATE_ROWS):
        block = buf[: min(VALIDATE_ROWS, cmap.length - lo)]
        cmap.read_into(block, lo)
        _check_block(f, key, block, lo)
    return cmap


def _bounded_read(f: Path) -> bytes:
    size = f.stat().st_size
    if size > MAX_META_BYTES:
        raise TraceError(f"{f}: {size} bytes of JSON, over the limit of {MAX_META_BYTES}")
    return f.read_bytes()


def _npy_file_header(f: Path, key: str) -> tuple[np.dtype, int, int]:
    """A ``.npy`` file's dtype, length and data offset, by the same checks as an NPZ member's header."""
    info = zipfile.ZipInfo(f.name)
    info.file_size = f.stat().st_size
    h = _npy_header(f.parent, None, info, key, opener=lambda: f.open("rb"), where=str(f))
    return h.dtype, h.length, h.offset


def _first_line(e: BaseException) -> str:
    lines = str(e).splitlines()
    return (lines[0][:120] + ("..." if len(lines[0]) > 120 else "")) if lines else type(e).__name__


# --- CSV ----------------------------------------------------------------------------------------

_CELL = re.compile(rb"[ \t]*(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})[ \t]*\Z")
_CELL_CHARS = b"0123456789xXabcdefABCDEF \t"
_CSV_BYTES = np.zeros(256, dtype=bool)  # the bytes the data rows may hold
_CSV_BYTES[np.frombuffer(_CELL_CHARS + b",\r\n", dtype=np.uint8)] = True


def _csv_cell_error(path: Path, name: str, r: int, cell: bytes) -> TraceError:
    """Why one data cell is refused."""
    text = cell.decode("utf-8", "replace")
    s = cell.strip(b" \t")
    odd: str | None = next((c for c in text if c not in _CELL_CHARS.decode()), None)
    shown = "a byte that is not UTF-8" if odd == "\ufffd" else repr(odd)
    if not s:
        why = "an empty cell"
    elif b'"' in s:
        why = f"{_short(text)} is quoted (data cells are bare integers, and a quoted cell may not span lines)"
    elif odd is not None:
        why = f"{_short(text)} is not an integer (it holds {shown}; only ASCII decimal digits, or 0x hex)"
    elif s.isdigit() or (s[:2] in (b"0x", b"0X") and len(s) > 2 and b"x" not in s[2:].lower()):
        digits = s.decode() if len(s) <= 40 else f"{s[:40].decode()}... ({len(s)} characters)"
        why = f"value {digits} is not a field element (0 <= v < p)"
    else:
        why = f"{_short(text)} is not an integer (ASCII decimal digits, or 0x hex)"
    return TraceError(f"{path}: column {name!r} row {r}: {why}")


def _csv_row_error(path: Path, header: list[str], r: int, line: bytes) -> TraceError:
    """The first problem in data row ``r`` (the error path only: one line is re-read in Python)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    bad = next((i for i, b in enumerate(line) if not _CSV_BYTES[b] or b == 13), None)
    if bad is not None:  # a quote, a stray character: name its cell even when the cell count is off
        j = line.count(b",", 0, bad)
        name = header[j] if j < len(header) else f"#{j + 1} (beyond the header)"
        return _csv_cell_error(path, name, r, line.split(b",")[j])
    cells = line.split(b",")
    if len(cells) != len(header):
        if line == b"":
            return TraceError(f"{path}: row {r} is empty, the header has {len(header)} columns")
        return TraceError(f"{path}: row {r} has {len(cells)} cells, the header has {len(header)}")
    for name, cell in zip(header, cells):
        m = _CELL.match(cell)
        if m is None or int(m.group(1), 0 if m.group(1)[1:2] in (b"x", b"X") else 10) >= P:
            return _csv_cell_error(path, name, r, cell)
    return TraceError(f"{path}: row {r} is malformed")


def _csv_header(path: Path, line: bytes) -> list[str]:
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TraceError(f"{path}: the header is not UTF-8 text (byte {e.start})") from e
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as e:
        raise TraceError(f"{path}: the header is not a valid CSV line ({e}; a quoted name may not span lines)") from e
    header = [h.strip(" \t") for h in (rows[0] if rows else [])]
    if not header:
        raise TraceError(f"{path}: empty CSV header (no column names)")
    for j, h in enumerate(header):
        if not h:
            raise TraceError(f"{path}: header cell {j + 1} is an empty column name")
        if any(ord(c) < 32 or ord(c) == 127 for c in h):
            raise TraceError(f"{path}: column name {_short(h)} holds a control character")
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise TraceError(f"{path}: column {dup!r} appears twice in the header")
    return header


def _csv_values(path: Path, header: list[str], body: bytes) -> np.ndarray:
    """The data rows (``body``, ending in a line end) as an n x k uint64 array, every byte checked.
    Vectorized: the allowed bytes, line ends and cells per row are checked with numpy, decimal cells
    parsed in C; a row that fails is re-read alone for the message. Hex cells are parsed one by one."""
    k = len(header)
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)

    def row(r: int) -> bytes:
        return body[int(ends[r - 1]) + 1 if r else 0 : int(ends[r])]

    def fail_at(pos: int) -> TraceError:
        r = int(np.searchsorted(ends, pos))
        return _csv_row_error(path, header, r, row(r))

    bad = ~_CSV_BYTES[arr]
    if bad.any():
        raise fail_at(int(bad.argmax()))
    del bad
    cr = np.flatnonzero(arr == 13)
    stray = arr[cr + 1] != 10  # a carriage return only as part of a line end
    if stray.any():
        raise fail_at(int(cr[int(stray.argmax())]))
    commas = np.flatnonzero(arr == 44)
    per_row = np.diff(np.searchsorted(commas, ends), prepend=0)
    if (per_row != k - 1).any():
        raise fail_at(int(ends[int((per_row != k - 1).argmax())]))
    del arr, cr, stray, commas, per_row
    if b" " in body or b"\t" in body:
        inner = re.search(rb"[0-9a-fA-FxX][ \t]+[0-9a-fA-FxX]", body)  # a space inside a cell
        if inner:
            raise fail_at(inner.start())
        clean = body.translate(None, b" \t\r")
    else:
        clean = body.translate(None, b"\r")
    if clean.translate(None, b"0123456789,\n"):  # hex digits or x: cell by cell
        out: list[int] = []
        for r in range(len(ends)):
            line = row(r).rstrip(b"\r").split(b",")
            ms = [_CELL.match(c) for c in line]
            if any(m is None for m in ms):
                raise _csv_row_error(path, header, r, row(r))
            out.extend(int(g, 16) if g[1:2] in (b"x", b"X") else int(g) for g in (m.group(1) for m in ms))  # type: ignore[union-attr]
        vals = np.array([min(v, 2**64 - 1) for v in out], dtype=np.uint64)
    else:
        c = np.frombuffer(clean, dtype=np.uint8)
        seps = np.flatnonzero((c == 44) | (c == 10))
        width = np.diff(seps, prepend=-1) - 1
        wrong = (width < 1) | (width > 20)
        if wrong.any():
            r = int(wrong.argmax()) // k
            raise _csv_row_error(path, header, r, row(r))
        del c, seps, width, wrong
        text = clean.replace(b"\n", b",")[:-1].decode("ascii")
        del clean
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (and stops) where it cannot parse
            vals = np.fromstring(text, dtype=np.uint64, sep=",") if text else np.zeros(0, dtype=np.uint64)
        if len(vals) != len(ends) * k:
            raise TraceError(f"{path}: the data rows could not be parsed")
    vals = vals.reshape(len(ends), k)
    big = vals >= np.uint64(P)  # also a 20-digit value over 2^64, which the C parser saturates
    if big.any():
        r = int(big.argmax()) // k
        raise _csv_row_error(path, header, r, row(r))
    return vals


def _load_csv(path: Path, require_pow2: bool) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    """A strict CSV reader: a UTF-8 header line (a BOM allowed), then rows of bare integers."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark (spreadsheets write one)
        raw = raw[3:]
    if not raw:
        raise TraceError(f"{path}: empty CSV file (no header)")
    nl = raw.find(b"\n")
    header = _csv_header(path, raw if nl < 0 else raw[:nl])
    body = b"" if nl < 0 else raw[nl + 1 :]
    del raw
    if body and not body.endswith(b"\n"):
        body += b"\n"
    vals = _csv_values(path, header, body)
    del body
    cols = {h: np.ascontiguousarray(vals[:, j]) for j, h in enumerate(header)}
    del vals
    _check_shapes(path, {h: len(v) for h, v in cols.items()}, require_pow2)
    pis: dict[str, int] = {}
    meta: dict[str, Any] = {}
    side = Path(str(path) + ".meta.json")
    if side.exists():
        if not side.is_file():
            raise TraceError(f"{side}: not a file")
        size = side.stat().st_size
        if size > MAX_META_BYTES:
            raise TraceError(f"{side}: {size} bytes of JSON, over the limit of {MAX_META_BYTES}")
        pis, meta = _parse_meta(str(side), _json(str(side), side.read_bytes()))
    return cols, pis, meta


# --- Parquet ------------------------------------------------------------------------------------


def _load_parquet(path: Path, require_pow2: bool) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    """Parquet via pyarrow: names, types and the row count are checked from the footer before reading."""
    pa, pq = _pyarrow(path)
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        n_rows = pf.metadata.num_rows
    except Exception as e:  # pyarrow raises many types for a bad file
        raise TraceError(f"{path}: not a readable Parquet file ({type(e).__name__})") from e
    names = list(schema.names)
    if len(set(names)) != len(names):
        dup = next(h for h in names if names.count(h) > 1)
        raise TraceError(f"{path}: column {dup!r} appears twice")
    for f in schema:
        if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)):
            raise TraceError(f"{path}: column {f.name!r} has non-numeric type {f.type}")
    pis: dict[str, int] = {}
    meta: dict[str, Any] = {}
    md = schema.metadata or {}
    if b"air" in md:
        pis, meta = _parse_meta(f"{path}: metadata", _json(f"{path}: metadata", md[b"air"]))
    _check_shapes(path, {k: n_rows for k in names}, require_pow2)
    try:
        table = pf.read()
    except Exception as e:  # pyarrow raises many types for a bad file
        raise TraceError(f"{path}: not a readable Parquet file ({type(e).__name__})") from e
    if table.num_rows != n_rows:
        raise TraceError(f"{path}: the footer declares {n_rows} rows, the data holds {table.num_rows}")
    cols: dict[str, np.ndarray] = {}
    for name in names:
        col = table.column(name)
        if col.null_count:
            r = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise TraceError(f"{path}: column {name!r} row {r}: missing value (null)")
        cols[name] = col.to_numpy()
    return cols, pis, meta


def load_trace(path: str | Path, air: Air | None = None, *, require_pow2: bool = True) -> Trace:
    """Load and validate a trace; with ``air``, check its columns against the AIR's layout."""
    trace = open_trace(path, require_pow2=require_pow2).result()
    return trace if air is None else match_air(trace, air)


def open_trace(path: str | Path, *, require_pow2: bool = True) -> TraceLoad:
    """Start loading a trace: its metadata, headers and shapes are read and checked now (a ``TraceError`` here
    is the error ``load_trace`` gives), its columns are inflated or mapped and validated on threads while the
    caller goes on (e.g. building the AIR the metadata names); ``.result()`` waits for them."""
    path = Path(path)
    if path.is_dir():
        raw, pis, meta = _load_npy_dir(path, require_pow2)
    elif not path.is_file():
        raise TraceError(f"{path}: no such file")
    elif (suffix := path.suffix.lower()) == ".npz":
        raw, pis, meta = _load_npz(path, require_pow2)
    elif suffix == ".csv":
        raw, pis, meta = _load_csv(path, require_pow2)
    elif suffix == ".parquet":
        raw, pis, meta = _load_parquet(path, require_pow2)
    else:
        raise TraceError(f"{path}: unknown trace format {suffix!r} (use .npz, .csv or .parquet)")
    return TraceLoad(path, raw, pis, meta, require_pow2)


class TraceLoad:
    """A trace being loaded (``open_trace``): ``meta``, ``public_inputs`` and ``public_tables`` are known at once;
    ``result()`` waits for the columns and returns the ``Trace``, or raises the first problem in column order,
    the error a serial load raises (the columns still running are cancelled or left to finish, never used).

    The columns run on up to ``_cores()`` threads: raw deflate (libz through ctypes), ``zlib.crc32`` and numpy's
    ``max`` run without the GIL, so they proceed on the other core while the caller's thread runs Python."""

    def __init__(self, path: Path, raw: dict[str, Any], pis: dict[str, Any], meta: dict[str, Any], pow2: bool) -> None:
        self.path, self.meta, self._pow2 = path, meta, pow2
        self.public_inputs = {k: v for k, v in pis.items() if not isinstance(v, list)}
        self.public_tables = {k: v for k, v in pis.items() if isinstance(v, list)}
        self._raw = raw
        self._trace: Trace | None = None
        tasks = [k for k, v in raw.items() if isinstance(v, _Task)]
        workers = min(_cores(), len(tasks))
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future] = {}
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="air-load")
            self._futures = {k: self._pool.submit(raw[k]) for k in tasks}
            self._pool.shutdown(wait=False)  # the queued columns still run; the threads end with the queue

    def result(self) -> Trace:
        """The validated trace (computed once)."""
        if self._trace is None:
            cols: dict[str, np.ndarray] = {}
            maps: dict[str, ColumnMap] = {}
            try:
                for name, v in self._raw.items():
                    if isinstance(v, _Task):
                        v = self._futures[name].result() if name in self._futures else v()
                    else:
                        v = _check_column(self.path, name, v)  # read in the opening call (CSV, Parquet, .npy)
                    if isinstance(v, ColumnMap):
                        maps[name], v = v, v.rows(0, v.length)
                    cols[name] = v
            except BaseException:
                for f in self._futures.values():
                    f.cancel()
                raise
            n = _check_shapes(self.path, {name: len(v) for name, v in cols.items()}, self._pow2, {})
            self._raw, self._futures = {}, {}
            packed = any(v.dtype != np.uint64 for v in cols.values())
            self._trace = Trace(
                columns=PackedColumns(cols) if packed else cols,
                n_rows=n,
                public_inputs=self.public_inputs,
                meta=self.meta,
                source=str(self.path),
                public_tables=self.public_tables,
                maps=maps,
            )
        return self._trace


def match_air(trace: Trace, air: Air) -> Trace:
    """``trace`` checked against the AIR's layout: every column present; extra columns noted in meta."""
    missing = [c for c in air.column_names if c not in trace.columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise TraceError(f"{trace.source}: column {missing[0]!r} of AIR {air.name!r} is missing{more}")
    known = set(air.column_names)
    extra = [c for c in trace.columns if c not in known]
    if not extra:
        return trace
    return Trace(
        trace.columns,
        trace.n_rows,
        trace.public_inputs,
        dict(trace.meta, extra_columns=extra),
        trace.source,
        trace.public_tables,
        trace.maps,
    )
