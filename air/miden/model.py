"""The Miden VM constraints that govern execution contexts and memory, for each design.

One builder, ``build(spec)``, writes every design from a ``Design`` description, so that the designs
differ exactly where the discussion (seed-discussion.txt) says they differ. Sources, per constraint
in ``doc=``: the v0.18.0/v0.19.0 design docs (docs/src/design/...), the processor at those tags, and
the seed discussion. Constraints the docs do not write (Miden enforced ctx, fn_hash and in_syscall
through the processor and the block stack table only) are marked "derived, not in docs".

What is modeled
---------------
* decoder: op-bit binarity, e0/e1 definitions and the opcode-shape constraints (op_constraints.md);
* system: clk; fmp (or sys_fmp + in_kernel, or nothing when fmp lives in memory); ctx; in_syscall;
  fn_hash, with the CALL/DYNCALL/SYSCALL transitions (processor/src/system/mod.rs);
* stack: FMPADD, FMPUPDATE, CALLER, and the chiplets-bus requests of MLOAD/MSTORE/MLOADW/MSTOREW;
* the block stack table p1 (decoder/constraints.md), which saves ctx/fmp/depth/fn_hash at
  CALL/SYSCALL/DYNCALL and restores them at END;
* the chiplets bus b_chip: decoder requests (hasher, kernel ROM, memory) and stack memory requests,
  responses of the memory chiplet and the kernel ROM; the memory chiplet's documented constraints.

Not modeled: general stack shifting and overflow, the other stack ops, the op group / block hash
tables, the hasher permutation (its responses on the bus), bitwise and ACE chiplets, the range checker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

from air.air import Air, Bus, BusTerm, Message
from air.miden import layout as L
from air.miden.flags import op_flag
from air.miden.opcodes import OPCODES_V18, OPCODES_V19, flag_class, free_slots
from air.symbols import Cell

__all__ = ["Design", "build"]

DOC = "docs/src/design/"


@dataclass(frozen=True)
class Design:
    name: str
    description: str
    version: str = "v0.18"  # whose docs the claimed degrees come from
    opcodes: dict[str, int] = field(default_factory=lambda: dict(OPCODES_V18))
    fmp_column: bool = True
    in_syscall: str | None = "in_syscall"  # "in_syscall", "in_kernel" or None
    sys_fmp: bool = False
    fn_hash_columns: bool = True
    gate: bool = False
    fmp_in_memory: bool = False  # CALL/DYNCALL write FMP_INIT to FMP_ADDR of the new context (v0.19)
    fnhash_in_memory: bool = False  # CALL/DYNCALL write fn_hash to FN_HASH_ADDR; CALLER reads it
    dyncall_column: bool = False  # a degree-reduction column holding f_dyncall
    notes: tuple[str, ...] = ()

    def variant(self, **kw: object) -> Design:
        return replace(self, **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- helpers
def _sum(xs: list[sp.Expr]) -> sp.Expr:
    return sp.Add(*xs) if xs else sp.Integer(0)


class _Builder:
    def __init__(self, d: Design):
        self.d = d
        self.air = Air(d.name, d.description, budget=9)
        self.c: dict[str, Cell] = {}

    def cols(self, group: str, names: list[str], docs: dict[str, str] | None = None) -> None:
        for n in names:
            self.c[n] = self.air.column(group, n, (docs or {}).get(n, ""))

    def __getitem__(self, name: str) -> Cell:
        return self.c[name]

    def has(self, name: str) -> bool:
        return name in self.c


def _mem_msg(label: str, label_value: int, ctx: sp.Expr, addr: sp.Expr, clk: sp.Expr, values: list[sp.Expr]) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*ctx + alpha_3*addr + alpha_4*clk + sum alpha_{5+j} v_j
    (stack/io_ops.md, chiplets/memory.md)."""
    fields = [("ctx", ctx), ("addr", addr), ("clk", clk)] + [(f"v{j}", v) for j, v in enumerate(values)]
    return Message(label, label_value, tuple(fields))


def _hasher_msg(label: str, label_value: int, addr: sp.Expr, rate: list[sp.Expr], domain: sp.Expr = 0) -> Message:
    """alpha_0 + alpha_1*label + alpha_2*addr + alpha_3*node_index + alpha_4..7*capacity + alpha_8..15*rate
    (decoder/constraints.md, chiplets/hasher.md); the opcode d sits in capacity[1] (alpha_5)."""
    fields: list[tuple[str, sp.Expr]] = [
        ("addr", addr),
        ("node_index", sp.Integer(0)),
        ("cap0", sp.Integer(0)),
        ("cap1", sp.sympify(domain)),
        ("cap2", sp.Integer(0)),
        ("cap3", sp.Integer(0)),
    ]
    fields += [(f"h{i}", sp.sympify(v)) for i, v in enumerate(rate)]
    return Message(label, label_value, tuple(fields))


