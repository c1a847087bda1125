"""Bus boundary messages from the public inputs (``BusBoundary``): matched like trace messages, entering the
accumulator's first value; a public table supplies one message per row. Known answers by Python ints."""

from __future__ import annotations

import numpy as np
import pytest

from air.air import Air, AirDefinitionError, Bus, BusBoundary, BusTerm, Message
from air.buscheck import check_buses
from air.symbols import PublicInput
from air.trace import Trace, load_trace, save_trace

P = 2**64 - 2**32 + 1


def _air(kind: str = "multiset") -> Air:
    """A column x read where f = 1 (request, label 7); the program's `h` (a public input) answers it at the
    boundary, and the rows of the table `procs` are requested at the boundary and answered by rows with g = 1."""
    air = Air("bnd", "bus boundaries", budget=4)
    f, g, x, y = air.columns("main", ["f", "g", "x", "y"])
    h = air.public_input("h")
    air.public_table("procs", 1)
    req = BusTerm("u_x", "request", f, (Message("read x", 7, (("x", x),)),))
    resp = BusTerm("v_y", "response", g, (Message("proc", 9, (("y", y),)),))
    bd = (
        BusBoundary("response", Message("read x", 7, (("x", h),))),
        BusBoundary("request", Message("proc", 9, (("y", 0),)), table="procs"),
    )
    zero = 0 if kind == "logup" else 1
    air.bus(Bus("b", kind, "acc", (req, resp), initial=zero, final=zero, boundary=bd))
    air.transition("f_bin", f * f - f)
    return air


def _trace(h: int, procs: list[int]) -> Trace:
    n = 8
    cols = {k: np.zeros(n, dtype=np.uint64) for k in ("f", "g", "x", "y")}
    cols["f"][2], cols["x"][2] = 1, 555
    for i, p in enumerate((11, 22)):
        cols["g"][4 + i], cols["y"][4 + i] = 1, p
    return Trace(cols, n, public_inputs={"h": h}, public_tables={"procs": [(p,) for p in procs]})


@pytest.mark.parametrize("kind", ["multiset", "logup"])
def test_boundary_messages_balance_the_bus(kind: str) -> None:
    r = check_buses(_air(kind), _trace(555, [11, 22]), challenges=[3, 5, 7])
    assert r.ok and r.buses[0].final == (0 if kind == "logup" else 1)


def test_initial_value_follows_the_boundary_messages() -> None:
    """b[0] = prod(boundary responses) / prod(boundary requests), checked through the final value of an
    unbalanced trace: with h = 556 the final value is v(556)^-1... recomputed here by hand."""
    a = [3, 5, 7]

    def v(label: int, x: int) -> int:
        return (a[0] + a[1] * label + a[2] * x) % P

    r = check_buses(_air(), _trace(556, [11, 22]), challenges=a)
    # responses: boundary v(7,556), rows v(9,11) v(9,22); requests: row v(7,555), boundary v(9,11) v(9,22)
    want = v(7, 556) * pow(v(7, 555), P - 2, P) % P
    assert r.buses[0].final == want
    text = r.render()
    assert "read x x=556, answered by the public inputs (bus boundary), no request" in text
    assert "read x x=555, requested by" in text and "row 2" in text


def test_a_missing_table_row_is_named() -> None:
    r = check_buses(_air(), _trace(555, [11]), challenges=[3, 5, 7])
    (u,) = r.buses[0].unmatched
    assert (u.side, u.label, u.fields, u.row) == ("response", "proc", (("y", 22),), 5)


def test_boundaries_are_validated() -> None:
    air = Air("bad", "x", budget=2)
    (x,) = air.columns("main", ["x"])
    term = BusTerm("t", "request", x, (Message("m", 1, (("x", x),)),))
    air.bus(Bus("b", "multiset", "acc", (term,), boundary=(BusBoundary("response", Message("m", 1, (("x", x),))),)))
    with pytest.raises(AirDefinitionError, match="only constants and public inputs"):
        air.validate()
    air2 = Air("bad2", "x", budget=2)
    (x,) = air2.columns("main", ["x"])
    bd = BusBoundary("request", Message("m", 1, (("a", 0), ("b", 0))), table="nope")
    term2 = BusTerm("t", "request", x, (Message("m", 1, (("x", x),)),))
    air2.bus(Bus("b", "multiset", "acc", (term2,), boundary=(bd,)))
    with pytest.raises(AirDefinitionError, match="public table 'nope' is not declared"):
        air2.validate()
    air2.public_table("nope", 1)
    with pytest.raises(AirDefinitionError, match="2 fields, table 'nope' has 1 columns"):
        air2.validate()
    assert isinstance(PublicInput("h"), PublicInput)


def test_public_tables_round_trip_through_files(tmp_path) -> None:
    t = _trace(555, [11, 22])
    for name in ("t.npz", "t.csv"):
        path = save_trace(tmp_path / name, t.columns, public_inputs=t.public_inputs, public_tables=t.public_tables)
        back = load_trace(path)
        assert back.public_tables == {"procs": [(11,), (22,)]} and back.public_inputs == {"h": 555}
        assert check_buses(_air(), back, challenges=[3, 5, 7]).ok


def test_a_ragged_public_table_is_bad_input(tmp_path) -> None:
    import json

    from air.trace import TraceError

    t = _trace(555, [11, 22])
    path = save_trace(tmp_path / "t.csv", t.columns)
    side = tmp_path / "t.csv.meta.json"
    doc = json.loads(side.read_text())
    doc["public_inputs"] = {"procs": [["1", "2"], ["3"]]}
    side.write_text(json.dumps(doc))
    with pytest.raises(TraceError, match="row 1 has 1 values, row 0 has 2"):
        load_trace(path)
