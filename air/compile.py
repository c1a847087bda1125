"""Compile sympy polynomials into one program over whole columns of Goldilocks elements.

``Program(exprs)`` is run one of two ways, with the same results bit for bit:

* with the compiled kernels (``air.kernels``, numba): lowered to a ``Tape`` of load/add/sub/mul ops in which equal
  sub-terms are one value (an operation flag shared by many constraints is computed once), run by one precompiled
  interpreter over blocks of rows;
* else (``AIR_NO_NUMBA=1``, no numba, a short column): ``sympy.cse`` over all the expressions together, then the
  steps evaluated with ``air.field`` on numpy uint64 arrays (the reference).

Rational coefficients become field elements (``1/2`` is the inverse of 2); a float, or
a rational whose denominator is a multiple of p, is refused (``NotPolynomialError``), never rounded.

``eval_int`` is an independent slow path on Python ints, for reports and as a reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

import numpy as np
import sympy as sp

from air import field as F
from air import kernels as K
from air.degree import NotPolynomialError
from air.symbols import Var

__all__ = ["Program", "Tape", "eval_int", "const_value", "symbols_in"]

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
        self._exprs = [sp.sympify(e) for e in exprs]
        self._symbols = symbols
        self.inputs: set[str] = {s.name for s in symbols_in(self._exprs) if isinstance(s, Var)}

    def _cse(self) -> tuple[list[tuple[str, sp.Expr]], list[sp.Expr]]:
        """sympy's CSE of the expressions, for the numpy evaluator: done on its first run only (the tape does its
        own sharing of equal sub-terms, in a fraction of the time: 0.17 s against 0.6 s for the complete model)."""
        if "_temps" not in self.__dict__:
            # temporaries are named so that no column can be (column names are identifiers)
            counter = (sp.Symbol(f"{self._symbols}{i}") for i in range(10**9))
            repl, reduced = sp.cse(self._exprs, symbols=counter, optimizations=None, order="none")
            self._temps = [(s.name, e) for s, e in repl]
            self._outs = list(reduced)
        return self._temps, self._outs

    @property
    def n_mul(self) -> int:
        """Multiplications in the CSE'd program (its temporaries)."""
        return sum(1 for _, e in self._cse()[0] for n in sp.preorder_traversal(e) if isinstance(n, sp.Mul))

    def run(self, env: Mapping[str, Value], out: dict | None = None) -> list[Value]:
        """Every output over the rows of ``env``. ``out``: a cache of output buffers the tape may write into
        and keep for the next call of the same shape (the caller must be done with the previous call's outputs):
        a fresh (outputs x rows) buffer page-faults in at every call, ~0.1 s a call for 2^17 rows of 250 outputs."""
        fast = self._run_tape(env, out)
        if fast is not None:
            return fast
        temps, outs = self._cse()
        vals: dict[str, Value] = dict(env)
        for name, e in temps:
            vals[name] = _eval(e, vals)
        return [_eval(e, vals) for e in outs]


    def tape(self) -> Tape:
        """The program as a tape for the compiled interpreter (built once)."""
        t = self.__dict__.get("_tape")
        if t is None:
            t = self.__dict__["_tape"] = Tape([], self._exprs)
        return t

    def _run_tape(self, env: Mapping[str, Value], out: dict | None = None) -> list[Value] | None:
        """Every output by the compiled tape interpreter, or None when numpy should run it: the kernels are off,
        no input is a column, or the columns are not 1-D of one length."""
        n = -1
        for name in self.inputs:
            v = env.get(name)
            if isinstance(v, np.ndarray) and v.ndim:
                if v.ndim != 1 or (n >= 0 and len(v) != n):
                    return None
                n = len(v)
        if n <= 0 or K.load_for(n) is None:
            return None
        return self.tape().run(env, n, out)


