"""Shared test helpers (not tests): running ``air`` in this process with its exit-code mapping."""

from __future__ import annotations

from air.cli import main


def call(capsys, *args: str) -> tuple[int, str, str]:
    """``air ARGS`` in this process through ``main``: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
