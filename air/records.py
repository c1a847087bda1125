"""Records that need no sympy: what a bus term's degrees are once computed, and what a constraint check found.

``air.bus`` computes the degrees from the polynomials; ``air.analysis`` and the degree cache (``air.cache``) read
them. ``air.evaluate`` (the single pass) and ``air.chunked`` return a ``CheckResult``. Kept apart so that a cached
analysis, or a check from cached tapes, is printed without importing sympy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TermDegree", "CheckResult", "ConstraintFailures", "exercise_note"]


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


@dataclass
class ConstraintFailures:
    constraint: str
    domain: str
    rows: np.ndarray


@dataclass
class CheckResult:
    air: str
    n_rows: int
    failures: list[ConstraintFailures] = field(default_factory=list)
    # constraints over auxiliary (bus) columns: the bus checker builds those columns and balances the buses,
    # but these extra relations between them are not evaluated (named in every report, never passed silently)
    not_evaluated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def total_failures(self) -> int:
        return sum(len(f.rows) for f in self.failures)


def exercise_note(n_unread: int, n_columns: int, absent: list[str] | None, n_operations: int) -> str:
    """What an OK does not cover, in the words ``air check`` prints after OK: columns no constraint or bus
    reads, and (for an AIR with operations) operations that never occur on the trace."""
    notes = [f"{n_unread} of {n_columns} columns read by no constraint or bus"]
    if absent is not None:
        notes.append(f"{len(absent)} of {n_operations} operations never occur in the trace")
    return "not exercised: " + ", ".join(notes)
