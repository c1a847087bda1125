"""General stack constraints: how every operation moves s0..s15 (docs/src/design/stack/op_constraints.md).

Every operation page ends with "the effect on the rest of the stack": **no change**, **left shift** or
**right shift** from some position. With the Rust AIR's composite flags (v0.18 air/src/constraints/stack/
op_flags/mod.rs: ``no_shift_at``, ``left_shift_at``, ``right_shift_at``):

* ``N_i`` = 1 when ``s_i' = s_i``;  ``L_i`` = 1 when ``s_{i-1}' = s_i``;  ``R_i`` = 1 when ``s_{i+1}' = s_i``;

the next value of position ``i`` is fixed by one constraint (Rust ``enforce_general_constraints``):

    s_i' * (N_i + L_{i+1} + R_{i-1}) = N_i * s_i + L_{i+1} * s_{i+1} + R_{i-1} * s_{i-1}

(no ``R_{-1}`` at i = 0: a pushed value is op-specific; no ``L_16`` at i = 15: the value shifted in comes
from the overflow table, ``stack.overflow``). Each flag is a sum of operation flags (degree <= 7), so each
constraint has degree 8: the docs' "degree 1" per-op shift constraints (stack_ops.md DROP, system_ops.md
NOOP) times a degree-7 flag, and the Rust ``CONSTRAINT_DEGREES`` of 8.

``EFFECTS`` is the table of the docs' effect lines, operation by operation. The Rust builds the same sums
through shared opcode prefixes (e.g. ``f0000 - f_noop``), which are the same polynomials for the
operations it lists; it leaves out PIPE, MSTREAM, HORNERBASE/EXT, EVALCIRCUIT and SYSCALL and gives
FRIE2F4 a left shift from 2 (the docs: from 16). We follow the docs. Where the docs give no effect
line (PIPE, CALLER, and v0.19's LOGPRECOMPILE), it is derived from the operation's description and the
processor, and said so.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from air.miden.builder import DOC, MidenBuilder, family

Shift = tuple[str, tuple[int, ...]]  # ("no" | "left" | "right", positions i of N_i / L_i / R_i)


def _no(start: int, stop: int = 16, skip: Iterable[int] = ()) -> Shift:
    return ("no", tuple(i for i in range(start, stop) if i not in set(skip)))


def _left(start: int, stop: int = 16) -> Shift:
    return ("left", tuple(range(max(start, 1), stop)))


def _right(start: int, stop: int = 15) -> Shift:
    return ("right", tuple(range(start, stop)))


# The docs' effect line of every operation (page in the comment). END is special: with h5 = 1 (end of a
# LOOP) it drops the loop condition (left shift from 1), otherwise no change (decoder/main.md).
EFFECTS: dict[str, tuple[Shift, ...]] = {
    # system_ops.md
    "NOOP": (_no(0),),
    "EMIT": (_no(0),),  # "exactly the same semantics as NOOP"
    "ASSERT": (_left(1),),
    "FMPADD": (_no(1),),
    "FMPUPDATE": (_left(1),),
    "CLK": (_right(0),),
    "CALLER": (_no(4),),  # derived: CALLER overwrites s0..s3 with fn_hash (processor op_caller)
    # field_ops.md
    "ADD": (_left(2),),
    "NEG": (_no(1),),
    "MUL": (_left(2),),
    "INV": (_no(1),),
    "INCR": (_no(1),),
    "NOT": (_no(1),),
    "AND": (_left(2),),
    "OR": (_left(2),),
    "EQ": (_left(2),),
    "EQZ": (_no(1),),
    "EXPACC": (_no(4),),
    "EXT2MUL": (_no(4),),
    # stack_ops.md
    "PAD": (_right(0),),
    "DROP": (_left(1),),
    **{f"DUP{n}": (_right(0),) for n in (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15)},
    "SWAP": (_no(2),),
    "SWAPW": (_no(8),),
    "SWAPW2": (_no(4, 8), _no(12)),
    "SWAPW3": (_no(4, 12),),
    "SWAPDW": (),
    **{f"MOVUP{n}": (_right(0, n), _no(n + 1)) for n in range(2, 9)},
    **{f"MOVDN{n}": (_left(1, n + 1), _no(n + 1)) for n in range(2, 9)},
    "CSWAP": (_left(3),),
    "CSWAPW": (_left(9),),
    # u32_ops.md
    "U32SPLIT": (_right(1),),
    "U32ASSERT2": (_no(0),),
    "U32ADD": (_no(2),),
    "U32SUB": (_no(2),),
    "U32MUL": (_no(2),),
    "U32DIV": (_no(2),),
    "U32ADD3": (_left(3),),
    "U32MADD": (_left(3),),
    "U32AND": (_left(2),),
    "U32XOR": (_left(2),),
    # io_ops.md
    "PUSH": (_right(0),),
    "SDEPTH": (_right(0),),
    "ADVPOP": (_right(0),),
    "ADVPOPW": (_no(4),),
    "MLOAD": (_no(1),),
    "MLOADW": (_left(5),),
    "MSTORE": (_left(1),),
    "MSTOREW": (_left(1),),
    "MSTREAM": (_no(8, skip=(12,)),),
    "PIPE": (_no(8, skip=(12,)),),  # derived: like MSTREAM (s0..s7 from the advice stack, s12 += 8); no docs section
    # crypto_ops.md
    "HPERM": (_no(12),),
    "MPVERIFY": (_no(0),),
    "MRUPDATE": (_no(4),),
    "FRIE2F4": (_left(16),),  # left shift from 16: only s15' comes from the overflow table
    "HORNERBASE": (_no(0, 14),),  # "No change": s14, s15 hold the new accumulator
    "HORNEREXT": (_no(0, 14),),
    "EVALCIRCUIT": (_no(0),),  # "no effect on the stack"
    # v0.19 (opcode 90, not yet in opcodes.OPCODES_V19), derived: [COMM, TAG, PAD] -> [R1, R0, CAP_NEXT], s12..
    # unchanged (crypto_ops.md LOG_PRECOMPILE gives no effect line)
    "LOGPRECOMPILE": (_no(12),),
    "LOG_PRECOMPILE": (_no(12),),
    # decoder/main.md (flow control)
    "JOIN": (_no(0),),
    "SPAN": (_no(0),),
    "RESPAN": (_no(0),),
    "HALT": (_no(0),),
    "CALL": (_no(0),),
    "SYSCALL": (_no(0),),
    "SPLIT": (_left(1),),
    "LOOP": (_left(1),),
    "REPEAT": (_left(1),),
    "DYN": (_left(1),),
    "DYNCALL": (_left(1),),
    "END": (),  # below: f_end (1 - h5) no change from 0, f_end h5 left shift from 1
}


def shift_flags(b: MidenBuilder) -> tuple[list[sp.Expr], list[sp.Expr], list[sp.Expr], list[set[str]]]:
    """``N_i``, ``L_i``, ``R_i`` (i = 0..15) as sums of the design's operation flags, and the operations
    each position's constraint reads."""
    f, h = b.flags, b.decoder.h
    # each sum's terms are collected first and added once (sp.Add of them all, the same canonical sum as adding
    # them one by one, without re-flattening a growing sum per operation: ~1 s of the design's build)
    terms: dict[str, list[list[sp.Expr]]] = {k: [[] for _ in range(16)] for k in ("no", "left", "right")}
    ops: list[set[str]] = [set() for _ in range(16)]
    effects_of = {**EFFECTS, **{o.name: o.effect for o in b.design.extra_operations}}  # Design.with_operation
    for op, _code in f.items():
        if op not in effects_of:
            raise ValueError(f"{b.design.name}: no stack effect known for {op}")
        for kind, positions in effects_of[op]:
            for i in positions:
                terms[kind][i].append(f.op(op))
        if op == "END":
            for i in range(16):
                terms["no"][i].append(f.op(op) * (1 - h[5]))
            for i in range(1, 16):
                terms["left"][i].append(f.op(op) * h[5])
    no: list[sp.Expr] = [sp.Add(*t) for t in terms["no"]]
    left: list[sp.Expr] = [sp.Add(*t) for t in terms["left"]]
    right: list[sp.Expr] = [sp.Add(*t) for t in terms["right"]]
    for i in range(16):
        for op, _code in f.items():
            effects = effects_of[op] if op != "END" else (_no(0), _left(1))
            for kind, positions in effects:
                j = {"no": i, "left": i + 1, "right": i - 1}[kind]
                if j in positions:
                    ops[i].add(op)
    return no, left, right, ops


@family("stack.general")
def constrain(b: MidenBuilder) -> None:
    s = b.stack.s
    no, left, right, ops = shift_flags(b)
    order = [op for op, _ in b.flags.items()]
    for i in range(16):
        flag_sum = no[i]
        expected = no[i] * s[i]
        lhs, rhs = [f"N{i}"], [f"N{i} s{i}"]
        if i + 1 < 16:
            flag_sum = flag_sum + left[i + 1]
            expected = expected + left[i + 1] * s[i + 1]
            lhs.append(f"L{i + 1}")
            rhs.append(f"L{i + 1} s{i + 1}")
        if i >= 1:
            flag_sum = flag_sum + right[i - 1]
            expected = expected + right[i - 1] * s[i - 1]
            lhs.append(f"R{i - 1}")
            rhs.append(f"R{i - 1} s{i - 1}")
        b.transition(
            f"stack_s{i}_shift",
            s[i].next * flag_sum - expected,
            tags=tuple(f"op:{op}" for op in order if op in ops[i]),
            doc=DOC + f"stack/op_constraints.md: s{i}' ({' + '.join(lhs)}) = {' + '.join(rhs)} "
            "(Rust enforce_general_constraints)",
        )
