"""Bus balance: build each bus's auxiliary column from the main trace and name every unmatched message.

Two interpretations of one ``Bus`` definition:

* **Exact balance.** For every row and every term whose flag is nonzero, decode each message into a
  tuple (label, field values) -- vectorized over rows with the compiled evaluator -- and match the
  requests against the responses as multisets (a multiset bus: each tuple counted once per flagged
  row; a LogUp bus: weighted by the multiplicity). Every tuple left over is an unmatched message,
  reported with its side, row and operation. This needs no challenge and cannot be fooled by a
  lucky challenge.
* **Running product / sum.** With challenges from ``--seed`` (or given), the accumulator column is
  built over the *base field* (the models here ask for no extension field; the chance that an
  unbalanced bus balances by accident is at most about n/p, n the number of messages, which is
  fine for a debugger though not for a proof): ``b[0] = initial``,
  ``b[i+1] = b[i] * responses(i) / requests(i)`` for a multiset bus, and
  ``b[i+1] = b[i] + sum m/(responses) - sum m/(requests)`` for LogUp. The final value must be
  ``final`` (1 or 0, or a public input).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp

from air import field as F
from air import kernels as K
from air.air import Air, Bus, message_value
from air.bus import numerator, term_value
from air.compile import eval_int, program
from air.evaluate import _column_env, active_operations
from air.field import format_value
from air.trace import Trace, TraceError

__all__ = [
    "UnmatchedMessage",
    "NearMiss",
    "near_misses",
    "BusResult",
    "BusReport",
    "check_buses",
    "challenges_from_seed",
]

CHUNK = 1 << 16


@dataclass(frozen=True)
class UnmatchedMessage:
    bus: str
    side: str
    label: str
    fields: tuple[tuple[str, int], ...]
    row: int
    operation: str | None
    count: int = 1
    code: int = 0  # the numeric label (0 on a bus without labels)
    term: str = ""  # the bus term that put it on the bus ("" for a boundary message)

    @property
    def who(self) -> str:
        """Who put the message on the bus, in the AIR's own words: its operation, else its term."""
        if self.operation:
            return self.operation
        return f"term {self.term}" if self.term else "a row"

    def describe(self, show: Callable[[int], str] = str) -> str:
        """One line naming the message; ``show`` writes its field values (the text report passes
        field.format_value, so small negatives read ``-k (p−k)`` there)."""
        vals = " ".join(f"{k}={show(v)}" for k, v in self.fields)
        verb = "requested" if self.side == "request" else "answered"
        missing = "no response" if self.side == "request" else "no request"
        extra = f" (x{self.count})" if self.count != 1 else ""
        if self.row < 0:
            return f"{self.label} {vals}, {verb} by the public inputs (bus boundary), {missing}{extra}"
        return f"{self.label} {vals}, {verb} by {self.who} at row {self.row}, {missing}{extra}"


@dataclass(frozen=True)
class NearMiss:
    """An unmatched request and an unmatched response of the same label that differ in a few fields:
    most likely one message that a forged or miscomputed cell split in two."""

    request: UnmatchedMessage
    response: UnmatchedMessage
    differences: tuple[tuple[str, int, int], ...]  # (field, requested value, answered value)

    def describe(self, show: Callable[[int], str] = str) -> str:
        diffs = ", ".join(f"{k}: {show(a)} requested, {show(b)} answered" for k, a, b in self.differences)
        r, q = self.request, self.response
        return (
            f"the request by {r.who} at row {r.row} and the response by "
            f"{q.who} at row {q.row} differ only in {diffs}"
        )


