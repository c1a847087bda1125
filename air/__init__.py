"""air: design and check the AIR constraints of STARK virtual machines (first: the Miden VM).

The Python API (README, "Use from Python"):

* ``Air``, ``Bus``, ``BusTerm``, ``BusBoundary``, ``Message``: describe an AIR once (``air.air``);
* ``load_air(spec)``: a built-in AIR by name, or ``file.py:OBJECT`` / ``module:OBJECT``, validated;
* ``Trace.from_columns(columns, public_inputs=...)``, ``load_trace(path)``, ``save_trace(path, ...)``: traces,
  validated (canonical Goldilocks elements, equal lengths, a power of two);
* ``check(air, trace) -> Report`` (constraints and buses), ``assert_satisfied(air, trace)`` for tests;
* ``analyze(air)``: the degree of every constraint, operation, bus and bus term; ``degrees(air, by=...)`` the
  same as ``air degrees`` reports it (``text()``, ``to_json()``, HTML tables in a notebook);
* ``P``: the Goldilocks prime 2^64 - 2^32 + 1.

Errors: ``AirNotFound``, ``AirDefinitionError``, ``NotPolynomialError`` (an AIR), ``TraceError`` (a trace).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each name is imported on first use (PEP 562), so `air --version`, `air airs` and a cached `air degrees`
# start without sympy and numpy, which `import air.cli` would otherwise pull in through this package.
_WHERE = {
    "Air": "air.air",
    "AirDefinitionError": "air.air",
    "Bus": "air.air",
    "BusBoundary": "air.air",
    "BusTerm": "air.air",
    "Message": "air.air",
    "analyze": "air.analysis",
    "DegreeReport": "air.api",
    "Failure": "air.api",
    "Report": "air.api",
    "assert_satisfied": "air.api",
    "check": "air.api",
    "degrees": "air.api",
    "load_air": "air.api",
    "NotPolynomialError": "air.degree",
    "P": "air.field",
    "AirNotFound": "air.registry",
    "Trace": "air.trace",
    "TraceError": "air.trace",
    "load_trace": "air.trace",
    "save_trace": "air.trace",
}

if TYPE_CHECKING:
    from air.air import Air, AirDefinitionError, Bus, BusBoundary, BusTerm, Message
    from air.analysis import analyze
    from air.api import DegreeReport, Failure, Report, assert_satisfied, check, degrees, load_air
    from air.degree import NotPolynomialError
    from air.field import P
    from air.registry import AirNotFound
    from air.trace import Trace, TraceError, load_trace, save_trace


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'air' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "P",
    "Air",
    "AirDefinitionError",
    "AirNotFound",
    "Bus",
    "BusBoundary",
    "BusTerm",
    "DegreeReport",
    "Failure",
    "Message",
    "NotPolynomialError",
    "Report",
    "Trace",
    "TraceError",
    "analyze",
    "assert_satisfied",
    "check",
    "degrees",
    "load_air",
    "load_trace",
    "save_trace",
]
