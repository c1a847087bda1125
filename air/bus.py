"""Buses as polynomials: the value of each term, the bus constraint, and their degrees.

Multiset running product (docs/src/design/lookups/multiset.md, chiplets/main.md of Miden):

    b' * (sum_r f_r*u_r + 1 - sum_r f_r)  =  b * (sum_s f_s*v_s + 1 - sum_s f_s)

with ``u_r = prod(messages of request r)``, flags of one side mutually exclusive per row. The degree
of a term is ``deg f + sum deg(message)``; the constraint's degree is ``1 + max`` over both sides.

LogUp (lookups/logup.md): ``b' - b = sum_s m_s/d_s - sum_r m_r/d_r`` with ``d = message value``;
cleared of denominators it reads ``(b' - b) * prod d = sum_t +-m_t * prod_{t' != t} d_t'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from air.air import Air, Bus, BusTerm, message_value
from air.degree import exact_degree, structural_degree

__all__ = ["term_value", "bus_constraint", "TermDegree", "term_degree", "bus_degree"]


def term_value(air: Air, term: BusTerm) -> sp.Expr:
    """``prod(messages)`` of a term (without its flag)."""
    return sp.Mul(*[message_value(m, air.challenges) for m in term.messages], evaluate=False)


def bus_constraint(air: Air, bus: Bus) -> sp.Expr:
    """The bus's transition polynomial, which must vanish on every transition row."""
    b, b1 = bus.acc, bus.acc.next
    if bus.kind == "multiset":

        def side(terms: list[BusTerm]) -> sp.Expr:
            if not terms:
                return sp.Integer(1)
            s = sp.Add(*[t.flag * term_value(air, t) for t in terms])
            return s + 1 - sp.Add(*[t.flag for t in terms])

        return b1 * side(bus.requests()) - b * side(bus.responses())
    # LogUp: one message per term, the denominator.
    dens = []
    for t in bus.terms:
        if len(t.messages) != 1:
            raise ValueError(f"{air.name}: LogUp term {t.name!r} must have exactly one message")
        dens.append(message_value(t.messages[0], air.challenges))
    total = sp.Mul(*dens)
    rhs = sp.Integer(0)
    for i, t in enumerate(bus.terms):
        m = t.multiplicity if t.multiplicity is not None else t.flag
        sign = 1 if t.side == "response" else -1
        others = sp.Mul(*[d for j, d in enumerate(dens) if j != i])
        rhs = rhs + sign * m * others
    return (b1 - b) * total - rhs


@dataclass(frozen=True)
class TermDegree:
    """The degree of one bus term: flag degree + the degree of each named factor."""

    bus: str
    name: str
    side: str
    operation: str | None
    flag_degree: int
    factors: tuple[tuple[str, int], ...]
    claimed_degree: int | None

    @property
    def degree(self) -> int:
        return self.flag_degree + sum(d for _, d in self.factors)


def term_degree(air: Air, bus: Bus, term: BusTerm) -> TermDegree:
    flag = term.multiplicity if term.multiplicity is not None else term.flag
    names = term.factor_names()
    if len(names) != len(term.messages):
        names = [m.label for m in term.messages]
    factors = tuple((n, exact_degree(message_value(m, air.challenges))) for n, m in zip(names, term.messages))
    return TermDegree(
        bus=bus.name,
        name=term.name,
        side=term.side,
        operation=term.operation,
        flag_degree=max(exact_degree(flag), 0),
        factors=factors,
        claimed_degree=term.claimed_degree,
    )


def bus_degree(air: Air, bus: Bus) -> int:
    """Degree of the bus constraint (structural; the accumulator counts 1)."""
    return structural_degree(bus_constraint(air, bus))
