"""The executor's stack instructions (air/miden/exec_stack.py, masm.STACK_INSTRUCTIONS): field ops and comparisons,
stack manipulation, advice and environment inputs, memory immediates, the overflow table past depth 16, and the
refusal of a program that ends deeper than 16 (Miden's OutputStackOverflow).

Known answers are Python ints mod p (field_ops, io_ops) or a Python list replaying the docs' table of stack
manipulation instructions (docs/src/user_docs/assembly/stack_manipulation.md at v0.18.0), never the executor."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from air.buscheck import check_buses
from air.evaluate import check
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, PENDING, ExecutionError, run_program
from air.miden.masm import MasmError, assemble
from air.select import select_families
from air.trace import Trace
from tests.scenario_kit import trace_of, verdict, why_not_caught

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
ADVICE = json.loads((PROGRAMS / "advice.json").read_text())
P = 2**64 - 2**32 + 1
NEW = ["field_ops", "stack_ops", "io_ops"]


def run(name: str, design: str):
    return run_program(PROGRAMS / f"{name}.masm", None, design, advice=ADVICE.get(name))


def inv(v: int) -> int:
    return pow(v % P, P - 2, P)


def ext2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """(a0 + a1 x)(b0 + b1 x) in F_p[x]/(x^2 - x + 2): x^2 = x - 2 (docs: stack/field_ops.md EXT2MUL)."""
    (a0, a1), (b0, b1) = a, b
    return ((a0 * b0 - 2 * a1 * b1) % P, (a0 * b1 + a1 * b0 + a1 * b1) % P)


# ------------------------------------------------------------------------------------------ known answers
def test_field_ops_known_answers() -> None:
    bits = [5 == 5, 5 == 6, 0 == 0, 4 == 4, 4 == 3, 5 != 6, 5 != 5, 0 != 0, 3 != 0, 7 != 7, 8 != 7]
    cmp = 0
    for b in bits:
        cmp = 2 * cmp + int(b)
    boolean = ((1 | 0) & 0) ^ 1 ^ 1 ^ 1  # not, then two xors with 1
    eqw = 2 * 1 + 0
    # ext2: a = 3 + 4x (push.3.4: a1 = 4 on top), b = 5 + 6x; ((a + b) - (1 + 2x)), negated, times (7 + 8x)
    s = ((3 + 5 - 1) % P, (4 + 6 - 2) % P)
    c0, c1 = ext2_mul(((-s[0]) % P, (-s[1]) % P), (7, 8))
    results = [
        7, 1006, (6 - 10) % P, 126, 9, inv(15), (inv(-4) + 1) % P, 1024, 3**13, 243**2, 2**40 + 1, boolean, cmp,
        eqw, c0, c1,
    ]  # fmt: skip
    for design in ("miden-v0.18", "miden-v0.19"):
        assert run("field_ops", design).stack_outputs == results[::-1], design


STACK_DOC = {
    "drop": lambda s, n: s.pop(0),
    "dropw": lambda s, n: s.__delitem__(slice(0, 4)),
    "padw": lambda s, n: s.__setitem__(slice(0, 0), [0] * 4),
    "dup": lambda s, n: s.insert(0, s[n or 0]),
    "dupw": lambda s, n: s.__setitem__(slice(0, 0), s[4 * (n or 0) : 4 * (n or 0) + 4]),
    "swap": lambda s, n: _swap(s, 0, n or 1, 1),
    "swapw": lambda s, n: _swap(s, 0, 4 * (n or 1), 4),
    "swapdw": lambda s, n: _swap(s, 0, 8, 8),
    "movup": lambda s, n: s.insert(0, s.pop(n)),
    "movdn": lambda s, n: s.insert(n, s.pop(0)),
    "movupw": lambda s, n: s.__setitem__(slice(0, 0), [s.pop(4 * n) for _ in range(4)]),
    "movdnw": lambda s, n: s.__setitem__(slice(4 * n, 4 * n), [s.pop(0) for _ in range(4)]),
    "reversew": lambda s, n: s.__setitem__(slice(0, 4), s[3::-1]),
    "reversedw": lambda s, n: s.__setitem__(slice(0, 8), s[7::-1]),
}


def _swap(s: list[int], i: int, j: int, w: int) -> None:
    s[i : i + w], s[j : j + w] = s[j : j + w], s[i : i + w]


def _conditional(s: list[int], head: str) -> None:
    """cswap/cswapw/cdrop/cdropw as the docs' table: [c, B, A] -> c = 1 swaps (cswap) / keeps B (cdrop)."""
    c = s.pop(0)
    w = 4 if head.endswith("w") else 1
    b, a = s[:w], s[w : 2 * w]
    del s[: 2 * w]
    if head.startswith("cswap"):
        s[0:0] = a + b if c else b + a
    else:
        s[0:0] = b if c else a


