"""Shared fixtures: ``air`` run in this process or in a child, the built-in AIRs and their analyses (built once per
session)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from air.air import Air
from air.analysis import Analysis, analyze
from air.cli import main
from air.miden.designs import DESIGNS
from air.miden.executor import run_program
from tests.scenario_kit import PROGRAMS, scenario_inputs

Runner = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _degree_cache_dir(tmp_path_factory, monkeypatch) -> None:
    """Each test its own degree cache (``air.cache``, through ``$AIR_CACHE_DIR``, which child processes inherit):
    no test reads another's entries, nor writes to the user's ``~/.cache/air``."""
    monkeypatch.setenv("AIR_CACHE_DIR", str(tmp_path_factory.mktemp("air-cache")))


@pytest.fixture
def kernels_everywhere(monkeypatch: pytest.MonkeyPatch):
    """The compiled kernels loaded and used on every length (by default short columns stay on numpy)."""
    from air import kernels as K

    k = K.load()
    assert k is not None and K.load_bus() is not None, "numba is installed, so the kernels must load"
    monkeypatch.setattr(K, "MIN_SIZE", 1)
    monkeypatch.setattr(K, "SMALL_SIZE", 1)
    return k


@pytest.fixture()
def air_cli(capsys) -> Runner:
    """``air_cli(*args)``: ``air ARGS`` in this process through ``main``, as (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # what earlier steps printed is not this command's output
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)  # sys.exit semantics
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


@pytest.fixture(scope="session")
def air_proc() -> Callable[..., subprocess.CompletedProcess]:
    """``air_proc(*args)``: ``python -m air ARGS`` in a child process (real exit codes, stdout and stderr)."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "air", *args], capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture(scope="session")
def scenario() -> Callable[[str, str], object]:
    """``scenario(name, design)``: the reference executor's run of traces/programs/NAME.masm with the kernel under
    ``design``, once per session (shared: copy its columns before changing them). An ExecutionError is raised
    again on every call, never cached."""
    runs: dict[tuple[str, str], object] = {}

    def run(name: str, design: str):
        if (name, design) not in runs:
            inputs = scenario_inputs(name)  # its advice stack and Merkle tree, if any
            runs[name, design] = run_program(PROGRAMS / f"{name}.masm", PROGRAMS / "kernel.masm", design, **inputs)
        return runs[name, design]

    return run
