"""The check as map/reduce over row chunks: the same verdict, failures, bus totals and unmatched messages as
``evaluate.check`` + ``evaluate.check_multiplicities`` + ``buscheck.check_buses`` in one pass, in bounded memory.

Why it splits: a transition constraint ``C(x, x')`` reads a row and the next, so rows ``[s, e)`` need only
rows ``s .. e`` (one row of overlap); boundary constraints read row 0 and row n-1 (done once, by the reduce).
A bus is a product (multiset: ``b_final = b_0 * prod_i resp_i / prod_i req_i``) or a sum (LogUp:
``b_final = b_0 + sum_i (sum 1/resp - sum 1/req)``) over transition rows, and both are associative: each
chunk returns its partial product of requests and of responses (or its partial LogUp sum), and the reduce
multiplies (adds) them. Exact matching is a multiset difference: each chunk returns its message keys with
their net count (requests minus responses, zero-count keys dropped), and the reduce sums the counts per key.
Only when some key stays unmatched does a second, narrower pass find each one's first occurrence (term,
message, row), which is what the single pass reports; an honest trace never pays for it.

Chunks run in this process (``jobs=1``), on a ``concurrent.futures`` pool of threads (the compiled kernels and
numpy run without the GIL), of processes when asked for and every column is memory-mapped (a worker reads its own
rows instead of receiving a copy), or on a Dask cluster. A mapped column's rows are read into each chunk's matrix
(``ColumnMap.read_into``), so memory holds one chunk of the trace at a time, whatever its length.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from air import field as F
from air import kernels as K
from air.bus_keys import (
    Decoded,
    _group_rows,
    _label_sums,
    _net_counts,
    _row_hash,
    add_boundary_keys,
    bus_width,
    decode_bus,
    message_names,
    signed_counts,
    table_rows,
)
from air.bus_report import BusReport, BusResult, UnmatchedMessage, near_misses
from air.plan import (
    PlanFacts,
    _binary_cells,
    _BusShape,
    _Compiled,
    _finish_plan,
    _n_outputs,
    _Plan,
    _scal,
    _tapes_key,
    draw_challenges,
    end_value,
    restored_tapes,
)
from air.records import CheckResult, ConstraintFailures
from air.trace import PackedColumns, Trace, TraceError, column_rows

if TYPE_CHECKING:
    from air.air import Air

__all__ = ["ChunkedResult", "check_chunked", "default_chunk_rows", "default_jobs"]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_chunk_rows(n_rows: int, n_columns: int, jobs: int) -> int:
    """Rows per chunk: about 128 MiB of a chunk's working set (the chunk's matrix of its rows, ~600 B a row of
    sparse entries and bus temporaries, perf-measured.md section 3), at least 2^12, and at least ``jobs`` chunks
    when the trace allows. 2^16 rows for miden-v0.19: as fast as 2^17 (16 chunks at 2^20 rows) and ~0.2 GB less
    at its peak with 2 threads."""
    per_row = 8 * n_columns + 600
    rows = max(1 << 12, (128 << 20) // per_row)
    rows = 1 << (rows.bit_length() - 1)
    while jobs > 1 and rows > (1 << 12) and -(-n_rows // rows) < jobs:
        rows >>= 1
    return rows


# --- the plan: what every chunk evaluates (compiled once per process) ----------------------------------


_BUFFERS = threading.local()  # per thread: the chunk matrix's buffer, reused by the thread's next chunk


def _buffer(plan: _Plan, shape: tuple[int, int]) -> np.ndarray:
    """An uninitialized uint64 array of ``shape``: this thread's buffer when the plan reuses buffers (a thread maps
    one chunk at a time, and nothing of a chunk's result is a view of it), which a fresh ~100 MB array would
    page-fault in again at every chunk."""
    if not plan.reuse:
        return np.empty(shape, dtype=np.uint64)
    size = shape[0] * shape[1]
    buf = getattr(_BUFFERS, "mat", None)
    if buf is None or len(buf) < size:
        buf = plan.spare.take(size) if plan.spare is not None else None
        if buf is None:
            buf = np.empty(size, dtype=np.uint64)
        _BUFFERS.mat = buf
    return buf[:size].reshape(shape)


class _Spare:
    """``count`` buffers of ``size`` elements whose pages are touched on a thread (numpy's fill releases the GIL),
    taken by the first chunks."""

    def __init__(self, count: int, size: int) -> None:
        self.buffers: list[np.ndarray] = []
        self.ready = threading.Event()
        threading.Thread(target=self._make, args=(count, size), name="air-prefault", daemon=True).start()

    def _make(self, count: int, size: int) -> None:
        try:
            for _ in range(count):
                b = np.empty(size, dtype=np.uint64)
                b.fill(0)
                self.buffers.append(b)
        finally:
            self.ready.set()

    def take(self, size: int) -> np.ndarray | None:
        self.ready.wait()
        try:
            b = self.buffers.pop()
        except IndexError:
            return None
        return b if len(b) >= size else None


def _fill_periodic(row: np.ndarray, cycle: Any, start: int) -> None:
    """``row[r]`` = the periodic column's value on trace row ``start + r``: its cycle, rotated to the chunk's phase,
    written over a (cycles x cycle length) view of the row (12x faster than gathering ``cycle[rows % length]``)."""
    cyc = np.asarray(cycle, dtype=np.uint64)
    length, m = len(cyc), len(row)
    rolled = np.roll(cyc, -(start % length))
    full = m // length
    row[: full * length].reshape(full, length)[:] = rolled
    row[full * length :] = rolled[: m - full * length]


class _Rows:
    """A chunk's rows ``start .. stop`` (and one row past the chunk, when the trace has it) of every column the
    plan's programs read, trace and periodic columns, copied once into one (columns x rows) matrix that the
    compiled tape reads in place: ``x`` at local row r is ``mat[i, r]`` and ``x'`` is ``mat[i, r + 1]``."""

    def __init__(self, plan: _Plan, trace: Trace, start: int, stop: int) -> None:
        self.plan, self.trace, self.start, self.stop = plan, trace, start, stop
        self.end = min(stop + 1, trace.n_rows)
        self._mat: np.ndarray | None = None

    def matrix(self) -> np.ndarray:
        if self._mat is None:
            periodic, cols = self.plan.facts.periodic, self.plan.columns
            mat = _buffer(self.plan, (max(len(cols), 1), self.end - self.start))
            for i, col in enumerate(cols):
                if col in periodic:
                    _fill_periodic(mat[i], periodic[col], self.start)
                elif col in self.trace.maps:  # read, not mapped: no page fault per 4 KiB of it
                    self.trace.maps[col].read_into(mat[i], self.start)
                else:
                    mat[i] = self.trace.stored(col)[self.start : self.end]  # a packed column widens here
            self._mat = mat
        return self._mat

    def run(self, prog: Any, idx: np.ndarray | slice, sparse: bool = False, keep: bool = False) -> list[Any]:
        """``prog`` at local rows ``idx`` (transition rows: ``x'`` lies inside the chunk's rows plus its
        overlap): dense outputs, or each output's nonzero entries (``Program.run_matrix``). ``keep``: the sparse
        entries go into this thread's buffers, written again by its next chunk (no part of a chunk's result is a
        view of them)."""
        pool = None
        if keep and self.plan.reuse:
            pool = getattr(_BUFFERS, "entries", None)
            if pool is None:
                pool = _BUFFERS.entries = {}
        return prog.run_matrix(self.matrix(), self.plan.col_of, self.plan.scal, idx, sparse, pool)


# --- the map ------------------------------------------------------------------------------------------


@dataclass
class _BusPart:
    """One bus over one chunk's transition rows."""

    keys: np.ndarray  # distinct message keys whose net count (requests - responses) is not zero
    net: np.ndarray  # their net counts
    totals: dict[int, dict[str, int]]
    seen: set[tuple[int, int, str, int]]  # (term, message, side, label code) that occur: names the labels
    unlabelled: bool
    messages: int
    req: int = 1  # multiset: product of the request side over the chunk's rows
    resp: int = 1
    req_zero_row: int = -1  # the first row whose request side is 0 (no running product exists there)
    logup: int = 0


@dataclass
class _Part:
    """What one chunk returns."""

    start: int
    stop: int
    fails: dict[str, list[np.ndarray]] = field(default_factory=dict)
    mult: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)  # bus -> per term (max, row, sum)
    mult_over: bool = False  # a multiplicity over the bound: the buses were not decoded (the reduce refuses)
    buses: dict[str, _BusPart] = field(default_factory=dict)
    ops: list[bool] = field(default_factory=list)  # per operation: its flag is nonzero on some row of the chunk


