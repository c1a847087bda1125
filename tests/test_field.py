"""The numpy Goldilocks path against galois GF(p) and against Python integers."""

import galois
import numpy as np
import pytest

from air import field as F

P = 2**64 - 2**32 + 1
EDGE = [0, 1, 2, P - 1, P - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**63 - 1, 0xFFFFFFFF00000000,
        0xFFFFFFFF, P // 2, P // 2 + 1, 0xFFFFFFFE_FFFFFFFF]  # fmt: skip


@pytest.fixture(scope="module")
def operands() -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(7)
    rand = [int(x) for x in rng.integers(0, P, size=2000, dtype=np.uint64)]
    a = [x for x in EDGE for _ in EDGE] + rand
    b = [y for _ in EDGE for y in EDGE] + rand[::-1]
    return a, b


@pytest.mark.parametrize(
    "op,ref",
    [(F.add, lambda x, y: (x + y) % P), (F.sub, lambda x, y: (x - y) % P), (F.mul, lambda x, y: x * y % P)],
)
def test_against_python_ints(op, ref, operands) -> None:
    a, b = operands
    got = op(np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64))
    assert [int(v) for v in got] == [ref(x, y) for x, y in zip(a, b)]


def test_against_galois(operands) -> None:
    gf = galois.GF(P)
    a, b = operands
    ga, gb = gf(a), gf(b)
    na, nb = np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)
    assert [int(v) for v in F.mul(na, nb)] == [int(v) for v in ga * gb]
    assert [int(v) for v in F.add(na, nb)] == [int(v) for v in ga + gb]
    assert [int(v) for v in F.sub(na, nb)] == [int(v) for v in ga - gb]
    assert [int(v) for v in F.neg(na)] == [int(v) for v in -ga]


def test_inputs_unchanged_and_results_canonical(operands) -> None:
    a, b = operands
    na, nb = np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)
    ca, cb = na.copy(), nb.copy()
    r = F.mul(na, nb)
    assert (na == ca).all() and (nb == cb).all()
    assert F.is_canonical(r)


def test_inverse() -> None:
    for v in EDGE[1:]:
        assert v * F.inv(v) % P == 1
    with pytest.raises(ZeroDivisionError):
        F.inv(0)


def test_vectorized_inverse_and_power(operands) -> None:
    gf = galois.GF(P)
    a = [x for x in operands[0] if x % P]
    na = np.array(a, dtype=np.uint64)
    assert [int(v) for v in F.inv_array(na)] == [pow(x, P - 2, P) for x in a]
    assert [int(v) for v in F.power(na, 5)] == [int(v) for v in gf(a) ** 5]
    assert [int(v) for v in F.power(na, 0)] == [1] * len(a)
    with pytest.raises(ZeroDivisionError):
        F.inv_array(np.array([3, 0], dtype=np.uint64))


def test_small_operand_fast_path() -> None:
    # arrays long enough for mul's fast path, every operand below 2^32 (bits, flags, limbs)
    rng = np.random.default_rng(3)
    a = [0, 1, 2**32 - 1, 2**32 - 1, 2**31] + [int(x) for x in rng.integers(0, 2**32, size=600, dtype=np.uint64)]
    b = [2**32 - 1, 0, 2**32 - 1, 1, 2**32 - 2] + [int(x) for x in rng.integers(0, 2**32, size=600, dtype=np.uint64)]
    got = F.mul(np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64))
    assert [int(v) for v in got] == [x * y % P for x, y in zip(a, b)]
    # one big operand anywhere sends the whole array down the general path, still exact
    a[7] = P - 1
    got = F.mul(np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64))
    assert [int(v) for v in got] == [x * y % P for x, y in zip(a, b)]
