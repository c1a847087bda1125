"""Decoder control flow: the "General constraints" of docs/src/design/decoder/constraints.md (v0.18.0, v0.19.0).

    (f_split + f_loop) (s0^2 - s0) = 0           7   SPLIT/LOOP read a binary condition
    f_dyn h_i = 0, i in [4, 8)                   6   DYN leaves the second half of the hasher state empty
    f_repeat (1 - s0) = 0                        5   REPEAT runs only on a true condition
    f_repeat (1 - h4) = 0                        5   ... and only inside a loop body (is_loop_body = h4)
    f_respan (a' - a - 8) = 0                    5   RESPAN moves the batch address one hash cycle on
    f_end h5 s0 = 0                              6   leaving a loop (is_loop = h5) needs a false condition
    f_end f_repeat' (h_i' - h_i) = 0, i in [0,5) 9   END followed by REPEAT keeps the body hash and h4
    f_halt (1 - f_halt') = 0                     8   HALT is followed only by HALT
    f_halt a = 0                                 5   HALT has block address 0
    1 - sp - f_ctrl = 0                          5   sp = 1 exactly on the rows of non-control operations

DYN: the docs write ``f_dyn (1 - h_i) = 0 for i in [0, 8)`` and say "the hasher registers must all be set to 0".
Neither holds for a valid trace: the same page's block hash table (v_allcalls) and memory request
(m_dynordyncall) read the callee hash from h0..h3 on the DYN row, and the processor fills h0..h3 with it and
h4..h7 with zeros (processor/src/decoder/mod.rs ``start_dyn``). The model constrains h4..h7 to 0 (same degree).
"""

from __future__ import annotations

import sympy as sp

from air.miden.builder import DOC, MidenBuilder, family
from air.symbols import Cell

DOCF = DOC + "decoder/constraints.md#general-constraints"


def nxt(e: sp.Expr) -> sp.Expr:
    """``e'``: ``e`` over the next row (every current-row cell replaced by its next-row cell), e.g. ``f_halt'``."""
    cells = [c for c in e.free_symbols if isinstance(c, Cell)]
    if any(c.shift for c in cells):
        raise ValueError(f"{e}: already reads the next row")
    return e.xreplace({c: c.next for c in cells})


@family("decoder.flow")
def constrain(b: MidenBuilder) -> None:
    f, dec = b.flags, b.decoder
    a, h, sp_ = dec.addr, dec.h, dec.in_span
    s0 = b.stack.s[0]
    b.constrain(
        "split_loop_s0_binary",
        flag=f.op("SPLIT") + f.op("LOOP"),
        body=s0**2 - s0,
        tags=("op:SPLIT", "op:LOOP"),
        doc=DOCF,
    )
    for i in range(4, 8):
        b.constrain(
            f"dyn_h{i}_zero",
            flag=f.op("DYN"),
            body=h[i],
            operation="DYN",
            doc=DOCF + " (docs: f_dyn (1 - h_i), i in [0, 8): see the module docstring)",
        )
    b.constrain("repeat_s0_one", flag=f.op("REPEAT"), body=1 - s0, operation="REPEAT", doc=DOCF)
    b.constrain("repeat_in_loop", flag=f.op("REPEAT"), body=1 - h[4], operation="REPEAT", doc=DOCF)
    b.constrain("respan_addr", flag=f.op("RESPAN"), body=a.next - a - 8, operation="RESPAN", doc=DOCF)
    b.constrain("end_loop_s0_zero", flag=f.op("END") * h[5], body=s0, operation="END", doc=DOCF)
    end_then_repeat = f.op("END") * nxt(f.op("REPEAT"))
    for i in range(5):
        b.constrain(f"end_repeat_h{i}", flag=end_then_repeat, body=h[i].next - h[i], operation="END", doc=DOCF)
    b.constrain("halt_next", flag=f.op("HALT"), body=1 - nxt(f.op("HALT")), operation="HALT", doc=DOCF)
    b.constrain("halt_addr", flag=f.op("HALT"), body=a, operation="HALT", doc=DOCF)
    b.transition(
        "sp_ctrl",
        1 - sp_ - f.ctrl,
        doc=DOCF + " (f_ctrl: stack/op_constraints.md, with DYNCALL added: see OpFlags.ctrl)",
    )