def _check_constraints(plan: _Plan, rows: _Rows, part: _Part, flag_vals: list[Sparse]) -> None:
    """Failures of the plain constraints (their nonzero rows), and of each gated group's bodies on the rows its
    flag selects."""
    for name, (bad, _) in zip(plan.facts.plain, flag_vals):
        if len(bad):
            part.fails.setdefault(name, []).append(bad + rows.start)
    for i, names in enumerate(plan.facts.gated):
        sel = flag_vals[plan.gated_at + i][0]
        if len(sel) == 0:
            continue
        for name, (bad, _) in zip(names, rows.run(plan.progs[("body", i)], sel, sparse=True)):
            if len(bad):
                part.fails.setdefault(name, []).append(sel[bad] + rows.start)


Sparse = tuple[np.ndarray, np.ndarray]  # an output's nonzero entries: (local rows ascending, values)


def _flag_values(plan: _Plan, rows: _Rows, m: int) -> list[Sparse]:
    """The "flags" program on the chunk's ``m`` transition rows, each output as its nonzero entries: the plain
    constraints, the gated constraints' flags (``_Plan.gated_at``), every bus term's numerator
    (``_Plan.num_at``)."""
    prog = plan.progs.get("flags")
    if prog is None:
        return []
    if m == 0:
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64))
        return [empty for _ in range(_n_outputs(prog))]
    return rows.run(prog, slice(0, m), sparse=True, keep=True)


def _operations(plan: _Plan, rows: _Rows, m: int) -> list[bool]:
    """Per operation, whether its flag is nonzero on some transition row of the chunk. A flag reads a few cells (the
    operation bits), and rows with equal cells have equal flags: the flags are evaluated once per distinct
    combination of the cells (a few hundred), not per row."""
    prog = plan.progs.get("ops")
    if prog is None or m == 0:
        return []
    mat = rows.matrix()
    cells = [plan.col_of[name] for name in sorted(prog.inputs & set(plan.col_of))]
    if len(cells) <= 20 and all(int(mat[i, sh : sh + m].max()) <= 1 for i, sh in cells):
        # all 0/1 (as operation bits are): a row's cells as one code; a row of each code that occurs
        code = np.zeros(m, dtype=np.int64)
        for j, (i, sh) in enumerate(cells):
            code |= mat[i, sh : sh + m].astype(np.int64) << j
        some = np.full(1 << len(cells), -1, dtype=np.int64)
        some[code] = np.arange(m)  # a row of each code (which one does not matter: their flags are equal)
        sel: np.ndarray | slice = np.sort(some[some >= 0])
    else:
        sel = slice(0, m)  # cells of any value: every row
    return [len(r) > 0 for r, _ in rows.run(prog, sel, sparse=True)]


