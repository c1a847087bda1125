"""Operation flags built the way Miden builds them (docs/src/design/stack/op_constraints.md).

``[b]`` is ``b`` when the opcode bit is 1 and ``1 - b`` when it is 0.

* deg7 (prefix 0):   ``(1-b6) [b5][b4][b3][b2][b1][b0]``     degree 7
* u32 (prefix 100):  ``b6 (1-b5)(1-b4) [b3][b2][b1]``        degree 6 (b0 is 0 for every u32 opcode)
* deg5 (prefix 101): ``e0 [b3][b2][b1][b0]``, ``e0 = b6 (1-b5) b4``  degree 5
* deg4 (prefix 11):  ``e1 [b4][b3][b2]``, ``e1 = b6 b5``            degree 4 (b1 = b0 = 0)

Flags are kept as unexpanded products so that their structure (and the degree walk) reads like the docs.
"""

from __future__ import annotations

import sympy as sp

from air.miden.opcodes import flag_class
from air.symbols import Cell

__all__ = ["op_flag", "bit_literal", "OpFlags"]


def bit_literal(b: Cell, bit: int) -> sp.Expr:
    return b if bit else 1 - b


def op_flag(opcode: int, bits: list[Cell], e0: Cell, e1: Cell) -> sp.Expr:
    """The flag of ``opcode`` from the op bit cells ``bits`` (b0 first) and the e0/e1 columns."""
    v = [(opcode >> i) & 1 for i in range(7)]
    cls = flag_class(opcode)
    if cls == "deg7":
        lits = [1 - bits[6]] + [bit_literal(bits[i], v[i]) for i in (5, 4, 3, 2, 1, 0)]
    elif cls == "u32":
        lits = [bits[6], 1 - bits[5], 1 - bits[4]] + [bit_literal(bits[i], v[i]) for i in (3, 2, 1)]
    elif cls == "deg5":
        lits = [e0] + [bit_literal(bits[i], v[i]) for i in (3, 2, 1, 0)]
    else:
        lits = [e1] + [bit_literal(bits[i], v[i]) for i in (4, 3, 2)]
    return sp.Mul(*lits, evaluate=False)