# ----------------------------------------------------------------------------------------- build
def build(d: Design) -> Air:
    b = _Builder(d)
    air = b.air
    # --- layout ------------------------------------------------------------------------------
    system = ["clk"]
    if d.fmp_column:
        system.append("fmp")
    if d.sys_fmp:
        system.append("sys_fmp")
    system.append("ctx")
    if d.in_syscall:
        system.append(d.in_syscall)
    if d.fn_hash_columns:
        system += [f"fn_hash{i}" for i in range(4)]
    if d.gate:
        system.append("gate")
    b.cols("system", system)
    decoder = list(L.DECODER)
    if d.dyncall_column:
        decoder.append("f_dyncall")
    b.cols("decoder", decoder)
    b.cols("stack", L.STACK)
    b.cols("range", L.RANGE)
    b.cols("chiplets", L.CHIPLETS)
    air.notes.extend(d.notes)

    bits = [b[f"b{i}"] for i in range(7)]
    e0, e1 = b["e0"], b["e1"]
    clk, ctx = b["clk"], b["ctx"]
    s = [b[f"s{i}"] for i in range(16)]
    h = [b[f"h{i}"] for i in range(8)]
    # --- operations ---------------------------------------------------------------------------
    f: dict[str, sp.Expr] = {}
    for name, code in sorted(d.opcodes.items(), key=lambda kv: kv[1]):
        f[name] = op_flag(code, bits, e0, e1)
        air.operation(name, f[name], code, flag_class(code))
    fs = free_slots(d.opcodes)
    air.notes.append("free opcode slots: " + "; ".join(f"{k}: {v or 'none'}" for k, v in fs.items()))

    def has_op(n: str) -> bool:
        return n in f

    # --- decoder: op bits, e0, e1 (stack/op_constraints.md, decoder/constraints.md) -------------
    for i in range(7):
        air.transition(
            f"op_bit{i}_binary", bits[i] ** 2 - bits[i], claimed_degree=2, doc=DOC + "decoder/constraints.md"
        )
    air.transition(
        "e0_def", e0 - bits[6] * (1 - bits[5]) * bits[4], claimed_degree=3, doc=DOC + "stack/op_constraints.md"
    )
    air.transition("e1_def", e1 - bits[6] * bits[5], claimed_degree=2, doc=DOC + "stack/op_constraints.md")
    air.transition(
        "u32_b0_zero",
        bits[6] * (1 - bits[5]) * (1 - bits[4]) * bits[0],
        claimed_degree=4,
        doc=DOC + "stack/op_constraints.md",
    )
    air.transition("deg4_b0_zero", bits[6] * bits[5] * bits[0], claimed_degree=3, doc=DOC + "stack/op_constraints.md")
    air.transition("deg4_b1_zero", bits[6] * bits[5] * bits[1], claimed_degree=3, doc=DOC + "stack/op_constraints.md")
    if d.dyncall_column:
        air.transition(
            "f_dyncall_def",
            b["f_dyncall"] - f["DYNCALL"],
            tags=("op:DYNCALL",),
            doc="remedy: a degree-reduction column equal to the DYNCALL flag (derived)",
        )

    f_call, f_dyncall, f_syscall, f_end = f["CALL"], f["DYNCALL"], f["SYSCALL"], f["END"]
    f_newctx = f_call + f_dyncall
    end_of_call = f_end * (h[6] + h[7])  # END of a CALL/DYNCALL (h6) or SYSCALL (h7) block
    derived = "derived, not in docs (processor/src/system/mod.rs)"

    # --- system: clk ----------------------------------------------------------------------------
    air.transition("clk", clk.next - clk - 1, claimed_degree=1, doc=DOC + "main.md")
    air.boundary("clk_first", clk, doc=DOC + "main.md")

    # --- system: ctx ----------------------------------------------------------------------------
    air.constrain(
        "ctx_call",
        flag=f_newctx,
        body=ctx.next - clk - 1,
        tags=("op:CALL", "op:DYNCALL"),
        doc="CALL/DYNCALL: ctx' = clk + 1 (get_next_ctx_id); " + derived,
    )
    air.constrain(
        "ctx_syscall",
        flag=f_syscall,
        body=ctx.next,
        operation="SYSCALL",
        doc="SYSCALL enters the root context 0; " + derived,
    )
    air.constrain(
        "ctx_unchanged",
        flag=1 - f_newctx - f_syscall - end_of_call,
        body=ctx.next - ctx,
        doc="ctx changes only at CALL/DYNCALL/SYSCALL and is restored at their END; " + derived,
    )
    air.boundary("ctx_first", ctx, doc="the root context is 0; " + derived)

    # --- system: fmp (v0.18, sys-fmp) ------------------------------------------------------------
    if d.fmp_column:
        fmp = b["fmp"]
        air.boundary("fmp_first", fmp - L.FMP_MIN, doc="fmp starts at 2^30 (air/src/lib.rs assertion)")
        air.constrain(
            "fmp_call",
            flag=f_newctx,
            body=fmp.next - L.FMP_MIN,
            tags=("op:CALL", "op:DYNCALL"),
            doc="CALL/DYNCALL reset fmp to FMP_MIN = 2^30; " + derived,
        )
        if not d.sys_fmp:
            air.constrain(
                "fmp_syscall",
                flag=f_syscall,
                body=fmp.next - L.SYSCALL_FMP_MIN,
                operation="SYSCALL",
                doc="SYSCALL sets fmp to SYSCALL_FMP_MIN = 2^31; " + derived,
            )
    if d.sys_fmp:
        ik = b["in_kernel"]
        fmp, sfmp = b["fmp"], b["sys_fmp"]
        air.boundary("sys_fmp_first", sfmp - L.SYSCALL_FMP_MIN, doc="seed discussion: initialised to SYSCALL_FMP_MIN")
        air.constrain(
            "fmpupdate",
            flag=f["FMPUPDATE"],
            body=ik * (sfmp.next - sfmp - s[0]) + (1 - ik) * (fmp.next - fmp - s[0]),
            operation="FMPUPDATE",
            claimed_degree=9,
            doc="seed discussion (sys_fmp proposal): degree 9",
        )
        air.constrain(
            "fmpadd",
            flag=f["FMPADD"],
            body=ik * (s[0].next - s[0] - sfmp) + (1 - ik) * (s[0].next - s[0] - fmp),
            operation="FMPADD",
            claimed_degree=9,
            doc="seed discussion (sys_fmp proposal): degree 9",
        )
        air.constrain(
            "sys_fmp_unchanged",
            flag=1 - f["FMPUPDATE"] * ik,
            body=sfmp.next - sfmp,
            tags=("op:FMPUPDATE",),
            doc="sys_fmp persists across contexts; derived",
        )
        air.constrain(
            "fmp_unchanged",
            flag=1 - f["FMPUPDATE"] * (1 - ik) - f_newctx - end_of_call,
            body=fmp.next - fmp,
            tags=("op:FMPUPDATE",),
            doc="derived",
        )
    elif d.fmp_column:
        fmp = b["fmp"]
        air.constrain(
            "fmpupdate",
            flag=f["FMPUPDATE"],
            body=fmp.next - fmp - s[0],
            operation="FMPUPDATE",
            claimed_degree=8,
            doc=DOC + "stack/system_ops.md (degree 1 + flag 7)",
        )
        air.constrain(
            "fmpadd",
            flag=f["FMPADD"],
            body=s[0].next - s[0] - fmp,
            operation="FMPADD",
            claimed_degree=8,
            doc=DOC + "stack/system_ops.md (degree 1 + flag 7)",
        )
        air.constrain(
            "fmp_unchanged",
            flag=1 - f["FMPUPDATE"] - f_newctx - f_syscall - end_of_call,
            body=fmp.next - fmp,
            doc="fmp changes only at FMPUPDATE, CALL/DYNCALL/SYSCALL and their END; " + derived,
        )

    # --- system: in_syscall / in_kernel ------------------------------------------------------------
    if d.in_syscall == "in_syscall":
        flag_col = b["in_syscall"]
        air.boundary("in_syscall_first", flag_col, doc=derived)
        air.constrain("in_syscall_set", flag=f_syscall, body=flag_col.next - 1, operation="SYSCALL", doc=derived)
        air.constrain(
            "in_syscall_end",
            flag=end_of_call,
            body=flag_col.next,
            tags=("op:END",),
            doc="END of a call/syscall clears in_syscall (restore_context); " + derived,
        )
        air.constrain(
            "in_syscall_unchanged", flag=1 - f_syscall - end_of_call, body=flag_col.next - flag_col, doc=derived
        )
        air.constrain(
            "no_call_in_syscall",
            flag=f_newctx + f_syscall,
            body=flag_col,
            tags=("op:CALL", "op:DYNCALL", "op:SYSCALL"),
            doc="v0.18 refuses CALL/DYNCALL/SYSCALL inside a syscall (PR #1680, processor check); derived",
        )
    elif d.in_syscall == "in_kernel":
        ik = b["in_kernel"]
        air.boundary("in_kernel_first", ik - 1, doc="seed discussion: in_kernel is 1 in context 0")
        air.constrain(
            "in_kernel_syscall",
            flag=f_syscall,
            body=ik.next - 1,
            operation="SYSCALL",
            doc="seed discussion: set back to 1 on SYSCALL",
        )
        air.constrain(
            "in_kernel_call",
            flag=f_newctx,
            body=ik.next,
            tags=("op:CALL", "op:DYNCALL"),
            doc="seed discussion: set to 0 on CALL or DYNCALL",
        )
        air.constrain(
            "in_kernel_unchanged",
            flag=1 - f_newctx - f_syscall - end_of_call,
            body=ik.next - ik,
            doc="seed discussion: otherwise unchanged (END restores it from the block stack)",
        )

    # --- system: fn_hash ---------------------------------------------------------------------------
    if d.fn_hash_columns:
        for i in range(4):
            fh = b[f"fn_hash{i}"]
            air.boundary(f"fn_hash{i}_first", fh, doc="pinned to 0 at row 0 (PR #3240, v0.24); derived")
            air.constrain(
                f"fn_hash{i}_call",
                flag=f_newctx,
                body=fh.next - h[i],
                tags=("op:CALL", "op:DYNCALL"),
                doc="CALL/DYNCALL load the callee hash from h0..h3; " + derived,
            )
            air.constrain(
                f"fn_hash{i}_unchanged",
                flag=1 - f_newctx - end_of_call,
                body=fh.next - fh,
                doc="SYSCALL keeps fn_hash; END restores it; " + derived,
            )

    # --- gate: memory instructions cannot touch the first 2^N addresses -----------------------------
    if d.gate:
        gate = b["gate"]
        f_memop = f["MLOAD"] + f["MSTORE"] + f["MLOADW"] + f["MSTOREW"]
        addr_lo = h[2]  # the user-op helper h2 holds the address's low N bits (range check not modeled)
        addr_high = (s[0] - addr_lo) * sp.Rational(1, 2**L.GATE_BITS)
        air.constrain(
            "gate",
            flag=f_memop,
            body=gate * addr_high - 1,
            tags=("op:MLOAD", "op:MSTORE", "op:MLOADW", "op:MSTOREW"),
            claimed_degree=9,
            doc="seed discussion (gate column): f_memop * gate * addr/2^N = 1, degree 9; addr_high = (s0 - h2)/2^N "
            "with h2 the low N bits",
        )

    # --- CALLER ---------------------------------------------------------------------------------------
    if d.fn_hash_columns and has_op("CALLER"):
        for i in range(4):
            air.constrain(
                f"caller_s{i}",
                flag=f["CALLER"],
                body=s[i].next - b[f"fn_hash{3 - i}"],
                operation="CALLER",
                doc="CALLER: s_i' = fn_hash[3-i] (processor); derived",
            )
        if d.in_syscall == "in_syscall":
            air.constrain(
                "caller_in_syscall",
                flag=f["CALLER"],
                body=1 - b["in_syscall"],
                operation="CALLER",
                doc="v0.18: caller only inside a syscall (processor check); derived",
            )

    # --- block stack table p1 (decoder/constraints.md) ----------------------------------------------
    _block_stack(b, f, d)
    # --- chiplets bus ------------------------------------------------------------------------------
    _chiplets_bus(b, f, d)
    # --- memory chiplet (chiplets/memory.md) --------------------------------------------------------
    _memory_chiplet(b)
    for c, why in {
        "chip2": "hasher internal selector: the hasher permutation is not modeled",
        "chip3": "hasher internal selector: the hasher permutation is not modeled",
        "chip19": "unused by the modeled chiplets",
        "range_m": "range checker not modeled",
        "range_v": "range checker not modeled",
        "stack_h0": "stack overflow flag helper: general stack constraints not modeled",
        "in_span": "op group / span constraints not modeled",
        "group_count": "op group / span constraints not modeled",
        "op_index": "op group / span constraints not modeled",
        "c0": "op batch flags not modeled",
        "c1": "op batch flags not modeled",
        "c2": "op batch flags not modeled",
    }.items():
        if c not in air.read_columns():
            air.unchecked[c] = why
    return air


