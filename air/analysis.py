"""Degree analysis of a whole AIR: per constraint, per operation and per bus term, against the budget.

This is the symbolic interpreter of an ``Air``: it never evaluates a trace. Its records are what the
report module prints and what the degree gate compares with a baseline.

* A constraint's ``degree`` is its exact total degree; ``structural_degree`` the no-expansion bound;
  ``flag_degree``/``body_degree`` when it was written as flag x body.
* An operation's degree is the highest degree among the constraints gated by it (``operation=`` or a
  tag ``op:NAME``) and among its bus terms, counted by the degree of their part of the bus constraint
  (``TermDegree.constraint_degree``: a multiset term of degree d is multiplied by the accumulator, d + 1; a
  LogUp term's multiplicity by the other terms' denominators; see ``air.bus.bus_part_degrees``).
  ``body_degree = degree - flag_degree``.
* A bus term has two degrees, reported apart: its own (``degree``) and its bus constraint part's
  (``constraint_degree``), which is the one compared with the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from air.records import TermDegree

if TYPE_CHECKING:  # the polynomial modules (sympy) are imported where degrees are computed, not here:
    from air.air import Air, Constraint  # a cached analysis (air.cache) is printed without sympy


__all__ = [
    "ConstraintDegree",
    "OperationDegree",
    "BusDegree",
    "Analysis",
    "AirSummary",
    "analyze",
    "validate",
    "constraint_ops",
]


@dataclass(frozen=True)
class ConstraintDegree:
    name: str
    domain: str
    degree: int
    structural_degree: int
    flag_degree: int | None
    body_degree: int | None
    claimed_degree: int | None
    operation: str | None
    tags: tuple[str, ...]
    budget: int | None  # None: the AIR declares no budget

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.degree > self.budget

    @property
    def claim_differs(self) -> bool:
        return self.claimed_degree is not None and self.claimed_degree != self.degree

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "domain": self.domain,
            "degree": self.degree,
            "structural_degree": self.structural_degree,
            "flag_degree": self.flag_degree,
            "body_degree": self.body_degree,
            "claimed_degree": self.claimed_degree,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class OperationDegree:
    name: str
    opcode: int | None
    flag_class: str
    flag_degree: int
    degree: int | None  # None when nothing is gated by the operation in this model
    constraints: tuple[str, ...]  # the items reaching ``degree``
    budget: int | None  # None: the AIR declares no budget

    @property
    def body_degree(self) -> int | None:
        return None if self.degree is None else self.degree - self.flag_degree

    @property
    def headroom(self) -> int | None:
        return None if self.degree is None or self.budget is None else self.budget - self.degree

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "opcode": self.opcode,
            "flag_degree": self.flag_degree,
            "body_degree": self.body_degree,
            "degree": self.degree,
            "headroom": self.headroom,
            "constraints": list(self.constraints),
        }


@dataclass(frozen=True)
class BusDegree:
    """A bus: ``degree`` is its bus constraint's degree; each term has its own and its part's."""

    name: str
    kind: str
    degree: int
    claimed_degree: int | None
    terms: tuple[TermDegree, ...]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "degree": self.degree,
            "constraint_degree": self.degree,
            "claimed_degree": self.claimed_degree,
            "terms": [
                {
                    "name": t.name,
                    "side": t.side,
                    "operation": t.operation,
                    "flag_degree": t.flag_degree,
                    "factors": [n for n, _ in t.factors],
                    "factor_degrees": [d for _, d in t.factors],
                    "degree": t.degree,
                    "constraint_degree": t.constraint_degree,
                    "claimed_degree": t.claimed_degree,
                }
                for t in self.terms
            ],
        }


@dataclass(frozen=True)
class AirSummary:
    """What the degree reports read of an AIR besides its degrees (name, description, budget, columns):
    stands for the ``Air`` in an analysis rebuilt from the degree cache (``air.cache``)."""

    name: str
    description: str
    budget: int | None
    layout: tuple[str, ...]  # the column names, in order
    column_groups: tuple[tuple[str, int], ...]  # (group, number of columns), in order of first column
    # what an AIR may also carry for the reports and the gate (an AirScript program: its `# degree d` claims)
    declared_degrees: dict[str, tuple[int, str]] = field(default_factory=dict)
    gate_claims: bool = False

    def groups(self) -> dict[str, int]:
        return dict(self.column_groups)


@dataclass
class Analysis:
    air: Air | AirSummary  # an AirSummary when rebuilt from the degree cache
    constraints: list[ConstraintDegree]
    operations: list[OperationDegree]
    buses: list[BusDegree]
    notes: list[str] = field(default_factory=list)
    inexact: list[str] = field(default_factory=list)  # where an exact degree was not computed, and why

    @property
    def budget(self) -> int | None:
        """The AIR's degree budget, or None when it declares none (then nothing is over budget)."""
        return self.air.budget

    @property
    def max_degree(self) -> int:
        ds = [c.degree for c in self.constraints] + [b.degree for b in self.buses]
        return max(ds, default=0)

    def over_budget(self) -> list[str]:
        """Names of every constraint, bus and bus term whose degree exceeds the budget (none without a budget)."""
        if self.budget is None:
            return []
        out = [c.name for c in self.constraints if c.over_budget]
        for b in self.buses:
            if b.degree > self.budget:
                out.append(f"bus:{b.name}")
            for t in b.terms:
                if t.constraint_degree > self.budget:
                    out.append(f"bus:{b.name}/{t.name}")
        return out

    def claim_differences(self) -> list[tuple[str, int, int]]:
        """(item, claimed, computed) for every constraint, bus or bus term whose claim differs."""
        out = [(c.name, c.claimed_degree, c.degree) for c in self.constraints if c.claim_differs]
        for b in self.buses:
            if b.claimed_degree is not None and b.claimed_degree != b.degree:
                out.append((f"bus:{b.name}", b.claimed_degree, b.degree))
            for t in b.terms:
                if t.claimed_degree is not None and t.claimed_degree != t.degree:
                    out.append((f"bus:{b.name}/{t.name}", t.claimed_degree, t.degree))
        return out  # type: ignore[return-value]

    def constraint(self, name: str) -> ConstraintDegree:
        for c in self.constraints:
            if c.name == name:
                return c
        raise KeyError(name)

    def operation(self, name: str) -> OperationDegree:
        for o in self.operations:
            if o.name == name:
                return o
        raise KeyError(name)

    def bus(self, name: str) -> BusDegree:
        for b in self.buses:
            if b.name == name:
                return b
        raise KeyError(name)

    def term(self, bus: str, name: str) -> TermDegree:
        for t in self.bus(bus).terms:
            if t.name == name:
                return t
        raise KeyError(f"{bus}/{name}")


