"""Trace files: round trips, and one precise error per kind of bad input."""

import json
import os

import numpy as np
import pytest

from air.examples.fibonacci import fibonacci_air, fibonacci_trace
from air.trace import TraceError, load_trace, save_trace

P = 2**64 - 2**32 + 1


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_round_trip(tmp_path, suffix) -> None:
    cols = {"a": np.array([0, 1, P - 1, 2**63], dtype=np.uint64), "b": np.array([5, 6, 7, P - 2], dtype=np.uint64)}
    path = save_trace(tmp_path / f"t{suffix}", cols, {"result": P - 1}, {"air": "fibonacci"})
    t = load_trace(path, fibonacci_air())
    assert t.n_rows == 4 and list(t.columns) == ["a", "b"]
    assert [int(v) for v in t.columns["a"]] == [0, 1, P - 1, 2**63]
    assert t.public_inputs == {"result": P - 1} and t.meta["air"] == "fibonacci"


def _csv(tmp_path, text: str):
    p = tmp_path / "t.csv"
    p.write_text(text)
    return p


def test_value_ge_p(tmp_path) -> None:
    p = _csv(tmp_path, f"a,b\n1,2\n3,{P}\n")
    with pytest.raises(TraceError, match=r"column 'b' row 1: value .* not a field element"):
        load_trace(p, require_pow2=True)


def test_non_numeric_cell(tmp_path) -> None:
    p = _csv(tmp_path, "a,b\n1,2\n3,x7\n")
    with pytest.raises(TraceError, match=r"column 'b' row 1: 'x7' is not an integer"):
        load_trace(p)


def test_missing_column(tmp_path) -> None:
    p = _csv(tmp_path, "a\n1\n2\n")
    with pytest.raises(TraceError, match=r"column 'b' of AIR 'fibonacci' is missing"):
        load_trace(p, fibonacci_air())


def test_not_power_of_two_and_ragged(tmp_path) -> None:
    with pytest.raises(TraceError, match="3 rows is not a power of two"):
        load_trace(_csv(tmp_path, "a,b\n1,2\n3,4\n5,6\n"))
    assert load_trace(_csv(tmp_path, "a,b\n1,2\n3,4\n5,6\n"), require_pow2=False).n_rows == 3
    with pytest.raises(TraceError, match="row 1 has 1 cells"):
        load_trace(_csv(tmp_path, "a,b\n1,2\n3\n"))


def test_random_bytes(tmp_path) -> None:
    for suffix in (".npz", ".parquet", ".csv"):
        p = tmp_path / f"junk{suffix}"
        p.write_bytes(os.urandom(3000))
        with pytest.raises(TraceError) as e:
            load_trace(p)
        assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_npz_floats_negatives_and_pickle_refused(tmp_path) -> None:
    p = tmp_path / "f.npz"
    np.savez(p, a=np.array([1.0, np.nan]), b=np.array([1, 2]))
    with pytest.raises(TraceError, match="column 'a' holds floating-point"):
        load_trace(p)
    np.savez(p, a=np.array([1, -3]), b=np.array([1, 2]))
    with pytest.raises(TraceError, match="column 'a' row 1: negative"):
        load_trace(p)
    np.savez(p, a=np.array([object(), 1], dtype=object), b=np.array([1, 2]))
    with pytest.raises(TraceError, match="pickle"):
        load_trace(p)


def test_meta_sidecar_bad_public_input(tmp_path) -> None:
    cols, pis = fibonacci_trace(4)
    path = save_trace(tmp_path / "f.csv", cols, pis)
    side = tmp_path / "f.csv.meta.json"
    doc = json.loads(side.read_text())
    doc["public_inputs"]["result"] = str(P + 5)
    side.write_text(json.dumps(doc))
    with pytest.raises(TraceError, match="public input 'result'"):
        load_trace(path)