class Tape:
    """A straight-line program lowered to ``(code, dst, a, b)`` ops over registers, for one precompiled
    interpreter (``air._numba_kernels.run_tape``): LOAD a slot (a variable or a constant), ADD/SUB/MUL two
    registers, STORE a register as an output. Values are numbered once (equal sub-terms share a number); a
    register is reused after the value's last use, and never as the destination of an op that reads it."""

    def __init__(self, temps: Sequence[tuple[str, sp.Expr]], outs: Sequence[sp.Expr]):
        self.slots: list[str | int] = []  # a variable's name, or a constant's field value
        self._slot_of: dict[str | int, int] = {}
        self._nodes: list[tuple[int, int, int]] = []  # (code, a, b): LOAD (0, slot, -1), or an op on values
        self._node_of: dict[tuple[int, int, int], int] = {}
        self._memo: dict[sp.Basic, int] = {}
        named: dict[str, int] = {}
        for name, e in temps:
            named[name] = self._lower(e, named)
        self.outputs = [self._lower(e, named) for e in outs]
        self._allocate()

    def _slot(self, key: str | int) -> int:
        if key not in self._slot_of:
            self._slot_of[key] = len(self.slots)
            self.slots.append(key)
        return self._node(0, self._slot_of[key], -1)

    def _node(self, code: int, a: int, b: int) -> int:
        key = (code, a, b)
        if key not in self._node_of:
            self._node_of[key] = len(self._nodes)
            self._nodes.append(key)
        return self._node_of[key]

    def _lower(self, e: sp.Basic, named: Mapping[str, int]) -> int:
        """The value number of ``e`` (the same arithmetic as ``_eval``); a sub-tree met again is looked up."""
        v = self._memo.get(e)
        if v is None:
            v = self._memo[e] = self._lower_new(e, named)
        return v

    def _lower_new(self, e: sp.Basic, named: Mapping[str, int]) -> int:
        if isinstance(e, sp.Symbol):
            return named[e.name] if e.name in named else self._slot(e.name)
        if e.is_Number:
            return self._slot(const_value(e))
        if isinstance(e, sp.Add):
            acc: int | None = None
            negs: list[int] = []
            for a in e.args:
                if isinstance(a, sp.Mul) and a.args[0] == -1:
                    rest = sp.Mul(*a.args[1:], evaluate=False) if len(a.args) > 2 else a.args[1]
                    negs.append(self._lower(rest, named))
                else:
                    v = self._lower(a, named)
                    acc = v if acc is None else self._node(1, acc, v)
            for v in negs:
                acc = self._node(2, self._slot(0) if acc is None else acc, v)
            assert acc is not None
            return acc
        if isinstance(e, sp.Mul):
            coeff = sp.Integer(1)
            acc = None
            for a in e.args:
                if a.is_Number:
                    coeff = coeff * a
                else:
                    v = self._lower(a, named)
                    acc = v if acc is None else self._node(3, acc, v)
            if acc is None:
                return self._slot(const_value(coeff))
            if coeff == -1:
                return self._node(2, self._slot(0), acc)
            if coeff != 1:
                return self._node(3, acc, self._slot(const_value(coeff)))
            return acc
        if isinstance(e, sp.Pow):
            base, exp = e.args
            if not isinstance(exp, sp.Integer) or exp < 0:
                if base.is_Rational and isinstance(exp, sp.Integer):
                    return self._slot(const_value(e))
                raise NotPolynomialError("program", e, "not a polynomial")
            b = self._lower(base, named)
            k = int(exp)
            result: int | None = None
            while k:
                if k & 1:
                    result = b if result is None else self._node(3, result, b)
                k >>= 1
                if k:
                    b = self._node(3, b, b)
            return result if result is not None else self._slot(1)
        raise NotPolynomialError("program", e, f"unsupported node {type(e).__name__}")

    def _allocate(self) -> None:
        """Registers by last use; each output is stored right after the op that computes it."""
        nodes = self._nodes
        last = list(range(len(nodes)))  # a value nobody reads dies where it is made
        for i, (code, a, b) in enumerate(nodes):
            if code:
                last[a] = max(last[a], i)
                last[b] = max(last[b], i)
        stores: dict[int, list[int]] = {}
        for k, v in enumerate(self.outputs):
            stores.setdefault(v, []).append(k)
        reg: list[int] = [-1] * len(nodes)
        free: list[int] = []
        n_regs = 0
        ops: list[tuple[int, int, int, int]] = []
        for i, (code, a, b) in enumerate(nodes):
            if free:
                d = free.pop()
            else:
                d, n_regs = n_regs, n_regs + 1
            reg[i] = d  # chosen before the operands are freed: never aliases them
            ops.append((0, d, a, -1) if code == 0 else (code, d, reg[a], reg[b]))
            for k in stores.get(i, ()):
                ops.append((4, d, k, -1))
            dying = {i} if last[i] == i else set()
            if code:
                dying |= {x for x in (a, b) if last[x] == i}
            free.extend(reg[x] for x in dying)
        self.ops = np.array(ops, dtype=np.int64).reshape(-1, 4)
        self.n_regs = max(n_regs, 1)

    BLOCK = 1024  # rows per block: the registers of a block stay in cache
    CHUNK = 1 << 15  # rows of input copied per kernel call

    def run(self, env: Mapping[str, Value], n: int, cache: dict | None = None) -> list[Value] | None:
        """Every output over ``n`` rows (``env`` as for ``Program.run``), or None if a column is not ``n`` long;
        ``cache``: output buffers kept between calls (``Program.run``'s ``out``)."""
        slot_row = np.full(len(self.slots), -1, dtype=np.int64)
        slot_val = np.zeros(len(self.slots), dtype=np.uint64)
        cols: list[np.ndarray] = []
        for j, key in enumerate(self.slots):
            if isinstance(key, int):
                slot_val[j] = key
                continue
            try:
                v = env[key]
            except KeyError:
                raise NotPolynomialError("program", sp.Symbol(key), f"no value bound for {key!r}") from None
            v = np.asarray(v, dtype=np.uint64)
            if v.ndim == 0:
                slot_val[j] = int(v)
            elif v.shape != (n,):
                return None
            else:
                slot_row[j] = len(cols)
                cols.append(v)
        size = len(self.outputs) * n
        flat = None if cache is None else cache.get(id(self))
        if flat is None or len(flat) < size:
            flat = np.empty(size, dtype=np.uint64)
            if cache is not None:
                cache[id(self)] = flat
        out = flat[:size].reshape(len(self.outputs), n)  # C-contiguous: a shorter chunk reuses the buffer too
        regs = np.empty((self.n_regs, min(self.BLOCK, n)), dtype=np.uint64)
        # the input columns are copied into one (inputs x rows) buffer, a chunk of rows at a time: the kernel
        # takes one array, and a reused chunk-sized buffer stays in cache (a full-length copy page-faults)
        step = min(self.CHUNK, n)
        buf = np.empty((len(cols), step), dtype=np.uint64)
        for start in range(0, n, step):
            stop = min(start + step, n)
            inputs = buf[:, : stop - start] if stop - start < step else buf
            for j, c in enumerate(cols):
                inputs[j] = c[start:stop]
            K.run_tape(self.ops, slot_row, slot_val, np.ascontiguousarray(inputs), out, regs, start)
        return list(out)


def symbols_in(exprs: Sequence[sp.Basic]) -> set[sp.Symbol]:
    """The symbols of ``exprs``, each distinct sub-tree visited once (``free_symbols`` walks a sub-tree again
    wherever it occurs, and an operation flag occurs in dozens of constraints)."""
    seen: set[int] = set()
    out: set[sp.Symbol] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, sp.Symbol):
            out.add(e)
        else:
            stack.extend(e.args)
    return out


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
