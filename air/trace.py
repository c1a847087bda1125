"""Trace files: NPZ, CSV and Parquet, with column names in the file and precise load errors.

A trace is a set of named main-trace columns of equal length holding canonical Goldilocks elements
(integers ``0 <= v < p``), plus public inputs and free-form metadata. The format is documented in
``traces/FORMAT.md``. Every problem is a ``TraceError`` whose one-line message names the file and,
where it applies, the column and row. NPZ files are always opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from air.air import Air
from air.field import P

__all__ = ["Trace", "TraceError", "load_trace", "save_trace", "META_KEY"]

META_KEY = "__air_meta__"  # NPZ entry holding the JSON metadata as uint8 bytes


class TraceError(ValueError):
    """A trace file that cannot be used; the message is one line naming file, column and row."""


@dataclass
class Trace:
    columns: dict[str, np.ndarray]
    n_rows: int
    public_inputs: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    def column(self, name: str) -> np.ndarray:
        return self.columns[name]

    def row(self, i: int) -> dict[str, int]:
        return {k: int(v[i]) for k, v in self.columns.items()}


def _meta_doc(public_inputs: dict[str, int] | None, meta: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "format": "air-trace/1",
        "public_inputs": {k: str(int(v)) for k, v in (public_inputs or {}).items()},
        "meta": meta or {},
    }


def save_trace(
    path: str | Path,
    columns: dict[str, np.ndarray],
    public_inputs: dict[str, int] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``columns`` (in their order) to ``path``; the suffix picks NPZ, CSV or Parquet."""
    path = Path(path)
    cols = {k: np.asarray(v, dtype=np.uint64) for k, v in columns.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise TraceError(f"{path}: columns have different lengths {sorted(lengths)}")
    doc = _meta_doc(public_inputs, meta)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = dict(cols)
        arrays[META_KEY] = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
        arrays["__air_columns__"] = np.frombuffer(json.dumps(list(cols)).encode(), dtype=np.uint8)
        np.savez_compressed(path, **arrays)
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


def _parse_meta(path: Path, doc: Any) -> tuple[dict[str, int], dict[str, Any]]:
    if not isinstance(doc, dict):
        raise TraceError(f"{path}: metadata is not a JSON object")
    pis: dict[str, int] = {}
    for k, v in (doc.get("public_inputs") or {}).items():
        try:
            iv = int(v)
        except (TypeError, ValueError) as e:
            raise TraceError(f"{path}: public input {k!r} is not an integer: {v!r}") from e
        if not 0 <= iv < P:
            raise TraceError(f"{path}: public input {k!r} = {iv} is not a field element (0 <= v < p)")
        pis[k] = iv
    return pis, dict(doc.get("meta") or {})


def _check_column(path: Path, name: str, values: np.ndarray) -> np.ndarray:
    """Canonical uint64 from an array that numpy loaded; refuses floats, NaN, negatives, >= p."""
    kind = values.dtype.kind
    if kind == "f":
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.floor(values)))
        row = int(bad[0]) if len(bad) else 0
        raise TraceError(
            f"{path}: column {name!r} holds floating-point values (row {row}: {values[row]!r}); "
            "field elements must be integers"
        )
    if kind == "i":
        neg = np.flatnonzero(values < 0)
        if len(neg):
            r = int(neg[0])
            raise TraceError(f"{path}: column {name!r} row {r}: negative value {int(values[r])}")
        values = values.astype(np.uint64)
    elif kind == "u":
        values = values.astype(np.uint64)
    elif kind == "b":
        values = values.astype(np.uint64)
    else:
        raise TraceError(f"{path}: column {name!r} has non-numeric type {values.dtype}")
    big = np.flatnonzero(values >= np.uint64(P))
    if len(big):
        r = int(big[0])
        raise TraceError(f"{path}: column {name!r} row {r}: value {int(values[r])} is not a field element (>= p)")
    return np.ascontiguousarray(values)


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise TraceError(f"{path}: not a readable NPZ file ({type(e).__name__})") from e
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise TraceError(f"{path}: not an NPZ archive")
    with z:
        pis: dict[str, int] = {}
        meta: dict[str, Any] = {}
        order: list[str] | None = None
        cols: dict[str, np.ndarray] = {}
        for key in z.files:
            try:
                arr = z[key]
            except ValueError as e:  # object arrays need pickle: refused
                raise TraceError(f"{path}: entry {key!r} needs pickle to load; refused") from e
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise TraceError(f"{path}: entry {key!r} is corrupt ({type(e).__name__})") from e
            if key == META_KEY:
                try:
                    pis, meta = _parse_meta(path, json.loads(arr.tobytes().decode()))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    raise TraceError(f"{path}: metadata entry is not valid JSON") from e
                continue
            if key == "__air_columns__":
                try:
                    order = list(json.loads(arr.tobytes().decode()))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    raise TraceError(f"{path}: column list is not valid JSON") from e
                continue
            if arr.ndim != 1:
                raise TraceError(f"{path}: column {key!r} is not one-dimensional (shape {arr.shape})")
            cols[key] = arr
    if order:
        cols = {k: cols[k] for k in order if k in cols} | {k: v for k, v in cols.items() if k not in order}
    return cols, pis, meta


