"""Input / output operations (docs/src/design/stack/io_ops.md; v0.19.0 changes only links).

PUSH, ADVPOP and ADVPOPW put nondeterministic values on top of the stack: the docs give them no constraint
on the elements they write (PUSH's value is checked by the decoder's op group table); only their shifts,
which belong to the general stack constraints.

SDEPTH: ``f_sdepth (s0' - b0) = 0`` with b0 the stack depth (degree 1 + flag 7; air/src/constraints/stack/
io_ops/mod.rs has it as its one constraint, degree 8).

MSTREAM reads two words at s12 and s12 + 4 into s7'..s4' and s3'..s0' and advances the pointer:
``f_mstream (s12' - s12 - 8) = 0`` and ``u_mstream = f_mstream * m_readword(s12, s7'..s4') * m_readword(s12 + 4,
s3'..s0')``. PIPE (op_constraints.md points to this page, which does not describe it) does the same with two
word writes of advice data (processor: ``op_pipe`` and ``build_pipe_request``): derived, not in the docs.
Neither pointer update is in the Rust AIR (only the bus requests are built, by the processor).

Memory instructions MLOAD, MSTORE, MLOADW, MSTOREW:

Each sends one memory message at the address s0, in the current ctx and clk, whose value is s0' (the
loaded value, or the stored one once the address is dropped); a word is ``s3'..s0'``:

    u_mload = f_mload * m_read(ctx, s0, clk, s0')       u_mloadw = f_mloadw * m_readword(ctx, s0, clk, s3'..s0')
    u_mstore = f_mstore * m_write(ctx, s0, clk, s0')    u_mstorew = f_mstorew * m_writeword(ctx, s0, clk, s3'..s0')

The gate design (seed discussion) keeps them off the first 2^N addresses, where fn_hash and fmp live:
``f_memop * (gate * (s0 - h2)/2^N - 1) = 0``, with h2 the address's low N bits.
"""

from __future__ import annotations

import sympy as sp

from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"


@family("stack.io_ops")
def constrain(b: MidenBuilder) -> None:
    s, h, f = b.stack.s, b.decoder.h, b.flags
    ctx, clk = b.system.ctx, b.system.clk

    if b.system.gate is not None:
        addr_lo = h[2]  # the user-op helper h2 holds the address's low N bits (range check not modeled)
        addr_high = (s[0] - addr_lo) * sp.Rational(1, 2**L.GATE_BITS)
        b.constrain(
            "gate",
            flag=f.memop,
            body=b.system.gate * addr_high - 1,
            tags=("op:MLOAD", "op:MSTORE", "op:MLOADW", "op:MSTOREW"),
            doc="seed discussion (gate column): f_memop * gate * addr/2^N = 1, degree 9; addr_high = (s0 - h2)/2^N "
            "with h2 the low N bits",
        )

    iod = DOC + "stack/io_ops.md"
    word_next = [s[3 - i].next for i in range(4)]
    for op, term, factor, label, code, values in (
        ("MLOAD", "u_mload", "m_read", "memory read element", L.MEMORY_READ_ELEMENT, [s[0].next]),
        ("MSTORE", "u_mstore", "m_write", "memory write element", L.MEMORY_WRITE_ELEMENT, [s[0].next]),
        ("MLOADW", "u_mloadw", "m_readword", "memory read word", L.MEMORY_READ_WORD, word_next),
        ("MSTOREW", "u_mstorew", "m_writeword", "memory write word", L.MEMORY_WRITE_WORD, word_next),
    ):
        msg = M.memory(label, code, ctx, s[0], clk, values)
        b.request(BUS, term, f.op(op), (msg,), factors=(factor,), operation=op, doc=iod)

    # --- SDEPTH ---------------------------------------------------------------------------------------
    b.constrain(
        "sdepth", flag=f.op("SDEPTH"), body=s[0].next - b.stack.depth, operation="SDEPTH", doc=iod + " (1 + flag 7)"
    )

    # --- MSTREAM and PIPE: two words at s12, s12 + 4; pointer += 8 -----------------------------------
    high_next = [s[7 - i].next for i in range(4)]
    for op, term, label, code, src in (
        ("MSTREAM", "u_mstream", "memory read word", L.MEMORY_READ_WORD, iod),
        ("PIPE", "u_pipe", "memory write word", L.MEMORY_WRITE_WORD, "processor op_pipe / build_pipe_request; derived"),
    ):
        n = op.lower()
        b.constrain(f"{n}_addr", flag=f.op(op), body=s[12].next - s[12] - 8, operation=op, doc=src)
        first = M.memory(f"{label} (s12)", code, ctx, s[12], clk, high_next)
        second = M.memory(f"{label} (s12 + 4)", code, ctx, s[12] + 4, clk, word_next)
        b.request(BUS, term, f.op(op), (first, second), factors=("m_word1", "m_word2"), operation=op, doc=src)
