"""The compiled tape's sparse outputs, its tables over 0/1 cells and its reading of a chunk's matrix in place
(air/compile.py, air/_numba_kernels.run_tape): every output must be the polynomial's value on every input.

The references are Python ints (``eval_int``, row by row) and the numpy evaluator (the kernels off), never
the tape itself. Inputs include blocks of rows where a "0/1" cell is not 0 or 1 (a tampered operation bit),
where the tables must not be used.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from air import kernels as K
from air.compile import Program, eval_int

P = 2**64 - 2**32 + 1
N = 5000  # several blocks of 1024 rows, and a short last one


def _columns(seed: int) -> dict[str, np.ndarray]:
    """a, b, d: 0/1 cells (a is 2 and b is p-1 on one row each: two blocks are not 0/1); c: any field element."""
    rng = np.random.default_rng(seed)
    cols = {
        "a": (rng.random(N) < 0.3).astype(np.uint64),
        "b": (rng.random(N) < 0.5).astype(np.uint64),
        "c": rng.integers(0, P, N, dtype=np.uint64),
        "d": (rng.random(N) < 0.5).astype(np.uint64),
    }
    cols["a"][1500] = 2
    cols["b"][4100] = P - 1
    cols["c"][:3] = [0, 1, P - 1]
    return cols


a, b, c, d = sp.symbols("a b c d")
EXPRS = [
    a * b,  # a flag
    a * (1 - b) * c,  # a flag times a cell
    c - c,  # zero everywhere
    (1 - a) * (1 - b) + a * b * d,  # a sum of flags: one table
    c * a * b + c * (1 - a) * d + c * b * (1 - d) - c**2,  # X*f1 + X*f2 + X*f3: regrouped as X*(f1+f2+f3)
    a * b * c + 1,  # never zero
    sp.Integer(0) * a,
    sp.Integer(5),  # a constant output
    a + b + d - 2 * a * b + sp.Rational(1, 2) * d,  # a field inverse inside a table
]


def _python(cols: dict[str, np.ndarray], row: int) -> list[int]:
    env = {k: int(v[row]) for k, v in cols.items()}
    return [eval_int(sp.sympify(e), env) for e in EXPRS]


def _program() -> Program:
    prog = Program(EXPRS)
    prog.inputs = {"a", "b", "c", "d"}  # plain sympy symbols stand for columns here
    return prog


def _check_sparse(got: list, cols: dict[str, np.ndarray]) -> None:
    """Every output's entries are exactly its nonzero rows (ascending) with the Python-int values."""
    rows = [0, 1, 2, 1023, 1024, 1500, 2047, 3000, 4100, N - 1]
    want = {r: _python(cols, r) for r in rows}
    for k, (at, val) in enumerate(got):
        assert (np.diff(at) > 0).all()
        assert (val != 0).all()
        found = dict(zip(at.tolist(), val.tolist()))
        for r in rows:
            assert found.get(r, 0) == want[r][k], (k, r)


