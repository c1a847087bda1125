"""Bus message keys grouped by the compiled hash table (air/_numba_bus.py via air.kernels) against the numpy path
(the reference) bit for bit, and both against plain Python (dicts of tuples, the hash in Python ints): distinct
rows in the order of their 64-bit row hash (rows of equal hash lexicographically), each row's group, net counts
and per-label sums; random keys with duplicates, widths 1..20, n = 0, 1 and large, and rows built to collide in
the hash. The chunked check with the kernels on every length equals the single pass on numpy."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

import numpy as np
import pytest

pytest.importorskip("numba")

from air import bus_keys as B  # noqa: E402 - the grouping (air.buscheck re-exports it)
from air import kernels as K  # noqa: E402

M64 = (1 << 64) - 1


def _hash_int(row: tuple[int, ...]) -> int:
    """The row hash in Python ints: h0 = 0x9E3779B97F4A7C15; per word h = (h ^ k) * 0xBF58476D1CE4E5B9 mod 2^64,
    h ^= h >> 31 (the definition buscheck._row_hash documents)."""
    h = 0x9E3779B97F4A7C15
    for k in row:
        h = ((h ^ k) * 0xBF58476D1CE4E5B9) & M64
        h ^= h >> 31
    return h


def _oracle(keys: np.ndarray, hash_of: Callable[[tuple[int, ...]], int] = _hash_int):
    """Distinct rows sorted by (hash, row), and each row's index among them: dicts and sorted(), no numpy."""
    rows = [tuple(r) for r in keys.tolist()]
    distinct = sorted(set(rows), key=lambda r: (hash_of(r), r))
    at = {r: i for i, r in enumerate(distinct)}
    return distinct, [at[r] for r in rows]


class _Numpy:
    """A context in which air.kernels gives None (the numpy path), as with AIR_NO_NUMBA=1."""

    def __enter__(self) -> None:
        K._reset(disable=True)
        assert K.row_hash(np.zeros((1 << 15, 2), dtype=np.uint64)) is None

    def __exit__(self, *exc: object) -> None:
        K._reset()


def _both(f: Callable[[], tuple]) -> Iterator[tuple]:
    """f() with the kernels (the caller's fixture forces them), then on numpy."""
    got = f()
    with _Numpy():
        ref = f()
    return got, ref


