"""Lint an AIR from its definition alone (no trace): what no constraint reads, and where.

Readers. Every constraint and every bus term is a *reader*: a flag (``None`` for an ungated constraint,
active on every row) and the cells its polynomial reads (``flag*body``, or a term's flag, multiplicity and
message fields), split into current-row cells ``x`` and next-row cells ``x'``.

Operation rows, symbolically. The *selector columns* are the columns the operation flags read (Miden: the
op bits b0..b6 and e0, e1). An operation's rows are the 0/1 assignments of the selector columns on which
its flag is nonzero and every selector-only constraint holds (Miden's ``e0 = b6(1-b5)b4`` drops the
assignments where e0 disagrees with the bits); the pseudo-operation ``(none)`` is the assignments where
no flag is. A reader is *active* on an operation when its flag, with the selector columns set to one of
the operation's assignments, is not the zero polynomial in the remaining variables (tested at random
points over Goldilocks: Schwartz-Zippel, a false "zero" has probability deg/p per point). A flag over
other columns (chiplet selectors, next-row bits) stays nonzero and counts as active: the lint reports a
column free only when no reader could be on.

Findings: columns no reader reads; columns read only by boundary constraints; flags that are the zero
polynomial, and flags zero on every valid selector assignment (never active); operations no
operation-specific reader constrains (no body); and for each operation the columns free under it (no
active reader reads ``x`` on its rows or ``x'`` on the row before its next, i.e. its own transition).

Selector groups (``Air.selector_groups``, e.g. the arms of an AirScript ``match``, air-script issue #428):
each selector ``s_i`` must be binary (``s_i(v) in {0, 1}``) and any two mutually exclusive (never both
nonzero) for every 0/1 assignment ``v`` of the cells the group reads (``x`` and ``x'`` are separate
variables) that satisfies every transition constraint reading only those current-row cells (a trace cannot
hold the others), and, when selectors read periodic columns, at every position of their common cycle (the
lcm of their lengths; the columns' values there). Exact, not sampled: all assignments are evaluated at once
over Goldilocks, for k <= ``MAX_SELECTORS`` cells (and 2^k x cycle <= ``MAX_PERIODIC_ASSIGNMENTS``); past
that, or when a selector reads another symbol (a public input), the group is "not checked" and says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from air import field as F
from air.air import Air
from air.compile import program
from air.symbols import AuxCell, Cell, Periodic

__all__ = [
    "Reader",
    "LintResult",
    "DocumentedOpen",
    "readers",
    "lint",
    "NONE_OP",
    "MAX_SELECTORS",
    "SelectorCheck",
    "check_selectors",
]

NONE_OP = "(none)"
DOMAINS_PER_ROW = ("transition", "bus")
MAX_SELECTORS = 16  # 2^16 assignments at most; beyond, every reader counts as active everywhere
MAX_PERIODIC_ASSIGNMENTS = 2**20  # a selector group's 0/1 assignments times its periodic cycle, at most


@dataclass(frozen=True)
class Reader:
    """A constraint or bus term (``bus:B/T``): its gate, and the columns it reads now and on the next row."""

    name: str
    kind: str  # "transition", "first", "last" or "bus"
    flag: sp.Expr | None
    cur: frozenset[str]
    nxt: frozenset[str]
    operations: tuple[str, ...] = ()  # operations the definition names (Constraint.operation, BusTerm.operation)


@dataclass(frozen=True)
class DocumentedOpen:
    """A hole the design's documentation leaves open on purpose: ``column`` free under ``operations``
    (empty: every operation) because ``reason`` (citing ``source``)."""

    columns: tuple[str, ...]
    operations: tuple[str, ...]
    reason: str
    source: str

    def covers(self, column: str, operation: str) -> bool:
        return column in self.columns and (not self.operations or operation in self.operations)


@dataclass
class LintResult:
    air: str
    columns: list[str]
    operations: list[str]
    selectors: list[str]
    unread: list[str]
    boundary_only: list[str]
    zero_flags: list[str]
    never_active: list[str]
    unreachable_ops: list[str]
    no_body: list[str]
    read_cur: dict[str, set[str]]  # op -> columns read as x on its rows
    read_next: dict[str, set[str]]  # op -> columns read as x' on its rows (the next row's cells)
    active: dict[str, list[str]]  # op -> readers active on it
    documented: list[DocumentedOpen] = field(default_factory=list)
    conservative: bool = False  # too many selector columns: every reader counted active everywhere
    empty: list[str] = field(default_factory=list)  # operations (and "(none)") that no valid selector row reaches
    selector_checks: list[SelectorCheck] = field(default_factory=list)  # one per Air.selector_groups entry

    @property
    def selector_problems(self) -> int:
        """Non-binary selectors plus overlapping pairs over every selector group (``air lint`` exits 1 on any)."""
        return sum(len(g.non_binary) + len(g.overlaps) for g in self.selector_checks)

    def free_under(self, op: str) -> list[str]:
        """Columns no active reader of ``op`` reads, now or on the next row."""
        read = self.read_cur.get(op, set()) | self.read_next.get(op, set())
        return [c for c in self.columns if c not in read]

    def free_ops(self) -> dict[str, list[str]]:
        """column -> operations under which it is free (every column read somewhere, unread ones apart; an
        operation no valid selector row reaches frees everything vacuously and is left out)."""
        out: dict[str, list[str]] = {}
        unread = set(self.unread)
        for op in self.operations:
            if op in self.empty:
                continue
            for c in self.free_under(op):
                if c not in unread:
                    out.setdefault(c, []).append(op)
        return out

    def is_documented(self, column: str, op: str) -> DocumentedOpen | None:
        for d in self.documented:
            if d.covers(column, op):
                return d
        return None

    def to_json(self) -> dict[str, object]:
        free = self.free_ops()
        return {
            "air": self.air,
            "selectors": self.selectors,
            "conservative": self.conservative,
            "unread_columns": self.unread,
            "boundary_only_columns": self.boundary_only,
            "zero_flags": self.zero_flags,
            "never_active": self.never_active,
            "unreachable_operations": self.unreachable_ops,
            "operations_without_body": self.no_body,
            "free": [
                {
                    "column": c,
                    "operations": ops,
                    "documented": sorted({op for op in ops if self.is_documented(c, op)}),
                    "gaps": [op for op in ops if not self.is_documented(c, op)],
                }
                for c, ops in free.items()
            ],
            "documented_open": [
                {"columns": list(d.columns), "operations": list(d.operations), "reason": d.reason, "source": d.source}
                for d in self.documented
            ],
            "selector_groups": [g.to_json() for g in self.selector_checks],
        }

    @property
    def findings(self) -> int:
        """Gaps: unread columns, zero/never-active flags, bodiless operations, undocumented free pairs."""
        gaps = sum(1 for c, ops in self.free_ops().items() for op in ops if not self.is_documented(c, op))
        unread = [c for c in self.unread if not self.is_documented(c, NONE_OP)]
        return len(unread) + len(self.zero_flags) + len(self.never_active) + len(self.no_body) + gaps


Assignment = tuple[tuple[str, int], ...]  # (cell name, 0/1) in the group's column order


@dataclass(frozen=True)
class SelectorCheck:
    """One selector group checked over the 0/1 assignments of the cells it reads.

    ``non_binary``: (arm, an assignment, the value there, neither 0 nor 1); ``overlaps``: (arm, arm, an
    assignment on which both are nonzero, their two values). One witness per arm / pair (the first in the
    order of ``assignments``, the binary count with the group's first cell as the lowest bit; with periodic
    columns, each count at each position of the cycle, the periodic columns' values appended to ``cells``).
    ``not_checked`` says why the group was skipped (too many cells, a symbol that is not a cell).
    """

    group: str
    arms: tuple[str, ...]
    cells: tuple[str, ...]
    assignments: int  # valid 0/1 assignments evaluated
    excluded: int  # assignments dropped because a constraint over these cells alone refuses them
    non_binary: tuple[tuple[str, Assignment, int], ...] = ()
    overlaps: tuple[tuple[str, str, Assignment, int, int], ...] = ()
    not_checked: str = ""

    @property
    def ok(self) -> bool:
        return not self.non_binary and not self.overlaps

    def to_json(self) -> dict[str, object]:
        return {
            "group": self.group,
            "arms": list(self.arms),
            "cells": list(self.cells),
            "assignments": self.assignments,
            "excluded": self.excluded,
            "not_checked": self.not_checked or None,
            "non_binary": [{"arm": a, "assignment": dict(v), "value": x} for a, v, x in self.non_binary],
            "overlaps": [{"arms": [a, b], "assignment": dict(v), "values": [x, y]} for a, b, v, x, y in self.overlaps],
        }


def _fmt_assignment(v: Assignment) -> str:
    return ", ".join(f"{c}={x}" for c, x in v) or "(no cells)"


def _at(rows: np.ndarray, cells: Sequence[str], r: int) -> Assignment:
    return tuple((n, int(rows[r, i])) for i, n in enumerate(cells))


def check_selectors(air: Air) -> list[SelectorCheck]:
    """Check every group of ``air.selector_groups``: binary selectors, pairwise exclusive (module docstring)."""
    out: list[SelectorCheck] = []
    order = {c: i for i, c in enumerate(air.column_names)}
    for group, arms in air.selector_groups.items():
        names = tuple(a for a, _ in arms)
        exprs = [sp.sympify(e) for _, e in arms]
        syms = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
        periodic = sorted((s for s in syms if isinstance(s, Periodic) and s.name in air.periodic), key=str)
        others = sorted(
            s.name for s in syms if not (isinstance(s, Cell) and not isinstance(s, AuxCell)) and s not in periodic
        )
        cells = sorted(
            (s for s in syms if isinstance(s, Cell) and not isinstance(s, AuxCell)),
            key=lambda s: (order.get(s.column, len(order)), s.column, s.shift),
        )
        cell_names = tuple(s.name for s in cells)
        if others:
            why = f"not checked: reads {', '.join(others)}"
            out.append(SelectorCheck(group, names, cell_names, 0, 0, not_checked=why))
            continue
        if len(cells) > MAX_SELECTORS:
            why = f"not checked: {len(cells)} columns (at most {MAX_SELECTORS}, 2^{MAX_SELECTORS} assignments)"
            out.append(SelectorCheck(group, names, cell_names, 0, 0, not_checked=why))
            continue
        # periodic columns: every position of their common cycle (the lcm of their lengths), jointly
        cycle = math.lcm(*(len(air.periodic[q.name]) for q in periodic)) if periodic else 1
        if 2 ** len(cells) * cycle > MAX_PERIODIC_ASSIGNMENTS:
            why = f"not checked: {len(cells)} columns x a periodic cycle of {cycle}"
            out.append(SelectorCheck(group, names, cell_names, 0, 0, not_checked=why))
            continue
        k = len(cells)
        rows = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.uint64)
        env = {n: np.ascontiguousarray(rows[:, i]) for i, n in enumerate(cell_names)}
        # constraints over the group's current-row cells alone: the assignments they refuse never occur
        cur = {s.column for s in cells if s.shift == 0}
        only = [
            c.expr
            for c in air.constraints
            if c.domain == "transition"
            and c.expr.free_symbols
            and all(isinstance(s, Cell) and s.shift == 0 and s.column in cur for s in c.expr.free_symbols)
        ]
        keep = np.ones(len(rows), dtype=bool)
        for v in program(only).run(env) if only else []:
            keep &= np.broadcast_to(np.asarray(v, dtype=np.uint64), keep.shape) == 0
        excluded = int((~keep).sum())
        rows = rows[keep]
        # each valid cell assignment at each position of the cycle: the periodic columns' values there
        pos = np.tile(np.arange(cycle), len(rows))
        rows = np.repeat(rows, cycle, axis=0)
        for q in periodic:
            vals_q = np.array([v % F.P for v in air.periodic[q.name]], dtype=np.uint64)
            rows = np.column_stack([rows, vals_q[pos % len(vals_q)]]) if len(rows) else rows
        cell_names = cell_names + tuple(q.name for q in periodic)
        env = {n: np.ascontiguousarray(rows[:, i]) for i, n in enumerate(cell_names)} if len(rows) else {}
        m = len(rows)
        vals = (
            np.array([np.broadcast_to(np.asarray(v, dtype=np.uint64), (m,)) for v in program(exprs).run(env)])
            if exprs
            else np.zeros((0, m), dtype=np.uint64)
        )

        non_binary = []
        for i, a in enumerate(names):
            bad = np.flatnonzero(vals[i] > 1)
            if len(bad):
                non_binary.append((a, _at(rows, cell_names, int(bad[0])), int(vals[i, bad[0]])))
        nz = vals != 0
        both = nz[:, None, :] & nz[None, :, :]  # arms x arms x assignments
        overlaps = []
        for i, j in zip(*np.triu_indices(len(names), 1)):
            hit = np.flatnonzero(both[i, j])
            if len(hit):
                r = int(hit[0])
                overlaps.append((names[i], names[j], _at(rows, cell_names, r), int(vals[i, r]), int(vals[j, r])))
        out.append(SelectorCheck(group, names, cell_names, m, excluded, tuple(non_binary), tuple(overlaps)))
    return out


def _cells(exprs: Iterable[sp.Expr | None]) -> tuple[frozenset[str], frozenset[str]]:
    cur: set[str] = set()
    nxt: set[str] = set()
    for e in exprs:
        if e is None:
            continue
        for s in sp.sympify(e).free_symbols:
            if isinstance(s, Cell) and not isinstance(s, AuxCell):
                (nxt if s.shift else cur).add(s.column)
    return frozenset(cur), frozenset(nxt)


def readers(air: Air) -> list[Reader]:
    """Every constraint and bus term of ``air`` as a ``Reader`` (constraints over bus columns included:
    they read main-trace cells too)."""
    out: list[Reader] = []
    for c in air.constraints:
        gated = c.flag is not None and c.body is not None
        cur, nxt = _cells([c.expr])
        ops = (c.operation,) if c.operation else ()
        out.append(Reader(c.name, c.domain, c.flag if gated else None, cur, nxt, ops))
    for b in air.buses:
        for t in b.terms:
            exprs: list[sp.Expr | None] = [t.flag, t.multiplicity]
            for m in t.messages:
                exprs.extend(m.field_exprs())
            cur, nxt = _cells(exprs)
            gate = t.multiplicity if t.multiplicity is not None else t.flag
            ops = tuple(o for o in (t.operation or "").split("+") if o)
            out.append(Reader(f"bus:{b.name}/{t.name}", "bus", gate, cur, nxt, ops))
    return out


POINTS = 2  # random points per assignment in the zero tests


def _nonzero(exprs: Sequence[sp.Expr], fixed: Mapping[str, np.ndarray], m: int, seed: int) -> np.ndarray:
    """``exprs`` (E of them) evaluated at m points at once with the compiled evaluator: the variables in
    ``fixed`` take its arrays (length m), every other one a random nonzero field element per point. Returns
    an E x m boolean array, True where the value is nonzero."""
    if not exprs or m == 0:
        return np.zeros((len(exprs), m), dtype=bool)
    prog = program(list(exprs))
    rng = np.random.default_rng(seed)
    env: dict[str, np.ndarray] = {}
    for name in prog.inputs:
        env[name] = fixed[name] if name in fixed else rng.integers(1, F.P, size=m, dtype=np.uint64)
    return np.array([np.broadcast_to(v, (m,)) != 0 for v in prog.run(env)], dtype=bool).reshape(len(exprs), m)


def _assign(selectors: list[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Environment arrays of the selector columns from a (m x k) 0/1 matrix of assignments."""
    return {c: np.ascontiguousarray(rows[:, i]).astype(np.uint64) for i, c in enumerate(selectors)}


def _selector_rows(air: Air, selectors: list[str]) -> np.ndarray:
    """0/1 assignments (rows of a matrix) of the selector columns that satisfy every transition constraint
    reading only them on the current row (exact: those constraints read nothing else)."""
    sel = set(selectors)
    only_sel = []
    for c in air.constraints:
        cells = [s for s in c.expr.free_symbols if isinstance(s, Cell)]
        others = [s for s in c.expr.free_symbols if not isinstance(s, Cell)]
        if cells and not others and all(s.shift == 0 and s.column in sel for s in cells) and c.domain == "transition":
            only_sel.append(c.expr)
    k = len(selectors)
    rows = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.int64)
    bad = (
        _nonzero(only_sel, _assign(selectors, rows), len(rows), 0).any(axis=0)
        if only_sel
        else np.zeros(len(rows), bool)
    )
    return rows[~bad]


