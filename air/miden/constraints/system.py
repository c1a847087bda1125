"""System registers: clk, ctx, fmp (or sys_fmp + in_kernel), in_syscall, fn_hash (docs/src/design/main.md).

| register   | CALL/DYNCALL | SYSCALL      | END of a call/syscall  | otherwise                          |
|------------|--------------|--------------|------------------------|------------------------------------|
| clk        | clk + 1      | clk + 1      | clk + 1                | clk + 1                            |
| ctx        | clk + 1      | 0            | restored (block stack) | ctx                                |
| fmp        | 2^30         | 2^31 (v0.18) | restored (block stack) | fmp; at FMPUPDATE fmp + s0 (stack) |
| in_syscall | (refused)    | 1            | 0                      | in_syscall                         |
| in_kernel  | 0            | 1            | restored (block stack) | in_kernel                          |
| fn_hash    | h0..h3       | fn_hash      | restored (block stack) | fn_hash                            |

The docs write only clk; the others follow the processor (processor/src/system/mod.rs) and are marked
derived. sys-fmp (seed discussion): a second frame pointer ``sys_fmp`` for the kernel, chosen by ``in_kernel``.
"""

from __future__ import annotations

from air.miden import layout as L
from air.miden.builder import DOC, MidenBuilder, family

DERIVED = "derived, not in docs (processor/src/system/mod.rs)"


