"""The decoder families (docs/src/design/decoder/constraints.md at v0.18.0 and v0.19.0): degrees derived by hand
from the docs' flag classes (stack/op_constraints.md: deg7 7, u32 6, deg5 5 with e0, deg4 4 with e1; a flag sum
loses degree where the opcodes share a prefix), the hasher request labels of the code, and small numeric checks
of hand-built rows."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import sympy as sp

from air.air import Air, Message
from air.analysis import Analysis
from air.compile import eval_int
from air.miden.builder import MidenBuilder
from air.miden.design import DESIGN_LIST
from air.miden.designs import DESIGNS
from air.miden.opcodes import OPCODES_V18

# (docs' degree, degree by hand). Opcodes (op_constraints.md): SPLIT 84 = 101_0100, LOOP 85 = 101_0101,
# SPAN 86 = 101_0110, PUSH 91 = 101_1011, DYN 88 = 101_1000, DYNCALL 92 = 101_1100, END 112 = 111_0000,
# REPEAT 116 = 111_0100, RESPAN 120 = 111_1000, HALT 124 = 111_1100.
CONSTRAINTS: dict[str, tuple[int, int]] = {
    # SPLIT and LOOP differ in b0 only: f_split + f_loop = e0 (1-b3) b2 (1-b1), degree 4; + s0^2 - s0 (2)
    "split_loop_s0_binary": (7, 6),
    **{f"dyn_h{i}_zero": (6, 6) for i in range(4, 8)},  # f_dyn (5) * h_i (1)
    "repeat_s0_one": (5, 5),  # f_repeat (4) * (1 - s0) (1)
    "repeat_in_loop": (5, 5),
    "respan_addr": (5, 5),
    "end_loop_s0_zero": (6, 6),  # f_end (4) * h5 * s0
    **{f"end_repeat_h{i}": (9, 9) for i in range(5)},  # f_end (4) * f_repeat' (4) * (h_i' - h_i) (1)
    "halt_next": (8, 8),  # f_halt (4) * (1 - f_halt') (4)
    "halt_addr": (5, 5),
    # f_dyn + f_dyncall = e0 b3 (1-b1)(1-b0): 4; the prefix parts e0 (1-b3) b2 and e1 b4 are 3 and 2
    "sp_ctrl": (5, 4),
    "sp_span_next": (6, 6),  # f_span (5) * (1 - sp') (1)
    # END and RESPAN differ in b3 only: f_end' + f_respan' = e1' b4' (1-b2'): 3, + sp' (1)
    "sp_end_respan_next": (5, 4),
    "sp_copy": (6, 6),
    "addr_in_span": (2, 2),
    "gc_step": (3, 3),
    "gc_group_done": (8, 8),  # sp * dgc * (1 - f_imm) (5) * h0
    # f_span + f_imm: the top monomials +-e0 b0 b1 b2 b3 of SPAN and PUSH cancel: 4, + (dgc - 1) (1)
    "gc_decrement": (6, 5),
    "gc_end_respan_next": (5, 4),
    "gc_end_zero": (5, 5),
    "h0_decode": (6, 5),  # the same cancellation; f_sgc = sp sp' (1 - dgc) is 3
    "h0_batch_end": (6, 5),  # sp (1) * (f_end' + f_respan') (3) * h0 (1)
    "ox_span_reset": (6, 6),
    "ox_group_reset": (6, 7),  # sp (1) * ng = dgc - f_imm (5) * ox' (1): the docs count 6
    "ox_increment": (7, 8),  # sp sp' (2) * (1 - ng) (5) * (dox - 1) (1): the docs count 7
    "ox_range": (9, 9),
    **{f"c{i}_binary": (2, 2) for i in range(3)},
    "batch_flags_span": (5, 5),
    "batch_flags_zero": (6, 6),
    # f_g1 + f_g2 + f_g4 = (1-c0)(c1 + c2 - c1 c2): 3, + h_i
    **{f"batch_g4_h{i}_zero": (4, 4) for i in range(4, 8)},
    # f_g1 + f_g2 = (1-c0) c2 (c1 + 1 - c1) = (1-c0) c2: 2, + h_i (with the code's encoding of f_g1, f_g4)
    "batch_g2_h2_zero": (4, 3),
    "batch_g2_h3_zero": (4, 3),
    "batch_g1_h1_zero": (4, 4),
}

# bus terms: (bus, term) -> (docs' degree or None, degree by hand)
TERMS: dict[tuple[str, str], tuple[int | None, int]] = {
    ("block_hash", "v_join"): (7, 7),  # f_join (5) * ch1 * ch2
    ("block_hash", "v_split"): (7, 7),  # f_split (5) * (s0 ch1 + (1 - s0) ch2) (2)
    ("block_hash", "v_loop"): (7, 7),  # f_loop s0 (6) * ch1
    ("block_hash", "v_repeat"): (5, 5),
    # DYN+DYNCALL is 4 (above), CALL+SYSCALL = e1 (1-b4) b3 is 3: 4 + ch1 (1)
    ("block_hash", "v_allcalls"): (6, 5),
    ("block_hash", "u_end"): (8, 8),  # f_end (4) * bh with is_first_child = 1 - (f_end' + f_repeat' + f_halt') (4)
    ("op_group", "v_g2"): (None, 4),  # f_g2 (3) * v_1
    ("op_group", "v_g4"): (None, 6),  # f_g4 (3) * v_1 v_2 v_3
    ("op_group", "v_g8"): (None, 8),  # f_g8 = c0 (1) * v_1 .. v_7
    ("op_group", "u"): (None, 8),  # f_dg = sp dgc (2) * u with group (2^7 h0' + op')(1 - f_imm) + s0' f_push (6)
}
BUSES = {"block_stack": (7, 7), "block_hash": (9, 9), "op_group": (9, 9)}

VERSIONS = ("miden-v0.18", "miden-v0.19")


@pytest.fixture(scope="module")
def an(miden_analyses) -> dict[str, Analysis]:
    return {name: miden_analyses[name] for name in VERSIONS}


@pytest.mark.parametrize("name", VERSIONS)
def test_constraint_degrees(an: dict[str, Analysis], name: str) -> None:
    a = an[name]
    for item, (docs, by_hand) in CONSTRAINTS.items():
        c = a.constraint(item)
        assert (c.claimed_degree, c.degree) == (docs, by_hand), item


@pytest.mark.parametrize("name", VERSIONS)
def test_table_degrees(an: dict[str, Analysis], name: str) -> None:
    a = an[name]
    for (bus, term), (docs, by_hand) in TERMS.items():
        t = a.term(bus, term)
        assert (t.claimed_degree, t.degree) == (docs, by_hand), (bus, term)
    for bus, (docs, by_hand) in BUSES.items():
        assert (a.bus(bus).claimed_degree, a.bus(bus).degree) == (docs, by_hand), bus


def test_families() -> None:
    fam = DESIGNS["miden-v0.18"]().families
    assert fam["halt_next"] == fam["sp_ctrl"] == "decoder.flow"
    assert fam["ox_range"] == fam["c0_binary"] == fam["sp_first"] == "decoder.span"
    assert fam["bus:block_hash"] == fam["bus:block_hash/u_end"] == "decoder.block_hash"
    assert fam["bus:op_group"] == fam["bus:op_group/u"] == "decoder.op_group"


def test_span_columns_are_constrained() -> None:
    air = DESIGNS["miden-v0.18"]()
    for col in ("in_span", "group_count", "op_index", "c0", "c1", "c2"):
        assert col not in air.unchecked, col
        assert col in air.read_columns(), col


# ------------------------------------------------------------------------ hasher request labels (the code's)
def _term_messages(air: Air, bus: str, term: str) -> tuple[Message, ...]:
    return next(t for b in air.buses if b.name == bus for t in b.terms if t.name == term).messages


@pytest.mark.parametrize("name", VERSIONS)
def test_hasher_request_labels_and_addresses(name: str) -> None:
    """processor/src/chiplets/aux_trace/bus/hasher.rs (v0.18.0, v0.19.0): LINEAR_HASH_LABEL = 3, RETURN_HASH_LABEL
    = 1; a block start sends 3 + 16 = 19 at a', RESPAN 3 + 32 = 35 at a' - 1, END 1 + 32 = 33 at a + 7."""
    air = DESIGNS[name]()
    rows = {"addr": 100, "addr'": 200}

    def addr(m: Message) -> int:
        return eval_int(sp.sympify(dict(m.fields)["addr"]), lambda n: rows.get(n, 0))

    ctrl = _term_messages(air, "chiplets", "u_ctrli")[0]
    span = _term_messages(air, "chiplets", "u_span")[0]
    respan = _term_messages(air, "chiplets", "u_respan")[0]
    end = _term_messages(air, "chiplets", "u_end")[0]
    dyn = _term_messages(air, "chiplets", "u_dyn" if name == "miden-v0.19" else "u_dynordyncall")[0]
    assert ctrl.label_value == span.label_value == dyn.label_value == 19  # not 3
    assert respan.label_value == 35  # not 19
    assert end.label_value == 33
    assert addr(ctrl) == addr(span) == addr(dyn) == 200  # a'
    assert addr(respan) == 199  # a' - 1, not a'
    assert addr(end) == 107  # a + 7


# ------------------------------------------------------------------------ numeric checks on hand-built rows
def op_cells(opcode: int, nxt: bool = False) -> dict[str, int]:
    """The op bits and e0/e1 of ``opcode`` (e0 = b6 (1-b5) b4, e1 = b6 b5), on the current or the next row."""
    bits = [(opcode >> i) & 1 for i in range(7)]
    s = "'" if nxt else ""
    out = {f"b{i}{s}": v for i, v in enumerate(bits)}
    out[f"e0{s}"] = bits[6] * (1 - bits[5]) * bits[4]
    out[f"e1{s}"] = bits[6] * bits[5]
    return out


def value(air: Air, name: str, cells: Mapping[str, int]) -> int:
    """The constraint ``name`` on a pair of rows given by ``cells`` (every other cell 0), mod p."""
    return eval_int(air.constraint(name).expr, lambda n: cells.get(n, 0))


@pytest.fixture(scope="module")
def v18(miden_airs) -> Air:
    return miden_airs["miden-v0.18"]


OP = OPCODES_V18


def test_respan_moves_the_address_by_8(v18: Air) -> None:
    rows = {**op_cells(OP["RESPAN"]), "addr": 16, "addr'": 24}
    assert value(v18, "respan_addr", rows) == 0
    assert value(v18, "respan_addr", {**rows, "addr'": 25}) != 0


def test_halt_is_followed_by_halt(v18: Air) -> None:
    rows = {**op_cells(OP["HALT"]), **op_cells(OP["HALT"], nxt=True)}
    assert value(v18, "halt_next", rows) == 0 and value(v18, "halt_addr", rows) == 0
    assert value(v18, "halt_next", {**op_cells(OP["HALT"]), **op_cells(OP["NOOP"], nxt=True)}) != 0
    assert value(v18, "halt_addr", {**rows, "addr": 8}) != 0


def test_end_then_repeat_keeps_the_loop_body_hash(v18: Air) -> None:
    rows = {**op_cells(OP["END"]), **op_cells(OP["REPEAT"], nxt=True)}
    rows |= {f"h{i}": 100 + i for i in range(5)} | {f"h{i}'": 100 + i for i in range(5)}
    assert all(value(v18, f"end_repeat_h{i}", rows) == 0 for i in range(5))
    assert value(v18, "end_repeat_h2", {**rows, "h2'": 7}) != 0


def test_sp_ctrl_includes_dyncall(v18: Air) -> None:
    """1 - sp - f_ctrl: sp = 0 on control rows (DYNCALL too: the docs' f_ctrl omits it), 1 on the others."""
    for op in ("JOIN", "SPLIT", "LOOP", "REPEAT", "SPAN", "RESPAN", "DYN", "DYNCALL", "CALL", "SYSCALL", "END", "HALT"):
        assert value(v18, "sp_ctrl", {**op_cells(OP[op]), "in_span": 0}) == 0, op
        assert value(v18, "sp_ctrl", {**op_cells(OP[op]), "in_span": 1}) != 0, op
    for op in ("NOOP", "ADD", "PUSH", "U32ADD", "MRUPDATE", "HPERM"):
        assert value(v18, "sp_ctrl", {**op_cells(OP[op]), "in_span": 1}) == 0, op
        assert value(v18, "sp_ctrl", {**op_cells(OP[op]), "in_span": 0}) != 0, op


@pytest.mark.parametrize("name", ["miden-fnhash-mem-slot", "miden-v0.19"])
def test_f_ctrl_follows_moved_opcodes(name: str) -> None:
    """fnhash-mem-slot moves DYNCALL to 120 and RESPAN to 94: f_ctrl is still 1 on exactly the control ops."""
    d = next(x for x in DESIGN_LIST if x.name == name)
    f = MidenBuilder(d).flags.ctrl
    ctrl = {"JOIN", "SPLIT", "LOOP", "REPEAT", "SPAN", "RESPAN", "DYN", "DYNCALL", "CALL", "SYSCALL", "END", "HALT"}
    for op, code in d.opcodes.items():
        cells = op_cells(code)
        assert eval_int(f, lambda n, c=cells: c.get(n, 0)) == (1 if op in ctrl else 0), op


def test_dyn_leaves_h4_to_h7_empty(v18: Air) -> None:
    """DYN: h0..h3 hold the callee hash (read from memory), h4..h7 are 0 (processor start_dyn)."""
    rows = {**op_cells(OP["DYN"])} | {f"h{i}": 11 + i for i in range(4)}
    assert all(value(v18, f"dyn_h{i}_zero", rows) == 0 for i in range(4, 8))
    assert value(v18, "dyn_h5_zero", {**rows, "h5": 1}) != 0


def test_group_count_and_op_index_inside_a_span(v18: Air) -> None:
    """Two rows inside a basic block: ADD then MUL in the same group (gc kept, h0 = 2^7 h0' + op', ox + 1)."""
    h0_next = 5
    rows = {**op_cells(OP["ADD"]), **op_cells(OP["MUL"], nxt=True), "in_span": 1, "in_span'": 1}
    rows |= {"group_count": 3, "group_count'": 3, "op_index": 2, "op_index'": 3}
    rows |= {"h0": h0_next * 2**7 + OP["MUL"], "h0'": h0_next, "addr": 64, "addr'": 64}
    for name in ("gc_step", "gc_group_done", "h0_decode", "ox_group_reset", "ox_increment", "addr_in_span", "sp_copy"):
        assert value(v18, name, rows) == 0, name
    assert value(v18, "h0_decode", {**rows, "h0": rows["h0"] + 1}) != 0
    assert value(v18, "ox_increment", {**rows, "op_index'": 4}) != 0
    assert value(v18, "gc_step", {**rows, "group_count'": 1}) != 0  # a drop of 2
    assert value(v18, "addr_in_span", {**rows, "addr'": 72}) != 0
    assert value(v18, "ox_range", {"op_index": 8}) == 0 and value(v18, "ox_range", {"op_index": 9}) != 0


def test_batch_flags_of_a_one_group_span(v18: Air) -> None:
    """(c0, c1, c2) = (0, 1, 1) is one group (decoder/main.md, OP_BATCH_1_GROUPS): h1..h7 must be 0."""
    rows = {**op_cells(OP["SPAN"]), "c1": 1, "c2": 1, "h0": 99}
    names = ["batch_flags_span", "batch_flags_zero", "batch_g1_h1_zero", "batch_g2_h2_zero", "batch_g4_h7_zero"]
    assert all(value(v18, n, rows) == 0 for n in names)
    assert value(v18, "batch_g1_h1_zero", {**rows, "h1": 3}) != 0
    assert value(v18, "batch_flags_span", {**rows, "c1": 0, "c2": 0}) != 0  # SPAN with no batch flag
    assert value(v18, "batch_flags_zero", {**op_cells(OP["ADD"]), "c0": 1}) != 0  # a flag outside SPAN/RESPAN
    # four groups (0, 1, 0): h1..h3 free, h4..h7 zero
    four = {**op_cells(OP["SPAN"]), "c1": 1, "h1": 1, "h2": 2, "h3": 3}
    assert value(v18, "batch_g2_h2_zero", four) == 0 and value(v18, "batch_g4_h4_zero", {**four, "h4": 1}) != 0


def _fields(m: Message, cells: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(eval_int(sp.sympify(e), lambda n: cells.get(n, 0)) for _, e in m.fields)


def test_op_group_row_added_by_span_is_the_row_removed_later(v18: Air) -> None:
    """A two-group batch: SPAN (gc = 2, h1 = g1) adds (a', 1, g1); the row where gc drops 1 -> 0 removes
    (a, 1, 2^7 h0' + op'), which is g1 when the prover puts g1 minus its first op in h0'."""
    a, g1_rest, first_op = 32, 9, OP["MUL"]
    span = {**op_cells(OP["SPAN"]), "c2": 1, "group_count": 2, "addr'": a, "h1": g1_rest * 2**7 + first_op}
    (added,) = _term_messages(v18, "op_group", "v_g2")
    dec = {**op_cells(OP["ADD"]), **op_cells(first_op, nxt=True), "in_span": 1, "group_count": 1, "addr": a}
    dec |= {"h0'": g1_rest}
    (removed,) = _term_messages(v18, "op_group", "u")
    assert _fields(added, span) == _fields(removed, dec) == (a, 1, g1_rest * 2**7 + first_op)
    # PUSH removes its immediate value, found on top of the stack in the next row
    push = {**op_cells(OP["PUSH"]), "in_span": 1, "group_count": 1, "addr": a, "s0'": 12345}
    assert _fields(removed, push) == (a, 1, 12345)


def test_block_hash_rows(v18: Air) -> None:
    """SPLIT adds the taken branch; END's is_first_child is 1 unless END/REPEAT/HALT follows."""
    cells = {**op_cells(OP["SPLIT"]), "addr'": 40} | {f"h{i}": 10 + i for i in range(8)}
    (split_row,) = _term_messages(v18, "block_hash", "v_split")
    assert _fields(split_row, {**cells, "s0": 1}) == (40, 10, 11, 12, 13, 0, 0)
    assert _fields(split_row, {**cells, "s0": 0}) == (40, 14, 15, 16, 17, 0, 0)
    (end_row,) = _term_messages(v18, "block_hash", "u_end")
    end = {**op_cells(OP["END"]), "addr'": 8, "h4": 1} | {f"h{i}": 20 + i for i in range(4)}
    assert _fields(end_row, {**end, **op_cells(OP["JOIN"], nxt=True)}) == (8, 20, 21, 22, 23, 1, 1)
    for nxt_op in ("END", "REPEAT", "HALT"):
        assert _fields(end_row, {**end, **op_cells(OP[nxt_op], nxt=True)})[5] == 0, nxt_op


def test_block_stack_rows_saved_by_calls() -> None:
    """p1 rows of CALL/SYSCALL/DYNCALL (block_stack_table.rs): (a', a, 0, ctx, fmp, b0, b1, fn_hash) at v0.18,
    without fmp at v0.19; DYNCALL saves h4/h5 (the depth and overflow address after the drop) as b0/b1."""
    v18, v19 = DESIGNS["miden-v0.18"](), DESIGNS["miden-v0.19"]()
    head = ["blk", "prnt", "is_loop", "ctx"]
    tail = ["b0", "b1", "fn_hash0", "fn_hash1", "fn_hash2", "fn_hash3"]
    for air, fields in ((v18, [*head, "fmp", *tail]), (v19, [*head, *tail])):
        for term in ("v_callorsyscall", "v_dyncall"):
            (m,) = _term_messages(air, "block_stack", term)
            assert [n for n, _ in m.fields] == fields, (air.name, term)
        (m,) = _term_messages(air, "block_stack", "v_dyncall")
        cells = {"addr": 5, "addr'": 13, "h4": 17, "h5": 99, "stack_depth": 20}
        got = dict(zip(fields, _fields(m, cells)))
        assert (got["blk"], got["prnt"], got["b0"], got["b1"]) == (13, 5, 17, 99)
