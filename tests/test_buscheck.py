"""Bus balance: exact unmatched messages with row and operation, and the running product checked
against an independent Python-int computation."""

import numpy as np
import pytest
import sympy as sp

from air.air import Air, Bus, BusTerm, Message
from air.buscheck import challenges_from_seed, check_buses
from air.trace import Trace

P = 2**64 - 2**32 + 1


def toy() -> Air:
    air = Air("toy-mem", "requests and responses of (addr, value)", budget=9, n_challenges=4)
    op_w, is_resp, addr, val = air.columns("main", ["op_write", "is_resp", "addr", "val"])
    air.operation("WRITE", op_w, 1)
    req = Message("memory write", 4, (("addr", addr), ("value", val)))
    resp = Message("memory access", 4, (("addr", addr), ("value", val)))
    air.bus(Bus("mem", "multiset", "b", (
        BusTerm("u_write", "request", op_w, (req,), ("m_write",), "WRITE"),
        BusTerm("v_mem", "response", is_resp, (resp,), ("v_mem",), None),
    )))  # fmt: skip
    return air


def toy_trace() -> dict[str, np.ndarray]:
    # rows 0-3 write (addr, value); rows 4-7 the memory answers them in another order; row 8+ idle
    n = 16
    cols = {k: np.zeros(n, dtype=np.uint64) for k in ("op_write", "is_resp", "addr", "val")}
    writes = [(10, 100), (11, 111), (10, 5), (2**32 - 2, 2**31)]
    for i, (a, v) in enumerate(writes):
        cols["op_write"][i], cols["addr"][i], cols["val"][i] = 1, a, v
    for i, (a, v) in enumerate(reversed(writes)):
        cols["is_resp"][4 + i], cols["addr"][4 + i], cols["val"][4 + i] = 1, a, v
    return cols


def test_honest_trace_balances() -> None:
    air = toy()
    rep = check_buses(air, Trace(toy_trace(), 16), seed=3)
    assert rep.ok and rep.buses[0].final == 1 and rep.buses[0].messages == 8


def test_removed_response_is_named() -> None:
    air = toy()
    cols = toy_trace()
    cols["is_resp"][4] = 0  # the answer to the write of (2^32 - 2, 2^31) at row 3
    rep = check_buses(air, Trace(cols, 16), seed=3)
    assert not rep.ok
    (u,) = rep.buses[0].unmatched
    assert (u.side, u.row, u.operation, u.label) == ("request", 3, "WRITE", "memory write")
    assert dict(u.fields) == {"addr": 2**32 - 2, "value": 2**31}
    assert "memory write addr=4294967294 value=2147483648, requested by WRITE at row 3, no response" in u.describe()
    assert rep.buses[0].totals["memory write (label 4)"] == {"request": 4, "response": 3}


def test_changed_value_pairs_request_with_response() -> None:
    air = toy()
    cols = toy_trace()
    cols["val"][1] = 112  # the write at row 1 says 112; the memory (row 6) answers 111
    rep = check_buses(air, Trace(cols, 16), seed=3)
    b = rep.buses[0]
    assert [(u.side, u.row) for u in b.unmatched] == [("request", 1), ("response", 6)]
    (m,) = b.near
    assert (m.request.row, m.response.row, m.differences) == (1, 6, (("value", 112, 111),))
    assert "row 1 and the response by term v_mem at row 6 differ only in value: 112 requested, 111" in m.describe()
    # two fields of two changed: too different to call it one message
    cols["addr"][1] = 99
    assert check_buses(air, Trace(cols, 16), seed=3).buses[0].near == []


def test_unlabelled_bus_keeps_every_field() -> None:
    air = Air("toy-stack", "a labelless bus", budget=9, n_challenges=4)
    push, pop, blk = air.columns("main", ["push", "pop", "blk"])
    row = Message("stack row", None, (("blk", blk),))
    air.bus(Bus("s", "multiset", "p", (BusTerm("v", "response", push, (row,)), BusTerm("u", "request", pop, (row,)))))
    cols = {k: np.zeros(4, dtype=np.uint64) for k in ("push", "pop", "blk")}
    cols["push"][0], cols["blk"][0] = 1, 7
    cols["pop"][1], cols["blk"][1] = 1, 8
    b = check_buses(air, Trace(cols, 4), seed=1).buses[0]
    assert sorted(dict(u.fields)["blk"] for u in b.unmatched) == [7, 8]
    assert b.totals == {"stack row": {"request": 1, "response": 1}}


