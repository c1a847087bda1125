"""The degree the Miden docs state for an item at a docs version: ``CLAIMS[(version, item)]``.

Items are named as the reports name them: a constraint by its name, a bus term ``bus:BUS/TERM``, a
bus's whole constraint ``bus:BUS``. An item missing from the table has no stated degree at that
version. A design may state its own degrees (``Design.claims``, from the seed discussion) or change an
item so that the docs' statement no longer applies (``Design.undocumented``); ``claimed`` resolves both.

Sources: docs/src/design/decoder/constraints.md (op bits, block stack table p1, chiplets bus b_chip),
stack/op_constraints.md (e0, e1, opcode shapes), stack/system_ops.md (FMPUPDATE/FMPADD, v0.18 only),
chiplets/memory.md (memory chiplet), chiplets/hasher.md (hasher chiplet), main.md (clk), range.md,
chiplets/{main,bitwise,kernel_rom,ace}.md, at v0.18.0 and v0.19.0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from air.miden.design import Design

__all__ = ["CLAIMS", "claimed"]

VERSIONS = ("v0.18", "v0.19")

# Stated identically at v0.18 and v0.19.
_BOTH: dict[str, int] = {
    # decoder/constraints.md, stack/op_constraints.md
    **{f"op_bit{i}_binary": 2 for i in range(7)},
    "e0_def": 3,
    "e1_def": 2,
    "u32_b0_zero": 4,
    "deg4_b0_zero": 3,
    "deg4_b1_zero": 3,
    # main.md
    "clk": 1,
    # decoder/constraints.md: block stack table p1
    "bus:block_stack/v_join": 6,
    "bus:block_stack/v_split": 6,
    "bus:block_stack/v_loop": 6,
    "bus:block_stack/v_span": 6,
    "bus:block_stack/v_respan": 5,
    "bus:block_stack/v_dyn": 6,
    "bus:block_stack/v_dyncall": 6,
    "bus:block_stack/v_callorsyscall": 5,
    "bus:block_stack/u_respan": 5,
    "bus:block_stack/u_end": 6,
    # decoder/constraints.md: chiplets bus requests
    "bus:chiplets/u_ctrli": 6,
    # v0.19 states 7; v0.18 writes one u_dynordyncall term without a degree, and a v0.18 design that splits
    # it (miden-gate) is held to v0.19's statement
    "bus:chiplets/u_dyn": 7,
    "bus:chiplets/u_span": 6,
    "bus:chiplets/u_respan": 5,
    "bus:chiplets/u_end": 5,
    # chiplets/memory.md
    "mem_n0_binary": 7,
    "mem_same_ctx": 7,
    "mem_n1_binary": 9,
    "mem_same_addr": 8,
    **{f"mem_{c}_binary": 5 for c in ("is_read", "is_word", "idx0", "idx1")},
    "mem_delta": 8,
    "mem_f_scw": 7,
    # --- decoder (decoder/constraints.md: general constraints, basic block, block stack/hash and op group tables) ---
    "split_loop_s0_binary": 7,
    **{f"dyn_h{i}_zero": 6 for i in range(4, 8)},  # the docs' f_dyn (1 - h_i): degree 6 (see decoder/flow.py)
    "repeat_s0_one": 5,
    "repeat_in_loop": 5,
    "respan_addr": 5,
    "end_loop_s0_zero": 6,
    **{f"end_repeat_h{i}": 9 for i in range(5)},
    "halt_next": 8,
    "halt_addr": 5,
    "sp_ctrl": 5,
    "sp_span_next": 6,
    "sp_end_respan_next": 5,
    "sp_copy": 6,
    "addr_in_span": 2,
    "gc_step": 3,
    "gc_group_done": 8,
    "gc_decrement": 6,
    "gc_end_respan_next": 5,
    "gc_end_zero": 5,
    "h0_decode": 6,
    "h0_batch_end": 6,
    "ox_span_reset": 6,
    "ox_group_reset": 6,
    "ox_increment": 7,
    "ox_range": 9,
    **{f"c{i}_binary": 2 for i in range(3)},
    "batch_flags_span": 5,
    "batch_flags_zero": 6,
    **{f"batch_g4_h{i}_zero": 4 for i in range(4, 8)},
    "batch_g2_h2_zero": 4,
    "batch_g2_h3_zero": 4,
    "batch_g1_h1_zero": 4,
    "bus:block_stack": 7,
    "bus:block_hash/v_join": 7,
    "bus:block_hash/v_split": 7,
    "bus:block_hash/v_loop": 7,
    "bus:block_hash/v_repeat": 5,
    "bus:block_hash/v_allcalls": 6,
    "bus:block_hash/u_end": 8,
    "bus:block_hash": 9,
    "bus:op_group": 9,  # the docs state v_i (1) and u (7) without their flags, not the terms
    # --- chip: range checker and chiplets other than the hasher (range.md, chiplets/main.md [v0.19: index.md],
    # bitwise.md, memory.md, kernel_rom.md, ace.md); identical at v0.18.0 and v0.19.0 ---
    # range.md: the v transition (9); b_range with all requests cleared of denominators (9); the range
    # checker's own response b' = b + m/(alpha - v) (2)
    "rc_delta": 9,
    "bus:range": 9,
    "bus:range/v_range": 2,
    # chiplets/main.md: selector k binary / only 0 -> 1, degree k + 2; the virtual table's two constraints
    **{f"chip_s{k}_binary": k + 2 for k in range(5)},
    **{f"chip_s{k}_stay": k + 2 for k in range(5)},
    "vt_hasher_boundary": 2,
    "vt_bchip_last": 2,
    # bitwise.md states each constraint without the chiplet flag; chiplets/main.md: degree = 2 + deg(c_bitwise).
    # The docs count the periodic k0/k1 as degree 1.
    "bw_s_binary": 4,
    "bw_s_stay": 4,
    **{f"bw_{x}{i}_binary": 4 for x in "ab" for i in range(4)},
    **{f"bw_{n}": 4 for n in ("a_first", "b_first", "a_step", "b_step", "zp_first", "zp_copy")},
    "bw_and": 5,
    "bw_xor": 5,
    # bitwise.md: b_chip' = b_chip (v m + 1 - m) degree 4, so the term is 3, plus the flag's 2
    "bus:chiplets/v_bitwise": 5,
    # memory.md: the nine constraints the model lacked, and v_mem (degree 4) under f_mem (3)
    "mem_same_clk_read": 8,
    **{f"mem_v{i}_first": 9 for i in range(4)},
    **{f"mem_v{i}_copy": 9 for i in range(4)},
    "bus:chiplets/v_mem": 7,
    # kernel_rom.md states the constraints without f_krom; chiplets/main.md: degree = 5 + deg(c_krom).
    # s_first's opening row: deg(f_prev) + 2 with f_prev = f_ace (4). The response: degree 3 with b_chip,
    # so 2, plus f_krom's 5 = 7 for either message.
    "krom_s_first_binary": 7,
    "krom_s_first_init": 7,  # the docs' deg(f_prev) + 2 = 6, plus the model's (1 - s4') (kernel_rom.py)
    **{f"krom_r{i}_same": 8 for i in range(4)},
    "bus:chiplets/v_krom_init": 7,
    "bus:chiplets/v_krom_call": 7,
    # ace.md with d = 4 (the ACE chiplet is fourth)
    "ace_start_binary": 6,
    "ace_start_first": 5,
    "ace_start_last": 6,
    "ace_start_not_twice": 6,
    "ace_block_binary": 6,
    "ace_first_read": 6,
    "ace_eval_then_eval": 8,
    "ace_end_eval": 7,
    "ace_n_eval": 7,
    "ace_ctx": 7,
    "ace_clk": 7,
    "ace_ptr": 7,
    "ace_id0": 7,
    "ace_read_ids": 6,
    "ace_op": 8,
    "ace_eval_v00": 9,
    "ace_eval_v01": 9,
    "ace_end_id": 7,
    "ace_end_v00": 7,
    "ace_end_v01": 7,
    "bus:ace_wiring": 8,
    # the virtual-table constraint f_ace (vt' (f_read u_read + f_eval u_eval) - vt) has degree d + 3 = 7:
    # each request term is 6
    "bus:chiplets_vtable/u_ace_read": 6,
    "bus:chiplets_vtable/u_ace_eval": 6,
    # --- stack u32 / I/O / crypto (stack/u32_ops.md, io_ops.md, crypto_ops.md) ---
    # The docs state each body's degree and omit the flag ("It also omits the selector flag"): claimed = stated
    # degree + the operation's flag degree (u32 class 6, deg7 7, deg5 5, deg4 4; stack/op_constraints.md). A bus
    # line "b_chip' * u = b_chip | degree d" counts b_chip' once: the term's claim is d - 1 + flag degree.
    # u32_ops.md (every constraint degree 1 unless noted): U32SPLIT, U32ASSERT2, U32ADD, U32ADD3, U32SUB, U32MUL,
    # U32MADD, U32DIV; element validity 3; U32SUB's s0'^2 - s0' 2; U32MUL/U32MADD products 2; U32DIV's s0 s1' 2
    **{
        n: 6 + 1
        for n in (
            "u32split_s0",
            "u32split_s1n",
            "u32split_s0n",
            "u32assert2_s0n",
            "u32assert2_s1n",
            "u32add_sum",
            "u32add_s0n",
            "u32add_s1n",
            "u32add3_sum",
            "u32add3_s0n",
            "u32add3_s1n",
            "u32sub_s1",
            "u32sub_s1n",
            "u32mul_s1n",
            "u32mul_s0n",
            "u32madd_s1n",
            "u32madd_s0n",
            "u32div_s1n",
            "u32div_s0n",
        )
    },  # fmt: skip
    **{n: 6 + 2 for n in ("u32sub_borrow_binary", "u32mul_prod", "u32madd_prod", "u32div_s1")},
    **{n: 6 + 3 for n in ("u32split_valid", "u32mul_valid", "u32madd_valid")},
    "bus:chiplets/u_u32and": 2 - 1 + 7,  # u32_ops.md: b_chip' * (bitwise request) = b_chip, degree 2
    "bus:chiplets/u_u32xor": 2 - 1 + 7,
    # io_ops.md: SDEPTH s0' - b0, degree 1; memory requests "b_chip' * u_mem = b_chip | degree 2"
    "sdepth": 1 + 7,
    **{f"bus:chiplets/u_{op}": 2 - 1 + 7 for op in ("mload", "mstore", "mloadw", "mstorew")},
    # crypto_ops.md: HPERM, MPVERIFY degree 3 (two messages), MRUPDATE 5 (four), EVALCIRCUIT 2 (one);
    # HORNERBASE's four constraints degree 5, HORNEREXT's 3
    "bus:chiplets/u_hperm": 3 - 1 + 5,
    "bus:chiplets/u_mpverify": 3 - 1 + 5,
    "bus:chiplets/u_mrupdate": 5 - 1 + 4,
    "bus:chiplets/u_evalcircuit": 2 - 1 + 5,
    **{f"hornerbase_{v}": 5 + 4 for v in ("tmp0", "tmp1", "acc0", "acc1")},
    **{f"hornerext_{v}": 3 + 5 for v in ("tmp0", "tmp1", "acc0", "acc1")},
    # --- chiplets.hasher (chiplets/hasher.md) ---
    # The degree hasher.md states, + 1 for the chiplet selector 1 - s0 that multiplies every hasher constraint
    # (chiplets/main.md: "(1 - s_0) c_hash = 0 | degree = 1 + deg(c_hash)"). hasher.md counts the periodic
    # k0, k1, k2 as degree 1; the engine counts them 0 (see constraints/chiplets/hasher.py).
    **{f"hasher_s{j}_binary": 2 + 1 for j in range(3)},
    "hasher_s1_copy": 7 + 1,
    "hasher_s2_copy": 7 + 1,
    "hasher_s0_after_absorb": 5 + 1,
    "hasher_selectors_valid": 3 + 1,
    "hasher_index_bit": 6 + 1,
    "hasher_index_out_zero": 4 + 1,
    "hasher_index_copy": 5 + 1,
    # hasher.md omits the round constraints; chiplets/main.md's table gives the hash chiplet internal degree 8,
    # total 9, reached only by the round (hasher.md's own highest stated degree is 7)
    **{f"hasher_round_{j}": 9 for j in range(12)},
    **{f"hasher_abp_capacity_{j}": 5 + 1 for j in range(4)},
    **{f"hasher_mp_absorb_{j}": 6 + 1 for j in range(4)},
    "hasher_vtable_empty": 5 + 1,
    # --- stack general, overflow, manipulation, field ops, system ops (stack/main.md (v0.19 index.md),
    # op_constraints.md, stack_ops.md, field_ops.md, system_ops.md). The op pages state the degree without
    # the operation flag; every flag here is of the degree-7 class, so the claim is the page's number + 7.
    # general shift of position i: "degree 1" (system_ops.md NOOP, stack_ops.md DROP) + 7; Rust CONSTRAINT_DEGREES 8
    **{f"stack_s{i}_shift": 8 for i in range(16)},
    # stack/main.md
    "stack_overflow_flag": 3,
    "stack_depth": 7,
    "stack_b1_shr": 7,
    "stack_s15_shl_empty": 8,
    "bus:overflow": 9,
    # stack_ops.md: linear constraints 1 + 7, CSWAP/CSWAPW 2 + 7
    "pad": 8,
    **{f"dup{n}": 8 for n in (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15)},
    "swap_s0": 8,
    "swap_s1": 8,
    **{f"swapw_s{i}": 8 for i in range(8)},
    **{f"swapw2_s{i}": 8 for i in (0, 1, 2, 3, 8, 9, 10, 11)},
    **{f"swapw3_s{i}": 8 for i in (0, 1, 2, 3, 12, 13, 14, 15)},
    **{f"swapdw_s{i}": 8 for i in range(16)},
    **{f"movup{n}": 8 for n in range(2, 9)},
    **{f"movdn{n}": 8 for n in range(2, 9)},
    "cswap_s0": 9,
    "cswap_s1": 9,
    "cswap_binary": 9,
    **{f"cswapw_s{i}": 9 for i in range(8)},
    "cswapw_binary": 9,
    # field_ops.md
    "add": 8,
    "neg": 8,
    "mul": 9,
    "inv": 9,
    "incr": 8,
    "not_binary": 9,
    "not": 8,
    "and_binary_s0": 9,
    "and_binary_s1": 9,
    "and": 9,
    "or_binary_s0": 9,
    "or_binary_s1": 9,
    "or": 9,
    "eq_zero": 9,
    "eq": 9,
    "eqz_zero": 9,
    "eqz": 9,
    "expacc_bit": 9,
    "expacc_base": 9,
    "expacc_val": 9,
    "expacc_acc": 9,
    "expacc_exp": 8,
    "ext2mul_s0": 8,
    "ext2mul_s1": 8,
    "ext2mul_s2": 9,
    "ext2mul_s3": 9,
    # system_ops.md
    "assert": 8,
    "clk_op": 8,
}

CLAIMS: dict[tuple[str, str], int] = {
    **{(v, item): deg for v in VERSIONS for item, deg in _BOTH.items()},
    # stack/system_ops.md (degree 1 + flag 7); v0.19 removed FMPADD/FMPUPDATE
    ("v0.18", "fmpupdate"): 8,
    ("v0.18", "fmpadd"): 8,
    # decoder/constraints.md
    ("v0.18", "bus:chiplets/u_syscall"): 7,
    ("v0.19", "bus:chiplets/u_syscall"): 6,
    ("v0.19", "bus:chiplets/u_call"): 6,
    ("v0.19", "bus:chiplets/u_dyncall"): 8,
    ("v0.18", "bus:chiplets"): 8,
    ("v0.19", "bus:chiplets"): 9,
}


def claimed(design: Design, item: str) -> int | None:
    """The degree stated for ``item`` under ``design``: its own source's first, else the docs' unless changed."""
    if item in design.claims:
        return design.claims[item]
    if item in design.undocumented:
        return None
    return CLAIMS.get((design.version, item))
