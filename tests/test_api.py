"""The Python API: load_air, Trace.from_columns, check (constraints and buses), assert_satisfied."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import air
from air.air import Air, Bus, BusTerm, Message

P = 2**64 - 2**32 + 1


def test_public_names_are_exported_and_documented() -> None:
    for name in air.__all__:
        obj = getattr(air, name)
        assert name == "P" or (obj.__doc__ or "").strip(), name
        assert not name.startswith("_")
    assert {"load_air", "check", "assert_satisfied", "Report", "Trace"} <= set(air.__all__)
    assert not hasattr(air, "_load_air") and "_as_array" not in air.__all__


def test_load_air_specs(tmp_path) -> None:
    assert air.load_air("fibonacci").name == "fibonacci"
    assert air.load_air("air.examples.fibonacci:fibonacci_air").column_names == ["a", "b"]
    src = tmp_path / "mine.py"
    src.write_text(
        "from air import Air\ndef make():\n    a = Air('mine', 'x', budget=3)\n    x, = a.columns('m', ['x'])\n"
        "    a.transition('c', x.next - x)\n    return a\n"
    )
    assert air.load_air(f"{src}:make").name == "mine"
    with pytest.raises(air.AirNotFound, match="unknown AIR 'nope'"):
        air.load_air("nope")
    src.write_text("def make():\n    raise RuntimeError('my bug')\n")
    with pytest.raises(air.AirNotFound, match=f"RuntimeError: my bug at {src}:2"):
        air.load_air(f"{src}:make")


@pytest.mark.parametrize(
    "columns,needle",
    [
        ({"a": [1, 2, 3, 4], "b": [1, 2, 3]}, "column 'b' has 3 rows, others have 4"),
        ({"a": [1, 2, 3]}, "3 rows is not a power of two"),
        ({"a": [1, 2, 3.5, 4]}, "column 'a' row 2: 3.5 is a float"),
        ({"a": np.array([1.0, 2.0, 3.0, 4.0])}, "column 'a' holds floating-point values"),
        ({"a": [1, None, 3, 4]}, "column 'a' row 1: None is a NoneType"),
        ({"a": ["1", "2", "3", "4"]}, "column 'a' row 0: '1' is a str"),
        ({"a": np.array([0, 0, -5, 0], dtype=np.int64)}, "column 'a' row 2: negative value -5"),
        ({"a": [0, 0, 0, -1]}, "column 'a' row 3: negative value -1"),
        ({"a": [0, 2**64, 0, 0]}, "column 'a' row 1: value 18446744073709551616 is not a field element"),
        ({"a": np.array([0, 0, 0, P], dtype=np.uint64)}, "column 'a' row 3: value 18446744069414584321 is not a field"),
        ({"a": np.zeros((4, 2), dtype=np.uint64)}, "column 'a' has shape (4, 2)"),
        ({"a": []}, "the trace has no rows"),
        ({}, "non-empty mapping"),
    ],
)
def test_from_columns_refuses(columns, needle) -> None:
    with pytest.raises(air.TraceError) as e:
        air.Trace.from_columns(columns)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_from_columns_normalises() -> None:
    big = P - 1  # 2^64 - 2^32: numpy alone turns [big, 1] into floats
    t = air.Trace.from_columns(
        {"a": [big, 1, 0, 2], "b": np.array([1, 2, 3, 4], dtype=np.int32), "c": [True, False, True, True]},
        public_inputs={"out": np.uint64(7)},
        public_tables={"tab": [[1, 2], [3, 4]]},
    )
    assert t.n_rows == 4 and all(v.dtype == np.uint64 for v in t.columns.values())
    assert t.columns["a"].tolist() == [big, 1, 0, 2] and t.columns["c"].tolist() == [1, 0, 1, 1]
    assert t.public_inputs == {"out": 7} and t.public_tables == {"tab": [(1, 2), (3, 4)]}
    assert air.Trace.from_columns({"a": [1, 2, 3]}, require_pow2=False).n_rows == 3
    with pytest.raises(air.TraceError, match="public input 'out' = 18446744069414584321 is not a field element"):
        air.Trace.from_columns({"a": [1, 2]}, public_inputs={"out": P})


def permutation_air() -> Air:
    """x's values are a permutation of y's: a multiset bus, x requested and y answered on every row but the last."""
    a = Air("perm", "x is a permutation of y", budget=3, n_challenges=2)
    x, y, s = a.columns("main", ["x", "y", "s"])
    a.transition("s_binary", s * (s - 1))
    a.bus(
        Bus(
            "perm",
            "multiset",
            "p",
            (
                BusTerm("req", "request", sp.Integer(1), (Message("x", None, (("v", x),)),)),
                BusTerm("resp", "response", sp.Integer(1), (Message("y", None, (("v", y),)),)),
            ),
        )
    )
    return a


def test_check_covers_constraints_and_buses() -> None:
    perm = permutation_air()
    good = air.Trace.from_columns({"x": [3, 1, 2, 0], "y": [1, 2, 3, 9], "s": [0, 1, 1, 0]})
    r = air.check(perm, good)
    assert r.ok and r.failures == [] and isinstance(r.seed, int) and len(r.challenges) == 2
    bad = air.Trace.from_columns({"x": [3, 1, 5, 0], "y": [1, 2, 3, 9], "s": [0, 2, 1, 0]})
    r = air.check(perm, bad, seed=7)
    kinds = {(f.kind, f.name): f.rows for f in r.failures}
    # s = 2 on row 1: 2*(2-1) != 0; x = 5 (row 2) is requested, never answered; y = 2 (row 1) answered, not requested
    assert kinds == {("constraint", "s_binary"): (1,), ("bus", "perm"): (1, 2)}
    assert "bus perm: NOT balanced" in r.text() and "seed 7" in r.text()
    again = air.check(perm, bad, seed=7)
    assert again.challenges == r.challenges and again.text() == r.text()
    with pytest.raises(AssertionError, match="s_binary") as e:
        air.assert_satisfied(perm, bad)
    assert "NOT balanced" in str(e.value)
    air.assert_satisfied(perm, good, challenges=[5, 11])


def test_check_names_a_missing_column() -> None:
    with pytest.raises(air.TraceError, match="column 'y' of AIR 'perm' is missing"):
        air.check(permutation_air(), air.Trace.from_columns({"x": [1, 2], "s": [0, 0]}))


def test_check_takes_a_spec_and_a_trace_file(tmp_path) -> None:
    from air.examples.fibonacci import fibonacci_trace

    cols, pis = fibonacci_trace(16)
    path = air.save_trace(tmp_path / "fib.npz", cols, pis)
    assert air.check("fibonacci", path).ok and air.check("fibonacci", str(path)).ok
    cols["b"][5] = (int(cols["b"][5]) + 1) % P
    bad = air.save_trace(tmp_path / "bad.csv", cols, pis)
    r = air.check("fibonacci", bad)
    assert not r.ok and ("constraint", "fib_b") in {(f.kind, f.name) for f in r.failures}
