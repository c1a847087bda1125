"""The block stack table p1 (docs/src/design/decoder/constraints.md, decoder/index.md), a multiset bus.

A row is ``(blk, prnt, is_loop[, ctx, fmp, b0, b1, fn_hash0..3, in_kernel])``: JOIN/SPLIT/LOOP/SPAN/DYN
add ``(a', a, is_loop)``, RESPAN replaces ``(a, h1')`` by ``(a', h1')``, CALL/SYSCALL/DYNCALL also save the
caller's context, and END removes ``(a, a', h5)`` with the context restored from the next row.

    v_join = v_split = v_span = v_dyn: f * (a', a, 0)         v_loop: f_loop * (a', a, s0)
    v_callorsyscall: (f_call + f_syscall) * (a', a, 0, ctx..)  v_dyncall: f_dyncall * (a', a, 0, ctx.., h4, h5)
    u_end: f_end * (a, a', h5, (h6 + h7) * ctx'..)             v_respan/u_respan: f_respan * (a'/a, h1', 0)

Checked against decoder/constraints.md and processor/src/decoder/aux_trace/block_stack_table.rs at v0.18.0 and
v0.19.0: a row is ``alpha_0 + alpha_1 blk + alpha_2 prnt + alpha_3 is_loop + alpha_4 ctx [+ alpha_5 fmp] + b0 + b1 +
fn_hash``. For CALL/SYSCALL/DYNCALL the docs write ``alpha_1 a + alpha_2 a'`` (blk and prnt swapped against every
other row and against END's ``(a, a')``, which could then never match); the code writes ``(a', a)``, as here.
v0.19 drops fmp from the row (12 -> 11 elements). Degrees: the docs state 7 for the p1 constraint.
"""

from __future__ import annotations

import sympy as sp

from air.air import Message
from air.miden.builder import DOC, MidenBuilder, family

BUS = "block_stack"
DOCF = DOC + "decoder/constraints.md"


@family("decoder.block_stack")
def constrain(b: MidenBuilder) -> None:
    sy, st, f = b.system, b.stack, b.flags
    a, h = b.decoder.addr, b.decoder.h
    s0 = st.s[0]

    def saved(cur: bool, dyncall: bool = False) -> list[tuple[str, sp.Expr]]:
        """The context a CALL/SYSCALL/DYNCALL saves (current row) and END restores (next row).

        DYNCALL shifts the stack left (it drops the address), so it saves the depth and overflow address
        after the shift, which the prover puts in h4 and h5 (decoder/index.md, block stack table)."""
        pick = (lambda c: c) if cur else (lambda c: c.next)
        out: list[tuple[str, sp.Expr]] = [("ctx", pick(sy.ctx))]
        if sy.fmp is not None:  # v0.19 removed parent_fmp from the rows (12 -> 11 elements)
            out.append(("fmp", pick(sy.fmp)))
        out.append(("b0", h[4] if dyncall else pick(st.depth)))
        out.append(("b1", h[5] if dyncall else pick(st.overflow_addr)))
        out += [(f"fn_hash{i}", pick(c)) for i, c in enumerate(sy.fn_hash)]
        if sy.in_kernel is not None:
            out.append(("in_kernel", pick(sy.in_kernel)))
        return out

    def row(blk: sp.Expr, prnt: sp.Expr, is_loop: sp.Expr, ctx_fields: list[tuple[str, sp.Expr]] | None) -> Message:
        fields: list[tuple[str, sp.Expr]] = [("blk", blk), ("prnt", prnt), ("is_loop", sp.sympify(is_loop))]
        fields += ctx_fields or []
        return Message("block stack row", None, tuple(fields))

    b.bus(BUS, "multiset", "p1", doc=DOCF)
    for name, op, msg in (
        ("v_join", "JOIN", row(a.next, a, 0, None)),
        ("v_split", "SPLIT", row(a.next, a, 0, None)),
        ("v_loop", "LOOP", row(a.next, a, s0, None)),
        ("v_span", "SPAN", row(a.next, a, 0, None)),
        ("v_respan", "RESPAN", row(a.next, h[1].next, 0, None)),
        ("v_dyn", "DYN", row(a.next, a, 0, None)),
        ("v_dyncall", "DYNCALL", row(a.next, a, 0, saved(True, dyncall=True))),
    ):
        b.respond(BUS, name, f.op(op), (msg,), factors=("row",), operation=op, doc=DOCF)
    b.respond(
        BUS,
        "v_callorsyscall",
        f.op("CALL") + f.op("SYSCALL"),
        (row(a.next, a, 0, saved(True)),),
        factors=("row",),
        operation="CALL+SYSCALL",
        doc=DOCF,
    )
    b.request(
        BUS, "u_respan", f.op("RESPAN"), (row(a, h[1].next, 0, None),), factors=("row",), operation="RESPAN", doc=DOCF
    )
    # END: (a, a', h5) for a plain block; with the parent's context from the next row for a call/syscall.
    call = h[6] + h[7]
    end_fields = [(n, call * e) for n, e in saved(False)]
    b.request(
        BUS, "u_end", f.op("END"), (row(a, a.next, h[5], end_fields),), factors=("row",), operation="END", doc=DOCF
    )
