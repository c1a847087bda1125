"""diagnose: the operation flags are evaluated once per report (not once per failing constraint), and the
operations it names agree with an independent per-row reading of the flags."""

import numpy as np

import air.evaluate as evaluate_module
from air.diagnose import diagnose
from air.evaluate import active_operations, check
from air.examples.stack_machine import stack_machine_air, stack_machine_trace
from air.trace import Trace

P = 2**64 - 2**32 + 1


def test_diagnose_reads_operation_flags_once(monkeypatch) -> None:
    air = stack_machine_air()
    n = 1 << 9
    cols, _ = stack_machine_trace(n, seed=3)
    bad = {k: v.copy() for k, v in cols.items()}
    for r in (40, 90, 200, 300):  # stack cells forged on four rows: several constraints fail
        bad["s0"][r] = (int(bad["s0"][r]) + 5) % P
        bad["s2"][r] = (int(bad["s2"][r]) + 3) % P
    trace = Trace(bad, n)
    res = check(air, trace)
    assert len(res.failures) >= 3
    calls: list[int] = []

    def counting(air_, trace_, rows):
        calls.append(len(rows))
        return active_operations(air_, trace_, rows)

    monkeypatch.setattr(evaluate_module, "active_operations", counting)  # diagnose imports it when it runs
    d = diagnose(air, trace, res)
    assert len(calls) == 1  # one evaluation of every operation flag for the whole report
    # the operation named at each shown row is the one whose flag is 1 there, read row by row here
    for g in d.groups:
        for f in g.shown:
            bits = [int(bad[f"op{i}"][f.row]) for i in range(7)]
            opcode = sum(b << i for i, b in enumerate(bits))
            want = next((o.name for o in air.operations if o.opcode == opcode), None)
            assert f.operation == want
            if g.domain == "transition":
                nb = [int(bad[f"op{i}"][(f.row + 1) % n]) for i in range(7)]
                code = sum(b << i for i, b in enumerate(nb))
                assert f.next_operation == next((o.name for o in air.operations if o.opcode == code), None)
    assert all(np.all(np.diff([f.row for f in g.shown]) > 0) for g in d.groups)
