"""Malformed trace files: each is refused with exit 2 and one line naming the file (and where it
applies the member, column or row); never a traceback, a silent wrong read or an unbounded read."""

from __future__ import annotations

import numpy as np
import pytest

from air.cli import main
from air.registry import load_air
from air.trace import save_trace

P = 2**64 - 2**32 + 1


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``air ARGS`` in this process through ``main`` (its exception mapping included)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys, path, *needles: str, air: str = "fibonacci") -> str:
    code, _, err = cli(capsys, "check", str(path), "--air", air)
    assert code == 2 and err.startswith("air: error: ") and err.count("\n") == 1, err
    assert str(path) in err and "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


# --- the bus check on a trace whose bus has responses and no request (e.g. 2 rows) -----------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_short_miden_trace_bus_with_responses_only(tmp_path, capsys, n) -> None:
    air = load_air("miden-v0.18")
    rng = np.random.default_rng(0)  # seed 0: the chiplets bus has responses and no request
    cols = {c: rng.integers(0, 2, n).astype(np.uint64) for c in air.column_names}
    p = save_trace(tmp_path / "t.npz", cols, {}, {"air": "miden-v0.18"})
    code, out, err = cli(capsys, "check", str(p), "--any-length")
    assert code == 1 and err == "", err  # constraints fail on random bits; the buses are checked
    assert "bus block_stack:" in out and "bus chiplets:" in out


def test_bus_with_only_a_response_is_unmatched(tmp_path, capsys) -> None:
    src = tmp_path / "busair.py"
    src.write_text(
        "from air.air import Air, Bus, BusTerm, Message\n"
        "def make():\n"
        "    air = Air('zb', 'one request, one response', n_challenges=3)\n"
        "    req, resp, x = air.columns('main', ['req', 'resp', 'x'])\n"
        "    m = Message('m', None, (('x', x),))\n"
        "    air.bus(Bus('b', 'multiset', 'acc', (BusTerm('u', 'request', req, (m,)),"
        " BusTerm('v', 'response', resp, (m,)))))\n"
        "    return air\n"
    )
    trace = tmp_path / "t.csv"
    trace.write_text("req,resp,x\n0,1,7\n0,0,0\n")
    code, out, err = cli(capsys, "check", str(trace), "--air", f"{src}:make")
    assert code == 1 and err == "", err
    assert "response m x=7, answered by a chiplet row at row 0, no request" in out
