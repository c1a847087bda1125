"""Compiled (numba) kernels for Goldilocks arithmetic over whole columns, p = 2^64 - 2^32 + 1.

The same arithmetic as ``air.field`` (which stays the reference and the fallback), one element at a time in a
compiled loop instead of whole-array numpy temporaries:

* mul: 32-bit limbs give the 128-bit product hi*2^64 + lo, reduced with 2^64 = 2^32 - 1 and 2^96 = -1 (mod p):
  ``x = lo - hi_hi + hi_lo * (2^32 - 1)``, each wrap corrected by +-(2^32 - 1);
* add: ``s = a + b`` (wrapping), minus p when it carried or ``s >= p``; sub: ``a - b``, plus p when ``a < b``;
* prefix scans (products, sums) as one sequential loop; the multiset running product and batch inversion with
  Montgomery's trick (one Fermat inverse ``x^(p-2)`` for the whole column).

numba is imported lazily, on the first column long enough to gain from it (``MIN_SIZE``): a small trace or a
command that does no arithmetic never pays its import (0.2-0.4 s) or its first dispatch. ``AIR_NO_NUMBA=1``
(or numba failing to import or compile) keeps the numpy path. The compiled code is cached on disk
(``cache=True``) in ``NUMBA_CACHE_DIR``, set to ``~/.cache/air/numba`` when unset, since the ``__pycache__`` next
to an installed package may be read-only.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

__all__ = [
    "MIN_SIZE",
    "enabled",
    "load",
    "load_for",
    "loaded",
    "run_tape",
    "binary",
    "scan_mul",
    "scan_add",
    "running_product",
    "batch_inverse",
]

MIN_SIZE = 1 << 14  # columns shorter than this stay on numpy (the call overhead and the import would dominate)
SMALL_SIZE = 64  # once the kernels are loaded, the tape interpreter runs programs down to this many rows

_STATE: dict[str, Any] = {"kernels": None, "tried": False}
_LOCK = threading.Lock()  # load() may run on a warm-up thread (air check) while the main thread asks for it


def enabled() -> bool:
    """Whether the compiled kernels are in use (numba imported and working, ``AIR_NO_NUMBA`` unset)."""
    return load() is not None


def load() -> SimpleNamespace | None:
    """The compiled kernels (compiling or loading them from the cache on first use), or None for numpy."""
    if _STATE["tried"]:
        return _STATE["kernels"]
    with _LOCK:
        if not _STATE["tried"]:
            _STATE["kernels"] = _load()
            _STATE["tried"] = True
    return _STATE["kernels"]


def _load() -> SimpleNamespace | None:
    if os.environ.get("AIR_NO_NUMBA", "") not in ("", "0"):
        return None
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(Path.home() / ".cache" / "air" / "numba")
        numba = sys.modules.get("numba")  # imported already (by galois, say): its config has read the environment
        if numba is not None and not getattr(numba.config, "CACHE_DIR", ""):
            numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    try:
        import air._numba_kernels as k

        one = np.ones(2, dtype=np.uint64)
        k.mul_vv(one, one, np.empty(2, dtype=np.uint64))  # first dispatch: fails here if numba cannot compile
    except Exception:  # no numba, an incompatible numpy, an unwritable cache: the numpy path is the fallback
        return None
    return k


def loaded() -> SimpleNamespace | None:
    """The kernels if they are loaded already (never loads them)."""
    return _STATE["kernels"]


def load_for(size: int) -> SimpleNamespace | None:
    """The kernels for work on columns of ``size`` rows: loaded for a long column, used (once loaded) down to
    ``SMALL_SIZE``, else None."""
    if size >= MIN_SIZE:
        return load()
    return _STATE["kernels"] if size >= SMALL_SIZE else None


def run_tape(
    program: tuple,
    rows: tuple,
    span: tuple[int, int, int],
    regs: np.ndarray,
    dense: bool,
    out: np.ndarray,
    entries: tuple,
) -> int:
    """``air.compile.Tape``'s interpreter (the caller got the kernels from ``load_for``), its arguments grouped:
    ``program = (ops, ops_bin, bits, luts, tables, pats)``, ``rows = (slot_row, slot_shift, slot_val, mat, sel,
    row0)``, ``span = (first, n, base)``, ``entries = (off, cap, cnt, idx, val)`` (sparse outputs); see
    ``air._numba_kernels.run_tape``. -1 when done, else the row to resume from after growing the buffers."""
    k = load()
    assert k is not None
    return int(k.run_tape(*program, *rows, *span, regs, dense, out, *entries))


def _reset(disable: bool = False) -> None:
    """Forget the kernels (tests): the next ``load`` tries again, or (``disable``) never loads them."""
    _STATE["kernels"] = None
    _STATE["tried"] = disable


def _is_u64(a: object) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == np.uint64


def binary(op: str, a: np.ndarray, b: np.ndarray, min_size: int | None = None) -> np.ndarray | None:
    """``a op b`` (op in mul/add/sub) by a compiled kernel, or None when numpy should do it: the kernels are
    off, an operand is not uint64, the shapes need more than a scalar broadcast, or the column is short."""
    if isinstance(a, np.uint64):  # a numpy scalar (``np.uint64(1)``) is a 0-d operand
        a = np.asarray(a)
    if isinstance(b, np.uint64):
        b = np.asarray(b)
    if not (_is_u64(a) and _is_u64(b)):
        return None
    size = max(a.size, b.size)
    if size < (MIN_SIZE if min_size is None else min_size):
        return None
    if a.shape != b.shape and a.ndim != 0 and b.ndim != 0:
        return None
    k = load()
    if k is None:
        return None
    if a.ndim == 0 and b.ndim == 0:
        return None
    shape = a.shape if a.ndim else b.shape
    out = np.empty(size, dtype=np.uint64)
    if a.ndim and b.ndim:
        getattr(k, f"{op}_vv")(_flat(a), _flat(b), out)
    elif b.ndim == 0:
        getattr(k, f"{op}_vs")(_flat(a), np.uint64(b), out)
    elif op == "sub":
        k.sub_sv(np.uint64(a), _flat(b), out)
    else:  # mul and add commute
        getattr(k, f"{op}_vs")(_flat(b), np.uint64(a), out)
    return out.reshape(shape)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def scan_mul(x: np.ndarray) -> np.ndarray | None:
    """Inclusive prefix products of a column, or None (numpy then does it)."""
    k = load() if len(x) >= MIN_SIZE else None
    if k is None:
        return None
    out = np.empty(len(x), dtype=np.uint64)
    k.scan_mul(_flat(x), out)
    return out


def scan_add(x: np.ndarray) -> np.ndarray | None:
    """Inclusive prefix sums of a column, or None."""
    k = load() if len(x) >= MIN_SIZE else None
    if k is None:
        return None
    out = np.empty(len(x), dtype=np.uint64)
    k.scan_add(_flat(x), out)
    return out


def running_product(resp: np.ndarray, req: np.ndarray, initial: int) -> np.ndarray | None:
    """``b[0] = initial``, ``b[i+1] = b[i] * resp[i] / req[i]`` (no request is 0: the caller checks), or None."""
    k = load() if len(req) >= MIN_SIZE else None
    if k is None:
        return None
    out = np.empty(len(req) + 1, dtype=np.uint64)
    k.running_product(_flat(resp), _flat(req), np.uint64(initial), out)
    return out


def batch_inverse(x: np.ndarray) -> np.ndarray | None:
    """Inverses of nonzero field elements (the caller checks for 0), or None."""
    k = load() if len(x) >= MIN_SIZE else None
    if k is None:
        return None
    out = np.empty(len(x), dtype=np.uint64)
    k.batch_inverse(_flat(x), out)
    return out


# --- bus message keys (air._numba_bus): grouping rows of a uint64 key matrix in O(n) -----------------------

_BUS: dict[str, Any] = {"kernels": None, "tried": False}


def load_bus() -> SimpleNamespace | None:
    """The compiled key-grouping kernels (``air._numba_bus``), or None for numpy: loaded only when the field
    kernels are (same cache directory, same ``AIR_NO_NUMBA`` switch)."""
    if load() is None:
        return None
    if _BUS["tried"]:
        return _BUS["kernels"]
    with _LOCK:
        if not _BUS["tried"]:
            try:
                import air._numba_bus as b

                one = np.zeros((1, 1), dtype=np.uint64)
                h = np.empty(1, dtype=np.uint64)
                b.row_hash(one, h)  # first dispatch: fails here if numba cannot compile
                b.group(one, h, np.empty(1, dtype=np.int64), np.empty(1, dtype=np.int64))
            except Exception:
                b = None  # type: ignore[assignment]
            _BUS["kernels"] = b
            _BUS["tried"] = True
    return _BUS["kernels"]


def _bus_for(n: int) -> SimpleNamespace | None:
    # the field kernels' threshold: a short key matrix stays on numpy unless the kernels are loaded already
    if n >= MIN_SIZE or (n >= SMALL_SIZE and _STATE["kernels"] is not None):
        return load_bus()
    return None


def _keys2d(keys: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(keys, dtype=np.uint64)


def row_hash(keys: np.ndarray) -> np.ndarray | None:
    """``buscheck._row_hash`` of an (n x w) uint64 key matrix in one compiled loop, or None (numpy does it)."""
    b = _bus_for(len(keys))
    if b is None or keys.ndim != 2:
        return None
    out = np.empty(len(keys), dtype=np.uint64)
    b.row_hash(_keys2d(keys), out)
    return out


def group_rows(keys: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(rep, inv): each distinct row's first occurrence (in order of first appearance) and every row's group, for
    an (n x w) uint64 matrix whose rows' ``row_hash`` is ``hashes``; exact (rows sharing a hash are told apart by
    their words), or None (numpy does it)."""
    b = _bus_for(len(keys))
    if b is None or keys.ndim != 2:
        return None
    keys, hashes = _keys2d(keys), np.ascontiguousarray(hashes)
    n = len(keys)
    rep = np.empty(n, dtype=np.int64)
    inv = np.empty(n, dtype=np.int64)
    bits = max(b.MIN_BITS, (n - 1).bit_length())  # n slots: half full at n/2 distinct rows (a balanced bus)
    g = b.group_hash(hashes, rep, inv, bits)
    if not b.same_rows(keys, rep[:g], inv):  # two distinct rows share a 64-bit hash: group by hash and words
        g = b.group(keys, hashes, rep, inv)
    return rep[:g], inv