def constraint_ops(c: Constraint) -> list[str]:
    """Operations a constraint is gated by: its ``operation`` and every ``op:NAME`` tag."""
    ops = [c.operation] if c.operation else []
    ops += [t[3:] for t in c.tags if t.startswith("op:") and t[3:] not in ops]
    return ops


def validate(air: Air) -> None:
    """Refuse anything that is not a polynomial, naming the constraint (``Air.validate``)."""
    air.validate()


def analyze_constraint(air: Air, c: Constraint, notes: list[str] | None = None) -> ConstraintDegree:
    from air.degree import degree_or_bound, exact_degree, structural_degree

    fd = bd = None
    if c.flag is not None and c.body is not None:
        fd, bd = exact_degree(c.flag), exact_degree(c.body)
    degree, exact = degree_or_bound(c.expr)
    if not exact and notes is not None:
        notes.append(
            f"constraint {c.name}: the exact degree was not computed (its expansion exceeds the work limit); "
            "the structural degree is reported"
        )
    return ConstraintDegree(
        name=c.name,
        domain=c.domain,
        degree=max(degree, 0),
        structural_degree=structural_degree(c.expr),
        flag_degree=fd,
        body_degree=bd,
        claimed_degree=c.claimed_degree,
        operation=c.operation,
        tags=c.tags,
        budget=air.budget,
    )


def analyze(air: Air) -> Analysis:
    """Degrees of every constraint, operation and bus term of ``air``."""
    from air.bus import bus_degree, term_degrees
    from air.degree import exact_degree

    air.validate()
    notes: list[str] = []
    cons = [analyze_constraint(air, c, notes) for c in air.constraints]
    buses: list[BusDegree] = []
    for b in air.buses:
        terms = term_degrees(air, b)
        buses.append(BusDegree(b.name, b.kind, bus_degree(air, b), b.claimed_degree, terms))

    per_op: dict[str, list[tuple[str, int]]] = {o.name: [] for o in air.operations}
    for c, cd in zip(air.constraints, cons):
        for op in constraint_ops(c):
            per_op.setdefault(op, []).append((c.name, cd.degree))
    for b, bd in zip(air.buses, buses):
        for t in bd.terms:
            # "JOIN+SPLIT" names every operation a shared-flag term serves
            for op in (t.operation or "").split("+"):
                if op:
                    per_op.setdefault(op, []).append((f"bus:{b.name}/{t.name}", t.constraint_degree))

    ops: list[OperationDegree] = []
    for o in air.operations:
        items = per_op.get(o.name, [])
        top = max((d for _, d in items), default=None)
        behind = tuple(n for n, d in items if d == top) if top is not None else ()
        ops.append(
            OperationDegree(
                name=o.name,
                opcode=o.opcode,
                flag_class=o.flag_class,
                flag_degree=max(exact_degree(o.flag), 0),
                degree=top,
                constraints=behind,
                budget=air.budget,
            )
        )
    return Analysis(air, cons, ops, buses, list(air.notes), notes)
