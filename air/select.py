"""Selecting part of an AIR by constraint family (``air check --only FAMILY[,FAMILY]``).

A model that has families (``Air.families``: item -> family, e.g. ``"stack.io_ops"``) can be checked one
family at a time: a designer debugging one family wants it, and a trace generator that fills only some
families can be checked against exactly those. A name selects a family and its sub-families by dotted
prefix (``stack`` selects ``stack.io_ops``; ``stack.io`` selects nothing). A bus is selected whole, by the
family that declares it (its terms come from several families and only the whole bus balances).

Nothing is skipped silently: ``Selection`` counts what was left out, and the report prints it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

from air.air import Air

__all__ = ["Selection", "select_families", "UnknownFamily", "FamilyCount", "family_counts"]


class UnknownFamily(ValueError):
    """A family name that selects nothing (bad input)."""


@dataclass(frozen=True)
class Selection:
    """What ``--only`` kept and left out."""

    families: tuple[str, ...]
    constraints_kept: int
    constraints_skipped: int
    buses_kept: tuple[str, ...]
    buses_skipped: tuple[str, ...]

    def summary(self) -> str:
        kept = ", ".join(self.buses_kept) or "none"
        skipped = ", ".join(self.buses_skipped) or "none"
        return (
            f"checked only families {', '.join(self.families)}: {self.constraints_kept} constraints "
            f"({self.constraints_skipped} skipped), buses {kept} (skipped: {skipped})"
        )


def _matches(family: str, names: tuple[str, ...]) -> bool:
    return any(family == n or family.startswith(n + ".") for n in names)


def select_families(air: Air, only: Iterable[str]) -> tuple[Air, Selection]:
    """A copy of ``air`` with only the constraints and buses of the named families, and what was left out."""
    names = tuple(dict.fromkeys(n.strip() for n in only if n.strip()))
    if not names:
        raise UnknownFamily("--only needs at least one family name")
    if not air.families:
        raise UnknownFamily(f"AIR {air.name} has no constraint families; --only cannot select from it")
    known = sorted(set(air.families.values()))
    for n in names:
        if not any(_matches(f, (n,)) for f in known):
            raise UnknownFamily(f"--only: no family {n!r} in {air.name} (families: {', '.join(known)})")
    part = copy.copy(air)
    part.name = f"{air.name} [only {','.join(names)}]"  # every report names the part, not the whole
    part.constraints = [c for c in air.constraints if _matches(air.families.get(c.name, ""), names)]
    part.buses = [b for b in air.buses if _matches(air.families.get(f"bus:{b.name}", ""), names)]
    kept = {b.name for b in part.buses}
    sel = Selection(
        families=names,
        constraints_kept=len(part.constraints),
        constraints_skipped=len(air.constraints) - len(part.constraints),
        buses_kept=tuple(b.name for b in air.buses if b.name in kept),
        buses_skipped=tuple(b.name for b in air.buses if b.name not in kept),
    )
    return part, sel


@dataclass(frozen=True)
class FamilyCount:
    """How much of an AIR one family declares."""

    family: str
    transition: int
    boundary: int
    bus_terms: int
    buses: tuple[str, ...]

    @property
    def constraints(self) -> int:
        return self.transition + self.boundary


def family_counts(air: Air) -> list[FamilyCount]:
    """Per family (sorted by name): transition and boundary constraints, bus terms, buses it declares."""
    fams = sorted(set(air.families.values()))
    out = []
    for f in fams:
        cons = [c for c in air.constraints if air.families.get(c.name) == f]
        terms = [t for b in air.buses for t in b.terms if air.families.get(f"bus:{b.name}/{t.name}") == f]
        buses = tuple(b.name for b in air.buses if air.families.get(f"bus:{b.name}") == f)
        n_tr = sum(1 for c in cons if c.domain == "transition")
        out.append(FamilyCount(f, n_tr, len(cons) - n_tr, len(terms), buses))
    return out
