"""Degrees of constraints, and the refusal of what is not a polynomial in the trace columns.

Two degrees are computed for every polynomial:

* the *structural* degree: a walk with ``deg(a+b) = max``, ``deg(a*b) = sum``, ``deg(a**k) = k*deg(a)``,
  cells 1, challenges/periodic/public inputs/numbers 0. Fast, no expansion; an upper bound.
* the *exact* total degree in the cells after expansion. Computed without expanding everything: over
  an integral domain ``deg(f*g) = deg f + deg g``, so only sums can lose degree, and a sum loses degree
  exactly when the top homogeneous parts of its highest terms cancel. Those top parts are small (the top
  part of a flag ``prod (1-b_i)`` is one monomial), so they are expanded; only when they do cancel is the
  whole sum expanded.

The exact degree expands only what it must, and never more than ``WORK_LIMIT`` (an estimate of
monomials x degree, taken before expanding): past it ``degree_or_bound`` returns the structural degree
and says it is not exact. Degrees are computed over the rationals: they equal the degrees over
Goldilocks unless coefficients cancel modulo p (then they are an upper bound).

``explain`` says how a degree adds up, factor by factor. ``check_polynomial`` refuses a division by a
column (``1/gate``), a negative or non-integer power, a float, a rational whose denominator is a
multiple of p, a function call or an undeclared symbol, naming the constraint and the sub-expression.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from air.symbols import Var

__all__ = [
    "NotPolynomialError",
    "check_polynomial",
    "structural_degree",
    "exact_degree",
    "degree_or_bound",
    "DegreeWorkLimit",
    "WORK_LIMIT",
    "P",
    "explain",
    "DegreeStep",
]


P = 2**64 - 2**32 + 1  # Goldilocks: a rational is a field element when p does not divide its denominator
WORK_LIMIT = 20_000  # monomials x degree an exact-degree expansion may produce (the built-in AIRs need < 400)


class DegreeWorkLimit(Exception):
    """An exact-degree expansion would exceed ``WORK_LIMIT``."""


class NotPolynomialError(ValueError):
    """The expression is not a polynomial in the declared variables."""

    def __init__(self, where: str, sub: sp.Basic, why: str):
        self.where = where
        self.sub = sub
        self.why = why
        super().__init__(f"{where}: {why}: `{sp.sstr(sub)}` is not a polynomial in the trace columns")


def preorder_new(expr: sp.Basic, seen: set[sp.Basic] | None) -> Iterator[sp.Basic]:
    """``sp.preorder_traversal(expr)``, skipping every sub-term already in ``seen`` (and adding the others): the
    expressions of one AIR share most of their sub-terms (operation flags), which need visiting once."""
    if seen is None:
        yield from sp.preorder_traversal(expr)
        return
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(reversed(node.args))


def check_polynomial(expr: sp.Basic, where: str = "expression", seen: set[sp.Basic] | None = None) -> None:
    """Raise ``NotPolynomialError`` unless ``expr`` is a polynomial over declared variables.

    Rational number coefficients are accepted when they are field elements (1/2 is the inverse of 2);
    a denominator that is a multiple of p has no inverse and is refused. ``seen``: sub-terms already checked
    (by earlier calls that did not raise), skipped.
    """
    if not isinstance(expr, sp.Basic):
        raise NotPolynomialError(where, sp.Symbol(repr(expr)), f"a {type(expr).__name__}, not a sympy expression")
    for node in preorder_new(expr, seen):
        if isinstance(node, Var):
            continue
        if isinstance(node, sp.Symbol):
            raise NotPolynomialError(where, node, f"undeclared symbol {node.name!r}")
        if isinstance(node, sp.Float):
            raise NotPolynomialError(where, node, "a float has no exact field value")
        if isinstance(node, (sp.Integer, sp.Rational)):
            if int(node.q) % P == 0:
                raise NotPolynomialError(where, node, "a denominator that is a multiple of p has no inverse mod p")
            continue
        if node in (sp.zoo, sp.oo, sp.nan, -sp.oo) or isinstance(node, (sp.NumberSymbol, sp.Number)):
            raise NotPolynomialError(where, node, "not a field element")
        if isinstance(node, sp.Pow):
            base, exp = node.args
            if not (isinstance(exp, sp.Integer)):
                raise NotPolynomialError(where, node, "a non-integer power")
            if exp < 0:
                if isinstance(base, sp.Rational):
                    if int(base.p) % P == 0:
                        raise NotPolynomialError(where, node, "a power of 0 mod p with a negative exponent")
                    continue  # a constant inverse is a field element
                raise NotPolynomialError(where, node, f"a division by `{sp.sstr(base)}`")
            continue
        if isinstance(node, (sp.Add, sp.Mul)):
            continue
        if (
            isinstance(node, (sp.Function, sp.core.function.AppliedUndef))
            or callable(getattr(node, "func", None))
            and not isinstance(node, sp.Tuple)
        ):
            raise NotPolynomialError(where, node, f"a function call `{type(node).__name__}`")
        raise NotPolynomialError(where, node, f"an unsupported term of type {type(node).__name__}")


def _cost(expr: sp.Basic) -> int:
    """An upper bound on the monomials of ``expr`` expanded, times (its degree + 1); capped above the limit."""
    return _monomials(expr) * (structural_degree(expr) + 1)


@lru_cache(maxsize=100_000)
def _monomials(expr: sp.Basic) -> int:
    cap = WORK_LIMIT + 1
    if isinstance(expr, sp.Add):
        return min(cap, sum(_monomials(a) for a in expr.args))
    if isinstance(expr, sp.Mul):
        out = 1
        for a in expr.args:
            out = min(cap, out * _monomials(a))
        return out
    if isinstance(expr, sp.Pow) and isinstance(expr.args[1], sp.Integer) and expr.args[1] > 0:
        n, k = _monomials(expr.args[0]), int(expr.args[1])
        if n == 1:
            return 1
        if n >= cap or k >= cap:
            return cap
        return min(cap, math.comb(n + k - 1, min(k, n - 1)))
    return 1


def _expand(expr: sp.Basic) -> sp.Expr:
    """``sp.expand`` within the work limit (raises ``DegreeWorkLimit`` before starting past it)."""
    if _cost(expr) > WORK_LIMIT:
        raise DegreeWorkLimit(sp.sstr(expr)[:60])
    return sp.expand(expr)


@lru_cache(maxsize=200_000)
def structural_degree(expr: sp.Basic) -> int:
    """Degree by structure: sum over a product, max over a sum. Assumes ``check_polynomial`` passed."""
    if isinstance(expr, Var):
        return expr.degree
    if expr.is_Number:
        return 0
    if isinstance(expr, sp.Add):
        return max(structural_degree(a) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(structural_degree(a) for a in expr.args)
    if isinstance(expr, sp.Pow):
        base, exp = expr.args
        if isinstance(exp, sp.Integer) and exp >= 0:
            return int(exp) * structural_degree(base)
        if base.is_Number:
            return 0
    if isinstance(expr, sp.Symbol):
        raise NotPolynomialError("expression", expr, f"undeclared symbol {expr.name!r}")
    raise NotPolynomialError("expression", expr, "not a polynomial")


def _cells(expr: sp.Basic) -> list[sp.Symbol]:
    return sorted((s for s in expr.free_symbols if isinstance(s, Var) and s.degree > 0), key=str)


def _poly_degree(expr: sp.Basic) -> int:
    gens = _cells(expr)
    if not gens:
        return 0 if sp.expand(expr) != 0 else -1
    p = sp.Poly(expr, *gens)
    if p.is_zero:
        return -1
    return int(p.total_degree())


def _nonzero_somewhere(expr: sp.Expr) -> bool:
    """True if ``expr`` is nonzero at a pseudo-random integer point (then it is not the zero polynomial)."""
    syms = sorted(expr.free_symbols, key=str)
    rng = random.Random(len(syms) * 1_000_003 + 17)
    value = expr.xreplace({s: sp.Integer(rng.randrange(2, 2**61)) for s in syms})
    return sp.sympify(value) != 0


@lru_cache(maxsize=100_000)
def _top(expr: sp.Basic) -> tuple[int, sp.Expr]:
    """(exact degree, top homogeneous part) of ``expr``; degree -1 for the zero polynomial."""
    if isinstance(expr, Var):
        return (expr.degree, expr) if expr.degree > 0 else (0, expr)
    if expr.is_Number:
        return (-1, sp.Integer(0)) if expr == 0 else (0, expr)
    if isinstance(expr, sp.Mul):
        deg, top = 0, sp.Integer(1)
        for a in expr.args:
            d, t = _top(a)
            if d < 0:
                return (-1, sp.Integer(0))
            deg += d
            top = top * t
        return deg, top
    if isinstance(expr, sp.Pow):
        base, exp = expr.args
        if base.is_Number:
            return (0, expr)
        d, t = _top(base)
        if d < 0:
            return (-1, sp.Integer(0))
        return d * int(exp), t ** int(exp)
    if isinstance(expr, sp.Add):
        parts = [_top(a) for a in expr.args]
        d = max(p[0] for p in parts)
        if d < 0:
            return (-1, sp.Integer(0))
        tops = [t for (dd, t) in parts if dd == d]
        if len(tops) == 1:
            return d, tops[0]
        # Several highest parts: if their sum is nonzero at a random point it is a nonzero polynomial (kept
        # unexpanded: expanding e.g. an RPO round's (sum of 12 cells)^7 terms is far too slow); only a zero
        # there is settled by expansion (bounded by the work limit).
        top = sp.Add(*tops)
        if _nonzero_somewhere(top):
            return d, top
        top = _expand(top)
        if top != 0:
            return d, top
        # The highest parts cancel: fall back to a full expansion of this sum.
        full = _expand(expr)
        dd = _poly_degree(full)
        if dd < 0:
            return (-1, sp.Integer(0))
        gens = _cells(full)
        if not gens:
            return 0, full
        p = sp.Poly(full, *gens)
        top_terms = [sp.Mul(c, *[g**k for g, k in zip(gens, m)]) for m, c in p.terms() if sum(m) == dd]
        return dd, sp.Add(*top_terms)
    raise NotPolynomialError("expression", expr, "not a polynomial")


def exact_degree(expr: sp.Basic) -> int:
    """Total degree in the cells after expansion (cancellation detected); -1 for the zero polynomial.

    Past the work limit: the structural degree (see ``degree_or_bound`` to know which it is).
    """
    return degree_or_bound(expr)[0]


def degree_or_bound(expr: sp.Basic) -> tuple[int, bool]:
    """(exact degree, True), or (structural degree, False) when the exact one exceeds the work limit."""
    expr = sp.sympify(expr)
    try:
        return _top(expr)[0], True
    except DegreeWorkLimit:
        return structural_degree(expr), False


@dataclass
class DegreeStep:
    """One line of an explanation: a sub-expression, its degree and how it was obtained."""

    depth: int
    expr: sp.Expr
    degree: int
    rule: str
    children: list[DegreeStep] = field(default_factory=list)

    def lines(self, max_depth: int = 4, width: int = 70) -> list[str]:
        text = sp.sstr(self.expr)
        if len(text) > width:
            text = text[: width - 3] + "..."
        out = [f"{'  ' * self.depth}{self.degree:>2}  {text}   [{self.rule}]"]
        if self.depth < max_depth:
            for c in self.children:
                out.extend(c.lines(max_depth, width))
        return out


def explain(expr: sp.Basic, depth: int = 0, names: dict[sp.Basic, str] | None = None) -> DegreeStep:
    """How the structural degree of ``expr`` adds up: a tree of factors and summands.

    ``names`` maps known sub-expressions (flags, messages) to a display name so that a product
    reads ``f_call(4) * h_init(1) * m_fmpwrite(1)`` rather than the expanded polynomial.
    """
    names = names or {}
    d = structural_degree(expr)
    if expr in names:
        return DegreeStep(depth, sp.Symbol(names[expr]), d, "named")
    if isinstance(expr, Var):
        return DegreeStep(depth, expr, d, expr.kind)
    if expr.is_Number:
        return DegreeStep(depth, expr, 0, "constant")
    if isinstance(expr, sp.Mul):
        kids = [explain(a, depth + 1, names) for a in expr.args]
        rule = "product: " + " + ".join(str(k.degree) for k in kids) + f" = {d}"
        return DegreeStep(depth, expr, d, rule, kids)
    if isinstance(expr, sp.Add):
        kids = [explain(a, depth + 1, names) for a in expr.args]
        rule = "sum: max(" + ", ".join(str(k.degree) for k in kids) + f") = {d}"
        return DegreeStep(depth, expr, d, rule, kids)
    if isinstance(expr, sp.Pow):
        base, exp = expr.args
        kid = explain(base, depth + 1, names)
        return DegreeStep(depth, expr, d, f"power: {exp} x {kid.degree} = {d}", [kid])
    return DegreeStep(depth, expr, d, type(expr).__name__)
