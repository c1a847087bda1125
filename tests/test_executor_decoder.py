"""The executor's decoder bookkeeping, range checker rows and digests: known answers worked out by hand from the
docs (decoder/main.md at v0.18.0, decoder/index.md at v0.19.0, range.md) and Miden's own digests, and programs
that exercise what the scenarios do not (several op batches, DYN, loops inside loops), checked against the model's
families (``FILLED_FAMILIES``, independent of the executor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from air.buscheck import check_buses
from air.evaluate import check
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, PENDING, export, range_table
from air.select import select_families
from air.trace import Trace, load_trace, save_trace
from tests.program_roots import MIDEN_ROOTS, PROGRAM_ROOTS
from tests.scenario_kit import run_masm

# opcodes, v0.18.0 core/src/operations/mod.rs (the docs' opcode table)
NOOP, INCR, MOVUP2, ADD, DROP, PAD, PUSH = 0, 4, 10, 34, 41, 48, 91
SPAN, JOIN, DYN, END, REPEAT, RESPAN, HALT = 86, 87, 88, 112, 116, 120, 124
LINEAR_HASH_INIT, ABSORB, RETURN_HASH = 19, 35, 33  # processor/src/chiplets/aux_trace/bus/hasher.rs labels


def run(tmp_path: Path, text: str, design: str = "miden-v0.18", kernel: str | None = None):
    return run_masm(tmp_path, text, design, kernel)


def col(res, name: str) -> list[int]:
    return [int(x) for x in res.columns[name]]


def opcodes(res) -> list[int]:
    bits = [np.asarray(res.columns[f"b{k}"], dtype=np.int64) for k in range(7)]
    return [int(x) for x in sum(b << k for k, b in enumerate(bits))]


def assert_filled_families_hold(res) -> None:
    air = select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]
    t = Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
    assert [f.constraint for f in check(air, t).failures] == []
    assert [b.bus for b in check_buses(air, t, seed=3).buses if not b.ok] == []


def test_one_batch_by_hand(tmp_path) -> None:
    """``push.5 add``: one batch of 2 groups: group 0 = PUSH | ADD << 7, group 1 = the immediate 5."""
    res = run(tmp_path, "begin\n  push.5 add\nend\n")
    ops = opcodes(res)
    assert ops[:5] == [SPAN, PUSH, ADD, END, HALT]
    assert col(res, "h0")[:3] == [PUSH + (ADD << 7), ADD, 0]  # h0 = 2^7 h0' + op' until the group is done
    assert col(res, "h1")[0] == 5 and col(res, "h1")[1:3] == [0, 0]  # the immediate; then the parent block (0)
    assert col(res, "group_count")[:4] == [2, 1, 0, 0]  # SPAN and PUSH consume a group each; 0 at END
    assert col(res, "op_index")[1:3] == [0, 1]
    assert col(res, "in_span")[:4] == [0, 1, 1, 0]
    assert [col(res, f"c{k}")[0] for k in range(3)] == [0, 0, 1]  # two groups: (0, 0, 1)
    assert sum(col(res, f"c{k}")[r] for k in range(3) for r in range(1, res.n_rows)) == 0
    a = col(res, "addr")
    assert a[0] == 0 and a[1] == a[2] == a[3] != 0 and a[4] == 0
    digest = [int(x) for x in res.meta["program_digest"]]
    assert [col(res, f"h{k}")[3] for k in range(8)] == digest + [0, 0, 0, 0]
    assert res.stack_outputs[0] == 5
    assert_filled_families_hold(res)


def test_push_0_and_1_as_miden_assembles_them(tmp_path) -> None:
    """push.0 is PAD and push.1 is PAD INCR (assembly: push_felt); one group, padded by nothing."""
    # two zeros dropped below the pushes (movup.2 drop): Miden refuses a program ending deeper than 16
    res = run(tmp_path, "begin\n  push.1 push.0 movup.2 drop movup.2 drop\nend\n")
    assert opcodes(res)[:10] == [SPAN, PAD, INCR, PAD, MOVUP2, DROP, MOVUP2, DROP, END, HALT]
    assert col(res, "h0")[0] == PAD + (INCR << 7) + (PAD << 14) + (MOVUP2 << 21) + (DROP << 28) + (MOVUP2 << 35) + (
        DROP << 42
    )
    assert [col(res, f"c{k}")[0] for k in range(3)] == [0, 1, 1]  # one group: (0, 1, 1) per decoder/main.md
    assert res.stack_outputs[:2] == [0, 1]
    assert_filled_families_hold(res)


def test_a_push_may_not_end_a_group(tmp_path) -> None:
    """Eight ops, then a PUSH that would take slot 8, the last of the group: an operation with an immediate may
    not end a group (op_batch.rs), so the PUSH opens group 1 (its immediate in group 2); group 1 ends right
    after the PUSH and gets a padding NOOP; 3 groups round up to 4, the fourth a NOOP group. Both NOOPs run."""
    # the 9 extra elements are dropped in a later block (a procedure with a branch is not inlined), so that the
    # program ends at depth 16 (Miden refuses deeper) and the block under test still ends with the PUSH
    cleanup = "proc.cleanup\n  push.1 if.true swap.8 dropw dropw swap drop end\nend\n"
    res = run(tmp_path, cleanup + "begin\n  " + "pad " * 8 + "push.9\n  exec.cleanup\nend\n")
    ops = opcodes(res)
    assert ops[0] == JOIN
    assert ops[1:14] == [SPAN] + [PAD] * 8 + [PUSH, NOOP, NOOP, END]
    assert col(res, "op_index")[2:13] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0]
    assert [col(res, f"c{k}")[1] for k in range(3)] == [0, 1, 0]  # four groups: (0, 1, 0)
    assert [col(res, f"h{k}")[1] for k in range(4)] == [sum(PAD << (7 * i) for i in range(8)), PUSH, 9, 0]
    # SPAN 4; -1 after SPAN; -1 when group 0 ends; -1 for the immediate; -1 when group 1 ends; 0 at END
    assert col(res, "group_count")[1:14] == [4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 1, 0, 0]
    assert res.stack_outputs[0] == 9
    assert_filled_families_hold(res)


def test_several_batches_respan(tmp_path) -> None:
    """40 PUSH/DROP pairs need more than one batch of 8 groups: RESPAN per extra batch, the block address 8 on,
    the absorb request at a' - 1 and the END's return-hash request at the last batch's address + 7."""
    res = run(tmp_path, "begin\n  repeat.40 push.7 drop end\nend\n")
    ops = opcodes(res)
    respans = [r for r, o in enumerate(ops) if o == RESPAN]
    assert len(respans) >= 4
    a = col(res, "addr")
    for r in respans:
        assert a[r + 1] == a[r] + 8
        assert col(res, "h1")[r + 1] == 0  # the parent block (the root span has none: 0)
    end = ops.index(END)
    assert a[end] == a[respans[-1] + 1]
    # the hasher chiplet (chiplets/hasher.md; layout.HASHER: chip0 = 0, s0..s2 = chip1..3, h0..h11 = chip4..15):
    # address a is row a - 1; the block's cycles follow each other, one per batch
    sel = list(zip(col(res, "chip1"), col(res, "chip2"), col(res, "chip3")))
    state = [col(res, f"chip{4 + j}") for j in range(12)]
    assert col(res, "chip0")[: a[end] + 7] == [0] * (a[end] + 7)
    start = a[1] - 1
    assert sel[start] == (1, 0, 0)  # LINEAR_HASH starts the block (label 19 at a')
    assert [state[j][start] for j in range(12)] == [0] * 4 + [col(res, f"h{k}")[0] for k in range(8)]
    for r in respans:  # ABP on the last row of the previous cycle (label 35 at a' - 1); the next row holds the
        last = a[r + 1] - 2  # absorbed batch: the decoder's h0..h7 on the RESPAN row
        assert sel[last] == (1, 0, 0) and sel[last + 1][0] == 0
        assert [state[4 + j][last + 1] for j in range(8)] == [col(res, f"h{k}")[r] for k in range(8)]
    out = a[end] + 6  # RETURN_HASH on the last row of the last cycle (label 33 at a + 7): the digest in h4..h7
    assert sel[out] == (0, 0, 0)
    assert [state[4 + j][out] for j in range(4)] == [col(res, f"h{k}")[end] for k in range(4)]
    assert (LINEAR_HASH_INIT, ABSORB, RETURN_HASH) == (19, 35, 33)
    assert col(res, "group_count")[end] == 0
    assert_filled_families_hold(res)


