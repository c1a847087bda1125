"""The chunked check's plan built from an AIR (the sympy side of ``air.chunked``): the compiled programs every chunk
runs, and the AIR's facts the map, the reduce and an OK report read, as data (``plan.PlanFacts``).

Programs (``air.compile.program``, lowered to tapes once, tabulated over the trace's 0/1 cells, cached by
``air.tape_cache`` under the AIR's content key):

* ``"flags"``: the ungated transition constraints, the gated groups' flags, every bus term's numerator;
* ``"ops"``: every operation's flag (which operations occur);
* ``("body", i)``: gated group i's bodies; ``("term", bus, t)``: a bus term's message fields and its value;
* ``"first"`` / ``"last"``: the boundary constraints (rows 0 and n-1, as ``evaluate.constraint_value``);
* ``("bmsg", bus, j)``: a bus boundary message's value ``message_value`` with its fields as inputs ``~f0, ~f1, ...``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sympy as sp

from air import kernels as K
from air.air import Air, Bus, message_value
from air.bus import numerator, term_value
from air.compile import program
from air.degree import preorder_new
from air.evaluate import group_by_flag, symbols_of
from air.plan import (
    PlanFacts,
    _binary_cells,
    _BoundaryShape,
    _BusShape,
    _finish_plan,
    _MsgShape,
    _Plan,
    _restore_tapes,
    _store_tapes,
    _tapes_key,
    _TermShape,
    load_facts,
    store_facts,
)
from air.symbols import AuxCell, PublicInput

__all__ = ["split", "facts_of", "build_plan"]


def split(air: Air) -> tuple[list[Any], list[str]]:
    """The constraints evaluated, and the names of those over bus columns (not evaluated), as evaluate.check."""
    cons, skipped = [], []
    for c in air.constraints:
        # the symbols of the expression, each shared sub-term walked once (free_symbols rebuilds a set per node)
        over_bus = any(isinstance(s, AuxCell) for s in preorder_new(c.expr, set()))
        (skipped if over_bus else cons).append(c)
    return cons, [c.name for c in skipped]


def _end(e: object) -> tuple[str, Any] | None:
    """A bus's initial or final value as data: None (unconstrained), ("int", v) or ("public", name)."""
    if e is None:
        return None
    e = sp.sympify(e)
    if e.is_Number:
        return ("int", int(e))
    return ("public", str(e))


def _msg(m: Any) -> _MsgShape:
    return _MsgShape(m.label, m.label_value, tuple((name, None) for name, _ in m.fields))


def bus_shape(bus: Bus) -> _BusShape:
    """What the map and the reduce read of a bus: its terms' sides, names, operations and messages (labels and
    field names), its ends, its boundary messages (table, or constant / public-input fields)."""
    terms = tuple(_TermShape(t.name, t.side, t.operation, tuple(_msg(m) for m in t.messages)) for t in bus.terms)
    bounds = []
    for bd in bus.boundary:
        m = bd.message
        consts = None if bd.table is not None else tuple(_end(e) for _, e in m.fields)
        bounds.append(_BoundaryShape(bd.side, bd.table, _msg(m), consts))
    return _BusShape(bus.name, bus.kind, _end(bus.initial), _end(bus.final), terms, tuple(bounds))


def facts_of(air: Air, cons: list[Any], skipped: list[str]) -> PlanFacts:
    """The AIR's facts the check and an OK report read (``PlanFacts``)."""
    from air.coverage import unread_columns

    gated, plain = group_by_flag([c for c in cons if c.domain == "transition"])
    publics = sorted({s.name for c in cons for s in symbols_of(c.expr) if isinstance(s, PublicInput)})
    return PlanFacts(
        name=air.name,
        n_constraints=len(air.constraints),
        column_names=list(air.column_names),
        n_columns=len(air.layout),
        unread_columns=list(unread_columns(air)),
        operations=[o.name for o in air.operations],
        challenges=[c.name for c in air.challenges],
        publics=publics,
        public_tables={k: int(v[0]) for k, v in air.public_tables.items()},
        periodic={k: [int(x) for x in v] for k, v in air.periodic.items()},
        cons=[(c.name, c.domain) for c in cons],
        skipped=list(skipped),
        plain=[c.name for c in plain],
        gated=[[c.name for c in g] for g in gated.values()],
        buses=[bus_shape(b) for b in air.buses],
    )


def build_plan(air: Air, trace: Any, cons: list[Any], skipped: list[str], tape_key: str | None = None) -> _Plan:
    """The plan of ``air`` on ``trace``: its facts and its programs, lowered (or read from the tape cache under
    ``tape_key``) when the compiled kernels are in use."""
    facts = facts_of(air, cons, skipped)
    plan = _Plan(facts)
    gated, plain = group_by_flag([c for c in cons if c.domain == "transition"])
    # ONE program for the ungated constraints, the gated constraints' operation flags, every bus term's numerator
    # (its flag, or its LogUp multiplicity): the tape computes each shared sub-term (an operation flag read by a
    # stack-shift constraint, several buses and a gated group) once per row, and keeps only each output's nonzero
    # entries (Program.run_sparse): a failing row, a selected row, a message
    nums = [numerator(b, t) for b in air.buses for t in b.terms]
    progs: dict[Any, Any] = {}
    # the operations' flags, for the operations that occur (coverage.operations_occurring, which the report of an
    # OK names), when they read only what the trace has (as operations_occurring requires)
    if air.operations and trace.n_rows >= 2:
        ops = program([o.flag for o in air.operations])
        if all(i.rstrip("'") in trace.columns or i.rstrip("'") in air.periodic for i in ops.inputs):
            progs["ops"] = ops
    flags = program([*(c.expr for c in plain), *gated, *nums]) if plain or gated or nums else None
    if flags is not None:
        progs["flags"] = flags
    for i, f in enumerate(gated):
        progs[("body", i)] = program([c.body for c in gated[f]])
    for b in air.buses:
        for ti, t in enumerate(b.terms):
            progs[("term", b.name, ti)] = program([e for m in t.messages for _, e in m.fields] + [term_value(air, t)])
        for j, bd in enumerate(b.boundary):
            fields = tuple((name, PublicInput(f"~f{k}")) for k, (name, _) in enumerate(bd.message.fields))
            progs[("bmsg", b.name, j)] = program([message_value(replace(bd.message, fields=fields), air.challenges)])
    for domain in ("first", "last"):
        ends = [c.expr for c in cons if c.domain == domain]
        if ends:
            progs[domain] = program(ends)
    plan.progs = progs
    if K.load_for(trace.n_rows) is not None:
        cells = _binary_cells(facts.periodic, trace, flags.inputs) if flags is not None else []
        key = _tapes_key(tape_key, cells, progs) if tape_key else None
        if key is None or not _restore_tapes(progs, key):
            if flags is not None:
                flags.tabulate(cells)
            for p in progs.values():  # lowered here once: not by every thread, or forked worker, that needs it
                p.tape()
            if key is not None:
                _store_tapes(key, progs)
        if tape_key and load_facts(tape_key) is None:
            store_facts(tape_key, facts, progs)
    _finish_plan(plan, trace)
    return plan