def _multiplicities(plan: _Plan, rows: _Rows, m: int, n: int, part: _Part, flag_vals: list[Sparse]) -> None:
    """Per LogUp bus and term: the largest multiplicity, its first row, and the sum (``check_multiplicities``)."""
    for b in plan.buses:
        if b.kind != "logup" or n < 2 or m == 0:
            continue
        limit = (n - 1) * len(b.terms)
        out = []
        sides = {"request": 0, "response": 0}
        lo, hi = plan.num_at[b.name]
        for t, (at, v) in zip(b.terms, flag_vals[lo:hi]):  # a LogUp term's numerator is its multiplicity (or flag)
            if len(v) == 0:
                out.append((0, rows.start, 0, 0))
                continue
            c = signed_counts(v)  # a count -k: k messages of the other side (bus_keys.signed_counts)
            top = int(np.argmax(np.abs(c)))  # the first largest: rows ascend
            mine, theirs = int(c[c > 0].sum()), int(-c[c < 0].sum())
            out.append((int(c[top]), rows.start + int(at[top]), mine, theirs))
            sides[t.side] += mine
            sides["request" if t.side == "response" else "response"] += theirs
            if abs(int(c[top])) > limit:
                part.mult_over = True
        if any(s > limit for s in sides.values()):
            part.mult_over = True
        part.mult[b.name] = out


def _bus_keys(plan: _Plan, bus: _BusShape, rows: _Rows, m: int, flag_vals: list[Sparse]) -> Decoded:
    """The chunk's messages of ``bus``, decoded by buscheck.decode_bus (the single pass's one decoding)."""
    lo, hi = plan.num_at[bus.name]

    def term_values(ti: int, sel: np.ndarray) -> list[np.ndarray]:
        return rows.run(plan.progs[("term", bus.name, ti)], sel)

    return decode_bus(bus, flag_vals[lo:hi], m, term_values)


_width = bus_width


def _product(x: np.ndarray) -> int:
    """The product of field elements: of those other than 1 (a bus side is 1 on the rows without its messages),
    by the compiled scan when they are many, else by a multiplication tree over whole arrays."""
    x = np.asarray(x, dtype=np.uint64)
    x = x[x != 1]
    if len(x) >= K.MIN_SIZE:
        scan = K.scan_mul(x)
        if scan is not None:
            return int(scan[-1])
    while len(x) > 1:
        if len(x) % 2:
            x = np.concatenate([x, np.ones(1, dtype=np.uint64)])
        x = F.mul(x[0::2], x[1::2])
    return int(x[0]) if len(x) else 1


def _sum(x: np.ndarray) -> int:
    return int(x.astype(object).sum()) % F.P if len(x) < 64 else _tree_sum(x)


def _tree_sum(x: np.ndarray) -> int:
    # values < p < 2^64: split in 32-bit halves so numpy's uint64 sums cannot wrap for fewer than 2^32 terms
    lo = int((x & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64))
    hi = int((x >> np.uint64(32)).sum(dtype=np.uint64))
    return (lo + (hi << 32)) % F.P


def _check_buses_part(plan: _Plan, rows: _Rows, m: int, part: _Part, flag_vals: list[Sparse]) -> None:
    for bus in plan.buses:
        width = _width(bus)
        dec = _bus_keys(plan, bus, rows, m, flag_vals)
        totals: dict[int, dict[str, int]] = {}
        seen: set[tuple[int, int, str, int]] = set()
        segs = dec.segments
        n_msgs = sum(int(sg.reps.sum()) for sg in segs)
        if segs:
            allk = np.concatenate([sg.key for sg in segs])
            signs = np.concatenate([sg.reps if sg.side == "request" else -sg.reps for sg in segs])
            keys, net = _net_counts(allk, signs, ordered=False)  # the reduce orders what stays unmatched
            # per (segment, label code): the messages it carries, summed with sign (a segment has one side)
            at, codes, sums = _label_sums(allk[:, 0], [len(sg.key) for sg in segs], signs)
            for i, code, total in zip(at.tolist(), codes.tolist(), sums.tolist()):
                sg = segs[i]
                seen.add((sg.term, sg.message, sg.side, code))
                tot = totals.setdefault(code, {"request": 0, "response": 0})
                tot[sg.side] += abs(total)
        else:
            keys, net = np.zeros((0, width), dtype=np.uint64), np.zeros(0, dtype=np.int64)
        bp = _BusPart(keys, net, totals, seen, dec.unlabelled, n_msgs)
        if bus.kind == "multiset":
            bp.resp = _product(dec.resp)
            zero = np.flatnonzero(dec.req == 0)
            if len(zero):
                bp.req, bp.req_zero_row = 0, rows.start + int(zero[0])
            else:
                bp.req = _product(dec.req)
        else:
            bp.logup = _sum(dec.logup)
        part.buses[bus.name] = bp


def _map(plan: _Plan, trace: Trace, start: int, stop: int) -> _Part:
    """One chunk: rows ``start .. stop-1`` (their transitions, x' read from the row after)."""
    n = trace.n_rows
    part = _Part(start, stop)
    rows = _Rows(plan, trace, start, stop)
    m = max(0, min(stop, n - 1) - start)  # transition rows 0 .. n-2
    flag_vals = _flag_values(plan, rows, m)
    part.ops = _operations(plan, rows, m)
    _check_constraints(plan, rows, part, flag_vals)
    if plan.with_buses:
        _multiplicities(plan, rows, m, n, part, flag_vals)
        if not part.mult_over:
            _check_buses_part(plan, rows, m, part, flag_vals)
    return part


