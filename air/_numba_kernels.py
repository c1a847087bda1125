"""The numba-compiled loops behind ``air.kernels`` (imported only by ``air.kernels.load``, which sets the cache
directory first). Every constant is ``np.uint64``: numba promotes uint64 mixed with an int literal to float64.

Arrays are 1-D uint64 of canonical elements (``< p``); outputs are written into ``out``, which never aliases an
input (LLVM then vectorizes the elementwise loops without a runtime alias check).
The loops release the GIL (``nogil``): row chunks checked on threads run them in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

P = np.uint64(0xFFFFFFFF00000001)  # 2^64 - 2^32 + 1
EPS = np.uint64(0xFFFFFFFF)  # 2^64 mod p = 2^32 - 1
M32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
U0 = np.uint64(0)
U1 = np.uint64(1)
PM2 = np.uint64(0xFFFFFFFEFFFFFFFF)  # p - 2: x^(p-2) = 1/x (Fermat)


@njit(inline="always", cache=True)
def gmul(a: np.uint64, b: np.uint64) -> np.uint64:
    """a*b mod p: the 128-bit product from 32-bit limbs, then 2^64 = EPS, 2^96 = -1 (mod p)."""
    a_lo = a & M32
    a_hi = a >> S32
    b_lo = b & M32
    b_hi = b >> S32
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    mid = lh + hl
    mid_carry = U1 if mid < lh else U0  # weight 2^96: bit 32 of hi
    lo = ll + (mid << S32)
    lo_carry = U1 if lo < ll else U0
    hi = hh + (mid >> S32) + lo_carry + (mid_carry << S32)
    hi_hi = hi >> S32
    hi_lo = hi & M32
    t0 = lo - hi_hi  # lo + hi_lo*2^64 + hi_hi*2^96 = lo - hi_hi + hi_lo*EPS
    if lo < hi_hi:
        t0 -= EPS  # the borrow added 2^64 = EPS (mod p); t0 >= 2^64 - 2^32 + 1 > EPS here
    t2 = t0 + hi_lo * EPS
    if t2 < t0:
        t2 += EPS  # the carry dropped 2^64 = EPS (mod p); cannot carry again
    if t2 >= P:
        t2 -= P
    return t2


@njit(inline="always", cache=True)
def gadd(a: np.uint64, b: np.uint64) -> np.uint64:
    s = a + b
    if s < a or s >= P:
        s -= P  # wrapping: (a + b - 2^64) - (p - 2^64) when it carried
    return s


@njit(inline="always", cache=True)
def gsub(a: np.uint64, b: np.uint64) -> np.uint64:
    d = a - b
    if a < b:
        d += P
    return d


@njit(inline="always", cache=True)
def gpow(a: np.uint64, e: np.uint64) -> np.uint64:
    r = U1
    while e:
        if e & U1:
            r = gmul(r, a)
        a = gmul(a, a)
        e >>= U1
    return r


@njit(cache=True, nogil=True)
def mul_vv(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gmul(a[i], b[i])


@njit(cache=True, nogil=True)
def mul_vs(a: np.ndarray, s: np.uint64, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gmul(a[i], s)


@njit(cache=True, nogil=True)
def add_vv(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gadd(a[i], b[i])


@njit(cache=True, nogil=True)
def add_vs(a: np.ndarray, s: np.uint64, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gadd(a[i], s)


@njit(cache=True, nogil=True)
def sub_vv(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gsub(a[i], b[i])


@njit(cache=True, nogil=True)
def sub_vs(a: np.ndarray, s: np.uint64, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gsub(a[i], s)


@njit(cache=True, nogil=True)
def sub_sv(s: np.uint64, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = gsub(s, b[i])


@njit(cache=True, nogil=True)
def scan_mul(x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = x[0] * ... * x[i]."""
    acc = U1
    for i in range(x.shape[0]):
        acc = gmul(acc, x[i])
        out[i] = acc


