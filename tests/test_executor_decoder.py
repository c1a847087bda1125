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
from air.miden.executor import FILLED_FAMILIES, PENDING, range_table, run_program
from air.select import select_families
from air.trace import Trace, load_trace, save_trace
from tests.program_roots import PROGRAM_ROOTS

# opcodes, v0.18.0 core/src/operations/mod.rs (the docs' opcode table)
NOOP, INCR, ADD, DROP, PAD, PUSH = 0, 4, 34, 41, 48, 91
SPAN, JOIN, DYN, END, REPEAT, RESPAN, HALT = 86, 87, 88, 112, 116, 120, 124
LINEAR_HASH_INIT, ABSORB, RETURN_HASH = 19, 35, 33  # processor/src/chiplets/aux_trace/bus/hasher.rs labels


def run(tmp_path: Path, text: str, design: str = "miden-v0.18", kernel: str | None = None):
    p = tmp_path / "p.masm"
    p.write_text(text)
    k = None
    if kernel is not None:
        k = tmp_path / "k.masm"
        k.write_text(kernel)
    return run_program(p, k, design)


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
    res = run(tmp_path, "begin\n  push.1 push.0\nend\n")
    assert opcodes(res)[:6] == [SPAN, PAD, INCR, PAD, END, HALT]
    assert col(res, "h0")[0] == PAD + (INCR << 7) + (PAD << 14)
    assert [col(res, f"c{k}")[0] for k in range(3)] == [0, 1, 1]  # one group: (0, 1, 1) per decoder/main.md
    assert res.stack_outputs[:2] == [0, 1]
    assert_filled_families_hold(res)


def test_a_push_may_not_end_a_group(tmp_path) -> None:
    """Eight ops, then a PUSH that would take slot 8, the last of the group: an operation with an immediate may
    not end a group (op_batch.rs), so the PUSH opens group 1 (its immediate in group 2); group 1 ends right
    after the PUSH and gets a padding NOOP; 3 groups round up to 4, the fourth a NOOP group. Both NOOPs run."""
    res = run(tmp_path, "begin\n  " + "pad " * 8 + "push.9\nend\n")
    ops = opcodes(res)
    assert ops[:13] == [SPAN] + [PAD] * 8 + [PUSH, NOOP, NOOP, END]
    assert col(res, "op_index")[1:12] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0]
    assert [col(res, f"c{k}")[0] for k in range(3)] == [0, 1, 0]  # four groups: (0, 1, 0)
    assert [col(res, f"h{k}")[0] for k in range(4)] == [sum(PAD << (7 * i) for i in range(8)), PUSH, 9, 0]
    # SPAN 4; -1 after SPAN; -1 when group 0 ends; -1 for the immediate; -1 when group 1 ends; 0 at END
    assert col(res, "group_count")[:13] == [4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 1, 0, 0]
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
    labels, addrs = col(res, "chip17"), col(res, "chip18")  # layout.HASHER label, addr (response rows)
    hashed = {(lab, ad) for lab, ad, s0, on in zip(labels, addrs, col(res, "chip0"), col(res, "chip1"))
              if s0 == 0 and on == 1}  # fmt: skip
    assert (LINEAR_HASH_INIT, a[1]) in hashed
    assert {(ABSORB, a[r + 1] - 1) for r in respans} <= hashed
    assert (RETURN_HASH, a[end] + 7) in hashed
    assert col(res, "group_count")[end] == 0
    assert_filled_families_hold(res)


def test_dyn_row(tmp_path) -> None:
    """DYN: h0..h3 the callee's digest read from memory, h4..h7 = 0 (processor decoder start_dyn)."""
    prog = "proc.foo\n  push.3\nend\nbegin\n  procref.foo push.100 mem_storew drop drop drop drop\n"
    prog += "  push.100 dynexec\nend\n"
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
    prog = f"begin\n  push.2 push.1\n  while.true\n{inner}  end\nend\n"
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
    res = run(tmp_path, "begin\n  push.7 mem_store.5 push.8 mem_store.70000 mem_load.5\nend\n", "miden-v0.19")
    s0, s1, s2 = col(res, "chip0"), col(res, "chip1"), col(res, "chip2")
    mem_rows = sum(1 for a, b, c in zip(s0, s1, s2) if a == 1 and b == 1 and c == 0)
    assert mem_rows >= 4 and sum(col(res, "range_m")) == 2 * mem_rows
    assert col(res, "range_v")[0] == 0 and col(res, "range_v")[-1] == 65535
    assert res.n_rows >= 64  # the range table alone takes ~40 rows
    assert_filled_families_hold(res)


MIDEN_ROOTS = {  # programs whose MAST is Miden's test MAST (processor/src/tests: the snapshot cases in test_digest)
    "split": ("begin\n  swap swap if.true add else swap end\nend\n", None),
    "loop": ("begin\n  swap swap while.true pad drop end\nend\n", None),
    "call": ("proc.foo\n  swap swap\nend\nbegin\n  swap swap call.foo\nend\n", None),
    "syscall": ("begin\n  swap swap syscall.foo\nend\n", "export.foo\n  swap swap\nend\n"),
}


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
    """The trace's filled_families is information: `air check` without --only checks the whole AIR (the
    boundary-pending buses fail), with --only exactly what it is given, whatever the metadata says."""
    text, kernel = MIDEN_ROOTS["syscall"]
    res = run(tmp_path, text, "miden-v0.19", kernel)
    assert res.meta["filled_families"] == list(FILLED_FAMILIES)
    path = save_trace(
        tmp_path / "t.npz",
        res.columns,
        res.public_inputs,
        {**res.meta, "filled_families": ["system"]},
        public_tables=res.public_tables,
    )
    assert load_trace(path).meta["filled_families"] == ["system"]
    whole = air_proc("check", str(path))
    assert whole.returncode == 1 and "hasher" in whole.stdout
    only = air_proc("check", str(path), "--only", ",".join(FILLED_FAMILIES))
    assert only.returncode == 0 and only.stdout.startswith("OK")
    pending = air_proc("check", str(path), "--only", ",".join(PENDING))
    assert pending.returncode == 1


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
