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

from dataclasses import replace

import numpy as np
import sympy as sp

from air import field as F
from air import kernels as K
from air.air import Air, Bus, message_value
from air.bus import numerator, term_value
from air.bus_keys import (  # noqa: F401 - re-exported: the single pass's names, kept for their callers
    Decoded,
    Segment,
    _batch_inverse,
    _group_rows,
    _group_sums,
    _hash_order,
    _label_sums,
    _net_counts,
    _ranks,
    _row_hash,
    _row_hash_np,
    _sum_by_group,
    add_boundary_keys,
    bus_width,
    decode_bus,
    message_names,
    table_rows,
)
from air.bus_report import BusReport, BusResult, NearMiss, UnmatchedMessage, near_misses  # noqa: F401
from air.compile import eval_int, program
from air.evaluate import _column_env, active_operations
from air.plan import bind_challenges, draw_challenges, end_value
from air.trace import Trace

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


def challenges_from_seed(air: Air, seed: int) -> list[int]:
    return draw_challenges(len(air.challenges), seed)


def _bind(air: Air, values: list[int]) -> dict[str, np.ndarray]:
    return bind_challenges([c.name for c in air.challenges], values)


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
        side = sg.side  # the term's side, or the other one for a LogUp count below 0 (bus_keys.signed_counts)
        keys[side].append(np.repeat(sg.key, sg.reps, axis=0))
        meta[side].append((sg.sel, sg.reps, msg.label, message_names(msg), t.operation, t.name))
        # totals per numeric label (requests and responses of one label name it differently)
        for code in np.unique(sg.key[:, 0]):
            name = label_names.setdefault(int(code), msg.label if side == "request" else "")
            if not name and side == "request":
                label_names[int(code)] = msg.label
            tot = totals.setdefault(int(code), {"request": 0, "response": 0})
            tot[side] += int(sg.reps[sg.key[:, 0] == code].sum())
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
            rows = table_rows(trace, bus.name, bd.table, air.public_tables[bd.table][0])
        else:
            rows = [tuple(_const(e, trace) for _, e in m.fields)]
        if not rows:
            continue
        add_boundary_keys(bd.side, m, rows, width, keys, meta, totals, label_names)
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
    return end_value(("int", int(e)) if e.is_Number else ("public", str(e)), trace, 0)


def check_buses(air: Air, trace: Trace, challenges: list[int] | None = None, seed: int = 0) -> BusReport:
    """Balance every bus of ``air`` on ``trace``."""
    values = challenges if challenges is not None else challenges_from_seed(air, seed)
    scal = _bind(air, values)
    return BusReport([_check_bus(air, b, trace, scal) for b in air.buses], list(values))