def _numpy_dense(prog: Program, env: dict, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    monkeypatch.setattr(K, "MIN_SIZE", 1 << 62)
    monkeypatch.setattr(K, "SMALL_SIZE", 1 << 62)
    try:
        return [np.broadcast_to(np.asarray(v, dtype=np.uint64), (N,)) for v in Program(EXPRS).run(env)]
    finally:
        monkeypatch.setattr(K, "MIN_SIZE", 1)
        monkeypatch.setattr(K, "SMALL_SIZE", 1)


def test_sparse_outputs_are_the_nonzero_rows(kernels_everywhere, monkeypatch: pytest.MonkeyPatch) -> None:
    cols = _columns(1)
    prog = _program()
    tape = prog.tape()
    tape._density = np.zeros(len(EXPRS))  # no hint: the buffers must grow, several times, mid-run
    got = prog.run_sparse(cols, N)
    _check_sparse(got, cols)
    dense = _numpy_dense(prog, cols, monkeypatch)
    for (at, val), v in zip(got, dense):
        assert np.array_equal(at, np.flatnonzero(v)) and np.array_equal(val, v[at])
    assert [len(at) for at, _ in prog.run_sparse(cols, N)] == [len(at) for at, _ in got]  # with a hint now


def test_tables_give_the_same_values_on_every_input(kernels_everywhere, monkeypatch: pytest.MonkeyPatch) -> None:
    cols = _columns(2)
    plain = _program().run_sparse(cols, N)
    prog = _program()
    used = prog.tabulate(["a", "b", "d", "not_a_cell"])
    assert sorted(used) == ["a", "b", "d"]
    tape = prog.tape()
    # the sums of flags became lookups: fewer ops run on a 0/1 block (each table has 2^3 entries)
    assert (tape.ops_bin[:, 0] == 5).any() and len(tape.ops_bin) < len(tape.ops)
    assert len(tape.tables) == 8 * len(tape.luts)
    got = prog.run_sparse(cols, N)
    _check_sparse(got, cols)
    for (a1, v1), (a2, v2) in zip(got, plain):
        assert np.array_equal(a1, a2) and np.array_equal(v1, v2)
    dense = prog.tape().run(cols, N)  # the dense outputs read the same tables
    assert dense is not None
    for (at, _), v in zip(got, dense):
        assert np.array_equal(at, np.flatnonzero(v))


def test_a_wrong_guess_of_a_cell_costs_only_speed(kernels_everywhere) -> None:
    """c is declared a 0/1 cell but is not on any block: every block runs the polynomials as written."""
    cols = _columns(3)
    prog = _program()
    assert "c" in prog.tabulate(["a", "b", "c", "d"])
    _check_sparse(prog.run_sparse(cols, N), cols)


def test_regrouped_sums_keep_their_value(kernels_everywhere) -> None:
    """X*f1 + X*f2 + X*f3 - X^2 is lowered as X*(f1 + f2 + f3) - X^2 around the cells: one multiplication by X."""
    e = EXPRS[4]
    plain, grouped = Program([e]), Program([e])
    plain.inputs = grouped.inputs = {"a", "b", "c", "d"}
    grouped.tabulate(["a", "b", "d"])

    def muls(ops: np.ndarray) -> int:
        return int((ops[:, 0] == 3).sum())

    assert muls(grouped.tape().ops) < muls(plain.tape().ops)
    cols = _columns(4)
    (at, val), = grouped.run_sparse(cols, N)
    want = [_python(cols, r)[4] for r in range(N)]
    assert dict(zip(at.tolist(), val.tolist())) == {r: v for r, v in enumerate(want) if v}


@pytest.mark.parametrize("numba_on", [True, False])
def test_run_matrix_reads_rows_shifts_and_selections(numba_on: bool, monkeypatch: pytest.MonkeyPatch, request) -> None:
    """x is mat[i, r], x' is mat[i, r + 1]; a slice of rows or an index array; dense or sparse; the tape and
    numpy read the same cells."""
    if numba_on:
        assert K.load() is not None
        monkeypatch.setattr(K, "MIN_SIZE", 1)
        monkeypatch.setattr(K, "SMALL_SIZE", 1)
    else:  # as AIR_NO_NUMBA=1: once loaded, the kernels run a program of any length
        monkeypatch.setenv("AIR_NO_NUMBA", "1")
        K._reset()
        assert K.loaded() is None and K.load() is None
        request.addfinalizer(K._reset)
    cols = _columns(5)
    mat = np.ascontiguousarray(np.array([cols["c"], cols["a"]]))
    x, xn, y, w = sp.symbols("x x' y w")
    prog = Program([x * xn + y - w, x - xn, (1 - y) * xn])
    prog.inputs = {"x", "x'", "y"}
    col_of = {"x": (0, 0), "x'": (0, 1), "y": (1, 0)}
    scal = {"w": np.array(7, dtype=np.uint64)}
    sel = np.array([0, 5, 6, 1023, 1024, 1500, 4000, N - 2])

    def want(r: int) -> list[int]:
        xv, xnv, yv = int(cols["c"][r]), int(cols["c"][r + 1]), int(cols["a"][r])
        return [(xv * xnv + yv - 7) % P, (xv - xnv) % P, (1 - yv) * xnv % P]

    dense = prog.run_matrix(mat, col_of, scal, sel)
    assert [[int(v[i]) for v in dense] for i in range(len(sel))] == [want(r) for r in sel.tolist()]
    sparse = prog.run_matrix(mat, col_of, scal, slice(100, N - 1), sparse=True)
    for k, (at, val) in enumerate(sparse):
        got = dict(zip(at.tolist(), val.tolist()))
        for r in (100, 101, 1500, 4100, N - 2):
            assert got.get(r - 100, 0) == want(r)[k]


def test_chunked_check_with_tables_equals_the_numpy_single_pass(kernels_everywhere, monkeypatch) -> None:
    """The executor trace with faults at chunk boundaries (tests/test_chunked.py) and, in addition, an operation
    bit set to 2 and a chiplet selector set to p-1: the chunked check on the compiled tape with its tables gives
    the JSON report of the single pass run by numpy."""
    import air.chunked as C
    from air.buscheck import check_buses
    from air.check_plan import build_plan, split
    from air.chunked import check_chunked
    from air.diagnose import diagnose, to_json
    from air.evaluate import check, check_multiplicities
    from air.trace import Trace
    from tests.test_chunked import _faulty

    air, t = _faulty()
    # the cells guessed 0/1 from the trace before the tampering below (the sample would see it in so short a
    # trace, and leave b0 out of the tables): the block of row 100 must then run the polynomials as written
    guess = C._binary_cells
    cells = guess(air.periodic, t, {i for c in air.constraints for i in Program([c.expr]).inputs})
    assert {"b0", "chip1"} <= set(cells)
    monkeypatch.setattr(C, "_binary_cells", lambda periodic, trace, names: [n for n in cells if n in names])
    import air.check_plan as CP

    monkeypatch.setattr(CP, "_binary_cells", C._binary_cells)
    cols = {k: v.copy() for k, v in t.columns.items()}
    cols["b0"][100] = 2
    cols["chip1"][200] = P - 1
    t = Trace(cols, t.n_rows, t.public_inputs, t.meta, t.source, t.public_tables)
    cons, skipped = split(air)
    tape = build_plan(air, t, cons, skipped).progs["flags"].tape()
    assert "b0" in [tape.slots[j] for j, _, _ in tape._bits]  # tables are in use, over b0
    fast = check_chunked(air, t, seed=7, chunk_rows=64)
    got = to_json(diagnose(air, t, fast.result, max_failures=10_000), fast.buses)
    from air.coverage import operations_occurring

    # the operations read once per combination of their bits (and on every row of the chunk with b0 = 2)
    assert fast.operations == operations_occurring(air, t) and fast.operations
    monkeypatch.setenv("AIR_NO_NUMBA", "1")
    K._reset()
    try:
        result = check(air, t)
        check_multiplicities(air, t)
        ref = to_json(diagnose(air, t, result, max_failures=10_000), check_buses(air, t, seed=7))
    finally:
        monkeypatch.delenv("AIR_NO_NUMBA")
        K._reset()
    rows = {r["row"] for f in ref["failures"] for r in f["rows"]}
    assert {99, 100}.issubset(rows) and {199, 200} & rows  # the new faults are found by the reference
    for k in ref:
        assert json.dumps(got[k], sort_keys=True) == json.dumps(ref[k], sort_keys=True), k