def _block_stack(b: _Builder, f: dict[str, sp.Expr], d: Design) -> None:
    air = b.air
    a, s0 = b["addr"], b["s0"]
    h = [b[f"h{i}"] for i in range(8)]

    def saved(cur: bool, dyncall: bool = False) -> list[tuple[str, sp.Expr]]:
        """The context a CALL/SYSCALL/DYNCALL saves (current row) and END restores (next row).

        DYNCALL shifts the stack left (it drops the address), so it saves the depth and overflow address
        after the shift, which the prover puts in h4 and h5 (decoder/index.md, block stack table)."""
        pick = (lambda c: c) if cur else (lambda c: c.next)
        out: list[tuple[str, sp.Expr]] = [("ctx", pick(b["ctx"]))]
        if d.fmp_column:  # v0.19 removed parent_fmp from the rows (12 -> 11 elements)
            out.append(("fmp", pick(b["fmp"])))
        out.append(("b0", b["h4"] if dyncall else pick(b["stack_depth"])))
        out.append(("b1", b["h5"] if dyncall else pick(b["stack_overflow_addr"])))
        if d.fn_hash_columns:
            out += [(f"fn_hash{i}", pick(b[f"fn_hash{i}"])) for i in range(4)]
        if d.in_syscall == "in_kernel":
            out.append(("in_kernel", pick(b["in_kernel"])))
        return out

    def row(blk: sp.Expr, prnt: sp.Expr, is_loop: sp.Expr, ctx_fields: list[tuple[str, sp.Expr]] | None) -> Message:
        fields: list[tuple[str, sp.Expr]] = [("blk", blk), ("prnt", prnt), ("is_loop", sp.sympify(is_loop))]
        fields += ctx_fields or []
        return Message("block stack row", None, tuple(fields))

    docf = DOC + "decoder/constraints.md"
    terms = [
        BusTerm(
            "v_join", "response", f["JOIN"], (row(a.next, a, 0, None),), ("row",), "JOIN", claimed_degree=6, doc=docf
        ),
        BusTerm(
            "v_split", "response", f["SPLIT"], (row(a.next, a, 0, None),), ("row",), "SPLIT", claimed_degree=6, doc=docf
        ),
        BusTerm(
            "v_loop", "response", f["LOOP"], (row(a.next, a, s0, None),), ("row",), "LOOP", claimed_degree=6, doc=docf
        ),
        BusTerm(
            "v_span", "response", f["SPAN"], (row(a.next, a, 0, None),), ("row",), "SPAN", claimed_degree=6, doc=docf
        ),
        BusTerm(
            "v_respan",
            "response",
            f["RESPAN"],
            (row(a.next, h[1].next, 0, None),),
            ("row",),
            "RESPAN",
            claimed_degree=5,
            doc=docf,
        ),
        BusTerm("v_dyn", "response", f["DYN"], (row(a.next, a, 0, None),), ("row",), "DYN", claimed_degree=6, doc=docf),
        BusTerm(
            "v_dyncall",
            "response",
            f["DYNCALL"],
            (row(a.next, a, 0, saved(True, dyncall=True)),),
            ("row",),
            "DYNCALL",
            claimed_degree=6,
            doc=docf,
        ),
        BusTerm(
            "v_callorsyscall",
            "response",
            f["CALL"] + f["SYSCALL"],
            (row(a.next, a, 0, saved(True)),),
            ("row",),
            "CALL+SYSCALL",
            claimed_degree=5,
            doc=docf,
        ),
        BusTerm(
            "u_respan",
            "request",
            f["RESPAN"],
            (row(a, h[1].next, 0, None),),
            ("row",),
            "RESPAN",
            claimed_degree=5,
            doc=docf,
        ),
    ]
    # END: (a, a', h5) for a plain block; with the parent's context from the next row for a call/syscall.
    call = h[6] + h[7]
    end_fields = [(n, call * e) for n, e in saved(False)]
    terms.append(
        BusTerm(
            "u_end",
            "request",
            f["END"],
            (row(a, a.next, h[5], end_fields),),
            ("row",),
            "END",
            claimed_degree=6,
            doc=docf,
        )
    )
    air.bus(Bus("block_stack", "multiset", "p1", tuple(terms), doc=docf))