def replay(text: str) -> list[int]:
    """The program's instructions on a Python list (top first; at least 16 deep, zeros below)."""
    body = text.split("begin", 1)[1].rsplit("end", 1)[0]
    toks = re.sub(r"#.*", "", body).split()
    out: list[str] = []
    i = 0
    while i < len(toks):  # expand `repeat.N ... end` (not nested here)
        if toks[i].startswith("repeat."):
            j = toks.index("end", i)
            out += toks[i + 1 : j] * int(toks[i].split(".")[1])
            i = j + 1
        else:
            out.append(toks[i])
            i += 1
    s = [0] * 16
    for t in out:
        head, *imm = t.split(".")
        if head == "push":
            for v in imm:
                s.insert(0, int(v))
        elif head in ("cswap", "cswapw", "cdrop", "cdropw"):
            _conditional(s, head)
        else:
            STACK_DOC[head](s, int(imm[0]) if imm else None)
        s += [0] * (16 - len(s))
    return s


def test_stack_manipulation_matches_the_docs_table() -> None:
    text = (PROGRAMS / "stack_ops.masm").read_text()
    want = replay(text)
    assert len(want) == 16
    for design in ("miden-v0.18", "miden-v0.19"):
        res = run("stack_ops", design)
        assert res.stack_outputs == want, design
        # 20 pushed, then 16 dups: 36 elements in the overflow table at the deepest
        assert int(res.columns["stack_depth"].max()) == 16 + 20 + 16


def test_io_ops_known_answers() -> None:
    for design in ("miden-v0.18", "miden-v0.19"):
        res = run("io_ops", design)
        out = res.stack_outputs
        # the CLK row: opcode 63 (op_constraints.md) from the row's op bits
        code = sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))
        (clk_row,) = np.flatnonzero(code == 63)
        # top first: frame (word 6789, local 5, the word's first element 9), 4321, 5678, 1234, 7 + 8 + 9, clk,
        # sdepth 20, the advice word (s0 = w3), adv_push.2's 12 over 11, sdepth 16, two zeros
        expect = [6789 + 5 + 9, 4321, 5678, 1234, 7 + 8 + 9, int(clk_row), 20, 24, 23, 22, 21, 12, 11, 16, 0, 0]
        assert out == expect, design