def lint(air: Air, documented: Sequence[DocumentedOpen] = ()) -> LintResult:
    """Lint ``air`` from its definition (see the module docstring); ``documented`` lists the holes the
    design's docs leave open on purpose (they are reported apart from the gaps)."""
    cols = air.column_names
    rds = readers(air)
    ops = [o.name for o in air.operations]
    selectors = sorted(
        {s.column for o in air.operations for s in o.flag.free_symbols if isinstance(s, Cell) and s.shift == 0},
        key=cols.index if cols else None,
    )
    conservative = len(selectors) > MAX_SELECTORS
    all_ops = ops + [NONE_OP]
    rflags = list(dict.fromkeys(r.flag for r in rds if r.flag is not None))
    # flags that are the zero polynomial: zero at random points (every variable random)
    zero_f = ~_nonzero(rflags, {}, POINTS, 1).any(axis=1) if rflags else np.zeros(0, bool)
    zero_set = {f for f, z in zip(rflags, zero_f.tolist()) if z}
    zero_flags = [r.name for r in rds if r.flag is not None and r.flag in zero_set]
    act: dict[sp.Expr, dict[str, bool]] = {f: {o: True for o in all_ops} for f in rflags}
    ever: dict[sp.Expr, bool] = {f: True for f in rflags}
    op_rows: dict[str, np.ndarray] = {}
    if not conservative:
        valid = _selector_rows(air, selectors)
        vm = np.repeat(valid, POINTS, axis=0)  # each assignment at POINTS random points
        of = _nonzero([o.flag for o in air.operations], _assign(selectors, vm), len(vm), 2)
        of = of.reshape(len(ops), len(valid), POINTS).any(axis=2)
        for idx, o in enumerate(ops):
            op_rows[o] = valid[of[idx]]
        op_rows[NONE_OP] = valid[~of.any(axis=0)] if len(ops) else valid
        # every reader flag at every (operation, assignment, point) at once
        blocks = [np.repeat(op_rows[o], POINTS, axis=0) for o in all_ops]
        owner = np.repeat(np.arange(len(all_ops)), [len(b) for b in blocks])
        combos = np.concatenate(blocks) if blocks else np.zeros((0, len(selectors)), np.int64)
        nz = _nonzero(rflags, _assign(selectors, combos), len(combos), 3)
        on_valid = _nonzero(rflags, _assign(selectors, vm), len(vm), 4).any(axis=1)
        for fi, f in enumerate(rflags):
            hit = np.zeros(len(all_ops), dtype=bool)
            np.logical_or.at(hit, owner, nz[fi])
            act[f] = dict(zip(all_ops, hit.tolist()))
            ever[f] = bool(on_valid[fi])
    never_active = [
        r.name
        for r in rds
        if r.flag is not None and r.flag not in zero_set and not ever[r.flag] and r.kind in DOMAINS_PER_ROW
    ]

    read_cur: dict[str, set[str]] = {o: set() for o in all_ops}
    read_next: dict[str, set[str]] = {o: set() for o in all_ops}
    active: dict[str, list[str]] = {o: [] for o in all_ops}
    specific: dict[str, int] = {o: 0 for o in all_ops}
    sel_set = set(selectors)
    for r in rds:
        if r.kind in ("first", "last"):
            continue  # one row: not a per-operation reader
        on = {o: True for o in all_ops} if r.flag is None else act[r.flag]
        flag_cols = set() if r.flag is None else {s.column for s in r.flag.free_symbols if isinstance(s, Cell)}
        for o, yes in on.items():
            if yes:
                read_cur[o] |= r.cur
                read_next[o] |= r.nxt
                active[o].append(r.name)
                if flag_cols & sel_set or o in r.operations:
                    specific[o] += 1
    read_any: set[str] = set()
    per_row: set[str] = set()
    for r in rds:
        read_any |= r.cur | r.nxt
        if r.kind not in ("first", "last"):
            per_row |= r.cur | r.nxt
    unread = [c for c in cols if c not in read_any]
    boundary_only = [c for c in cols if c in read_any and c not in per_row]
    unreachable = [o for o in ops if not conservative and not len(op_rows[o])]
    no_body = [o for o in ops if specific[o] == 0]
    return LintResult(
        air=air.name,
        columns=cols,
        operations=all_ops,
        selectors=selectors,
        unread=unread,
        boundary_only=boundary_only,
        zero_flags=zero_flags,
        never_active=never_active,
        unreachable_ops=unreachable,
        no_body=no_body,
        read_cur=read_cur,
        read_next=read_next,
        active=active,
        documented=list(documented),
        conservative=conservative,
        empty=[] if conservative else [o for o in all_ops if not len(op_rows[o])],
        selector_checks=check_selectors(air),
    )