def test_running_product_matches_python_ints() -> None:
    air = toy()
    cols = toy_trace()
    cols["val"][5] = 7  # now unbalanced: the product is not 1
    ch = challenges_from_seed(air, 9)
    rep = check_buses(air, Trace(cols, 16), challenges=ch)
    acc = 1
    for i in range(15):
        msg = (ch[0] + ch[1] * 4 + ch[2] * int(cols["addr"][i]) + ch[3] * int(cols["val"][i])) % P
        if cols["op_write"][i]:
            acc = acc * pow(msg, P - 2, P) % P
        if cols["is_resp"][i]:
            acc = acc * msg % P
    assert rep.buses[0].final == acc != 1
    sides = sorted(u.side for u in rep.buses[0].unmatched)
    assert sides == ["request", "response"]


@pytest.mark.parametrize("seed", [0, 1])
def test_report_renders(seed) -> None:
    air = toy()
    cols = toy_trace()
    cols["is_resp"][6] = 0
    rep = check_buses(air, Trace(cols, 16), seed=seed)
    text = rep.render()
    assert (
        "NOT balanced" in text
        and "no response" in text
        and "totals memory write (label 4): 4 requested, 3 answered" in text
    )
    doc = rep.unmatched_json()
    assert doc[0]["row"] == 1 and doc[0]["fields"] == {"addr": "11", "value": "111"}


def test_grouping_matches_numpy_unique() -> None:
    from air.buscheck import _group_rows

    rng = np.random.default_rng(5)
    keys = rng.integers(0, 4, size=(5000, 6), dtype=np.uint64)  # many duplicates
    keys[::7, 2] = P - 1
    uniq, inv = _group_rows(keys)
    ref, ref_inv = np.unique(keys, axis=0, return_inverse=True)
    assert len(uniq) == len(ref)
    assert (uniq[inv] == keys).all()  # every row maps to an equal distinct row
    assert sorted(np.bincount(inv).tolist()) == sorted(np.bincount(ref_inv.reshape(-1)).tolist())


def _accumulator_air() -> Air:
    """Under the challenges (0, 1) a message (x) has the value x: a multiset bus answered by r and requested by q
    (flag f), and a LogUp bus adding m/1 per row, both starting at 7."""
    air = Air("acc", "accumulators", n_challenges=2)
    r, q, f, m, one = air.columns("main", ["r", "q", "f", "m", "one"])
    val = lambda e: (Message("v", None, (("x", e),)),)  # noqa: E731
    air.bus(
        Bus(
            "prod",
            "multiset",
            "bp",
            (BusTerm("resp", "response", 1, val(r)), BusTerm("req", "request", f, val(q))),
            initial=sp.Integer(7),
        )
    )
    add = BusTerm("add", "response", 1, val(one), multiplicity=m)
    air.bus(Bus("sum", "logup", "bs", (add,), initial=sp.Integer(7)))
    return air


