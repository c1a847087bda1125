"""The degree cache: an AIR's analysis (``air.analysis.analyze``) stored as JSON, keyed by the content of
what defines the AIR, so that ``air degrees`` / ``compare`` / ``gate`` on an unchanged definition print from
it without importing sympy or running the builder.

The key is a SHA-256 over:

* always: the cache format, the Python version (major.minor), sympy's version (its ``release.py``, read
  without importing sympy: the degree arithmetic is sympy's), and every file of the ``air`` package (its
  source: the engine, the built-in designs, anything a builder imports from it). The package's own version
  number is not read (``importlib.metadata`` alone costs ~0.05 s of start-up): its files are hashed, which
  is finer. Hashing the whole package is conservative: a change to any of its files, even one the analysis
  never reads, only costs one cold run;
* a built-in AIR (``air airs``): its name and its catalog target (a registered target outside the ``air``
  package is not cached);
* ``path/file.py:OBJECT``: the file's resolved path, its content and ``OBJECT``; the entry also lists every
  other Python file outside the standard library, the installed packages and ``air`` that was imported
  when the AIR was built (a helper module of the user's), with its hash, and a lookup re-hashes them: a
  changed or missing one is a miss. Not tracked: data files the builder reads, environment variables;
  pass ``--no-cache`` (or set ``AIR_NO_CACHE=1``) for such a builder;
* ``path/x.air`` (AirScript): its resolved path and every ``*.air`` file of its directory (names and
  contents), since a root may import any of its siblings;
* ``module:OBJECT`` is never cached: finding its file means importing its package, which runs code.

Where: ``$AIR_CACHE_DIR``, else ``~/.cache/air``; ``AIR_NO_CACHE=1`` (or the commands' ``--no-cache``) turns
it off. A cache file is data only (JSON; never pickle): it is parsed, every field type-checked, its embedded
key compared with the one computed; a corrupt, foreign or stale file is ignored (then overwritten). Writes
go to a temporary file in the same directory, then ``os.replace``: a reader sees a whole old file or a whole
new one, so concurrent runs are safe (they write the same content). An unwritable cache directory is not an
error: the analysis is computed and printed as without a cache. A hit marks its entry used (mtime); writing an
entry deletes those unused for 30 days, so a cache does not grow with every edit of a definition.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from air.analysis import AirSummary, Analysis, BusDegree, ConstraintDegree, OperationDegree
from air.records import TermDegree

__all__ = ["cache_dir", "cache_enabled", "cache_key", "definition_key", "lookup", "store", "cached_analysis", "FORMAT"]

FORMAT = 2  # bump when the stored JSON changes shape
_PKG = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """``$AIR_CACHE_DIR``, else ``~/.cache/air``."""
    env = os.environ.get("AIR_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "air"


def cache_enabled(no_cache: bool = False) -> bool:
    """Off with ``--no-cache`` or ``AIR_NO_CACHE`` set to anything but ``""``/``0``."""
    return not no_cache and os.environ.get("AIR_NO_CACHE", "") in ("", "0")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sympy_release() -> bytes:
    """sympy's ``release.py`` (its ``__version__``), found without importing sympy; empty if not found."""
    from importlib.util import find_spec

    spec = find_spec("sympy")
    for d in (spec.submodule_search_locations or []) if spec else []:
        f = Path(d, "release.py")
        if f.is_file():
            return f.read_bytes()
    return b""


