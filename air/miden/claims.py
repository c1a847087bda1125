"""The degree the Miden docs state for an item at a docs version: ``CLAIMS[(version, item)]``.

Items are named as the reports name them: a constraint by its name, a bus term ``bus:BUS/TERM``, a
bus's whole constraint ``bus:BUS``. An item missing from the table has no stated degree at that
version. A design may state its own degrees (``Design.claims``, from the seed discussion) or change an
item so that the docs' statement no longer applies (``Design.undocumented``); ``claimed`` resolves both.

Sources: docs/src/design/decoder/constraints.md (op bits, block stack table p1, chiplets bus b_chip),
stack/op_constraints.md (e0, e1, opcode shapes), stack/system_ops.md (FMPUPDATE/FMPADD, v0.18 only),
chiplets/memory.md (memory chiplet), chiplets/hasher.md (hasher chiplet), main.md (clk), at v0.18.0 and
v0.19.0.
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
