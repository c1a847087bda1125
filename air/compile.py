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
from air.tape import _NO_SEL, _Entries
from air.tape import Tape as RunTape

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

    def run_sparse(self, env: Mapping[str, Value], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every output over the ``n`` rows of ``env`` as its nonzero entries ``(rows, values)``, rows ascending:
        the compiled tape keeps only those (``Tape.run_sparse``); numpy computes the whole output, then selects."""
        if self._columns_of(env) == n and n > 0 and K.load_for(n) is not None:
            fast = self.tape().run_sparse(env, n)
            if fast is not None:
                return fast
        out = []
        for v in self.run(env):
            v = np.broadcast_to(np.asarray(v, dtype=np.uint64), (n,))
            rows = np.flatnonzero(v)
            out.append((rows, v[rows]))
        return out

    def run_matrix(
        self,
        mat: np.ndarray,
        col_of: Mapping[str, tuple[int, int]],
        scal: Mapping[str, Value],
        rows: np.ndarray | slice,
        sparse: bool = False,
        pool: dict | None = None,
    ) -> list[Value] | list[tuple[np.ndarray, np.ndarray]]:
        """Every output on rows of a (columns x rows) uint64 matrix: variable ``x`` is ``mat[i, r + s]`` for
        ``col_of["x"] = (i, s)`` (``x'`` is the next row: s = 1), else ``scal["x"]``; ``rows`` the r (a slice of
        consecutive rows, or an index array). Dense outputs (1-D, one per row), or (``sparse``) each output's
        nonzero entries as ``run_sparse`` (rows as positions in ``rows``). The compiled tape reads the matrix in
        place; numpy reads the rows out first."""
        n = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
        # any number of rows once the kernels are in use: a chunk's few rows of a rare operation, or the few
        # distinct combinations of operation bits, would otherwise pay for sympy's CSE and numpy's overhead
        if n > 0 and (K.load_for(n) is not None or K.loaded() is not None):
            return self.tape().run_rows(mat, col_of, scal, rows, sparse, pool)
        env: dict[str, Value] = dict(scal)
        for name in self.inputs:
            if name in col_of:
                i, sh = col_of[name]
                env[name] = (
                    mat[i, rows.start + sh : rows.stop + sh]
                    if isinstance(rows, slice)
                    else mat[i, np.asarray(rows) + sh]
                )
        if sparse:
            return self.run_sparse(env, n)
        return [np.broadcast_to(np.asarray(v, dtype=np.uint64), (n,)).copy() for v in self.run(env)]

    def _columns_of(self, env: Mapping[str, Value]) -> int:
        """The length of the input columns of ``env`` (0 with none), -1 when they are not 1-D of one length."""
        n = 0
        for name in self.inputs:
            v = env.get(name)
            if isinstance(v, np.ndarray) and v.ndim:
                if v.ndim != 1 or (n and len(v) != n):
                    return -1
                n = len(v)
        return n

    def tape(self) -> Tape:
        """The program as a tape for the compiled interpreter (built once)."""
        t = self.__dict__.get("_tape")
        if t is None:
            t = self.__dict__["_tape"] = Tape([], self._exprs)
        return t

    def tabulate(self, cells: Sequence[str]) -> list[str]:
        """Build the tape around the 0/1 cells ``cells`` (``Tape.tabulate``): a sum's terms ``X * f_i`` whose
        ``f_i`` read only such cells are summed as ``X * (f_1 + ... + f_k)`` (distributivity: the same field
        value), so that the sum of flags is one table lookup. Returns the cells the tables use."""
        t = self.__dict__["_tape"] = Tape([], self._exprs, frozenset(cells))
        return t.tabulate(cells)

    def _run_tape(self, env: Mapping[str, Value], out: dict | None = None) -> list[Value] | None:
        """Every output by the compiled tape interpreter, or None when numpy should run it: the kernels are off,
        no input is a column, or the columns are not 1-D of one length."""
        n = self._columns_of(env)
        if n <= 0 or K.load_for(n) is None:
            return None
        return self.tape().run(env, n, out)


class Tape(RunTape):
    """A straight-line program lowered to ``(code, dst, a, b)`` ops over registers, for one precompiled
    interpreter (``air._numba_kernels.run_tape``): LOAD a slot (a variable or a constant), ADD/SUB/MUL two
    registers, STORE a register as an output. Values are numbered once (equal sub-terms share a number); a
    register is reused after the value's last use, and never as the destination of an op that reads it."""

    def __init__(
        self, temps: Sequence[tuple[str, sp.Expr]], outs: Sequence[sp.Expr], cells: frozenset[str] = frozenset()
    ):
        self._cells = cells  # 0/1 cells: a sum's terms are grouped by their factor over other cells (_group_terms)
        self._pure_memo: dict[sp.Basic, bool] = {}
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
            for a in self._group_terms(e.args):
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

    def _is_pure(self, e: sp.Basic) -> bool:
        """Whether ``e`` reads only the 0/1 cells (and constants)."""
        v = self._pure_memo.get(e)
        if v is None:
            v = self._pure_memo[e] = all(s.name in self._cells for s in symbols_in([e]))
        return v

    def _group_terms(self, terms: Sequence[sp.Basic]) -> Sequence[sp.Basic]:
        """A sum's terms regrouped around the 0/1 cells, the same value: the terms over 0/1 cells only summed
        first (one table), and those of the form ``c * X * f`` (``f`` over 0/1 cells, ``X`` not) grouped by ``X``
        as ``X * (c_1 f_1 + c_2 f_2 + ...)``; the others as they are."""
        if not self._cells or len(terms) < 2:
            return terms
        groups: dict[sp.Basic, list[sp.Basic]] = {}
        pure_terms: list[sp.Basic] = []
        others: list[sp.Basic] = []
        for t in terms:
            if self._is_pure(t):
                pure_terms.append(t)
                continue
            coeff, factors = t.as_coeff_mul() if isinstance(t, sp.Mul) else (sp.Integer(1), (t,))
            pure = [f for f in factors if self._is_pure(f)]
            rest = [f for f in factors if not self._is_pure(f)]
            if pure and rest:
                groups.setdefault(sp.Mul(*rest), []).append(sp.Mul(coeff, *pure))
            else:
                others.append(t)
        if len(pure_terms) == len(terms) or (len(pure_terms) < 2 and all(len(v) < 2 for v in groups.values())):
            return terms  # nothing to regroup (a sum over 0/1 cells only is one table as it is)
        out = list(others)
        if len(pure_terms) > 1:
            out.append(sp.Add(*pure_terms))
        else:
            out.extend(pure_terms)
        for x, fs in groups.items():
            out.append(sp.Mul(x, sp.Add(*fs), evaluate=False) if len(fs) > 1 else sp.Mul(x, fs[0]))
        return out

    def _allocate(self) -> None:
        self.ops, self.n_regs = _allocate(self._nodes, self.outputs)

    def tabulate(self, bits: Sequence[str], max_bits: int = 10) -> list[str]:
        """Tabulate the sub-terms over 0/1 cells. ``bits``: variables expected to be 0/1 (operation bits,
        selectors). They fall into groups, cells that some sub-term reads together (the operation bits, the
        chiplet selectors), of at most ``max_bits`` each (the most used kept). Every sub-term that reads only one
        group's cells (an operation flag, a sum of flags), and feeds a term that does not or is an output, becomes
        a table of its 2^k values over that group, computed once here by this tape's own arithmetic.
        ``run_sparse`` reads the tables on every block of rows where all these cells are 0 or 1, and computes the
        polynomials as written on any other block: the outputs are the same on every input. Returns the
        variables used (none: no table)."""
        nodes = self._nodes
        cand = {self._slot_of[b] for b in bits if b in self._slot_of}
        while True:
            pure, support, uses = self._pure(cand)
            parent = {j: j for j in cand}

            find = _finder(parent)

            for i, (code, _, _) in enumerate(nodes):
                if code and pure[i] and len(support[i]) > 1:
                    first, *rest = support[i]
                    for j in rest:
                        parent[find(j)] = find(first)
            groups: dict[int, list[int]] = {}
            for j in sorted(cand, key=lambda j: (-uses.get(j, 0), j)):
                groups.setdefault(find(j), []).append(j)
            over = [j for g in groups.values() for j in g[max_bits:]]
            if not over:
                break
            cand -= set(over)  # the least used cells of a group too large: their terms are computed, not looked up
        fed_impure = [False] * len(nodes)
        for i, (code, a, b) in enumerate(nodes):
            if code and not pure[i]:
                fed_impure[a] = fed_impure[b] = True
        outs = set(self.outputs)
        roots = [
            i
            for i, (code, _, _) in enumerate(nodes)
            if code and pure[i] and support[i] and (fed_impure[i] or i in outs)
        ]
        self._bits = np.zeros((0, 3), dtype=np.int64)
        if not roots:
            return []
        # the groups some root reads; a cell's pattern bit is its place in its group
        used = sorted({find(next(iter(support[r]))) for r in roots})
        gid = {g: k for k, g in enumerate(used)}
        bit_rows = [(j, gid[g], pos) for g in used for pos, j in enumerate(groups[g])]
        # the binary tape: a root is a table lookup (code 5, its index among the roots); the other terms over 0/1
        # cells only drop out (constants stay)
        new_of: dict[int, int] = {}
        bnodes: list[tuple[int, int, int]] = []
        root_at = {r: k for k, r in enumerate(roots)}
        for i, (code, a, b) in enumerate(nodes):
            if i in root_at:
                node = (5, root_at[i], -1)
            elif code and pure[i] and support[i]:
                continue
            elif code == 0:
                node = (0, a, -1)
            else:  # an impure term (or a constant): its operands over 0/1 cells are roots, never dropped
                node = (code, new_of[a], new_of[b])
            new_of[i] = len(bnodes)
            bnodes.append(node)
        self.ops_bin, self.n_regs_bin = _allocate(bnodes, [new_of[o] for o in self.outputs])
        # the tables: per group, this tape's ops with the group's roots as outputs over all 2^k assignments
        luts = np.zeros((len(roots), 2), dtype=np.int64)  # (group, offset in tables)
        tables: list[np.ndarray] = []
        at = 0
        for g in used:
            cells = groups[g]
            mine = [r for r in roots if find(next(iter(support[r]))) == g]
            k = len(cells)
            t_ops, t_regs = _allocate(nodes, mine)
            slot_row = np.full(len(self.slots), -1, dtype=np.int64)
            slot_val = np.zeros(len(self.slots), dtype=np.uint64)  # a cell no root of the group reads: any value
            for j, key in enumerate(self.slots):
                if isinstance(key, int):
                    slot_val[j] = key
            for pos, j in enumerate(cells):
                slot_row[j] = pos
            pattern = np.arange(1 << k, dtype=np.uint64)
            inputs = np.array([(pattern >> np.uint64(pos)) & np.uint64(1) for pos in range(k)], dtype=np.uint64)
            out = np.empty((len(mine), 1 << k), dtype=np.uint64)
            regs = np.empty((t_regs, min(self.BLOCK, 1 << k)), dtype=np.uint64)
            plain = (t_ops, t_ops, np.zeros((0, 3), dtype=np.int64), np.zeros((0, 2), dtype=np.int64))
            rows = (
                slot_row,
                np.zeros(len(self.slots), dtype=np.int64),
                slot_val,
                inputs.reshape(k, 1 << k),
                _NO_SEL,
                0,
            )
            pats = np.zeros((1, regs.shape[1]), dtype=np.int64)
            K.run_tape(
                (*plain, np.zeros(1, dtype=np.uint64), pats), rows, (0, 1 << k, 0), regs, True, out, _Entries.none()
            )
            for r, row in zip(mine, out):
                luts[root_at[r]] = (gid[g], at)
                tables.append(row)
                at += 1 << k
        self._bits = np.array(bit_rows, dtype=np.int64).reshape(-1, 3)  # (slot, group, place in the group)
        self.luts = luts
        self.tables = np.concatenate(tables)
        self.n_groups = len(used)
        return [str(self.slots[j]) for j, _, _ in bit_rows]

    def _pure(self, cand: set[int]) -> tuple[list[bool], list[frozenset[int]], dict[int, int]]:
        """Per node: whether it reads only the slots ``cand`` and constants, and which of ``cand`` it reads; and
        per slot of ``cand``, how many such nodes read it."""
        pure: list[bool] = []
        support: list[frozenset[int]] = []
        uses: dict[int, int] = {}
        for code, a, b in self._nodes:
            if code == 0:
                pure.append(isinstance(self.slots[a], int) or a in cand)
                support.append(frozenset([a]) if a in cand else frozenset())
            else:
                pure.append(pure[a] and pure[b])
                support.append(support[a] | support[b])
                if pure[-1]:
                    for j in support[-1]:
                        uses[j] = uses.get(j, 0) + 1
        return pure, support, uses


def _finder(parent: dict[int, int]) -> Callable[[int], int]:
    """Union-find's find over ``parent`` (with path halving)."""

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    return find


def _allocate(nodes: Sequence[tuple[int, int, int]], outputs: Sequence[int]) -> tuple[np.ndarray, int]:
    """Ops ``(code, dst, a, b)`` for ``nodes`` (registers by last use; each output stored right after the op that
    computes it) and the number of registers. LOAD (0) and LUT (5) read no register."""
    last = list(range(len(nodes)))  # a value nobody reads dies where it is made
    for i, (code, a, b) in enumerate(nodes):
        if code in (1, 2, 3):
            last[a] = max(last[a], i)
            last[b] = max(last[b], i)
    stores: dict[int, list[int]] = {}
    for k, v in enumerate(outputs):
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
        ops.append((code, d, reg[a], reg[b]) if code in (1, 2, 3) else (code, d, a, -1))
        for k in stores.get(i, ()):
            ops.append((4, d, k, -1))
        if last[i] == i:  # read by nobody: its register is free again at once
            free.append(d)
        if code in (1, 2, 3):  # an operand read for the last time frees its register (once, when a == b)
            if last[a] == i:
                free.append(reg[a])
            if b != a and last[b] == i:
                free.append(reg[b])
    return np.array(ops, dtype=np.int64).reshape(-1, 4), max(n_regs, 1)


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