def test_dyn_row(tmp_path) -> None:
    """DYN: h0..h3 the callee's digest read from memory, h4..h7 = 0 (processor decoder start_dyn)."""
    prog = "proc.foo\n  push.3\nend\nbegin\n  procref.foo push.100 mem_storew drop drop drop drop\n"
    prog += "  push.100 dynexec swap drop\nend\n"  # depth 16 at the end
    for design in ("miden-v0.18", "miden-v0.19"):
        res = run(tmp_path, prog, design)
        r = opcodes(res).index(DYN)
        assert [col(res, f"h{k}")[r] for k in range(4, 8)] == [0, 0, 0, 0]
        assert res.stack_outputs[0] == 3
        assert_filled_families_hold(res)


def test_loop_bodies_say_so_at_end(tmp_path) -> None:
    """Nested while loops: the END of a loop body (entered by LOOP or REPEAT) has h4 = is_loop_body = 1, the
    END of the loop itself h5 = is_loop = 1; REPEAT follows a body's END."""
    dec = "push.1 sub dup.0 push.0 eq push.1 swap sub"  # n -> n-1, then (n-1 != 0)
    inner = f"    push.2 push.1\n    while.true {dec} end\n    drop {dec}\n"
    prog = f"begin\n  push.2 push.1\n  while.true\n{inner}  end\n  drop\nend\n"  # depth 16 at the end
    res = run(tmp_path, prog)
    ops = opcodes(res)
    ends = [r for r, o in enumerate(ops) if o == END]
    h4, h5 = col(res, "h4"), col(res, "h5")
    before_repeat = [r for r in ends if ops[r + 1] == REPEAT]
    assert len(before_repeat) == 1 + 2  # outer body once, inner body once per outer iteration
    assert all(h4[r] == 1 for r in before_repeat)
    assert sum(h5[r] for r in ends) == 3  # the outer loop and the inner loop twice
    assert_filled_families_hold(res)