@pytest.mark.parametrize("n", [1, 5, 2048, 2049, 5000, 3 * 1024 * 1024 // 1000])
def test_accumulators_match_python_ints(n) -> None:
    """The accumulator columns the bus check builds (``BusResult.column``), against Python ints."""
    rng = np.random.default_rng(n)
    resp = rng.integers(1, P, size=n, dtype=np.uint64)
    req = rng.integers(1, P, size=n, dtype=np.uint64)
    flag = np.ones(n, dtype=np.uint64)
    flag[::3] = 0  # rows without a request
    prod, total = [7], [7]
    for a, b, f in zip(resp.tolist(), req.tolist(), flag.tolist()):
        prod.append(prod[-1] * a * pow(b if f else 1, P - 2, P) % P)
        total.append((total[-1] + a) % P)
    pad = np.zeros(1, dtype=np.uint64)  # the last row is no transition: its cells are never read
    cols = {
        "r": np.concatenate([resp, pad]),
        "q": np.concatenate([req, pad]),
        "f": np.concatenate([flag, pad]),
        "m": np.concatenate([resp, pad]),
        "one": np.ones(n + 1, dtype=np.uint64),
    }
    air = _accumulator_air()
    rep = check_buses(air, Trace(cols, n + 1), challenges=[0, 1])
    assert rep.buses[0].column.tolist() == prod
    assert rep.buses[1].column.tolist() == total
    i = next((i for i in range(n // 2, n) if flag[i]), None)  # a requested row
    if i is None:
        return
    cols["q"][i] = 0
    with pytest.raises(ZeroDivisionError, match=f"row {i}"):
        check_buses(air, Trace(cols, n + 1), challenges=[0, 1])


def test_grouping_survives_hash_collisions(monkeypatch) -> None:
    import air.buscheck as bc

    monkeypatch.setattr(bc, "_row_hash", lambda keys: np.zeros(len(keys), dtype=np.uint64))  # all collide
    keys = np.array([[1, 2], [3, 4], [1, 2], [5, 6]], dtype=np.uint64)
    uniq, inv = bc._group_rows(keys)
    assert len(uniq) == 3 and (uniq[inv] == keys).all() and inv[0] == inv[2] != inv[1]
    # and through the bus check: a collision must not merge a request with a different response
    cols = toy_trace()
    cols["val"][1] = 112
    b = check_buses(toy(), Trace(cols, 16), seed=3).buses[0]
    assert [(u.side, u.row) for u in b.unmatched] == [("request", 1), ("response", 6)]


def test_running_product_follows_the_bus_polynomial_for_any_flag() -> None:
    # a request flag of 2 (not a 0/1 selector): the bus polynomial's request side is 1 + 2*(u - 1), not u
    air = toy()
    cols = toy_trace()
    cols["op_write"][0] = 2
    alphas = challenges_from_seed(air, 3)
    rep = check_buses(air, Trace(cols, 16), challenges=alphas)

    def u(a: int, v: int) -> int:
        return (alphas[0] + alphas[1] * 4 + alphas[2] * a + alphas[3] * v) % P

    num = den = 1
    for i in range(15):
        f_req, f_resp = int(cols["op_write"][i]), int(cols["is_resp"][i])
        a, v = int(cols["addr"][i]), int(cols["val"][i])
        den = den * (1 + f_req * (u(a, v) - 1)) % P
        num = num * (1 + f_resp * (u(a, v) - 1)) % P
    assert rep.buses[0].final == num * pow(den, P - 2, P) % P != 1


def test_logup_multiplicity_that_is_not_a_count_is_listed_once() -> None:
    # a LogUp request whose multiplicity is a large field element (a flag made non-binary by a tampered bit)
    air = Air("toy-logup", "range-check requests", budget=9, n_challenges=4)
    f, v = air.columns("main", ["f", "v"])
    msg = Message("16-bit range check", None, (("v", v),))
    air.bus(Bus("r", "logup", "b", (BusTerm("u", "request", f, (msg,), multiplicity=f),), initial=0, final=0))
    cols = {k: np.zeros(4, dtype=np.uint64) for k in ("f", "v")}
    cols["f"][0], cols["v"][0] = 2, 9  # a count: listed twice
    cols["f"][1], cols["v"][1] = P - 3, 8  # -3: a count of the other side, 3 responses (a signed multiplicity)
    cols["f"][2], cols["v"][2] = 2**40, 7  # neither a count nor minus one: listed once
    b = check_buses(air, Trace(cols, 4), seed=1).buses[0]
    assert not b.ok
    got = sorted((dict(u.fields)["v"], u.side, u.count) for u in b.unmatched)
    assert got == [(7, "request", 1), (8, "response", 3), (9, "request", 2)]
