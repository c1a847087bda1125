"""What happens before the first chunk of ``air check`` and after its report: the trace inflating while the AIR is
built, the same results and the same bad-input errors as a load that runs first, and a quick exit."""

from __future__ import annotations

import gc
import sys

from air.cli import main


def _code(argv: list[str] | None) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return 0 if e.code is None else int(e.code)
    return 0


def test_program_exit_freezes_the_collector_and_a_caller_keeps_it(monkeypatch, capsys) -> None:
    """As the program (argv None) main leaves the collector frozen and off, so the interpreter's finalization does
    not walk every object sympy and numba made (0.4 s at 2^20 rows); called with a list it leaves gc alone."""
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.collect()  # what is collectable now is not counted as frozen below
    assert _code(["--version"]) == 0
    assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, frozen)
    monkeypatch.setattr(sys, "argv", ["air", "--version"])
    try:
        assert _code(None) == 0
        assert not gc.isenabled() and gc.get_freeze_count() > frozen
        assert "air" in capsys.readouterr().out  # the output was printed all the same
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
