"""The executor's fast paths give the traces of its general path (issue 15: executor speed).

``VM._run_ops`` runs the common operations of a basic block inline and ``VM.loop_test`` runs a basic-block loop
body without the work stack; with ``VM._fast_kind`` forced to "not inline", every operation goes through
``VM.op`` (the general path, one ``emit`` per row), the reference here. EQ's helper and the product-tree inversion
are checked against Python-int inverses (pow(x, p - 2, p)), independent of the code under test.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from air.miden import executor as E
from air.miden.executor import ExecutionError, batch_inverse
from tests.scenario_kit import P, run_masm

# every inline kind (push, dup.N, pad, swap, incr, neg, movup.N, add, mul, eq, drop, assert, noop padding) next to
# operations that take the general path (movdn, swapw, eqz, u32, memory, locals), in a loop whose body is a basic
# block, a loop whose body branches (a join through the work stack), a call (a new context) and a deep stack
# (the overflow table)
PROGRAM = """
proc.f.1
    loc_store.0 push.7 loc_load.0 mul
end
proc.g
    dup.3 movup.2 add swap drop
end
begin
    push.1 push.2 push.3 push.4 push.5 push.6 push.7 push.8 push.9 push.10 push.11 push.12 push.13 push.14
    push.15 push.16 push.17 push.18 push.19
    push.40 push.1
    while.true
        dup.0 dup.0 mul push.3 add drop
        movup.3 movdn.2 swapw swapw dup.5 eq.0 drop
        push.1 sub dup.0 push.0 eq push.0 eq
    end
    drop
    push.6 push.1
    while.true
        dup.0 push.2 u32mod push.0 eq
        if.true
            dup.0 mem_store.100 drop exec.f
        else
            push.5 eq drop
        end
        push.1 sub dup.0 neq.0
    end
    call.g
    push.1 assert
    drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop drop
end
"""


def general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every operation through VM.op (the general path)."""
    monkeypatch.setattr(E.VM, "_fast_kind", lambda self, o: (0, 0))


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> E.RunResult:
    return run_masm(tmp_path_factory.mktemp("fast"), PROGRAM, "miden-v0.19")


def test_fast_and_general_paths_write_the_same_trace(fast_run, tmp_path, monkeypatch) -> None:
    # (that the program does take the inline path: test_the_program_takes_the_inline_path)
    general_only(monkeypatch)
    ref = run_masm(tmp_path, PROGRAM, "miden-v0.19")
    assert ref.cycles == fast_run.cycles and ref.n_rows == fast_run.n_rows
    assert ref.stack_outputs == fast_run.stack_outputs
    assert set(ref.columns) == set(fast_run.columns)
    differ = [c for c in ref.columns if not np.array_equal(ref.columns[c], fast_run.columns[c])]
    assert differ == []


def test_the_program_takes_the_inline_path(tmp_path) -> None:
    # count the rows written by _run_ops inline: with it forced off, the same program writes them through emit
    calls = {"emit": 0}
    original = E.VM.emit

    def counting(self, *a, **k):  # type: ignore[no-untyped-def]
        calls["emit"] += 1
        return original(self, *a, **k)

    E.VM.emit = counting  # type: ignore[method-assign]
    try:
        res = run_masm(tmp_path, PROGRAM, "miden-v0.19")
    finally:
        E.VM.emit = original  # type: ignore[method-assign]
    assert calls["emit"] < res.cycles // 2  # most rows are inline operations or planned records


def test_eq_helper_is_the_inverse_of_the_difference(fast_run) -> None:
    cols = fast_run.columns
    air = E.DESIGNS["miden-v0.19"]()
    eq_code = {o.name: o.opcode for o in air.operations}["EQ"]
    code = sum(cols[f"b{k}"].astype(np.int64) << k for k in range(7))
    rows = np.flatnonzero(code == eq_code)
    assert len(rows) > 40  # the first loop runs two EQs an iteration
    seen = set()
    for r in rows.tolist():
        d = (int(cols["s0"][r]) - int(cols["s1"][r])) % P
        assert int(cols["h2"][r]) == (pow(d, P - 2, P) if d else 0)
        seen.add(d == 0)
    assert seen == {True, False}  # both the equal (h2 = 0) and the unequal case


def test_batch_inverse_matches_python_pow() -> None:
    rng = random.Random(7)
    for n in (1, 2, 3, 5, 8, 17, 100):
        values = [rng.randrange(1, P) for _ in range(n)]
        values[0] = P - 1
        got = batch_inverse(np.array(values, dtype=np.uint64)).tolist()
        assert got == [pow(v, P - 2, P) for v in values]
    assert batch_inverse(np.zeros(0, dtype=np.uint64)).tolist() == []


@pytest.mark.parametrize("cap", [61, 65, 70, 200])
def test_cycle_cap_inside_a_block_names_the_same_instruction(tmp_path, monkeypatch, cap: int) -> None:
    # caps that land on inline rows of the first loop's body: the same message as the general path
    with pytest.raises(ExecutionError) as fast:
        run_masm(tmp_path, PROGRAM, "miden-v0.19", max_cycles=cap)
    general_only(monkeypatch)
    with pytest.raises(ExecutionError) as general:
        run_masm(tmp_path, PROGRAM, "miden-v0.19", max_cycles=cap)
    assert str(fast.value) == str(general.value)
    assert f"exceeded {cap:,} cycles at" in str(fast.value) and "p.masm:" in str(fast.value)


def test_progress_reports_the_same_counts(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(E, "PROGRESS_EVERY", 64)
    fast: list[int] = []
    E.run_program(_write(tmp_path, PROGRAM), None, "miden-v0.19", progress=fast.append)
    general_only(monkeypatch)
    general: list[int] = []
    E.run_program(_write(tmp_path, PROGRAM), None, "miden-v0.19", progress=general.append)
    assert fast == general and fast[:3] == [64, 128, 192]


def _write(tmp_path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "prog.masm"
    p.write_text(text)
    return p
