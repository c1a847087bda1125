"""The named Miden AIRs, by name: a factory per design (``design.py`` says what each design is).

``DESIGNS[name]()`` (``miden_v0_19()``, ...) returns a fresh ``MidenAir`` on every call: the design is built
once (``constraints.build``) and each call gets its own copy, so mutating one AIR changes no other.
``SPECS[name]`` is its ``Design``. A design is derived with ``with_operation``::

    def make_air():
        return miden_v0_19().with_operation("MYOP", 94, effect=(("no", 1),), define=my_rules)

(``Design.with_operation`` says what each argument means).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from air.air import Air
from air.miden.constraints import build
from air.miden.design import (
    DESIGN_LIST,
    FNHASH_MEM,
    FNHASH_MEM_COLUMN,
    FNHASH_MEM_SLOT,
    GATE,
    SYS_FMP,
    V18,
    V19,
    Design,
)

__all__ = [
    "DESIGNS",
    "MidenAir",
    "build_design",
    "SPECS",
    "Design",
    "make",
    "V18",
    "SYS_FMP",
    "GATE",
    "V19",
    "FNHASH_MEM",
    "FNHASH_MEM_SLOT",
    "FNHASH_MEM_COLUMN",
    "miden_v0_18",
    "miden_sys_fmp",
    "miden_gate",
    "miden_v0_19",
    "miden_fnhash_mem",
    "miden_fnhash_mem_slot",
    "miden_fnhash_mem_column",
]

SPECS: dict[str, Design] = {d.name: d for d in DESIGN_LIST}
_CACHE: dict[str, Air] = {}


class MidenAir(Air):
    """A Miden design's AIR: an ``Air`` that knows its ``Design`` and can be derived from it."""

    design: Design

    def with_operation(self, op: str, opcode: int, **kw: Any) -> MidenAir:
        """The AIR of this design plus the instruction ``op`` (``Design.with_operation``, the same keyword
        arguments: effect, define, name, description, undocumented, doc), built afresh from the design (changes
        made to this object by hand are not carried over)."""
        return build_design(self.design.with_operation(op, opcode, **kw))


def _fresh(air: Air, design: Design) -> MidenAir:
    """A ``MidenAir`` copy of ``air``: its own lists and dicts (one level into dict values), sharing the
    frozen constraints, operations, buses and sympy expressions (immutable), so a copy costs microseconds and
    keeps the validation already done."""
    out = copy.copy(air)
    out.__class__ = MidenAir
    for k, v in vars(out).items():
        if isinstance(v, list):
            setattr(out, k, list(v))
        elif isinstance(v, dict):
            setattr(out, k, {kk: (copy.copy(vv) if isinstance(vv, (list, dict)) else vv) for kk, vv in v.items()})
    out.design = design  # type: ignore[attr-defined]
    return out  # type: ignore[return-value]


def build_design(design: Design) -> MidenAir:
    """The AIR of any ``Design`` (a named one or a derived one), validated, as a fresh ``MidenAir``."""
    air = build(design)
    air.validate()
    return _fresh(air, design)


def make(name: str) -> Callable[[], MidenAir]:
    """A factory returning a fresh AIR of the design ``name`` on each call (built and validated once)."""
    spec = SPECS[name]

    def factory() -> MidenAir:
        if name not in _CACHE:
            _CACHE[name] = build(spec)
            _CACHE[name].validate()
        return _fresh(_CACHE[name], spec)

    factory.__name__ = name.replace("-", "_").replace(".", "_")
    return factory


DESIGNS: dict[str, Callable[[], MidenAir]] = {d.name: make(d.name) for d in DESIGN_LIST}

miden_v0_18 = DESIGNS["miden-v0.18"]
miden_sys_fmp = DESIGNS["miden-sys-fmp"]
miden_gate = DESIGNS["miden-gate"]
miden_v0_19 = DESIGNS["miden-v0.19"]
miden_fnhash_mem = DESIGNS["miden-fnhash-mem"]
miden_fnhash_mem_slot = DESIGNS["miden-fnhash-mem-slot"]
miden_fnhash_mem_column = DESIGNS["miden-fnhash-mem-column"]
