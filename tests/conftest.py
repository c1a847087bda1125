"""Shared fixtures: the in-process ``air`` runner, the built-in AIRs and their analyses (built once per session)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from air.air import Air
from air.analysis import Analysis, analyze
from air.cli import main
from air.miden.designs import DESIGNS

Runner = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def air_cli(capsys) -> Runner:
    """``air_cli(*args)``: ``air ARGS`` in this process through ``main``, as (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # what earlier steps printed is not this command's output
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def miden_airs() -> dict[str, Air]:
    """Every built-in Miden design, built once for the session (tests must not modify them)."""
    return {name: make() for name, make in DESIGNS.items()}


@pytest.fixture(scope="session")
def miden_analyses(miden_airs) -> dict[str, Analysis]:
    """The degree analysis of every built-in Miden design, once for the session."""
    return {name: analyze(a) for name, a in miden_airs.items()}
