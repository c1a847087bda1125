"""Finding an AIR by name: the built-in catalog, or a user's own as ``file.py:OBJECT`` / ``module:OBJECT``.

``OBJECT`` may be an ``Air`` or a callable returning one. Errors are ``AirNotFound`` with one line
naming what was asked for (an exception raised by a user's builder: its type, message and the
file:line of the user's code it came from). Every AIR is validated (``Air.validate``) before it is
returned, so every command reads the same checked definition.

``load_air`` runs user code and is for names given on the command line only; a name read from a
file (a trace's metadata) goes to ``load_builtin``, which accepts a built-in name and nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from air.catalog import BUILTINS

if TYPE_CHECKING:  # imported when an AIR is loaded: naming the built-ins (`air airs`) needs no sympy
    from air.air import Air

__all__ = ["AirNotFound", "Entry", "register", "catalog", "load_air", "load_builtin", "is_builtin"]


class AirNotFound(LookupError):
    """An AIR that cannot be loaded: an unknown name, a missing file or object, or the user's code raised
    (the message names its type, message and file:line). The command line exits 2 with it."""


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:callable"
    description: str


# the built-in AIRs (air.catalog, which imports nothing back: the import goes one way), then any registered
_CATALOG: dict[str, Entry] = {name: Entry(name, target, desc) for name, target, desc in BUILTINS}


def register(name: str, target: str, description: str) -> None:
    _CATALOG[name] = Entry(name, target, description)


def catalog() -> list[Entry]:
    return list(_CATALOG.values())


def _origin(tb: TracebackType | None, files: set[str]) -> str:
    """``file:line`` of the innermost frame in one of ``files`` (the user's code), else the innermost."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "?"
    mine = [f for f in frames if f.filename in files]
    f = (mine or frames)[-1]
    return f"{f.filename}:{f.lineno}"


def _raised(what: str, doing: str, e: BaseException, files: set[str]) -> AirNotFound:
    msg = str(e).splitlines()[0] if str(e).strip() else ""
    at = _origin(e.__traceback__, files)
    return AirNotFound(f"{what}: {doing} raised {type(e).__name__}{': ' + msg if msg else ''} at {at}")


def _resolve(obj: object, what: str, files: set[str]) -> Air:
    from air.air import Air

    if isinstance(obj, Air):
        return obj
    if isinstance(obj, type):
        raise AirNotFound(f"{what} is the class {obj.__name__}, not an Air: give an instance or a function making one")
    if callable(obj):
        try:
            made = obj()
        except (Exception, SystemExit) as e:  # a user's builder: one line, never a traceback or an exit
            raise _raised(what, "building the AIR", e, files) from e
        if isinstance(made, Air):
            return made
        raise AirNotFound(f"{what}: the function returned {type(made).__name__}, not an Air")
    raise AirNotFound(f"{what} is not an Air nor a function returning one")


def _module_file(mod_name: str) -> set[str]:
    """The file of module ``mod_name`` (after its import failed), to name the user's line in it."""
    try:
        found = importlib.util.find_spec(mod_name)
    except (Exception, SystemExit):
        return set()
    return {str(found.origin)} if found is not None and found.origin else set()


def _import_module(name: str) -> ModuleType:
    """``importlib.import_module(name)``, also finding ``name`` in the current directory (as ``python -m``
    does, and the ``air`` script, whose ``sys.path`` starts at its own directory, would not). The
    current directory is searched only when the installed packages have no such module, and only
    for this import."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        top = name.split(".")[0]
        cwd = os.getcwd()
        if e.name not in {name.rsplit(".", i)[0] for i in range(name.count(".") + 1)} or cwd in sys.path:
            raise
        if not (Path(cwd, top).is_dir() or Path(cwd, top + ".py").is_file()):
            raise
    sys.path.insert(0, cwd)
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(cwd)


def _load_target(target: str, what: str) -> Air:
    from air.air import AirDefinitionError
    from air.degree import NotPolynomialError

    mod_name, _, attr = target.rpartition(":")
    if not mod_name or not attr:
        raise AirNotFound(f"{what}: expected NAME, path/to/file.py:OBJECT or module:OBJECT")
    files: set[str] = set()
    if mod_name.endswith(".py") or "/" in mod_name:
        path = Path(mod_name)
        if not path.is_file():
            raise AirNotFound(f"{what}: no such file {mod_name}")
        spec = importlib.util.spec_from_file_location(f"_air_user_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise AirNotFound(f"{what}: cannot import {mod_name}")
        module = importlib.util.module_from_spec(spec)
        files.add(str(spec.origin))
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as e:  # a user's file: report, never a traceback
            raise _raised(what, f"importing {mod_name}", e, files) from e
    else:
        try:
            module = _import_module(mod_name)
        except ModuleNotFoundError as e:
            if e.name is None or not (mod_name == e.name or mod_name.startswith(e.name + ".")):
                raise _raised(what, f"importing module {mod_name}", e, _module_file(mod_name)) from e
            raise AirNotFound(f"{what}: cannot import module {mod_name}: {type(e).__name__}: {e}") from e
        except (Exception, SystemExit) as e:  # the module's own code raised: name its file:line
            raise _raised(what, f"importing module {mod_name}", e, _module_file(mod_name)) from e
        if getattr(module, "__file__", None):
            files.add(str(module.__file__))
    if not hasattr(module, attr):
        raise AirNotFound(f"{what}: {mod_name} has no {attr!r}")
    air = _resolve(getattr(module, attr), what, files)
    try:
        air.validate()
    except (NotPolynomialError, AirDefinitionError):
        raise
    except Exception as e:  # a malformed definition the checks did not foresee: still one line
        raise AirNotFound(f"{what}: malformed definition: {type(e).__name__}: {e}") from e
    return air


def is_builtin(name: object) -> bool:
    """Whether ``name`` is exactly the name of a built-in AIR."""
    return isinstance(name, str) and name in {e.name for e in catalog()}


def load_builtin(name: str) -> Air:
    """The built-in AIR called exactly ``name``; never imports anything else (for names read from files)."""
    if not is_builtin(name):
        raise AirNotFound(f"{name!r} is not a built-in AIR")
    return load_air(name)


def load_air(spec: str) -> Air:
    """The AIR named ``spec`` (a catalog name, ``file.py:OBJECT``, ``module:OBJECT`` or an AirScript root file
    ``path/to/root.air``), validated.

    Runs the user's code: only for a name given on the command line. Every call returns a new object
    (a user's file is run again; a built-in design is a fresh copy), so mutating one changes no other.
    """
    names = {e.name: e for e in catalog()}
    if spec not in names and spec.endswith(".air"):  # an AirScript program: its root file (`def NAME`)
        if not Path(spec).is_file():
            raise AirNotFound(f"AIR {spec!r}: no such AirScript file")
        from air.airscript import load_airscript  # parses, never runs code from the file

        return load_airscript(spec)
    if spec in names:
        air = _load_target(names[spec].target, f"AIR {spec!r}")
    elif ":" in spec:
        air = _load_target(spec, f"AIR {spec!r}")
    else:
        known = ", ".join(sorted(names))
        raise AirNotFound(f"unknown AIR {spec!r} (known: {known}; or give file.py:OBJECT)")
    return air
