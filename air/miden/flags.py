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

__all__ = ["op_flag", "bit_literal"]


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
