"""Field operations (docs/src/design/stack/field_ops.md, v0.18.0 = v0.19.0).

Each constraint is gated by its operation flag (degree 7: all are in the no-shift or left-shift
degree-7 classes); the shift of the rest of the stack is in ``stack.general``. ``h0`` is the first user
op helper, the decoder's hasher column h2 (decoder/main.md: h0, h1 serve op group decoding; v0.18
air/src/trace/decoder/mod.rs ``USER_OP_HELPERS_OFFSET = HASHER_STATE_OFFSET + 2``).

| op      | constraints (docs degree, without the flag)                                             |
|---------|------------------------------------------------------------------------------------------|
| ADD     | s0' - (s0 + s1) (1)                                                                      |
| NEG     | s0' + s0 (1)                                                                             |
| MUL     | s0' - s0 s1 (2)                                                                          |
| INV     | 1 - s0' s0 (2)                                                                           |
| INCR    | s0' - (s0 + 1) (1)                                                                       |
| NOT     | s0^2 - s0 (2); s0' - (1 - s0) (1)                                                        |
| AND     | s_i^2 - s_i, i = 0, 1 (2); s0' - s0 s1 (2)                                               |
| OR      | s_i^2 - s_i, i = 0, 1 (2); s0' - (s1 + s0 - s1 s0) (2)                                   |
| EQ      | s0' (s0 - s1) (2); s0' - (1 - (s0 - s1) h0) (2)                                          |
| EQZ     | s0' s0 (2); s0' - (1 - s0 h0) (2)                                                        |
| EXPACC  | s0'^2 - s0' (2); s1' - s1^2 (2); h0 - ((s1 - 1) s0' + 1) (2); s2' - s2 h0 (2); s3' - (2 s3 + s0') (1) |
| EXT2MUL | s0' - s0 (1); s1' - s1 (1); s2' - (s0 + s1)(s2 + s3) + s0 s2 (2); s3' - s1 s3 + 2 s0 s2 (2) |

EXPACC's exponent constraint is printed ``s3' - (s3 * 2 + s0')``: with ``exp' = exp >> 1`` and ``bit' = exp & 1``
the prover's values satisfy ``s3 = 2 s3' + s0'``, which is also the Rust form (``exp = exp_next * 2 +
bit``); the docs' printed form holds for no honest trace. We write the Rust form (same degree 1) and say so.

EXT2MUL's s2' is printed ``(s0 + s1)(s2 + s3) - s0 s2``; the Rust AIR and the processor (ext2_ops.rs: with
(s0, s1, s2, s3) = (b1, b0, a1, a0), ``(b0 + b1)(a1 + a0) - b0 a0``) subtract ``s1 s3``, the product in
F_p[x]/(x^2 - x + 2). We write the code's polynomial (same degree 2).
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family

PAGE = DOC + "stack/field_ops.md"


@family("stack.field_ops")
def constrain(b: MidenBuilder) -> None:
    s, f = b.stack.s, b.flags
    h0 = b.decoder.h[2]  # user op helper h0

    def op(name: str, item: str, body, what: str) -> None:  # type: ignore[no-untyped-def]
        if f.has(name):
            b.constrain(item, flag=f.op(name), body=body, operation=name, doc=f"{PAGE} ({name}): {what}")

    op("ADD", "add", s[0].next - (s[0] + s[1]), "s0' - (s0 + s1) = 0")
    op("NEG", "neg", s[0].next + s[0], "s0' + s0 = 0")
    op("MUL", "mul", s[0].next - s[0] * s[1], "s0' - s0 s1 = 0")
    op("INV", "inv", 1 - s[0].next * s[0], "1 - s0' s0 = 0")
    op("INCR", "incr", s[0].next - (s[0] + 1), "s0' - (s0 + 1) = 0")
    op("NOT", "not_binary", s[0] ** 2 - s[0], "s0^2 - s0 = 0")
    op("NOT", "not", s[0].next - (1 - s[0]), "s0' - (1 - s0) = 0")
    for name, result, what in (
        ("AND", s[0] * s[1], "s0' - s0 s1 = 0"),
        ("OR", s[1] + s[0] - s[1] * s[0], "s0' - (s1 + s0 - s1 s0) = 0"),
    ):
        low = name.lower()
        for i in (0, 1):
            op(name, f"{low}_binary_s{i}", s[i] ** 2 - s[i], f"s{i}^2 - s{i} = 0")
        op(name, low, s[0].next - result, what)
    op("EQ", "eq_zero", s[0].next * (s[0] - s[1]), "s0' (s0 - s1) = 0")
    op("EQ", "eq", s[0].next - (1 - (s[0] - s[1]) * h0), "s0' - (1 - (s0 - s1) h0) = 0, h0 = decoder h2")
    op("EQZ", "eqz_zero", s[0].next * s[0], "s0' s0 = 0")
    op("EQZ", "eqz", s[0].next - (1 - s[0] * h0), "s0' - (1 - s0 h0) = 0, h0 = decoder h2")
    bit = s[0].next
    op("EXPACC", "expacc_bit", bit**2 - bit, "s0'^2 - s0' = 0")
    op("EXPACC", "expacc_base", s[1].next - s[1] ** 2, "s1' - s1^2 = 0")
    op("EXPACC", "expacc_val", h0 - ((s[1] - 1) * bit + 1), "h0 - ((s1 - 1) s0' + 1) = 0, h0 = decoder h2")
    op("EXPACC", "expacc_acc", s[2].next - s[2] * h0, "s2' - s2 h0 = 0")
    op(
        "EXPACC",
        "expacc_exp",
        s[3] - (2 * s[3].next + bit),
        "docs print s3' - (2 s3 + s0') = 0; written as in the Rust: s3 - (2 s3' + s0') = 0",
    )
    op("EXT2MUL", "ext2mul_s0", s[0].next - s[0], "s0' - s0 = 0")
    op("EXT2MUL", "ext2mul_s1", s[1].next - s[1], "s1' - s1 = 0")
    op(
        "EXT2MUL",
        "ext2mul_s2",
        s[2].next - (s[0] + s[1]) * (s[2] + s[3]) + s[1] * s[3],
        "docs print s2' - (s0 + s1)(s2 + s3) + s0 s2 = 0; written as the Rust and processor: ... + s1 s3 = 0",
    )
    op("EXT2MUL", "ext2mul_s3", s[3].next - s[1] * s[3] + 2 * s[0] * s[2], "s3' - s1 s3 + 2 s0 s2 = 0")
