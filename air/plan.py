"""The chunked check's plan as data (``air.chunked`` runs it; ``air.check_plan`` builds it from an AIR): the AIR's
facts the map, the reduce and an OK report read (``PlanFacts``: names and orders of the constraints and gated
groups, the layout, the periodic columns, each bus's shape), the compiled programs, and where their inputs and
outputs are. No sympy object is in it, so that a plan stored in the cache (the facts as JSON, the tapes in
``air.tape_cache``) runs without the AIR's definition, sympy or the lowering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from air import field as F
from air import tape_cache
from air.tape import Tape as RunTape
from air.trace import Trace, TraceError, column_rows

__all__ = ["PlanFacts", "store_facts", "load_facts", "draw_challenges", "bind_challenges", "end_value"]


@dataclass(frozen=True)
class _MsgShape:
    """A message as the map and the reduce read it (``air.air.Message`` duck-typed for ``bus_keys``): its label,
    numeric label, and its fields' names (``(name, None)`` pairs: the expressions are compiled into programs)."""

    label: str
    label_value: int | None
    fields: tuple[tuple[str, None], ...]


@dataclass(frozen=True)
class _TermShape:
    name: str
    side: str
    operation: str | None
    messages: tuple[_MsgShape, ...]


@dataclass(frozen=True)
class _BoundaryShape:
    """A bus boundary message: from a public table (``table``), or one message whose fields are constants or
    public inputs (``consts``: ("int", v) or ("public", name) per field)."""

    side: str
    table: str | None
    message: _MsgShape
    consts: tuple[tuple[str, Any] | None, ...] | None


@dataclass(frozen=True)
class _BusShape:
    """A bus as data (``air.air.Bus`` without its polynomials): ends as ("int", v), ("public", name) or None
    (unconstrained)."""

    name: str
    kind: str
    initial: tuple[str, Any] | None
    final: tuple[str, Any] | None
    terms: tuple[_TermShape, ...]
    boundary: tuple[_BoundaryShape, ...]