def _first_occurrences(
    plan: _Plan, trace: Trace, start: int, stop: int, wanted: dict[str, np.ndarray]
) -> dict[str, dict[tuple[int, str], tuple[int, int, int]]]:
    """Second pass, per bus with unmatched keys (``wanted``): for each wanted key and side, its first occurrence
    in this chunk in the single pass's order (term, message, row): (term, message, row)."""
    n = trace.n_rows
    rows = _Rows(plan, trace, start, stop)
    m = max(0, min(stop, n - 1) - start)
    out: dict[str, dict[tuple[int, str], tuple[int, int, int]]] = {}
    flag_vals = _flag_values(plan, rows, m)
    for bus in plan.buses:
        target = wanted.get(bus.name)
        if target is None or len(target) == 0:
            continue
        th = _row_hash(target)
        order = np.argsort(th, kind="stable")
        found: dict[tuple[int, str], tuple[int, int, int]] = {}
        for sg in _bus_keys(plan, bus, rows, m, flag_vals).segments:
            ti, mi, side, key, sel = sg.term, sg.message, sg.side, sg.key, sg.sel
            h = _row_hash(key)
            pos = np.searchsorted(th[order], h)
            pos = np.minimum(pos, len(th) - 1)
            cand = order[pos]
            hit = (th[cand] == h) & (target[cand] == key).all(axis=1)
            for j in np.flatnonzero(hit).tolist():  # rows ascending within a segment: keep the first per key
                k = (int(cand[j]), side)
                if k not in found:
                    found[k] = (ti, mi, rows.start + int(sel[j]))
        out[bus.name] = found
    return out


# --- the reduce ---------------------------------------------------------------------------------------


def _end_rows(plan: _Plan, trace: Trace, row: int) -> np.ndarray:
    """A (columns x 2) matrix of rows ``row`` and ``row + 1`` (wrapping, as ``evaluate.row_env``) of the plan's
    columns: what a boundary program reads at ``row``."""
    n, periodic = trace.n_rows, plan.facts.periodic
    mat = np.zeros((max(len(plan.columns), 1), 2), dtype=np.uint64)
    for i, col in enumerate(plan.columns):
        for j, r in enumerate((row, (row + 1) % n)):
            if col in periodic:
                cyc = periodic[col]
                mat[i, j] = cyc[r % len(cyc)]
            else:
                mat[i, j] = column_rows(trace, col, r, r + 1)[0]
    return mat


def _boundary_values(plan: _Plan, trace: Trace) -> dict[str, int]:
    """Each boundary constraint's value at its row (``first``: 0, ``last``: n-1) with the challenges at 0, as
    ``evaluate.constraint_value`` computes it: compiled, from the programs "first" and "last"."""
    out: dict[str, int] = {}
    scal = dict(plan.scal) | {c: np.array(0, dtype=np.uint64) for c in plan.facts.challenges}
    for c in plan.facts.publics:  # as given, not reduced (row_env)
        scal[c] = np.array(int(trace.public_inputs[c]), dtype=np.uint64)
    for domain, row in (("first", 0), ("last", trace.n_rows - 1)):
        prog = plan.progs.get(domain)
        if prog is None:
            continue
        names = [name for name, d in plan.facts.cons if d == domain]
        vals = prog.run_matrix(_end_rows(plan, trace, row), plan.col_of, scal, slice(0, 1))
        out |= {name: int(v[0]) for name, v in zip(names, vals)}
    return out


def _reduce_constraints(plan: _Plan, trace: Trace, parts: list[_Part]) -> CheckResult:
    n = trace.n_rows
    facts = plan.facts
    result = CheckResult(facts.name, n, not_evaluated=list(facts.skipped))
    ends = _boundary_values(plan, trace)
    for name, domain in facts.cons:
        found: list[np.ndarray] = []
        if domain in ("first", "last") and ends.get(name, 0) != 0:
            found.append(np.array([0 if domain == "first" else n - 1], dtype=np.int64))
        for p in parts:
            found.extend(p.fails.get(name, []))
        if found:
            rows = np.unique(np.concatenate(found)).astype(np.int64)
            result.failures.append(ConstraintFailures(name, domain, rows))
    return result


def _reduce_multiplicities(plan: _Plan, trace: Trace, parts: list[_Part]) -> None:
    """``check_multiplicities``'s refusals, from the chunks' maxima and sums, in its order."""
    n = trace.n_rows
    for b in plan.buses:
        if b.kind != "logup" or n < 2:
            continue
        limit = (n - 1) * len(b.terms)
        totals = {"request": 0, "response": 0}
        for ti, t in enumerate(b.terms):
            best, row, total, flipped = 0, 0, 0, 0
            for p in parts:
                if b.name not in p.mult:
                    continue
                v, r, s, s_other = p.mult[b.name][ti]
                if abs(v) > abs(best):
                    best, row = v, r
                total += s
                flipped += s_other
            if abs(best) > limit:
                raise TraceError(
                    f"{trace.source}: LogUp bus {b.name!r}: term {t.name!r} has multiplicity {best} on row "
                    f"{row}; a multiplicity counts messages, and {len(b.terms)} term(s) over {n} rows "
                    f"hold at most {limit}"
                )
            totals[t.side] += total
            totals["request" if t.side == "response" else "response"] += flipped
        for side, total in totals.items():
            if total > limit:
                raise TraceError(
                    f"{trace.source}: LogUp bus {b.name!r}: the {side} multiplicities sum to {total}, more than the "
                    f"{limit} messages {len(b.terms)} term(s) over {n} rows can hold"
                )


