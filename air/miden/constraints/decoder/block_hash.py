"""The block hash table p2 (docs/src/design/decoder/constraints.md "Block hash table constraints", v0.18.0 and
v0.19.0), a multiset bus. A row is ``(prnt_id, block_hash[0..4], is_first_child, is_loop_body)`` at
``alpha_0 + alpha_1 prnt + alpha_2..5 hash + alpha_6 is_first_child + alpha_7 is_loop_body``
(``BlockHashTableRow::collapse`` in processor/src/decoder/aux_trace/block_hash_table.rs).

    ch1 = (a', h0..h3), ch2 = (a', h4..h7), bh = (a', h0..h3, ., h4)
    v_join     = f_join (ch1 + alpha_6) ch2                              7
    v_split    = f_split (s0 ch1 + (1 - s0) ch2)                         7
    v_loop     = f_loop s0 (ch1 + alpha_7)                               7
    v_repeat   = f_repeat (ch1 + alpha_7)                                5
    v_allcalls = (f_dyn + f_dyncall + f_call + f_syscall) ch1            6
    u_end      = f_end (bh + alpha_6 (1 - (f_end' + f_repeat' + f_halt')))   8
    p2' (u_end + 1 - f_end) = p2 (v_join + ... + v_allcalls + 1 - (f_join + ... + f_syscall))   9

``s0 ch1 + (1 - s0) ch2`` is one row whose hash is ``s0 h_i + (1 - s0) h_{i+4}`` (the alpha_0, alpha_1 parts add
up to one). LOOP adds a row only when s0 = 1: its term's flag is ``f_loop s0``. The docs' p2 equation subtracts
``f_loop`` (not ``f_loop s0``), which for s0 = 0 would force ``p2 (0 + 1 - 1) = 0``; the bus here uses
``1 + sum f (v - 1)`` with the term's flag, which is what the processor computes (no row for s0 = 0).

Boundary: the docs put the program's row ``(0, program_hash, 0, 0)`` in the first value of p2 and require the
last value to be 1: a boundary response from the public inputs ``program_hash0..3`` (``air.BusBoundary``), which
the root block's END removes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from air.air import Message
from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.decoder.flow import nxt

BUS = "block_hash"
DOCF = DOC + "decoder/constraints.md#block-hash-table-constraints"


def row(prnt: sp.Expr, digest: Sequence[sp.Expr], first_child: sp.Expr, loop_body: sp.Expr) -> Message:
    """A block hash table row ``(prnt_id, block_hash[0..4], is_first_child, is_loop_body)``."""
    fields: list[tuple[str, sp.Expr]] = [("prnt", prnt)]
    fields += [(f"hash{i}", sp.sympify(v)) for i, v in enumerate(digest)]
    fields += [("is_first_child", sp.sympify(first_child)), ("is_loop_body", sp.sympify(loop_body))]
    return Message("block hash row", None, tuple(fields))


@family("decoder.block_hash")
def constrain(b: MidenBuilder) -> None:
    f, dec = b.flags, b.decoder
    a, h = dec.addr, dec.h
    s0 = b.stack.s[0]
    left, right = list(h[:4]), list(h[4:])
    b.bus(BUS, "multiset", "p2", doc=DOCF)
    program_hash = [b.air.public_input(f"program_hash{i}", "the program's MAST root") for i in range(4)]
    b.boundary_message(BUS, "response", row(sp.Integer(0), program_hash, 0, 0))

    b.respond(
        BUS,
        "v_join",
        f.op("JOIN"),
        (row(a.next, left, 1, 0), row(a.next, right, 0, 0)),
        factors=("ch1 + alpha_6", "ch2"),
        operation="JOIN",
        doc=DOCF,
    )
    chosen = [s0 * left[i] + (1 - s0) * right[i] for i in range(4)]
    b.respond(BUS, "v_split", f.op("SPLIT"), (row(a.next, chosen, 0, 0),), factors=("s0 ch1 + (1-s0) ch2",),
              operation="SPLIT", doc=DOCF)  # fmt: skip
    b.respond(BUS, "v_loop", f.op("LOOP") * s0, (row(a.next, left, 0, 1),), factors=("ch1 + alpha_7",),
              operation="LOOP", doc=DOCF)  # fmt: skip
    b.respond(BUS, "v_repeat", f.op("REPEAT"), (row(a.next, left, 0, 1),), factors=("ch1 + alpha_7",),
              operation="REPEAT", doc=DOCF)  # fmt: skip
    calls = ("DYN", "DYNCALL", "CALL", "SYSCALL")
    b.respond(
        BUS,
        "v_allcalls",
        sp.Add(*[f.op(o) for o in calls]),
        (row(a.next, left, 0, 0),),
        factors=("ch1",),
        operation="+".join(calls),
        doc=DOCF,
    )
    first_child = 1 - (nxt(f.op("END")) + nxt(f.op("REPEAT")) + nxt(f.op("HALT")))
    b.request(
        BUS,
        "u_end",
        f.op("END"),
        (row(a.next, left, first_child, h[4]),),
        factors=("bh + alpha_6 is_first_child",),
        operation="END",
        doc=DOCF,
    )
