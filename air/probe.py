"""Soundness probe: change one cell of an honest trace at a time and see whether the AIR notices.

Mutations of the cell (column c, row r): a random field element, +1, -1, a 0/1 flip (columns whose
honest values are all 0 or 1), and a swap with the next row's cell (rows r and r+1 change). Sampling
is stratified per (column, operation on row r), ``samples`` mutations per pair.

Locality. A transition constraint reads rows (w, w+1) only, so a change at rows r (and r+1 for a swap)
can only change the constraints of the pairs w = r-1, r, r+1, and a boundary constraint only when w is
0 or n-1. Each mutation is checked on those three pairs only, all mutations of a batch at once with the
compiled evaluator (``air.compile``): a mutation is *caught* when a constraint fails on one of its pairs
where it held on the honest trace (a constraint that already fails there catches nothing new).

Buses, incrementally. A multiset bus's final value is ``initial * prod_w R(w) / Q(w)`` with
``R(w) = 1 + sum_s f_s (v_s - 1)`` (responses) and ``Q(w)`` the same over requests (the bus polynomial
of ``air.air``); a LogUp bus's is ``initial + sum_w L(w)``. Only the window's rows change, so the final
value changes exactly when ``prod_w R'(w) Q(w) != prod_w R(w) Q'(w)`` (multiset) or
``sum_w L'(w) - L(w) != 0`` (LogUp) over the window's transition rows: the per-row contributions are
recomputed on the window against the honest ones, computed once. Challenges are random (``seed``): a
change that leaves the message multiset unchanged (a swap of two equal messages) is not a change; one
that changes it survives only if the challenges hit a root, probability about (messages·degree)/p.

Classification of a surviving (column, operation) pair: *structural* when, for its surviving examples,
no reader active on the row's operation reads the column now and none of the previous row's operation
reads it as ``x'`` (``air.lint``: from the definition, no evaluation); *semantic* otherwise (a
constraint reads it, and the change still satisfied it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from air import field as F
from air.air import Air, Bus
from air.buscheck import challenges_from_seed
from air.compile import program
from air.evaluate import active_operations, check, group_by_flag
from air.lint import NONE_OP, LintResult, lint
from air.symbols import AuxCell, Cell
from air.trace import Trace

__all__ = [
    "Mutation",
    "PairStats",
    "ProbeResult",
    "Verdicts",
    "probe",
    "caught_mutations",
    "sample_mutations",
    "apply",
    "KINDS",
]

KINDS = ("random", "plus1", "minus1", "flip", "swap")
BATCH = 2048


@dataclass(frozen=True)
class Mutation:
    column: str
    row: int
    kind: str
    old: int
    new: int
    operation: str


@dataclass
class PairStats:
    column: str
    operation: str
    total: int = 0
    caught: int = 0
    example: Mutation | None = None  # a surviving mutation
    caught_by: dict[str, int] = field(default_factory=dict)
    structural: bool = True  # every surviving example is unread on its rows (lint)
    documented: str = ""  # the design's docs leave this pair open on purpose (lint's DocumentedOpen): why, where
    last_row_only: bool = True  # every survivor sits on the last row (read by no transition)
    unread_on_rows: bool = True  # no reader of the column was active on any survivor's rows (flags evaluated)
    masked: bool = True  # every survivor's active readers already fail there on the honest trace

    @property
    def reason(self) -> str:
        """structural / semantic, and what explains it (the docs, or the last row)."""
        if self.structural:
            r = "structural"
        elif self.unread_on_rows:
            r = "unread on its rows (flags evaluated)"
        elif self.masked:
            r = "masked: its readers already fail there"
        else:
            r = "semantic"
        if self.example is not None and self.last_row_only:
            r += "; last row only"
        if self.documented:
            r += f"; documented open: {self.documented}"
        return r

    @property
    def survived(self) -> int:
        return self.total - self.caught


@dataclass
class ProbeResult:
    air: str
    n_rows: int
    pairs: list[PairStats]
    baseline_failures: int  # (constraint, row) failures of the honest trace
    seed: int
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(p.total for p in self.pairs)

    @property
    def caught(self) -> int:
        return sum(p.caught for p in self.pairs)

    @property
    def survivors(self) -> list[PairStats]:
        return [p for p in self.pairs if p.survived]

    def summary(self) -> str:
        s = self.survivors
        n_struct = sum(1 for p in s if p.structural)
        n_unread = sum(1 for p in s if not p.structural and p.unread_on_rows)
        n_masked = sum(1 for p in s if not p.structural and not p.unread_on_rows and p.masked)
        n_sem = len(s) - n_struct - n_unread - n_masked
        n_doc = sum(1 for p in s if p.documented or p.last_row_only)
        rate = 100.0 * self.caught / self.total if self.total else 100.0
        return (
            f"probe {self.air}: {self.caught} of {self.total} mutations caught ({rate:.1f}%); "
            f"{len(s)} surviving (column, operation) pair(s): {n_struct} structural, {n_unread} unread on their rows, "
            f"{n_masked} masked by honest failures, {n_sem} semantic; {n_doc} documented open or last row"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "air": self.air,
            "rows": self.n_rows,
            "seed": self.seed,
            "mutations": self.total,
            "caught": self.caught,
            "kill_rate": self.caught / self.total if self.total else 1.0,
            "baseline_failures": self.baseline_failures,
            "pairs": [
                {
                    "column": p.column,
                    "operation": p.operation,
                    "total": p.total,
                    "caught": p.caught,
                    "caught_by": p.caught_by,
                    **(
                        {
                            "survivor": {
                                "row": p.example.row,
                                "kind": p.example.kind,
                                "old": str(p.example.old),
                                "new": str(p.example.new),
                            },
                            "reason": "structural" if p.structural else "semantic",
                            "unread_on_rows": p.unread_on_rows,
                            "masked": p.masked,
                            "text": p.reason,
                            "last_row_only": p.last_row_only,
                            "documented": p.documented,
                        }
                        if p.example is not None
                        else {}
                    ),
                }
                for p in self.pairs
            ],
            "summary": self.summary(),
        }


def apply(trace: Trace, m: Mutation) -> Trace:
    """A copy of ``trace`` with ``m`` applied (for a full re-check: the naive way, and tests)."""
    cols = dict(trace.columns)
    v = cols[m.column].copy()
    v[m.row] = m.new
    if m.kind == "swap":
        v[m.row + 1] = m.old
    cols[m.column] = v
    return Trace(cols, trace.n_rows, trace.public_inputs, trace.meta, trace.source, trace.public_tables)


# ------------------------------------------------------------------ sampling
def sample_mutations(
    air: Air,
    trace: Trace,
    ops: list[str],
    samples: int,
    rng: np.random.Generator,
    columns: Sequence[str],
    operation: str | None,
) -> list[Mutation]:
    """``samples`` mutations per (column, operation on the row) present on ``trace`` (rows drawn without
    replacement while there are enough), the kinds taken in turn from a random start."""
    n = trace.n_rows
    op_arr = np.array(ops, dtype=object)
    rows_of: dict[str, np.ndarray] = {o: np.flatnonzero(op_arr == o) for o in dict.fromkeys(ops)}
    if operation is not None:
        rows_of = {operation: rows_of.get(operation, np.zeros(0, dtype=np.int64))}
    out: list[Mutation] = []
    for c in columns:
        data = trace.stored(c)  # read, not widened (a packed column)
        binary = bool(((data == 0) | (data == 1)).all())
        kinds = ["random", "plus1", "minus1", "swap"] + (["flip"] if binary else [])
        for o, rows in rows_of.items():
            if len(rows) == 0:
                continue
            picks = rng.choice(rows, size=min(samples, len(rows)), replace=False)
            if samples > len(rows):
                picks = np.concatenate([picks, rng.choice(rows, size=samples - len(rows))])
            for i, r in enumerate(picks.tolist()):
                old = int(data[r])
                kind = kinds[(i + int(rng.integers(len(kinds)))) % len(kinds)]
                if kind == "swap" and (r + 1 >= n or int(data[r + 1]) == old):
                    kind = "random"
                if kind == "random":
                    new = int(rng.integers(0, F.P - 1, dtype=np.uint64))
                    new = new if new != old else (new + 1) % F.P
                elif kind == "plus1":
                    new = (old + 1) % F.P
                elif kind == "minus1":
                    new = (old - 1) % F.P
                elif kind == "flip":
                    new = 1 - old
                else:  # swap: row r gets row r+1's value and r+1 gets row r's
                    new = int(data[r + 1])
                out.append(Mutation(c, r, kind, old, new, o))
    return out


# ------------------------------------------------------------------ windows
def _window_env(
    air: Air, trace: Trace, muts: Sequence[Mutation], inputs: set[str], mutated: bool
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Cells of the pairs (w, w+1), w = r-1, r, r+1 for every mutation (flattened M x 3), with the mutation
    applied when ``mutated``; and the pairs' w (unwrapped, -1 .. n)."""
    n = trace.n_rows
    r = np.array([m.row for m in muts], dtype=np.int64)
    w = (r[:, None] + np.arange(-1, 2)[None, :]).reshape(-1)
    wm = w % n
    wn = (wm + 1) % n
    env: dict[str, np.ndarray] = {}
    by_col: dict[str, list[int]] = {}
    if mutated:
        for i, m in enumerate(muts):
            by_col.setdefault(m.column, []).append(i)
    for name in inputs:
        col, shift = (name[:-1], 1) if name.endswith("'") else (name, 0)
        idx = wn if shift else wm
        if col in air.periodic:
            cyc = np.array(air.periodic[col], dtype=np.uint64)
            env[name] = cyc[idx % len(cyc)]
            continue
        if col not in trace.columns:
            continue
        v = trace.stored(col)[idx].astype(np.uint64, copy=False)  # only the rows read are widened
        if col in by_col:
            v = v.copy()
            ids = np.array(by_col[col], dtype=np.int64)
            pos = (ids[:, None] * 3 + np.arange(3)[None, :]).reshape(-1)  # the pairs of these mutations
            mrow = np.repeat(r[ids], 3)
            new = np.repeat(np.array([muts[i].new for i in ids], dtype=np.uint64), 3)
            hit = idx[pos] == mrow
            v[pos[hit]] = new[hit]
            swaps = np.repeat(np.array([muts[i].kind == "swap" for i in ids]), 3)
            old = np.repeat(np.array([muts[i].old for i in ids], dtype=np.uint64), 3)
            hit2 = swaps & (idx[pos] == mrow + 1)
            v[pos[hit2]] = old[hit2]
        env[name] = v
    return env, w