@dataclass
class _BusTotal:
    keys: np.ndarray
    excess: np.ndarray
    totals: dict[int, dict[str, int]]
    seen: set[tuple[int, int, str, int]]
    unlabelled: bool
    messages: int
    final: int
    boundary_keys: dict[str, list[np.ndarray]]
    boundary_meta: dict[str, list[Any]]


class _KeyTable:
    """The net count of every message key seen so far (zero counts dropped), merged as chunks arrive: pending
    blocks are folded in once they outgrow the table, so merging costs O(keys) in all and memory holds the keys
    still unmatched (plus at most as many pending), not every chunk's keys at once."""

    def __init__(self, width: int) -> None:
        self.keys = np.zeros((0, width), dtype=np.uint64)
        self.net = np.zeros(0, dtype=np.int64)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, keys: np.ndarray, net: np.ndarray) -> None:
        if len(keys):
            self.pending.append((keys, net))
            self.size += len(keys)
            if self.size > max(len(self.keys), 1 << 16):
                self.fold()

    def fold(self) -> None:
        if not self.pending:
            return
        blocks = [self.keys, *(k for k, _ in self.pending)]
        counts = [self.net, *(c for _, c in self.pending)]
        self.pending, self.size = [], 0
        self.keys, self.net = _net_counts(np.concatenate(blocks), np.concatenate(counts), ordered=False)


def _boundary(
    plan: _Plan, bus: _BusShape, trace: Trace, width: int, keys: dict, meta: dict, totals: dict, label_names: dict
) -> tuple[list[int], list[int]]:
    """The bus's boundary messages, as ``buscheck._boundary`` adds them: their keys join their side's with row -1
    (matched like any message), and their values (responses, requests) enter the accumulator's first value. A
    message's value is its compiled ``message_value`` (program ("bmsg", bus, j)) on its fields."""
    values: dict[str, list[int]] = {"response": [], "request": []}
    for j, bd in enumerate(bus.boundary):
        m = bd.message
        if bd.table is not None:
            rows = table_rows(trace, bus.name, bd.table, plan.facts.public_tables[bd.table])
        else:
            rows = [tuple(end_value(c, trace, 0) for c in bd.consts or ())]
        if not rows:
            continue
        add_boundary_keys(bd.side, m, rows, width, keys, meta, totals, label_names)
        env: dict[str, Any] = {c: plan.scal[c] for c in plan.facts.challenges}
        for k in range(len(m.fields)):
            env[f"~f{k}"] = np.array([int(r[k]) % F.P for r in rows], dtype=np.uint64)
        (vals,) = _run_env(plan.progs[("bmsg", bus.name, j)], env, len(rows))
        for v in vals.tolist():
            if v == 0:
                raise ZeroDivisionError(f"boundary message {m.label!r} of bus {bus.name} is 0 under these challenges")
            values[bd.side].append(int(v))
    return values["response"], values["request"]


def _run_env(prog: Any, env: dict[str, Any], n: int) -> list[np.ndarray]:
    """Every output of ``prog`` on ``n`` rows of ``env`` (columns of ``n``, or scalars), each ``n`` long."""
    if isinstance(prog, _Compiled):
        out = prog.tape().run(env, n)
        assert out is not None
        return [np.asarray(v) for v in out]
    return [np.broadcast_to(np.asarray(v, dtype=np.uint64), (n,)) for v in prog.run(env)]


def _reduce_bus(plan: _Plan, bus: _BusShape, trace: Trace, parts: list[_Part], table: _KeyTable) -> _BusTotal:
    width = _width(bus)
    bps = [p.buses[bus.name] for p in parts if bus.name in p.buses]
    table.fold()
    totals: dict[int, dict[str, int]] = {}
    seen: set[tuple[int, int, str, int]] = set()
    for bp in bps:
        for code, t in bp.totals.items():
            tot = totals.setdefault(code, {"request": 0, "response": 0})
            tot["request"] += t["request"]
            tot["response"] += t["response"]
        seen |= bp.seen
    # the boundary messages, exactly as buscheck._boundary adds them (keys at row -1, values into b[0])
    keys: dict[str, list[np.ndarray]] = {"request": [], "response": []}
    meta: dict[str, list[Any]] = {"request": [], "response": []}
    label_names: dict[int, str] = {}
    b_resp, b_req = _boundary(plan, bus, trace, width, keys, meta, totals, label_names)
    blocks = [table.keys] + keys["request"] + keys["response"]
    counts = (
        [table.net]
        + [np.ones(len(k), dtype=np.int64) for k in keys["request"]]
        + [-np.ones(len(k), dtype=np.int64) for k in keys["response"]]
    )
    if blocks and sum(len(b) for b in blocks):
        uniq, inv = _group_rows(np.concatenate(blocks))
        excess = np.bincount(inv, weights=np.concatenate(counts), minlength=len(uniq)).astype(np.int64)
        keep = excess != 0
        ukeys, excess = uniq[keep], excess[keep]
    else:
        ukeys, excess = np.zeros((0, width), dtype=np.uint64), np.zeros(0, dtype=np.int64)
    n_msgs = sum(bp.messages for bp in bps) + sum(len(k) for side in keys.values() for k in side)
    initial = end_value(bus.initial, trace, 1 if bus.kind == "multiset" else 0)
    if bus.kind == "multiset":
        for v in b_resp:
            initial = initial * v % F.P
        for v in b_req:
            initial = initial * F.inv(v) % F.P
        req, resp = 1, 1
        for bp in bps:
            req, resp = req * bp.req % F.P, resp * bp.resp % F.P
        if req == 0:
            row = min(bp.req_zero_row for bp in bps if bp.req_zero_row >= 0)
            raise ZeroDivisionError(
                f"the requests of a bus evaluate to 0 on row {row}: no running product exists there "
                "(a message equal to 0 under these challenges: choose another --seed)"
            )
        final = initial % F.P * resp % F.P * F.inv(req) % F.P
    else:
        for v in b_resp:
            initial = (initial + F.inv(v)) % F.P
        for v in b_req:
            initial = (initial - F.inv(v)) % F.P
        final = (initial + sum(bp.logup for bp in bps)) % F.P
    return _BusTotal(ukeys, excess, totals, seen, any(bp.unlabelled for bp in bps), n_msgs, final, keys, meta)