# ------------------------------------------------------------------------------------------ op sequences
# Each instruction's operations, transcribed by hand from Miden's v0.18.0 assembler (crates/assembly/src/instruction/
# mod.rs, field_ops.rs, mem_ops.rs and the parser's folding in grammar.lalrpop): they make the MAST digest.
SEQUENCES = {
    "add.0": [], "add.1": ["INCR"], "add.2": ["INCR", "INCR"], "add.5": [("PUSH", 5), "ADD"],
    "sub": ["NEG", "ADD"], "sub.3": [("PUSH", P - 3), "ADD"], "mul.0": ["DROP", "PAD"], "mul.1": [],
    "div": ["INV", "MUL"], "div.4": [("PUSH", inv(4)), "MUL"], "eq.0": ["EQZ"], "eq.9": [("PUSH", 9), "EQ"],
    "neq": ["EQ", "NOT"], "neq.0": ["EQZ", "NOT"], "assertz": ["EQZ", "ASSERT"],
    "xor": ["DUP0", "DUP2", "OR", "MOVDN2", "AND", "NOT", "AND"],
    "exp.u2": ["PAD", "INCR", "MOVUP2", "PAD", "EXPACC", "EXPACC", "DROP", "DROP", "SWAP", "EQZ", "ASSERT"],
    "exp.3": ["DUP0", "DUP0", "MUL", "MUL"], "exp.0": ["DROP", "PAD", "INCR"],
    "exp.9": [("PUSH", 9), "PAD", "INCR", "MOVUP2", "PAD"] + ["EXPACC"] * 4 + ["DROP", "DROP", "SWAP", "EQZ", "ASSERT"],
    "pow2": [("PUSH", 2), "PAD", "INCR", "SWAP", "PAD"] + ["EXPACC"] * 6 + ["DROP", "DROP", "SWAP", "EQZ", "ASSERT"],
    "dup.8": ["PAD", "DUP9", "ADD"], "dup.15": ["DUP15"], "dupw.2": ["DUP11"] * 4,
    "swap.2": ["SWAP", "MOVUP2"], "swap.5": ["MOVDN4", "MOVUP5"],
    "swap.9": ["MOVDN8", "SWAPDW", "SWAP", "SWAPDW", "MOVUP8"],
    "swap.10": ["MOVDN8", "SWAPDW", "SWAP", "MOVUP2", "SWAPDW", "MOVUP8"],
    "swap.13": ["MOVDN8", "SWAPDW", "MOVDN4", "MOVUP5", "SWAPDW", "MOVUP8"],
    "movup.9": ["SWAPDW", "SWAP", "SWAPDW", "MOVUP8"], "movup.12": ["SWAPDW", "MOVUP4", "SWAPDW", "MOVUP8"],
    "movdn.9": ["MOVDN8", "SWAPDW", "SWAP", "SWAPDW"], "movdn.15": ["MOVDN8", "SWAPDW", "MOVDN7", "SWAPDW"],
    "movupw.3": ["SWAPW", "SWAPW2", "SWAPW3"], "movdnw.2": ["SWAPW2", "SWAPW"], "swapw.3": ["SWAPW3"],
    "reversew": ["MOVDN3", "SWAP", "MOVUP2"], "cdropw": ["CSWAPW", "DROP", "DROP", "DROP", "DROP"],
    "adv_push.3": ["ADVPOP"] * 3, "adv_loadw": ["ADVPOPW"], "sdepth": ["SDEPTH"], "clk": ["CLK"],
    "mem_load.0": ["PAD", "MLOAD"], "mem_load.1": ["PAD", "INCR", "MLOAD"],
    "mem_store.7": [("PUSH", 7), "MSTORE", "DROP"],
    "ext2inv": [("PUSH", 5), "EMIT", "DROP", "ADVPOP", "ADVPOP", "EXT2MUL", "MOVUP2", "EQZ", "ASSERT", "MOVUP2",
                "ASSERT"],
    "mtree_get": [("PUSH", 1), "EMIT", "DROP"] + ["ADVPOP"] * 4 + ["MPVERIFY", "MOVUP4", "DROP", "MOVUP4", "DROP"],
    "mtree_set": [("PUSH", 1), "EMIT", "DROP"] + ["ADVPOP"] * 4 + ["MOVUP5", "MOVUP5", "DUP5", "DUP5", "SWAPDW",
                  "SWAPW", "SWAPW2", "DUP13", "DUP13", "MRUPDATE", "MOVUP4", "DROP", "MOVUP4", "DROP", "SWAPW", "DROP",
                  "DROP", "DROP", "DROP", "SWAPW", "DROP", "DROP", "DROP", "DROP", "SWAPW"],
    "adv_pipe": ["PIPE"], "mem_stream": ["MSTREAM"], "horner_eval_base": ["HORNERBASE"],
    "horner_eval_ext": ["HORNEREXT"],
    "mem_loadw_le.8": [("PUSH", 8), "MLOADW", "MOVDN3", "SWAP", "MOVUP2"],
    "mem_storew_le": ["MOVDN4", "MOVDN3", "SWAP", "MOVUP2", "MOVUP4", "MSTOREW", "MOVDN3", "SWAP", "MOVUP2"],
}  # fmt: skip


@pytest.mark.parametrize("instr", list(SEQUENCES))
def test_instructions_become_midens_operations(tmp_path, instr) -> None:
    p = tmp_path / "p.masm"
    p.write_text(f"begin\n    push.2 push.3 push.4 push.5 push.6\n    {instr}\nend\n")
    prog = assemble(p, None, "miden-v0.18")
    ops = [(o.name, o.imm) if o.name == "PUSH" else o.name for o in prog.entry.ops][5:]  # type: ignore[attr-defined]
    assert ops == SEQUENCES[instr]


@pytest.mark.parametrize(
    ("design", "ids"),
    [("miden-v0.18", (5, 1)), ("miden-v0.19", (9660728691489438960, 6873007751276594108))],
)
def test_system_events_push_the_id_of_the_designs_miden(tmp_path, design, ids) -> None:
    """push_system_event is PUSH(id) EMIT DROP; the ids, copied from core/src/sys_events.rs: v0.18.0's constants
    EVENT_EXT2_INV = 5 and EVENT_MERKLE_NODE_TO_STACK = 1; v0.19.0's EventId::from_u64 entries for "sys::ext2_inv"
    and "sys::merkle_node_to_stack"."""
    for instr, event in zip(("ext2inv", "mtree_get"), ids, strict=True):
        p = tmp_path / "p.masm"
        p.write_text(f"begin\n    {instr}\nend\n")
        ops = [(o.name, o.imm) if o.name == "PUSH" else o.name for o in assemble(p, None, design).entry.ops]  # type: ignore[attr-defined]
        at = ops.index("EMIT")
        assert ops[at - 1 : at + 2] == [("PUSH", event), "EMIT", "DROP"], (design, instr)