def group_net(keys: np.ndarray, hashes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(rep, net): each distinct row's first occurrence and the sum of its rows' int64 ``weights``, or None."""
    grouped = group_rows(keys, hashes)
    if grouped is None:
        return None
    rep, inv = grouped
    net = np.zeros(len(rep), dtype=np.int64)
    _BUS["kernels"].sum_by(inv, np.ascontiguousarray(weights, dtype=np.int64), net)
    return rep, net


def label_sums(codes: np.ndarray, lengths: list[int], weights: np.ndarray, cap: int = 32) -> tuple | None:
    """Per block of consecutive rows (``lengths``) and distinct code: (block, code, sum of int64 weights) as three
    arrays in order of first appearance per block, or None (numpy groups them; also past ``cap`` codes a block)."""
    b = _bus_for(len(codes))
    if b is None:
        return None
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    size = min(len(codes), cap * len(lengths))
    seg = np.empty(size, dtype=np.int64)
    code = np.empty(size, dtype=np.uint64)
    tot = np.empty(size, dtype=np.int64)
    w = np.ascontiguousarray(weights, dtype=np.int64)
    k = b.label_sums(np.ascontiguousarray(codes, dtype=np.uint64), bounds, w, cap, seg, code, tot)
    if k < 0:
        return None
    return seg[:k], code[:k], tot[:k]
