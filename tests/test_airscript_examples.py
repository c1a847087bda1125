"""The AirScript examples (air/examples/airscript/*.air) and their traces (traces/airscript/).

The committed traces are what traces/airscript/regenerate.py writes (a staleness check, as tests/test_scenarios.py
does for traces/); the generator computes rows from the semantics written in the .air files' comments, with Python
ints, and asserts its own results (the bitwise chiplet's output equals x AND y / x XOR y).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from air.trace import load_trace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "air" / "examples" / "airscript"
TRACES = ROOT / "traces" / "airscript"


def _generator():
    spec = importlib.util.spec_from_file_location("airscript_regenerate", TRACES / "regenerate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_traces_are_what_the_generator_writes() -> None:
    expected = _generator().traces()
    assert {f"{name}.npz" for name, *_ in expected} == {p.name for p in TRACES.glob("*.npz")}
    for name, air_file, cols, pis, what in expected:
        t = load_trace(TRACES / f"{name}.npz")
        assert list(t.columns) == list(cols), name
        for c, values in cols.items():
            assert np.array_equal(t.columns[c], np.array(values, dtype=np.uint64)), f"{name}.npz: {c} is stale"
        assert t.public_inputs == pis, name
        assert t.meta["airscript"] == f"air/examples/airscript/{air_file}" and t.meta.get("broken", "") == what
        assert (EXAMPLES / air_file).is_file()


def test_the_generator_follows_the_designs_by_hand() -> None:
    g = _generator()
    fib, pis = g.fibonacci()
    # F(2..9) = 1 2 3 5 8 13 21 34: b.last = 34
    assert fib["b"] == [1, 2, 3, 5, 8, 13, 21, 34] and pis["result[0]"] == 34
    bit, pis = g.bitwise()
    # 0xB6C3 & 0x5A0F = 0x1203, 0xB6C3 ^ 0x5A0F = 0xECCC (worked nibble by nibble: B&5=1, 6&A=2, C&0=0, 3&F=3;
    # B^5=E, 6^A=C, C^0=C, 3^F=C); each at the cycle's last row
    assert bit["z"][7] == 0x1203 and bit["z"][15] == 0xECCC == pis["last_result[0]"]
    vm, pis = g.vm()
    # add(3,4)=7, mul=28, store (4,28) -> (0,5), add 5, add 10, mul 50, store (5,50) -> (0,6), nop, add 6
    assert (pis["stack_out[0]"], pis["stack_out[1]"]) == (6, 6)
    assert vm["m_addr"][13:] == [4, 5, 5] and vm["m_val"][13:] == [28, 50, 50]
    # ADD removes 4, 5, 5, 6 from the range-check bus
    assert vm["r_mult"][4:7] == [1, 2, 1] and sum(vm["r_mult"]) == 4