def render(res: LintResult, fmt: str = "table") -> str:
    """The lint report as text (``table``) or markdown."""
    md = fmt == "markdown"
    out: list[str] = []

    def head(t: str) -> None:
        out.append(f"## {t}" if md else t)

    def item(t: str) -> None:
        out.append(f"- {t}" if md else f"  {t}")

    head(f"lint {res.air}: selector columns {', '.join(res.selectors) or 'none'}")
    if res.conservative:
        item(f"more than {MAX_SELECTORS} selector columns: every reader is counted active under every operation")
    sections = (
        ("columns no constraint or bus term reads", res.unread),
        ("columns read only by boundary constraints", res.boundary_only),
        ("flags that are the zero polynomial", res.zero_flags),
        ("flags zero on every valid selector row (never active)", res.never_active),
        ("operations no selector assignment reaches", res.unreachable_ops),
        ("operations without a body (no reader specific to them)", res.no_body),
    )
    for title, items in sections:
        head(f"{title}: {len(items)}")
        for x in items:
            doc = res.is_documented(x, NONE_OP) if title.startswith("columns no") else None
            item(x + (f"  [documented: {doc.reason}; {doc.source}]" if doc else ""))
    free = res.free_ops()
    n_doc = sum(1 for c, o in free.items() for op in o if res.is_documented(c, op))
    n_all = sum(len(o) for o in free.values())
    head(f"free (column, operation) pairs: {n_all} ({n_doc} documented open, {n_all - n_doc} gaps)")
    for c, o in free.items():
        gaps = [op for op in o if not res.is_documented(c, op)]
        docs = [op for op in o if res.is_documented(c, op)]
        line = f"{c}: free under {len(o)} op(s)"
        if gaps:
            line += f"; gaps: {', '.join(gaps)}"
        if docs:
            reasons = sorted({d.reason for op in docs if (d := res.is_documented(c, op))})
            line += f"; documented open under {len(docs)} ({'; '.join(reasons)})"
        item(line)
    for g in res.selector_checks:
        if g.not_checked:
            head(f"selector group {g.group}: {g.not_checked}")
            continue
        excl = f", {g.excluded} refused by the constraints" if g.excluded else ""
        head(
            f"selector group {g.group}: {len(g.arms)} arm(s) over {', '.join(g.cells) or 'no cells'}: "
            f"{g.assignments} assignment(s){excl}: {'ok' if g.ok else 'PROBLEM'}"
        )
        for a, v, x in g.non_binary:
            item(f"{a} is not binary: {F.format_value(x)} at {_fmt_assignment(v)}")
        for a, b, v, x, y in g.overlaps:
            item(f"{a} and {b} can both be on: {x} and {y} at {_fmt_assignment(v)}")
    if res.selector_checks:
        n = len(res.selector_checks)
        out.append(f"lint {res.air}: {res.selector_problems} selector problem(s) in {n} group(s)")
    out.append(f"lint {res.air}: {res.findings} finding(s) (gaps), {n_doc} documented-open pair(s)")
    return "\n".join(out)
