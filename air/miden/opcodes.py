"""The 7-bit opcode table of Miden VM v0.18.0 and its four flag-degree classes.

Source: docs/src/design/stack/op_constraints.md at v0.18.0 (checked against the v0.13 fact sheet:
v0.18 puts EMIT at 31 (v0.13: PUSH/EMIT in the degree-5 class, 31 unused), EVALCIRCUIT at 93, and
leaves 90, 94, 95 free).

| class  | opcodes                    | flag                                    | degree |
|--------|----------------------------|-----------------------------------------|--------|
| deg7   | 0..63  (prefix 0)          | (1-b6) * [b5][b4][b3][b2][b1][b0]       | 7      |
| u32    | 64..78 even (prefix 100)   | b6 (1-b5)(1-b4) [b3][b2][b1]            | 6      |
| deg5   | 80..95 (prefix 101)        | e0 [b3][b2][b1][b0], e0 = b6 (1-b5) b4  | 5      |
| deg4   | 96..124 step 4 (prefix 11) | e1 [b4][b3][b2],     e1 = b6 b5          | 4      |
"""

from __future__ import annotations

OPCODES_V18: dict[str, int] = {
    # no stack shift (000_xxxx, 001_xxxx)
    "NOOP": 0, "EQZ": 1, "NEG": 2, "INV": 3, "INCR": 4, "NOT": 5, "FMPADD": 6, "MLOAD": 7,
    "SWAP": 8, "CALLER": 9, "MOVUP2": 10, "MOVDN2": 11, "MOVUP3": 12, "MOVDN3": 13, "ADVPOPW": 14,
    "EXPACC": 15, "MOVUP4": 16, "MOVDN4": 17, "MOVUP5": 18, "MOVDN5": 19, "MOVUP6": 20, "MOVDN6": 21,
    "MOVUP7": 22, "MOVDN7": 23, "SWAPW": 24, "EXT2MUL": 25, "MOVUP8": 26, "MOVDN8": 27, "SWAPW2": 28,
    "SWAPW3": 29, "SWAPDW": 30, "EMIT": 31,
    # left shift (010_xxxx)
    "ASSERT": 32, "EQ": 33, "ADD": 34, "MUL": 35, "AND": 36, "OR": 37, "U32AND": 38, "U32XOR": 39,
    "FRIE2F4": 40, "DROP": 41, "CSWAP": 42, "CSWAPW": 43, "MLOADW": 44, "MSTORE": 45, "MSTOREW": 46,
    "FMPUPDATE": 47,
    # right shift (011_xxxx)
    "PAD": 48, "DUP0": 49, "DUP1": 50, "DUP2": 51, "DUP3": 52, "DUP4": 53, "DUP5": 54, "DUP6": 55,
    "DUP7": 56, "DUP9": 57, "DUP11": 58, "DUP13": 59, "DUP15": 60, "ADVPOP": 61, "SDEPTH": 62, "CLK": 63,
    # u32 (100_xxx0)
    "U32ADD": 64, "U32SUB": 66, "U32MUL": 68, "U32DIV": 70, "U32SPLIT": 72, "U32ASSERT2": 74,
    "U32ADD3": 76, "U32MADD": 78,
    # high degree (101_xxxx)
    "HPERM": 80, "MPVERIFY": 81, "PIPE": 82, "MSTREAM": 83, "SPLIT": 84, "LOOP": 85, "SPAN": 86,
    "JOIN": 87, "DYN": 88, "HORNEREXT": 89, "PUSH": 91, "DYNCALL": 92, "EVALCIRCUIT": 93,
    # very high degree (11x_xx00)
    "MRUPDATE": 96, "HORNERBASE": 100, "SYSCALL": 104, "CALL": 108, "END": 112, "REPEAT": 116,
    "RESPAN": 120, "HALT": 124,
}  # fmt: skip

# v0.19.0: FMPADD and FMPUPDATE removed (PR #2308); their slots 6 and 47 become <unused>. LOGPRECOMPILE takes
# the free degree-5 slot 90 (op_constraints.md at v0.19.0: `101_1010`, crypto_ops.md#log_precompile; #2249).
OPCODES_V19: dict[str, int] = {k: v for k, v in OPCODES_V18.items() if k not in ("FMPADD", "FMPUPDATE")}
OPCODES_V19["LOGPRECOMPILE"] = 90

CLASSES = ("deg7", "u32", "deg5", "deg4")
FLAG_DEGREE = {"deg7": 7, "u32": 6, "deg5": 5, "deg4": 4}


def flag_class(opcode: int) -> str:
    if opcode < 64:
        return "deg7"
    if opcode < 80:
        return "u32"
    if opcode < 96:
        return "deg5"
    return "deg4"


def class_slots(cls: str) -> list[int]:
    """Every opcode a class can encode (u32 opcodes are even; deg4 opcodes are multiples of 4)."""
    if cls == "deg7":
        return list(range(64))
    if cls == "u32":
        return list(range(64, 80, 2))
    if cls == "deg5":
        return list(range(80, 96))
    return list(range(96, 128, 4))


def free_slots(opcodes: dict[str, int]) -> dict[str, list[int]]:
    """The unused opcodes of every class."""
    used = set(opcodes.values())
    return {c: [o for o in class_slots(c) if o not in used] for c in CLASSES}