def _scalars(air: Air, trace: Trace, challenges: list[int]) -> dict[str, np.ndarray]:
    env = {c.name: np.array(v % F.P, dtype=np.uint64) for c, v in zip(air.challenges, challenges)}
    env.update({k: np.array(int(v) % F.P, dtype=np.uint64) for k, v in trace.public_inputs.items()})
    return env


class _BusRows:
    """Per-row contributions of a bus (``R``, ``Q`` for a multiset bus, ``L`` for LogUp) from an environment:
    the term flags over every row, each term's messages only on the rows where its flag is nonzero."""

    def __init__(self, air: Air, bus: Bus):
        self.bus = bus
        self.terms = list(bus.terms)
        self.flag_prog = program([t.multiplicity if t.multiplicity is not None else t.flag for t in self.terms])
        self.field_progs = [program([e for m in t.messages for e in m.field_exprs()]) for t in self.terms]
        self.inputs = set(self.flag_prog.inputs).union(*(p.inputs for p in self.field_progs))
        index = {c: i for i, c in enumerate(air.column_names)}
        self.term_cols = [
            _cols_of([t.flag, t.multiplicity, *(e for m in t.messages for e in m.field_exprs())], index)
            for t in self.terms
        ]
        self.last_flags: list[np.ndarray] = []

    def rows(self, env: dict[str, np.ndarray], length: int, alphas: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        flags = [np.broadcast_to(v, (length,)) for v in self.flag_prog.run(env)]
        self.last_flags = flags
        resp = np.ones(length, dtype=np.uint64)
        req = np.ones(length, dtype=np.uint64)
        logup = np.zeros(length, dtype=np.uint64)
        bad = np.zeros(length, dtype=bool)
        for t, f, fp in zip(self.terms, flags, self.field_progs):
            sel = np.flatnonzero(f != 0)
            if len(sel) == 0:
                continue
            senv = {k: (env[k][sel] if env[k].ndim else env[k]) for k in fp.inputs if k in env}
            vals = [np.broadcast_to(v, (len(sel),)) for v in fp.run(senv)]
            k = 0
            prod: np.ndarray | None = None
            for m in t.messages:
                v = np.full(len(sel), alphas[0], dtype=np.uint64)
                a = 1
                if m.label_value is not None:
                    v = F.add(v, F.mul(alphas[1], np.array(m.label_value % F.P, dtype=np.uint64)))
                    a = 2
                for j in range(len(m.fields)):
                    v = F.add(v, F.mul(vals[k + j], alphas[a + j]))
                k += len(m.fields)
                prod = v if prod is None else F.mul(prod, v)
            assert prod is not None
            fs = np.ascontiguousarray(f[sel])
            if self.bus.kind == "multiset":
                tgt = resp if t.side == "response" else req
                tgt[sel] = F.add(tgt[sel], F.mul(fs, F.sub(prod, np.uint64(1))))
            else:
                bad[sel] |= prod == 0
                safe = np.where(prod == 0, np.uint64(1), prod)
                c = F.mul(fs, F.inv_array(safe))
                logup[sel] = F.add(logup[sel], c) if t.side == "response" else F.sub(logup[sel], c)
        if self.bus.kind == "multiset":
            return resp, req, bad
        return logup, bad


# ------------------------------------------------------------------ the probe
def probe(
    air: Air,
    trace: Trace,
    *,
    samples: int = 4,
    seed: int = 0,
    column: str | None = None,
    operation: str | None = None,
    lint_result: LintResult | None = None,
) -> ProbeResult:
    """Mutate ``trace`` cell by cell (see the module docstring) and count what ``air`` catches."""
    import time

    t0 = time.perf_counter()
    n = trace.n_rows
    rng = np.random.default_rng(seed)
    lr = lint_result or lint(air)
    ops = [o or NONE_OP for o in active_operations(air, trace, np.arange(n, dtype=np.int64))]
    if column is not None and column not in air.column_names:
        raise KeyError(f"no column {column!r} in AIR {air.name}")
    if operation is not None and operation not in lr.operations:
        raise KeyError(f"no operation {operation!r} in AIR {air.name}")
    columns = [column] if column else air.column_names
    muts = sample_mutations(air, trace, ops, samples, rng, columns, operation)
    v = caught_mutations(air, trace, muts, seed=seed)
    return _aggregate(air, trace, muts, v, ops, lr, seed, time.perf_counter() - t0)


@dataclass
class Verdicts:
    """Per mutation: caught, by what (a constraint, or ``bus:NAME``); for the survivors only (False for the
    caught ones), whether a reader of the column was active on its rows (flags evaluated on the mutated
    window), and whether such a reader already failed there on the honest trace (masked); plus the honest
    trace's (constraint, row) failures."""

    caught: np.ndarray
    killer: list[str]
    read: np.ndarray
    masked: np.ndarray
    baseline_failures: int


def _cols_of(exprs: Sequence[sp.Expr | None], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    cur: set[int] = set()
    nxt: set[int] = set()
    for e in exprs:
        if e is None:
            continue
        for x in sp.sympify(e).free_symbols:
            if isinstance(x, Cell) and not isinstance(x, AuxCell) and x.column in index:
                (nxt if x.shift else cur).add(index[x.column])
    return np.array(sorted(cur), dtype=np.int64), np.array(sorted(nxt), dtype=np.int64)


def caught_mutations(air: Air, trace: Trace, muts: Sequence[Mutation], *, seed: int = 0) -> Verdicts:
    """For each mutation, whether ``air`` catches it (window check + bus ratio, see the module docstring),
    and what read the mutated cell on its rows (``Verdicts``)."""
    n = trace.n_rows
    index = {c: i for i, c in enumerate(air.column_names)}
    # the honest trace's failures: a constraint failing there catches nothing new
    cons = [c for c in air.constraints if not any(isinstance(s, AuxCell) for s in c.expr.free_symbols)]
    base = check(air, trace)
    base_bad: dict[str, np.ndarray] = {}
    for fl in base.failures:
        mask = np.zeros(n, dtype=bool)
        mask[fl.rows] = True
        base_bad[fl.constraint] = mask
    bnd = [c for c in cons if c.domain != "transition"]
    gated, plain = group_by_flag([c for c in cons if c.domain == "transition"])
    flags = list(gated)
    flag_prog = program(flags) if flags else None
    plain_prog = program([c.expr for c in plain] + [c.expr for c in bnd]) if plain or bnd else None
    body_progs = {f: program([c.body for c in gated[f]]) for f in flags}
    plain_cols = [_cols_of([c.expr], index) for c in plain + bnd]
    gated_cols = {f: _cols_of([f, *(c.body for c in gated[f])], index) for f in flags}
    cons_cols = {c.name: _cols_of([c.expr], index) for c in cons}
    inputs: set[str] = set()
    for p in [flag_prog, plain_prog, *body_progs.values()]:
        if p is not None:
            inputs |= p.inputs
    challenges = challenges_from_seed(air, seed)
    scal = _scalars(air, trace, challenges)
    alphas = [scal[c.name] for c in air.challenges]
    bus_rows = [_BusRows(air, b) for b in air.buses]
    for br in bus_rows:
        inputs |= br.inputs
    # honest per-row bus contributions over the transition rows 0..n-2
    honest_bus = []
    if bus_rows:
        full = {}
        for name in inputs:
            col, shift = (name[:-1], 1) if name.endswith("'") else (name, 0)
            idx = (np.arange(n) + shift) % n
            if col in air.periodic:
                cyc = np.array(air.periodic[col], dtype=np.uint64)
                full[name] = cyc[idx % len(cyc)]
            elif col in trace.columns:
                full[name] = trace.stored(col)[idx].astype(np.uint64, copy=False)
        honest_bus = [br.rows(scal | full, n, alphas) for br in bus_rows]

    caught = np.zeros(len(muts), dtype=bool)
    killer: list[str] = [""] * len(muts)
    read_m = np.zeros(len(muts), dtype=bool)
    masked_m = np.zeros(len(muts), dtype=bool)
    K = len(index)
    for start in range(0, len(muts), BATCH):
        batch = muts[start : start + BATCH]
        env, w = _window_env(air, trace, batch, inputs, mutated=True)
        env = scal | env
        L = len(w)
        wm = w % n
        t_valid = (w >= 0) & (w <= n - 2)
        hit = np.zeros(L, dtype=bool)
        who = np.full(L, "", dtype=object)
        readc = np.zeros((L, K), dtype=bool)  # pair p reads column k as x / as x' (an active reader)
        readn = np.zeros((L, K), dtype=bool)
        maskc = np.zeros((L, K), dtype=bool)  # ... and that reader fails there on the honest trace
        maskn = np.zeros((L, K), dtype=bool)

        marks: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray], str | None]] = []

        def mark(rows: np.ndarray, cols: tuple[np.ndarray, np.ndarray], name: str | None = None, marks=marks) -> None:
            marks.append((rows, cols, name))  # applied below, on the survivors' pairs only

        def record(bad: np.ndarray, name: str, wm=wm, hit=hit, who=who) -> None:
            base_m = base_bad.get(name)
            if base_m is not None:
                bad = bad & ~base_m[wm]
            who[bad & ~hit] = name
            hit |= bad

        if plain_prog is not None:
            outs = plain_prog.run(env)
            for c, v in zip(plain + bnd, outs):
                nz = np.broadcast_to(v, (L,)) != 0
                if c.domain == "transition":
                    dom = t_valid
                elif c.domain == "first":
                    dom = w == 0
                else:
                    dom = w == n - 1
                record(nz & dom, c.name)
            for c, cols in zip(plain + bnd, plain_cols):
                dom = t_valid if c.domain == "transition" else (w == 0 if c.domain == "first" else w == n - 1)
                mark(np.flatnonzero(dom), cols, c.name)
        if flag_prog is not None:
            for f, fv in zip(flags, flag_prog.run(env)):
                sel = np.flatnonzero((np.broadcast_to(fv, (L,)) != 0) & t_valid)
                if len(sel) == 0:
                    continue
                bp = body_progs[f]
                mark(sel, gated_cols[f])
                for c in gated[f]:
                    if c.name in base_bad:
                        mark(sel, cons_cols[c.name], c.name)
                senv = {k: (env[k][sel] if env[k].ndim else env[k]) for k in bp.inputs if k in env}
                for c, bv in zip(gated[f], bp.run(scal | senv)):
                    bad = np.zeros(L, dtype=bool)
                    bad[sel] = np.broadcast_to(bv, (len(sel),)) != 0
                    record(bad, c.name)
        m_hit = hit.reshape(-1, 3).any(axis=1)
        m_who = [next((x for x in row if x), "") for row in who.reshape(-1, 3).tolist()]
        # buses: the final value moves iff the window's contributions differ from the honest ones
        for br, hon in zip(bus_rows, honest_bus):
            got = br.rows(env, L, alphas)
            for f, cols in zip(br.last_flags, br.term_cols):
                mark(np.flatnonzero((f != 0) & t_valid), cols)
            wc = np.clip(wm, 0, n - 1)
            if br.bus.kind == "multiset":
                r_new, q_new, _ = got
                r_old, q_old = hon[0][wc], hon[1][wc]
                lhs = np.where(t_valid, F.mul(r_new, q_old), np.uint64(1))
                rhs = np.where(t_valid, F.mul(r_old, q_new), np.uint64(1))
                lhs3, rhs3 = lhs.reshape(-1, 3), rhs.reshape(-1, 3)
                lp = F.mul(F.mul(lhs3[:, 0], lhs3[:, 1]), lhs3[:, 2])
                rp = F.mul(F.mul(rhs3[:, 0], rhs3[:, 1]), rhs3[:, 2])
                moved = lp != rp
                bad = (got[2] & t_valid).reshape(-1, 3).any(axis=1)
            else:
                d = np.where(t_valid, F.sub(got[0], hon[0][wc]), np.uint64(0)).reshape(-1, 3)
                moved = F.add(F.add(d[:, 0], d[:, 1]), d[:, 2]) != 0
                bad = (got[1] & t_valid).reshape(-1, 3).any(axis=1)
            new = (moved | bad) & ~m_hit
            for i in np.flatnonzero(new):
                m_who[i] = f"bus:{br.bus.name}"
            m_hit |= moved | bad
        caught[start : start + len(batch)] = m_hit
        killer[start : start + len(batch)] = m_who
        # which readers were active on the survivors' pairs (the caught ones need no explanation)
        keep = np.repeat(~m_hit, 3)
        for rows, cols, name in marks:
            rows = rows[keep[rows]]
            if len(rows) == 0:
                continue
            if name is not None and name in base_bad:
                fail = rows[base_bad[name][wm[rows]]]
                maskc[np.ix_(fail, cols[0])] = True
                maskn[np.ix_(fail, cols[1])] = True
            readc[np.ix_(rows, cols[0])] = True
            readn[np.ix_(rows, cols[1])] = True
        # the mutated cell (column k, row r) is x of pair r and x' of pair r-1 (a swap: also rows r+1, r)
        k = np.array([index[m.column] for m in batch], dtype=np.int64)
        sw = np.array([m.kind == "swap" for m in batch])
        p = np.arange(len(batch)) * 3
        for a_c, a_n, out in ((readc, readn, read_m), (maskc, maskn, masked_m)):
            hit_ = a_n[p, k] | a_c[p + 1, k] | (sw & (a_n[p + 1, k] | a_c[p + 2, k]))
            out[start : start + len(batch)] = hit_
    return Verdicts(caught, killer, read_m, masked_m, base.total_failures)


