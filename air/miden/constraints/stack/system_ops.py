"""System operations (docs/src/design/stack/system_ops.md; the seed discussion's variants).

* NOOP, EMIT: no op-specific constraint; the docs' ``s_i' - s_i = 0`` for i in 0..15 is the no-shift part
  of ``stack.general``;
* ASSERT: ``f_assert (s0 - 1) = 0`` (degree 1 + flag 7); left shift from 1 (``stack.general``);
* CLK: ``f_clk (s0' - clk) = 0`` (degree 1 + flag 7); right shift from 0;

* v0.18 (fmp column): ``f_fmpupdate * (fmp' - fmp - s0) = 0``, ``f_fmpadd * (s0' - s0 - fmp) = 0`` (degree 8);
* sys-fmp: the same on ``sys_fmp`` or ``fmp`` chosen by ``in_kernel`` (seed discussion: degree 9);
* gate: fmp at mem[4], fn_hash at mem[0..3]: FMPADD reads mem[4], FMPUPDATE reads and writes it (two
  memory factors), CALLER reads the word at 0; all as chiplets-bus requests;
* fnhash-mem: CALLER reads the word at FN_HASH_ADDR;
* fn_hash columns: ``f_caller * (s_i' - fn_hash[3-i]) = 0`` (the processor; derived), and at v0.18 CALLER is
  refused outside a syscall: ``f_caller * (1 - in_syscall) = 0``.
"""

from __future__ import annotations

import sympy as sp

from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"


@family("stack.system_ops")
def constrain(b: MidenBuilder) -> None:
    sy, s, h, f = b.system, b.stack.s, b.decoder.h, b.flags
    ctx, clk = sy.ctx, sy.clk

    # --- ASSERT, CLK ----------------------------------------------------------------------------------
    page = DOC + "stack/system_ops.md"
    b.constrain("assert", flag=f.op("ASSERT"), body=s[0] - 1, operation="ASSERT", doc=page + ": s0 - 1 = 0")
    b.constrain("clk_op", flag=f.op("CLK"), body=s[0].next - clk, operation="CLK", doc=page + ": s0' - clk = 0")

    # --- FMPUPDATE, FMPADD on an fmp column ----------------------------------------------------------
    if sy.fmp is not None and sy.sys_fmp is not None and sy.in_kernel is not None:
        ik, fmp, sfmp = sy.in_kernel, sy.fmp, sy.sys_fmp
        b.constrain(
            "fmpupdate",
            flag=f.op("FMPUPDATE"),
            body=ik * (sfmp.next - sfmp - s[0]) + (1 - ik) * (fmp.next - fmp - s[0]),
            operation="FMPUPDATE",
            doc="seed discussion (sys_fmp proposal): degree 9",
        )
        b.constrain(
            "fmpadd",
            flag=f.op("FMPADD"),
            body=ik * (s[0].next - s[0] - sfmp) + (1 - ik) * (s[0].next - s[0] - fmp),
            operation="FMPADD",
            doc="seed discussion (sys_fmp proposal): degree 9",
        )
    elif sy.fmp is not None:
        fmp = sy.fmp
        b.constrain(
            "fmpupdate",
            flag=f.op("FMPUPDATE"),
            body=fmp.next - fmp - s[0],
            operation="FMPUPDATE",
            doc=DOC + "stack/system_ops.md (degree 1 + flag 7)",
        )
        b.constrain(
            "fmpadd",
            flag=f.op("FMPADD"),
            body=s[0].next - s[0] - fmp,
            operation="FMPADD",
            doc=DOC + "stack/system_ops.md (degree 1 + flag 7)",
        )

    # --- CALLER from the fn_hash columns ---------------------------------------------------------------
    if sy.fn_hash and f.has("CALLER"):
        for i in range(4):
            b.constrain(
                f"caller_s{i}",
                flag=f.op("CALLER"),
                body=s[i].next - sy.fn_hash[3 - i],
                operation="CALLER",
                doc="CALLER: s_i' = fn_hash[3-i] (processor); derived",
            )
        if sy.in_syscall is not None:
            b.constrain(
                "caller_in_syscall",
                flag=f.op("CALLER"),
                body=1 - sy.in_syscall,
                operation="CALLER",
                doc="v0.18: caller only inside a syscall (processor check); derived",
            )

    # --- memory-resident fn_hash / fmp: requests on the chiplets bus ------------------------------------
    word_next = [s[3 - i].next for i in range(4)]

    def caller_reads(addr: sp.Expr, where: str, doc: str) -> None:
        """CALLER's request when fn_hash lives in memory: a word read of ``addr`` into s0'..s3'."""
        msg = M.memory(f"memory read word ({where})", L.MEMORY_READ_WORD, ctx, addr, clk, word_next)
        b.request(BUS, "u_caller", f.op("CALLER"), (msg,), factors=("m_fnhashread",), operation="CALLER", doc=doc)

    if b.design.gate:
        fn_hash_at, fmp_at = sp.Integer(L.GATE_FN_HASH_ADDR), sp.Integer(L.GATE_FMP_ADDR)
        caller_reads(fn_hash_at, "fn_hash at 0", "seed discussion (gate): CALLER reads memory")
        b.request(
            BUS,
            "u_fmpadd",
            f.op("FMPADD"),
            (M.memory("memory read element (fmp at 4)", L.MEMORY_READ_ELEMENT, ctx, fmp_at, clk, [s[0].next - s[0]]),),
            factors=("m_fmpread",),
            operation="FMPADD",
            doc="seed discussion (gate): FMPADD reads mem[4]",
        )
        # FMPUPDATE: read the old fmp (into helper h2) and write fmp + s0: two memory factors.
        b.request(
            BUS,
            "u_fmpupdate",
            f.op("FMPUPDATE"),
            (
                M.memory("memory read element (fmp at 4)", L.MEMORY_READ_ELEMENT, ctx, fmp_at, clk, [h[2]]),
                M.memory("memory write element (fmp at 4)", L.MEMORY_WRITE_ELEMENT, ctx, fmp_at, clk, [h[2] + s[0]]),
            ),
            factors=("m_fmpread", "m_fmpwrite"),
            operation="FMPUPDATE",
            doc="seed discussion (gate): FMPUPDATE updates mem[4]: a read and a write",
        )
    if b.design.fnhash_in_memory and f.has("CALLER"):
        fn_hash_at = sp.Integer(L.FN_HASH_ADDR)
        caller_reads(fn_hash_at, "fn_hash", "fn_hash in memory: CALLER reads it")
