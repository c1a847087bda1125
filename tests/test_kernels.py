"""The compiled kernels (air.kernels, numba) against the numpy path (air.field, the reference) bit for bit,
Python ints and galois as oracles, and the check and the buses giving the same verdicts, failing rows and bus
finals with the kernels forced on (every length) and off (AIR_NO_NUMBA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("numba")

from air import field as F  # noqa: E402
from air import kernels as K  # noqa: E402
from air.buscheck import _prefix_sum, _running_product, _scan, check_buses  # noqa: E402
from air.compile import Program, eval_int  # noqa: E402

P = 2**64 - 2**32 + 1
# edge values: 0, 1, p-1, p-2, 2^32 and its neighbours (the limb boundary), 2^63, p-2^32, random high halves
EDGES = [0, 1, 2, P - 1, P - 2, 2**32, 2**32 - 1, 2**32 + 1, 2**63, 2**63 - 1, P - 2**32, 2**64 - 2**33]
TRACE = Path(__file__).resolve().parent.parent / "traces" / "hashing" / "miden-v0.19.npz"


@pytest.fixture
def numpy_only(monkeypatch: pytest.MonkeyPatch):
    """The numpy path: as with AIR_NO_NUMBA=1 (the state is restored afterwards)."""
    monkeypatch.setenv("AIR_NO_NUMBA", "1")
    K._reset()
    assert K.load() is None and not K.enabled()
    yield
    monkeypatch.delenv("AIR_NO_NUMBA")
    K._reset()


def _operands(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of edge values, then random canonical elements (all < p: values >= p never reach the kernels)."""
    rng = np.random.default_rng(seed)
    e = np.array(EDGES, dtype=np.uint64)
    a = np.concatenate([np.repeat(e, len(e)), rng.integers(0, P, n, dtype=np.uint64)])
    b = np.concatenate([np.tile(e, len(e)), rng.integers(0, P, n, dtype=np.uint64)])
    assert (a < np.uint64(P)).all() and (b < np.uint64(P)).all()
    return a, b


