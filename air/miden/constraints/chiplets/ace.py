"""The ACE chiplet: arithmetic circuit evaluation (docs/src/design/chiplets/ace.md; columns per v0.18/v0.19
air/src/trace/chiplets/ace.rs). The v0.18/v0.19 Rust AIR writes no ACE constraints; the docs' are modeled.

The ACE chiplet is fourth (d = 4). Flags: ``f_ace = s0 s1 s2 (1-s3)`` (4), ``f_prev = s0 s1 (1-s2)`` (3),
``f_first' = f_prev s2' (1-s3')`` (5), ``f_ace_next = f_ace (1-s3')``, ``f_ace_last = f_ace s3'`` (5),
``f_start = f_ace s_start`` (5), ``f_next = f_ace_next (1-s_start')`` (6),
``f_end = f_ace_next s_start' + f_ace_last`` (6), ``f_read = 1 - s_block``, ``f_eval = s_block``.

Constraints (docs degree):

    f_ace s_start (1 - s_start) (d+2)      f_first' (1 - s_start') (stated d+1; it is d+2)
    f_ace_last s_start (d+2)
    f_ace_next s_start s_start' (stated d+2; it is d+3)                       f_ace s_block (1 - s_block) (d+2)
    f_start f_eval (d+2)     f_next f_eval f_read' (d+4)     f_end f_read (d+3)
    f_ace f_read (f_read' n_eval' + f_eval' id0' - n_eval) (d+3)   (the column holds n_eval - 1: below)
    f_next (ctx' - ctx), f_next (clk' - clk) (d+3)
    f_next (ptr' - ptr - 4 f_read - f_eval), f_next (id0' - id0 + 2 f_read + f_eval) (d+3)
    f_ace f_read (id1 - id0 + 1) (d+2)     f_ace f_eval op (op^2 - 1) (d+4)
    f_ace f_eval (v0 - v_out) (d+5), v_out = op^2 (v1 + op v2) + (1 - op^2) v1 v2, two base-field components
    f_end id0 (d+3)          f_end v0 = 0, two components (d+3)

Where the docs contradict themselves the model follows their prose and example: f_first' is "the next row is the
ACE chiplet's first", f_prev s2' (1 - s3') (the docs write f_prev (1 - s2'), of degree d, which holds on
every memory row; and without (1 - s3') an empty ACE chiplet, memory followed by the kernel ROM, would
be forced to start a section); ptr increases and id0 decreases (the docs'
formulas carry the opposite sign); the instruction is id1 + id2 2^30 + (op + 1) 2^60 (the docs write id0,
id1; the processor's bus/memory.rs reads columns id1, id2). Values are in F_p[x]/(x^2 - x + 2) (Miden's
quadratic extension): (a0 + a1 x)(b0 + b1 x) = (a0 b0 - 2 a1 b1) + (a0 b1 + a1 b0 + a1 b1) x.

Buses:
* wiring (LogUp, b_wire): ``b' = b + Σ e_i / w_i`` with ``w_i = α0 + α1 ctx + α2 clk + α3 id_i + α4 v_i0 +
  α5 v_i1``, ``e0 = m0``, ``e1 = f_read m1 - f_eval``, ``e2 = -f_eval`` (d+4). The docs multiply the whole
  cleared constraint by f_ace; here each multiplicity carries f_ace, so b_wire stays put off the chiplet
  (same degree; the docs' boundary b_wire = 0 at both ends needs that anyway).
* b_chip: ``f_start`` answers EVALCIRCUIT with (ACE_LABEL, ctx, ptr, clk, n_read, n_eval), n_eval = the
  column + 1 and n_read = id0 + 1 - n_eval (id0 = n_read + n_eval - 1 in the first row; the docs' "id0 - 1 -
  n_eval" is a slip). The READ rows' n_eval column holds n_eval - 1, as the processor fills it and the docs' prose
  says, not n_eval as the docs' constraint formula assumes: the model follows the processor (its traces are the
  ones to check).
* vt_chip: each row requests its memory read (READ: a word, EVAL: the instruction element), answered by the
  memory chiplet on b_chip: ``f_ace (vt' (f_read u_read + f_eval u_eval) - vt) = 0`` (d+3).
"""

from __future__ import annotations

import sympy as sp

from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

DOCA = DOC + "chiplets/ace.md"


def ext_mul(a: tuple[sp.Expr, sp.Expr], b: tuple[sp.Expr, sp.Expr]) -> tuple[sp.Expr, sp.Expr]:
    """Product in Miden's quadratic extension F_p[x]/(x^2 - x + 2)."""
    return (a[0] * b[0] - 2 * a[1] * b[1], a[0] * b[1] + a[1] * b[0] + a[1] * b[1])


