"""The degree the Miden docs state for an item at a docs version: ``CLAIMS[(version, item)]``.

Items are named as the reports name them: a constraint by its name, a bus term ``bus:BUS/TERM``, a
bus's whole constraint ``bus:BUS``. An item missing from the table has no stated degree at that
version. A design may state its own degrees (``Design.claims``, from the seed discussion) or change an
item so that the docs' statement no longer applies (``Design.undocumented``); ``claimed`` resolves both.

Sources: docs/src/design/decoder/constraints.md (op bits, block stack table p1, chiplets bus b_chip),
stack/op_constraints.md (e0, e1, opcode shapes), stack/system_ops.md (FMPUPDATE/FMPADD, v0.18 only),
chiplets/memory.md (memory chiplet), main.md (clk), at v0.18.0 and v0.19.0.
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