def near_misses(unmatched: list[UnmatchedMessage], limit: int = 200) -> list[NearMiss]:
    """Pair each unmatched request with the unmatched response of its label that shares the most
    fields (compared by name), when at most half of the shared fields differ. Only the first ``limit``
    requests and, per label, ``limit`` responses are compared: a report shows far fewer, and a trace
    with a whole column forged would otherwise cost (requests x responses)."""
    by_code: dict[int, list[UnmatchedMessage]] = {}
    for u in unmatched:
        if u.side == "response" and len(by_code.setdefault(u.code, [])) < limit:
            by_code[u.code].append(u)
    used: set[int] = set()
    out: list[NearMiss] = []
    for r in [u for u in unmatched if u.side == "request"][:limit]:
        best: tuple[UnmatchedMessage, tuple[tuple[str, int, int], ...]] | None = None
        rf = dict(r.fields)
        for q in by_code.get(r.code, []):
            if id(q) in used:
                continue
            qf = dict(q.fields)
            shared = [k for k in rf if k in qf]
            diffs = tuple((k, rf[k], qf[k]) for k in shared if rf[k] != qf[k])
            if shared and 2 * len(diffs) <= len(shared) and (best is None or len(diffs) < len(best[1])):
                best = (q, diffs)
        if best is not None:
            used.add(id(best[0]))
            out.append(NearMiss(r, best[0], best[1]))
    return out


@dataclass
class BusResult:
    bus: str
    kind: str
    final: int
    expected_final: int
    messages: int
    unmatched: list[UnmatchedMessage] = field(default_factory=list)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> {"request": n, "response": n}
    near: list[NearMiss] = field(default_factory=list)
    # the accumulator column b[0..n-1] built from the trace (b[i+1] from row i), which satisfies the bus
    # constraint ``air.bus.bus_constraint`` on every transition row
    column: np.ndarray | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.unmatched and self.final == self.expected_final

    def summary(self) -> str:
        if self.ok:
            return f"bus {self.bus}: balanced ({self.messages} messages)"
        return (
            f"bus {self.bus}: NOT balanced: {len(self.unmatched)} unmatched message(s); "
            f"final {self.kind} value {self.final}, expected {self.expected_final}"
        )


