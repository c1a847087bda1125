"""The vectorized checker: honest traces pass; a changed cell fails with its constraint and row; the
compiled program agrees with an independent Python-int evaluation."""

import numpy as np
import pytest

from air.air import Air
from air.compile import Program, eval_int
from air.evaluate import active_operations, cell_values, check, constraint_value
from air.examples.fibonacci import fibonacci_air, fibonacci_trace
from air.examples.stack_machine import stack_machine_air, stack_machine_trace
from air.trace import Trace, TraceError

P = 2**64 - 2**32 + 1


def test_fibonacci_honest_and_boundaries() -> None:
    cols, pis = fibonacci_trace(64)
    air = fibonacci_air()
    assert check(air, Trace(cols, 64, pis)).ok
    bad = check(air, Trace(cols, 64, {"result": 5}))
    assert [(f.constraint, f.rows.tolist()) for f in bad.failures] == [("b_last", [63])]
    with pytest.raises(TraceError, match="public input 'result'"):
        check(air, Trace(cols, 64, {}))


@pytest.fixture(scope="module")
def sm() -> tuple[Air, dict]:
    cols, _ = stack_machine_trace(1 << 10, seed=3)
    return stack_machine_air(), cols


def test_stack_machine_honest(sm) -> None:
    air, cols = sm
    assert check(air, Trace(cols, 1 << 10)).ok


def test_changed_cell_names_constraint_and_row(sm) -> None:
    air, cols = sm
    ops = active_operations(air, Trace(cols, 1 << 10), np.arange(1 << 10))
    row = next(i for i in range(1, 1000) if ops[i] == "ADD")
    bad = {k: v.copy() for k, v in cols.items()}
    bad["s0"][row + 1] = (int(bad["s0"][row + 1]) + 1) % P  # ADD's result on the next row
    res = check(air, Trace(bad, 1 << 10))
    names = {f.constraint: f.rows.tolist() for f in res.failures}
    assert row in names["ADD_s0"]
    t = Trace(bad, 1 << 10)
    cells = cell_values(air, "ADD_s0", t, row)
    assert cells["s0'"] == int(bad["s0"][row + 1]) and "s1" in cells
    assert constraint_value(air, "ADD_s0", t, row) == 1  # exactly the +1 we added


def test_compiled_program_matches_python_ints(sm) -> None:
    air, cols = sm
    rng = np.random.default_rng(11)
    n = 64
    names = [c.name for c in air.layout]
    env = {nm: rng.integers(0, P, size=n, dtype=np.uint64) for nm in names}
    env |= {nm + "'": rng.integers(0, P, size=n, dtype=np.uint64) for nm in names}
    exprs = [c.expr for c in air.constraints if c.domain == "transition"]
    got = Program(exprs).run(env)
    for e, v in zip(exprs, got):
        for i in range(0, n, 7):
            want = eval_int(e, {k: int(col[i]) for k, col in env.items()})
            assert int(np.broadcast_to(v, (n,))[i]) == want
