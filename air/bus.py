"""Buses as polynomials: the value of each term, the bus constraint, and their degrees.

Multiset running product (docs/src/design/lookups/multiset.md, chiplets/main.md of Miden):

    b' * (sum_r f_r*u_r + 1 - sum_r f_r)  =  b * (sum_s f_s*v_s + 1 - sum_s f_s)

with ``u_r = prod(messages of request r)``, flags of one side mutually exclusive per row. The degree
of a term is ``deg f + sum deg(message)``; in the constraint the accumulator multiplies it (+1).

LogUp (lookups/logup.md): ``b' - b = sum_s m_s/d_s - sum_r m_r/d_r`` with ``d = message value``;
cleared of denominators it reads ``(b' - b) * prod d = sum_t +-m_t * prod_{t' != t} d_t'``, so a term's
part of the constraint has the degree of its multiplicity plus every other term's denominator.

A term's own degree and the degree of its part of the bus constraint are two numbers (``TermDegree.degree``
and ``TermDegree.constraint_degree``); ``bus_part_degrees`` is the only place that turns one into the other.
"""

from __future__ import annotations

import sympy as sp

from air.air import Air, Bus, BusTerm, message_value
from air.degree import exact_degree
from air.records import TermDegree  # a plain record (no sympy): the degree cache rebuilds it

__all__ = [
    "ACCUMULATOR_DEGREE",
    "numerator",
    "term_value",
    "bus_constraint",
    "TermDegree",
    "bus_part_degrees",
    "term_degrees",
    "term_degree",
    "bus_degree",
]


def numerator(bus: Bus, term: BusTerm) -> sp.Expr:
    """What counts a term's message: its flag on a multiset bus; on a LogUp bus its multiplicity, or its
    flag when it has none."""
    if bus.kind == "logup" and term.multiplicity is not None:
        return sp.sympify(term.multiplicity)
    return sp.sympify(term.flag)


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
        m = numerator(bus, t)
        sign = 1 if t.side == "response" else -1
        others = sp.Mul(*[d for j, d in enumerate(dens) if j != i])
        rhs = rhs + sign * m * others
    return (b1 - b) * total - rhs


ACCUMULATOR_DEGREE = 1  # b and b' are cells of the auxiliary trace


def bus_part_degrees(air: Air, bus: Bus) -> tuple[int, list[int]]:
    """(degree of the accumulator's part, degree of each term's part) of ``bus_constraint``: the one place
    where a term's degree becomes a bus constraint's degree. The bus constraint's degree is their maximum.

    * multiset, ``b' * (sum_r f_r*u_r + 1 - sum_r f_r) - b * (...)``: a term's part ``b' * f * u`` has degree
      ``ACCUMULATOR_DEGREE + deg f + deg u``; the accumulator's own part ``b' * 1`` has degree 1;
    * LogUp, ``(b' - b) * prod_t d_t - sum_t +-m_t * prod_{t' != t} d_t'``: the accumulator's part has degree
      ``ACCUMULATOR_DEGREE + sum_t deg d_t``, term t's part ``deg m_t + sum_{t' != t} deg d_t'``.
    """
    if bus.kind == "multiset":
        parts = []
        for t in bus.terms:
            flag = max(exact_degree(numerator(bus, t)), 0)
            parts.append(
                ACCUMULATOR_DEGREE + flag + sum(exact_degree(message_value(m, air.challenges)) for m in t.messages)
            )
        return ACCUMULATOR_DEGREE, parts
    dens = [exact_degree(message_value(t.messages[0], air.challenges)) for t in bus.terms]
    total = sum(dens)
    parts = [max(exact_degree(numerator(bus, t)), 0) + total - d for t, d in zip(bus.terms, dens)]
    return ACCUMULATOR_DEGREE + total, parts


def term_degrees(air: Air, bus: Bus) -> tuple[TermDegree, ...]:
    """``TermDegree`` of every term of ``bus``, in order."""
    _, parts = bus_part_degrees(air, bus)
    out = []
    for term, part in zip(bus.terms, parts):
        names = term.factor_names()
        if len(names) != len(term.messages):
            names = [m.label for m in term.messages]
        factors = tuple((n, exact_degree(message_value(m, air.challenges))) for n, m in zip(names, term.messages))
        out.append(
            TermDegree(
                bus=bus.name,
                name=term.name,
                side=term.side,
                operation=term.operation,
                flag_degree=max(exact_degree(numerator(bus, term)), 0),
                factors=factors,
                claimed_degree=term.claimed_degree,
                constraint_degree=part,
            )
        )
    return tuple(out)


def term_degree(air: Air, bus: Bus, term: BusTerm) -> TermDegree:
    """``TermDegree`` of one term of ``bus``."""
    degrees = term_degrees(air, bus)
    for t, d in zip(bus.terms, degrees):
        if t is term:
            return d
    for t, d in zip(bus.terms, degrees):
        if t == term:
            return d
    raise KeyError(f"{air.name}: {term.name!r} is not a term of bus {bus.name!r}")


def bus_degree(air: Air, bus: Bus) -> int:
    """Degree of the bus constraint: the highest of its parts (``bus_part_degrees``); equal to the structural
    degree of ``bus_constraint`` (tests tie the two)."""
    acc, parts = bus_part_degrees(air, bus)
    return max([acc, *parts])
