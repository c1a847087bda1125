"""A bus's messages as keys, and their grouping, with no sympy: ``decode_bus`` turns a run of rows into message
keys (label code, then the fields, zero-padded to the bus's width) and the per-row values of the bus polynomial's
sides; ``_net_counts`` / ``_label_sums`` / ``_group_rows`` group keys exactly (a 64-bit hash per row, every group
verified word by word; compiled in ``air.kernels``, numpy as the reference). The single pass (``air.buscheck``)
and every chunk of ``air.chunked`` run these same functions. A bus here is anything with ``kind`` and ``terms``
(each with ``side`` and ``messages``, each with ``fields`` (name, ...) and ``label_value``): an ``air.air.Bus``, or
the data-only shape a cached check plan keeps (``air.chunked``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from air import field as F
from air import kernels as K

if TYPE_CHECKING:
    from air.air import Bus

__all__ = ["Segment", "Decoded", "bus_width", "decode_bus", "message_names", "signed_counts"]


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


def signed_counts(v: np.ndarray) -> np.ndarray:
    """LogUp multiplicities as signed counts (int64): a field element above (p - 1)/2 is ``-(p - v)``. A response of
    multiplicity -k is a request of k (``b' - b = sum m/d`` is the same sum), as Miden's ACE wiring bus writes its
    reads (``-f_eval``); bounds on counts apply to the magnitude."""
    v = np.asarray(v, dtype=np.uint64)
    neg = v > np.uint64(F.P // 2)
    out = v.astype(np.int64, copy=True)  # values <= (p - 1)/2 < 2^63
    out[neg] = -(np.uint64(F.P) - v[neg]).astype(np.int64)
    return out


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
        # a LogUp multiplicity is a field element: a negative count -k (signed_counts) is k messages on the other
        # side; a message whose multiplicity is no small count either way (e.g. a flag made non-binary by a
        # tampered op bit) is listed once among the messages to match
        counts = signed_counts(weights) if bus.kind == "logup" else np.ones(len(sel), dtype=np.int64)
        reps = np.where(np.abs(counts) < 2**32, np.abs(counts), 1).astype(np.int64)
        flipped = counts < 0
        other = "request" if t.side == "response" else "response"
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
            if flipped.any():  # the rows of negative counts, as messages of the other side
                segs.append(Segment(ti, mi, t.side, key[~flipped], sel[~flipped], reps[~flipped]))
                segs.append(Segment(ti, mi, other, key[flipped], sel[flipped], reps[flipped]))
            else:
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


def table_rows(trace: Any, bus: str, table: str, width: int) -> list:
    """The rows of public table ``table`` (a bus boundary's messages), each ``width`` values (``TraceError``
    otherwise, or when the trace lacks the table)."""
    from air.trace import TraceError

    rows = trace.public_tables.get(table)
    if rows is None:
        raise TraceError(f"{trace.source}: public table {table!r} (bus {bus} boundary) is missing")
    if any(len(r) != width for r in rows):
        raise TraceError(f"{trace.source}: public table {table!r} needs {width} values per row")
    return rows


def add_boundary_keys(
    side: str, m: Any, rows: list, width: int, keys: dict, meta: dict, totals: dict, label_names: dict
) -> None:
    """A bus boundary message's ``rows`` (one tuple of field values each) as keys on ``side`` at row -1, matched
    like any message, with their meta (label, field names), label name and count (``m``: a message, with
    ``label``, ``label_value`` and ``fields`` (name, ...))."""
    key = np.zeros((len(rows), width), dtype=np.uint64)
    key[:, 0] = m.label_value or 0
    key[:, 1 : 1 + len(m.fields)] = np.array(rows, dtype=np.uint64).reshape(len(rows), len(m.fields))
    keys[side].append(key)
    sel = np.full(len(rows), -1, dtype=np.int64)
    names = tuple(n for n, _ in m.fields)
    meta[side].append((sel, np.ones(len(rows), dtype=np.uint64), m.label, names, None, ""))
    code = int(m.label_value or 0)
    label_names.setdefault(code, m.label)
    totals.setdefault(code, {"request": 0, "response": 0})[side] += len(rows)