def test_range_table_by_hand() -> None:
    """From 0 to 65535 by steps of 0 or 3^k <= 2187 (range.md): with nothing requested, 29 steps of 2187 reach
    63423, then 2112 = 2*729 + 2*243 + 2*81 + 2*3: 37 steps, 38 values, and 65535 once more (m = 0)."""
    v, m = range_table(np.array([], dtype=np.uint64))
    assert len(v) == 39 and int(v[0]) == 0 and int(v[-1]) == int(v[-2]) == 65535 and int(m.sum()) == 0
    assert set(np.diff(v.astype(np.int64)).tolist()) <= {0, 1, 3, 9, 27, 81, 243, 729, 2187}
    v, m = range_table(np.array([5, 0, 0, 65535, 5, 5, 2188], dtype=np.uint64))
    got = {int(x): int(c) for x, c in zip(v, m) if c}
    assert got == {0: 2, 5: 3, 2188: 1, 65535: 1}
    assert int(v[-1]) == 65535 and int(m[-1]) == 0  # the last row's terms do not enter the bus


def test_range_rows_answer_the_memory_limbs(tmp_path) -> None:
    """Every memory row requests its d0 and d1: the multiplicities add up to twice the memory rows."""
    res = run(tmp_path, "begin\n  push.7 mem_store.5 push.8 mem_store.70000 mem_load.5 drop\nend\n", "miden-v0.19")
    s0, s1, s2 = col(res, "chip0"), col(res, "chip1"), col(res, "chip2")
    mem_rows = sum(1 for a, b, c in zip(s0, s1, s2) if a == 1 and b == 1 and c == 0)
    assert mem_rows >= 4 and sum(col(res, "range_m")) == 2 * mem_rows
    assert col(res, "range_v")[0] == 0 and col(res, "range_v")[-1] == 65535
    assert res.n_rows >= 64  # the range table alone takes ~40 rows
    assert_filled_families_hold(res)