def _np(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return {"mul": F._mul, "add": F._add, "sub": F._sub}[op](a, b)


@pytest.mark.parametrize("op", ["mul", "add", "sub"])
def test_binary_matches_numpy_and_python_ints(op: str, kernels_everywhere) -> None:
    a, b = _operands(20000, seed=1)
    got = K.binary(op, a, b)
    assert got is not None
    assert np.array_equal(got, _np(op, a, b))
    py = {"mul": lambda x, y: x * y % P, "add": lambda x, y: (x + y) % P, "sub": lambda x, y: (x - y) % P}[op]
    m = len(EDGES) ** 2 + 500  # every edge pair and a random sample, with Python ints
    assert got[:m].tolist() == [py(x, y) for x, y in zip(a[:m].tolist(), b[:m].tolist())]
    # a scalar on either side (a challenge, a constant), as the programs use them
    for s in (0, 1, P - 1, 2**32):
        sv = np.array(s, dtype=np.uint64)
        assert np.array_equal(K.binary(op, a, sv), _np(op, a, sv))
        assert np.array_equal(K.binary(op, sv, a), _np(op, sv, a))
        assert np.array_equal(K.binary(op, a, np.uint64(s)), _np(op, a, sv))  # a numpy scalar, not a 0-d array


def test_field_ops_dispatch_to_kernels_on_long_columns_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert K.load() is not None
    a, b = _operands(K.MIN_SIZE, seed=2)
    assert K.binary("mul", a[:100], b[:100]) is None  # short: numpy does it
    assert K.binary("mul", a.astype(np.int64), b.astype(np.int64)) is None  # not uint64: numpy's casting
    assert np.array_equal(F.mul(a, b), _np("mul", a, b)) and np.array_equal(F.sub(a, b), _np("sub", a, b))
    calls = []
    monkeypatch.setattr(K, "binary", lambda *args, **kw: calls.append(args[0]))  # the dispatch is taken
    F.mul(a, b)
    assert calls == ["mul"]


def test_mul_against_galois_sample(kernels_everywhere) -> None:
    galois = pytest.importorskip("galois")
    GF = galois.GF(P)
    a, b = _operands(300, seed=3)
    got = K.binary("mul", a, b)
    want = GF([int(x) for x in a]) * GF([int(x) for x in b])
    assert got.tolist() == [int(x) for x in want]


def test_scans_running_product_and_inverse(kernels_everywhere) -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([np.array([1, P - 1, 2**32, 2**63], dtype=np.uint64), rng.integers(1, P, 5000, dtype=np.uint64)])
    y = rng.integers(0, P, len(x), dtype=np.uint64)
    pm = K.scan_mul(x)
    pa = K.scan_add(y)
    # Python ints: the running product and sum, element by element
    acc, want_m = 1, []
    for v in x.tolist():
        acc = acc * v % P
        want_m.append(acc)
    acc, want_a = 0, []
    for v in y.tolist():
        acc = (acc + v) % P
        want_a.append(acc)
    assert pm.tolist() == want_m and pa.tolist() == want_a
    inv = K.batch_inverse(x)
    assert inv.tolist() == [pow(v, P - 2, P) for v in x.tolist()]
    rp = K.running_product(y, x, 12345)
    b, want = 12345, [12345]
    for r, q in zip(y.tolist(), x.tolist()):
        b = b * r % P * pow(q, P - 2, P) % P
        want.append(b)
    assert rp.tolist() == want


def test_bus_primitives_same_with_and_without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.integers(1, P, n, dtype=np.uint64)
    y = rng.integers(0, P, n, dtype=np.uint64)
    monkeypatch.setattr(K, "MIN_SIZE", 1)
    assert K.load() is not None
    fast = (_scan(x, F.mul, 1), _scan(y, F.add, 0), _prefix_sum(y, 7), _running_product(y, x, 3), F.inv_array(x))
    monkeypatch.setattr(K, "MIN_SIZE", 1 << 62)  # the numpy path
    slow = (_scan(x, F.mul, 1), _scan(y, F.add, 0), _prefix_sum(y, 7), _running_product(y, x, 3), F.inv_array(x))
    for f, s in zip(fast, slow):
        assert np.array_equal(f, s)
    x[1234] = 0  # a request of value 0: the same error naming its row on both paths
    for size in (1, 1 << 62):
        monkeypatch.setattr(K, "MIN_SIZE", size)
        with pytest.raises(ZeroDivisionError, match="row 1234"):
            _running_product(y, x, 1)


def test_tape_matches_numpy_program_and_python_ints(kernels_everywhere, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, z, w = sp.symbols("x y z w")  # columns; w is bound to a scalar (a challenge)
    exprs = [
        x * y - z,
        (x + 1) ** 3 - 2 * y * (x + 1) + sp.Rational(1, 2) * z,  # a shared sub-term, a power, a field inverse
        -x - y - z,
        7,  # a constant output
        x,  # an input as an output
        (x - y) * (x - y) * w + w**2 - sp.Rational(-3, 5),
        x * y * z * w - (x * y) ** 2,
    ]
    prog = Program(exprs)
    prog.inputs = {"x", "y", "z"}  # plain sympy symbols stand for columns here
    a, b = _operands(400, seed=6)
    c = np.roll(a, 7)
    env = {"x": a, "y": b, "z": c, "w": np.array(P - 5, dtype=np.uint64)}
    tape = prog.tape()
    got = tape.run(env, len(a))
    assert got is not None and len(got) == len(exprs)
    assert [np.array_equal(g, v) for g, v in zip(got, prog.run(env))] == [True] * len(exprs)  # run takes the tape
    monkeypatch.setattr(K, "MIN_SIZE", 1 << 62)
    monkeypatch.setattr(K, "SMALL_SIZE", 1 << 62)
    slow = [np.broadcast_to(v, (len(a),)) for v in prog.run(env)]  # the numpy evaluator
    for g, s in zip(got, slow):
        assert np.array_equal(g, s)
    for i in (0, 1, 50, len(EDGES) ** 2 + 3, len(a) - 1):  # Python ints, row by row
        row = {"x": int(a[i]), "y": int(b[i]), "z": int(c[i]), "w": P - 5}
        assert [int(g[i]) for g in got] == [eval_int(sp.sympify(e), row) for e in exprs]
    # no op writes a register it reads (aliasing would stop the loops vectorizing)
    ops = tape.ops
    arith = ops[(ops[:, 0] >= 1) & (ops[:, 0] <= 3)]
    assert ((arith[:, 1] != arith[:, 2]) & (arith[:, 1] != arith[:, 3])).all()


def _faulty(trace):
    """The committed honest trace with planted faults: a stack cell, an op bit and a chiplet cell (a bus value)."""
    from air.trace import Trace

    cols = {k: v.copy() for k, v in trace.columns.items()}
    n = trace.n_rows
    for name, row, val in (("s0", n // 3, 12345), ("b0", 5, 1), ("chip5", n // 2, P - 1)):
        cols[name][row] = (int(cols[name][row]) + val) % P
    return Trace(cols, n, trace.public_inputs, trace.meta, trace.source, trace.public_tables)


def test_check_and_buses_same_verdicts_with_and_without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    from air.evaluate import check
    from air.registry import load_air
    from air.trace import load_trace

    air = load_air("miden-v0.19")
    honest = load_trace(TRACE)
    traces = [honest, _faulty(honest)]

    def run() -> list:
        out = []
        for t in traces:
            res = check(air, t)
            buses = check_buses(air, t, seed=11)
            out.append(
                (
                    res.ok,
                    [(f.constraint, f.rows.tolist()) for f in res.failures],
                    [(b.bus, b.ok, b.final, b.messages, len(b.unmatched)) for b in buses.buses],
                    [b.column.tolist() for b in buses.buses if b.column is not None],
                )
            )
        return out

    monkeypatch.setattr(K, "MIN_SIZE", 1)
    monkeypatch.setattr(K, "SMALL_SIZE", 1)
    assert K.load() is not None
    fast = run()
    monkeypatch.setenv("AIR_NO_NUMBA", "1")
    K._reset()
    try:
        slow = run()
    finally:
        monkeypatch.delenv("AIR_NO_NUMBA")
        K._reset()
    assert fast == slow
    assert fast[0][0] and not fast[1][0]  # the honest trace passes, the faulty one fails ...
    assert fast[1][1]  # ... with failing rows named


def test_no_numba_env_keeps_numpy(numpy_only) -> None:
    a, b = _operands(K.MIN_SIZE, seed=7)
    assert K.binary("mul", a, b) is None and K.scan_mul(a) is None and K.load_for(1 << 20) is None
    assert np.array_equal(F.mul(a, b), _np("mul", a, b))
