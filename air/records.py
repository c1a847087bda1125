"""Degree records that need no sympy: what a bus term's degrees are once computed.

``air.bus`` computes them from the polynomials; ``air.analysis`` and the degree cache (``air.cache``) read
them. Kept apart so that a cached analysis is rebuilt and printed without importing sympy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TermDegree"]


@dataclass(frozen=True)
class TermDegree:
    """The degrees of one bus term.

    ``degree`` is the term's own degree: flag (or LogUp multiplicity) degree + the degree of each named
    factor. ``constraint_degree`` is the degree of the part of the bus constraint the term forms, which is
    what the budget applies to (``air.bus.bus_part_degrees``): for a multiset bus the accumulator multiplies the
    term (+1); for LogUp the multiplicity times every other term's denominator.
    """

    bus: str
    name: str
    side: str
    operation: str | None
    flag_degree: int
    factors: tuple[tuple[str, int], ...]
    claimed_degree: int | None
    constraint_degree: int

    @property
    def degree(self) -> int:
        return self.flag_degree + sum(d for _, d in self.factors)