def _chiplets_bus(b: _Builder, f: dict[str, sp.Expr], d: Design) -> None:
    air = b.air
    a, ctx, clk = b["addr"], b["ctx"], b["clk"]
    s = [b[f"s{i}"] for i in range(16)]
    h = [b[f"h{i}"] for i in range(8)]
    bits = [b[f"b{i}"] for i in range(7)]
    opcode_d = _sum([bits[i] * 2**i for i in range(7)])
    docf = DOC + "decoder/constraints.md"
    v18 = d.version == "v0.18"

    h_init_d = _hasher_msg("hasher linear hash (h_init + alpha_5 d)", L.HASHER_LINEAR_HASH, a.next, h, opcode_d)
    h_init = _hasher_msg("hasher linear hash (h_init)", L.HASHER_LINEAR_HASH, a.next, h)
    h_dyn = _hasher_msg(
        "hasher linear hash of zeros (h_dynordyncall)", L.HASHER_LINEAR_HASH, a.next, [sp.Integer(0)] * 8, opcode_d
    )
    # kernel ROM request: alpha_0 + alpha_1*KERNEL_PROC_CALL + alpha_2..5*h0..3 (chiplets/kernel_rom.md and the
    # code). decoder/constraints.md writes alpha_6 + alpha_7*op_krom + alpha_8.. : a docs error.
    k_proc = Message("kernel ROM procedure call", L.KERNEL_PROC_CALL, tuple((f"r{i}", h[i]) for i in range(4)))
    # DYN/DYNCALL read the callee hash as a word at s0 (the docs' v0.19 text says "element read": it is a word).
    m_callee = _mem_msg("memory read word (callee hash)", L.MEMORY_READ_WORD, ctx, s[0], clk, h[:4])

    new_ctx = ctx.next
    writes: list[Message] = []
    names: list[str] = []

    def write(name: str, label: str, code: int, addr: int, values: list[sp.Expr]) -> None:
        """A memory write into the new context at this clock cycle, as factor ``name``."""
        writes.append(_mem_msg(label, code, new_ctx, sp.Integer(addr), clk, values))
        names.append(name)

    fmp_init = [sp.Integer(L.FMP_INIT)]
    if d.fmp_in_memory:
        write("m_fmpwrite", "memory write element (fmp init)", L.MEMORY_WRITE_ELEMENT, L.FMP_ADDR, fmp_init)
    if d.gate:
        write("m_fnhashwrite", "memory write word (fn_hash at 0)", L.MEMORY_WRITE_WORD, L.GATE_FN_HASH_ADDR, h[:4])
        fmp_min = [sp.Integer(L.FMP_MIN)]
        write("m_fmpwrite", "memory write element (fmp at 4)", L.MEMORY_WRITE_ELEMENT, L.GATE_FMP_ADDR, fmp_min)
    if d.fnhash_in_memory:
        write("m_fnhashwrite", "memory write word (fn_hash)", L.MEMORY_WRITE_WORD, L.FN_HASH_ADDR, h[:4])

    terms: list[BusTerm] = []
    ctrli_ops = ["JOIN", "SPLIT", "LOOP"] + ([] if writes else ["CALL"])
    terms.append(
        BusTerm(
            "u_ctrli",
            "request",
            _sum([f[o] for o in ctrli_ops]),
            (h_init_d,),
            ("h_init",),
            "+".join(ctrli_ops),
            claimed_degree=6,
            doc=docf,
        )
    )
    if writes:
        terms.append(
            BusTerm(
                "u_call",
                "request",
                f["CALL"],
                (h_init_d, *writes),
                ("h_init", *names),
                "CALL",
                claimed_degree=6 if d.version != "v0.18" and not d.gate and not d.fnhash_in_memory else None,
                doc=docf,
            )
        )
    terms.append(
        BusTerm(
            "u_syscall",
            "request",
            f["SYSCALL"],
            (h_init_d, k_proc),
            ("h_init", "k_proc"),
            "SYSCALL",
            claimed_degree=7 if v18 else 6,
            doc=docf + (" (v0.18 states 7)" if v18 else " (v0.19 states 6)"),
        )
    )
    dyncall_flag = b["f_dyncall"] if d.dyncall_column else f["DYNCALL"]
    if v18 and not writes:
        terms.append(
            BusTerm(
                "u_dynordyncall",
                "request",
                f["DYN"] + f["DYNCALL"],
                (h_dyn, m_callee),
                ("h_dynordyncall", "m_dynordyncall"),
                "DYN+DYNCALL",
                doc=docf + " (no degree stated)",
            )
        )
    else:
        terms.append(
            BusTerm(
                "u_dyn",
                "request",
                f["DYN"],
                (h_dyn, m_callee),
                ("h_dynordyncall", "m_dynordyncall"),
                "DYN",
                claimed_degree=7,
                doc=docf,
            )
        )
        terms.append(
            BusTerm(
                "u_dyncall",
                "request",
                dyncall_flag,
                (h_dyn, m_callee, *writes),
                ("h_dynordyncall", "m_dynordyncall", *names),
                "DYNCALL",
                claimed_degree=8 if d.name == "miden-v0.19" else None,
                doc=docf,
            )
        )
    terms.append(BusTerm("u_span", "request", f["SPAN"], (h_init,), ("h_init",), "SPAN", claimed_degree=6, doc=docf))
    terms.append(
        BusTerm(
            "u_respan",
            "request",
            f["RESPAN"],
            (_hasher_msg("hasher absorb (h_abp)", L.HASHER_ABSORB, a.next, h),),
            ("h_abp",),
            "RESPAN",
            claimed_degree=5,
            doc=docf,
        )
    )
    h_res_rate = h[:4] + [sp.Integer(0)] * 4
    terms.append(
        BusTerm(
            "u_end",
            "request",
            f["END"],
            (_hasher_msg("hasher return hash (h_res)", L.HASHER_RETURN_HASH, a + 7, h_res_rate),),
            ("h_res",),
            "END",
            claimed_degree=5,
            doc=docf,
        )
    )

    # stack memory requests (stack/io_ops.md); ctx and clk of the requesting row
    iod = DOC + "stack/io_ops.md"
    word_next = [s[3 - i].next for i in range(4)]
    for op, term, factor, label, code, values in (
        ("MLOAD", "u_mload", "m_read", "memory read element", L.MEMORY_READ_ELEMENT, [s[0].next]),
        ("MSTORE", "u_mstore", "m_write", "memory write element", L.MEMORY_WRITE_ELEMENT, [s[0].next]),
        ("MLOADW", "u_mloadw", "m_readword", "memory read word", L.MEMORY_READ_WORD, word_next),
        ("MSTOREW", "u_mstorew", "m_writeword", "memory write word", L.MEMORY_WRITE_WORD, word_next),
    ):  # the value is s0' in every case: the loaded value, or the stored one once the address is dropped
        msg = _mem_msg(label, code, ctx, s[0], clk, values)
        terms.append(BusTerm(term, "request", f[op], (msg,), (factor,), op, doc=iod))
    if d.gate:
        # CALLER, FMPADD and FMPUPDATE read (and write) the system region of memory (seed discussion).
        terms.append(
            BusTerm(
                "u_caller",
                "request",
                f["CALLER"],
                (
                    _mem_msg(
                        "memory read word (fn_hash at 0)",
                        L.MEMORY_READ_WORD,
                        ctx,
                        sp.Integer(L.GATE_FN_HASH_ADDR),
                        clk,
                        word_next,
                    ),
                ),
                ("m_fnhashread",),
                "CALLER",
                doc="seed discussion (gate): CALLER reads memory",
            )
        )
        terms.append(
            BusTerm(
                "u_fmpadd",
                "request",
                f["FMPADD"],
                (
                    _mem_msg(
                        "memory read element (fmp at 4)",
                        L.MEMORY_READ_ELEMENT,
                        ctx,
                        sp.Integer(L.GATE_FMP_ADDR),
                        clk,
                        [s[0].next - s[0]],
                    ),
                ),
                ("m_fmpread",),
                "FMPADD",
                doc="seed discussion (gate): FMPADD reads mem[4]",
            )
        )
        # FMPUPDATE: read the old fmp (into helper h2) and write fmp + s0: two memory factors.
        terms.append(
            BusTerm(
                "u_fmpupdate",
                "request",
                f["FMPUPDATE"],
                (
                    _mem_msg(
                        "memory read element (fmp at 4)",
                        L.MEMORY_READ_ELEMENT,
                        ctx,
                        sp.Integer(L.GATE_FMP_ADDR),
                        clk,
                        [h[2]],
                    ),
                    _mem_msg(
                        "memory write element (fmp at 4)",
                        L.MEMORY_WRITE_ELEMENT,
                        ctx,
                        sp.Integer(L.GATE_FMP_ADDR),
                        clk,
                        [h[2] + s[0]],
                    ),
                ),
                ("m_fmpread", "m_fmpwrite"),
                "FMPUPDATE",
                doc="seed discussion (gate): FMPUPDATE updates mem[4]: a read and a write",
            )
        )
    if d.fnhash_in_memory and "CALLER" in f:
        terms.append(
            BusTerm(
                "u_caller",
                "request",
                f["CALLER"],
                (
                    _mem_msg(
                        "memory read word (fn_hash)",
                        L.MEMORY_READ_WORD,
                        ctx,
                        sp.Integer(L.FN_HASH_ADDR),
                        clk,
                        word_next,
                    ),
                ),
                ("m_fnhashread",),
                "CALLER",
                doc="fn_hash in memory: CALLER reads it",
            )
        )

    # responses: memory chiplet (chiplets/memory.md) and kernel ROM (chiplets/kernel_rom.md)
    m = {k: b[v] for k, v in L.MEM.items()}
    f_mem = m["s0"] * m["s1"] * (1 - m["s2"])
    sel = [
        (1 - m["idx1"]) * (1 - m["idx0"]),
        (1 - m["idx1"]) * m["idx0"],
        m["idx1"] * (1 - m["idx0"]),
        m["idx1"] * m["idx0"],
    ]
    elem = _sum([sel[j] * m[f"v{j}"] for j in range(4)])
    label = L.MEMORY_WRITE_ELEMENT + 8 * m["is_read"] + 16 * m["is_word"]
    vals = [m["is_word"] * m["v0"] + (1 - m["is_word"]) * elem] + [m["is_word"] * m[f"v{j}"] for j in (1, 2, 3)]
    mem_resp = Message(
        "memory chiplet access",
        None,
        (("label", label), ("ctx", m["ctx"]), ("addr", m["word"] + 2 * m["idx1"] + m["idx0"]), ("clk", m["clk"]))
        + tuple((f"v{j}", v) for j, v in enumerate(vals)),
    )
    terms.append(BusTerm("v_mem", "response", f_mem, (mem_resp,), ("v_mem",), None, doc=DOC + "chiplets/memory.md"))
    hs = L.HASHER
    state = [b[c] for c in hs["state"]]
    hasher_resp = Message(
        "hasher chiplet response",
        None,
        (("label", b[hs["label"]]), ("addr", b[hs["addr"]]), ("node_index", b[hs["node_index"]]))
        + tuple((f"cap{i}", state[i]) for i in range(4))
        + tuple((f"h{i}", state[4 + i]) for i in range(8)),
    )
    terms.append(
        BusTerm(
            "v_hasher",
            "response",
            (1 - b[hs["s0"]]) * b[hs["responds"]],
            (hasher_resp,),
            ("v_hash",),
            None,
            doc="simplified hasher responses: the permutation is not modeled (see layout.HASHER)",
        )
    )
    k = {kk: b[v] for kk, v in L.KROM.items()}
    f_krom = k["s0"] * k["s1"] * k["s2"] * k["s3"]
    krom_resp = Message("kernel ROM procedure call", L.KERNEL_PROC_CALL, tuple((f"r{i}", k[f"r{i}"]) for i in range(4)))
    terms.append(
        BusTerm(
            "v_krom",
            "response",
            f_krom * (1 - k["s_first"]),
            (krom_resp,),
            ("v_call",),
            None,
            doc=DOC + "chiplets/kernel_rom.md",
        )
    )
    claimed = 8 if v18 else (9 if d.name == "miden-v0.19" else None)
    air.bus(
        Bus(
            "chiplets",
            "multiset",
            "b_chip",
            tuple(terms),
            claimed_degree=claimed,
            doc=docf + " (hasher responses simplified)",
        )
    )


