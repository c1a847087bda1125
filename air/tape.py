"""The compiled program a check runs, with no sympy: a ``Tape`` of ``(code, dst, a, b)`` ops over registers that one
precompiled interpreter runs (``air._numba_kernels.run_tape``, through ``air.kernels``) over blocks of rows: LOAD a
slot (a variable or a constant), ADD/SUB/MUL two registers, LUT a table over 0/1 cells, STORE a register as an
output (dense, or only its nonzero entries: ``_Entries``).

``air.compile.Tape`` lowers sympy polynomials into one (and tabulates it); this class runs one, and stores and
restores it as data (``state`` / ``restored``, for ``air.tape_cache``), so that a check whose tapes are cached
needs neither sympy nor the AIR's polynomials to run them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from air import field as F
from air import kernels as K

__all__ = ["Tape"]

Value = np.ndarray  # uint64 array, or a 0-d uint64 array for a row-independent value


class Tape:
    """A straight-line program lowered to ops over registers (``air.compile.Tape`` builds one from polynomials).
    ``slots``: each a variable's name or a constant's field value; ``outputs``: one per output; ``ops`` and
    ``n_regs``; with tables (``air.compile.Tape.tabulate``): ``ops_bin``, ``n_regs_bin``, ``_bits``, ``luts``,
    ``tables``, ``n_groups``."""

    slots: list[str | int]
    outputs: list[int]
    ops: np.ndarray
    n_regs: int

    _TABLE_ARRAYS = ("ops_bin", "_bits", "luts", "tables")

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the interpreter runs, as data (``air.tape_cache`` stores it): the slots, the outputs and the
        register counts (JSON), the ops and the tables (int64/uint64 arrays). Not the lowering's sympy state."""
        meta: dict[str, Any] = {"slots": list(self.slots), "outputs": list(self.outputs), "n_regs": int(self.n_regs)}
        arrays = {"ops": self.ops}
        bits = self.__dict__.get("_bits")
        if bits is not None and len(bits):
            meta["n_regs_bin"] = int(self.n_regs_bin)
            meta["n_groups"] = int(self.n_groups)
            arrays |= {k: getattr(self, k) for k in self._TABLE_ARRAYS}
        return meta, arrays

    @classmethod
    def restored(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Tape:
        """A tape from ``state()``'s data, checked for shape and range (``ValueError`` otherwise): the kernel
        indexes registers, slots and tables with these numbers, so a value out of range is refused here."""
        t = cls.__new__(cls)
        slots = list(meta["slots"])
        if any(type(x) not in (str, int) or (type(x) is int and not 0 <= x < F.P) for x in slots):
            raise ValueError("a tape slot is neither a name nor a field element")
        outputs = [int(x) for x in meta["outputs"]]
        t.slots, t.outputs, t.n_regs = slots, outputs, int(meta["n_regs"])
        t.ops = _checked_ops(arrays["ops"], t.n_regs, len(slots), len(outputs))
        if "n_regs_bin" in meta:
            t.n_regs_bin, t.n_groups = int(meta["n_regs_bin"]), int(meta["n_groups"])
            if not 1 <= t.n_groups <= 64:
                raise ValueError("a tape's number of cell groups is out of range")
            t._bits = _int_array(arrays["_bits"], 3)
            t.luts = _int_array(arrays["luts"], 2)
            t.tables = np.ascontiguousarray(arrays["tables"])
            if t.tables.dtype != np.uint64 or t.tables.ndim != 1 or (len(t.tables) and int(t.tables.max()) >= F.P):
                raise ValueError("a tape table is not one column of field elements")
            bits, luts = t._bits, t.luts
            if len(bits) and (
                bits[:, 0].min() < 0
                or bits[:, 0].max() >= len(slots)
                or bits[:, 1].min() < 0
                or bits[:, 1].max() >= t.n_groups
                or bits[:, 2].min() < 0
                or bits[:, 2].max() >= 20
            ):
                raise ValueError("a tape's 0/1 cells are out of range")
            if len(luts) and (luts[:, 0].min() < 0 or luts[:, 0].max() >= t.n_groups or luts[:, 1].min() < 0):
                raise ValueError("a tape's table offsets are out of range")
            for g, off in luts.tolist():
                width = 1 << int((bits[:, 1] == g).sum())
                if off + width > len(t.tables):
                    raise ValueError("a tape's table offsets are out of range")
            t.ops_bin = _checked_ops(arrays["ops_bin"], t.n_regs_bin, len(slots), len(outputs), len(luts))
        else:
            t._bits = np.zeros((0, 3), dtype=np.int64)
        return t

    BLOCK = 1024  # rows per block: the registers of a block stay in cache

    CHUNK = 1 << 15  # rows of input copied per kernel call (run, run_sparse)

    def _slots(
        self, scal: Mapping[str, Value], col_of: Mapping[str, tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each slot's source: a variable in ``col_of`` is (row of the matrix, shift), one in ``scal`` a value."""
        slot_row = np.full(len(self.slots), -1, dtype=np.int64)
        slot_shift = np.zeros(len(self.slots), dtype=np.int64)
        slot_val = np.zeros(len(self.slots), dtype=np.uint64)
        for j, key in enumerate(self.slots):
            if isinstance(key, int):
                slot_val[j] = key
            elif key in col_of:
                slot_row[j], slot_shift[j] = col_of[key]
            elif key in scal:
                slot_val[j] = int(np.asarray(scal[key]))
            else:
                raise _unbound(key)
        return slot_row, slot_shift, slot_val

    def _program(self, slot_row: np.ndarray, blk: int) -> tuple[tuple, np.ndarray]:
        """The kernel's program arguments (the tables only when every 0/1 cell is a column), with the pattern
        scratch, and the registers for blocks of ``blk`` rows."""
        bits = self.__dict__.get("_bits")
        if bits is None or not len(bits) or (slot_row[bits[:, 0]] < 0).any():
            none = (np.zeros((0, 3), dtype=np.int64), np.zeros((0, 2), dtype=np.int64), np.zeros(1, dtype=np.uint64))
            prog, n_regs = (self.ops, self.ops, *none), self.n_regs
        else:
            prog, n_regs = (self.ops, self.ops_bin, bits, self.luts, self.tables), max(self.n_regs, self.n_regs_bin)
        pats = np.zeros((max(self.__dict__.get("n_groups", 0), 1), blk), dtype=np.int64)
        return (*prog, pats), np.empty((n_regs, blk), dtype=np.uint64)

    def _env_matrix(self, env: Mapping[str, Value], n: int) -> tuple[dict, dict, list[np.ndarray]] | None:
        """``env`` split into scalars and columns (None if a column is not ``n`` long)."""
        scal: dict[str, Value] = {}
        col_of: dict[str, tuple[int, int]] = {}
        cols: list[np.ndarray] = []
        for key in self.slots:
            if isinstance(key, int) or key in col_of or key in scal:
                continue
            if key not in env:
                raise _unbound(key)
            v = np.asarray(env[key], dtype=np.uint64)
            if v.ndim == 0:
                scal[key] = v
            elif v.shape != (n,):
                return None
            else:
                col_of[key] = (len(cols), 0)
                cols.append(v)
        return scal, col_of, cols

    def _pieces(self, cols: list[np.ndarray], n: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """The columns copied into one (columns x rows) buffer, a piece of rows at a time: a reused piece-sized
        buffer stays in cache (a full-length copy page-faults). Yields (first row, rows, buffer)."""
        step = min(self.CHUNK, n)
        buf = np.empty((max(len(cols), 1), step), dtype=np.uint64)
        for start in range(0, n, step):
            stop = min(start + step, n)
            for j, c in enumerate(cols):
                buf[j, : stop - start] = c[start:stop]
            yield start, stop - start, buf

    def run(self, env: Mapping[str, Value], n: int, cache: dict | None = None) -> list[Value] | None:
        """Every output over ``n`` rows (``env`` as for ``Program.run``), or None if a column is not ``n`` long;
        ``cache``: output buffers kept between calls (``Program.run``'s ``out``)."""
        split = self._env_matrix(env, n)
        if split is None:
            return None
        scal, col_of, cols = split
        slot_row, slot_shift, slot_val = self._slots(scal, col_of)
        size = len(self.outputs) * n
        flat = None if cache is None else cache.get(id(self))
        if flat is None or len(flat) < size:
            flat = np.empty(size, dtype=np.uint64)
            if cache is not None:
                cache[id(self)] = flat
        out = flat[:size].reshape(len(self.outputs), n)  # C-contiguous: a shorter chunk reuses the buffer too
        prog, regs = self._program(slot_row, min(self.BLOCK, n))
        none = _Entries.none()
        for start, m, buf in self._pieces(cols, n):
            K.run_tape(prog, (slot_row, slot_shift, slot_val, buf, _NO_SEL, 0), (0, m, start), regs, True, out, none)
        return list(out)

    def run_sparse(self, env: Mapping[str, Value], n: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Every output over ``n`` rows as its nonzero entries: per output ``(rows, values)``, rows ascending (the
        rows a flag selects, a constraint fails, a bus term sends). None as for ``run``. Nothing of the size of
        (outputs x rows) is written: an operation flag is zero on most rows, and a constraint on all of them."""
        split = self._env_matrix(env, n)
        if split is None:
            return None
        scal, col_of, cols = split
        slots = self._slots(scal, col_of)
        entries = _Entries(self, n)
        for start, m, buf in self._pieces(cols, n):
            entries.run(slots, buf, _NO_SEL, 0, m, start)
        return entries.finish()

    def run_rows(
        self,
        mat: np.ndarray,
        col_of: Mapping[str, tuple[int, int]],
        scal: Mapping[str, Value],
        rows: np.ndarray | slice,
        sparse: bool,
        pool: dict | None = None,
    ) -> list[Value] | list[tuple[np.ndarray, np.ndarray]]:
        """Every output on rows of a (columns x rows) matrix, read in place: a variable is ``mat[row, r + shift]``
        for ``col_of[name] = (row, shift)``, else a value of ``scal``; ``rows`` the r (a slice: consecutive).
        Dense outputs, or (``sparse``) each output's nonzero entries (``run_sparse``; rows as positions in
        ``rows``); ``pool``: buffers for the sparse entries kept from call to call (the caller is done with the
        previous call's outputs)."""
        slots = self._slots(scal, col_of)
        if isinstance(rows, slice):
            sel, row0, n = _NO_SEL, rows.start, rows.stop - rows.start
        else:
            sel, row0, n = np.ascontiguousarray(rows, dtype=np.int64), 0, len(rows)
        if sparse:
            entries = _Entries(self, n, pool)
            if n:
                entries.run(slots, mat, sel, row0, n, 0)
            return entries.finish()
        out = np.empty((len(self.outputs), n), dtype=np.uint64)
        if n:
            prog, regs = self._program(slots[0], min(self.BLOCK, n))
            K.run_tape(prog, (*slots, mat, sel, row0), (0, n, 0), regs, True, out, _Entries.none())
        return list(out)


_NO_SEL = np.zeros(0, dtype=np.int64)  # no selection: consecutive rows


class _Entries:
    """The nonzero entries of a tape's outputs as the kernel appends them: per output a segment of capacity
    ``cap[k]`` at ``off[k]`` in ``idx``/``val``. When one fills up, the buffers so far are kept as they are and fresh
    ones, sized by the densities seen (entries per row, remembered on the tape for its next run), take the rest."""

    def __init__(self, tape: Tape, n: int, pool: dict | None = None) -> None:
        self.tape, self.n, self.k = tape, n, len(tape.outputs)
        self.pool = pool  # the caller's buffers, reused from call to call (it is done with the previous outputs)
        self.blk = max(1, min(tape.BLOCK, n))
        self.density = tape.__dict__.setdefault("_density", np.full(self.k, 1 / 64))
        self.done: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.began = 0  # the first row of the current buffers
        self._fresh(n)

    @staticmethod
    def none() -> tuple:
        z = np.zeros(1, dtype=np.int64)
        return z, z, z, z, np.zeros(1, dtype=np.uint64)

    def _fresh(self, rows: int) -> None:
        # room for at least a block per output: the kernel always gets past the block that overflowed
        self.cap = np.minimum(rows, (self.density * rows * 1.25).astype(np.int64) + self.blk)
        self.off = np.concatenate([[0], np.cumsum(self.cap)[:-1]]).astype(np.int64)
        size = int(self.cap.sum())
        self.cnt = np.zeros(self.k, dtype=np.int64)
        kept = None if self.pool is None or self.done else self.pool.get(id(self.tape))
        if kept is not None and len(kept[0]) >= size:
            self.idx, self.val = kept[0][:size], kept[1][:size]
            return
        # a fresh buffer page-faults in as it is written (~0.15 s of system time for the ~50 MB of a 2^17-row
        # chunk's flags): one kept by the caller, with room to spare, is written again without faults
        grown = size if self.pool is None or self.done else size + size // 2
        self.idx, self.val = np.empty(grown, dtype=np.int64), np.empty(grown, dtype=np.uint64)
        if self.pool is not None and not self.done:
            self.pool[id(self.tape)] = (self.idx, self.val)
        self.idx, self.val = self.idx[:size], self.val[:size]

    def run(self, slots: tuple, mat: np.ndarray, sel: np.ndarray, row0: int, m: int, base: int) -> None:
        """Rows ``0 .. m-1`` of ``mat`` (at ``row0``, or gathered by ``sel``), as rows ``base ..``."""
        prog, regs = self.tape._program(slots[0], self.blk)
        first = 0
        dummy = np.zeros((1, 1), dtype=np.uint64)
        while True:
            first = K.run_tape(
                prog,
                (*slots, mat, sel, row0),
                (first, m, base),
                regs,
                False,
                dummy,
                (self.off, self.cap, self.cnt, self.idx, self.val),
            )
            if first < 0:
                return
            seen = base + first
            np.maximum(self.density, self.cnt / max(seen - self.began, 1), out=self.density)
            self.done.append((self.off, self.cnt, self.idx, self.val))
            self._fresh(self.n - seen)
            self.began = seen

    def finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        done = [*self.done, (self.off, self.cnt, self.idx, self.val)]
        np.maximum(self.density, sum(d[1] for d in done) / max(self.n, 1), out=self.density)
        if len(done) == 1:
            return [(self.idx[o : o + c], self.val[o : o + c]) for o, c in zip(self.off.tolist(), self.cnt.tolist())]
        out = []
        for j in range(self.k):
            parts = [(d[2][d[0][j] : d[0][j] + d[1][j]], d[3][d[0][j] : d[0][j] + d[1][j]]) for d in done]
            out.append((np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
        return out


def _int_array(a: np.ndarray, width: int) -> np.ndarray:
    a = np.ascontiguousarray(a)
    if a.dtype != np.int64 or a.ndim != 2 or a.shape[1] != width:
        raise ValueError("a tape array has the wrong type or shape")
    return a


def _checked_ops(ops: np.ndarray, n_regs: int, n_slots: int, n_out: int, n_luts: int = 0) -> np.ndarray:
    """Ops ``(code, dst, a, b)`` (``_allocate``'s) whose every index is in range for the interpreter, and a
    register count no larger than the ops need (the registers are allocated from it)."""
    ops = _int_array(ops, 4)
    if not 1 <= n_regs <= len(ops) + 1:
        raise ValueError("a tape's register count is out of range")
    if n_regs < 1 or not len(ops):
        return ops
    code, dst, a, b = ops.T
    arith = (code >= 1) & (code <= 3)
    ok = (
        ((code >= 0) & (code <= 5)).all()
        and ((dst >= 0) & (dst < n_regs)).all()
        and ((a[code == 0] >= 0) & (a[code == 0] < n_slots)).all()
        and ((a[arith] >= 0) & (a[arith] < n_regs) & (b[arith] >= 0) & (b[arith] < n_regs)).all()
        and ((a[code == 4] >= 0) & (a[code == 4] < n_out)).all()
        and ((a[code == 5] >= 0) & (a[code == 5] < n_luts)).all()
    )
    if not ok:
        raise ValueError("a tape op is out of range")
    return ops


def _unbound(key: str) -> Exception:
    """The error for a variable with no value: ``NotPolynomialError``, as the numpy evaluator raises (imported
    here, with sympy, only when it is raised)."""
    import sympy as sp

    from air.degree import NotPolynomialError

    return NotPolynomialError("program", sp.Symbol(key), f"no value bound for {key!r}")