def test_ext2_inverse_and_division_through_the_host_event(tmp_path) -> None:
    """ext2inv/ext2div emit the system event Ext2Inv (5); the host puts the inverse on the advice stack and the
    program checks it (EXT2MUL, the product must be (1, 0)). Answers checked with the test's own ext2 product."""
    p = tmp_path / "e.masm"
    p.write_text("begin\n    push.3.4 ext2inv swapw dropw\nend\n")  # a = 3 + 4x
    for design in ("miden-v0.18", "miden-v0.19"):
        r1, r0 = run_program(p, None, design).stack_outputs[:2]
        assert ext2_mul((r0, r1), (3, 4)) == (1, 0), design
    p.write_text("begin\n    push.10.20 push.3.4 ext2div push.3.4 ext2mul swapw dropw\nend\n")  # (b / a) a = b
    res = run_program(p, None, "miden-v0.19")
    assert res.stack_outputs[:2] == [20, 10] and verdict(res) == ([], [])
    p.write_text("begin\n    push.0.0 ext2inv\nend\n")
    with pytest.raises(ExecutionError, match=r"e\.masm:2:14: ext2inv: ext2 inverse of 0"):
        run_program(p, None, "miden-v0.19")


def test_pipe_mstream_and_horner_refuse_what_the_processor_refuses(tmp_path) -> None:
    """An address at s12 that is not word-aligned, or whose second word passes 2^32, a PIPE with fewer than 8
    advice values, and an alpha address at s13 that is not word-aligned stop the run naming the instruction."""
    p = tmp_path / "s.masm"
    pad = "padw padw padw push.{} movdn.12"
    cases = [
        (pad.format(1001) + " mem_stream", 8, r"s\.masm:2:\d+: mem_stream: word access at unaligned address 1001"),
        (pad.format(2**32 - 4) + " adv_pipe", 8, r"adv_pipe: memory address 4294967296 is not a u32"),
        (pad.format(8) + " adv_pipe", 7, r"adv_pipe: the advice stack has 7 value\(s\), PIPE needs 8"),
        ("push.1002 movdn.13 horner_eval_base", 0, r"horner_eval_base: word access at unaligned address 1002"),
    ]
    for body, n_advice, error in cases:
        p.write_text(f"begin\n    {body}\nend\n")
        with pytest.raises(ExecutionError, match=error):
            run_program(p, None, "miden-v0.19", advice=list(range(n_advice)))


# ------------------------------------------------------------------------------------------ refusals
def test_a_program_ending_deeper_than_16_is_refused(air_cli, tmp_path) -> None:
    p = tmp_path / "deep.masm"
    p.write_text("# one element too many\nbegin\n    push.1 push.2 drop\nend\n")
    with pytest.raises(ExecutionError, match=r"deep\.masm:2:1: the program ends with 17 elements.*OutputStackOverflow"):
        run_program(p, None, "miden-v0.19")
    code, _, err = air_cli("run", str(p), "--air", "miden-v0.18")
    assert code == 2 and err.count("\n") == 1 and "deep.masm:2:1:" in err and "Traceback" not in err
    p.write_text("begin\n    push.1 push.2 drop drop\nend\n")
    assert run_program(p, None, "miden-v0.19").cycles > 0
    assert "stack.overflow" in FILLED_FAMILIES and "stack.overflow" not in PENDING