def _memory_chiplet(b: _Builder) -> None:
    air = b.air
    m = {k: b[v] for k, v in L.MEM.items()}
    doc = DOC + "chiplets/memory.md"
    f_mem = m["s0"] * m["s1"] * (1 - m["s2"])
    f_nl = m["s0"] * m["s1"] * (1 - m["s2"].next)
    t1 = m["d_inv"].next
    d_ctx = m["ctx"].next - m["ctx"]
    d_addr = m["word"].next - m["word"]
    d_clk = m["clk"].next - m["clk"]
    n0 = d_ctx * t1
    n1 = d_addr * t1
    air.constrain("mem_n0_binary", flag=f_nl, body=n0**2 - n0, claimed_degree=7, doc=doc)
    air.constrain("mem_same_ctx", flag=f_nl, body=(1 - n0) * d_ctx, claimed_degree=7, doc=doc)
    air.constrain("mem_n1_binary", flag=f_nl, body=(1 - n0) * (n1**2 - n1), claimed_degree=9, doc=doc)
    air.constrain("mem_same_addr", flag=f_nl, body=(1 - n0) * (1 - n1) * d_addr, claimed_degree=8, doc=doc)
    for name in ("is_read", "is_word", "idx0", "idx1"):
        air.constrain(f"mem_{name}_binary", flag=f_mem, body=m[name] ** 2 - m[name], claimed_degree=5, doc=doc)
    air.constrain(
        "mem_delta",
        flag=f_nl,
        body=n0 * d_ctx + (1 - n0) * (n1 * d_addr + (1 - n1) * d_clk) - (2**16 * m["d1"].next + m["d0"].next),
        claimed_degree=8,
        doc=doc + " (the docs leave the d-term outside the flag; gated here)",
    )
    air.constrain("mem_f_scw", flag=f_nl, body=m["f_scw"].next - (1 - n0) * (1 - n1), claimed_degree=7, doc=doc)


# OPCODES_V19 is re-exported for the designs module
__all__ += ["OPCODES_V19"]
