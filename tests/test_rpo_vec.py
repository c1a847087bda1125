"""The numpy RPO (air/miden/rpo_vec.py) against the reference ``rpo`` (pinned to the published vectors in
tests/test_rpo.py), and the hasher rows built from it (``hasher_trace.rows``) against the row-by-row ``build``."""

from __future__ import annotations

import numpy as np
import pytest

from air.miden import hasher_trace as HT
from air.miden import rpo, rpo_vec


def test_permutations_equal_the_reference() -> None:
    rng = np.random.default_rng(11)
    states = rng.integers(0, rpo.P, size=(40, 12), dtype=np.uint64)
    states[0] = 0
    states[1] = rpo.P - 1
    states[2] = np.arange(12, dtype=np.uint64)  # rpo.permute(range(12)) is a published vector (test_rpo.py)
    traces = rpo_vec.permute_trace_many(states)
    assert traces.shape == (40, 8, 12)
    for s, t in zip(states, traces):
        assert t.tolist() == [list(x) for x in rpo.permute_trace([int(v) for v in s])]
    assert rpo_vec.permute_many(states[:3]).tolist() == [rpo.permute([int(v) for v in s]) for s in states[:3]]
    with pytest.raises(ValueError, match="canonical"):
        rpo_vec.permute_many(np.full((1, 12), rpo.P, dtype=np.uint64))


def test_inverse_sbox_chain_is_the_inverse_of_x7() -> None:
    """The addition chain gives x^INV_ALPHA: (x^(1/7))^7 = x, checked with Python ints."""
    xs = np.array([0, 1, 2, 7, rpo.P - 1, 2**63, 123456789123456789], dtype=np.uint64)
    ys = rpo_vec._inv_sbox(xs)
    assert [int(y) for y in ys] == [pow(int(x), rpo.INV_ALPHA, rpo.P) for x in xs]
    assert [pow(int(y), 7, rpo.P) for y in ys] == [int(x) for x in xs]


@pytest.mark.parametrize("vector_min", [1, 10**9])
def test_rows_equal_the_row_by_row_build(monkeypatch, vector_min) -> None:
    """``rows`` (numpy levels, or rpo when below VECTOR_MIN) lays out exactly what ``build`` does, job by job,
    repetitions copied; Merkle jobs included."""
    monkeypatch.setattr(HT, "VECTOR_MIN", vector_min)
    jobs = [
        HT.LinearHash(tuple(range(1, 20))),  # 3 cycles: ABP twice
        HT.Merge((1, 2, 3, 4), (5, 6, 7, 8), 87),
        HT.Permute(tuple(range(12))),
        HT.LinearHash((9,)),
        HT.MerklePath((1, 1, 1, 1), 2, ((2, 2, 2, 2), (3, 3, 3, 3))),
        HT.Merge((1, 2, 3, 4), (5, 6, 7, 8), 87),  # a repetition
        HT.LinearHash(tuple(range(1, 20))),
    ]
    t = HT.build(jobs)
    expect = np.array([[r.get(c, 0) for c in HT.COLUMNS] for r in t.rows], dtype=np.uint64)
    assert np.array_equal(HT.rows(jobs), expect)
    assert HT.rows([]).shape == (0, len(HT.COLUMNS))
