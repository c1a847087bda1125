"""The decoder's requests on the chiplets bus b_chip (docs/src/design/decoder/constraints.md).

    u_ctrli = (f_join + f_split + f_loop [+ f_call]) * h_init      h_init: linear hash of h0..h7, alpha_5 d
    u_call = f_call * h_init * writes                               (a design whose CALL writes the new context)
    u_syscall = f_syscall * h_init * k_proc                         k_proc: kernel ROM procedure call
    u_dynordyncall = (f_dyn + f_dyncall) * h_dyn * m_callee         (v0.18; v0.19 splits u_dyn, u_dyncall)
    u_dyncall = f_dyncall * h_dyn * m_callee * writes
    u_span = f_span * h_init, u_respan = f_respan * h_abp, u_end = f_end * h_res

Hasher labels (code, v0.18/v0.19): h_init and h_dynordyncall carry 19 (LINEAR_HASH + 16) at a', h_abp 35
(LINEAR_HASH + 32) at a' - 1, h_res 33 (RETURN_HASH + 32) at a + 7.

``writes`` are memory writes into the new context at this clock cycle: fmp at FMP_ADDR (v0.19), fn_hash
at FN_HASH_ADDR (fnhash-mem), or fn_hash and fmp at 0..4 (gate).
"""

from __future__ import annotations

import sympy as sp

from air.air import Message
from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"
DOCF = DOC + "decoder/constraints.md"


@family("decoder.requests")
def constrain(b: MidenBuilder) -> None:
    d, f = b.design, b.flags
    a, h = b.decoder.addr, b.decoder.h
    ctx, clk, s = b.system.ctx, b.system.clk, b.stack.s
    opcode_d = b.decoder.opcode

    # Labels and addresses as the v0.18/v0.19 code sends them (processor/src/chiplets/aux_trace/bus/hasher.rs,
    # bus/mod.rs): every block start is LINEAR_HASH_LABEL + 16 = 19 at a' (the docs' m_bp).
    init = L.HASHER_LINEAR_HASH_INIT
    h_init_d = M.hasher("hasher linear hash (h_init + alpha_5 d)", init, a.next, h, opcode_d)
    h_init = M.hasher("hasher linear hash (h_init)", init, a.next, h)
    h_dyn = M.hasher("hasher linear hash of zeros (h_dynordyncall)", init, a.next, [sp.Integer(0)] * 8, opcode_d)
    # kernel ROM request: alpha_0 + alpha_1*KERNEL_PROC_CALL + alpha_2..5*h0..3 (chiplets/kernel_rom.md and the
    # code). decoder/constraints.md writes alpha_6 + alpha_7*op_krom + alpha_8.. : a docs error.
    k_proc = Message("kernel ROM procedure call", L.KERNEL_PROC_CALL, tuple((f"r{i}", h[i]) for i in range(4)))
    # DYN/DYNCALL read the callee hash as a word at s0 (the docs' v0.19 text says "element read": it is a word).
    m_callee = M.memory("memory read word (callee hash)", L.MEMORY_READ_WORD, ctx, s[0], clk, h[:4])

    writes: list[Message] = []
    names: list[str] = []

    def write(name: str, label: str, code: int, addr: int, values: list[sp.Expr]) -> None:
        """A memory write into the new context at this clock cycle, as factor ``name``."""
        writes.append(M.memory(label, code, ctx.next, sp.Integer(addr), clk, values))
        names.append(name)

    if d.fmp_in_memory:
        fmp_init = [sp.Integer(L.FMP_INIT)]
        write("m_fmpwrite", "memory write element (fmp init)", L.MEMORY_WRITE_ELEMENT, L.FMP_ADDR, fmp_init)
    if d.gate:
        write(
            "m_fnhashwrite", "memory write word (fn_hash at 0)", L.MEMORY_WRITE_WORD, L.GATE_FN_HASH_ADDR, list(h[:4])
        )
        fmp_min = [sp.Integer(L.FMP_MIN)]
        write("m_fmpwrite", "memory write element (fmp at 4)", L.MEMORY_WRITE_ELEMENT, L.GATE_FMP_ADDR, fmp_min)
    if d.fnhash_in_memory:
        write("m_fnhashwrite", "memory write word (fn_hash)", L.MEMORY_WRITE_WORD, L.FN_HASH_ADDR, list(h[:4]))

    ctrli_ops = ["JOIN", "SPLIT", "LOOP"] + ([] if writes else ["CALL"])
    b.request(
        BUS,
        "u_ctrli",
        sp.Add(*[f.op(o) for o in ctrli_ops]),
        (h_init_d,),
        factors=("h_init",),
        operation="+".join(ctrli_ops),
        doc=DOCF,
    )
    if writes:
        b.request(
            BUS, "u_call", f.op("CALL"), (h_init_d, *writes), factors=("h_init", *names), operation="CALL", doc=DOCF
        )
    stated = b.claim(f"bus:{BUS}/u_syscall")
    b.request(
        BUS,
        "u_syscall",
        f.op("SYSCALL"),
        (h_init_d, k_proc),
        factors=("h_init", "k_proc"),
        operation="SYSCALL",
        doc=DOCF + f" ({d.version} states {stated})",
    )
    if d.version == "v0.18" and not writes:
        b.request(
            BUS,
            "u_dynordyncall",
            f.op("DYN") + f.op("DYNCALL"),
            (h_dyn, m_callee),
            factors=("h_dynordyncall", "m_dynordyncall"),
            operation="DYN+DYNCALL",
            doc=DOCF + " (no degree stated)",
        )
    else:
        b.request(
            BUS,
            "u_dyn",
            f.op("DYN"),
            (h_dyn, m_callee),
            factors=("h_dynordyncall", "m_dynordyncall"),
            operation="DYN",
            doc=DOCF,
        )
        dyncall_flag = b.decoder.f_dyncall if b.decoder.f_dyncall is not None else f.op("DYNCALL")
        b.request(
            BUS,
            "u_dyncall",
            dyncall_flag,
            (h_dyn, m_callee, *writes),
            factors=("h_dynordyncall", "m_dynordyncall", *names),
            operation="DYNCALL",
            doc=DOCF,
        )
    b.request(BUS, "u_span", f.op("SPAN"), (h_init,), factors=("h_init",), operation="SPAN", doc=DOCF)
    # RESPAN: LINEAR_HASH_LABEL + 32 = 35 at a' - 1, the last row of the previous cycle (``RespanBlockMessage``
    # adds alpha_2 (addr_next - 1)); the docs write h_abp at a'.
    h_abp = M.hasher("hasher absorb (h_abp)", L.HASHER_ABSORB, a.next - 1, h)
    b.request(BUS, "u_respan", f.op("RESPAN"), (h_abp,), factors=("h_abp",), operation="RESPAN", doc=DOCF)
    # END: RETURN_HASH_LABEL + 32 = 33 at a + NUM_ROUNDS (7), digest h0..h3 at alpha_8..11 (``EndBlockMessage``).
    h_res_rate = list(h[:4]) + [sp.Integer(0)] * 4
    h_res = M.hasher("hasher return hash (h_res)", L.HASHER_RETURN_HASH, a + 7, h_res_rate)
    b.request(BUS, "u_end", f.op("END"), (h_res,), factors=("h_res",), operation="END", doc=DOCF)
