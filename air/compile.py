"""Compile sympy polynomials into one program over whole columns of Goldilocks elements.

``Program(exprs)`` runs ``sympy.cse`` over all the expressions together, so a sub-expression that
occurs in several of them (an operation flag above all) is computed once per trace, then lowers the
result to a list of steps (load, constant, add, sub, neg, mul) evaluated with ``air.field`` on numpy
uint64 arrays. Rational coefficients become field elements (``1/2`` is the inverse of 2); a float, or
a rational whose denominator is a multiple of p, is refused (``NotPolynomialError``), never rounded.

``eval_int`` is an independent slow path on Python ints, for reports and as a reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

import numpy as np
import sympy as sp

from air import field as F
from air.degree import NotPolynomialError
from air.symbols import Var

__all__ = ["Program", "eval_int", "const_value"]

Value = np.ndarray  # uint64 array, or a 0-d uint64 array for a row-independent value


def const_value(c: sp.Basic) -> int:
    """The field element of a rational constant (or an integer power of one)."""
    if isinstance(c, sp.Pow) and c.args[0].is_Rational and isinstance(c.args[1], sp.Integer):
        base, k = const_value(c.args[0]), int(c.args[1])
        if k < 0:
            if base == 0:
                raise NotPolynomialError("expression", c, "0 mod p has no inverse")
            base, k = F.inv(base), -k
        return pow(base, k, F.P)
    if not isinstance(c, sp.Rational):  # Integer is a Rational; a Float, oo, nan, ... are not
        raise NotPolynomialError("expression", c, "a number with no exact field value")
    r = Fraction(int(c.p), int(c.q))
    if r.denominator % F.P == 0:
        raise NotPolynomialError("expression", c, "a denominator that is a multiple of p has no inverse mod p")
    return (r.numerator % F.P) * F.inv(r.denominator) % F.P


class Program:
    """A straight-line program computing every expression of ``exprs`` from an environment.

    The environment maps each variable name (``x``, ``x'``, ``alpha_0``, a periodic column, a public
    input) to a uint64 array (one value per row) or a uint64 scalar.
    """

    def __init__(self, exprs: Sequence[sp.Expr], symbols: str = "~cse"):
        exprs = [sp.sympify(e) for e in exprs]
        # temporaries are named so that no column can be (column names are identifiers)
        counter = (sp.Symbol(f"{symbols}{i}") for i in range(10**9))
        repl, reduced = sp.cse(exprs, symbols=counter, optimizations=None, order="none")
        self._temps: list[tuple[str, sp.Expr]] = [(s.name, e) for s, e in repl]
        self._outs: list[sp.Expr] = list(reduced)
        self.inputs: set[str] = set()
        for e in list(exprs):
            for s in e.free_symbols:
                if isinstance(s, Var):
                    self.inputs.add(s.name)
        self.n_mul = 0
        for _, e in self._temps:
            self.n_mul += sum(1 for n in sp.preorder_traversal(e) if isinstance(n, sp.Mul))

    def run(self, env: Mapping[str, Value]) -> list[Value]:
        vals: dict[str, Value] = dict(env)
        for name, e in self._temps:
            vals[name] = _eval(e, vals)
        return [_eval(e, vals) for e in self._outs]


_PROGRAMS: dict[tuple[sp.Expr, ...], Program] = {}
_MAX_PROGRAMS = 512


def program(exprs: Sequence[sp.Expr]) -> Program:
    """``Program(exprs)``, compiled once per distinct tuple of expressions (a Program is immutable once built):
    checking many traces of one AIR (a test suite, a mutation sweep, a notebook) pays sympy's CSE once."""
    key = tuple(sp.sympify(e) for e in exprs)
    prog = _PROGRAMS.get(key)
    if prog is None:
        if len(_PROGRAMS) >= _MAX_PROGRAMS:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        prog = _PROGRAMS[key] = Program(key)
    return prog


def _scalar(v: int) -> np.ndarray:
    return np.array(v % F.P, dtype=np.uint64)


def _eval(e: sp.Basic, vals: Mapping[str, Value]) -> Value:
    if isinstance(e, sp.Symbol):
        try:
            return vals[e.name]
        except KeyError:
            raise NotPolynomialError("program", e, f"no value bound for {e.name!r}") from None
    if e.is_Number:
        return _scalar(const_value(e))
    if isinstance(e, sp.Add):
        pos: list[Value] = []
        negs: list[Value] = []
        for a in e.args:
            if isinstance(a, sp.Mul) and a.args[0] == -1:
                rest = sp.Mul(*a.args[1:], evaluate=False) if len(a.args) > 2 else a.args[1]
                negs.append(_eval(rest, vals))
            else:
                pos.append(_eval(a, vals))
        acc: Value | None = None
        for v in pos:
            acc = v if acc is None else F.add(acc, v)
        for v in negs:
            acc = F.neg(v) if acc is None else F.sub(acc, v)
        assert acc is not None
        return acc
    if isinstance(e, sp.Mul):
        coeff = sp.Integer(1)
        factors: list[Value] = []
        for a in e.args:
            if a.is_Number:
                coeff = coeff * a
            else:
                factors.append(_eval(a, vals))
        acc = None
        for v in factors:
            acc = v if acc is None else F.mul(acc, v)
        if acc is None:
            return _scalar(const_value(coeff))
        if coeff == -1:
            return F.neg(acc)
        if coeff != 1:
            return F.mul(acc, _scalar(const_value(coeff)))
        return acc
    if isinstance(e, sp.Pow):
        base, exp = e.args
        if not isinstance(exp, sp.Integer) or exp < 0:
            if base.is_Rational and isinstance(exp, sp.Integer):
                return _scalar(const_value(e))
            raise NotPolynomialError("program", e, "not a polynomial")
        b = _eval(base, vals)
        k = int(exp)
        result: Value | None = None
        while k:
            if k & 1:
                result = b if result is None else F.mul(result, b)
            k >>= 1
            if k:
                b = F.mul(b, b)
        return result if result is not None else _scalar(1)
    raise NotPolynomialError("program", e, f"unsupported node {type(e).__name__}")


def eval_int(e: sp.Basic, env: Mapping[str, int] | Callable[[str], int]) -> int:
    """Value of ``e`` with Python ints mod p; ``env`` gives each variable's value."""
    get = env if callable(env) else env.__getitem__
    if isinstance(e, sp.Symbol):
        return int(get(e.name)) % F.P
    if e.is_Number:
        return const_value(e)
    if isinstance(e, sp.Add):
        return sum(eval_int(a, get) for a in e.args) % F.P
    if isinstance(e, sp.Mul):
        r = 1
        for a in e.args:
            r = r * eval_int(a, get) % F.P
        return r
    if isinstance(e, sp.Pow):
        base, exp = e.args
        if not isinstance(exp, sp.Integer) or exp < 0:
            if base.is_Rational and isinstance(exp, sp.Integer):
                return const_value(e)
            raise NotPolynomialError("expression", e, "not a polynomial")
        return pow(eval_int(base, get), int(exp), F.P)
    raise NotPolynomialError("expression", e, f"unsupported node {type(e).__name__}")