@dataclass
class PlanFacts:
    """What the check reads of an AIR besides its programs, as data (JSON in the tape cache): names and orders of
    the constraints, gated groups and buses, the layout, the periodic columns, and what an OK report says."""

    name: str
    n_constraints: int
    column_names: list[str]
    n_columns: int
    unread_columns: list[str]
    operations: list[str]
    challenges: list[str]
    publics: list[str]  # public inputs the constraints read
    public_tables: dict[str, int]  # name -> values per row
    periodic: dict[str, list[int]]
    cons: list[tuple[str, str]]  # the evaluated constraints (name, domain), in the AIR's order
    skipped: list[str]  # constraints over bus columns: not evaluated
    plain: list[str]  # ungated transition constraints: the first outputs of "flags"
    gated: list[list[str]]  # per gated group, its constraints (the outputs of ("body", i))
    buses: list[_BusShape]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Any) -> PlanFacts:
        """The facts from ``to_json``'s document, every field type-checked (``ValueError`` otherwise)."""
        if type(doc) is not dict:
            raise ValueError("plan facts: not an object")

        def strs(v: Any) -> list[str]:
            if type(v) is not list or any(type(x) is not str for x in v):
                raise ValueError("plan facts: not a list of names")
            return list(v)

        def opt_int(v: Any) -> int | None:
            if v is not None and type(v) is not int:
                raise ValueError("plan facts: not an integer")
            return v

        def end(v: Any) -> tuple[str, Any] | None:
            if v is None:
                return None
            if type(v) is not list or len(v) != 2 or v[0] not in ("int", "public"):
                raise ValueError("plan facts: not a bus end")
            if (v[0] == "int" and type(v[1]) is not int) or (v[0] == "public" and type(v[1]) is not str):
                raise ValueError("plan facts: not a bus end")
            return (v[0], v[1])

        def msg(v: Any) -> _MsgShape:
            if type(v) is not dict or type(v["label"]) is not str:
                raise ValueError("plan facts: not a message")
            names = strs([f[0] for f in v["fields"]])
            return _MsgShape(v["label"], opt_int(v["label_value"]), tuple((n, None) for n in names))

        def bus(v: Any) -> _BusShape:
            if type(v) is not dict or v["kind"] not in ("multiset", "logup"):
                raise ValueError("plan facts: not a bus")
            terms = tuple(
                _TermShape(
                    strs([t["name"]])[0],
                    t["side"],
                    None if t["operation"] is None else strs([t["operation"]])[0],
                    tuple(msg(m) for m in t["messages"]),
                )
                for t in v["terms"]
            )
            if any(t.side not in ("request", "response") for t in terms):
                raise ValueError("plan facts: not a side")
            bounds = []
            for b in v["boundary"]:
                if b["side"] not in ("request", "response") or (b["table"] is not None and type(b["table"]) is not str):
                    raise ValueError("plan facts: not a boundary message")
                consts = None if b["consts"] is None else tuple(end(c) for c in b["consts"])
                bounds.append(_BoundaryShape(b["side"], b["table"], msg(b["message"]), consts))
            return _BusShape(strs([v["name"]])[0], v["kind"], end(v["initial"]), end(v["final"]), terms, tuple(bounds))

        def ints(v: Any) -> list[int]:
            if type(v) is not list or any(type(x) is not int or not 0 <= x < F.P for x in v):
                raise ValueError("plan facts: not field elements")
            return list(v)

        cons = doc["cons"]
        if type(cons) is not list or any(type(c) is not list or len(c) != 2 for c in cons):
            raise ValueError("plan facts: not constraints")
        tables = doc["public_tables"]
        if type(tables) is not dict or any(type(w) is not int for w in tables.values()):
            raise ValueError("plan facts: not public tables")
        periodic = doc["periodic"]
        if type(periodic) is not dict:
            raise ValueError("plan facts: not periodic columns")
        if type(doc["n_constraints"]) is not int or type(doc["n_columns"]) is not int or type(doc["name"]) is not str:
            raise ValueError("plan facts: not a count")
        return cls(
            name=doc["name"],
            n_constraints=doc["n_constraints"],
            column_names=strs(doc["column_names"]),
            n_columns=doc["n_columns"],
            unread_columns=strs(doc["unread_columns"]),
            operations=strs(doc["operations"]),
            challenges=strs(doc["challenges"]),
            publics=strs(doc["publics"]),
            public_tables={str(k): int(w) for k, w in tables.items()},
            periodic={str(k): ints(v) for k, v in periodic.items()},
            cons=list(zip(strs([c[0] for c in cons]), strs([c[1] for c in cons]))),
            skipped=strs(doc["skipped"]),
            plain=strs(doc["plain"]),
            gated=[strs(g) for g in doc["gated"]],
            buses=[bus(b) for b in doc["buses"]],
        )


@dataclass
class _Plan:
    """The compiled programs every chunk runs (``air.check_plan`` builds them from an AIR, or ``check_cached``
    reads them from the tape cache) and the AIR's facts (``PlanFacts``): what the map and the reduce read, with
    no sympy object in it."""

    facts: PlanFacts
    scal: dict[str, np.ndarray] = field(default_factory=dict)  # challenges and public inputs, as numpy scalars
    progs: dict[Any, Any] = field(default_factory=dict)  # a Program (air.compile), or a _Compiled from the cache
    num_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # bus -> its numerators' outputs of "flags"
    gated_at: int = 0  # the gated constraints' flags among the outputs of "flags" (after the plain constraints)
    reuse: bool = False  # keep a chunk matrix's buffer per thread from chunk to chunk (not on Dask)
    spare: Any = None  # chunked._Spare: buffers made ready for the first chunks (serial and threads only)
    columns: list[str] = field(default_factory=list)  # the trace and periodic columns the programs read
    col_of: dict[str, tuple[int, int]] = field(default_factory=dict)  # x / x' -> (its column in a chunk, shift)

    @property
    def buses(self) -> list[_BusShape]:
        return self.facts.buses

    @property
    def with_buses(self) -> bool:
        return bool(self.facts.buses)


class _Compiled:
    """A program restored from the tape cache: its inputs and its tape (no polynomials; the kernels run it)."""

    def __init__(self, inputs: set[str], tape: RunTape) -> None:
        self.inputs = inputs
        self._tape = tape

    def tape(self) -> RunTape:
        return self._tape

    def run_matrix(
        self,
        mat: np.ndarray,
        col_of: Mapping[str, tuple[int, int]],
        scal: Mapping[str, Any],
        rows: np.ndarray | slice,
        sparse: bool = False,
        pool: dict | None = None,
    ) -> list[Any]:
        return self._tape.run_rows(mat, col_of, scal, rows, sparse, pool)


