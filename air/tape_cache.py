"""The tape cache: a check's compiled programs (``compile.Tape``, lowered and tabulated) stored as data, so that
``air check`` of an unchanged AIR does not lower them again (~0.3 s of the start of a check of the complete
Miden model, all of it holding the GIL).

An entry is one ``.npz`` file, written uncompressed and read with ``allow_pickle=False``: the tapes' arrays,
one member per kind (every tape's int64 ops one after the other, every tape's uint64 tables, ...), and one JSON
document (uint8 bytes) with each tape's slots, outputs, register counts and rows in each kind. Nothing in it is
code: every number the interpreter indexes with is range-checked when the tape is restored (``Tape.restored``),
and an entry that fails any check is ignored (then overwritten).

Its key, a SHA-256 computed by the caller (``air.chunked``), covers what the tapes depend on: the AIR's content key
(``air.cache.definition_key``: the package's files, the Python and sympy versions, the AIR's source), the family
selection, the cells found 0/1 on the trace (the tables are built around them), and each program's name.
Where, and how it is turned off: as the degree cache (``$AIR_CACHE_DIR``, ``AIR_NO_CACHE=1``, ``--no-cache``);
writes are atomic (a temporary file, then ``os.replace``); entries unused for 30 days are pruned.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from air.cache import PRUNE_AFTER, atomic_write, cache_dir

__all__ = ["FORMAT", "load", "store", "entry_path"]

FORMAT = 2  # bump when what is stored changes shape
_PREFIX = "tapes-"
MAX_ENTRY = 256 << 20  # bytes: a larger file is not a tape cache entry


def entry_path(key: str) -> Path:
    return cache_dir() / f"{_PREFIX}{key}.npz"


def load(key: str) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] | None:
    """The stored tapes under ``key``, as ``{name: (meta, arrays)}`` (``Tape.state``'s data), or None: no entry,
    or one that is not a well-formed entry of this format and key."""
    path = entry_path(key)
    try:
        if not path.is_file() or path.stat().st_size > MAX_ENTRY:
            return None
        with np.load(path, allow_pickle=False) as z:
            doc = json.loads(bytes(z["meta"]).decode("utf-8"))
            if type(doc) is not dict or doc.get("format") != FORMAT or doc.get("key") != key:
                return None
            tapes, kinds = doc["tapes"], doc["kinds"]
            if type(tapes) is not dict or type(kinds) is not list or any(type(k) is not str for k in kinds):
                return None
            packed = {k: z[f"a_{k}"] for k in kinds}
        at = dict.fromkeys(kinds, 0)
        out: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
        for name, meta in tapes.items():
            rows = meta.get("rows") if type(meta) is dict else None
            if type(rows) is not dict:
                return None
            arrays = {}
            for k, n in rows.items():
                if k not in packed or type(n) is not int or n < 0 or at[k] + n > len(packed[k]):
                    return None
                arrays[k] = packed[k][at[k] : at[k] + n]
                at[k] += n
            out[name] = (meta, arrays)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, zipfile.BadZipFile, RecursionError):
        return None
    try:
        os.utime(path)  # used now: pruning goes by the time of last use
    except OSError:
        pass
    return out


def store(key: str, tapes: Mapping[str, tuple[dict[str, Any], Mapping[str, np.ndarray]]]) -> bool:
    """Write ``{name: (meta, arrays)}`` under ``key``, atomically; False when it could not."""
    try:
        # the arrays of one kind (every tape's ops, every tape's tables, ...) as one array each: an npz member costs
        # ~0.25 ms to open, and the complete Miden model has ~200 tapes
        doc: dict[str, Any] = {"format": FORMAT, "key": key, "tapes": {}}
        parts: dict[str, list[np.ndarray]] = {}
        for name, (meta, arrs) in tapes.items():
            doc["tapes"][name] = dict(meta, rows={a: len(v) for a, v in arrs.items()})
            for a, v in arrs.items():
                parts.setdefault(a, []).append(np.asarray(v))
        doc["kinds"] = sorted(parts)
        arrays = {f"a_{a}": np.concatenate(v) for a, v in parts.items()}
        arrays["meta"] = np.frombuffer(json.dumps(doc, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)
    except (TypeError, ValueError):
        return False
    target = entry_path(key)
    if not atomic_write(target, f".{_PREFIX}", lambda f: np.savez(f, **arrays)):
        return False
    _prune(target.parent)
    return True


def _prune(directory: Path, now: float | None = None) -> None:
    """Delete entries unused for ``PRUNE_AFTER`` seconds, and temporary files a killed run left over a day ago."""
    import time

    now = time.time() if now is None else now
    try:
        for f in directory.iterdir():
            entry = f.name.startswith(_PREFIX) and f.suffix == ".npz"
            if entry or (f.name.startswith(("plan-", "selection-")) and f.suffix == ".json"):
                old = PRUNE_AFTER
            elif f.name.startswith(f".{_PREFIX}") and f.suffix == ".tmp":
                old = 86400
            else:
                continue
            if now - f.stat().st_mtime > old:
                f.unlink()
    except OSError:
        pass


def _doc_path(name: str) -> Path:
    return cache_dir() / f"{name}.json"


def load_doc(name: str) -> Any:
    """The JSON document stored as ``name`` (``store_doc``), or None (none, unreadable, not JSON)."""
    path = _doc_path(name)
    try:
        if not path.is_file() or path.stat().st_size > MAX_ENTRY:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return doc


def store_doc(name: str, doc: Any) -> bool:
    """Write ``doc`` as JSON under ``name``, atomically; False when it could not."""
    try:
        text = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):
        return False
    return atomic_write(_doc_path(name), f".{_PREFIX}", lambda f: f.write(text))