def _keys(n: int, width: int, seed: int, distinct: int | None = None) -> np.ndarray:
    """n rows drawn from ``distinct`` random rows (duplicates), words small and large (full 64-bit range)."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 1 << 64, (distinct or max(1, n // 3), width), dtype=np.uint64)
    pool[::2, 0] = rng.integers(0, 4, len(pool[::2]), dtype=np.uint64)  # label codes: few small values
    return pool[rng.integers(0, len(pool), n)]


def _colliding(width: int, pairs: int, seed: int) -> np.ndarray:
    """Rows in pairs with equal row hashes: the hash's step is a bijection of (h ^ k), so the second row of a
    pair takes another first word a' and second word b ^ h1(a) ^ h1(a'), where h1 is the hash after one word
    (both then enter the second step with the same h ^ k); the remaining words are equal."""
    assert width >= 2
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(pairs):
        row = [int(x) for x in rng.integers(0, 1 << 64, width, dtype=np.uint64)]
        other = list(row)
        other[0] = int(rng.integers(0, 1 << 64, dtype=np.uint64))
        other[1] = row[1] ^ _hash_int((row[0],)) ^ _hash_int((other[0],))
        assert _hash_int(tuple(row)) == _hash_int(tuple(other)) and row != other
        out += [row, other, row]
    keys = np.array(out, dtype=np.uint64)
    return keys[rng.permutation(len(keys))]


def _same(got: tuple, ref: tuple) -> None:
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b)


def _check_against_oracle(keys: np.ndarray, uniq: np.ndarray, inv: np.ndarray, hash_of=_hash_int) -> None:
    distinct, at = _oracle(keys, hash_of)
    assert [tuple(r) for r in uniq.tolist()] == distinct
    assert inv.tolist() == at


@pytest.mark.parametrize("width", range(1, 21))
def test_row_hash_is_the_python_int_hash(kernels_everywhere, width: int) -> None:
    keys = _keys(50, width, seed=width)
    got, ref = _both(lambda: (B._row_hash(keys),))
    _same(got, ref)
    assert got[0].tolist() == [_hash_int(tuple(r)) for r in keys.tolist()]


@pytest.mark.parametrize("width", range(1, 21))
@pytest.mark.parametrize("n", [0, 1, 2, 300])
def test_group_rows_equals_numpy_and_python(kernels_everywhere, width: int, n: int) -> None:
    keys = _keys(n, width, seed=100 * width + n)
    got, ref = _both(lambda: B._group_rows(keys))
    _same(got, ref)
    uniq, inv = got
    assert uniq.shape == (len(set(map(tuple, keys.tolist()))), width)
    _check_against_oracle(keys, uniq, inv)


def test_group_rows_large(kernels_everywhere) -> None:
    # 2^17 rows of width 16 from 2^15 distinct ones: past the table's first doubling, many duplicates
    keys = _keys(1 << 17, 16, seed=5, distinct=1 << 15)
    got, ref = _both(lambda: B._group_rows(keys))
    _same(got, ref)
    uniq, inv = got
    assert np.array_equal(uniq[inv], keys)
    h = B._row_hash(uniq)
    assert (h[1:] > h[:-1]).all()  # by hash, strictly: no collision among random rows


@pytest.mark.parametrize("width", [2, 3, 16, 20])
def test_rows_sharing_a_hash_stay_apart(kernels_everywhere, width: int) -> None:
    keys = _colliding(width, pairs=40, seed=width)
    h = B._row_hash(keys)
    assert len(np.unique(h)) == 40 and len(set(map(tuple, keys.tolist()))) == 80  # 40 hashes, 80 distinct rows
    # the hash-only table merges each pair; the exact check must notice it (the compiled fallback runs)
    b = K.load_bus()
    rep, inv = np.empty(len(keys), np.int64), np.empty(len(keys), np.int64)
    g = b.group_hash(h, rep, inv, 4)
    assert g == 40 and not b.same_rows(keys, rep[:g], inv)
    got, ref = _both(lambda: B._group_rows(keys))
    _same(got, ref)
    _check_against_oracle(keys, *got)


def test_a_weak_hash_still_groups_exactly(kernels_everywhere, monkeypatch: pytest.MonkeyPatch) -> None:
    # every row hashed to one of 3 values: almost every row collides, and the table starts at 2^10 slots for
    # 2^12 rows (it doubles while probing long runs)
    def weak(keys: np.ndarray) -> np.ndarray:
        return keys[:, -1] % np.uint64(3)

    monkeypatch.setattr(B, "_row_hash", weak)
    keys = _keys(1 << 12, 4, seed=9, distinct=1500)
    got, ref = _both(lambda: B._group_rows(keys))
    _same(got, ref)
    _check_against_oracle(keys, *got, hash_of=lambda r: r[-1] % 3)
    weights = np.arange(len(keys), dtype=np.int64) % 5 - 2
    got, ref = _both(lambda: B._net_counts(keys, weights))
    _same(got, ref)


def _net_oracle(keys: np.ndarray, weights: np.ndarray) -> tuple[list, list]:
    net: Counter = Counter()
    for r, w in zip(map(tuple, keys.tolist()), weights.tolist()):
        net[r] += w
    rows = sorted((r for r, v in net.items() if v), key=lambda r: (_hash_int(r), r))
    return rows, [net[r] for r in rows]


@pytest.mark.parametrize("width", [1, 2, 7, 16])
@pytest.mark.parametrize("n", [0, 1, 500, 1 << 15])
def test_net_counts(kernels_everywhere, width: int, n: int) -> None:
    # requests +count, responses -count: a response for most requests, so most keys cancel
    rng = np.random.default_rng(n + width)
    req = _keys(n // 2, width, seed=n + width)
    resp = req[rng.permutation(len(req))][: max(0, len(req) - 7)]
    extra = _keys(n - len(req) - len(resp), width, seed=3)
    keys = np.concatenate([req, resp, extra])
    counts = rng.integers(1, 1 << 31, len(req), dtype=np.int64)
    weights = np.concatenate([counts, -counts[: len(resp)], np.ones(len(extra), dtype=np.int64)])
    perm = rng.permutation(len(keys))
    keys, weights = keys[perm], weights[perm]
    got, ref = _both(lambda: B._net_counts(keys, weights))
    _same(got, ref)
    rows, nets = _net_oracle(keys, weights)
    assert [tuple(r) for r in got[0].tolist()] == rows and got[1].tolist() == nets
    assert got[0].shape[1] == width and got[1].dtype == np.int64


def test_net_counts_of_colliding_rows(kernels_everywhere) -> None:
    keys = _colliding(16, pairs=30, seed=1)
    weights = np.where(np.arange(len(keys)) % 2 == 0, 1, -1).astype(np.int64)
    got, ref = _both(lambda: B._net_counts(keys, weights))
    _same(got, ref)
    rows, nets = _net_oracle(keys, weights)
    assert [tuple(r) for r in got[0].tolist()] == rows and got[1].tolist() == nets


def test_net_counts_are_exact_past_float64(kernels_everywhere) -> None:
    # 2^22 copies of one key with weight 2^31 + 1: 2^53 + 2^22, which a float64 sum would round
    keys = np.zeros((1 << 22, 1), dtype=np.uint64)
    weights = np.full(1 << 22, (1 << 31) + 1, dtype=np.int64)
    got, ref = _both(lambda: B._net_counts(keys, weights))
    _same(got, ref)
    assert got[1].tolist() == [(1 << 22) * ((1 << 31) + 1)]


@pytest.mark.parametrize("ncodes", [5, 100])  # 100: more codes in a block than the kernel scans (numpy then)
@pytest.mark.parametrize("lengths", [[], [5], [3, 0, 40, 1, 17], [1 << 15, 9]])
def test_label_sums_equal_a_loop_per_block(kernels_everywhere, lengths: list[int], ncodes: int) -> None:
    rng = np.random.default_rng(len(lengths))
    n = sum(lengths)
    codes = rng.integers(0, ncodes, n, dtype=np.uint64) * np.uint64(0x100000001)  # large words too
    weights = rng.integers(-3, 4, n, dtype=np.int64)
    want: dict[tuple[int, int], int] = defaultdict(int)
    at = 0
    for b, ln in enumerate(lengths):  # the loop the chunk map ran before: per block, per distinct code
        for c, w in zip(codes[at : at + ln].tolist(), weights[at : at + ln].tolist()):
            want[(b, c)] += w
        at += ln
    most = max((len({c for b_, c in want if b_ == b}) for b in range(len(lengths))), default=0)
    assert (K.label_sums(codes, lengths, weights) is not None) == (0 < most <= 32)  # the kernel, or numpy
    got, ref = _both(lambda: B._label_sums(codes, lengths, weights))
    _same(got, ref)
    assert list(zip(got[0].tolist(), got[1].tolist())) == sorted(want)
    assert got[2].tolist() == [want[k] for k in sorted(want)]


def test_chunked_check_with_kernels_equals_single_pass_on_numpy(kernels_everywhere) -> None:
    # the faults planted at 64-row chunk boundaries (tests/test_chunked.py): unmatched keys cross chunks, so
    # the chunks' net counts, the key table's folds and the label totals all take part
    from tests.test_chunked import R, _chunked, _faulty, _same, _single

    a, t = _faulty()
    got = _chunked(a, t, chunk_rows=R, jobs=1)
    with _Numpy():
        ref = _single(a, t)
    assert ref["unmatched"] and any(b["unmatched_total"] for b in ref["buses"])
    _same(got, ref)