def _n_outputs(prog: Any) -> int:
    exprs = getattr(prog, "_exprs", None)
    return len(exprs) if exprs is not None else len(prog.tape().outputs)


def _finish_plan(plan: _Plan, trace: Trace) -> None:
    """Where each output and input is: the gated flags and the bus numerators among the outputs of "flags", and
    the columns of a chunk's matrix (the trace and periodic columns the programs read) with each variable's."""
    facts = plan.facts
    plan.gated_at = len(facts.plain)
    at = len(facts.plain) + len(facts.gated)
    for b in facts.buses:
        plan.num_at[b.name] = (at, at + len(b.terms))
        at += len(b.terms)
    names = sorted({i for p in plan.progs.values() for i in p.inputs})
    have = set(trace.columns) | set(trace.maps) | set(facts.periodic)
    plan.columns = sorted({n.rstrip("'") for n in names} & have)
    at_col = {c: i for i, c in enumerate(plan.columns)}
    plan.col_of = {n: (at_col[n.rstrip("'")], 1 if n.endswith("'") else 0) for n in names if n.rstrip("'") in at_col}


def draw_challenges(n: int, seed: int) -> list[int]:
    """``n`` challenge values drawn from ``seed`` (``--seed``): the one draw, for the check with the AIR
    (``buscheck.challenges_from_seed``) and from the cache."""
    rng = np.random.default_rng(seed)
    return [int(x) % F.P for x in rng.integers(1, 2**63, size=n, dtype=np.uint64)]


def bind_challenges(names: list[str], values: list[int]) -> dict[str, np.ndarray]:
    """The challenges ``names`` bound to ``values`` mod p (missing values: 0), as numpy scalars."""
    vals = list(values) + [0] * max(0, len(names) - len(values))
    return {c: np.array(v % F.P, dtype=np.uint64) for c, v in zip(names, vals)}


def end_value(end: tuple[str, Any] | None, trace: Trace, empty: int) -> int:
    """A bus end's (or boundary field's) value: a constant mod p, or a public input (missing: ``TraceError``);
    ``empty`` when it is unconstrained."""
    if end is None:
        return empty
    if end[0] == "int":
        return int(end[1]) % F.P
    if end[1] not in trace.public_inputs:
        raise TraceError(f"{trace.source}: public input {end[1]!r} (a bus boundary) is missing")
    return int(trace.public_inputs[end[1]])


def _scal(facts: PlanFacts, trace: Trace, values: list[int]) -> dict[str, np.ndarray]:
    """Challenges and public inputs as the programs read them, as ``evaluate.check`` and ``buscheck`` bind them:
    challenges 0 and the constraints' public inputs as given; with buses, the challenges' values and every public
    input mod p. A public input the constraints read and the trace lacks: ``TraceError``."""
    scal = {c: np.array(0, dtype=np.uint64) for c in facts.challenges}
    for name in facts.publics:
        if name not in trace.public_inputs:
            raise TraceError(f"{trace.source}: public input {name!r} (read by a constraint) is missing")
        scal[name] = np.array(int(trace.public_inputs[name]), dtype=np.uint64)
    if facts.buses:
        scal |= bind_challenges(facts.challenges, values)
        scal |= {k: np.array(int(v) % F.P, dtype=np.uint64) for k, v in trace.public_inputs.items()}
    return scal


def _prog_name(key: Any) -> str:
    """A program's name in the tape cache: "flags", "ops", ["body", 3], ["term", "chiplets", 7] as JSON."""
    return json.dumps(key if isinstance(key, str) else list(key))


def _prog_key(name: str) -> Any:
    """``_prog_name``'s inverse ("flags", or a tuple)."""
    v = json.loads(name)
    if isinstance(v, str):
        return v
    if type(v) is not list or not v or any(type(x) not in (str, int) for x in v):
        raise ValueError(f"not a program name: {name!r}")
    return tuple(v)


