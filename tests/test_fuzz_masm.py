"""Fuzzing `air run` with generated and mutated MASM programs: every program either runs (exit 0) or is
refused with exit 2 and exactly one stderr line naming file:line:col; never exit 1/3, never a traceback,
within a time and memory bound. Programs that run give traces `air check --only` the executor's families
accepts (a sample).

The programs run in one worker process (``python -c WORKER``) under RLIMIT_AS = 2 GB, each with a
timeout: it calls ``air.cli.main`` as ``python -m air`` does, and reports the exit code and output, so
the suite pays the start-up once and a hang or a blow-up still fails the test instead of the run."""

from __future__ import annotations

import json
import re
import resource
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from air.miden.executor import FILLED_FAMILIES

PROGRAMS = Path(__file__).resolve().parent.parent / "traces" / "programs"
KERNEL = PROGRAMS / "kernel.masm"
SOURCES = sorted(p for p in PROGRAMS.glob("*.masm") if p.name != "kernel.masm")
P = 2**64 - 2**32 + 1
MAX_CYCLES = "5000"
TIMEOUT = 30.0  # seconds per program: a hang guard, not a timing assertion
MEMORY = 2 << 30  # RLIMIT_AS of the worker
LOC = re.compile(r"\.masm:\d+:\d+")

WORKER = r"""
import contextlib, io, json, sys, traceback
from air.cli import main
for line in sys.stdin:
    args = json.loads(line)
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # what `python -m air` would print
            traceback.print_exc()
            code = 1
    sys.__stdout__.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue()}) + "\n")
    sys.__stdout__.flush()
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


class Worker:
    """One long-lived ``air`` process under a memory limit; ``run`` times each command out."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_limit_memory,
            )
        return self.proc

    def run(self, *args: str) -> tuple[int, str, str]:
        proc = self.start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(list(args)) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        if not ready:
            self.stop()
            pytest.fail(f"air {' '.join(args)}: no answer within {TIMEOUT} s")
        line = proc.stdout.readline()
        if not line:  # the worker died (e.g. out of memory)
            err = proc.stderr.read() if proc.stderr else ""
            self.stop()
            pytest.fail(f"air {' '.join(args)}: the worker died: {err[-2000:]}")
        r = json.loads(line)
        return r["code"], r["out"], r["err"]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    w = Worker()
    yield w
    w.stop()


CHECKED: dict[str, int] = {}  # test -> traces checked so far (a sample: `air check` costs ~1 s)
CHECK_AT_MOST = 3


def run_and_judge(worker: Worker, tmp: Path, text: str, test: str, kernel: Path | None = None) -> int:
    """Run ``text`` through `air run`; assert the contract; check a sample of the traces. The exit code."""
    prog = tmp / "fuzz.masm"
    prog.write_text(text)
    trace = tmp / "fuzz.npz"
    trace.unlink(missing_ok=True)
    args = ["run", str(prog), "--air", "miden-v0.19", "--max-cycles", MAX_CYCLES, "-o", str(trace)]
    if kernel is not None:
        args += ["--kernel", str(kernel)]
    code, out, err = worker.run(*args)
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code in (0, 2), (code, err, text)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("air: error: "), (err, text)
        assert LOC.search(lines[0]), (lines[0], text)
        return code
    assert "stack:" in out and "cycles:" in out and trace.exists()
    if CHECKED.get(test, 0) < CHECK_AT_MOST:
        CHECKED[test] = CHECKED.get(test, 0) + 1
        c_code, c_out, c_err = worker.run("check", str(trace), "--only", ",".join(FILLED_FAMILIES))
        assert c_code == 0 and c_out.startswith("OK"), (c_out[-3000:], c_err, text)
    return code


# ------------------------------------------------------------------------------------------ generated programs
GOOD_NUMBERS = st.one_of(st.integers(0, 20), st.sampled_from([64, 2**16 - 1, 2**16, 2**32 - 4, 2**32 - 1, P - 1]))
BAD_NUMBERS = st.sampled_from([2**32, P, 2**64, -1, "x", "", "0x10", "1_0", "9" * 30])


