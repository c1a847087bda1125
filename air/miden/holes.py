"""Holes the Miden docs leave open on purpose (for ``air lint`` / ``air probe`` reports).

Each entry: columns free under some operations, why the docs leave them so, and where they say it.
Everything ``air lint`` reports that is not covered here is a gap (of the model, or of the docs).
"""

from __future__ import annotations

from air.air import Air
from air.lint import DocumentedOpen

__all__ = ["documented_open"]


def documented_open(air: Air) -> list[DocumentedOpen]:
    """The documented-open holes that apply to ``air`` (only columns it has)."""
    cols = set(air.column_names)
    out = []
    for d in _TABLE:
        kept = tuple(c for c in d.columns if c in cols)
        if kept:
            out.append(DocumentedOpen(kept, d.operations, d.reason, d.source))
    return out


_TABLE: tuple[DocumentedOpen, ...] = ()
