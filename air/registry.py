"""Finding an AIR by name: the built-in catalog, or a user's own as ``file.py:OBJECT`` / ``module:OBJECT``.

``OBJECT`` may be an ``Air`` or a callable returning one. Errors are ``AirNotFound`` with one line
naming what was asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from air.air import Air

__all__ = ["AirNotFound", "Entry", "register", "catalog", "load_air"]


class AirNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:callable"
    description: str


_CATALOG: dict[str, Entry] = {}
_CACHE: dict[str, Air] = {}


def register(name: str, target: str, description: str) -> None:
    _CATALOG[name] = Entry(name, target, description)


def catalog() -> list[Entry]:
    import air.catalog  # noqa: F401  (fills the catalog)

    return list(_CATALOG.values())


def _resolve(obj: object, what: str) -> Air:
    if isinstance(obj, Air):
        return obj
    if callable(obj):
        made = obj()
        if isinstance(made, Air):
            return made
    raise AirNotFound(f"{what} is not an Air nor a function returning one")


def _load_target(target: str, what: str) -> Air:
    mod_name, _, attr = target.rpartition(":")
    if not mod_name or not attr:
        raise AirNotFound(f"{what}: expected NAME, path/to/file.py:OBJECT or module:OBJECT")
    if mod_name.endswith(".py") or "/" in mod_name:
        path = Path(mod_name)
        if not path.is_file():
            raise AirNotFound(f"{what}: no such file {mod_name}")
        spec = importlib.util.spec_from_file_location(f"_air_user_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise AirNotFound(f"{what}: cannot import {mod_name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # a user's file: report, never a traceback
            raise AirNotFound(f"{what}: importing {mod_name} failed: {type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(mod_name)
        except Exception as e:
            raise AirNotFound(f"{what}: cannot import module {mod_name}: {e}") from e
    if not hasattr(module, attr):
        raise AirNotFound(f"{what}: {mod_name} has no {attr!r}")
    return _resolve(getattr(module, attr), what)


def load_air(spec: str) -> Air:
    """The AIR named ``spec`` (a catalog name, ``file.py:OBJECT`` or ``module:OBJECT``)."""
    if spec in _CACHE:
        return _CACHE[spec]
    names = {e.name: e for e in catalog()}
    if spec in names:
        air = _load_target(names[spec].target, f"AIR {spec!r}")
    elif ":" in spec:
        air = _load_target(spec, f"AIR {spec!r}")
    else:
        known = ", ".join(sorted(names))
        raise AirNotFound(f"unknown AIR {spec!r} (known: {known}; or give file.py:OBJECT)")
    _CACHE[spec] = air
    return air