class OpFlags:
    """Every operation flag of a design, built once (``op_flag``), plus the composite flags the model uses.

    ``flags.op("CALL")`` (or ``flags["CALL"]``) is CALL's flag; ``flags.has("FMPADD")`` says whether the
    design has the operation (v0.19 removed FMPADD/FMPUPDATE). Composite flags (decoder/constraints.md,
    processor/src/system/mod.rs):

    * ``newctx = f_call + f_dyncall``: the operations that enter a new context;
    * ``end_of_call = f_end * (h6 + h7)``: END of a CALL/DYNCALL (h6) or SYSCALL (h7) block;
    * ``memop = f_mload + f_mstore + f_mloadw + f_mstorew``: the memory instructions (stack/io_ops.md).
    """

    def __init__(self, opcodes: dict[str, int], bits: tuple[Cell, ...], e0: Cell, e1: Cell, h: tuple[Cell, ...]):
        self.opcodes = dict(sorted(opcodes.items(), key=lambda kv: kv[1]))
        self._f: dict[str, sp.Expr] = {n: op_flag(c, list(bits), e0, e1) for n, c in self.opcodes.items()}
        self._h = h
        self._bits, self._e0, self._e1 = tuple(bits), e0, e1

    def op(self, name: str) -> sp.Expr:
        return self._f[name]

    def __getitem__(self, name: str) -> sp.Expr:
        return self._f[name]

    def has(self, name: str) -> bool:
        return name in self._f

    def items(self) -> list[tuple[str, sp.Expr]]:
        """(name, flag) in opcode order."""
        return list(self._f.items())

    @property
    def newctx(self) -> sp.Expr:
        return self._f["CALL"] + self._f["DYNCALL"]

    @property
    def end_of_call(self) -> sp.Expr:
        return self._f["END"] * (self._h[6] + self._h[7])

    @property
    def memop(self) -> sp.Expr:
        return self._f["MLOAD"] + self._f["MSTORE"] + self._f["MLOADW"] + self._f["MSTOREW"]

    # --- decoder composite flags (decoder/constraints.md, stack/op_constraints.md) ---------------------------------
    def _prefix_or_sum(self, names: tuple[str, ...], prefix: sp.Expr, codes: tuple[int, ...]) -> sp.Expr:
        """``prefix`` when the design gives ``names`` exactly the opcodes ``codes`` (the docs' shortcut), else the
        plain sum of their flags (a design that moves one of them, e.g. miden-fnhash-mem-slot)."""
        present = [n for n in names if n in self._f]
        if sorted(self.opcodes[n] for n in present) == sorted(codes) and all(
            self.opcodes[n] not in codes for n in self.opcodes if n not in names
        ):
            return prefix
        return sp.Add(*[self._f[n] for n in present])

    @property
    def ctrl(self) -> sp.Expr:
        """``f_ctrl = f_{span,join,split,loop} + f_{end,repeat,respan,halt} + f_dyn + f_dyncall + f_call + f_syscall``
        (stack/op_constraints.md "Control flow flag", degree 5), with ``f_{span,join,split,loop} = e0 (1-b3) b2``
        (opcodes 84..87) and ``f_{end,repeat,respan,halt} = e1 b4`` (112..124).

        The docs' formula omits DYNCALL (added to the VM after it was written): without it the decoder rule
        ``1 - sp - f_ctrl = 0`` would reject every DYNCALL row (DYNCALL starts a block, sp = 0). Added here."""
        b = [Cell(f"b{i}", 0) for i in range(7)]
        e0, e1 = Cell("e0", 0), Cell("e1", 0)
        g1 = self._prefix_or_sum(("SPLIT", "LOOP", "SPAN", "JOIN"), e0 * (1 - b[3]) * b[2], (84, 85, 86, 87))
        g2 = self._prefix_or_sum(("END", "REPEAT", "RESPAN", "HALT"), e1 * b[4], (112, 116, 120, 124))
        rest = [self._f[n] for n in ("DYN", "DYNCALL", "CALL", "SYSCALL") if n in self._f]
        return sp.Add(g1, g2, *rest)

    @property
    def imm(self) -> sp.Expr:
        """``f_imm = f_push`` (stack/op_constraints.md "Immediate value flag", degree 5): the operations whose
        immediate value is part of the MAST digest."""
        return self._f["PUSH"]

    # --- composite flags of docs/src/design/stack/op_constraints.md (v0.18.0 = v0.19.0), written as the docs
    # write them: the prefix products are what make their degrees.
    @property
    def u32rc(self) -> sp.Expr:
        """``f_u32rc = b6 (1-b5)(1-b4)``, degree 3: every u32 operation (op_constraints.md, u32 operations)."""
        b = self._bits
        return sp.Mul(b[6], 1 - b[5], 1 - b[4], evaluate=False)

    @property
    def add3_madd(self) -> sp.Expr:
        """``f_add3_madd = b6 (1-b5)(1-b4) b3 b2``, degree 5: U32ADD3 or U32MADD (op_constraints.md, shift left)."""
        b = self._bits
        return sp.Mul(b[6], 1 - b[5], 1 - b[4], b[3], b[2], evaluate=False)

    @property
    def split_loop(self) -> sp.Expr:
        """``f_split_loop = e0 (1-b3) b2 (1-b1)``, degree 4: SPLIT or LOOP (op_constraints.md, shift left)."""
        b = self._bits
        return sp.Mul(self._e0, 1 - b[3], b[2], 1 - b[1], evaluate=False)

    @property
    def shr(self) -> sp.Expr:
        """``f_shr = (1-b6) b5 b4 + f_u32split + f_push``, degree 6 (op_constraints.md, shift right flag)."""
        b = self._bits
        return sp.Mul(1 - b[6], b[5], b[4], evaluate=False) + self._f["U32SPLIT"] + self._f["PUSH"]

    @property
    def shl(self) -> sp.Expr:
        """``f_shl = (1-b6) b5 (1-b4) + f_add3_madd + f_split_loop + f_repeat + f_end h5 [+ f_dyn]``, degree 5.

        op_constraints.md writes the sum without ``f_dyn``; decoder/main.md says DYN performs a left shift
        and the v0.18/v0.19 Rust ``OpFlags::left_shift`` adds ``f_dyn`` (degree 5, so the degree stays 5).
        We follow the code: without it the depth and overflow table would not follow DYN's shift. DYNCALL
        also shifts left but is left out, as in the Rust (its depth is reset to 16 instead).
        """
        b, h = self._bits, self._h
        return (
            sp.Mul(1 - b[6], b[5], 1 - b[4], evaluate=False)
            + self.add3_madd
            + self.split_loop
            + self._f["REPEAT"]
            + self._f["END"] * h[5]
            + self._f["DYN"]
        )