def _load_csv(path: Path) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise TraceError(f"{path}: not a text CSV file") from e
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise TraceError(f"{path}: empty CSV file (no header)")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise TraceError(f"{path}: column {dup!r} appears twice in the header")
    data: list[list[int]] = [[] for _ in header]
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise TraceError(f"{path}: row {r} has {len(row)} cells, the header has {len(header)}")
        for j, cell in enumerate(row):
            s = cell.strip()
            try:
                v = int(s, 0) if s.lower().startswith("0x") else int(s)
            except ValueError as e:
                raise TraceError(f"{path}: column {header[j]!r} row {r}: {cell!r} is not an integer") from e
            if not 0 <= v < P:
                raise TraceError(f"{path}: column {header[j]!r} row {r}: value {v} is not a field element (0 <= v < p)")
            data[j].append(v)
    cols = {h: np.array(d, dtype=np.uint64) for h, d in zip(header, data)}
    pis: dict[str, int] = {}
    meta: dict[str, Any] = {}
    side = Path(str(path) + ".meta.json")
    if side.exists():
        try:
            pis, meta = _parse_meta(side, json.loads(side.read_text()))
        except json.JSONDecodeError as e:
            raise TraceError(f"{side}: not valid JSON ({e.msg} at line {e.lineno})") from e
    return cols, pis, meta


def _load_parquet(path: Path) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    pa, pq = _pyarrow(path)
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises many types for a bad file
        raise TraceError(f"{path}: not a readable Parquet file ({type(e).__name__})") from e
    cols: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        if col.null_count:
            r = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise TraceError(f"{path}: column {name!r} row {r}: missing value (null)")
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise TraceError(f"{path}: column {name!r} has non-numeric type {col.type}")
        cols[name] = col.to_numpy()
    pis: dict[str, int] = {}
    meta: dict[str, Any] = {}
    md = table.schema.metadata or {}
    if b"air" in md:
        try:
            pis, meta = _parse_meta(path, json.loads(md[b"air"].decode()))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise TraceError(f"{path}: metadata is not valid JSON") from e
    return cols, pis, meta


def load_trace(path: str | Path, air: Air | None = None, *, require_pow2: bool = True) -> Trace:
    """Load and validate a trace; with ``air``, check its columns against the AIR's layout."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raw, pis, meta = _load_npz(path)
    elif suffix == ".csv":
        raw, pis, meta = _load_csv(path)
    elif suffix == ".parquet":
        raw, pis, meta = _load_parquet(path)
    else:
        raise TraceError(f"{path}: unknown trace format {suffix!r} (use .npz, .csv or .parquet)")
    if not raw:
        raise TraceError(f"{path}: the file holds no columns")
    cols = {name: _check_column(path, name, v) for name, v in raw.items()}
    lengths = {name: len(v) for name, v in cols.items()}
    n = max(lengths.values())
    short = [k for k, v in lengths.items() if v != n]
    if short:
        raise TraceError(f"{path}: column {short[0]!r} has {lengths[short[0]]} rows, others have {n}")
    if n == 0:
        raise TraceError(f"{path}: the trace has no rows")
    if require_pow2 and n & (n - 1):
        raise TraceError(f"{path}: {n} rows is not a power of two (pad the trace, or pass --any-length)")
    trace = Trace(columns=cols, n_rows=n, public_inputs=pis, meta=meta, source=str(path))
    return trace if air is None else match_air(trace, air)


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
    return Trace(trace.columns, trace.n_rows, trace.public_inputs, dict(trace.meta, extra_columns=extra), trace.source)