def rarely(draw: st.DrawFn, odds: int = 30) -> bool:
    """True about once in ``odds`` draws (one program has dozens of instructions: errors must be rare)."""
    return draw(st.integers(0, odds - 1)) == odds // 2


@st.composite
def number(draw: st.DrawFn) -> object:
    return draw(BAD_NUMBERS if rarely(draw) else GOOD_NUMBERS)


SIMPLE = ["add", "sub", "mul", "eq", "drop", "swap", "pad", "assert", "assert_eq", "caller", "dup", "dynexec"]
SIMPLE += ["dyncall", "mem_load", "mem_store", "mem_loadw", "mem_storew"]
# the field, stack and input instructions (masm.STACK_INSTRUCTIONS)
SIMPLE += ["neg", "inv", "incr", "not", "and", "or", "xor", "eq.0", "neq.3", "add.2", "mul.0", "div.7", "pow2",
           "exp.u4", "eqw", "swapw", "swapdw", "dupw.1", "movdn.5", "movup.12", "swap.9", "dup.10", "reversew", "padw",
           "dropw", "cswap", "cdropw", "sdepth", "clk", "adv_push.1"]  # fmt: skip


@st.composite
def instruction(draw: st.DrawFn, n_procs: int, n_locals: int) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        return f"push.{draw(number())}" if kind else "push." + ".".join(str(draw(st.integers(0, 9))) for _ in range(3))
    if kind == 3:
        return draw(st.sampled_from(SIMPLE))
    if kind == 4:
        if draw(st.booleans()):
            return f"dup.{draw(st.integers(8, 17) if rarely(draw) else st.sampled_from([0, 1, 2, 3, 5, 7, 9, 15]))}"
        return f"movup.{draw(st.integers(0, 17) if rarely(draw) else st.integers(2, 8))}"
    if kind == 5:
        head = draw(st.sampled_from(["mem_load", "mem_store", "mem_loadw", "mem_storew"]))
        return f"{head}.{draw(number())}" if draw(st.booleans()) else f"push.{4 * draw(st.integers(0, 40))} {head}"
    if kind == 6 and n_locals:
        head = draw(st.sampled_from(["loc_load", "loc_store", "loc_loadw", "loc_storew", "locaddr"]))
        wild = rarely(draw)  # sometimes out of range
        return f"{head}.{draw(st.integers(0, n_locals + 1 if wild else max(n_locals - 1, 0)))}"
    if kind in (7, 8) and n_procs:
        how = draw(st.sampled_from(["exec", "call", "exec", "procref", "exec"] * 4 + ["syscall"]))
        # callable: p_0..p_{n_procs - 1}; sometimes one more (the procedure itself, or undefined)
        wild = rarely(draw)
        return f"{how}.p{draw(st.integers(0, n_procs if wild else n_procs - 1))}"
    return draw(st.sampled_from(["push.0", "push.1", "pad", "drop", "push.64 dynexec", "push.64 dyncall"]))


@st.composite
def block(draw: st.DrawFn, depth: int, n_procs: int, n_locals: int) -> list[str]:
    out: list[str] = []
    for _ in range(draw(st.integers(0 if depth else 1, 6))):
        kind = draw(st.integers(0, 9 if depth < 3 else 5))
        if kind <= 5:
            out.append(draw(instruction(n_procs, n_locals)))
            continue
        body = draw(block(depth + 1, n_procs, n_locals))
        cond = draw(st.sampled_from(["push.0", "push.1", "push.1", ""] * 5 + ["push.2"]))
        if kind == 6:
            other = draw(block(depth + 1, n_procs, n_locals))
            out += [cond, "if.true", *body] + (["else", *other] if other else []) + ["end"]
        elif kind == 7:
            out += [cond, "while.true", *body, draw(st.sampled_from(["push.0", "push.1", ""])), "end"]
        else:
            count = draw(st.sampled_from([0, 2**32, 10**7]) if rarely(draw) else st.sampled_from([1, 2, 5, 100]))
            out += [f"repeat.{count}", *body, "end"]
    return out


