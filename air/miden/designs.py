"""The named Miden AIRs, by name: a cached factory per design (``design.py`` says what each design is).

``DESIGNS[name]()`` builds the AIR once (``constraints.build``); ``SPECS[name]`` is its ``Design``.
"""

from __future__ import annotations

from collections.abc import Callable

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


def make(name: str) -> Callable[[], Air]:
    """A factory building (once) the AIR of the design ``name``."""
    spec = SPECS[name]

    def factory() -> Air:
        if name not in _CACHE:
            _CACHE[name] = build(spec)
        return _CACHE[name]

    factory.__name__ = name.replace("-", "_").replace(".", "_")
    return factory


DESIGNS: dict[str, Callable[[], Air]] = {d.name: make(d.name) for d in DESIGN_LIST}

miden_v0_18 = DESIGNS["miden-v0.18"]
miden_sys_fmp = DESIGNS["miden-sys-fmp"]
miden_gate = DESIGNS["miden-gate"]
miden_v0_19 = DESIGNS["miden-v0.19"]
miden_fnhash_mem = DESIGNS["miden-fnhash-mem"]
miden_fnhash_mem_slot = DESIGNS["miden-fnhash-mem-slot"]
miden_fnhash_mem_column = DESIGNS["miden-fnhash-mem-column"]