@njit(cache=True, nogil=True)
def scan_add(x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = x[0] + ... + x[i]."""
    acc = U0
    for i in range(x.shape[0]):
        acc = gadd(acc, x[i])
        out[i] = acc


@njit(cache=True, nogil=True)
def running_product(resp: np.ndarray, req: np.ndarray, initial: np.uint64, out: np.ndarray) -> None:
    """out[0] = initial, out[i+1] = out[i] * resp[i] / req[i]. Montgomery's trick: 1/(req_0...req_i) =
    (req_{i+1}...req_{n-1}) / (req_0...req_{n-1}), so out[i+1] = initial/total * prod(resp_0..i) * suffix(i+1).
    The suffix products go into out[1..n] first (backward), then the forward pass multiplies them in."""
    n = req.shape[0]
    out[0] = initial
    acc = U1
    for i in range(n - 1, -1, -1):  # out[i+1] = prod_{j>i} req_j
        out[i + 1] = acc
        acc = gmul(acc, req[i])
    scale = gmul(initial, gpow(acc, PM2))  # acc = prod of every request (nonzero: the caller checked)
    for i in range(n):
        scale = gmul(scale, resp[i])
        out[i + 1] = gmul(scale, out[i + 1])


@njit(cache=True, nogil=True)
def batch_inverse(x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = 1/x[i] (every x[i] nonzero): prefix products, one inverse, then a backward pass."""
    n = x.shape[0]
    if n == 0:
        return
    acc = U1
    for i in range(n):
        out[i] = acc  # prod_{j<i} x_j
        acc = gmul(acc, x[i])
    inv = gpow(acc, PM2)  # 1 / prod_{j<n} x_j
    for i in range(n - 1, -1, -1):
        out[i] = gmul(out[i], inv)  # prod_{j<i} x_j / prod_{j<=i} x_j = 1/x_i
        inv = gmul(inv, x[i])  # now 1 / prod_{j<i} x_j


# The tape interpreter (air.compile.Tape): one compiled loop runs any program, so no AIR needs a compile of its own.
# ops[t] = (code, dst, a, b); registers are rows of ``regs`` (one block of rows each); a destination never aliases
# a source (the register allocator guarantees it), so the elementwise loops vectorize.
OP_LOAD = 0  # regs[dst] = input slot a (a column block, or a scalar broadcast)
OP_ADD = 1
OP_SUB = 2
OP_MUL = 3
OP_STORE = 4  # out[a] = regs[dst]


@njit(cache=True, nogil=True)
def _vmul(o: np.ndarray, x: np.ndarray, y: np.ndarray, m: int) -> None:
    for i in range(m):
        o[i] = gmul(x[i], y[i])


@njit(cache=True, nogil=True)
def _vadd(o: np.ndarray, x: np.ndarray, y: np.ndarray, m: int) -> None:
    for i in range(m):
        o[i] = gadd(x[i], y[i])


@njit(cache=True, nogil=True)
def _vsub(o: np.ndarray, x: np.ndarray, y: np.ndarray, m: int) -> None:
    for i in range(m):
        o[i] = gsub(x[i], y[i])


OP_LUT = 5  # regs[dst] = tables[luts[a, 1] + the row's pattern in group luts[a, 0]] (Tape.tabulate)


@njit(cache=True, nogil=True)
def run_tape(
    ops: np.ndarray,
    ops_bin: np.ndarray,
    bits: np.ndarray,
    luts: np.ndarray,
    tables: np.ndarray,
    pats: np.ndarray,
    slot_row: np.ndarray,
    slot_shift: np.ndarray,
    slot_val: np.ndarray,
    mat: np.ndarray,
    sel: np.ndarray,
    row0: int,
    first: int,
    n: int,
    base: int,
    regs: np.ndarray,
    dense: bool,
    out: np.ndarray,
    off: np.ndarray,
    cap: np.ndarray,
    cnt: np.ndarray,
    idx: np.ndarray,
    val: np.ndarray,
) -> int:
    """Run a tape over rows i = ``first .. n-1``, one block of ``regs.shape[1]`` rows at a time.

    Row i reads ``mat`` at column ``r = sel[i]`` (``sel`` not empty) or ``r = row0 + i``: slot j is
    ``mat[slot_row[j], r + slot_shift[j]]`` when ``slot_row[j] >= 0`` (x is shift 0, x' shift 1), else
    ``slot_val[j]``. ``dense``: output k of row i goes to ``out[k, base + i]``. Else only the nonzero values are
    kept: output k's entries are ``idx[off[k] : off[k] + cnt[k]]`` (``base + i``, ascending) and ``val[...]``,
    appended; when some output outgrows its capacity ``cap[k]``, the block's entries are rolled back and the
    block's first i is returned, for the caller to grow the buffers and call again from there (-1: done).
    ``bits[j] = (slot, group, place)``: the 0/1 cells (``Tape.tabulate``); a row's pattern in a group has bit
    ``place`` set when the cell is 1. A block whose cells are all 0 or 1 runs ``ops_bin`` (LUT ops read
    ``tables``), any other block ``ops``. ``pats``: (groups x block) scratch."""
    blk = regs.shape[1]
    saved = np.empty_like(cnt)
    gather = sel.shape[0] > 0
    for start in range(first, n, blk):
        m = min(blk, n - start)
        saved[:] = cnt
        over = False
        use = ops
        if bits.shape[0]:
            for g in range(pats.shape[0]):
                p = pats[g]
                for i in range(m):
                    p[i] = 0
            high = U0
            for j in range(bits.shape[0]):
                slot = bits[j, 0]
                src = mat[slot_row[slot]]
                sh = slot_shift[slot]
                p = pats[bits[j, 1]]
                place = bits[j, 2]
                for i in range(m):
                    v = src[(sel[start + i] if gather else row0 + start + i) + sh]
                    high |= v
                    p[i] |= np.int64(v & U1) << place
            if high <= U1:  # every cell 0 or 1
                use = ops_bin
        for t in range(use.shape[0]):
            code = use[t, 0]
            d = use[t, 1]
            a = use[t, 2]
            b = use[t, 3]
            if code == OP_LOAD:
                r = regs[d]
                row = slot_row[a]
                if row >= 0:
                    src = mat[row]
                    sh = slot_shift[a]
                    if gather:
                        for i in range(m):
                            r[i] = src[sel[start + i] + sh]
                    else:
                        at = row0 + start + sh
                        for i in range(m):
                            r[i] = src[at + i]
                else:
                    v = slot_val[a]
                    for i in range(m):
                        r[i] = v
            elif code == OP_MUL:
                _vmul(regs[d], regs[a], regs[b], m)
            elif code == OP_ADD:
                _vadd(regs[d], regs[a], regs[b], m)
            elif code == OP_SUB:
                _vsub(regs[d], regs[a], regs[b], m)
            elif code == OP_LUT:
                r = regs[d]
                p = pats[luts[a, 0]]
                o = luts[a, 1]
                for i in range(m):
                    r[i] = tables[o + p[i]]
            elif dense:  # OP_STORE
                dst = out[a]
                r = regs[d]
                for i in range(m):
                    dst[base + start + i] = r[i]
            else:  # OP_STORE, sparse: the block's nonzero values
                r = regs[d]
                acc = U0
                for i in range(m):
                    acc |= r[i]
                if acc == U0:
                    continue
                c = cnt[a]
                lim = cap[a]
                o = off[a]
                for i in range(m):
                    v = r[i]
                    if v != U0:
                        if c < lim:
                            idx[o + c] = base + start + i
                            val[o + c] = v
                        c += 1
                cnt[a] = c
                if c > lim:
                    over = True
        if over:
            cnt[:] = saved
            return start
    return -1
