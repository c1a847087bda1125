"""The numba-compiled loops that group bus message keys (imported only through ``air.kernels``, which sets the
cache directory first and falls back to numpy when numba is missing or ``AIR_NO_NUMBA`` is set).

A key is one row of an (n x w) uint64 matrix. ``row_hash`` is ``air.buscheck._row_hash`` (the reference) in one
loop: ``h_0 = 0x9E3779B97F4A7C15``, per word ``h = (h ^ k_j) * 0xBF58476D1CE4E5B9 mod 2^64; h ^= h >> 31``.
Grouping is two O(n) passes, no sort: ``group_hash`` gives every row the id of its hash in an open-addressing
table (linear probing; a slot holds the hash and its group id + 1, 0 = empty; the caller sizes it at n slots,
enough for n/2 distinct keys, and it doubles, rehashing from the stored hashes, when half full), then
``same_rows`` compares every row with its group's first row, all w words, branch-free (the rows' loads are
independent, so the cache misses overlap: 2.5x faster than comparing inside the probe loop, measured at 2^20
keys of width 16). Only when two distinct rows share a 64-bit hash does ``group`` (a slot is the same key only
when the hashes are equal and all w words are) group them again, exactly. ``sum_by`` then sums int64 weights
per group; ``label_sums`` sums them per block of rows and label code (a block's few codes scanned per row).

Every constant is ``np.uint64`` (numba promotes uint64 mixed with an int literal to float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit

H0 = np.uint64(0x9E3779B97F4A7C15)
MIX = np.uint64(0xBF58476D1CE4E5B9)
FIB = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: the slot is the top bits of h * FIB
S31 = np.uint64(31)
U0 = np.uint64(0)
U1 = np.uint64(1)
MIN_BITS = 10


@njit(cache=True, nogil=True)
def row_hash(keys: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` = the 64-bit hash of row i of ``keys`` (the same words as ``buscheck._row_hash``)."""
    n, w = keys.shape
    for i in range(n):
        h = H0
        for j in range(w):
            h = (h ^ keys[i, j]) * MIX
            h ^= h >> S31
        out[i] = h


@njit(cache=True, nogil=True)
def _new_table(bits: int) -> np.ndarray:
    return np.zeros((1 << bits, 2), dtype=np.uint64)


@njit(cache=True, nogil=True)
def _grow(table: np.ndarray, bits: int) -> np.ndarray:
    """The table rehashed into twice the slots (from the stored hashes: no key is read)."""
    new = _new_table(bits)
    mask = np.uint64((1 << bits) - 1)
    shift = np.uint64(64 - bits)
    for s in range(table.shape[0]):
        if table[s, 1] != U0:
            h = table[s, 0]
            t = (h * FIB) >> shift
            while new[t, 1] != U0:
                t = (t + U1) & mask
            new[t, 0] = h
            new[t, 1] = table[s, 1]
    return new


@njit(inline="always", cache=True)
def _probe(table: np.ndarray, bits: int, keys: np.ndarray, hashes: np.ndarray, rep: np.ndarray, i: int):
    """The slot of row i's key: (slot, group id), or (the empty slot where it goes, -1)."""
    h = hashes[i]
    mask = np.uint64((1 << bits) - 1)
    s = (h * FIB) >> np.uint64(64 - bits)
    w = keys.shape[1]
    while True:
        tg = table[s, 1]
        if tg == U0:
            return s, -1
        if table[s, 0] == h:
            r = rep[np.int64(tg) - 1]
            same = True
            for j in range(w):
                if keys[r, j] != keys[i, j]:
                    same = False
                    break
            if same:
                return s, np.int64(tg) - 1
        s = (s + U1) & mask


@njit(cache=True, nogil=True)
def group(keys: np.ndarray, hashes: np.ndarray, rep: np.ndarray, inv: np.ndarray) -> int:
    """Groups the rows of ``keys`` (``hashes`` = their ``row_hash``): returns g, the number of distinct rows;
    ``rep[:g]`` is each group's first row (groups numbered by first appearance) and ``inv[i]`` row i's group."""
    n = keys.shape[0]
    bits = MIN_BITS
    table = _new_table(bits)
    g = 0
    for i in range(n):
        s, gid = _probe(table, bits, keys, hashes, rep, i)
        if gid < 0:
            table[s, 0] = hashes[i]
            table[s, 1] = np.uint64(g + 1)
            rep[g] = i
            gid = g
            g += 1
            if 2 * g > (1 << bits):
                bits += 1
                table = _grow(table, bits)
        inv[i] = gid
    return g


@njit(cache=True, nogil=True)
def group_hash(hashes: np.ndarray, rep: np.ndarray, inv: np.ndarray, bits: int) -> int:
    """As ``group`` but by hash alone (rows of equal hash are one group): ``2^bits`` slots to start with."""
    n = hashes.shape[0]
    table = _new_table(bits)
    mask = np.uint64((1 << bits) - 1)
    shift = np.uint64(64 - bits)
    g = 0
    for i in range(n):
        h = hashes[i]
        s = (h * FIB) >> shift
        while True:
            tg = table[s, 1]
            if tg == U0:
                table[s, 0] = h
                table[s, 1] = np.uint64(g + 1)
                rep[g] = i
                inv[i] = g
                g += 1
                if 2 * g > (1 << bits):
                    bits += 1
                    table = _grow(table, bits)
                    mask = np.uint64((1 << bits) - 1)
                    shift = np.uint64(64 - bits)
                break
            if table[s, 0] == h:
                inv[i] = np.int64(tg) - 1
                break
            s = (s + U1) & mask
    return g


@njit(cache=True, nogil=True)
def same_rows(keys: np.ndarray, rep: np.ndarray, inv: np.ndarray) -> bool:
    """Whether every row of ``keys`` equals its group's first row ``keys[rep[inv[i]]]`` (all words)."""
    n, w = keys.shape
    acc = U0
    for i in range(n):
        r = rep[inv[i]]
        for j in range(w):
            acc |= keys[r, j] ^ keys[i, j]
    return acc == U0


@njit(cache=True, nogil=True)
def sum_by(inv: np.ndarray, weights: np.ndarray, net: np.ndarray) -> None:
    """``net[g]`` = the sum of ``weights[i]`` over the rows i of group g (``net`` zeroed by the caller)."""
    for i in range(inv.shape[0]):
        net[inv[i]] += weights[i]


@njit(cache=True, nogil=True)
def label_sums(
    codes: np.ndarray,
    bounds: np.ndarray,
    weights: np.ndarray,
    cap: int,
    seg: np.ndarray,
    code: np.ndarray,
    tot: np.ndarray,
) -> int:
    """Per block ``b`` of rows ``bounds[b] .. bounds[b+1]-1`` and distinct value of ``codes`` in it: the sum of the
    rows' ``weights``, written as (``seg``, ``code``, ``tot``) entries in order of first appearance within each
    block; returns their number, or -1 when a block holds more than ``cap`` distinct codes (a label is one of a
    few codes: each row scans its block's codes so far)."""
    k = 0
    for b in range(bounds.shape[0] - 1):
        start = k
        for i in range(bounds[b], bounds[b + 1]):
            c = codes[i]
            found = -1
            for j in range(start, k):
                if code[j] == c:
                    found = j
                    break
            if found < 0:
                if k - start >= cap:
                    return -1
                seg[k] = b
                code[k] = c
                tot[k] = weights[i]
                k += 1
            else:
                tot[found] += weights[i]
    return k