@family("chiplets.ace")
def constrain(b: MidenBuilder) -> None:
    a = b.ace
    s = b.chiplets.s
    f_ace = b.chiplets.f_ace
    f_prev = s[0] * s[1] * (1 - s[2])
    f_first_next = f_prev * s[2].next * (1 - s[3].next)
    f_ace_next = f_ace * (1 - s[3].next)
    f_ace_last = f_ace * s[3].next
    st, blk = a.s_start, a.s_block
    f_start = f_ace * st
    f_next = f_ace_next * (1 - st.next)
    f_end = f_ace_next * st.next + f_ace_last
    f_read, f_eval = 1 - blk, blk
    f_read_n, f_eval_n = 1 - blk.next, blk.next

    def c(name: str, flag: sp.Expr, body: sp.Expr) -> None:
        b.constrain(name, flag=flag, body=body, doc=DOCA)

    # section and block flags
    c("ace_start_binary", f_ace, st * (1 - st))
    c("ace_start_first", f_first_next, 1 - st.next)
    c("ace_start_last", f_ace_last, st)
    c("ace_start_not_twice", f_ace_next, st * st.next)
    c("ace_block_binary", f_ace, (1 - blk) * blk)
    c("ace_first_read", f_start, f_eval)
    c("ace_eval_then_eval", f_next, f_eval * f_read_n)
    c("ace_end_eval", f_end, f_read)
    # the n_eval column of a READ row holds n_eval - 1, as the processor fills it (v0.19.0 chiplets/ace/trace.rs
    # ``READ_NUM_EVAL_IDX`` = num_eval_rows - 1) and the docs' prose says ("if id_0' is equal to n_eval"; ace.md
    # line 177): the first EVAL row's id_0 equals it. The docs' formula (id_0' + 1 - n_eval) counts n_eval itself.
    c("ace_n_eval", f_ace * f_read, f_read_n * a.n_eval.next + f_eval_n * a.id0.next - a.n_eval)
    # section constraints
    c("ace_ctx", f_next, a.ctx.next - a.ctx)
    c("ace_clk", f_next, a.clk.next - a.clk)
    c("ace_ptr", f_next, a.ptr.next - a.ptr - 4 * f_read - f_eval)
    c("ace_id0", f_next, a.id0.next - a.id0 + 2 * f_read + f_eval)
    # READ and EVAL
    c("ace_read_ids", f_ace * f_read, a.id1 - a.id0 + 1)
    op = a.op
    c("ace_op", f_ace * f_eval, op * (op**2 - 1))
    v0, v1, v2 = (a.v00, a.v01), (a.v10, a.v11), (a.v20, a.v21)
    prod = ext_mul(v1, v2)
    for j in range(2):
        v_out = op**2 * (v1[j] + op * v2[j]) + (1 - op**2) * prod[j]
        c(f"ace_eval_v0{j}", f_ace * f_eval, v0[j] - v_out)
    c("ace_end_id", f_end, a.id0)
    for j in range(2):
        c(f"ace_end_v0{j}", f_end, v0[j])

    # wiring bus
    b.bus(
        "ace_wiring",
        "logup",
        "b_wire",
        initial=sp.Integer(0),
        final=sp.Integer(0),
        doc=DOCA + " (wire bus; the chiplets' logUp bus of chiplets/main.md)",
    )
    e = (a.m0, f_read * a.m1 - f_eval, -f_eval)
    ids = (a.id0, a.id1, a.id2)
    vals = (v0, v1, v2)
    for i in range(3):
        w = M.ace_wire(a.ctx, a.clk, ids[i], vals[i][0], vals[i][1])
        b.respond("ace_wiring", f"w{i}", f_ace, (w,), multiplicity=f_ace * e[i], doc=DOCA)

    # chiplets bus: the EVALCIRCUIT response; n_eval = the column + 1, n_read = id_0 + 1 - n_eval (processor
    # chiplets/aux_trace/bus/ace.rs ``build_ace_chiplet_responses`` at v0.19.0; "n_read" is the variable count the
    # stack sends in s1)
    n_eval = a.n_eval + 1
    n_read = a.id0 + 1 - n_eval
    b.respond("chiplets", "v_ace", f_start, (M.ace(a.ctx, a.ptr, a.clk, n_read, n_eval),), doc=DOCA)

    # virtual table: memory reads
    instr = a.id1 + a.id2 * 2**30 + (op + 1) * 2**60
    read = M.memory("ace memory read word", L.MEMORY_READ_WORD, a.ctx, a.ptr, a.clk, [*v0, *v1])
    fetch = M.memory("ace memory read instruction", L.MEMORY_READ_ELEMENT, a.ctx, a.ptr, a.clk, [instr])
    b.request("chiplets_vtable", "u_ace_read", f_ace * f_read, (read,), doc=DOCA)
    b.request("chiplets_vtable", "u_ace_eval", f_ace * f_eval, (fetch,), doc=DOCA)
