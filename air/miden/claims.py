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