@family("system")
def constrain(b: MidenBuilder) -> None:
    sy, f, h = b.system, b.flags, b.decoder.h
    clk, ctx = sy.clk, sy.ctx
    f_syscall, newctx, end_of_call = f.op("SYSCALL"), f.newctx, f.end_of_call

    # --- clk -------------------------------------------------------------------------------------
    b.transition("clk", clk.next - clk - 1, doc=DOC + "main.md")
    b.boundary("clk_first", clk, doc=DOC + "main.md")

    # --- ctx -------------------------------------------------------------------------------------
    b.constrain(
        "ctx_call",
        flag=newctx,
        body=ctx.next - clk - 1,
        tags=("op:CALL", "op:DYNCALL"),
        doc="CALL/DYNCALL: ctx' = clk + 1 (get_next_ctx_id); " + DERIVED,
    )
    b.constrain(
        "ctx_syscall",
        flag=f_syscall,
        body=ctx.next,
        operation="SYSCALL",
        doc="SYSCALL enters the root context 0; " + DERIVED,
    )
    b.constrain(
        "ctx_unchanged",
        flag=1 - newctx - f_syscall - end_of_call,
        body=ctx.next - ctx,
        doc="ctx changes only at CALL/DYNCALL/SYSCALL and is restored at their END; " + DERIVED,
    )
    b.boundary("ctx_first", ctx, doc="the root context is 0; " + DERIVED)

    # --- fmp (v0.18, sys-fmp); FMPUPDATE's own transition is in stack/system_ops ---------------------
    if sy.fmp is not None:
        fmp = sy.fmp
        # The docs state no initial fmp (main.md defers to stack/system_ops.md, which has none); the processor
        # starts it at FMP_MIN. air/src/lib.rs asserts fmp[0] = 2^30 only inside `if IS_FULL_CONSTRAINT_SET`,
        # which is false at v0.14..v0.20: Miden never evaluated it.
        b.boundary(
            "fmp_first",
            fmp - L.FMP_MIN,
            doc="fmp starts at FMP_MIN = 2^30: derived, not in docs (processor/src/system/mod.rs, System::new)",
        )
        b.constrain(
            "fmp_call",
            flag=newctx,
            body=fmp.next - L.FMP_MIN,
            tags=("op:CALL", "op:DYNCALL"),
            doc="CALL/DYNCALL reset fmp to FMP_MIN = 2^30; " + DERIVED,
        )
        if sy.sys_fmp is None:
            b.constrain(
                "fmp_syscall",
                flag=f_syscall,
                body=fmp.next - L.SYSCALL_FMP_MIN,
                operation="SYSCALL",
                doc="SYSCALL sets fmp to SYSCALL_FMP_MIN = 2^31; " + DERIVED,
            )
    if sy.sys_fmp is not None and sy.fmp is not None and sy.in_kernel is not None:
        ik, fmp, sfmp = sy.in_kernel, sy.fmp, sy.sys_fmp
        b.boundary("sys_fmp_first", sfmp - L.SYSCALL_FMP_MIN, doc="seed discussion: initialised to SYSCALL_FMP_MIN")
        b.constrain(
            "sys_fmp_unchanged",
            flag=1 - f.op("FMPUPDATE") * ik,
            body=sfmp.next - sfmp,
            tags=("op:FMPUPDATE",),
            doc="sys_fmp persists across contexts; derived",
        )
        b.constrain(
            "fmp_unchanged",
            flag=1 - f.op("FMPUPDATE") * (1 - ik) - newctx - end_of_call,
            body=fmp.next - fmp,
            tags=("op:FMPUPDATE",),
            doc="derived",
        )
    elif sy.fmp is not None:
        fmp = sy.fmp
        b.constrain(
            "fmp_unchanged",
            flag=1 - f.op("FMPUPDATE") - newctx - f_syscall - end_of_call,
            body=fmp.next - fmp,
            doc="fmp changes only at FMPUPDATE, CALL/DYNCALL/SYSCALL and their END; " + DERIVED,
        )

    # --- in_syscall / in_kernel --------------------------------------------------------------------
    if sy.in_syscall is not None:
        flag_col = sy.in_syscall
        b.boundary("in_syscall_first", flag_col, doc=DERIVED)
        b.constrain("in_syscall_set", flag=f_syscall, body=flag_col.next - 1, operation="SYSCALL", doc=DERIVED)
        b.constrain(
            "in_syscall_end",
            flag=end_of_call,
            body=flag_col.next,
            tags=("op:END",),
            doc="END of a call/syscall clears in_syscall (restore_context); " + DERIVED,
        )
        b.constrain(
            "in_syscall_unchanged", flag=1 - f_syscall - end_of_call, body=flag_col.next - flag_col, doc=DERIVED
        )
        b.constrain(
            "no_call_in_syscall",
            flag=newctx + f_syscall,
            body=flag_col,
            tags=("op:CALL", "op:DYNCALL", "op:SYSCALL"),
            doc="v0.18 refuses CALL/DYNCALL/SYSCALL inside a syscall (PR #1680, processor check); derived",
        )
    elif sy.in_kernel is not None:
        ik = sy.in_kernel
        b.boundary("in_kernel_first", ik - 1, doc="seed discussion: in_kernel is 1 in context 0")
        b.constrain(
            "in_kernel_syscall",
            flag=f_syscall,
            body=ik.next - 1,
            operation="SYSCALL",
            doc="seed discussion: set back to 1 on SYSCALL",
        )
        b.constrain(
            "in_kernel_call",
            flag=newctx,
            body=ik.next,
            tags=("op:CALL", "op:DYNCALL"),
            doc="seed discussion: set to 0 on CALL or DYNCALL",
        )
        b.constrain(
            "in_kernel_unchanged",
            flag=1 - newctx - f_syscall - end_of_call,
            body=ik.next - ik,
            doc="seed discussion: otherwise unchanged (END restores it from the block stack)",
        )

    # --- fn_hash -----------------------------------------------------------------------------------
    for i, fh in enumerate(sy.fn_hash):
        b.boundary(f"fn_hash{i}_first", fh, doc="pinned to 0 at row 0 (PR #3240, v0.24); derived")
        b.constrain(
            f"fn_hash{i}_call",
            flag=newctx,
            body=fh.next - h[i],
            tags=("op:CALL", "op:DYNCALL"),
            doc="CALL/DYNCALL load the callee hash from h0..h3; " + DERIVED,
        )
        b.constrain(
            f"fn_hash{i}_unchanged",
            flag=1 - newctx - end_of_call,
            body=fh.next - fh,
            doc="SYSCALL keeps fn_hash; END restores it; " + DERIVED,
        )
