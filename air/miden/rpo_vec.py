"""RPO-256 permutations of many states at once, on numpy uint64 arrays (the same permutation as ``rpo``).

``rpo.py`` is the checked reference (pinned to the published vectors in tests/test_rpo.py); this module computes
the same rounds (miden-crypto rescue/rpo/mod.rs, constants and MDS from ``rpo``) over an (N, 12) array of states,
so that building the hasher rows of many distinct hashes costs numpy operations over whole columns instead of a
Python loop per state. Per round: ``x <- MDS·x + ARK1[r]``, ``x <- x^7``, ``x <- MDS·x + ARK2[r]``,
``x <- x^(1/7)`` (``x^INV_ALPHA``).

Field arithmetic: ``air.field`` (32-bit limbs). The MDS product uses that its entries are below 2^5: with
x = 2^32 h + l (h, l < 2^32), ``sum_j M_ij l_j`` and ``sum_j M_ij h_j`` are below 12·26·2^32 < 2^41, exact in
uint64 (one integer matrix product each), and ``2^32 H + L`` is reduced with 2^64 = 2^32 - 1 (mod p).
"""

from __future__ import annotations

import numpy as np

from air import field as F
from air.miden import rpo

__all__ = ["permute_many", "permute_trace_many"]

_U = np.uint64
_M32 = _U(0xFFFFFFFF)
_MDS_T = np.array(rpo.MDS, dtype=np.uint64).T  # x @ _MDS_T = (MDS · x^T)^T
_ARK1 = np.array(rpo.ARK1, dtype=np.uint64)
_ARK2 = np.array(rpo.ARK2, dtype=np.uint64)
_P = _U(rpo.P)


def _mds(x: np.ndarray) -> np.ndarray:
    """MDS · x for every row of x (N, 12), canonical in, canonical out."""
    lo = (x & _M32) @ _MDS_T  # < 2^41
    hi = (x >> _U(32)) @ _MDS_T  # < 2^41
    # 2^32 hi = 2^64 a1 + 2^32 a0 with hi = 2^32 a1 + a0 (a1 < 2^9): = a1 (2^32 - 1) + 2^32 a0 (mod p)
    a1 = hi >> _U(32)
    t = (hi & _M32) << _U(32)  # < 2^64, maybe >= p
    t = np.where(t >= _P, t - _P, t)
    small = a1 * _M32 + lo  # < 2^42: canonical
    return F.add(t, small)


def _sbox(x: np.ndarray) -> np.ndarray:
    """x^7 = x^4 · x^2 · x."""
    x2 = F.mul(x, x)
    x4 = F.mul(x2, x2)
    return F.mul(F.mul(x4, x2), x)


def _square_times(x: np.ndarray, k: int, y: np.ndarray) -> np.ndarray:
    """x^(2^k) · y."""
    for _ in range(k):
        x = F.mul(x, x)
    return F.mul(x, y)


def _inv_sbox(x: np.ndarray) -> np.ndarray:
    """x^(1/7) = x^INV_ALPHA by an addition chain (63 squarings, 9 multiplications, against 95 operations for
    square and multiply). INV_ALPHA in binary is (100)^10 followed by 0110110...110111: with exponents
    e36 = 0b100100 = 4·2^3 + 4, e_k+1 built by shifting and adding, the chain below gives
    ((e61 · 2 + e30) · 4) + 4 + 2 + 1 = INV_ALPHA (checked against rpo in tests/test_rpo_vec.py)."""
    x2 = F.mul(x, x)
    x4 = F.mul(x2, x2)
    t3 = _square_times(x4, 3, x4)  # 0b100100
    t4 = _square_times(t3, 6, t3)  # (100)^4
    t5 = _square_times(t4, 12, t4)  # (100)^8
    t6 = _square_times(t5, 6, t3)  # (100)^10
    t7 = _square_times(t6, 31, t6)  # (100)^10 0 (100)^10
    a = F.mul(F.mul(t7, t7), t6)
    a = F.mul(a, a)
    a = F.mul(a, a)
    return F.mul(a, F.mul(F.mul(x4, x2), x))


def permute_trace_many(states: np.ndarray) -> np.ndarray:
    """(N, 12) canonical states -> (N, 8, 12): the input and the state after each of the 7 rounds, as
    ``rpo.permute_trace`` gives them for one state (the 8 rows of a hasher cycle)."""
    x = np.ascontiguousarray(states, dtype=np.uint64).reshape(-1, rpo.STATE_WIDTH)
    if (x >= _P).any():
        raise ValueError("RPO states must be canonical field elements (< p)")
    out = np.empty((len(x), rpo.NUM_ROUNDS + 1, rpo.STATE_WIDTH), dtype=np.uint64)
    out[:, 0] = x
    with np.errstate(over="ignore"):
        for r in range(rpo.NUM_ROUNDS):
            x = _sbox(F.add(_mds(x), _ARK1[r]))
            x = _inv_sbox(F.add(_mds(x), _ARK2[r]))
            out[:, r + 1] = x
    return out


def permute_many(states: np.ndarray) -> np.ndarray:
    """(N, 12) -> (N, 12): the permutation of every state."""
    return permute_trace_many(states)[:, -1]
