"""Goldilocks arithmetic, p = 2^64 - 2^32 + 1, on numpy uint64 arrays (and Python ints).

p does not fit in int64, so values live in uint64 and every operation is written with wrapping
uint64 arithmetic and explicit carries:

* add: s = a + b (wrapping); subtract p when the sum carried (s < a) or s >= p.
* sub: d = a - b (wrapping); add p back when a < b.
* mul: 32-bit limbs give four partial products; the 128-bit product hi*2^64 + lo is reduced with
  2^64 = 2^32 - 1 (mod p) and 2^96 = -1 (mod p):  x = lo - hi_hi + hi_lo * (2^32 - 1).

Masks are turned into uint64 with ``astype`` before being mixed with uint64 data (mixed bool/uint64
ufuncs take a slow casting path, /work/shared/reference/perf-deps.md section 2).
"""

from __future__ import annotations

import numpy as np

import air.kernels as _K

__all__ = ["P", "EPS", "add", "sub", "neg", "mul", "to_field", "from_int", "inv", "is_canonical", "format_value"]

P: int = 2**64 - 2**32 + 1
EPS: int = 2**32 - 1  # 2^64 mod p
_P = np.uint64(P)
_EPS = np.uint64(EPS)
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_SMALL_CHECK = 256  # arrays at least this long get the small-operand fast path of mul


def from_int(v: int) -> int:
    """The canonical representative of an integer (negative ints and rationals' numerators)."""
    return int(v) % P


def inv(v: int) -> int:
    """Multiplicative inverse of a nonzero field element (Python int)."""
    v = int(v) % P
    if v == 0:
        raise ZeroDivisionError("0 has no inverse in the Goldilocks field")
    return pow(v, P - 2, P)


def to_field(values: object) -> np.ndarray:
    """An array of canonical uint64 field elements from Python ints (any sign)."""
    return np.array([int(v) % P for v in np.ravel(np.asarray(values, dtype=object))], dtype=np.uint64)


def is_canonical(a: np.ndarray) -> bool:
    return bool((a < _P).all())


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r = _K.binary("add", a, b)  # a compiled loop on long columns (air.kernels), else numpy below
    if r is not None:
        return r
    with np.errstate(over="ignore"):  # wrapping is intended (0-d operands would warn)
        return _add(a, b)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = a + b
    c = ((s < a) | (s >= _P)).astype(np.uint64)
    s -= c * _P  # wraps: (a + b - 2^64) - (p - 2^64) when the sum carried
    return s


def sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r = _K.binary("sub", a, b)
    if r is not None:
        return r
    with np.errstate(over="ignore"):
        return _sub(a, b)


def _sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    d += (a < b).astype(np.uint64) * _P
    return d


def neg(a: np.ndarray) -> np.ndarray:
    z = np.zeros_like(a)
    return sub(z, a)


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r = _K.binary("mul", a, b)
    if r is not None:
        return r
    with np.errstate(over="ignore"):
        return _mul(a, b)


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    if max(a.size, b.size) >= _SMALL_CHECK and a.max(initial=0) <= _M32 and b.max(initial=0) <= _M32:
        # both below 2^32 (bits, flags, counters, limbs): the product is at most (2^32 - 1)^2
        # = 2^64 - 2^33 + 1 < p, so it is already canonical
        return a * b
    a_lo = a & _M32
    a_hi = a >> _S32
    b_lo = b & _M32
    b_hi = b >> _S32
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    mid = lh + hl
    mid_carry = (mid < lh).astype(np.uint64)  # weight 2^96
    mid_lo = mid << _S32
    lo = ll + mid_lo
    lo_carry = (lo < ll).astype(np.uint64)
    hi = hh + (mid >> _S32) + lo_carry
    # The mid carry has weight 2^96 = 2^32 * 2^64: it is bit 32 of hi. hi cannot overflow since the
    # full product is below 2^128.
    hi = hi + (mid_carry << _S32)
    hi_hi = hi >> _S32
    hi_lo = hi & _M32
    # x = lo + hi_lo * 2^64 + hi_hi * 2^96 = lo + hi_lo * EPS - hi_hi   (mod p)
    t0 = lo - hi_hi
    borrow = (lo < hi_hi).astype(np.uint64)
    t0 -= borrow * _EPS  # on borrow we added 2^64 = EPS (mod p): take it back
    t1 = hi_lo * _EPS  # < 2^64
    t2 = t0 + t1
    carry = (t2 < t0).astype(np.uint64)
    t2 += carry * _EPS  # a carry dropped 2^64 = EPS (mod p): add it back (cannot carry again)
    t2 -= (t2 >= _P).astype(np.uint64) * _P
    return t2


def power(a: np.ndarray, e: int) -> np.ndarray:
    """``a ** e`` elementwise (square and multiply over whole arrays)."""
    a = np.asarray(a, dtype=np.uint64)
    out = np.ones_like(a)
    base = a.copy()
    while e:
        if e & 1:
            out = mul(out, base)
        e >>= 1
        if e:
            base = mul(base, base)
    return out


def inv_array(a: np.ndarray) -> np.ndarray:
    """Elementwise inverses ``a^(p-2)`` of nonzero field elements (Fermat), vectorized."""
    a = np.asarray(a, dtype=np.uint64)
    if (a == 0).any():
        raise ZeroDivisionError("0 has no inverse in the Goldilocks field")
    if a.ndim == 1:
        r = _K.batch_inverse(a)  # Montgomery's trick in a compiled loop: 3 muls per element, one Fermat inverse
        if r is not None:
            return r
    return power(a, P - 2)


# A field element p - k with 0 < k < SMALL_NEGATIVE prints as "-k (p−k)": a difference that went below 0.
SMALL_NEGATIVE = 1 << 32


def format_value(v: int, hex: bool = False) -> str:
    """``v`` as text: ``-k (p−k)`` when ``v = p - k`` is a small negative (0 < k < 2^32), else the
    value itself (decimal, or ``0x...`` with ``hex``)."""
    show = (lambda x: f"{x:#x}") if hex else str
    k = P - v
    if 0 < k < SMALL_NEGATIVE:
        return f"-{show(k)} (p−{show(k)})"
    return show(v)
