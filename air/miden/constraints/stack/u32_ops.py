"""u32 operations (docs/src/design/stack/u32_ops.md, unchanged from v0.18.0 to v0.19.0).

Helpers: ``h_0..h_5`` of the docs are the decoder's user-op helper registers, the hasher-state columns
``h2..h7`` (``USER_OP_HELPERS_OFFSET = HASHER_STATE_OFFSET + 2``, air/src/trace/decoder/mod.rs). With the
limbs ``v_lo = 2^16 h_1 + h_0``, ``v_hi = 2^16 h_3 + h_2``, ``v48 = 2^32 h_2 + v_lo``, ``v64 = 2^48 h_3 + v48``
(each constraint below carries its operation's flag, degree 6 for the u32 class):

    U32SPLIT    s0 = v64, s1' = v_lo, s0' = v_hi, validity                         (1, 1, 1, 3)
    U32ASSERT2  s0' = v_hi, s1' = v_lo                                              (1, 1)
    U32ADD      s0 + s1 = v48, s0' = h_2, s1' = v_lo                                (1, 1, 1)
    U32ADD3     s0 + s1 + s2 = v48, s0' = h_2, s1' = v_lo                           (1, 1, 1)
    U32SUB      s1 = s0 + s1' - 2^32 s0', s0'^2 - s0' = 0, s1' = v_lo               (1, 2, 1)
    U32MUL      s0 s1 = v64, s1' = v_lo, s0' = v_hi, validity                       (2, 1, 1, 3)
    U32MADD     s0 s1 + s2 = v64, s1' = v_lo, s0' = v_hi, validity                  (2, 1, 1, 3)
    U32DIV      s1 = s0 s1' + s0', s1 - s1' = v_lo, s0 - s0' - 1 = v_hi             (2, 1, 1)

validity (element check): ``(1 - m (2^32 - 1 - v_hi)) v_lo = 0`` with ``m = h_4``.

Range checks: every u32-class operation (``f_u32rc = b6 (1-b5)(1-b4)``, degree 3) sends ``h_0..h_3`` to the
LogUp bus b_range, multiplicity 1 each (u32_ops.md#range-checks).

U32AND / U32XOR ask the bitwise chiplet on b_chip: ``alpha_0 + alpha_1 op + alpha_2 a + alpha_3 b + alpha_4 z``
with ``a = s1, b = s0, z = s0'`` (the processor's ``build_bitwise_request``; the docs write s0 at alpha_2 and
s1 at alpha_3, which the bitwise chiplet's response does not match: it reads a, b in its own order).

Where the docs and the Rust AIR (air/src/constraints/stack/u32_ops/mod.rs) disagree, the model follows the code:

* U32SUB: the docs write ``s1 = s0 + s1' + 2^32 s0'``; the code (and a - b with borrow) ``s1 = s0 + s1' - 2^32 s0'``;
* U32DIV: the docs write ``s0 - s0' - 1 = 2^16 h_2 + h_3``; the code ``= v_hi = 2^16 h_3 + h_2``.

And where the code is weaker than the docs, the model follows the docs (noted in each doc string):

* the code has no U32ASSERT2 limb constraint (its limb-aggregation flag is ``f_u32rc - f_u32div - f_u32assert2``);
* for U32ADD/U32ADD3 the code constrains ``s0' = v_hi`` (h_3 free) where the docs say ``s0' = h_2``.
"""

from __future__ import annotations

import sympy as sp

from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

DOCU = DOC + "stack/u32_ops.md"
# air/src/trace/chiplets/bitwise.rs (v0.18.0 = v0.19.0): 1 + the chiplet selector with its bits reversed.
BITWISE_AND_LABEL = 2
BITWISE_XOR_LABEL = 6


@family("stack.u32_ops")
def constrain(b: MidenBuilder) -> None:
    f, s = b.flags, b.stack.s
    hu = b.decoder.h[2:8]  # the user-op helpers h_0..h_5 of the docs
    v_lo = 2**16 * hu[1] + hu[0]
    v_hi = 2**16 * hu[3] + hu[2]
    v48 = 2**32 * hu[2] + v_lo
    v64 = 2**48 * hu[3] + v48
    valid = (1 - hu[4] * (2**32 - 1 - v_hi)) * v_lo

    def c(name: str, op: str, body: sp.Expr, doc: str = "") -> None:
        if f.has(op):
            b.constrain(name, flag=f.op(op), body=body, operation=op, doc=DOCU + (f" ({doc})" if doc else ""))

    c("u32split_s0", "U32SPLIT", s[0] - v64)
    c("u32split_s1n", "U32SPLIT", s[1].next - v_lo)
    c("u32split_s0n", "U32SPLIT", s[0].next - v_hi)
    c("u32split_valid", "U32SPLIT", valid, "element validity, m = h_4")

    c("u32assert2_s0n", "U32ASSERT2", s[0].next - v_hi, "not in the v0.18/v0.19 Rust AIR")
    c("u32assert2_s1n", "U32ASSERT2", s[1].next - v_lo, "not in the v0.18/v0.19 Rust AIR")

    for op, total in (("U32ADD", s[0] + s[1]), ("U32ADD3", s[0] + s[1] + s[2])):
        n = op.lower()
        c(f"{n}_sum", op, total - v48)
        c(f"{n}_s0n", op, s[0].next - hu[2], "the Rust AIR has s0' = v_hi, leaving h_3 free")
        c(f"{n}_s1n", op, s[1].next - v_lo)

    c("u32sub_s1", "U32SUB", s[1] - (s[0] + s[1].next - 2**32 * s[0].next), "sign of 2^32 s0' as in the code")
    c("u32sub_borrow_binary", "U32SUB", s[0].next ** 2 - s[0].next)
    c("u32sub_s1n", "U32SUB", s[1].next - v_lo)

    for op, prod in (("U32MUL", s[0] * s[1]), ("U32MADD", s[0] * s[1] + s[2])):
        n = op.lower()
        c(f"{n}_prod", op, prod - v64)
        c(f"{n}_s1n", op, s[1].next - v_lo)
        c(f"{n}_s0n", op, s[0].next - v_hi)
        c(f"{n}_valid", op, valid, "element validity, m = h_4")

    c("u32div_s1", "U32DIV", s[1] - (s[0] * s[1].next + s[0].next))
    c("u32div_s1n", "U32DIV", s[1] - s[1].next - v_lo)
    c("u32div_s0n", "U32DIV", s[0] - s[0].next - 1 - v_hi, "v_hi = 2^16 h_3 + h_2 as in the code")

    # --- range checks: four LogUp requests, multiplicity f_u32rc ---------------------------------------
    u32rc = f.u32rc
    for i in range(4):
        b.request(
            "range",
            f"u32rc_h{i}",
            u32rc,
            (M.range_check(hu[i]),),
            factors=(f"h{i}",),
            multiplicity=u32rc,
            doc=DOCU + "#range-checks (f_u32rc = b6 (1-b5)(1-b4))",
        )

    # --- bitwise requests on b_chip -------------------------------------------------------------------
    for op, term, label, code in (
        ("U32AND", "u_u32and", "bitwise AND", BITWISE_AND_LABEL),
        ("U32XOR", "u_u32xor", "bitwise XOR", BITWISE_XOR_LABEL),
    ):
        msg = M.bitwise(label, code, s[1], s[0], s[0].next)
        b.request("chiplets", term, f.op(op), (msg,), factors=("bitwise",), operation=op, doc=DOCU + " and bitwise.md")