def test_advice(air_cli, tmp_path) -> None:
    p = tmp_path / "adv.masm"
    p.write_text("begin\n    adv_push.2 swap drop movup.15 drop\n    adv_loadw\nend\n")
    code, out, err = air_cli("run", str(p), "--advice", "5,0x10,1,2,3,4", "--air", "miden-v0.19")
    # adv_push.2: 5 then 16 pushed ([16, 5]); swap drop keeps 5; adv_loadw: s0 = w3 = 4 .. s3 = w0 = 1
    assert code == 0 and out.startswith("stack: 4 3 2 1 0"), out + err
    code, out, err = air_cli("run", str(p), "--advice", "5,6,7", "--air", "miden-v0.19")
    assert code == 2 and "adv.masm:3:5: adv_loadw: the advice stack has 1 value(s), ADVPOPW needs 4" in err, err
    for bad, what in ((f"1,{P}", "value 2"), ("1,x", "value 2"), ("-1", "value 1")):
        code, out, err = air_cli("run", str(p), "--advice", bad, "--air", "miden-v0.19")
        assert code == 2 and f"--advice: {what}" in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "text,where,what",
    [
        ("breakpoint", "p.masm:2:12:", "unknown instruction 'breakpoint'"),
        ("div.0", "p.masm:2:12:", "division by zero"),
        ("movup.16", "p.masm:2:12:", "out of range: expected a stack index (2..15)"),
        ("swapw.4", "p.masm:2:12:", "out of range: expected a word index (1..3)"),
        ("adv_push.17", "p.masm:2:12:", "out of range: expected a count of advice values (1..16)"),
        ("exp.u65", "p.masm:2:12:", "out of range: expected a bit length (0..64)"),
        ("push.0 inv", "p.masm:2:19:", "inv of 0"),
        ("push.2 not", "p.masm:2:19:", "NOT needs binary values"),
        ("push.2 cswap", "p.masm:2:19:", "CSWAP needs binary values"),
        ("push.64 pow2", "p.masm:2:20:", "assertion failed"),  # pow2 takes exponents below 64 (6 EXPACC)
    ],
)
def test_refusals_name_file_line_col(tmp_path, text, where, what) -> None:
    p = tmp_path / "p.masm"
    p.write_text(f"begin\n    push.1 {text}\nend\n")
    with pytest.raises((MasmError, ExecutionError)) as e:
        run_program(p, None, "miden-v0.19")
    assert str(e.value).startswith(str(tmp_path)) and where in str(e.value) and what in str(e.value), str(e.value)


# ------------------------------------------------------------------------------------------ the model
@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_new_scenarios_pass_the_filled_families(name, design) -> None:
    res = run(name, design)
    assert verdict(res) == ([], [])
    if name == "stack_ops":  # the overflow table is used and balances (its own bus, p1)
        air = select_families(DESIGNS[res.air](), ["stack.overflow"])[0]
        (bus,) = [b for b in check_buses(air, trace_of(res), seed=1).buses if b.bus == "overflow"]
        assert bus.ok and bus.messages >= 2 * 20


MUTATION_COLUMNS = [f"s{i}" for i in range(16)] + ["h2", "stack_depth", "stack_overflow_addr", "stack_h0"]


@pytest.mark.parametrize("name", NEW)
def test_single_cell_changes_on_the_new_operations(name) -> None:
    """A sample of cells (the stack, the user-op helper h2, depth, overflow address, its helper) on the rows
    after the new operations, each set to a random value: caught on that row (a constraint or an unmatched bus
    message), or the miss is explained independently (tests.test_scenarios.why_not_caught)."""
    res = run(name, "miden-v0.19")
    air = select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]
    base = trace_of(res)
    opcodes = {o.name: o.opcode for o in air.operations}
    new_ops = {"INV", "NOT", "AND", "OR", "EQZ", "EXPACC", "EXT2MUL", "SWAPW", "SWAPW2", "SWAPW3", "SWAPDW", "CSWAP",
               "CSWAPW", "ADVPOP", "ADVPOPW", "SDEPTH", "CLK"} | {f"MOVDN{n}" for n in range(2, 9)}  # fmt: skip
    code = sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))
    rows = np.flatnonzero(np.isin(code, [opcodes[o] for o in new_ops]))
    assert len(rows) > 5
    rng = np.random.default_rng(11)
    caught = sampled = 0
    explained: dict[str, int] = {}
    for _ in range(12):
        r = int(rng.choice(rows)) + 1  # the next row: what the operation wrote
        col = str(rng.choice(MUTATION_COLUMNS))
        new = int(rng.integers(0, P, dtype=np.uint64))
        cols = dict(res.columns)
        cols[col] = cols[col].copy()
        cols[col][r] = new
        t = Trace(cols, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
        named = {int(x) for f in check(air, t).failures for x in f.rows}
        unmatched = {u.row for b in check_buses(air, t, seed=1).buses for u in b.unmatched}
        sampled += 1
        if {r, r - 1} & (named | unmatched):
            caught += 1
            continue
        reason = why_not_caught(air, base, col, r, new)
        assert reason is not None, f"{col} at row {r} -> {new} changes a constraint but was not reported"
        explained[reason] = explained.get(reason, 0) + 1
    print(f"{name}: {caught} of {sampled} caught; explained: {explained}")
    assert caught >= sampled // 2
