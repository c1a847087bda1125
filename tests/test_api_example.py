"""An example, written as a user of ``air`` would write it: my own AIR, my own numpy trace, pytest.

pytest tests/test_api_example.py
"""

import numpy as np
import pytest

import air

P = air.P


def fibonacci_air() -> air.Air:
    """a' = b, b' = a + b; a = 1, b = 1 on the first row; b = the public output on the last row."""
    fib = air.Air("my-fibonacci", "my own Fibonacci AIR", budget=2)
    a, b = fib.columns("main", ["a", "b"])
    out = fib.public_input("out", "the last b")
    fib.transition("next_a", a.next - b)
    fib.transition("next_b", b.next - (a + b))
    fib.boundary("a_starts_at_1", a - 1)
    fib.boundary("b_starts_at_1", b - 1)
    fib.boundary("b_ends_at_out", b - out, last=True)
    return fib


def fibonacci_columns(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n rows of (F_i, F_{i+1}) mod p, computed with Python ints."""
    a, b = [1], [1]
    for _ in range(n - 1):
        a.append(b[-1])
        b.append((a[-2] + b[-1]) % P)
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


def test_my_trace_satisfies_my_air() -> None:
    a, b = fibonacci_columns(64)
    trace = air.Trace.from_columns({"a": a, "b": b}, public_inputs={"out": int(b[-1])})
    air.assert_satisfied(fibonacci_air(), trace)
    assert air.check(fibonacci_air(), trace).ok


def test_a_wrong_cell_is_reported_with_its_row() -> None:
    a, b = fibonacci_columns(64)
    b[10] += 1  # one wrong value: next_b fails on row 9 (b[10] != a[9] + b[9]) and next_a on row 10
    trace = air.Trace.from_columns({"a": a, "b": b}, public_inputs={"out": int(b[-1])})
    report = air.check(fibonacci_air(), trace)
    assert not report.ok
    assert {(f.name, f.rows) for f in report.failures} == {("next_b", (9, 10)), ("next_a", (10,))}
    with pytest.raises(AssertionError, match="next_b") as e:
        air.assert_satisfied(fibonacci_air(), trace)
    assert "row 9" in str(e.value)  # the text report, as `air check` prints it


def test_my_columns_are_validated() -> None:
    a, b = fibonacci_columns(8)
    with pytest.raises(air.TraceError, match="column 'b' row 3: value 18446744069414584321 is not a field element"):
        air.Trace.from_columns({"a": a, "b": [1, 1, 2, P, 5, 8, 13, 21]})
    with pytest.raises(air.TraceError, match="column 'a' row 1: negative value -1"):
        air.Trace.from_columns({"a": [0, -1, 0, 0, 0, 0, 0, 0], "b": b})
