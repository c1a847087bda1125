"""u32 instructions in the executor and the assembler: the u32_ops scenario's results against Python integers,
its honest traces pass stack.u32_ops, chiplets.bitwise and range.checker (and every family the executor fills), the
helper registers and the bitwise rows against hand derivations from stack/u32_ops.md and chiplets/bitwise.md
(v0.18.0), single-cell changes caught, and each instruction's operations as the v0.18.0 assembler emits them
(checked by running them on a small stack machine written here from the docs, and by the cycle counts the
assembler's doc comments give)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from air.buscheck import check_buses
from air.evaluate import check, check_multiplicities
from air.miden import layout as L
from air.miden.designs import DESIGNS
from air.miden.exec_u32 import bitwise_rows
from air.miden.executor import EXECUTOR_DESIGNS, FILLED_FAMILIES, ExecutionError, run_program
from air.miden.masm import Block, MasmError, assemble
from air.select import select_families
from air.trace import Trace, TraceError

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
KERNEL = PROGRAMS / "kernel.masm"
P = 2**64 - 2**32 + 1
M = 2**32
HONEST = [d for d in EXECUTOR_DESIGNS if d != "miden-v0.18-permissive"]
HASHER_LABELS = {L.HASHER_LINEAR_HASH, L.HASHER_ABSORB, L.HASHER_RETURN_HASH}
U32_RC = {"U32ADD": 64, "U32SUB": 66, "U32MUL": 68, "U32DIV": 70, "U32SPLIT": 72, "U32ASSERT2": 74}
U32_RC |= {"U32ADD3": 76, "U32MADD": 78}  # opcodes (op_constraints.md): the u32 class, 100_xxx0


def expected_results() -> list[int]:
    """The eight results of traces/programs/u32_ops.masm, top of the stack first, by hand with Python ints."""
    x0 = 1 + (4000000000 + 3000000000) % M
    x1 = (x0 + 2 * (M - 1)) % M
    y = (((124 - 200) % M) - 3000000000) % M
    r1 = x1 + y
    r2 = (123456 * 654321 >> 32) * 3 + (123456 * 654321) % M
    q, r = divmod(1000003, 17)
    r3 = q // 9 + r % 5
    r4 = (M - 1) - ((0xDEADBEEF & 0xCAFEBABE) ^ 0x12345678)

    def mix(a: int, b: int) -> int:
        return ((a ^ b) & 0xFFFF) | 0x10000

    r5 = mix(0x0F0F0F0F, 0x00FF00FF) + mix(0xA5A5A5A5, 0x5A5A5A5A)
    r6 = int(5 < 9) + 2 * int(9 > 5)
    r7 = (P - 1) % M + (P - 1) // M
    r8 = 0x1234567890 % M
    return [r8, r7, r6, r5, r4, r3, r2, r1]


def run(design: str):
    return run_program(PROGRAMS / "u32_ops.masm", KERNEL, design)


def trace_of(res) -> Trace:
    return Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)


def opcodes(res) -> np.ndarray:
    return sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))


@pytest.mark.parametrize("design", HONEST)
def test_u32_scenario_passes_and_computes(design) -> None:
    res = run(design)
    assert res.stack_outputs == expected_results() + [0] * 8
    air = select_families(DESIGNS[res.air](), FILLED_FAMILIES + ("stack.overflow",))[0]
    t = trace_of(res)
    assert [f.constraint for f in check(air, t).failures] == []
    assert [b.bus for b in check_buses(air, t, seed=1).buses if not b.ok] == []
    # on b_chip, the bitwise requests are all answered: only the (pending) hasher's messages are left
    bus = select_families(DESIGNS[res.air](), ["chiplets.bus"])[0]
    left = {u.code for b in check_buses(bus, t, seed=1).buses for u in b.unmatched}
    assert left <= HASHER_LABELS and not left & {L.BITWISE_AND, L.BITWISE_XOR}


def test_counts_of_range_checks_and_bitwise_rows() -> None:
    """22 u32-class operations (counted by hand from the program: 6 additions and subtractions, 3 multiplications,
    3 divisions, u32not = U32ASSERT2 + U32SUB, u32lt, u32gt, u32split, u32cast, u32assert, u32assert2, u32assertw =
    two U32ASSERT2), 4 range checks each, no memory access under v0.18; 8 bitwise operations
    (u32and, u32xor, and 3 in each run of mask_mix: u32or is DUP1 DUP1 U32AND NEG ADD ADD), 8 rows each,
    starting on a multiple of 8 (the periodic columns)."""
    res = run("miden-v0.18")
    ops = opcodes(res)[: res.cycles]
    assert int(np.isin(ops, list(U32_RC.values())).sum()) == 22
    assert int(res.columns["range_m"].sum()) == 4 * 22
    c = res.columns
    bw = np.flatnonzero((c["chip0"] == 1) & (c["chip1"] == 0))
    assert len(bw) == 64 and bw[0] % 8 == 0 and np.array_equal(bw, np.arange(bw[0], bw[0] + 64))
    assert int((ops == 38).sum()) + int((ops == 39).sum()) == 8  # U32AND, U32XOR


def test_helper_registers_by_hand() -> None:
    """h_0..h_5 of the docs are the decoder's h2..h7 (air/src/trace/decoder/mod.rs USER_OP_HELPERS_OFFSET)."""
    res = run("miden-v0.18")
    c, ops = res.columns, opcodes(res)
    helpers = lambda r: [int(c[f"h{k}"][r]) for k in range(2, 8)]  # noqa: E731
    # U32DIV of 1000003 by 17: q = 58823, r = 12; h_0, h_1 limbs of a - q = 941180, h_2, h_3 of b - r - 1 = 4
    r = int(np.flatnonzero(ops == U32_RC["U32DIV"])[0])
    assert (int(c["s1"][r]), int(c["s0"][r])) == (1000003, 17)
    assert helpers(r) == [941180 % 65536, 941180 // 65536, 4, 0, 0, 0]
    # U32SPLIT of p - 1 = (2^32 - 1) 2^32: limbs 0, 0, 0xFFFF, 0xFFFF; m = 0 (2^32 - 1 - v_hi = 0 has no inverse)
    r = int(np.flatnonzero(ops == U32_RC["U32SPLIT"])[0])
    assert int(c["s0"][r]) == P - 1 and helpers(r) == [0, 0, 0xFFFF, 0xFFFF, 0, 0]
    # U32MUL of 654321 by 123456 = 18 * 2^32 + 3470442048: m (2^32 - 1 - 18) = 1 mod p
    r = int(np.flatnonzero(ops == U32_RC["U32MUL"])[0])
    h = helpers(r)
    assert h[:4] == [3470442048 % 65536, 3470442048 // 65536, 18, 0]
    assert h[4] * (M - 1 - 18) % P == 1 and h[5] == 0
    # U32SUB 124 - 200: the result's limbs, 0, 0 (processor: add_range_checks(c, ZERO))
    r = int(np.flatnonzero(ops == U32_RC["U32SUB"])[0])
    lo = (124 - 200) % M
    assert helpers(r) == [lo % 65536, lo // 65536, 0, 0, 0, 0]
    assert (int(c["s0"][r + 1]), int(c["s1"][r + 1])) == (1, lo)


def test_bitwise_rows_by_hand() -> None:
    """One AND cycle, a = 0xDEADBEEF (s1), b = 0xCAFEBABE (s0): row i holds the first i + 1 hex digits of a and
    b, the bits of the last of them, and z = the first i + 1 hex digits of a AND b (chiplets/bitwise.md)."""
    a, b = 0xDEADBEEF, 0xCAFEBABE
    ha, hb, hz = f"{a:08x}", f"{b:08x}", f"{a & b:08x}"
    rows = bitwise_rows(np.array([[0, a, b]], dtype=np.uint64))
    assert rows["a"].tolist() == [int(ha[: i + 1], 16) for i in range(8)]
    assert rows["b"].tolist() == [int(hb[: i + 1], 16) for i in range(8)]
    assert rows["z"].tolist() == [int(hz[: i + 1], 16) for i in range(8)]
    assert rows["z_p"].tolist() == [0] + [int(hz[: i + 1], 16) for i in range(7)]
    for j in range(4):
        assert rows[f"a{j}"].tolist() == [(int(d, 16) >> j) & 1 for d in ha]
        assert rows[f"b{j}"].tolist() == [(int(d, 16) >> j) & 1 for d in hb]
    xor = bitwise_rows(np.array([[1, a, b]], dtype=np.uint64))
    assert xor["op"].tolist() == [1] * 8 and int(xor["z"][7]) == a ^ b
    # the scenario's first bitwise cycle is this AND (the chiplet's a is the stack's s1)
    res = run("miden-v0.18")
    c = res.columns
    start = int(np.flatnonzero((c["chip0"] == 1) & (c["chip1"] == 0))[0])
    assert [int(c[L.BITWISE["a"]][start + i]) for i in range(8)] == rows["a"].tolist()
    assert [int(c[L.BITWISE["z"]][start + i]) for i in range(8)] == rows["z"].tolist()


def test_single_cell_changes_are_caught() -> None:
    """Random values in the cells the u32 constraints, the bitwise chiplet and the range checker read: every one
    is reported on its row (or the row before, for a transition), or refused as a bad multiplicity, by those three
    families alone (the program makes no memory access under v0.18, so the range bus has no other requester)."""
    res = run("miden-v0.18")
    air = select_families(DESIGNS[res.air](), ["stack.u32_ops", "chiplets.bitwise", "range.checker"])[0]
    c, ops = res.columns, opcodes(res)
    rng = random.Random(11)
    cells: list[tuple[str, int]] = []
    rc_rows = np.flatnonzero(np.isin(ops[: res.cycles], list(U32_RC.values())))
    for r in rng.sample(list(rc_rows), 5):
        cells += [(f"h{k}", int(r)) for k in (2, 3, 4, 5)]  # the limbs: range-checked and constrained
    # m (h6) on U32MUL/U32MADD rows, where v_lo != 0 makes the validity constraint read it
    for r in np.flatnonzero((ops == U32_RC["U32MUL"]) | (ops == U32_RC["U32MADD"])):
        if int(c["h2"][r]) or int(c["h3"][r]):
            cells.append(("h6", int(r)))
    bw = np.flatnonzero((c["chip0"] == 1) & (c["chip1"] == 0))
    for r in rng.sample(list(bw), 5):
        cells += [(f"chip{k}", int(r)) for k in rng.sample(range(2, 15), 3)]
    for r in rng.sample(list(np.flatnonzero(c["range_m"])), 3):
        cells += [("range_m", int(r)), ("range_v", int(r))]
    base = trace_of(res)
    assert not check(air, base).failures
    missed = []
    for col, r in cells:
        cols = dict(c)
        cols[col] = cols[col].copy()
        new = rng.randrange(P)
        cols[col][r] = new
        t = Trace(cols, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
        try:
            check_multiplicities(air, t)
        except TraceError as e:
            assert f"row {r}" in str(e) or "multiplicities sum" in str(e), e
            continue
        named = {int(x) for f in check(air, t).failures for x in f.rows}
        unmatched = {u.row for b in check_buses(air, t, seed=1).buses for u in b.unmatched}
        if not {r, r - 1} & (named | unmatched):
            missed.append((col, r, new))
    assert len(cells) >= 40 and missed == []


# ------------------------------------------------------------------------------------------ the assembler
def ops_of(tmp_path, text: str, design: str = "miden-v0.18") -> list[tuple[str, int]]:
    p = tmp_path / "i.masm"
    p.write_text(f"begin\n  {text}\nend\n")
    prog = assemble(p, None, design)
    assert isinstance(prog.entry, Block)
    return [(o.name, o.imm) for o in prog.entry.ops]


def names(tmp_path, text: str) -> list[str]:
    return [n for n, _ in ops_of(tmp_path, text)]


# the v0.18.0 assembler's doc comments give these cycle counts (crates/assembly/src/instruction/u32_ops.rs and
# field_ops.rs: split_elements 3 + high bits 6 (lt/lte) or 7 (gt/gte) + low bits 3 (lt) or 4 (lte) + set_result 2)
CYCLES = {
    "u32testw": 23, "u32assertw": 6, "u32wrapping_add": 2, "u32overflowing_add": 1, "u32wrapping_sub": 2,
    "u32overflowing_sub": 1, "u32wrapping_mul": 2, "u32overflowing_mul": 1, "u32div": 2, "u32mod": 3,
    "u32divmod": 1, "u32not": 5, "u32lt": 3, "u32lte": 5, "u32gt": 4, "u32gte": 4, "u32min": 8, "u32max": 9,
    "lt": 14, "lte": 15, "gt": 15, "gte": 16, "u32wrapping_add.7": 3, "u32div.7": 3, "u32mod.7": 4,
    "u32divmod.7": 2, "u32lt.7": 4, "u32max.7": 10, "u32wrapping_mul.7": 3,
}  # fmt: skip


@pytest.mark.parametrize("instr,cycles", sorted(CYCLES.items()))
def test_cycle_counts_of_the_v018_assembler(tmp_path, instr, cycles) -> None:
    assert len(ops_of(tmp_path, instr)) == cycles


def test_immediate_forms_and_folds(tmp_path) -> None:
    # grammar.lalrpop folds: wrapping add/sub by 0 and mul/div by 1 are nothing; and with 0 is DROP PAD
    assert names(tmp_path, "push.5 u32wrapping_add.0") == ["PUSH"]
    assert names(tmp_path, "push.5 u32div.1") == ["PUSH"]
    assert names(tmp_path, "push.5 u32and.0") == ["PUSH", "DROP", "PAD"]
    assert names(tmp_path, "push.5 u32wrapping_mul.0") == ["PUSH", "DROP", "PAD"]
    # push_u32_value: 0 -> PAD, 1 -> PAD INCR, else PUSH
    assert names(tmp_path, "u32overflowing_add.0") == ["PAD", "U32ADD"]
    assert names(tmp_path, "u32wrapping_add.1") == ["PAD", "INCR", "U32ADD", "DROP"]
    assert ops_of(tmp_path, "u32mod.9") == [("PUSH", 9), ("U32DIV", 0), ("SWAP", 0), ("DROP", 0)]
    assert ops_of(tmp_path, "u32not")[0] == ("PUSH", M - 1)
    assert ops_of(tmp_path, "lt.12345678901")[0] == ("PUSH", 12345678901)


@pytest.mark.parametrize(
    "text,what",
    [
        ("u32div.0", "division by zero"),
        ("u32mod.0", "division by zero"),
        ("u32wrapping_add.4294967296", "out of range"),
        ("u32split.1", "takes no immediate"),
        ("u32shl", "unknown instruction"),
        ("u32popcnt", "unknown instruction"),
        ("u32clz", "unknown instruction"),
        ("u32assert.err=oops", "takes no immediate"),
    ],
)
def test_refused_with_file_line_col(tmp_path, text, what) -> None:
    p = tmp_path / "r.masm"
    p.write_text(f"begin\n  push.1\n  {text}\nend\n")
    with pytest.raises(MasmError) as e:
        assemble(p, None, "miden-v0.19")
    assert str(e.value).startswith(f"{p}:3:3:") and what in str(e.value), str(e.value)


def _stack_machine(ops: list[tuple[str, int]], stack: list[int]) -> list[int]:
    """The operations' effect (stack top first), written from stack/*.md at v0.18.0, independently of
    air.miden.exec_u32; an operand check failing raises AssertionError."""
    s = list(stack)
    for name, imm in ops:
        if name == "PUSH":
            s.insert(0, imm)
        elif name == "PAD":
            s.insert(0, 0)
        elif name == "INCR":
            s[0] += 1
        elif name == "DROP":
            s.pop(0)
        elif name == "SWAP":
            s[0], s[1] = s[1], s[0]
        elif name.startswith("DUP"):
            s.insert(0, s[int(name[3:])])
        elif name.startswith("MOVUP"):
            s.insert(0, s.pop(int(name[5:])))
        elif name.startswith("MOVDN"):
            s.insert(int(name[5:]), s.pop(0))
        elif name == "NEG":
            s[0] = -s[0] % P
        elif name in ("ADD", "AND", "OR"):
            b, a = s.pop(0), s.pop(0)
            if name != "ADD":
                assert a in (0, 1) and b in (0, 1)
            s.insert(0, (a + b) % P if name == "ADD" else a & b if name == "AND" else a | b)
        elif name == "EQZ":
            s[0] = int(s[0] == 0)
        elif name == "NOT":
            assert s[0] in (0, 1)
            s[0] = 1 - s[0]
        elif name == "CSWAP":
            c = s.pop(0)
            assert c in (0, 1)
            if c:
                s[0], s[1] = s[1], s[0]
        elif name == "U32SPLIT":
            v = s.pop(0)
            s[:0] = [v >> 32, v & (M - 1)]
        elif name == "U32ASSERT2":
            assert s[0] < M and s[1] < M
        elif name in ("U32ADD", "U32SUB", "U32MUL", "U32DIV", "U32AND", "U32XOR"):
            b, a = s.pop(0), s.pop(0)
            assert a < M and b < M
            if name == "U32ADD":
                s[:0] = [(a + b) >> 32, (a + b) & (M - 1)]
            elif name == "U32SUB":
                s[:0] = [int(a < b), (a - b) % M]
            elif name == "U32MUL":
                s[:0] = [(a * b) >> 32, (a * b) & (M - 1)]
            elif name == "U32DIV":
                s[:0] = [a % b, a // b]
            else:
                s.insert(0, a & b if name == "U32AND" else a ^ b)
        elif name in ("U32ADD3", "U32MADD"):
            b, a, c = s.pop(0), s.pop(0), s.pop(0)
            assert a < M and b < M and c < M
            v = a + b + c if name == "U32ADD3" else a * b + c
            s[:0] = [v >> 32, v & (M - 1)]
        else:  # pragma: no cover
            raise AssertionError(f"no model of {name}")
    return s


# instruction -> its result on [b, a, rest...] (b on top), as the instruction reference (docs/src/user_docs) says
SEMANTICS = {
    "u32lt": lambda a, b: [int(a < b)],
    "u32lte": lambda a, b: [int(a <= b)],
    "u32gt": lambda a, b: [int(a > b)],
    "u32gte": lambda a, b: [int(a >= b)],
    "u32min": lambda a, b: [min(a, b)],
    "u32max": lambda a, b: [max(a, b)],
    "u32or": lambda a, b: [a | b],
    "u32and": lambda a, b: [a & b],
    "u32xor": lambda a, b: [a ^ b],
    "u32not": lambda a, b: [M - 1 - b, a],
    "u32overflowing_add": lambda a, b: [(a + b) >> 32, (a + b) % M],
    "u32wrapping_sub": lambda a, b: [(a - b) % M],
    "u32overflowing_mul": lambda a, b: [(a * b) >> 32, (a * b) % M],
    "u32div": lambda a, b: [a // b],
    "u32mod": lambda a, b: [a % b],
    "u32divmod": lambda a, b: [a % b, a // b],
    "u32test": lambda a, b: [int(b < M), b, a],
    "u32cast": lambda a, b: [b % M, a],
    "u32assert2": lambda a, b: [b, a],
}
FIELD = {
    "lt": lambda a, b: int(a < b),
    "lte": lambda a, b: int(a <= b),
    "gt": lambda a, b: int(a > b),
    "gte": lambda a, b: int(a >= b),
}


@pytest.mark.parametrize("instr", sorted(SEMANTICS))
def test_u32_expansions_compute_the_instruction(tmp_path, instr) -> None:
    ops = ops_of(tmp_path, instr)
    rng = random.Random(instr)
    edge = [0, 1, 2, M - 2, M - 1]
    for a, b in [(x, y) for x in edge for y in edge] + [(rng.randrange(M), rng.randrange(M)) for _ in range(50)]:
        if instr in ("u32div", "u32mod", "u32divmod") and b == 0:
            continue
        assert _stack_machine(ops, [b, a, 7]) == SEMANTICS[instr](a, b) + [7], (instr, a, b)


@pytest.mark.parametrize("instr", sorted(FIELD))
def test_field_comparisons_compute_the_instruction(tmp_path, instr) -> None:
    ops = ops_of(tmp_path, instr)
    rng = random.Random(instr)
    edge = [0, 1, M - 1, M, M + 1, P - M, P - 2, P - 1]
    pairs = [(x, y) for x in edge for y in edge] + [(rng.randrange(P), rng.randrange(P)) for _ in range(50)]
    pairs += [(x, x + d) for x in (rng.randrange(P - 2) for _ in range(10)) for d in (1, M)]  # same high half
    for a, b in pairs:
        if b >= P:
            continue
        assert _stack_machine(ops, [b, a, 7]) == [FIELD[instr](a, b), 7], (instr, a, b)


def test_u32testw_and_assertw(tmp_path) -> None:
    ops = ops_of(tmp_path, "u32testw")
    for w in ([1, 2, 3, 4], [1, 2, 3, M], [M, 0, 0, 0], [0, 0, M + 5, 0]):
        assert _stack_machine(ops, w + [9]) == [int(all(x < M for x in w))] + w + [9]
    assert _stack_machine(ops_of(tmp_path, "u32assertw"), [1, 2, 3, 4, 9]) == [1, 2, 3, 4, 9]


@pytest.mark.parametrize(
    "text,what",
    [
        ("push.4294967296 push.1 u32overflowing_add", "needs u32 operands, got 4294967296"),
        ("push.5 push.0 u32divmod", "division by zero"),
        ("push.1 push.4294967296 u32and", "needs u32 operands"),
        ("push.4294967296 u32assert", "needs u32 operands"),
    ],
)
def test_execution_errors_name_the_instruction(tmp_path, text, what) -> None:
    p = tmp_path / "e.masm"
    p.write_text(f"begin\n  {text}\nend\n")
    with pytest.raises(ExecutionError) as e:
        run_program(p, None, "miden-v0.19")
    assert f"{p}:2:" in str(e.value) and what in str(e.value), str(e.value)