def _label_names(bus: _BusShape, bt: _BusTotal) -> dict[int, str]:
    """The name each label code gets in buscheck._check_bus: the label of its first requesting (term, message),
    else "" when only responses carry it, else its boundary message's label."""
    names: dict[int, str] = {}
    for ti, mi, side, code in sorted(bt.seen):
        t = bus.terms[ti]
        if side == "request" and not names.get(code):
            names[code] = t.messages[mi].label
        elif side == "response":
            names.setdefault(code, "")
    for bd in bus.boundary:
        names.setdefault(int(bd.message.label_value or 0), bd.message.label)
    return names


def _unmatched_list(
    bus: _BusShape, bt: _BusTotal, first: dict[tuple[int, str], tuple[int, int, int]]
) -> list[UnmatchedMessage]:
    """The unmatched messages, each at its first occurrence, in buscheck._unmatched's order (by row; then
    requests before responses; then by the key's hash, the order of its grouping)."""
    out: list[tuple[tuple[int, int, int], UnmatchedMessage]] = []
    hashes = _row_hash(bt.keys) if len(bt.keys) else np.zeros(0, dtype=np.uint64)
    for i, (key, ex) in enumerate(zip(bt.keys.tolist(), bt.excess.tolist())):
        side = "request" if ex > 0 else "response"
        occ = first.get((i, side))
        if occ is not None:
            ti, mi, row = occ
            t = bus.terms[ti]
            msg = t.messages[mi]
            names = message_names(msg)
            label, op, term = msg.label, t.operation, t.name
        else:  # only a boundary message carries it
            label, names, op, term, row = _boundary_segment(bt, side, key)
        fields = tuple(zip(names, key[1 : 1 + len(names)]))
        u = UnmatchedMessage(bus.name, side, label, fields, row, op, abs(ex), key[0], term)
        out.append(((row, 0 if side == "request" else 1, int(hashes[i])), u))
    out.sort(key=lambda x: x[0])
    return [u for _, u in out]


def _boundary_segment(bt: _BusTotal, side: str, key: list[int]) -> tuple[str, tuple[str, ...], None, str, int]:
    for block, (_sel, _w, label, names, op, term) in zip(bt.boundary_keys[side], bt.boundary_meta[side]):
        if (block == np.array(key, dtype=np.uint64)).all(axis=1).any():
            return label, names, op, term, -1
    raise AssertionError("an unmatched key with no occurrence")  # pragma: no cover - the map and reduce disagree


# --- running it ---------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # a worker process's plan and trace (set once by the pool's initializer)


def _call(kind: str, plan: _Plan, trace: Trace, args: tuple) -> Any:
    if kind == "map":
        return _map(plan, trace, *args)
    return _first_occurrences(plan, trace, *args)


def _worker_init(plan: _Plan, trace: Trace) -> None:
    _WORKER["plan"], _WORKER["trace"] = plan, trace


def _worker_call(kind: str, args: tuple) -> Any:
    return _call(kind, _WORKER["plan"], _WORKER["trace"], args)


def _light(trace: Trace) -> Trace:
    """The trace without its mapped columns' arrays: what a worker process receives (it maps its own rows)."""
    cols = PackedColumns({k: trace.stored(k) for k in trace.columns if k not in trace.maps})
    return Trace(cols, trace.n_rows, trace.public_inputs, trace.meta, trace.source, trace.public_tables, trace.maps)


@dataclass
class ChunkedResult:
    """What ``check_chunked`` found: the constraints' ``CheckResult`` and the buses' ``BusReport`` (None when
    the AIR has no bus), as the single-pass functions return them (``BusResult.column`` is not built)."""

    result: CheckResult
    buses: BusReport | None
    chunks: int
    mode: str
    operations: set[str] = field(default_factory=set)  # coverage.operations_occurring: flag nonzero on some row


def _ranges(n: int, rows: int) -> list[tuple[int, int]]:
    return [(s, min(s + rows, n)) for s in range(0, n, rows)]


def check_chunked(
    air: Air,
    trace: Trace,
    *,
    challenges: list[int] | None = None,
    seed: int = 0,
    chunk_rows: int | None = None,
    jobs: int = 1,
    dask_client: Any = None,
    progress: Callable[[int], Any] | None = None,
    tape_key: str | None = None,
    pool: str = "threads",
) -> ChunkedResult:
    """Constraints, LogUp multiplicities and buses of ``air`` on ``trace``, chunk by chunk.

    ``chunk_rows``: rows per chunk (``default_chunk_rows`` when None). ``jobs``: 1 runs the chunks here, N > 1 on a
    pool of N threads, or with ``pool="processes"`` of N processes when every column is memory-mapped (each reads
    its own rows from the file; an in-memory trace stays on threads); ``dask_client``: a
    ``distributed.Client`` to run them on instead. ``progress(k)`` is called as chunks finish (k at a time).
    ``tape_key``: the AIR's content key (``air.cache.cache_key``, with anything else that changes the AIR, such as a
    family selection): the compiled tapes are read from and written to the tape cache (``air.tape_cache``) under it.
    The result equals the single pass's; bad input raises ``TraceError`` and a zero message ``ZeroDivisionError``.
    """
    from air.buscheck import _resolve_operations, challenges_from_seed
    from air.check_plan import build_plan, split
    from air.evaluate import _check_columns, _needed_publics

    cons, skipped = split(air)
    _check_columns(air, trace, cons)
    _needed_publics(air, cons, trace)  # a public input the constraints read and the trace lacks: named, with its reader
    values = challenges if challenges is not None else challenges_from_seed(air, seed)
    with _Setup(trace, set(air.column_names), set(air.periodic), chunk_rows, jobs, dask_client, pool) as setup:
        plan = build_plan(air, trace, cons, skipped, tape_key)
        return setup.run(plan, values, progress, lambda u: _resolve_operations(air, trace, u))


