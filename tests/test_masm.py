"""The MASM subset: parsing errors name file, line and column; assembly per design."""

import pytest

from air.miden import layout as L
from air.miden.masm import Block, Join, MasmError, assemble, parse


def write(tmp_path, text: str, name: str = "p.masm"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,where,what",
    [
        ("begin\n  push.1 frobnicate\nend\n", ":2:10:", "unknown instruction 'frobnicate'"),
        ("begin\n  push.1\n", ":1:1:", "'begin' is never closed: missing 'end'"),
        ("begin\n  if.true\n push.1\n", ":2:3:", "'if.true' is never closed"),
        ("begin\n  exec.nope\nend\n", ":2:3:", "undefined procedure 'nope'"),
        ("proc.a\nend\nproc.a\nend\nbegin\nend\n", ":3:1:", "defined twice"),
        ("begin\n  push.x1\nend\n", ":2:3:", "'x1' is not a number"),
        ("begin\n  loc_load.0\nend\n", ":2:3:", "local 0 is out of range"),
        ("begin\n  syscall.foo\nend\n", ":2:3:", "no exported kernel procedure 'foo'"),
    ],
)
def test_errors_name_file_line_col(tmp_path, text, where, what) -> None:
    p = write(tmp_path, text)
    with pytest.raises(MasmError) as e:
        assemble(p, None, "miden-v0.19")
    msg = str(e.value)
    assert msg.startswith(str(p)) and where in msg and what in msg


def test_parse_structure() -> None:
    mod = parse("proc.f.2\n push.1 loc_store.0\nend\nbegin\n if.true exec.f else push.2 end\n repeat.3 add end\nend\n")
    assert mod.procs["f"].locals == 2 and len(mod.main) == 2
    assert mod.main[0].text == "if.true" and mod.main[0].other is not None


def ops_of(node) -> list[str]:
    if isinstance(node, Block):
        return [o.name for o in node.ops]
    if isinstance(node, Join):
        return ops_of(node.first) + ops_of(node.second)
    return []


def test_locals_per_design(tmp_path) -> None:
    p = write(tmp_path, "proc.f.1\n loc_load.0\nend\nbegin\n exec.f\nend\n")
    v18 = ops_of(assemble(p, None, "miden-v0.18").entry)
    # prologue PUSH(4) FMPUPDATE; local 0 at fmp - 4: PUSH(-4) FMPADD MLOAD; epilogue PUSH(-4) FMPUPDATE
    assert v18 == ["PUSH", "FMPUPDATE", "PUSH", "FMPADD", "MLOAD", "PUSH", "FMPUPDATE"]
    prog = assemble(p, None, "miden-v0.19")
    v19 = ops_of(prog.entry)
    init = ["PUSH", "PUSH", "MSTORE", "DROP"]  # PUSH(2^31) PUSH(FMP_ADDR) MSTORE DROP at program start
    frame = ["PUSH", "PUSH", "MLOAD", "ADD", "PUSH", "MSTORE", "DROP"]
    assert v19 == init + frame + ["PUSH", "PUSH", "MLOAD", "ADD", "MLOAD"] + frame
    first = prog.entry.first if isinstance(prog.entry, Join) else prog.entry
    assert [o.imm for o in first.ops[:2]] == [L.FMP_INIT, L.FMP_ADDR]


def test_digests_distinguish_procedures(tmp_path) -> None:
    p = write(tmp_path, "proc.a\n push.1\nend\nproc.b\n push.2\nend\nbegin\n call.a call.b\nend\n")
    prog = assemble(p, None, "miden-v0.19")
    names = {v: k for k, v in prog.names.items()}
    assert names["a"] != names["b"] and all(0 <= x < L.P for x in names["a"])
