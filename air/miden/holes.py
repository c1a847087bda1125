"""Holes the Miden docs leave open on purpose (for ``air lint`` / ``air probe`` reports).

Each entry: columns free under some operations, why the docs leave them so, and where they say it
(docs/src/design at v0.19.0; the v0.18.0 pages say the same where the page exists). Whatever ``air lint``
or ``air probe`` reports that no entry covers is a gap, of the model or of the docs.

Not here, because they are gaps rather than choices: the stack's overflow address ``b1`` is constrained
only by shifting operations (stack/index.md, "Overflow table"; air/src/constraints/stack/overflow/mod.rs
enforces the same), so on a row whose own and previous operations shift nothing it is free, and a prover
can point it at another overflow row before a left shift (the table is then emptied out of order).
"""

from __future__ import annotations

from air.air import Air
from air.lint import DocumentedOpen

__all__ = ["documented_open", "CONTROL_OPS"]

# decoder/index.md: the control-flow operations, whose rows use h0..h7 for hashing
CONTROL_OPS = ("JOIN", "SPLIT", "LOOP", "REPEAT", "SPAN", "RESPAN", "END", "CALL", "SYSCALL", "DYN", "DYNCALL", "HALT")
HELPERS = ("h2", "h3", "h4", "h5", "h6", "h7")
DECODER_REGS = ("h0", "h1", *HELPERS, "group_count", "op_index", "c0", "c1", "c2")


def documented_open(air: Air) -> list[DocumentedOpen]:
    """The documented-open holes that apply to ``air`` (only its columns and operations)."""
    cols = set(air.column_names)
    ops = [o.name for o in air.operations]
    regular = tuple(o for o in ops if o not in CONTROL_OPS)
    control = tuple(o for o in ops if o in CONTROL_OPS and o not in ("HALT",))
    table = (
        DocumentedOpen(
            HELPERS,
            regular,
            "a regular operation may use h2..h7 as helper registers; one that does not leaves them free and unread",
            "decoder/index.md:124",
        ),
        DocumentedOpen(
            ("h1",),
            regular,
            "h1 holds the parent block's id inside a basic block; only the row before a RESPAN reads it",
            "decoder/index.md:124, 432, 654",
        ),
        DocumentedOpen(
            DECODER_REGS,
            ("HALT",),
            "HALT rows: only f_halt*(1 - f_halt') and f_halt*a are constrained; the hasher registers, gc, "
            "ox and the batch flags are free and unread",
            "decoder/constraints.md:84-93",
        ),
        DocumentedOpen(
            ("group_count", "op_index"),
            control,
            "group count and op index are constrained inside a basic block; on a control-flow row gc is "
            "unread and ox is only range-checked (0..8)",
            "decoder/constraints.md, 'Group count constraints' and 'Op index constraints'",
        ),
        DocumentedOpen(
            ("c1", "c2"),
            ("SPAN", "RESPAN"),
            "with c0 = 1 the batch has 8 groups and c1, c2 are don't-care ('(1, -, -)')",
            "decoder/index.md:597",
        ),
        DocumentedOpen(
            ("h5", "h6", "h7"),
            ("REPEAT",),
            "REPEAT copies h0..h4 to the next row; h5..h7 are not used",
            "decoder/index.md:417, decoder/constraints.md:81",
        ),
        DocumentedOpen(
            ("h6", "h7"),
            ("DYNCALL",),
            "DYNCALL puts the callee hash in h0..h3 and hashes [ZERO; 8]; the block stack row reads h4, h5 "
            "(the saved depth and overflow address); h6, h7 are not used",
            "decoder/index.md, 'DYNCALL operation'",
        ),
        DocumentedOpen(
            ("stack_h0",),
            (),
            "h0 is the helper of the overflow flag f_ov = (b0 - 16)*h0, which only left shifts read",
            "stack/index.md, 'Stack overflow flag'",
        ),
        DocumentedOpen(
            ("gate",),
            (),
            "miden-gate's inverse helper (gate * addr_high = 1), read by the memory operations only",
            "seed discussion (gate column); air/miden/constraints/stack/io_ops.py",
        ),
    )
    out = []
    for d in table:
        kept = tuple(c for c in d.columns if c in cols)
        if kept:
            out.append(DocumentedOpen(kept, d.operations, d.reason, d.source))
    return out