@st.composite
def program(draw: st.DrawFn) -> str:
    n_procs = draw(st.integers(0, 4))
    lines: list[str] = []
    for i in range(n_procs):
        n_locals = draw(st.sampled_from([0, 0, 1, 4, 7]))
        header = f"proc.p{i}" + (f".{n_locals}" if n_locals else "")
        # p_i invokes p_0..p_{i-1}, sometimes itself (recursion)
        lines += [header, *draw(block(1, i, n_locals)), "end"]
    lines += ["begin", "procref.p0 push.64 mem_storew drop drop drop drop" if n_procs else "push.0"]
    # back to depth 16 before the end, as Miden requires (a deeper program is refused: OutputStackOverflow)
    lines += [*draw(block(0, n_procs, 0)), "sdepth neq.16 while.true drop sdepth neq.16 end", "end"]
    text = "\n".join(x for x in lines if x) + "\n"
    if rarely(draw, 20):  # sometimes a token deleted: unbalanced blocks
        toks = text.split()
        del toks[draw(st.integers(0, len(toks) - 1))]
        text = " ".join(toks)
    return text


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@FUZZ
@given(text=program())
def test_generated_programs_run_or_are_refused_in_one_line(worker, tmp_path_factory, text) -> None:
    run_and_judge(worker, tmp_path_factory.mktemp("gen"), text, "generated")


# ------------------------------------------------------------------------------------------ mutated programs
def mutate(text: str, how: int, at: int, value: str) -> str:
    """One change to ``text``'s tokens: delete, duplicate, swap with the next, or change a number."""
    lines = [ln.split("#", 1)[0].split() for ln in text.splitlines()]
    spots = [(i, j) for i, ln in enumerate(lines) for j in range(len(ln))]
    if not spots:
        return text
    i, j = spots[at % len(spots)]
    tok = lines[i][j]
    if how == 0:
        del lines[i][j]
    elif how == 1:
        lines[i].insert(j, tok)
    elif how == 2:
        k, m = spots[(at + 1) % len(spots)]
        lines[i][j], lines[k][m] = lines[k][m], lines[i][j]
    else:
        numbered = [(a, b) for a, b in spots if re.search(r"\.\d+", lines[a][b])]
        if numbered:
            a, b = numbered[at % len(numbered)]
            lines[a][b] = re.sub(r"\.\d+", "." + value, lines[a][b], count=1)
    return "\n".join(" ".join(ln) for ln in lines) + "\n"


NEW_NUMBERS = ["0", "1", "3", "4", "5", "16", "64", "65536", "4294967295", "4294967296", str(P), str(2**64), "-1", "x"]


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    changes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.sampled_from(NEW_NUMBERS)), min_size=1, max_size=3
    ),
    mutate_kernel=st.booleans(),
)
def test_mutated_scenarios_run_or_are_refused_in_one_line(
    worker, tmp_path_factory, source, changes, mutate_kernel
) -> None:
    tmp = tmp_path_factory.mktemp("mut")
    text, ktext = source.read_text(), KERNEL.read_text()
    for how, at, value in changes:
        if mutate_kernel and at % 2:
            ktext = mutate(ktext, how, at, value)
        else:
            text = mutate(text, how, at, value)
    kernel = tmp / "kernel.masm"
    kernel.write_text(ktext)
    run_and_judge(worker, tmp, text, "mutated", kernel)


def test_the_unmutated_scenarios_run_and_check(worker, tmp_path) -> None:
    """The fuzz harness itself: the seed programs run (exit 0) and their traces check."""
    codes = [run_and_judge(worker, tmp_path, src.read_text(), f"seed-{src.stem}", KERNEL) for src in SOURCES[:2]]
    assert codes == [0, 0]
