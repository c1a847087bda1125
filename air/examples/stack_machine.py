"""A small stack machine whose opcode is 7 binary columns, decoded the way Miden decodes its own.

Columns: ``clk``; opcode bits ``op0..op6`` (``op0`` least significant); ``e0 = op6*op5`` (a
degree-reduction column, like Miden's e0/e1); ``imm`` (the immediate of PUSH, the inverse helper of
EQZ); a 4-deep stack ``s0..s3`` and its ``depth``.

Flags are products of ``[op_i]`` (``op_i`` when the opcode bit is 1, ``1 - op_i`` when it is 0):

* class ``deg7``: opcodes 0..63, ``(1-op6) * prod_{i<6} [op_i]``: degree 7;
* class ``deg6``: opcodes 96..127, ``e0 * prod_{i<5} [op_i]``: degree 6.

Each operation's constraints are written ``flag * body``; a constraint's degree is flag + body.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from air.air import Air

P = 2**64 - 2**32 + 1

# name -> (opcode, class)
OPCODES: dict[str, int] = {
    "NOOP": 0,
    "ADD": 1,
    "MUL": 2,
    "DUP": 3,
    "SWAP": 4,
    "DROP": 5,
    "INCR": 6,
    "NEG": 7,
    "PUSH": 96,
    "EQZ": 97,
}


def _bits(v: int) -> list[int]:
    return [(v >> i) & 1 for i in range(7)]


def stack_machine_air() -> Air:
    air = Air(
        "stack-machine",
        "A small stack machine: 7-bit opcode in binary columns, flags as products of bits",
        budget=9,
    )
    clk = air.column("system", "clk")
    op = air.columns("decoder", [f"op{i}" for i in range(7)])
    e0 = air.column("decoder", "e0", "op6 * op5, lowers the degree of the deg6 flags")
    imm = air.column("decoder", "imm", "PUSH immediate / EQZ inverse helper")
    s = air.columns("stack", ["s0", "s1", "s2", "s3"])
    depth = air.column("stack", "depth")

    def lit(i: int, bit: int) -> sp.Expr:
        return op[i] if bit else 1 - op[i]

    flags: dict[str, sp.Expr] = {}
    for name, code in OPCODES.items():
        b = _bits(code)
        if code < 64:
            f = sp.Mul(*[lit(i, b[i]) for i in range(6)], 1 - op[6], evaluate=False)
            cls = "deg7"
        else:
            f = sp.Mul(e0, *[lit(i, b[i]) for i in range(5)], evaluate=False)
            cls = "deg6"
        flags[name] = f
        air.operation(name, f, code, cls)

    air.transition("clk", clk.next - clk - 1, claimed_degree=1)
    air.boundary("clk_first", clk)
    air.boundary("depth_first", depth)
    for i in range(7):
        air.transition(f"op{i}_binary", op[i] ** 2 - op[i], claimed_degree=2)
    air.transition("e0_def", e0 - op[6] * op[5], claimed_degree=2)

    def rule(opname: str, suffix: str, body: sp.Expr, body_deg: int) -> None:
        fdeg = 7 if OPCODES[opname] < 64 else 6
        air.constrain(f"{opname}_{suffix}", body=body, operation=air.op(opname), claimed_degree=fdeg + body_deg)

    def shifts(opname: str, new: list[sp.Expr], ddepth: int) -> None:
        for i, v in enumerate(new):
            rule(opname, f"s{i}", s[i].next - v, 1)
        rule(opname, "depth", depth.next - depth - ddepth, 1)

    shifts("NOOP", [s[0], s[1], s[2], s[3]], 0)
    shifts("ADD", [s[0] + s[1], s[2], s[3], 0], -1)
    rule("MUL", "s0", s[0].next - s[0] * s[1], 2)
    shifts("DROP", [s[1], s[2], s[3], 0], -1)
    for i, v in enumerate([s[2], s[3], 0]):
        rule("MUL", f"s{i + 1}", s[i + 1].next - v, 1)
    rule("MUL", "depth", depth.next - depth + 1, 1)
    shifts("DUP", [s[0], s[0], s[1], s[2]], 1)
    shifts("SWAP", [s[1], s[0], s[2], s[3]], 0)
    shifts("INCR", [s[0] + 1, s[1], s[2], s[3]], 0)
    shifts("NEG", [-s[0], s[1], s[2], s[3]], 0)
    shifts("PUSH", [imm, s[0], s[1], s[2]], 1)
    # EQZ: s0' = 1 - s0*imm and s0*s0' = 0 (imm is the inverse of s0 when s0 != 0).
    rule("EQZ", "s0", s[0].next - (1 - s[0] * imm), 2)
    rule("EQZ", "zero", s[0] * s[0].next, 2)
    for i in range(1, 4):
        rule("EQZ", f"s{i}", s[i].next - s[i], 1)
    rule("EQZ", "depth", depth.next - depth, 1)
    return air


def stack_machine_trace(n_rows: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """An honest trace: a random program of ``n_rows - 1`` operations, then NOOP on the last row."""
    rng = np.random.default_rng(seed)
    names = list(OPCODES)
    progs = rng.integers(0, len(names), size=n_rows)
    progs[-1] = 0
    imms = rng.integers(0, 2**63, size=n_rows, dtype=np.uint64)
    cols = {k: np.zeros(n_rows, dtype=object) for k in ["clk", "e0", "imm", "s0", "s1", "s2", "s3", "depth"]}
    bits = np.zeros((7, n_rows), dtype=np.uint64)
    st = [0, 0, 0, 0]
    depth = 0
    for r in range(n_rows):
        name = names[int(progs[r])]
        code = OPCODES[name]
        b = _bits(code)
        for i in range(7):
            bits[i, r] = b[i]
        cols["clk"][r] = r
        cols["e0"][r] = b[6] * b[5]
        cols["s0"][r], cols["s1"][r], cols["s2"][r], cols["s3"][r] = st
        cols["depth"][r] = depth % P
        imm = 0
        s0, s1, s2, s3 = st
        if name == "NOOP":
            pass
        elif name == "ADD":
            st, depth = [(s0 + s1) % P, s2, s3, 0], depth - 1
        elif name == "MUL":
            st, depth = [s0 * s1 % P, s2, s3, 0], depth - 1
        elif name == "DROP":
            st, depth = [s1, s2, s3, 0], depth - 1
        elif name == "DUP":
            st, depth = [s0, s0, s1, s2], depth + 1
        elif name == "SWAP":
            st = [s1, s0, s2, s3]
        elif name == "INCR":
            st = [(s0 + 1) % P, s1, s2, s3]
        elif name == "NEG":
            st = [(-s0) % P, s1, s2, s3]
        elif name == "PUSH":
            imm = int(imms[r]) if imms[r] % 4 else 0  # zeros now and then, for EQZ
            st, depth = [imm, s0, s1, s2], depth + 1
        elif name == "EQZ":
            imm = pow(s0, P - 2, P) if s0 else 0
            st = [0 if s0 else 1, s1, s2, s3]
        cols["imm"][r] = imm
    out: dict[str, np.ndarray] = {"clk": np.array(cols["clk"].tolist(), dtype=np.uint64)}
    for i in range(7):
        out[f"op{i}"] = bits[i]
    for k in ["e0", "imm", "s0", "s1", "s2", "s3", "depth"]:
        out[k] = np.array([int(v) for v in cols[k]], dtype=np.uint64)
    return out, {}
