"""Built-in designs are fresh objects on every call, can be derived with an instruction of one's own, and
two AIRs sharing a name are told apart in ``air compare``.

Degrees are derived by hand: opcode 94 = 0b101_1110 is in the degree-5 class, its flag is
``e0 * b3 * b2 * b1 * (1 - b0)`` (docs/src/design/stack/op_constraints.md), so ``flag * (s0' - 2 s0)`` has
degree 5 + 1 = 6, and a request of one memory message (fields of degree 1) has term degree 5 + 1 = 6.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy as sp

from air import load_air
from air.miden import layout as L
from air.miden import messages as M
from air.miden.designs import V19, MidenAir, miden_v0_19
from air.symbols import Cell


def test_builtin_designs_are_fresh_objects() -> None:
    a = miden_v0_19()
    n, name, budget = len(a.constraints), a.name, a.budget
    a.constraints.clear()
    a.name = "changed"
    a.budget = 3
    a.families.clear()
    a.periodic.clear()
    b = miden_v0_19()
    assert b is not a and len(b.constraints) == n == 360 and b.name == name == "miden-v0.19" and b.budget == budget
    assert b.families and b.periodic
    c = load_air("miden-v0.19")  # through the registry too
    c.operations.pop()
    assert len(load_air("miden-v0.19").operations) == len(miden_v0_19().operations) == len(c.operations) + 1


def my_rules(b, flag) -> None:
    s = b.stack.s
    b.constrain("myop_double", flag=flag, body=s[0].next - 2 * s[0], operation="MYOP")
    msg = M.memory("memory read element", L.MEMORY_READ_ELEMENT, b.system.ctx, s[1], b.system.clk, [s[0].next])
    b.request("chiplets", "u_myop", flag, (msg,), factors=("m_read",), operation="MYOP")


@pytest.fixture(scope="module")
def derived() -> MidenAir:
    return miden_v0_19().with_operation("MYOP", 94, effect=(("no", 1),), define=my_rules)


def test_with_operation_adds_an_instruction(derived) -> None:
    from air.analysis import analyze

    assert derived.name == "miden-v0.19+MYOP" and derived.design.opcodes["MYOP"] == 94
    e0, b = Cell("e0", 0), [Cell(f"b{i}", 0) for i in range(7)]
    assert sp.expand(derived.op("MYOP").flag - e0 * b[3] * b[2] * b[1] * (1 - b[0])) == 0
    a = analyze(derived)
    assert a.constraint("myop_double").degree == 6 and a.term("chiplets", "u_myop").degree == 6
    assert derived.families["myop_double"] == "user.MYOP" and derived.families["bus:chiplets/u_myop"] == "user.MYOP"
    # the base design is untouched, and the same derivation is available on the data (Design)
    assert not miden_v0_19().has_constraint("myop_double") and "MYOP" not in V19.opcodes
    assert V19.with_operation("MYOP", 94, effect=(("no", 1),)).opcodes["MYOP"] == 94


def test_with_operation_refuses_a_taken_slot_or_name() -> None:
    with pytest.raises(ValueError, match="opcode 92 is not a free slot \\(taken by DYNCALL\\)"):
        V19.with_operation("MYOP", 92, effect=(("no", 0),))
    with pytest.raises(ValueError, match="'CALL' exists already"):
        V19.with_operation("CALL", 94, effect=(("no", 0),))
    with pytest.raises(ValueError, match="stack effect"):
        V19.with_operation("MYOP", 94, effect=(("up", 0),))


def test_with_operation_keeps_the_slot_and_the_shift_consistent() -> None:
    # op_constraints.md: f_shl = prefix 010 (32..47) + named ops, f_shr = prefix 011 (48..63) + named ops
    with pytest.raises(ValueError, match="MYOP in slot 47 needs a left shift"):
        V19.with_operation("MYOP", 47, effect=(("no", 0),))
    with pytest.raises(ValueError, match="MYOP in slot 94 needs no shift of the whole stack"):
        V19.with_operation("MYOP", 94, effect=(("left", 1),))
    with pytest.raises(ValueError, match="MYOP in slot 6 needs no shift"):
        V19.with_operation("MYOP", 6, effect=(("right", 0),))
    assert V19.with_operation("MYOP", 47, effect=(("left", 1),)).opcodes["MYOP"] == 47
    # the same rule holds for every built-in operation the shift flags select by prefix (the docs' effect lines)
    from air.miden.constraints.stack.general import EFFECTS
    from air.miden.design import _check_shift_class
    from air.miden.opcodes import OPCODES_V18, OPCODES_V19

    named = {"U32ADD3", "U32MADD", "SPLIT", "LOOP", "REPEAT", "END", "DYN", "DYNCALL", "U32SPLIT", "PUSH"}
    for op, code in {**OPCODES_V18, **OPCODES_V19}.items():
        if op not in named:
            _check_shift_class("v", op, code, EFFECTS[op])


def test_compare_tells_apart_airs_of_one_name(air_cli, tmp_path, monkeypatch) -> None:
    src = tmp_path / "my_design.py"
    src.write_text(
        "from air.miden import layout as L\n"
        "from air.miden import messages as M\n"
        "from air.miden.designs import miden_v0_19\n"
        "def rules(b, flag):\n"
        "    b.constrain('myop_double', flag=flag, body=b.stack.s[0].next - 2 * b.stack.s[0], operation='MYOP')\n"
        "def make_air():\n"
        "    return miden_v0_19().with_operation('MYOP', 94, effect=(('no', 1),), define=rules, name='miden-v0.19')\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = air_cli("compare", "miden-v0.19", "my_design.py:make_air", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [a["label"] for a in doc["airs"]] == ["miden-v0.19 (built-in)", "miden-v0.19 (my_design.py)"]
    assert "MYOP" not in doc["airs"][0]["operations"] and doc["airs"][1]["operations"]["MYOP"] == 8
    code, out, _ = air_cli("compare", "miden-v0.19", "my_design.py:make_air")
    assert code == 0 and "miden-v0.19 (built-in)" in out and "miden-v0.19 (my_design.py)" in out
    code, out, _ = air_cli("compare", "fibonacci", "fibonacci", "--format", "json")  # the same AIR twice
    assert code == 0 and [a["label"] for a in json.loads(out)["airs"]] == [
        "fibonacci (built-in) #1",
        "fibonacci (built-in) #2",
    ]
    code, out, _ = air_cli("compare", "miden-v0.19", "miden-v0.18")  # distinct names stay bare
    assert code == 0 and "(built-in)" not in out
    assert Path(src).is_file()
