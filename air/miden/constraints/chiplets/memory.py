"""The memory chiplet: its response on b_chip and its documented constraints (docs/src/design/chiplets/memory.md).

Response, on rows with ``f_mem = s0 s1 (1-s2)``: label ``4 + 8 is_read + 16 is_word``, ``ctx``, address
``word + 2 idx1 + idx0``, ``clk``, and the element selected by idx1 idx0 (element access) or the word.

Constraints, with ``f_nl = s0 s1 (1-s2')`` (next row still memory), ``t = d_inv'``, ``n0 = Δctx t``,
``n1 = Δword t``:

    f_nl (n0^2 - n0) = 0 (7)                 f_nl (1-n0) Δctx = 0 (stated 7; it is 6)
    f_nl (1-n0)(n1^2 - n1) = 0 (9)           f_nl (1-n0)(1-n1) Δword = 0 (8)
    f_mem (x^2 - x) = 0 for is_read, is_word, idx0, idx1 (5)
    f_nl (n0 Δctx + (1-n0)(n1 Δword + (1-n1) Δclk) - (2^16 d1' + d0')) = 0 (8)
    f_nl (f_scw' - (1-n0)(1-n1)) = 0 (7)
    f_nl f_scw' (1 - Δclk t)(1 - rw)(1 - rw') = 0 (8)          same context, word and clock: reads only

Stored values, with ``f_i`` the element flags of idx1' idx0', ``c_i = rw' + (1-rw')(1-ew')(1-f_i')`` (v_i
not written) and ``f_mem_fr = (1-s0) f_mem'`` (next row is the chiplet's first):

    f_mem_fr c_i v_i' = 0 (9)                                    first row: unwritten elements are 0
    f_nl c_i (f_scw' (v_i' - v_i) + (1 - f_scw') v_i') = 0 (9)   later rows: copied, or 0 in a new word

19 constraints, as in the docs and the v0.18 code (air/src/constraints/chiplets/memory/mod.rs). The
docs leave the d-term of the delta constraint outside the flag; the model gates it as the code does.

Range checks (range.md): the rows of the chiplet request d0 and d1 on the range bus with ``f_mem``.
"""

from __future__ import annotations

import sympy as sp

from air.air import Message
from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"
DOCM = DOC + "chiplets/memory.md"


@family("chiplets.memory")
def constrain(b: MidenBuilder) -> None:
    m = b.memory
    f_mem = m.s0 * m.s1 * (1 - m.s2)

    # response
    sel = [(1 - m.idx1) * (1 - m.idx0), (1 - m.idx1) * m.idx0, m.idx1 * (1 - m.idx0), m.idx1 * m.idx0]
    elem = sp.Add(*[sel[j] * m.v[j] for j in range(4)])
    label = L.MEMORY_WRITE_ELEMENT + 8 * m.is_read + 16 * m.is_word
    vals = [m.is_word * m.v[0] + (1 - m.is_word) * elem] + [m.is_word * m.v[j] for j in (1, 2, 3)]
    mem_resp = Message(
        "memory chiplet access",
        None,
        (("label", label), ("ctx", m.ctx), ("addr", m.word + 2 * m.idx1 + m.idx0), ("clk", m.clk))
        + tuple((f"v{j}", v) for j, v in enumerate(vals)),
    )
    b.respond(BUS, "v_mem", f_mem, (mem_resp,), factors=("v_mem",), doc=DOCM)

    # constraints
    f_nl = m.s0 * m.s1 * (1 - m.s2.next)
    t1 = m.d_inv.next
    d_ctx = m.ctx.next - m.ctx
    d_addr = m.word.next - m.word
    d_clk = m.clk.next - m.clk
    n0 = d_ctx * t1
    n1 = d_addr * t1
    b.constrain("mem_n0_binary", flag=f_nl, body=n0**2 - n0, doc=DOCM)
    b.constrain("mem_same_ctx", flag=f_nl, body=(1 - n0) * d_ctx, doc=DOCM)
    b.constrain("mem_n1_binary", flag=f_nl, body=(1 - n0) * (n1**2 - n1), doc=DOCM)
    b.constrain("mem_same_addr", flag=f_nl, body=(1 - n0) * (1 - n1) * d_addr, doc=DOCM)
    for name in ("is_read", "is_word", "idx0", "idx1"):
        x = getattr(m, name)
        b.constrain(f"mem_{name}_binary", flag=f_mem, body=x**2 - x, doc=DOCM)
    b.constrain(
        "mem_delta",
        flag=f_nl,
        body=n0 * d_ctx + (1 - n0) * (n1 * d_addr + (1 - n1) * d_clk) - (2**16 * m.d1.next + m.d0.next),
        doc=DOCM + " (the docs leave the d-term outside the flag; gated here)",
    )
    b.constrain("mem_f_scw", flag=f_nl, body=m.f_scw.next - (1 - n0) * (1 - n1), doc=DOCM)
    b.constrain(
        "mem_same_clk_read",
        flag=f_nl,
        body=m.f_scw.next * (1 - d_clk * t1) * (1 - m.is_read) * (1 - m.is_read.next),
        doc=DOCM,
    )

    # stored values
    f_fr = (1 - m.s0) * m.s0.next * m.s1.next * (1 - m.s2.next)
    i1, i0 = m.idx1.next, m.idx0.next
    f_next = [(1 - i1) * (1 - i0), (1 - i1) * i0, i1 * (1 - i0), i1 * i0]
    rw, ew = m.is_read.next, m.is_word.next
    for i in range(4):
        c_i = rw + (1 - rw) * (1 - ew) * (1 - f_next[i])
        b.constrain(f"mem_v{i}_first", flag=f_fr, body=c_i * m.v[i].next, doc=DOCM)
    for i in range(4):
        c_i = rw + (1 - rw) * (1 - ew) * (1 - f_next[i])
        keep = m.f_scw.next * (m.v[i].next - m.v[i]) + (1 - m.f_scw.next) * m.v[i].next
        b.constrain(f"mem_v{i}_copy", flag=f_nl, body=c_i * keep, doc=DOCM)

    # 16-bit range checks of the delta's limbs (range.md "Communication bus"; v0.18 range.rs reads d0, d1
    # of the current row under the memory flag)
    for name, d in (("m_d0", m.d0), ("m_d1", m.d1)):
        b.request("range", name, f_mem, (M.range_check(d, f"memory {name[2:]}"),), doc=DOC + "range.md")