class _Setup:
    """The chunks of a check and where they run (here, a pool, Dask), with the first chunks' matrices faulted in on
    a thread while the plan is built; ``run`` runs the map and the reduce of a plan."""

    def __init__(
        self,
        trace: Trace,
        columns: set[str],
        periodic: set[str],
        chunk_rows: int | None,
        jobs: int,
        client: Any,
        pool: str = "threads",
    ) -> None:
        n = trace.n_rows
        self.trace, self.jobs, self.client = trace, jobs, client
        rows = chunk_rows or default_chunk_rows(n, len(trace.columns) or len(trace.maps), jobs)
        self.ranges = _ranges(n, max(1, rows))
        mapped = bool(trace.maps) and all(k in trace.maps for k in columns if k in trace.columns)
        if client is not None:
            self.mode = "dask"
        elif jobs > 1 and len(self.ranges) > 1:
            # threads by default: the compiled kernels and numpy run without the GIL, and one interpreter is held,
            # not one a worker (2^20 mapped rows, 2 jobs: 0.93-0.99x of the trace at the speed of processes' 1.46-1.48x)
            self.mode = "processes" if pool == "processes" and mapped else "threads"
        else:
            self.mode = "serial"
        self.spare: _Spare | None = None
        if self.mode in ("serial", "threads") and K.load_for(n) is not None:
            # the chunk matrices of the first chunks, their pages touched on a thread while this one builds the plan
            # (first-touch page faults of ~100 MB each cost the first chunks ~0.4 s; off the GIL, they overlap)
            width = len(set(trace.columns) | set(trace.maps) | periodic)
            self.spare = _Spare(min(jobs, len(self.ranges)), max(width, 1) * (min(rows, n) + 1))

    def __enter__(self) -> _Setup:
        return self

    def __exit__(self, *exc: object) -> None:
        _BUFFERS.mat = _BUFFERS.entries = None  # this thread's buffers (a pool's threads end with the pool)

    def run(
        self,
        plan: _Plan,
        values: list[int],
        progress: Callable[[int], Any] | None,
        resolve: Callable[[list[UnmatchedMessage]], list[UnmatchedMessage]],
    ) -> ChunkedResult:
        plan.scal = _scal(plan.facts, self.trace, values)
        plan.reuse = self.mode != "dask"  # a Dask worker's threads outlive the check: they keep no buffers
        plan.spare = self.spare
        with _runner(self.mode, self.jobs, plan, self.trace, self.client) as run:
            return _check_run(self.trace, plan, run, self.ranges, progress, values, self.mode, resolve)


def _check_run(
    trace: Trace,
    plan: _Plan,
    run: Callable[..., list],
    ranges: list[tuple[int, int]],
    progress: Callable[[int], Any] | None,
    values: list[int],
    mode: str,
    resolve: Callable[[list[UnmatchedMessage]], list[UnmatchedMessage]],
) -> ChunkedResult:
    """The map and the reduce of ``plan``, on ``run`` (a ``_runner``); ``resolve`` names the operation of a message
    put on a bus by a term several operations share (``buscheck._resolve_operations``, with the AIR)."""
    tables = {b.name: _KeyTable(_width(b)) for b in plan.buses}

    def merge(p: _Part) -> _Part:  # the chunk's keys go into the running tables, not into memory per chunk
        for name, bp in p.buses.items():
            tables[name].add(bp.keys, bp.net)
            # fresh empty arrays: a [:0] view would keep the chunk's whole key array alive
            bp.keys = np.zeros((0, bp.keys.shape[1]), dtype=np.uint64)
            bp.net = np.zeros(0, dtype=np.int64)
        return p

    parts = sorted(run("map", [(s, e) for s, e in ranges], progress, merge), key=lambda p: p.start)
    result = _reduce_constraints(plan, trace, parts)
    bus_report = None
    if plan.buses:
        _reduce_multiplicities(plan, trace, parts)
        totals = {b.name: _reduce_bus(plan, b, trace, parts, tables[b.name]) for b in plan.buses}
        # an unconstrained end (AirScript's `unconstrained`) demands no balance, as in buscheck._check_bus
        free = {b.name for b in plan.buses if b.initial is None or b.final is None}
        wanted = {k: bt.keys for k, bt in totals.items() if len(bt.keys) and k not in free}
        first: dict[str, dict[tuple[int, str], tuple[int, int, int]]] = {k: {} for k in totals}
        if wanted:  # only an unbalanced bus pays for this second pass
            for found in run("first", [(s, e, wanted) for s, e in ranges], None):
                for bname, occ in found.items():
                    for k, v in occ.items():
                        if k not in first[bname] or v < first[bname][k]:
                            first[bname][k] = v
        out = []
        for b in plan.buses:
            bt = totals[b.name]
            unmatched = [] if b.name in free else resolve(_unmatched_list(b, bt, first[b.name]))
            names = _label_names(b, bt)
            unl = {0} if bt.unlabelled else set()
            named = {
                (names.get(c) or "label") + ("" if c in unl else f" (label {c})"): v
                for c, v in sorted(bt.totals.items())
            }
            expected = bt.final if b.name in free else end_value(b.final, trace, 0)
            out.append(
                BusResult(b.name, b.kind, bt.final, expected, bt.messages, unmatched, named, near_misses(unmatched))
            )
        bus_report = BusReport(out, list(values))
    ops = plan.facts.operations
    occurring = {name for i, name in enumerate(ops) if any(p.ops[i] for p in parts if p.ops)}
    return ChunkedResult(result, bus_report, len(ranges), mode, occurring)


