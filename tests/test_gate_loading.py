"""An exception inside a user's AIR code is bad input for every command that loads an AIR (degrees, gate,
check, explain, compare): exit 2 with one line naming the exception's type, message and the file:line in
the user's code, never a traceback and never exit 1 (the gate's failure code)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

COMMANDS = [
    ["degrees", "--air", "{spec}"],
    ["gate", "--air", "{spec}", "--baseline", "reports/degrees-fibonacci.json"],
    ["check", "{trace}", "--air", "{spec}"],
    ["explain", "c", "--air", "{spec}"],
    ["compare", "fibonacci", "{spec}"],
]


def _line(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


@pytest.fixture()
def trace(tmp_path: Path) -> str:
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,1\n1,2\n")
    return str(p)


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_builder_exception_is_one_line_exit_2(air_cli, tmp_path, trace, args) -> None:
    src = tmp_path / "user.py"
    src.write_text(
        "from air.air import Air\n"
        "def helper(d):\n"
        "    return d['missing']\n"
        "def make_air():\n"
        "    air = Air('u', 'mine', budget=2)\n"
        "    a, b = air.columns('main', ['a', 'b'])\n"
        "    helper({})\n"
        "    return air\n"
    )
    argv = [x.format(spec=f"{src}:make_air", trace=trace) for x in args]
    code, out, err = air_cli(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, (code, out, err)
    assert f"raised KeyError: 'missing' at {src}:{_line(src, 'return d[')}" in err


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_module_import_exception_names_the_users_line(air_cli, tmp_path, trace, monkeypatch, args) -> None:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    mod = pkg / "broken_air.py"
    mod.write_text("X = 1\nraise RuntimeError('not ready')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("mypkg", "mypkg.broken_air"):  # each case imports its own copy
        monkeypatch.delitem(sys.modules, name, raising=False)
    argv = [x.format(spec="mypkg.broken_air:make_air", trace=trace) for x in args]
    code, out, err = air_cli(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    assert f"importing module mypkg.broken_air raised RuntimeError: not ready at {mod}:2" in err
