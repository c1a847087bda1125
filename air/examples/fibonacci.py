"""Fibonacci: columns ``a, b`` with ``a' = b``, ``b' = a + b``, ``a[0] = b[0] = 1`` and ``b[last]``
a public input. Trace generator included."""

from __future__ import annotations

import numpy as np

from air.air import Air

P = 2**64 - 2**32 + 1


def fibonacci_air() -> Air:
    air = Air("fibonacci", "Fibonacci: two columns, a' = b, b' = a + b", budget=2)
    a, b = air.columns("main", ["a", "b"])
    result = air.public_input("result", "b on the last row")
    air.transition("fib_a", a.next - b, claimed_degree=1)
    air.transition("fib_b", b.next - a - b, claimed_degree=1)
    air.boundary("a_first", a - 1)
    air.boundary("b_first", b - 1)
    air.boundary("b_last", b - result, last=True)
    return air


def fibonacci_trace(n_rows: int) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """An honest trace of ``n_rows`` rows and its public inputs."""
    a, b = 1, 1
    av, bv = [], []
    for _ in range(n_rows):
        av.append(a)
        bv.append(b)
        a, b = b, (a + b) % P
    cols = {"a": np.array(av, dtype=np.uint64), "b": np.array(bv, dtype=np.uint64)}
    return cols, {"result": bv[-1]}