@pytest.mark.parametrize("name", sorted(MIDEN_ROOTS))
def test_program_roots_match_miden(air_proc, tmp_path, name) -> None:
    """Under v0.18 (no fmp prologue) these programs assemble to the MAST of Miden's decoder tests: `air run`'s
    exported root is the root read from Miden's own execution trace (tests/program_roots.py)."""
    text, kernel = MIDEN_ROOTS[name]
    (tmp_path / "p.masm").write_text(text)
    args = ["run", str(tmp_path / "p.masm"), "--air", "miden-v0.18", "-o", str(tmp_path / "t.npz")]
    if kernel is not None:
        (tmp_path / "k.masm").write_text(kernel)
        args += ["--kernel", str(tmp_path / "k.masm")]
    assert air_proc(*args).returncode == 0
    meta = json.loads((tmp_path / "t.npz.json").read_text())
    assert tuple(int(x) for x in meta["program_digest"]) == PROGRAM_ROOTS[name][1]
    assert meta["program_root"] == "0x" + b"".join(x.to_bytes(8, "little") for x in PROGRAM_ROOTS[name][1]).hex()


def test_metadata_never_chooses_what_is_checked(air_proc, tmp_path) -> None:
    """The trace's filled_families is information: `air check` without --only checks the whole AIR, with --only
    exactly what it is given, whatever the metadata says. The honest trace (its stack ends at depth 16, so the
    pending stack.overflow family holds too) passes the whole model; a hasher cell changed under metadata that
    claims only ``system`` is filled fails the whole check and the filled families, not ``--only system``."""
    text, kernel = MIDEN_ROOTS["syscall"]
    res = run(tmp_path, text, "miden-v0.19", kernel)
    assert res.meta["filled_families"] == list(FILLED_FAMILIES)
    honest = export(res, tmp_path / "honest.npz")
    assert air_proc("check", str(honest)).returncode == 0
    cols = {k: v.copy() for k, v in res.columns.items()}
    cols["chip9"][3] = (int(cols["chip9"][3]) + 1) % (2**64 - 2**32 + 1)  # h5 on row 3 of the first hash cycle
    path = save_trace(
        tmp_path / "t.npz",
        cols,
        res.public_inputs,
        {**res.meta, "filled_families": ["system"]},
        public_tables=res.public_tables,
    )
    assert load_trace(path).meta["filled_families"] == ["system"]
    whole = air_proc("check", str(path))
    assert whole.returncode == 1 and "hasher_round" in whole.stdout
    assert air_proc("check", str(path), "--only", "system").returncode == 0
    only = air_proc("check", str(path), "--only", ",".join(FILLED_FAMILIES))
    assert only.returncode == 1 and "hasher_round" in only.stdout
    assert set(PENDING) <= {"stack.overflow"}


def test_control_digests_use_the_designs_opcodes(tmp_path) -> None:
    """A dyncall node's digest is merge_in_domain([0, 0], DYNCALL's opcode): Miden's 92 under v0.19 (the value
    Miden's tests pin, test_digest.test_dyn_digests), 120 where miden-fnhash-mem-slot moves DYNCALL."""
    from air.miden import digest as D
    from air.miden.masm import assemble

    p = tmp_path / "p.masm"
    p.write_text("begin\n  dyncall\nend\n")
    v19 = assemble(p, None, "miden-v0.19").entry
    slot = assemble(p, None, "miden-fnhash-mem-slot").entry
    assert v19.second.digest == (8751004906421739448, 13469709002495534233, 12584249374630430826, 7624899870831503004)
    assert slot.second.digest == D.dyncall_digest(120) != v19.second.digest
    assert slot.first.digest == v19.first.digest  # the same fmp prologue block
