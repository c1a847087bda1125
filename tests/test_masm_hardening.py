"""Bad MASM programs give exit 2 and one line naming file:line:col, in bounded time and memory: deep
nesting, long call chains, recursion, huge repeat counts, endless loops, out-of-range immediates, kernel
procedures reached without syscall. Programs at the limits still run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from air.cli import main
from air.miden.executor import ExecutionError, run_program
from air.miden.masm import IMMEDIATES, MAX_NESTING, MasmError, assemble

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
KERNEL = PROGRAMS / "kernel.masm"
P = 2**64 - 2**32 + 1
LOC = re.compile(r"\.masm:\d+:\d+")  # file:line:col


def write(tmp_path: Path, text: str, name: str = "p.masm") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``air ARGS`` in-process through main() (exit-code mapping included): (code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> str:
    """Run ``path`` through the CLI; it must exit 2 with one stderr line naming file:line:col."""
    code, _, err = cli(capsys, "run", str(path), "--air", "miden-v0.19", *extra)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    assert "Traceback" not in err and LOC.search(lines[0]), lines[0]
    return lines[0]


def nested(opener: str, depth: int) -> str:
    """``depth`` blocks of ``opener`` inside each other around one instruction."""
    pre = "push.1 " if opener == "if.true" else ""
    return "begin\n" + (pre + opener + "\n") * depth + "push.0 drop\n" + "end\n" * depth + "end\n"


# ------------------------------------------------------------------------------------------ depth
@pytest.mark.parametrize("opener", ["if.true", "while.true", "repeat.1"])
def test_nesting_beyond_the_limit_is_refused_with_its_location(tmp_path, capsys, opener) -> None:
    p = write(tmp_path, nested(opener, 500))
    line = refused(capsys, p)
    # the first block past the limit, named with the limit
    assert f"p.masm:{MAX_NESTING + 2}:" in line and f"more than {MAX_NESTING} deep" in line


def test_nesting_at_the_limit_runs(tmp_path) -> None:
    p = write(tmp_path, nested("if.true", MAX_NESTING))
    res = run_program(p, None, "miden-v0.19")
    assert res.cycles > 2 * MAX_NESTING


def test_a_thousand_sequential_calls_run(tmp_path) -> None:
    p = write(tmp_path, "proc.f\n push.1 drop\nend\nbegin\n" + " call.f\n" * 1000 + "end\n")
    res = run_program(p, None, "miden-v0.19")
    assert res.cycles > 1000 * 5 and res.stack_outputs == [0] * 16


def test_repeat_around_a_control_block_runs(tmp_path) -> None:
    text = "begin\n push.0\n repeat.1000\n  push.1 if.true push.1 add else push.0 end\n end\n swap drop\nend\n"
    p = write(tmp_path, text)
    res = run_program(p, None, "miden-v0.19")
    assert res.stack_outputs[0] == 1000


def test_a_long_exec_chain_assembles_and_runs(tmp_path) -> None:
    n = 1000
    procs = "".join(f"proc.p{i}\n exec.p{i + 1}\nend\n" for i in range(n)) + f"proc.p{n}\n push.7\nend\n"
    p = write(tmp_path, procs + "begin\n exec.p0 swap drop\nend\n")  # depth 16 at the end
    assert run_program(p, None, "miden-v0.19").stack_outputs[0] == 7


def test_a_deep_stack_and_stack_inputs_beyond_16(tmp_path) -> None:
    p = write(tmp_path, "begin\n repeat.3000 push.1 end\n repeat.3000 drop end\n drop drop drop drop\nend\n")
    res = run_program(p, None, "miden-v0.19", stack_inputs=list(range(20)))
    assert res.stack_outputs == list(range(15, -1, -1))  # the last input on top; 4 dropped reveal 3..0


# ------------------------------------------------------------------------------------------ recursion
@pytest.mark.parametrize(
    "text,cycle,where",
    [
        ("proc.f\n exec.f\nend\nbegin\n exec.f\nend\n", "f -> f", ":2:2:"),
        ("proc.f\n call.g\nend\nproc.g\n exec.f\nend\nbegin\n call.f\nend\n", "f -> g -> f", ":5:2:"),
        ("proc.f\n procref.f dropw\nend\nbegin\n exec.f\nend\n", "f -> f", ":2:2:"),
        ("proc.f\n exec.f\nend\nbegin\n push.1\nend\n", "f -> f", ":2:2:"),  # unreachable, still refused
    ],
)
def test_recursive_procedures_are_refused(tmp_path, capsys, text, cycle, where) -> None:
    line = refused(capsys, write(tmp_path, text))
    assert "recursive procedure" in line and cycle in line and f"p.masm{where}" in line  # the edge closing it


def test_recursion_through_a_syscall_is_refused(tmp_path) -> None:
    k = write(tmp_path, "export.a\n call.b\nend\nproc.b\n syscall.a\nend\n", "k.masm")
    p = write(tmp_path, "begin\n syscall.a\nend\n")
    with pytest.raises(MasmError, match=r"k\.masm:5:2: recursive procedure 'a' \(a -> b -> a\)"):
        assemble(p, k, "miden-v0.19")


def test_dynexec_self_recursion_stops_at_the_cycle_cap(tmp_path, capsys) -> None:
    # f runs the procedure whose digest is at address 64: itself (not visible to the assembler)
    text = "proc.f\n push.64 dynexec\nend\nbegin\n procref.f push.64 mem_storew drop drop drop drop\n exec.f\nend\n"
    line = refused(capsys, write(tmp_path, text), "--max-cycles", "5000")
    assert f"program exceeded 5,000 cycles at {tmp_path / 'p.masm'}:2:" in line  # inside f


# ------------------------------------------------------------------------------------------ cycle cap
def test_endless_loop_stops_at_the_cap_with_one_line(tmp_path, capsys) -> None:
    p = write(tmp_path, "begin\n push.1\n while.true\n  push.1\n end\nend\n")
    line = refused(capsys, p, "--max-cycles", "5000")
    assert line == f"air: error: program exceeded 5,000 cycles at {p}:3:2 (while.true)"
    with pytest.raises(ExecutionError, match="exceeded 100 cycles"):
        run_program(p, None, "miden-v0.19", max_cycles=100)


def test_a_program_at_exactly_the_cap_runs(tmp_path) -> None:
    p = write(tmp_path, "begin\n repeat.20 push.1 drop end\nend\n")
    cycles = run_program(p, None, "miden-v0.19").cycles
    assert run_program(p, None, "miden-v0.19", max_cycles=cycles).cycles == cycles
    with pytest.raises(ExecutionError, match=f"exceeded {cycles - 1} cycles"):
        run_program(p, None, "miden-v0.19", max_cycles=cycles - 1)


def test_max_cycles_must_be_positive(tmp_path, capsys) -> None:
    p = write(tmp_path, "begin\n push.1\nend\n")
    code, _, err = cli(capsys, "run", str(p), "--max-cycles", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--max-cycles" in err


# ------------------------------------------------------------------------------------------ repeat
@pytest.mark.parametrize(
    "count,what",
    [
        ("10000000", "more than the cycle cap"),
        ("4294967295", "more than the cycle cap"),
        ("-1", "is not a number"),
        ("0", "out of range: expected a repeat count (1..4294967295)"),
        ("4294967296", "out of range"),
        ("18446744073709551616", "out of range"),
        ("9" * 5000, "out of range"),  # no int() of a huge literal
    ],
)
def test_repeat_counts_are_bounded_before_expanding(tmp_path, capsys, count, what) -> None:
    line = refused(capsys, write(tmp_path, f"begin\n repeat.{count}\n  push.1 drop\n end\nend\n"))
    assert "p.masm:2:2:" in line and what in line


def test_repeat_expansions_add_up_against_the_cap(tmp_path) -> None:
    # each repeat fits the cap alone, the three together do not
    p = write(tmp_path, "begin\n" + " repeat.400 push.2 drop end\n" * 3 + "end\n")
    with pytest.raises(MasmError, match=r"p\.masm:4:2: .*add up to 2,400 instructions, more than the cycle cap"):
        assemble(p, None, "miden-v0.19", max_cycles=2000)
    assemble(p, None, "miden-v0.19", max_cycles=2400)


def test_an_empty_repeat_with_the_largest_count_is_instant(tmp_path) -> None:
    p = write(tmp_path, "begin\n repeat.4294967295 end push.3 swap drop\nend\n")
    r = subprocess.run(
        [sys.executable, "-m", "air", "run", str(p), "--air", "miden-v0.19"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "stack: 3 " in r.stdout


# ------------------------------------------------------------------------------------------ immediates
@pytest.mark.parametrize(
    "instr,what",
    [
        ("mem_load.18446744073709551616", "out of range: expected a u32 address"),
        ("mem_load.4294967296", "out of range: expected a u32 address"),
        ("mem_storew.0x100000000", "out of range: expected a u32 address"),
        ("mem_load.1.2", "mem_load takes 0 to 1 immediate(s), not 2"),
        ("push.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", "push takes 1 to 16 immediate(s), not 17"),
        (f"push.{P}", "out of range: expected a field element"),
        ("push.-1", "'-1' is not a number"),
        ("push.1_000", "'1_000' is not a number"),
        ("push.", "'' is not a number"),
        ("drop.1", "drop takes no immediate"),
        ("dup.16", "out of range: expected a stack index (0..15)"),
        ("movup.16", "out of range"),
        ("exec.a.b", "exec takes 1 immediate(s), not 2"),
        ("exec.1x", "is not a procedure name"),
        ("loc_load.65536", "out of range: expected a u16 local index"),
        ("if.false", "unknown instruction 'if.false'"),
        ("else", "'else' outside an 'if.true' block"),
    ],
)
def test_immediates_follow_midens_rules(tmp_path, capsys, instr, what) -> None:
    line = refused(capsys, write(tmp_path, f"begin\n push.0 {instr}\nend\n"))
    assert "p.masm:2:9:" in line and what in line


@pytest.mark.parametrize("header,what", [("proc.f.-4", "is not a number"), ("proc.f.65536", "out of range")])
def test_local_counts_are_u16(tmp_path, capsys, header, what) -> None:
    line = refused(capsys, write(tmp_path, f"{header}\n push.1\nend\nbegin\n exec.f\nend\n"))
    assert "p.masm:1:1:" in line and what in line and "u16" in line


def test_every_instruction_refuses_one_immediate_too_many(tmp_path) -> None:
    """The table is the one place: every head is checked the same way."""
    for head, (_, most, _) in IMMEDIATES.items():
        text = head + ".1" * (most + 1) + (" push.1 end" if head == "repeat" else "")
        p = write(tmp_path, f"proc.g\n push.1\nend\nbegin\n {text}\nend\n")
        with pytest.raises(MasmError, match=r"p\.masm:5:2: .*(takes|is not a procedure name)"):
            assemble(p, None, "miden-v0.19")


def test_immediates_at_their_limits_are_accepted(tmp_path) -> None:
    text = f"proc.f.65535\n loc_load.65534 drop\nend\nbegin\n push.{P - 1}.0x10 mem_load.4294967295\n"
    text += " movup.3 drop movup.3 drop movup.3 drop\nend\n"  # depth 16 at the end
    p = write(tmp_path, text)
    prog = assemble(p, None, "miden-v0.19")
    res = run_program(p, None, "miden-v0.19")
    assert res.stack_outputs[:3] == [0, 16, P - 1] and prog.procedures


# ------------------------------------------------------------------------------------------ kernel
@pytest.mark.parametrize(
    "instr,what",
    [
        ("exec.leaf", "exec.leaf: kernel procedures are reachable from user code only by syscall"),
        ("call.leaf", "call.leaf: kernel procedures are reachable from user code only by syscall"),
        ("procref.leaf", "procref.leaf: kernel procedures are reachable from user code only by syscall"),
        ("call.reenter", "only by syscall"),  # not exported either
        ("syscall.reenter", "no exported kernel procedure 'reenter'"),
        ("syscall.nope", "no exported kernel procedure 'nope'"),
    ],
)
def test_kernel_procedures_only_by_syscall(tmp_path, capsys, instr, what) -> None:
    p = write(tmp_path, f"begin\n push.1 {instr}\nend\n")
    line = refused(capsys, p, "--kernel", str(KERNEL))
    assert "p.masm:2:9:" in line and what in line


def test_syscall_without_a_kernel(tmp_path, capsys) -> None:
    line = refused(capsys, write(tmp_path, "begin\n syscall.leaf\nend\n"))
    assert "p.masm:2:2: syscall.leaf: no exported kernel procedure 'leaf'" in line


# ------------------------------------------------------------------------------------------ execution errors
@pytest.mark.parametrize(
    "text,where,what",
    [
        ("begin\n push.5 if.true push.1 end\nend\n", ":2:9:", "condition 5 is not binary"),
        ("begin\n push.1 while.true push.7 end\nend\n", ":2:9:", "condition 7 is not binary"),
        ("begin\n push.1 mem_loadw\nend\n", ":2:9:", "unaligned address 1"),
        ("proc.f\n push.1\nend\nbegin\n call.f\nend\n", ":5:2:", "returned with stack depth 17"),
        ("begin\n push.4294967296 mem_load\nend\n", ":2:18:", "not a u32"),
    ],
)
def test_execution_errors_name_file_line_col(tmp_path, capsys, text, where, what) -> None:
    line = refused(capsys, write(tmp_path, text))
    assert f"p.masm{where}" in line and what in line


@pytest.mark.parametrize(
    "text,kernel,where,what",
    [
        ("proc.f\n push.1\nend\n", None, "p.masm:1:1:", "no 'begin ... end' block"),
        ("begin\n push.1\nend\n", "export.a\n push.1\nend\n\nbegin\n push.1\nend\n", "k.masm:5:1:", "kernel module"),
        (b"\xff\xfe begin", None, "p.masm:1:1:", "cannot read"),
    ],
)
def test_module_errors_name_a_location_too(tmp_path, capsys, text, kernel, where, what) -> None:
    p = tmp_path / "p.masm"
    p.write_bytes(text) if isinstance(text, bytes) else p.write_text(text)
    extra = ["--kernel", str(write(tmp_path, kernel, "k.masm"))] if kernel else []
    line = refused(capsys, p, *extra)
    assert where in line and what in line
