"""The stack's general part (stk1): shifting, depth/overflow, stack_ops, field_ops, ASSERT/CLK.

Expected degrees are written by hand from the docs at v0.18.0 / v0.19.0 (an op page's "degree d" is the
body without the flag; every flag here is of the degree-7 class: d + 7), and the numeric tests build two
rows by hand from the operations' semantics (processor/src/operations at v0.18.0) and evaluate the
constraints with ``eval_int``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from air.air import Air, Constraint
from air.buscheck import check_buses
from air.compile import eval_int
from air.degree import exact_degree
from air.miden.builder import MidenBuilder
from air.miden.constraints.stack.general import EFFECTS
from air.miden.design import V18, V19
from air.miden.opcodes import OPCODES_V18
from air.trace import Trace

P = 2**64 - 2**32 + 1


@pytest.fixture(scope="module")
def airs(miden_airs) -> dict[str, Air]:
    return {n: miden_airs[n] for n in ("miden-v0.18", "miden-v0.19")}


@pytest.fixture(scope="module")
def an(miden_analyses):
    return {n: miden_analyses[n] for n in ("miden-v0.18", "miden-v0.19")}


def con(air: Air, name: str) -> Constraint:
    return next(c for c in air.constraints if c.name == name)


# ------------------------------------------------------------------------------------------------ degrees
# stack/main.md (v0.19 stack/index.md): the numbers printed after "| degree ="
OVERFLOW = {"stack_overflow_flag": 3, "stack_depth": 7, "stack_b1_shr": 7, "stack_s15_shl_empty": 8}
# op pages: "degree 1" -> 8, "degree 2" -> 9
FIELD = {
    "add": 8, "neg": 8, "mul": 9, "inv": 9, "incr": 8, "not_binary": 9, "not": 8,
    "and_binary_s0": 9, "and_binary_s1": 9, "and": 9, "or_binary_s0": 9, "or_binary_s1": 9, "or": 9,
    "eq_zero": 9, "eq": 9, "eqz_zero": 9, "eqz": 9,
    "expacc_bit": 9, "expacc_base": 9, "expacc_val": 9, "expacc_acc": 9, "expacc_exp": 8,
    "ext2mul_s0": 8, "ext2mul_s1": 8, "ext2mul_s2": 9, "ext2mul_s3": 9,
}  # fmt: skip
MANIP = {
    "pad": 8, "dup0": 8, "dup15": 8, "swap_s0": 8, "swap_s1": 8, "swapw_s7": 8, "swapw2_s11": 8,
    "swapw3_s15": 8, "swapdw_s0": 8, "swapdw_s15": 8, "movup2": 8, "movup8": 8, "movdn2": 8, "movdn8": 8,
    "cswap_s0": 9, "cswap_s1": 9, "cswap_binary": 9, "cswapw_s0": 9, "cswapw_s7": 9, "cswapw_binary": 9,
}  # fmt: skip
SYSTEM = {"assert": 8, "clk_op": 8}


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_degrees_match_the_docs(an, design: str) -> None:
    a = an[design]
    expected = {**OVERFLOW, **FIELD, **MANIP, **SYSTEM, **{f"stack_s{i}_shift": 8 for i in range(16)}}
    for name, deg in expected.items():
        c = a.constraint(name)
        assert c.degree == deg, name
        assert c.claimed_degree == deg, name


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_overflow_bus_degrees(an, design: str) -> None:
    # stack/main.md: p1' (u f_shl f_ov + 1 - f_shl f_ov) = p1 (v f_shr + 1 - f_shr) | degree 9;
    # u: f_shl (5) * f_ov (2) * u (1) = 8; v: f_shr (6) * v (1) = 7
    bus = an[design].bus("overflow")
    assert bus.degree == 9 and bus.claimed_degree == 9
    assert an[design].term("overflow", "u_shl").degree == 8
    assert an[design].term("overflow", "v_shr").degree == 7


def test_composite_flag_degrees() -> None:
    # op_constraints.md: f_shr 6, f_shl 5, f_add3_madd 5, f_split_loop 4, f_ctrl 5, f_u32rc 3
    for d in (V18, V19):
        f = MidenBuilder(d).flags
        assert exact_degree(f.shr) == 6
        assert exact_degree(f.shl) == 5
        assert exact_degree(f.add3_madd) == 5
        assert exact_degree(f.split_loop) == 4
        # the docs' 5 is f_dyn's; with DYNCALL added (see OpFlags.ctrl) f_dyn + f_dyncall = e0 b3 (1-b1)(1-b0)
        # has degree 4, and so has the sum
        assert exact_degree(f.ctrl) == 4
        assert exact_degree(f.u32rc) == 3


def test_every_opcode_has_a_body(an) -> None:
    for design in ("miden-v0.18", "miden-v0.19"):
        missing = [o.name for o in an[design].operations if o.degree is None]
        assert missing == [], (design, missing)


def test_no_fmp_ops_at_v019(airs) -> None:
    tags = {t for c in airs["miden-v0.19"].constraints for t in c.tags}
    assert "op:FMPADD" not in tags and "op:FMPUPDATE" not in tags
    assert "op:FMPUPDATE" in con(airs["miden-v0.18"], "stack_s3_shift").tags


def test_stack_h0_is_constrained(airs) -> None:
    assert "stack_h0" not in airs["miden-v0.18"].unchecked


# ------------------------------------------------------------------------------------------------ numeric
def op_env(opcode: int) -> dict[str, int]:
    """Op bits b0..b6 and e0 = b6 (1-b5) b4, e1 = b6 b5 for ``opcode`` (op_constraints.md)."""
    bits = {f"b{i}": (opcode >> i) & 1 for i in range(7)}
    bits["e0"] = bits["b6"] * (1 - bits["b5"]) * bits["b4"]
    bits["e1"] = bits["b6"] * bits["b5"]
    return bits


def rows(opcode: int, cur: Mapping[str, int], nxt: Mapping[str, int]) -> dict[str, int]:
    env = dict(op_env(opcode))
    env.update({k: v % P for k, v in cur.items()})
    env.update({k + "'": v % P for k, v in nxt.items()})
    return env


def value(c: Constraint, env: Mapping[str, int]) -> int:
    return eval_int(c.expr, lambda name: env.get(name, 0))


def stack(values: list[int], depth: int = 16, b1: int = 0, h0: int = 0) -> dict[str, int]:
    out = {f"s{i}": v for i, v in enumerate(values)}
    out.update(stack_depth=depth, stack_overflow_addr=b1, stack_h0=h0)
    return out


def test_flags_select_the_documented_operations() -> None:
    # f_shr: prefix 011 (PAD..CLK), U32SPLIT, PUSH; f_shl: prefix 010 (ASSERT..FMPUPDATE), U32ADD3, U32MADD,
    # SPLIT, LOOP, REPEAT, END (with h5 = 1), DYN (op_constraints.md; DYN as in the Rust)
    f = MidenBuilder(V18).flags
    shr = {n for n, c in OPCODES_V18.items() if 48 <= c <= 63} | {"U32SPLIT", "PUSH"}
    shl = {n for n, c in OPCODES_V18.items() if 32 <= c <= 47} | {
        "U32ADD3",
        "U32MADD",
        "SPLIT",
        "LOOP",
        "REPEAT",
        "DYN",
    }
    for name, code in OPCODES_V18.items():
        env = op_env(code)
        assert eval_int(f.shr, lambda n, e=env: e.get(n, 0)) == (name in shr), name
        assert eval_int(f.shl, lambda n, e=env: e.get(n, 0)) == (name in shl), name
    end = op_env(OPCODES_V18["END"]) | {"h5": 1}
    assert eval_int(f.shl, lambda n: end.get(n, 0)) == 1


def test_dup1_shifts_right(airs) -> None:
    air = airs["miden-v0.18"]
    cur = list(range(100, 116))
    nxt = [cur[1]] + cur[:15]  # DUP1: s0' = s1, s_{i+1}' = s_i
    env = rows(OPCODES_V18["DUP1"], stack(cur) | {"clk": 7}, stack(nxt, depth=17, b1=7, h0=1) | {"clk": 8})
    names = ["dup1", "stack_depth", "stack_b1_shr"] + [f"stack_s{i}_shift" for i in range(16)]
    for n in names:
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["s5'"] = (bad["s5'"] + 1) % P
    assert value(con(air, "stack_s5_shift"), bad) != 0
    bad = dict(env)
    bad["stack_depth'"] = 16  # a right shift must increase the depth
    assert value(con(air, "stack_depth"), bad) != 0


def test_add_with_overflow_shifts_left(airs) -> None:
    air = airs["miden-v0.18"]
    cur = list(range(1, 17))
    # depth 17: one element (999) in the overflow table at address 5, whose previous address is 0
    nxt = [cur[0] + cur[1]] + cur[2:] + [999]
    env = rows(OPCODES_V18["ADD"], stack(cur, depth=17, b1=5, h0=1), stack(nxt, depth=16, b1=0))
    for n in ["add", "stack_depth", "stack_overflow_flag", "stack_s15_shl_empty"] + [
        f"stack_s{i}_shift" for i in range(16)
    ]:
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["stack_h0"] = 0  # f_ov = 0 while the depth is 17
    assert value(con(air, "stack_overflow_flag"), bad) != 0
    bad = dict(env)
    bad["s0'"] = 0
    assert value(con(air, "add"), bad) != 0


def test_drop_at_depth_16_shifts_in_zero(airs) -> None:
    air = airs["miden-v0.18"]
    cur = list(range(1, 17))
    env = rows(OPCODES_V18["DROP"], stack(cur), stack(cur[1:] + [0]))
    for n in ["stack_depth", "stack_overflow_flag", "stack_s15_shl_empty", "stack_s14_shift"]:
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["s15'"] = 3
    assert value(con(air, "stack_s15_shl_empty"), bad) != 0


def test_swapw2_keeps_the_middle_word(airs) -> None:
    air = airs["miden-v0.19"]
    cur = list(range(10, 26))
    nxt = cur[8:12] + cur[4:8] + cur[0:4] + cur[12:16]
    env = rows(OPCODES_V18["SWAPW2"], stack(cur), stack(nxt))
    for c in air.constraints:
        if c.name.startswith(("swapw2", "stack_s")) and c.domain == "transition":
            assert value(c, env) == 0, c.name
    bad = dict(env)
    bad["s5'"] = cur[6]
    assert value(con(air, "stack_s5_shift"), bad) != 0


def test_expacc_round(airs) -> None:
    air = airs["miden-v0.18"]
    # processor op_expacc: base 3, acc 5, exp 7 -> bit 1, base 9, acc 15, exp 3; helper h0 (decoder h2) = 3
    cur = [0, 3, 5, 7] + [0] * 12
    nxt = [1, 9, 15, 3] + [0] * 12
    env = rows(OPCODES_V18["EXPACC"], stack(cur) | {"h2": 3}, stack(nxt))
    for n in ("expacc_bit", "expacc_base", "expacc_val", "expacc_acc", "expacc_exp"):
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["s3'"] = 2 * 7 + 1  # the docs' printed s3' = 2 s3 + s0'
    assert value(con(air, "expacc_exp"), bad) != 0


def test_ext2mul_is_the_product_in_the_extension(airs) -> None:
    air = airs["miden-v0.19"]
    # s0..s3 = a1, a0, b1, b0 with a = a1 x + a0, b = b1 x + b0 in F_p[x]/(x^2 - x + 2); x^2 = x - 2
    a1, a0, b1, b0 = 11, 13, 17, 19
    x2 = a1 * b1  # coefficient of x^2 in a*b
    c1 = (a1 * b0 + a0 * b1 + x2) % P
    c0 = (a0 * b0 - 2 * x2) % P
    cur = [a1, a0, b1, b0] + [0] * 12
    nxt = [a1, a0, c1, c0] + [0] * 12
    env = rows(OPCODES_V18["EXT2MUL"], stack(cur), stack(nxt))
    for n in ("ext2mul_s0", "ext2mul_s1", "ext2mul_s2", "ext2mul_s3"):
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["s2'"] = (a0 + a1) * (b0 + b1) - a1 * b1  # the docs' printed s2'
    assert value(con(air, "ext2mul_s2"), bad) != 0


def test_eq_uses_the_user_helper(airs) -> None:
    air = airs["miden-v0.18"]
    cur = [5, 3] + [0] * 14
    env = rows(OPCODES_V18["EQ"], stack(cur) | {"h2": pow(2, P - 2, P)}, stack([0] * 16))
    assert value(con(air, "eq"), env) == 0 and value(con(air, "eq_zero"), env) == 0
    bad = dict(env)
    bad["s0'"] = 1  # 5 != 3
    assert value(con(air, "eq_zero"), bad) != 0


def test_cswap_and_assert(airs) -> None:
    air = airs["miden-v0.18"]
    cur = [1, 7, 8, 9] + list(range(20, 32))
    env = rows(OPCODES_V18["CSWAP"], stack(cur), stack([8, 7, 9] + list(range(20, 32)) + [0]))
    for n in ("cswap_s0", "cswap_s1", "cswap_binary", "stack_s2_shift", "stack_s3_shift"):
        assert value(con(air, n), env) == 0, n
    bad = dict(env)
    bad["s0"] = 2
    assert value(con(air, "cswap_binary"), bad) != 0
    env = rows(OPCODES_V18["ASSERT"], stack([1] + cur[1:]), stack(cur[1:] + [0]))
    assert value(con(air, "assert"), env) == 0
    env["s0"] = 0
    assert value(con(air, "assert"), env) != 0


def test_clk_op_pushes_clk(airs) -> None:
    air = airs["miden-v0.19"]
    env = rows(OPCODES_V18["CLK"], stack([0] * 16) | {"clk": 41}, stack([41] + [0] * 15, depth=17, b1=41))
    assert value(con(air, "clk_op"), env) == 0
    assert value(con(air, "stack_b1_shr"), env) == 0
    env["s0'"] = 42
    assert value(con(air, "clk_op"), env) != 0


def test_call_resets_depth(airs) -> None:
    air = airs["miden-v0.18"]
    cur = list(range(16))
    env = rows(OPCODES_V18["CALL"], stack(cur, depth=20, b1=3, h0=pow(4, P - 2, P)), stack(cur, depth=16, b1=0))
    assert value(con(air, "stack_depth"), env) == 0
    assert value(con(air, "stack_b1_newctx"), env) == 0
    env["stack_depth'"] = 20
    assert value(con(air, "stack_depth"), env) != 0


def test_dyncall_overflow_terms(an, airs) -> None:
    # derived from processor/src/stack/aux_trace.rs: f_dyncall (5) * f_ov (2) * u (1) = 8;
    # f_dyncall (5) * [(1 - f_ov) (2) * s15' (1)] = 8
    for design in ("miden-v0.18", "miden-v0.19"):
        assert an[design].term("overflow", "u_dyncall").degree == 8
        assert an[design].constraint("stack_s15_dyncall_empty").degree == 8


def overflow_only(air: Air) -> Air:
    """The overflow bus of ``air`` alone, over the same columns."""
    mini = Air("overflow-only", "the stack overflow table", budget=9)
    mini.columns("main", [c.name for c in air.layout])
    mini.bus(next(b for b in air.buses if b.name == "overflow"))
    return mini


def test_overflow_table_balances_push_then_drop(airs) -> None:
    air = overflow_only(airs["miden-v0.18"])
    n = 8
    cols = {c.name: np.zeros(n, dtype=np.uint64) for c in air.layout}
    # rows: 0 NOOP, 1 PUSH (s15 = 77 goes to the table at address clk = 1), 2 DROP (depth 17 -> 16: the
    # row (1, 77, 0) comes back into s15'), 3.. NOOP
    ops = ["NOOP", "PUSH", "DROP"] + ["NOOP"] * (n - 3)
    depth = [16, 16, 17] + [16] * (n - 3)
    b1 = [0, 0, 1] + [0] * (n - 3)
    s15 = [0, 77, 14] + [77] * (n - 3)
    for i in range(n):
        for k, v in op_env(OPCODES_V18[ops[i]]).items():
            cols[k][i] = v
        cols["clk"][i] = i
        cols["stack_depth"][i] = depth[i]
        cols["stack_overflow_addr"][i] = b1[i]
        cols["stack_h0"][i] = 1 if depth[i] == 17 else 0
        cols["s15"][i] = s15[i]
    rep = check_buses(air, Trace(cols, n), seed=5)
    assert rep.ok, [u.describe() for b in rep.buses for u in b.unmatched]
    cols["s15"][3] = 78  # DROP pulls back another value than the one PUSH stored
    rep = check_buses(air, Trace(cols, n), seed=5)
    assert not rep.ok


def test_effect_table_reads_like_the_docs() -> None:
    # stack_ops.md MOVUP(n): right shift for 0..n-1, no change from n+1; MOVDN(n): left shift 1..n, no change
    # from n+1; SWAPW2: no change for 4..7 and from 12; io_ops.md MSTREAM: no change from 8 except 12
    assert EFFECTS["MOVUP3"] == (("right", (0, 1, 2)), ("no", tuple(range(4, 16))))
    assert EFFECTS["MOVDN3"] == (("left", (1, 2, 3)), ("no", tuple(range(4, 16))))
    assert EFFECTS["SWAPW2"] == (("no", (4, 5, 6, 7)), ("no", (12, 13, 14, 15)))
    assert EFFECTS["MSTREAM"] == (("no", (8, 9, 10, 11, 13, 14, 15)),)
    assert EFFECTS["FRIE2F4"] == (("left", ()),) and EFFECTS["SWAPDW"] == ()
    assert set(OPCODES_V18) <= set(EFFECTS)


def test_unmatched_response_alone_is_reported(airs) -> None:
    # a trace whose only overflow-table message is one insertion (PUSH at row 1, nothing removes it): the bus
    # check names it instead of failing on an empty request side
    air = overflow_only(airs["miden-v0.18"])
    n = 4
    cols = {c.name: np.zeros(n, dtype=np.uint64) for c in air.layout}
    for k, v in op_env(OPCODES_V18["PUSH"]).items():
        cols[k][1] = v
    cols["clk"][:] = np.arange(n, dtype=np.uint64)
    cols["s15"][1] = 8
    (b,) = check_buses(air, Trace(cols, n), seed=5).buses
    assert not b.ok
    assert [(u.side, u.row, dict(u.fields)) for u in b.unmatched] == [("response", 1, {"t0": 1, "t1": 8, "t2": 0})]
