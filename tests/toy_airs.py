"""A toy AIR with an optional bus, and its honest trace (shared by the probe and coverage tests; not tests)."""

from __future__ import annotations

import numpy as np

from air.air import Air, Bus, BusTerm, Message
from air.trace import Trace

# s per row: runs of KEEP after KEEP so that the freed cells exist; s = 0 on the last row
S = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0]


# for the bus: 5 INC rows each requesting its c twice, 10 KEEP rows answering once (rows 0..14 carry messages)
S_BUS = [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0]


def toy(with_keep: bool = True, bus: bool = False) -> Air:
    air = Air("toy", "INC/KEEP", budget=3)
    s, a, b, c = air.columns("main", ["s", "a", "b", "c"])
    sched = air.periodic_column("sched", S_BUS if bus else S)
    inc = air.operation("INC", s)
    keep = air.operation("KEEP", 1 - s)
    air.transition("s_binary", s * s - s)
    air.transition("s_schedule", s - sched)  # the verifier's schedule: an INC row cannot pose as KEEP
    air.constrain("inc", body=a.next - a - b, operation=inc)
    if with_keep:
        air.constrain("keep", body=a.next - a, operation=keep)
    air.transition("b_const", b.next - b)
    air.boundary("b_first", b - 1)
    air.boundary("s_last", s, last=True)
    if bus:  # INC rows request (c) twice, KEEP rows answer (c) once: c is read by the bus only
        m = Message("val", 1, (("c", c),))
        air.bus(
            Bus(
                "vals",
                "multiset",
                "p",
                (BusTerm("req", "request", s, (m, m), operation="INC"), BusTerm("resp", "response", 1 - s, (m,))),
            )
        )
    else:
        air.transition("c_zero", c)
        air.boundary("c_last", c, last=True)
    return air


def toy_trace(bus: bool = False) -> Trace:
    sel = S_BUS if bus else S
    n = len(sel)
    a = [0]
    for i in range(n - 1):
        a.append(a[-1] + sel[i])
    c = [0] * n
    if bus:
        inc = [i for i in range(n - 1) if sel[i]]
        keep = [i for i in range(n - 1) if not sel[i]]
        assert 2 * len(inc) == len(keep)
        for k, i in enumerate(inc):
            c[i] = c[keep[2 * k]] = c[keep[2 * k + 1]] = 10 + 7 * k
    cols = {k: np.array(v, dtype=np.uint64) for k, v in (("s", sel), ("a", a), ("b", [1] * n), ("c", c))}
    return Trace(cols, n)
