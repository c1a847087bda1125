"""Stack depth b0, overflow address b1, helper h0 and the overflow table (docs/src/design/stack/main.md;
v0.19: stack/index.md; Rust air/src/constraints/stack/overflow/mod.rs).

* overflow flag ``f_ov = (b0 - 16) h0`` (degree 2), set right by ``(1 - f_ov)(b0 - 16) = 0`` (degree 3);
* depth: the docs write ``b0' - b0 + f_shl f_ov - f_shr = 0`` (degree 7). CALL, SYSCALL and DYNCALL reset
  the depth to 16 and END of a call restores it (decoder/main.md), which that formula forbids; we write the
  Rust form, equal to the docs' outside calls, of the same degree:
  ``(b0' - b0)(1 - f_newctx - f_end (h6 + h7)) + f_shl f_ov - f_shr + f_newctx (b0' - 16) = 0`` with
  ``f_newctx = f_call + f_syscall + f_dyncall``;
* right shift: ``f_shr (b1' - clk) = 0`` (degree 7); left shift with an empty table: ``f_shl (1 - f_ov) s15' = 0``
  (degree 8);
* overflow table (bus ``overflow``, column p1 of the docs): a right shift inserts ``v = (clk, s15, b1)``, a
  left shift with a non-empty table removes ``u = (b1, s15', b1')``:
  ``p1' (u f_shl f_ov + 1 - f_shl f_ov) = p1 (v f_shr + 1 - f_shr)`` (degree 9);
* boundaries: ``b0 = 16``, ``b1 = 0``, ``p1 = 1`` at the first and the last row.

CALL/SYSCALL/DYNCALL also reset b1 to 0 (decoder/main.md prose, no formula; no Rust constraint): written
here as ``f_newctx b1' = 0``, derived.

DYNCALL drops s0 and starts a new context (decoder/main.md: "performs a stack left shift; s16 pulled
from the overflow table if present, otherwise 0"), but it is in neither the docs' nor the Rust's f_shl
(its b1' is reset to 0, so the row's prev address cannot be b1'). The processor's overflow column
(processor/src/stack/aux_trace.rs at v0.18.0 and v0.19.0) removes ``(b1, s15', h5)`` on DYNCALL with a
non-empty table, h5 being the decoder column that holds the parent's next overflow address. The docs'
bus has no such term, so an honest trace with DYNCALL at depth > 16 would not balance: we add it, and
its empty-table twin ``f_dyncall (1 - f_ov) s15' = 0``, both derived (not in the docs).
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family
from air.miden.messages import overflow_row

MIN_DEPTH = 16


def _page(b: MidenBuilder) -> str:
    """stack/main.md was renamed stack/index.md at v0.19."""
    return DOC + ("stack/main.md" if b.design.version == "v0.18" else "stack/index.md")


def shifting_ops(b: MidenBuilder, kind: str) -> list[str]:
    """The design's operations ``f_shl`` (kind "left") or ``f_shr`` ("right") selects (op_constraints.md):
    prefix 010 (opcodes 32..47) + U32ADD3, U32MADD, SPLIT, LOOP, REPEAT, END (with h5), DYN; prefix 011
    (48..63) + U32SPLIT, PUSH."""
    if kind == "left":
        lo, extra = 32, ("U32ADD3", "U32MADD", "SPLIT", "LOOP", "REPEAT", "END", "DYN")
    else:
        lo, extra = 48, ("U32SPLIT", "PUSH")
    return [op for op, code in b.flags.opcodes.items() if lo <= code < lo + 16 or op in extra]


@family("stack.overflow")
def constrain(b: MidenBuilder) -> None:
    st, f, h, clk = b.stack, b.flags, b.decoder.h, b.system.clk
    b0, b1, h0, s = st.depth, st.overflow_addr, st.h0, st.s
    page = _page(b)
    f_ov = (b0 - MIN_DEPTH) * h0
    f_shl, f_shr = f.shl, f.shr
    f_newctx = f.op("CALL") + f.op("SYSCALL") + f.op("DYNCALL")
    end_of_call = f.op("END") * (h[6] + h[7])
    shl_ops, shr_ops = shifting_ops(b, "left"), shifting_ops(b, "right")

    b.transition("stack_overflow_flag", (1 - f_ov) * (b0 - MIN_DEPTH), doc=page + ": (1 - f_ov)(b0 - 16) = 0")
    b.transition(
        "stack_depth",
        (b0.next - b0) * (1 - f_newctx - end_of_call) + f_shl * f_ov - f_shr + f_newctx * (b0.next - MIN_DEPTH),
        tags=tuple(f"op:{op}" for op in shl_ops + shr_ops + ["CALL", "SYSCALL", "DYNCALL"]),
        doc=page + ": b0' - b0 + f_shl f_ov - f_shr = 0, with CALL/SYSCALL/DYNCALL resetting b0 to 16 and END "
        "of a call exempt (Rust enforce_stack_depth_constraints)",
    )
    b.constrain(
        "stack_b1_shr",
        flag=f_shr,
        body=b1.next - clk,
        tags=tuple(f"op:{op}" for op in shr_ops),
        doc=page + ": f_shr (b1' - k0) = 0",
    )
    b.constrain(
        "stack_s15_shl_empty",
        flag=f_shl,
        body=(1 - f_ov) * s[15].next,
        tags=tuple(f"op:{op}" for op in shl_ops),
        doc=page + ": f_shl (1 - f_ov) s15' = 0",
    )
    b.constrain(
        "stack_s15_dyncall_empty",
        flag=f.op("DYNCALL"),
        body=(1 - f_ov) * s[15].next,
        operation="DYNCALL",
        doc="DYNCALL's left shift with an empty table shifts in 0 (decoder/main.md prose); derived",
    )
    b.constrain(
        "stack_b1_newctx",
        flag=f_newctx,
        body=b1.next,
        tags=("op:CALL", "op:SYSCALL", "op:DYNCALL"),
        doc="decoder/main.md: CALL/SYSCALL/DYNCALL reset the overflow address to 0 (prose only); derived",
    )

    # --- boundaries ------------------------------------------------------------------------------------
    b.boundary("stack_depth_first", b0 - MIN_DEPTH, doc=page + ": b0 = 16 at the first row")
    b.boundary("stack_depth_last", b0 - MIN_DEPTH, last=True, doc=page + ": b0 = 16 at the last row")
    b.boundary("stack_b1_first", b1, doc=page + ": b1 = 0 at the first row")
    b.boundary("stack_b1_last", b1, last=True, doc=page + ": b1 = 0 at the last row")

    # --- the overflow table ------------------------------------------------------------------------------
    b.bus("overflow", "multiset", "p1_stack", doc=page + ": the stack overflow table (p1 of the stack page)")
    b.respond(
        "overflow",
        "v_shr",
        f_shr,
        (overflow_row("overflow row (clk, s15, b1)", clk, s[15], b1),),
        factors=("v",),
        operation="+".join(shr_ops),
        doc=page + ": a right shift adds (k0, s15, b1)",
    )
    b.request(
        "overflow",
        "u_shl",
        f_shl * f_ov,
        (overflow_row("overflow row (b1, s15', b1')", b1, s[15].next, b1.next),),
        factors=("u",),
        operation="+".join(shl_ops),
        doc=page + ": a left shift with a non-empty table removes (b1, s15', b1')",
    )
    b.request(
        "overflow",
        "u_dyncall",
        f.op("DYNCALL") * f_ov,
        (overflow_row("overflow row (b1, s15', h5)", b1, s[15].next, h[5]),),
        factors=("u",),
        operation="DYNCALL",
        doc="DYNCALL with a non-empty table removes (b1, s15', h5) (processor/src/stack/aux_trace.rs); derived, "
        "not in the docs",
    )