def _tapes_key(air_key: str, cells: list[str], progs: dict[Any, Any]) -> str:
    """The tape cache's key for these programs: the AIR's content key (``air.cache``, and the family selection),
    the cells the tables are built around, the programs' names."""
    parts = [str(tape_cache.FORMAT), air_key, json.dumps(cells), json.dumps(sorted(_prog_name(k) for k in progs))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def restored_tapes(key: str, programs: Mapping[Any, tuple[set[str], int]]) -> dict[Any, RunTape] | None:
    """The tape of every program of ``programs`` (key -> (its inputs, its number of outputs)) from the tape cache
    under ``key``, when it holds them all and each fits its program (as many outputs, no variable the program does
    not read); else None (the caller lowers them, or checks with the AIR)."""
    stored = tape_cache.load(key)
    if stored is None or set(stored) != {_prog_name(k) for k in programs}:
        return None
    tapes = {}
    try:
        for k, (inputs, n_out) in programs.items():
            t = RunTape.restored(*stored[_prog_name(k)])
            if len(t.outputs) != n_out or not {x for x in t.slots if isinstance(x, str)} <= inputs:
                return None
            tapes[k] = t
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return tapes


def _restore_tapes(progs: dict[Any, Any], key: str) -> bool:
    """Every program's tape from the tape cache (``restored_tapes``), put in its program: True; else nothing is
    changed (the caller lowers them)."""
    tapes = restored_tapes(key, {k: (p.inputs, len(p._exprs)) for k, p in progs.items()})
    if tapes is None:
        return False
    for k, t in tapes.items():
        progs[k].__dict__["_tape"] = t
    return True


def _store_tapes(key: str, progs: dict[Any, Any]) -> None:
    tape_cache.store(key, {_prog_name(k): p.tape().state() for k, p in progs.items()})


SAMPLE_ROWS = 1 << 9  # rows read at each of SAMPLES places along the trace


SAMPLES = 16


def _binary_cells(periodic: Mapping[str, list[int]], trace: Trace, names: set[str]) -> list[str]:
    """The cells of ``names`` that are 0 or 1 on rows sampled along the trace (a periodic column: over its
    cycle): the likely operation bits and selectors, for ``Tape.tabulate``. Only a guess: a block of rows where
    one is not 0/1 is computed from the polynomials as written."""
    n = trace.n_rows
    starts = sorted({min(n - 1, k * n // SAMPLES) for k in range(SAMPLES)})
    high: dict[str, int] = {}  # per column (x and x' read the same one), its largest sampled value
    for col in sorted({name.rstrip("'") for name in names}):
        if col in periodic:
            high[col] = max(int(v) for v in periodic[col])
        elif col in trace.columns or col in trace.maps:
            whole = column_rows(trace, col, 0, n)  # one map of a mapped column, not one per sample
            high[col] = max(int(np.max(whole[s : min(n, s + SAMPLE_ROWS)])) for s in starts)
    # a challenge or public input has no column: one value, not a cell
    return [name for name in sorted(names) if high.get(name.rstrip("'"), 2) <= 1]


PLAN_FORMAT = 1  # bump when the stored plan's JSON changes shape


def _plan_doc_name(air_key: str) -> str:
    return "plan-" + hashlib.sha256(f"{PLAN_FORMAT}\0{air_key}".encode()).hexdigest()


def store_facts(air_key: str, facts: PlanFacts, progs: dict[Any, Any]) -> None:
    """The plan's facts and its programs' inputs and output counts, under ``air_key`` (``check_cached`` reads them;
    their tapes are in the tape cache under a key that adds the trace's 0/1 cells)."""
    programs = {_prog_name(k): {"inputs": sorted(p.inputs), "outputs": _n_outputs(p)} for k, p in progs.items()}
    doc = {"format": PLAN_FORMAT, "key": air_key, "facts": facts.to_json(), "programs": programs}
    tape_cache.store_doc(_plan_doc_name(air_key), doc)


def load_facts(air_key: str) -> tuple[PlanFacts, dict[Any, tuple[set[str], int]]] | None:
    """What ``store_facts`` stored under ``air_key`` (facts, and per program its inputs and output count), or None:
    none, or not a well-formed document of this format and key."""
    doc = tape_cache.load_doc(_plan_doc_name(air_key))
    try:
        if type(doc) is not dict or doc.get("format") != PLAN_FORMAT or doc.get("key") != air_key:
            return None
        facts = PlanFacts.from_json(doc["facts"])
        programs: dict[Any, tuple[set[str], int]] = {}
        for name, p in doc["programs"].items():
            inputs, outputs = p["inputs"], p["outputs"]
            if type(inputs) is not list or any(type(i) is not str for i in inputs) or type(outputs) is not int:
                return None
            programs[_prog_key(name)] = (set(inputs), outputs)
        return facts, programs
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
