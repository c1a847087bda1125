"""The reference executor's error: a program that cannot run under a design's rules (its own module, so the
executor and the operation tables it dispatches to, ``exec_stack`` and ``exec_u32``, import it one way)."""

from __future__ import annotations

__all__ = ["ExecutionError"]


class ExecutionError(RuntimeError):
    """The program cannot run under the design's rules; the message names the instruction."""