class _runner:
    """Runs the chunks' tasks here, on a local pool, or on Dask; returns their results as they finish."""

    def __init__(self, mode: str, jobs: int, plan: _Plan, trace: Trace, client: Any) -> None:
        self.mode, self.jobs, self.plan, self.trace, self.client = mode, jobs, plan, trace, client
        self.pool: Executor | None = None
        self.remote: tuple[Any, Any] | None = None

    def __enter__(self) -> Callable[..., list]:
        if self.mode == "processes":
            import multiprocessing as mp

            # fork: the workers inherit the AIR and its compiled programs; the trace's arrays are not sent
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            self.pool = ProcessPoolExecutor(
                self.jobs, mp_context=ctx, initializer=_worker_init, initargs=(self.plan, _light(self.trace))
            )
        elif self.mode == "threads":
            self.pool = ThreadPoolExecutor(self.jobs)
        elif self.mode == "dask":  # sent once to every worker, not with every task
            self.remote = (
                self.client.scatter(self.plan, broadcast=True),
                self.client.scatter(_light(self.trace), broadcast=True),
            )
        return self.run

    def run(
        self,
        kind: str,
        args: list[tuple],
        progress: Callable[[int], Any] | None,
        consume: Callable[[Any], Any] = lambda x: x,
    ) -> list:
        """Every task's result, each passed through ``consume`` as it arrives."""
        out = []
        if self.mode == "dask":
            assert self.remote is not None
            from distributed import as_completed as dask_done

            plan_f, trace_f = self.remote
            futs = [self.client.submit(_call, kind, plan_f, trace_f, a, pure=False) for a in args]
            for f in dask_done(futs):
                out.append(consume(f.result()))
                if progress:
                    progress(1)
            return out
        if self.pool is None:
            for a in args:
                out.append(consume(_call(kind, self.plan, self.trace, a)))
                if progress:
                    progress(1)
            return out
        from concurrent.futures import as_completed

        if self.mode == "processes":
            futs = [self.pool.submit(_worker_call, kind, a) for a in args]
        else:
            futs = [self.pool.submit(_call, kind, self.plan, self.trace, a) for a in args]
        for f in as_completed(futs):
            out.append(consume(f.result()))
            if progress:
                progress(1)
        return out

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


# --- a check from the cache, with no AIR -------------------------------------------------------------


def check_cached(
    air_key: str,
    stored: tuple[PlanFacts, dict[Any, tuple[set[str], int]]],
    trace: Trace,
    *,
    challenges: list[int] | None = None,
    seed: int = 0,
    chunk_rows: int | None = None,
    jobs: int = 1,
    progress: Callable[[int], Any] | None = None,
    pool: str = "threads",
) -> ChunkedResult | None:
    """``check_chunked`` from the cache, with no AIR: the facts and programs ``load_facts`` returned (``stored``)
    and the tapes the tape cache holds for the trace's 0/1 cells: the result ``check_chunked`` gives, except that a
    message put on a bus by a term several operations share is not yet named by the operation active on its row
    (``resolve_operations``, with the AIR). None when it cannot (no tapes, no compiled kernels, a column or public
    input missing, bad input): the caller then checks with the AIR, which explains it."""
    facts, programs = stored
    n = trace.n_rows
    if K.load_for(n) is None or any(c not in trace.columns for c in facts.column_names):
        return None
    have = set(trace.columns) | set(facts.periodic)
    progs_in = dict(programs)
    ops = progs_in.get("ops")
    if ops is not None and not all(i.rstrip("'") in have for i in ops[0]):
        del progs_in["ops"]  # as check_plan.build_plan: the operations' flags read what the trace lacks
    flags = progs_in.get("flags")
    cells = _binary_cells(facts.periodic, trace, flags[0]) if flags is not None else []
    tapes = restored_tapes(_tapes_key(air_key, cells, progs_in), progs_in)
    if tapes is None:
        return None
    progs: dict[Any, Any] = {k: _Compiled(progs_in[k][0], t) for k, t in tapes.items()}
    values = challenges if challenges is not None else draw_challenges(len(facts.challenges), seed)
    try:
        with _Setup(trace, set(facts.column_names), set(facts.periodic), chunk_rows, jobs, None, pool) as setup:
            plan = _Plan(facts, progs=progs)
            _finish_plan(plan, trace)
            res = setup.run(plan, list(values), progress, lambda u: u)
    except (TraceError, ZeroDivisionError):
        return None
    return res


def resolve_operations(air: Air, trace: Trace, res: ChunkedResult) -> None:
    """Name the operation of every unmatched message put on a bus by a term several operations share (as
    ``check_chunked`` does, with the AIR) in a result of ``check_cached``, and pair the messages again."""
    from air.buscheck import _resolve_operations

    for b in res.buses.buses if res.buses is not None else []:
        if b.unmatched:
            b.unmatched = _resolve_operations(air, trace, b.unmatched)
            b.near = near_misses(b.unmatched)