def _aggregate(
    air: Air,
    trace: Trace,
    muts: Sequence[Mutation],
    v: Verdicts,
    ops: list[str],
    lr: LintResult,
    seed: int,
    elapsed: float,
) -> ProbeResult:
    # aggregate per (column, operation)
    n = trace.n_rows
    last_read = {
        s.column for c in air.constraints if c.domain == "last" for s in c.expr.free_symbols if isinstance(s, Cell)
    }
    stats: dict[tuple[str, str], PairStats] = {}
    for m, k, who_, rd, mk in zip(muts, v.caught.tolist(), v.killer, v.read.tolist(), v.masked.tolist()):
        p = stats.setdefault((m.column, m.operation), PairStats(m.column, m.operation))
        p.total += 1
        if k:
            p.caught += 1
            p.caught_by[who_] = p.caught_by.get(who_, 0) + 1
            continue
        prev = ops[m.row - 1] if m.row > 0 else None
        # the last row is no transition row: only a "last" boundary reads its cells as x
        cur_read = m.column in (last_read if m.row == n - 1 else lr.read_cur.get(m.operation, set()))
        unread = not cur_read and (prev is None or m.column not in lr.read_next.get(prev, set()))
        p.structural = p.structural and unread
        p.last_row_only = p.last_row_only and m.row == n - 1
        p.unread_on_rows = p.unread_on_rows and not rd
        p.masked = p.masked and mk
        if p.example is None:
            p.example = m
    for p in stats.values():
        if p.example is None:
            p.structural = False
            p.last_row_only = False
            p.unread_on_rows = False
            p.masked = False
        else:
            d = lr.is_documented(p.column, p.operation)
            p.documented = f"{d.source}" if d else ""
    pairs = sorted(stats.values(), key=lambda p: (air.column_names.index(p.column), p.operation))
    return ProbeResult(air.name, trace.n_rows, pairs, v.baseline_failures, seed, elapsed)


def render(res: ProbeResult, fmt: str = "table", all_pairs: bool = False) -> str:
    """The probe's report: surviving pairs (all pairs with ``all_pairs``) and the summary line."""
    from air.report import table

    rows = []
    for p in res.pairs if all_pairs else res.survivors:
        ex = p.example
        rows.append(
            [
                p.column,
                p.operation,
                f"{p.caught}/{p.total}",
                "" if ex is None else f"row {ex.row} {ex.kind} {ex.old}->{ex.new}",
                "" if ex is None else p.reason,
            ]
        )
    head = ["column", "operation", "caught", "surviving example", "reason"]
    out = []
    if res.baseline_failures:
        out.append(
            f"note: the trace already fails {res.baseline_failures} (constraint, row) check(s); "
            "a mutation counts as caught only by a new failure or a bus change"
        )
    if rows:
        out.append(table(head, rows, fmt))
    out.append(res.summary())
    return "\n".join(out)
