"""The stack's u32, I/O, crypto and precompile operations (stk2): degrees derived by hand from the Miden docs
(stack/u32_ops.md, io_ops.md, crypto_ops.md, precompiles.md at v0.18.0/v0.19.0; flag degrees from
stack/op_constraints.md: deg7 7, u32 class 6, deg5 5, deg4 4; every bus message is linear, degree 1), and
small numeric checks of hand-built rows."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from air.air import Air, message_value
from air.analysis import Analysis
from air.compile import eval_int
from air.field import P
from air.miden.designs import DESIGNS
from air.miden.opcodes import OPCODES_V18, OPCODES_V19, free_slots

FAMILIES = ("stack.u32_ops", "stack.io_ops", "stack.crypto_ops", "stack.precompiles")


@pytest.fixture(scope="module")
def an(miden_analyses) -> dict[str, Analysis]:
    return {n: miden_analyses[n] for n in ("miden-v0.18", "miden-v0.19")}


# name -> degree: u32_ops.md states 1 (2 for products and s0'^2 - s0', 3 for element validity) + flag 6
U32 = {
    "u32split_s0": 7, "u32split_s1n": 7, "u32split_s0n": 7, "u32split_valid": 9,
    "u32assert2_s0n": 7, "u32assert2_s1n": 7,
    "u32add_sum": 7, "u32add_s0n": 7, "u32add_s1n": 7,
    "u32add3_sum": 7, "u32add3_s0n": 7, "u32add3_s1n": 7,
    "u32sub_s1": 7, "u32sub_borrow_binary": 8, "u32sub_s1n": 7,
    "u32mul_prod": 8, "u32mul_s1n": 7, "u32mul_s0n": 7, "u32mul_valid": 9,
    "u32madd_prod": 8, "u32madd_s1n": 7, "u32madd_s0n": 7, "u32madd_valid": 9,
    "u32div_s1": 8, "u32div_s1n": 7, "u32div_s0n": 7,
}  # fmt: skip
# io_ops.md: SDEPTH s0' - b0 (1) + flag 7; MSTREAM s12' - s12 - 8 (1) + flag 5; PIPE the same (derived)
IO = {"sdepth": 8, "mstream_addr": 6, "pipe_addr": 6}
# crypto_ops.md: HORNERBASE degree 5 + flag 4 (opcode 100); HORNEREXT 3 + flag 5 (opcode 89)
HORNER = {f"hornerbase_{v}": 9 for v in ("tmp0", "tmp1", "acc0", "acc1")} | {
    f"hornerext_{v}": 8 for v in ("tmp0", "tmp1", "acc0", "acc1")
}
# b_chip terms: flag + one degree per message
CHIP = {
    "u_u32and": 7 + 1,  # U32AND (38, deg7) * bitwise request
    "u_u32xor": 7 + 1,
    "u_mload": 7 + 1,
    "u_mstore": 7 + 1,
    "u_mloadw": 7 + 1,
    "u_mstorew": 7 + 1,
    "u_mstream": 5 + 2,  # two word reads
    "u_pipe": 5 + 2,  # two word writes
    "u_hperm": 5 + 2,  # v_input * v_output
    "u_mpverify": 5 + 2,
    "u_mrupdate": 4 + 4,  # MRUPDATE (96, deg4) * four hasher messages
    "u_hornerbase": 4 + 1,
    "u_hornerext": 5 + 1,
    "u_evalcircuit": 5 + 1,
}


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_constraint_degrees(an: dict[str, Analysis], design: str) -> None:
    a = an[design]
    for name, deg in (U32 | IO | HORNER).items():
        c = a.constraint(name)
        assert c.degree == deg, name
        assert c.claimed_degree in (deg, None), name  # MSTREAM/PIPE pointer: no degree stated
    mine = {n for n, fam in a.air.families.items() if fam in FAMILIES and not n.startswith("bus:")}
    assert mine == set(U32 | IO | HORNER) | ({"gate"} if "gate" in mine else set())


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_chiplets_bus_terms(an: dict[str, Analysis], design: str) -> None:
    a = an[design]
    for name, deg in CHIP.items():
        t = a.term("chiplets", name)
        assert t.degree == deg, name
        assert t.claimed_degree in (deg, None), name
    # the issue's question: which stack requests saturate b_chip? b_chip' (1) * term (8) = 9: U32AND, U32XOR
    # (7 + 1), MRUPDATE (4 + 4) and the four memory instructions (7 + 1); no stack request goes beyond
    top = {n for n in CHIP if a.term("chiplets", n).degree == 8}
    assert top == {"u_u32and", "u_u32xor", "u_mrupdate", "u_mload", "u_mstore", "u_mloadw", "u_mstorew"}
    assert a.bus("chiplets").degree == 9
    mrupdate = a.term("chiplets", "u_mrupdate")
    assert [n for n, _ in mrupdate.factors] == ["v_inputold", "v_outputold", "v_inputnew", "v_outputnew"]


def test_claims_agree_with_the_polynomials_in_these_families(an: dict[str, Analysis]) -> None:
    for a in an.values():
        fam = a.air.families
        assert [d for d in a.claim_differences() if fam.get(d[0]) in FAMILIES] == []


def test_range_requests(an: dict[str, Analysis]) -> None:
    # four LogUp requests h_0..h_3 with multiplicity f_u32rc = b6 (1-b5)(1-b4) (degree 3): 3 + 1 each
    for a in an.values():
        bus = a.bus("range")
        assert bus.kind == "logup"
        u32 = {t.name: t.degree for t in bus.terms if t.name.startswith("u32rc_")}
        assert u32 == {f"u32rc_h{i}": 4 for i in range(4)}
        # the user-op helpers are decoder columns h2..h5 (USER_OP_HELPERS_OFFSET = hasher state + 2)
        terms = [t for t in next(b for b in a.air.buses if b.name == "range").terms if t.name.startswith("u32rc_")]
        assert [str(t.messages[0].fields[0][1]) for t in terms] == ["h2", "h3", "h4", "h5"]


def test_logprecompile_only_at_v019(an: dict[str, Analysis]) -> None:
    # op_constraints.md at v0.19.0: LOGPRECOMPILE 90 = 101_1010, degree-5 class; 90 is no longer free
    assert OPCODES_V19["LOGPRECOMPILE"] == 90 and "LOGPRECOMPILE" not in OPCODES_V18
    assert free_slots(OPCODES_V19)["deg5"] == [94, 95]
    assert free_slots(OPCODES_V18)["deg5"] == [90, 94, 95]
    a19, a18 = an["miden-v0.19"], an["miden-v0.18"]
    assert a19.operation("LOGPRECOMPILE").flag_degree == 5
    assert a19.term("chiplets", "u_logprecompile").degree == 5 + 2
    vt = a19.bus("chiplets_vtable")
    assert {t.name: (t.side, t.degree) for t in vt.terms if "logprecompile" in t.name} == {
        "u_logprecompile_rem": ("request", 6),
        "v_logprecompile_ins": ("response", 6),
    }
    assert vt.degree >= 7  # b' * (f v_rem + 1 - f) - b * (f v_ins + 1 - f): 1 + 6 (other chiplets share the bus)
    assert not any(n.endswith("logprecompile") or "logprecompile_" in n for n in a18.air.families)


# ------------------------------------------------------------------------------------ numeric checks
def _bits_env(opcode: int) -> dict[str, int]:
    b = {f"b{i}": (opcode >> i) & 1 for i in range(7)}
    b["e0"] = b["b6"] * (1 - b["b5"]) * b["b4"]
    b["e1"] = b["b6"] * b["b5"]
    return b


def _value(air: Air, name: str, cells: Mapping[str, int], opcode: int) -> int:
    """The constraint ``name`` on a hand-built pair of rows: ``cells`` (``"s0"``, ``"s0'"``, ...) on top of zeros."""
    env = _bits_env(opcode) | dict(cells)
    return eval_int(air.constraint(name).expr, lambda k: env.get(k, 0))


@pytest.fixture(scope="module")
def v18(miden_airs) -> Air:
    return miden_airs["miden-v0.18"]


def test_u32split_rows(v18: Air) -> None:
    a = 0xFFFF_FFFE_1234_5678  # < p
    lo, hi = a & 0xFFFF_FFFF, a >> 32
    h = {"h2": lo & 0xFFFF, "h3": lo >> 16, "h4": hi & 0xFFFF, "h5": hi >> 16}
    h["h6"] = pow(2**32 - 1 - hi, P - 2, P)  # m = (2^32 - 1 - v_hi)^-1
    rows = {"s0": a, "s0'": hi, "s1'": lo} | h
    for name in ("u32split_s0", "u32split_s1n", "u32split_s0n", "u32split_valid"):
        assert _value(v18, name, rows, 72) == 0, name
    assert _value(v18, "u32split_s1n", rows | {"s1'": lo + 1}, 72) != 0
    # limbs of p itself (2^64 - 2^32 + 1: v_hi = 2^32 - 1, v_lo = 1) cannot pass the validity check
    bad = {"h2": 1, "h3": 0, "h4": 0xFFFF, "h5": 0xFFFF, "h6": 12345}
    assert _value(v18, "u32split_valid", bad, 72) != 0
    # the flag: another opcode switches the constraint off
    assert _value(v18, "u32split_s1n", rows | {"s1'": lo + 1}, 64) == 0


def test_u32sub_and_u32div_rows(v18: Air) -> None:
    # U32SUB: [b, a] -> [borrow, a - b mod 2^32]; a = 5, b = 7: result 2^32 - 2, borrow 1 (the code's sign)
    a, b = 5, 7
    d = (a - b) % 2**32
    rows = {"s0": b, "s1": a, "s0'": 1, "s1'": d, "h2": d & 0xFFFF, "h3": d >> 16}
    for name in ("u32sub_s1", "u32sub_borrow_binary", "u32sub_s1n"):
        assert _value(v18, name, rows, 66) == 0, name
    assert _value(v18, "u32sub_s1", rows | {"s0'": 0}, 66) != 0
    # U32DIV: [b, a] -> [r, q]; a = 100, b = 7: q = 14, r = 2; h0,h1 = limbs of a - q; h2,h3 = limbs of b - r - 1
    a, b, q, r = 100, 7, 14, 2
    rows = {"s0": b, "s1": a, "s0'": r, "s1'": q, "h2": a - q, "h3": 0, "h4": b - r - 1, "h5": 0}
    for name in ("u32div_s1", "u32div_s1n", "u32div_s0n"):
        assert _value(v18, name, rows, 70) == 0, name
    assert _value(v18, "u32div_s1", rows | {"s0'": r + 1}, 70) != 0


def _qmul(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    # (x0 + x1 u)(y0 + y1 u), u^2 = u - 2 (crypto_ops.md's expansions)
    return ((x[0] * y[0] - 2 * x[1] * y[1]) % P, (x[0] * y[1] + x[1] * y[0] + x[1] * y[1]) % P)


def test_hornerext_rows(v18: Air) -> None:
    alpha, acc = (3, 5), (11, 13)
    coef = [(21, 22), (23, 24), (25, 26), (27, 28)]  # c_i = low + high u
    tmp = acc
    for c in (coef[3], coef[2]):
        m = _qmul(tmp, alpha)
        tmp = ((m[0] + c[0]) % P, (m[1] + c[1]) % P)
    new = tmp
    for c in (coef[1], coef[0]):
        m = _qmul(new, alpha)
        new = ((m[0] + c[0]) % P, (m[1] + c[1]) % P)
    # processor layout: c_i = s_{2i+1} + s_{2i} u, acc = s15 + s14 u, alpha = h_0 + h_1 u, tmp = h_4 + h_5 u
    rows = {f"s{2 * i + 1}": c[0] for i, c in enumerate(coef)} | {f"s{2 * i}": c[1] for i, c in enumerate(coef)}
    rows |= {"s15": acc[0], "s14": acc[1], "s15'": new[0], "s14'": new[1]}
    rows |= {"h2": alpha[0], "h3": alpha[1], "h6": tmp[0], "h7": tmp[1]}
    for name in ("hornerext_tmp0", "hornerext_tmp1", "hornerext_acc0", "hornerext_acc1"):
        assert _value(v18, name, rows, 89) == 0, name
    assert _value(v18, "hornerext_acc1", rows | {"s14'": new[1] + 1}, 89) != 0


def test_hornerbase_rows(v18: Air) -> None:
    alpha, acc = (7, 9), (4, 6)
    coef = [31 + i for i in range(8)]
    tmp = acc
    for c in reversed(coef[4:]):
        m = _qmul(tmp, alpha)
        tmp = ((m[0] + c) % P, m[1])
    new = tmp
    for c in reversed(coef[:4]):
        m = _qmul(new, alpha)
        new = ((m[0] + c) % P, m[1])
    rows = {f"s{i}": c for i, c in enumerate(coef)} | {"s15": acc[0], "s14": acc[1], "s15'": new[0], "s14'": new[1]}
    rows |= {"h2": alpha[0], "h3": alpha[1], "h6": tmp[0], "h7": tmp[1]}
    for name in ("hornerbase_tmp0", "hornerbase_tmp1", "hornerbase_acc0", "hornerbase_acc1"):
        assert _value(v18, name, rows, 100) == 0, name
    assert _value(v18, "hornerbase_tmp0", rows | {"h6": tmp[0] + 1}, 100) != 0


def test_request_messages_name_the_right_cells(v18: Air) -> None:
    chip = next(b for b in v18.buses if b.name == "chiplets")
    term = {t.name: t for t in chip.terms}
    # bitwise: label 2 (AND) / 6 (XOR), a = s1, b = s0, z = s0' (processor build_bitwise_request)
    m = term["u_u32and"].messages[0]
    assert m.label_value == 2 and [(k, str(v)) for k, v in m.fields] == [("a", "s1"), ("b", "s0"), ("z", "s0'")]
    assert term["u_u32xor"].messages[0].label_value == 6
    # HPERM: labels 19 (LINEAR_HASH + 16) and 41 (RETURN_STATE + 32); state s11..s0 at alpha_4..15
    hin, hout = term["u_hperm"].messages
    assert (hin.label_value, hout.label_value) == (19, 41)
    assert [str(v) for _, v in hin.fields][2:] == [f"s{11 - j}" for j in range(12)]
    assert str(dict(hout.fields)["addr"]) == "h2 + 7"
    # MRUPDATE: the new path's input starts 8*depth rows later, its output at 16*depth - 1
    ins = term["u_mrupdate"].messages
    assert [m.label_value for m in ins] == [23, 33, 31, 33]
    v = message_value(ins[3], v18.challenges)
    env = {"h2": 100, "s4": 3, "alpha_0": 0, "alpha_1": 0, "alpha_2": 1}
    assert eval_int(v, lambda k: env.get(k, 0)) == 100 + 16 * 3 - 1
    # EVALCIRCUIT: ACE_INIT 8, clk ctx ptr n_read n_eval (AceMessage order)
    ace = term["u_evalcircuit"].messages[0]
    assert ace.label_value == 8 and [str(v) for _, v in ace.fields] == ["clk", "ctx", "s0", "s1", "s2"]
    # MSTREAM reads s7'..s4' at s12 and s3'..s0' at s12 + 4
    m1, m2 = term["u_mstream"].messages
    assert [str(v) for _, v in m1.fields] == ["ctx", "s12", "clk", "s7'", "s6'", "s5'", "s4'"]
    assert [str(v) for _, v in m2.fields] == ["ctx", "s12 + 4", "clk", "s3'", "s2'", "s1'", "s0'"]


def test_sdepth_rows(v18: Air) -> None:
    rows = {"stack_depth": 21, "s0'": 21}
    assert _value(v18, "sdepth", rows, 62) == 0
    assert _value(v18, "sdepth", rows | {"s0'": 20}, 62) != 0
    assert _value(v18, "mstream_addr", {"s12": 40, "s12'": 48}, 83) == 0
    assert _value(v18, "mstream_addr", {"s12": 40, "s12'": 44}, 83) != 0


def test_logprecompile_messages() -> None:
    air = DESIGNS["miden-v0.19"]()
    term = {t.name: t for b in air.buses for t in b.terms}
    v_in, v_out = term["u_logprecompile"].messages
    # [CAP_PREV = h_1..h_4 (decoder h3..h6), TAG = s7..s4, COMM = s3..s0]; output [s11'..s8', s7'..s4', s3'..s0']
    assert [str(v) for _, v in v_in.fields] == ["h2", "0", "h3", "h4", "h5", "h6"] + [f"s{7 - i}" for i in range(8)]
    assert [str(v) for _, v in v_out.fields] == ["h2 + 7", "0"] + [f"s{11 - i}'" for i in range(12)]
    assert (v_in.label_value, v_out.label_value) == (19, 41)
    rem, ins = term["u_logprecompile_rem"].messages[0], term["v_logprecompile_ins"].messages[0]
    assert rem.label_value == ins.label_value == 90  # LOG_PRECOMPILE_LABEL = the opcode
    # the same transcript state removed on one row and inserted on the previous one gives equal messages
    row = {"h3": 1, "h4": 2, "h5": 3, "h6": 4, "s11'": 1, "s10'": 2, "s9'": 3, "s8'": 4}
    alphas = {f"alpha_{i}": 17**i % P for i in range(16)}
    env = row | alphas
    vr = eval_int(message_value(rem, air.challenges), lambda k: env.get(k, 0))
    vi = eval_int(message_value(ins, air.challenges), lambda k: env.get(k, 0))
    assert vr == vi
    env["s8'"] = 5
    assert eval_int(message_value(ins, air.challenges), lambda k: env.get(k, 0)) != vr
