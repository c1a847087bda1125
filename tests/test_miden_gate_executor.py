"""miden-gate in the executor (seed discussion, the gate column, taken as written): CALL/DYNCALL write fn_hash at
mem[0..3] and FMP_MIN at mem[4] of the new context, CALLER reads mem[0..3], FMPADD/FMPUPDATE read and write mem[4];
a memory instruction below 2^N still runs, and its row fails the AIR's ``gate`` constraint.

Expected values come from the semantics (addresses, 2^N = 8, inverses computed with Python ints), not from the
executor."""

from pathlib import Path

import numpy as np
import pytest

from air.buscheck import check_buses
from air.evaluate import check
from air.miden import layout as L
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, run_program
from air.miden.masm import assemble
from air.miden.opcodes import OPCODES_V18
from air.select import select_families
from air.trace import Trace

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
KERNEL = PROGRAMS / "kernel.masm"
P = 2**64 - 2**32 + 1
ONLY = ",".join(FILLED_FAMILIES)


def trace_of(res) -> Trace:
    return Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)


def verdict(res) -> tuple[dict[str, list[int]], list[str]]:
    """{failing constraint: rows} and the unbalanced buses, over the executor's families."""
    air = select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]
    t = trace_of(res)
    cons = {f.constraint: [int(r) for r in f.rows] for f in check(air, t).failures}
    return cons, [b.bus for b in check_buses(air, t, seed=1).buses if not b.ok]


def opcode_rows(res, name: str) -> list[int]:
    """Rows whose op bits b0..b6 spell ``name``'s v0.18 opcode (stack/op_constraints.md)."""
    code = sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))
    return [int(r) for r in np.flatnonzero(code == OPCODES_V18[name])]


def program(tmp_path: Path, body: str, procs: str = "") -> Path:
    p = tmp_path / "p.masm"
    p.write_text(f"{procs}\nbegin\n{body}\nend\n")
    return p


def test_protected_write_fails_the_gate_constraint_only(tmp_path) -> None:
    res = run_program(PROGRAMS / "gate_protected_write.masm", KERNEL, "miden-gate")
    # the executor runs it: caller then reads the word the program wrote over fn_hash
    assert res.stack_outputs[:4] == [7, 7, 7, 7]
    (row,) = opcode_rows(res, "MSTOREW")  # one MSTOREW, at address 0
    assert res.columns["s0"][row] == 0
    assert verdict(res) == ({"gate": [row]}, [])
    # the same program under a design without the gate passes (no protection there): v0.19
    assert verdict(run_program(PROGRAMS / "gate_protected_write.masm", KERNEL, "miden-v0.19")) == ({}, [])


def test_air_check_names_gate_row_and_operation(air_cli, tmp_path) -> None:
    out = tmp_path / "t.npz"
    code, _, _ = air_cli("run", str(PROGRAMS / "gate_protected_write.masm"), "--kernel", str(KERNEL),
                      "--air", "miden-gate", "-o", str(out))  # fmt: skip
    assert code == 0
    code, stdout, _ = air_cli("check", str(out), "--only", ONLY)
    assert code == 1
    assert "constraint gate" in stdout and "row 12: operation MSTOREW" in stdout
    assert stdout.count("  constraint ") == 1  # no other constraint fails (one overview line per failing constraint)


@pytest.mark.parametrize(
    "body,op,addr",
    [("push.5 mem_store.4", "MSTORE", 4), ("mem_load.7 drop", "MLOAD", 7), ("mem_loadw.0", "MLOADW", 0)],
)
def test_each_memory_instruction_below_2n_is_refused(tmp_path, body, op, addr) -> None:
    res = run_program(program(tmp_path, body), None, "miden-gate")
    (row,) = opcode_rows(res, op)
    assert res.columns["s0"][row] == addr and res.columns["gate"][row] == 0
    assert verdict(res) == ({"gate": [row]}, [])


def test_gate_column_is_the_inverse_of_the_high_bits(tmp_path) -> None:
    # 2^N = 8 (layout.GATE_BITS = 3): address 8 is the first allowed one; 83 = 8 * 10 + 3
    res = run_program(program(tmp_path, "push.1 mem_store.8 push.2 mem_store.83 mem_load.83 drop"), None, "miden-gate")
    assert 2**L.GATE_BITS == 8
    rows = opcode_rows(res, "MSTORE") + opcode_rows(res, "MLOAD")
    assert len(rows) == 3
    expect = {8: (1, 0), 83: (pow(10, P - 2, P), 3)}  # gate = 1/(addr >> 3), h2 = addr mod 8
    for r in rows:
        addr = int(res.columns["s0"][r])
        assert (int(res.columns["gate"][r]), int(res.columns["h2"][r])) == expect[addr]
    assert verdict(res) == ({}, [])


def test_call_writes_fn_hash_and_fmp_into_the_new_context(tmp_path) -> None:
    """In the called procedure caller gives its own digest (mem[0..3] written by CALL), and locaddr.0 of its 4-local
    frame is FMP_MIN (mem[4] = 2^30 written by CALL, FMPUPDATE(+4), FMPADD(-4)); the root's fmp starts at FMP_MIN."""
    procs = "proc.callee.4\n    caller locaddr.0 movup.5 drop\nend\nproc.frame.4\n    locaddr.0\nend\n"
    src = program(tmp_path, "call.callee exec.frame movup.6 drop", procs)  # back to depth 16
    prog = assemble(src, None, "miden-gate")
    callee = next(d for d, name in prog.names.items() if name == "callee")
    res = run_program(src, None, "miden-gate")
    # top: the root's local address, the callee's, then caller's word s_i = fn_hash[3 - i]
    assert res.stack_outputs[:2] == [2**30, 2**30]
    assert res.stack_outputs[2:6] == [int(x) for x in callee[::-1]]
    assert verdict(res) == ({}, [])


def test_caller_in_a_syscall_reads_context_0() -> None:
    """Finding: SYSCALL re-enters context 0, where no CALL wrote mem[0..3], so caller returns [0, 0, 0, 0] under
    miden-gate (and under the fnhash-mem designs, for the same reason), not the calling procedure's hash, which
    v0.18's fn_hash column gives. The AIR accepts the trace: nothing in the design catches it."""
    src = PROGRAMS / "gate_caller_in_syscall.masm"
    prog = assemble(src, KERNEL, "miden-v0.18")
    ask = next(d for d, name in prog.names.items() if name == "ask")
    assert run_program(src, KERNEL, "miden-v0.18").stack_outputs[:4] == [int(x) for x in ask[::-1]]
    for design in ("miden-gate", "miden-fnhash-mem"):
        res = run_program(src, KERNEL, design)
        assert res.stack_outputs[:4] == [0, 0, 0, 0], design
        assert verdict(res) == ({}, []), design