def _package_files() -> list[tuple[str, str]]:
    """(path relative to the package, absolute path) of every file of the ``air`` package but bytecode."""
    out = []
    for d, dirs, files in os.walk(_PKG):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        rel = os.path.relpath(d, _PKG)
        for f in files:
            if not f.endswith((".pyc", ".pyo")):
                out.append((f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"), os.path.join(d, f)))
    return sorted(out)


@lru_cache(maxsize=1)
def _package_digest() -> str:
    """The format, the Python and sympy versions, and every file of the ``air`` package, path and content."""
    h = hashlib.sha256(f"format={FORMAT}\npython={sys.version_info[0]}.{sys.version_info[1]}\n".encode())
    h.update(_sympy_release())
    for rel, path in _package_files():
        with open(path, "rb") as f:
            data = f.read()
        h.update(f"\0{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _builtin_target(spec: str) -> str | None:
    from air.registry import catalog

    for e in catalog():
        if e.name == spec:
            return e.target
    return None


def _source_parts(spec: str) -> list[str] | None:
    """What besides the package defines the AIR ``spec`` (see the module docstring), or None: not cached."""
    target = _builtin_target(spec)
    if target is not None:
        return ["builtin", spec, target] if target.startswith("air.") else None
    path_part, sep, obj = spec.rpartition(":")
    if spec.endswith(".air") or (sep and path_part.endswith(".air")):
        root = Path(spec if spec.endswith(".air") else path_part).resolve()
        if not root.is_file():
            return None
        parts = ["airscript", str(root), obj if sep and not spec.endswith(".air") else ""]
        for f in sorted(root.parent.glob("*.air")):
            if f.is_file():
                parts += [f.name, _sha(f.read_bytes())]
        return parts
    if sep and path_part and obj and (path_part.endswith(".py") or "/" in path_part):
        path = Path(path_part).resolve()
        if not path.is_file():
            return None
        return ["file", str(path), obj, _sha(path.read_bytes())]
    return None  # module:OBJECT, or not an AIR name at all


def _keyed(spec: str) -> tuple[str, str] | None:
    """(content key, kind of source) of the AIR ``spec``, or None when it is not cached or a file of it
    cannot be read (the load then reports it)."""
    try:
        parts = _source_parts(spec)
        if parts is None:
            return None
        return _sha("\0".join([_package_digest(), *parts]).encode()), parts[0]
    except (OSError, ValueError):
        return None


def definition_key(spec: str) -> str | None:
    """The content key of ``spec`` when it covers every file the definition can read: a built-in AIR or an AirScript
    root (its directory's ``.air`` files). None for a Python file AIR (a helper module it imports is tracked by the
    degree cache's lookup, not by this key) and for what is not cached. The tape cache (``air.tape_cache``) uses it."""
    keyed = _keyed(spec)
    return keyed[0] if keyed is not None and keyed[1] in ("builtin", "airscript") else None


def cache_key(spec: str) -> str | None:
    """The content key of the AIR ``spec`` (module docstring), or None when such an AIR is not cached."""
    keyed = _keyed(spec)
    return keyed[0] if keyed else None


def _entry_path(key: str) -> Path:
    return cache_dir() / f"analysis-{key}.json"


# ---- the analysis as JSON, and back (every field type-checked: a file is data, never trusted) ----


def _summary_json(air: Any) -> dict[str, Any]:
    return {
        "name": air.name,
        "description": air.description,
        "budget": air.budget,
        "layout": [c if isinstance(c, str) else c.name for c in air.layout],
        "groups": [[g, n] for g, n in air.groups().items()],
        # attributes some AIRs carry (read with getattr by the reports and the gate): kept, so a hit reads the same
        "declared_degrees": [[k, d, w] for k, (d, w) in (getattr(air, "declared_degrees", None) or {}).items()],
        "gate_claims": bool(getattr(air, "gate_claims", False)),
    }


def analysis_to_json(a: Analysis) -> dict[str, Any]:
    """Everything the degree reports read of ``a``, as plain JSON."""
    return {
        "air": _summary_json(a.air),
        "constraints": [
            [
                c.name,
                c.domain,
                c.degree,
                c.structural_degree,
                c.flag_degree,
                c.body_degree,
                c.claimed_degree,
                c.operation,
                list(c.tags),
                c.budget,
            ]
            for c in a.constraints
        ],
        "operations": [
            [o.name, o.opcode, o.flag_class, o.flag_degree, o.degree, list(o.constraints), o.budget]
            for o in a.operations
        ],
        "buses": [
            [
                b.name,
                b.kind,
                b.degree,
                b.claimed_degree,
                [
                    [
                        t.bus,
                        t.name,
                        t.side,
                        t.operation,
                        t.flag_degree,
                        [[n, d] for n, d in t.factors],
                        t.claimed_degree,
                        t.constraint_degree,
                    ]
                    for t in b.terms
                ],
            ]
            for b in a.buses
        ],
        "notes": list(a.notes),
        "inexact": list(a.inexact),
    }


class _Bad(ValueError):
    """A cache file that is not what this version writes."""


def _is_int(v: object) -> bool:
    return type(v) is int


def _int(v: object) -> int:
    if not _is_int(v):
        raise _Bad("int")
    return v  # type: ignore[return-value]


def _opt_int(v: object) -> int | None:
    return None if v is None else _int(v)


def _bool(v: object) -> bool:
    if type(v) is not bool:
        raise _Bad("bool")
    return v  # type: ignore[return-value]


def _str(v: object) -> str:
    if type(v) is not str:
        raise _Bad("str")
    return v


def _opt_str(v: object) -> str | None:
    return None if v is None else _str(v)


def _list(v: object, n: int | None = None) -> list[Any]:
    if type(v) is not list or (n is not None and len(v) != n):
        raise _Bad("list")
    return v


def _strs(v: object) -> tuple[str, ...]:
    return tuple(_str(x) for x in _list(v))


def _each(v: object, n: int, make: Callable[[list[Any]], Any]) -> list[Any]:
    return [make(_list(row, n)) for row in _list(v)]


def _term(r: list[Any]) -> TermDegree:
    factors = tuple((_str(f[0]), _int(f[1])) for f in (_list(x, 2) for x in _list(r[5])))
    return TermDegree(
        _str(r[0]), _str(r[1]), _str(r[2]), _opt_str(r[3]), _int(r[4]), factors, _opt_int(r[6]), _int(r[7])
    )


def analysis_from_json(doc: object) -> Analysis:
    """The analysis ``analysis_to_json`` wrote; ``ValueError`` on anything else."""
    if type(doc) is not dict:
        raise _Bad("object")
    s = doc["air"]
    if type(s) is not dict:
        raise _Bad("air")
    summary = AirSummary(
        name=_str(s["name"]),
        description=_str(s["description"]),
        budget=_opt_int(s["budget"]),
        layout=_strs(s["layout"]),
        column_groups=tuple((_str(g[0]), _int(g[1])) for g in (_list(x, 2) for x in _list(s["groups"]))),
        declared_degrees={
            _str(k): (_int(d), _str(w)) for k, d, w in (_list(x, 3) for x in _list(s["declared_degrees"]))
        },
        gate_claims=_bool(s["gate_claims"]),
    )
    cons = _each(
        doc["constraints"],
        10,
        lambda r: ConstraintDegree(
            _str(r[0]),
            _str(r[1]),
            _int(r[2]),
            _int(r[3]),
            _opt_int(r[4]),
            _opt_int(r[5]),
            _opt_int(r[6]),
            _opt_str(r[7]),
            _strs(r[8]),
            _opt_int(r[9]),
        ),
    )
    ops = _each(
        doc["operations"],
        7,
        lambda r: OperationDegree(
            _str(r[0]), _opt_int(r[1]), _str(r[2]), _int(r[3]), _opt_int(r[4]), _strs(r[5]), _opt_int(r[6])
        ),
    )
    buses = _each(
        doc["buses"],
        5,
        lambda r: BusDegree(
            _str(r[0]), _str(r[1]), _int(r[2]), _opt_int(r[3]), tuple(_term(_list(t, 8)) for t in _list(r[4]))
        ),
    )
    return Analysis(summary, cons, ops, buses, list(_strs(doc["notes"])), list(_strs(doc["inexact"])))


# ---- files ----


def _excluded_roots() -> list[str]:
    """Where modules whose files the cache does not track live: the ``air`` package (in the key), the standard
    library and the installed packages (versioned), and the scripts directory (the ``air`` launcher)."""
    import sysconfig

    roots = {str(_PKG)}
    for name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        p = sysconfig.get_paths().get(name)
        if p:
            roots.add(str(Path(p).resolve()))
    return sorted(roots)


def imported_user_files() -> list[str]:
    """The resolved paths of every imported module's file outside ``_excluded_roots()``, sorted."""
    roots = _excluded_roots()
    out = set()
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if name == "__main__" or not isinstance(f, str):
            continue
        p = str(Path(f).resolve())
        if not any(p == r or p.startswith(r + os.sep) for r in roots):
            out.add(p)
    return sorted(out)


def lookup(spec: str, key: str | None = None) -> Analysis | None:
    """The cached analysis of ``spec``, or None (no key, no file, or a file that is corrupt, foreign or stale)."""
    key = key or cache_key(spec)
    if key is None:
        return None
    try:
        doc = json.loads(_entry_path(key).read_text(encoding="utf-8"))
        if type(doc) is not dict or doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        for dep in _list(doc["deps"]):
            path, digest = _list(dep, 2)
            f = Path(_str(path))
            if not f.is_file() or _sha(f.read_bytes()) != digest:  # a regular file only: never a device or FIFO
                return None
        a = analysis_from_json(doc["analysis"])
    except (OSError, ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
    try:
        os.utime(_entry_path(key))  # used now: pruning (``_prune``) goes by the time of last use
    except OSError:
        pass  # a read-only cache still serves
    return a


def store(spec: str, a: Analysis, deps: Sequence[str] = (), key: str | None = None) -> bool:
    """Write the analysis of ``spec`` (with the hashes of ``deps``) under ``key`` (default: computed now),
    atomically; False when it could not (no key, an unwritable directory)."""
    key = key or cache_key(spec)
    if key is None:
        return False
    try:
        doc = {
            "format": FORMAT,
            "key": key,
            "spec": spec,
            "deps": [[p, _sha(Path(p).read_bytes())] for p in deps],
            "analysis": analysis_to_json(a),
        }
        text = json.dumps(doc, separators=(",", ":"))
    except (OSError, TypeError, ValueError):
        return False
    target = _entry_path(key)
    if not atomic_write(target, ".analysis-", lambda f: f.write(text.encode("utf-8"))):
        return False
    _prune(target.parent)
    return True


def atomic_write(target: Path, prefix: str, write: Callable[[Any], Any]) -> bool:
    """Write ``target`` whole or not at all: ``write(f)`` fills a temporary binary file in its directory, which
    then replaces it (``os.replace``: a reader sees the old file or the new one). False when it could not (an
    unwritable directory, a full disk); the temporary file is removed."""
    import tempfile

    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
        return True
    except (OSError, TypeError, ValueError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


PRUNE_AFTER = 30 * 86400  # s: an entry unused this long is deleted when another is written


def _prune(directory: Path, now: float | None = None) -> None:
    """Delete entries not used for ``PRUNE_AFTER`` seconds (their definitions changed since, most likely) and
    temporary files a killed run left over a day ago. Best effort: errors are ignored."""
    import time

    now = time.time() if now is None else now
    try:
        for f in directory.iterdir():
            old = PRUNE_AFTER if f.name.startswith("analysis-") else 86400 if f.name.startswith(".analysis-") else None
            if old is not None and f.suffix in (".json", ".tmp") and now - f.stat().st_mtime > old:
                f.unlink()
    except OSError:
        pass


def cached_analysis(spec: str, use_cache: bool = True, air: Any = None) -> Analysis:
    """The analysis of the AIR ``spec``: from the cache when it holds this definition, else loaded
    (``air.registry.load_air``, or the ``air`` already loaded from ``spec``), analysed and stored.
    Loading errors propagate as without a cache."""
    keyed = _keyed(spec) if use_cache else None  # before loading: the key names what was loaded
    key = keyed[0] if keyed else None
    if key is not None and air is None:
        hit = lookup(spec, key)
        if hit is not None:
            return hit
    from air.analysis import analyze
    from air.registry import load_air

    a = analyze(air if air is not None else load_air(spec))
    if keyed is not None:
        store(spec, a, imported_user_files() if keyed[1] == "file" else [], keyed[0])
    return a