@dataclass
class BusReport:
    buses: list[BusResult]
    challenges: list[int]

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.buses)

    def render(self, color: bool = False, max_items: int = 20, hex: bool = False) -> str:
        """The text report of every bus; message values as constraint cells print (field.format_value)."""

        def show(v: int) -> str:
            return format_value(v, hex)

        out = []
        for b in self.buses:
            out.append(b.summary())
            for u in b.unmatched[:max_items]:
                out.append(f"  {u.side:8} {u.describe(show)}")
            if len(b.unmatched) > max_items:
                out.append(f"  ... and {len(b.unmatched) - max_items} more")
            for m in b.near[:max_items]:
                out.append(f"  likely  {m.describe(show)}")
            if not b.ok:
                for label, t in b.totals.items():
                    if t.get("request", 0) != t.get("response", 0):
                        out.append(
                            f"  totals {label}: {t.get('request', 0)} requested, {t.get('response', 0)} answered"
                        )
        return "\n".join(out)

    def unmatched_json(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The unmatched messages, at most ``limit`` per bus (``len(b.unmatched)`` counts them all)."""
        return [
            {
                "bus": u.bus,
                "side": u.side,
                "label": u.label,
                "fields": {k: str(v) for k, v in u.fields},
                "row": u.row,
                "operation": u.operation,
                "count": u.count,
                "text": u.describe(),
            }
            for b in self.buses
            for u in b.unmatched[:limit]
        ]

    def near_json(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The likely pairs, at most ``limit`` per bus."""
        return [
            {
                "bus": b.bus,
                "request_row": m.request.row,
                "request_operation": m.request.operation,
                "response_row": m.response.row,
                "response_operation": m.response.operation,
                "differences": [{"field": k, "requested": str(a), "answered": str(v)} for k, a, v in m.differences],
                "text": m.describe(),
            }
            for b in self.buses
            for m in b.near[:limit]
        ]

    def buses_json(self) -> list[dict[str, Any]]:
        return [
            {
                "bus": b.bus,
                "kind": b.kind,
                "ok": b.ok,
                "messages": b.messages,
                "final": str(b.final),
                "expected_final": str(b.expected_final),
                "unmatched_total": len(b.unmatched),
                "likely_pairs_total": len(b.near),
                "totals": b.totals,
            }
            for b in self.buses
        ]


def challenges_from_seed(air: Air, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(x) % F.P for x in rng.integers(1, 2**63, size=len(air.challenges), dtype=np.uint64)]


def _bind(air: Air, values: list[int]) -> dict[str, np.ndarray]:
    if len(values) < len(air.challenges):
        values = list(values) + [0] * (len(air.challenges) - len(values))
    return {c.name: np.array(v % F.P, dtype=np.uint64) for c, v in zip(air.challenges, values)}


def _eval_rows(air: Air, trace: Trace, exprs: list, rows: np.ndarray, scal: dict) -> list[np.ndarray]:
    prog = program(exprs)
    at: np.ndarray | slice = rows
    if len(rows) > 1 and rows[-1] - rows[0] == len(rows) - 1 and bool((np.diff(rows) == 1).all()):
        at = slice(int(rows[0]), int(rows[-1]) + 1)  # consecutive rows (all transitions): views, not gathers
    env = scal | _column_env(air, trace, prog.inputs, at)
    # a column of the right length as it is (the tape's outputs are fresh rows); a constant broadcast to a copy
    return [v if v.shape == (len(rows),) else np.broadcast_to(v, (len(rows),)).astype(np.uint64) for v in prog.run(env)]


def _scan(x: np.ndarray, op, identity: int) -> np.ndarray:
    """Inclusive prefix ``x0 op x1 op ... op xi`` of field elements, vectorized. The sequence is cut
    into m chunks of k = 1024 laid out as the columns of a k x m array, scanned down the rows in
    log2(k) whole-array steps (contiguous slices), then each chunk is combined with the scan of the
    chunk totals (recursively): about 11 full-length operations for any n up to 2^20."""
    if x.ndim == 1 and (op is F.mul or op is F.add):  # one sequential compiled loop (air.kernels)
        r = K.scan_mul(x) if op is F.mul else K.scan_add(x)
        if r is not None:
            return r
    n = len(x)
    k = 1024
    if n <= 2 * k:
        acc = x.copy()
        step = 1
        while step < n:
            acc[step:] = op(acc[step:], acc[:-step])  # op reads both slices before the write
            step <<= 1
        return acc
    m = -(-n // k)
    flat = np.full(m * k, identity, dtype=np.uint64)
    flat[:n] = x
    grid = np.ascontiguousarray(flat.reshape(m, k).T)  # grid[j, i] = x[i*k + j]
    step = 1
    while step < k:
        grid[step:] = op(grid[step:], grid[:-step])
        step <<= 1
    before = np.full(m, identity, dtype=np.uint64)
    before[1:] = _scan(grid[-1].copy(), op, identity)[:-1]
    return np.ascontiguousarray(op(grid, before[None, :]).T).reshape(-1)[:n]


def _prefix_sum(x: np.ndarray, initial: int) -> np.ndarray:
    """out[0] = initial, out[i+1] = out[i] + x[i] (mod p)."""
    out = np.empty(len(x) + 1, dtype=np.uint64)
    out[0] = initial % F.P
    out[1:] = F.add(_scan(x, F.add, 0), np.array(initial % F.P, dtype=np.uint64))
    return out


def _batch_inverse(x: np.ndarray) -> np.ndarray:
    """Inverses of nonzero field elements, vectorized (x^(p-2))."""
    if (x == 0).any():
        raise ZeroDivisionError("a bus message evaluated to 0 under these challenges: choose another --seed")
    return F.inv_array(x)


@dataclass
class Segment:
    """The messages of one (term, message) of a bus on the rows where the term's numerator is nonzero: ``key``
    has one row per flagged row (label code, then the fields, zero-padded to the bus's width), ``sel`` the
    rows (local to the rows decoded) and ``reps`` how many times each counts (a LogUp multiplicity, else 1)."""

    term: int
    message: int
    side: str
    key: np.ndarray
    sel: np.ndarray
    reps: np.ndarray


@dataclass
class Decoded:
    """A bus decoded on a run of transition rows: its message segments and, per row, the side values of the
    bus polynomial (multiset: ``req``/``resp``; LogUp: ``logup`` = sum m/resp - sum m/req)."""

    segments: list[Segment]
    req: np.ndarray
    resp: np.ndarray
    logup: np.ndarray
    unlabelled: bool  # some message carries no label (0 in its key)


def bus_width(bus: Bus) -> int:
    """Columns of a message key of ``bus``: the label code, then the longest message's fields."""
    return 1 + max((len(m.fields) for t in bus.terms for m in t.messages), default=0)


def decode_bus(
    bus: Bus,
    flags: list[tuple[np.ndarray, np.ndarray]],
    m: int,
    term_values: Callable[[int, np.ndarray], list[np.ndarray]],
) -> Decoded:
    """The one decoding of a bus's messages (the single pass ``check_buses`` and every chunk of ``air.chunked``
    run it): ``flags[t] = (sel, f)`` is term t's numerator (its flag, or its LogUp multiplicity) where it is
    nonzero, ``sel`` those of the ``m`` rows (ascending) and ``f`` its values there;
    ``term_values(t, sel)`` evaluates, on rows ``sel``, every field of the term's messages in order and then
    the term's value ``term_value`` (prod of message_value, the factor of the bus polynomial)."""
    width = bus_width(bus)
    segs: list[Segment] = []
    req_val = np.ones(m, dtype=np.uint64)
    resp_val = np.ones(m, dtype=np.uint64)
    logup = np.zeros(m, dtype=np.uint64)
    unlabelled = False
    for ti, (t, (sel, fv)) in enumerate(zip(bus.terms, flags)):
        if len(sel) == 0:
            continue
        *field_vals, value = term_values(ti, sel)
        weights = fv if bus.kind == "logup" else np.ones(len(sel), dtype=np.uint64)
        # a LogUp multiplicity is a field element: a message whose multiplicity is not a small count (e.g. a flag
        # made non-binary by a tampered op bit) is listed once among the messages to match
        reps = np.where(weights < 2**32, weights, 1).astype(np.int64)
        at = 0
        for mi, msg in enumerate(t.messages):
            cols = field_vals[at : at + len(msg.fields)]
            at += len(msg.fields)
            key = np.zeros((len(sel), width), dtype=np.uint64)
            if msg.label_value is None and bool(msg.fields) and msg.fields[0][0] == "label":
                # the label is computed by the responder: it is the first field
                for j, c in enumerate(cols):
                    key[:, j] = c
            else:  # a numeric label, or none (0 in the key) on a bus whose messages carry no label
                key[:, 0] = msg.label_value or 0
                for j, c in enumerate(cols):
                    key[:, 1 + j] = c
                if msg.label_value is None:
                    unlabelled = True
            segs.append(Segment(ti, mi, t.side, key, sel, reps))
        if bus.kind == "multiset":
            # the side as the bus polynomial has it (air.bus): sum_t f_t*u_t + 1 - sum_t f_t = 1 + sum_t f_t*(u_t - 1)
            side_val = req_val if t.side == "request" else resp_val
            term = F.sub(value, np.uint64(1))
            if not (fv == 1).all():  # a flag is 1 where it is nonzero on an honest trace: 1*x is x
                term = F.mul(fv, term)
            side_val[sel] = F.add(side_val[sel], term)
        else:
            contrib = F.mul(fv, _batch_inverse(value))
            logup[sel] = F.add(logup[sel], contrib) if t.side == "response" else F.sub(logup[sel], contrib)
    return Decoded(segs, req_val, resp_val, logup, unlabelled)


def message_names(msg: Any) -> tuple[str, ...]:
    """The field names a message's key carries after its label (a computed label is not one of them)."""
    names = tuple(n_ for n_, _ in msg.fields)
    if msg.label_value is None and bool(msg.fields) and msg.fields[0][0] == "label":
        return names[1:]
    return names


def _check_bus(air: Air, bus: Bus, trace: Trace, scal: dict) -> BusResult:
    n = trace.n_rows
    rows_all = np.arange(n - 1, dtype=np.int64)  # transitions 0..n-2
    flags = _eval_rows(air, trace, [numerator(bus, t) for t in bus.terms], rows_all, scal)

    def term_values(ti: int, sel: np.ndarray) -> list[np.ndarray]:
        # every message's fields (the keys) and the term's value prod(message_value) as the bus polynomial has it
        # (air.bus.term_value, the factor the degree analyzer reads), compiled together on the flagged rows
        t = bus.terms[ti]
        return _eval_rows(air, trace, [*(e for m in t.messages for _, e in m.fields), term_value(air, t)], sel, scal)

    nonzero = [np.flatnonzero(f) for f in flags]
    dec = decode_bus(bus, [(sel, f[sel]) for sel, f in zip(nonzero, flags)], n - 1, term_values)
    # exact balance: every flagged row's message as a key (label, fields...), padded to one width
    keys: dict[str, list[np.ndarray]] = {"request": [], "response": []}
    meta: dict[str, list[tuple[np.ndarray, np.ndarray, str, tuple[str, ...], str | None, str]]] = {
        "request": [],
        "response": [],
    }
    width = bus_width(bus)
    totals: dict[int, dict[str, int]] = {}
    label_names: dict[int, str] = {}
    unlabelled: set[int] = {0} if dec.unlabelled else set()
    alphas = [scal[c.name] for c in air.challenges]
    for sg in dec.segments:
        t = bus.terms[sg.term]
        msg = t.messages[sg.message]
        keys[t.side].append(np.repeat(sg.key, sg.reps, axis=0))
        meta[t.side].append((sg.sel, sg.reps, msg.label, message_names(msg), t.operation, t.name))
        # totals per numeric label (requests and responses of one label name it differently)
        for code in np.unique(sg.key[:, 0]):
            name = label_names.setdefault(int(code), msg.label if t.side == "request" else "")
            if not name and t.side == "request":
                label_names[int(code)] = msg.label
            tot = totals.setdefault(int(code), {"request": 0, "response": 0})
            tot[t.side] += int(sg.reps[sg.key[:, 0] == code].sum())
    req_val, resp_val, logup = dec.req, dec.resp, dec.logup
    boundary_resp, boundary_req = _boundary(air, bus, trace, alphas, width, keys, meta, totals, label_names)
    # an unconstrained end (AirScript's `unconstrained`, Bus.initial/final None) demands no balance
    free = bus.initial is None or bus.final is None
    unmatched = [] if free else _resolve_operations(air, trace, _unmatched(bus, keys, meta, width))
    named = {
        (label_names.get(c) or "label") + ("" if c in unlabelled else f" (label {c})"): v
        for c, v in sorted(totals.items())
    }
    n_msgs = sum(len(k) for side in keys.values() for k in side)
    # running product / sum over all transition rows
    empty = 1 if bus.kind == "multiset" else 0
    initial = empty if bus.initial is None else int(_const(bus.initial, trace))
    if bus.kind == "multiset":  # b[0] = initial * prod(boundary responses) / prod(boundary requests)
        for v in boundary_resp:
            initial = initial * v % F.P
        for v in boundary_req:
            initial = initial * F.inv(v) % F.P
        acc = _running_product(resp_val, req_val, initial)
    else:  # b[0] = initial + sum 1/responses - sum 1/requests
        for v in boundary_resp:
            initial = (initial + F.inv(v)) % F.P
        for v in boundary_req:
            initial = (initial - F.inv(v)) % F.P
        acc = _prefix_sum(logup, initial)
    final = int(acc[-1])
    return BusResult(
        bus.name,
        bus.kind,
        final,
        final if free else int(_const(bus.final, trace)),
        n_msgs,
        unmatched,
        named,
        near_misses(unmatched),
        column=acc,
    )


def _boundary(
    air: Air, bus: Bus, trace: Trace, alphas: list, width: int, keys: dict, meta: dict, totals: dict, label_names: dict
) -> tuple[list[int], list[int]]:
    """The bus's boundary messages (``BusBoundary``): their keys join their side's with row -1 (matched
    like any message), and their values (responses, requests) enter the accumulator's first value."""
    values: dict[str, list[int]] = {"response": [], "request": []}
    a = [int(x) for x in alphas]
    for bd in bus.boundary:
        m = bd.message
        if bd.table is not None:
            rows = trace.public_tables.get(bd.table)
            if rows is None:
                raise TraceError(f"{trace.source}: public table {bd.table!r} (bus {bus.name} boundary) is missing")
            width_t = air.public_tables[bd.table][0]
            if any(len(r) != width_t for r in rows):
                raise TraceError(f"{trace.source}: public table {bd.table!r} needs {width_t} values per row")
        else:
            rows = [tuple(_const(e, trace) for _, e in m.fields)]
        if not rows:
            continue
        key = np.zeros((len(rows), width), dtype=np.uint64)
        key[:, 0] = m.label_value or 0
        key[:, 1 : 1 + len(m.fields)] = np.array(rows, dtype=np.uint64).reshape(len(rows), len(m.fields))
        keys[bd.side].append(key)
        sel = np.full(len(rows), -1, dtype=np.int64)
        names = tuple(n for n, _ in m.fields)
        meta[bd.side].append((sel, np.ones(len(rows), dtype=np.uint64), m.label, names, None, ""))
        code = int(m.label_value or 0)
        label_names.setdefault(code, m.label)
        totals.setdefault(code, {"request": 0, "response": 0})[bd.side] += len(rows)
        env = {c.name: x for c, x in zip(air.challenges, a)}
        for r in rows:  # the message polynomial (air.air.message_value) with this row's values as its fields
            row_msg = replace(m, fields=tuple((k, sp.Integer(int(x))) for (k, _), x in zip(m.fields, r)))
            v = eval_int(message_value(row_msg, air.challenges), env)
            if v == 0:
                raise ZeroDivisionError(f"boundary message {m.label!r} of bus {bus.name} is 0 under these challenges")
            values[bd.side].append(v)
    return values["response"], values["request"]


def _resolve_operations(air: Air, trace: Trace, unmatched: list[UnmatchedMessage]) -> list[UnmatchedMessage]:
    """A term shared by several operations ("CALL+SYSCALL") names the one active on the message's row."""
    shared = [i for i, u in enumerate(unmatched) if u.operation and "+" in u.operation and u.row >= 0]
    if not shared:
        return unmatched
    rows = np.array([unmatched[i].row for i in shared], dtype=np.int64)
    active = active_operations(air, trace, rows)
    out = list(unmatched)
    for i, op in zip(shared, active):
        if op and op in unmatched[i].operation.split("+"):  # type: ignore[union-attr]
            out[i] = replace(unmatched[i], operation=op)
    return out


def _row_hash(keys: np.ndarray) -> np.ndarray:
    """A 64-bit hash of every row (xor-multiply-shift per column, wrapping): for grouping only. ``h_0 =
    0x9E3779B97F4A7C15``; per word ``h = (h ^ k_j) * 0xBF58476D1CE4E5B9 mod 2^64``, ``h ^= h >> 31`` (a compiled
    loop computes the same words for a long matrix: ``air.kernels.row_hash``)."""
    fast = K.row_hash(keys) if keys.ndim == 2 else None
    if fast is not None:
        return fast
    return _row_hash_np(keys)


def _row_hash_np(keys: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = np.full(len(keys), 0x9E3779B97F4A7C15, dtype=np.uint64)
        for j in range(keys.shape[1]):
            h = (h ^ keys[:, j]) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
    return h


def _hash_order(hashes: np.ndarray, keys: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """The permutation that sorts distinct rows (``keys``, or its rows ``at``) by their hash, rows of equal hash
    (a 64-bit collision) by their words lexicographically: one total order, whichever way they were grouped."""
    order = np.argsort(hashes)  # not stable: equal hashes are put in order below
    s = hashes[order]
    if len(s) > 1 and bool((s[1:] == s[:-1]).any()):
        rows = keys if at is None else np.take(keys, at, axis=0)
        order = np.lexsort((*rows.T[::-1], hashes))  # lexsort's last key is the primary one
    return order


def _ranks(order: np.ndarray) -> np.ndarray:
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


def _group_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``keys`` and, for each row, the index of its distinct row -- like
    ``np.unique(keys, axis=0, return_inverse=True)`` but in another order: by the rows' 64-bit ``_row_hash``,
    rows of equal hash lexicographically (``_hash_order``). Compiled (``air.kernels.group_rows``): one pass over
    an exact hash table, then a sort of the distinct rows' hashes only. numpy (the reference): ``np.unique`` of
    the hashes, every row compared with its group's first row; a collision falls back to the exact row sort."""
    h = _row_hash(keys)
    fast = K.group_rows(keys, h) if keys.ndim == 2 else None
    if fast is not None:
        rep, inv = fast
        order = _hash_order(h[rep], keys, rep)
        return np.take(keys, rep[order], axis=0), _ranks(order)[inv]  # take: 3x a fancy index of rows
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not (keys == keys[first[inv]]).all():
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        order = _hash_order(_row_hash(uniq), uniq)
        return uniq[order], _ranks(order)[inv.reshape(-1)]
    return keys[first], inv


def _sum_by_group(inv: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    """``out[g] = sum of weights[i] over inv[i] == g`` in int64, exactly: np.bincount sums in float64, so the
    weights go in as 24-bit low halves (>= 0) and the rest (two's complement shift), each sum < 2^53 for fewer
    than 2^29 rows of weights below 2^32 in absolute value."""
    w = np.asarray(weights, dtype=np.int64)
    lo = np.bincount(inv, weights=w & 0xFFFFFF, minlength=n_groups)
    hi = np.bincount(inv, weights=w >> 24, minlength=n_groups)
    return lo.astype(np.int64) + (hi.astype(np.int64) << 24)


def _group_sums(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``keys`` (in ``_group_rows``'s order) and the sum of each one's int64 weights."""
    uniq, inv = _group_rows(keys)
    return uniq, _sum_by_group(inv, weights, len(uniq))


def _net_counts(keys: np.ndarray, weights: np.ndarray, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``keys`` whose int64 weights (e.g. +count for a request, -count for a response) do not
    sum to 0, and those sums: in ``_group_rows``'s order, or (``ordered=False``, for a partial result merged
    again later) in any order the grouping gives. Compiled: one pass of the hash table summing per group; only
    the rows left (the unmatched messages) are sorted, and only when ``ordered``."""
    h = _row_hash(keys)
    fast = K.group_net(keys, h, weights) if keys.ndim == 2 else None
    if fast is not None:
        rep, net = fast
        keep = np.flatnonzero(net != 0)
        rep, net = rep[keep], net[keep]
        if ordered:
            order = _hash_order(h[rep], keys, rep)
            rep, net = rep[order], net[order]
        return np.take(keys, rep, axis=0), net
    uniq, net = _group_sums(keys, weights)
    keep = net != 0
    return uniq[keep], net[keep]


def _label_sums(codes: np.ndarray, lengths: list[int], weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per block of consecutive rows (``lengths``) and label code (``codes``, key column 0): the sum of the
    rows' weights, as arrays (block, code, sum) ordered by block then code -- what a loop over each block's
    ``np.unique(codes)`` gives, in one grouping."""
    fast = K.label_sums(codes, lengths, weights)  # one pass, each block's few codes scanned per row
    if fast is not None:
        seg, code, sums = fast
    else:
        at = np.repeat(np.arange(len(lengths), dtype=np.uint64), lengths)
        pairs, sums = _group_sums(np.stack([at, np.asarray(codes, dtype=np.uint64)], axis=1), weights)
        seg, code = pairs[:, 0].astype(np.int64), pairs[:, 1]
    order = np.lexsort((code, seg))
    return seg[order], code[order], sums[order]


def _unmatched(bus: Bus, keys: dict, meta: dict, width: int) -> list[UnmatchedMessage]:
    """Messages of one side without a partner on the other (all keys grouped, counted per side). A side
    with no message at all (e.g. only responses on a short trace) is an empty block of the same width."""
    req = np.concatenate(keys["request"]) if keys["request"] else np.zeros((0, width), dtype=np.uint64)
    resp = np.concatenate(keys["response"]) if keys["response"] else np.zeros((0, width), dtype=np.uint64)
    if len(req) + len(resp) == 0:
        return []
    allk = np.concatenate([req, resp])
    uniq, inv = _group_rows(allk)
    c_req = np.bincount(inv[: len(req)], minlength=len(uniq))
    c_resp = np.bincount(inv[len(req) :], minlength=len(uniq))
    out: list[UnmatchedMessage] = []
    for side, excess, offset in (("request", c_req - c_resp, 0), ("response", c_resp - c_req, len(req))):
        bad = np.flatnonzero(excess > 0)
        if len(bad) == 0:
            continue
        side_inv = inv[offset : offset + (len(req) if side == "request" else len(resp))]
        # each key occurrence's segment (one per term and message) and row, as arrays
        segs = meta[side]
        reps = [w.astype(np.int64) for _, w, *_ in segs]
        seg_of = np.repeat(np.arange(len(segs)), [int(r.sum()) for r in reps])
        row_arr = np.concatenate([np.repeat(sel, r) for (sel, *_), r in zip(segs, reps)])
        first = np.full(len(uniq), -1, dtype=np.int64)  # the first occurrence of every distinct key
        present, at = np.unique(side_inv, return_index=True)
        first[present] = at
        at_first = first[bad]  # gathered as arrays, turned into Python values once
        for key, seg, row, count in zip(
            uniq[bad].tolist(), seg_of[at_first].tolist(), row_arr[at_first].tolist(), excess[bad].tolist()
        ):
            _, _, label, names, op, term = segs[seg]
            fields = tuple(zip(names, key[1 : 1 + len(names)]))
            out.append(UnmatchedMessage(bus.name, side, label, fields, row, op, count, key[0], term))
    out.sort(key=lambda m: m.row)
    return out


def _running_product(resp: np.ndarray, req: np.ndarray, initial: int) -> np.ndarray:
    """The multiset accumulator ``b[0] = initial``, ``b[i+1] = b[i] * resp[i] / req[i]``, with one
    inversion in all (Montgomery's trick): ``prod_{j<=i} req_j`` inverted is ``(prod_j req_j)^-1 *
    prod_{j>i} req_j``, a suffix product."""
    zeros = np.flatnonzero(req == 0)  # a product of field elements is 0 exactly when a factor is
    fast = None if len(zeros) else K.running_product(resp, req, initial % F.P)  # the same in two compiled loops
    if fast is not None:
        return fast
    backward = _scan(req[::-1].copy(), F.mul, 1)[::-1]  # backward[i] = prod_{j>=i} req_j
    total = int(backward[0]) if len(req) else 1
    if total == 0:
        rows = zeros
        raise ZeroDivisionError(
            f"the requests of a bus evaluate to 0 on row {int(rows[0])}: no running product exists there "
            "(a message equal to 0 under these challenges: choose another --seed)"
        )
    suffix = np.ones(len(req), dtype=np.uint64)  # prod_{j>i} req_j
    suffix[:-1] = backward[1:]
    scale = np.array(initial % F.P * F.inv(total) % F.P, dtype=np.uint64)
    out = np.empty(len(req) + 1, dtype=np.uint64)
    out[0] = initial % F.P
    out[1:] = F.mul(F.mul(_scan(resp, F.mul, 1), suffix), scale)
    return out


def _const(e: object, trace: Trace) -> int:
    e = sp.sympify(e)
    if e.is_Number:
        return int(e) % F.P
    name = str(e)
    if name not in trace.public_inputs:
        raise TraceError(f"{trace.source}: public input {name!r} (a bus boundary) is missing")
    return int(trace.public_inputs[name])


def check_buses(air: Air, trace: Trace, challenges: list[int] | None = None, seed: int = 0) -> BusReport:
    """Balance every bus of ``air`` on ``trace``."""
    values = challenges if challenges is not None else challenges_from_seed(air, seed)
    scal = _bind(air, values)
    return BusReport([_check_bus(air, b, trace, scal) for b in air.buses], list(values))
