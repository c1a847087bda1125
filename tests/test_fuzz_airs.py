"""Fuzz: user AIR files from a grammar that mixes polynomials with every bad form we know of.

Each generated file is run through ``air degrees`` and ``air check`` (in-process through
``air.cli.main``): a valid AIR exits 0 or 1; a bad one exits 2 with exactly one line on stderr;
never 3, never a traceback. A hang would trip the alarm (an internal error, exit 3), not a timer.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from air.cli import main
from air.symbols import Cell

P = 2**64 - 2**32 + 1
WORK = Path(tempfile.mkdtemp(prefix="air-fuzz-"))
_counter = itertools.count()

CELLS = ["x", "y", "z", "x.next", "y.next", "z.next"]
CONSTS = ["0", "1", "2", "-3", "7", "(2**70)", "sp.Rational(1, 3)", "sp.Rational(-5, 2)"]  # rationals: field inverses
HUGE = ["(x + 1)**(10**6)", "(x*y)**(10**9)", "(y.next + 1)**(2**64)", "((x + y + z + 1)**60 - (x + y + z + 2)**60)"]
BAD_ATOMS = [
    "1.5",
    "-0.25",
    "sp.Float(2)",
    "sp.Rational(1, P)",
    "sp.Rational(3, 2*P)",
    "sp.oo",
    "-sp.oo",
    "sp.nan",
    "sp.zoo",
    "sp.sqrt(x)",
    "sp.Abs(y)",
    "2**x",
    "x**y",
    "x**sp.Rational(1, 2)",
    "sp.Symbol('w')",
    "Cell('undeclared')",
    "1/x",
    "sp.sin(z)",
    "sp.E",
    "sp.pi",
]
# structural faults, each a line of the builder (or a change to the file)
STRUCTURAL = [
    "air.bus(Bus('k', 'weird', 'acck', ()))",
    "air.bus(Bus('e', 'multiset', 'acce', (BusTerm('t', 'request', s, ()),)))",
    "air.bus(Bus('l3', 'logup', 'accl', (BusTerm('t', 'request', s, (m0, m0)),)))",
    "air.bus(Bus('w', 'multiset', 'accw', (BusTerm('t', 'sideways', s, (m0,)),)))",
    "air.bus(Bus('f', 'multiset', 'accf', (BusTerm('t', 'request', s, (Message('big', 1, tuple((f'f{i}', x) for i in range(9))),)),)))",  # noqa: E501
    "air.bus(Bus('n', 'multiset', 'accn', (BusTerm('t', 'request', s, (Message('m', 1.5, (('a', x),)),)),)))",
    "air.bus(Bus('z', 'multiset', 'x', (BusTerm('t', 'request', s, (m0,)),)))",  # accumulator named like a column
    "air.transition('zero', x * (1 / x) - 1)",
    "air.transition('dup', x)\n    air.transition('dup', y)",
    "air.column('main', 'x')",
    "raise ValueError('the builder gave up')",
    "raise SystemExit(0)",
    "1 / 0",
    "return None",
    "return Air",
    "air.bus('not a bus')",
    "COLUMN:x'",
    "CLASS",
]


def exprs() -> st.SearchStrategy[str]:
    """Polynomials over the cells: integer and rational coefficients, small powers, huge exponents."""
    leaves = st.sampled_from(CELLS + CONSTS)
    tree = st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub, st.integers(0, 3)).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(sub, st.sampled_from(HUGE)).map(lambda t: f"({t[0]} + {t[1]})"),
        ),
        max_leaves=8,
    )
    return tree


@st.composite
def air_files(draw) -> tuple[str, str, bool, tuple[int, ...]]:
    """(source, target attribute, valid for degrees, the exit codes ``check`` may give)."""
    bad_slot = draw(st.sampled_from(["none", "none", "satisfied", "expr", "structural", "logup_huge"]))
    slots = ["c0", "c1", "body", "flag", "field", "busflag", "mult"]
    bad_at = draw(st.sampled_from(slots)) if bad_slot == "expr" else None
    src: dict[str, str] = {}
    for slot in slots:
        e = draw(exprs())
        if _is_zero(e):  # an identically-0 constraint is refused: keep the valid ones valid
            e = f"({e}) + x"
        if slot == bad_at:
            e = f"({e}) + {draw(st.sampled_from(BAD_ATOMS))}"
        src[slot] = e
    if bad_slot == "satisfied":  # holds on the trace below (s is binary, 1 on row 0)
        src |= {"c0": "s*(s - 1)", "c1": "s - 1", "flag": f"s*(s - 1)*({src['flag']})", "busflag": "s - s**2"}
    structural = draw(st.sampled_from(STRUCTURAL)) if bad_slot == "structural" else None
    columns = "['x', 'y', 'z', 's']"
    lines = [
        f"air.transition('c0', {src['c0']})",
        f"air.boundary('c1', {src['c1']}, last={bad_slot != 'satisfied' and draw(st.booleans())})",
        f"op = air.operation('OP', {src['flag']})",
        f"air.constrain('g', body={src['body']}, operation=op)",
        f"m0 = Message('m', 1, (('f', {src['field']}), ('g', y)))",
        f"air.bus(Bus('b', 'multiset', 'acc', (BusTerm('t', 'request', {src['busflag']}, (m0,)),"
        f" BusTerm('u', 'response', {src['busflag']}, (m0,)))))",
    ]
    mult = "sp.Integer(2**40)" if bad_slot == "logup_huge" else f"s * ({src['mult']})" if bad_at == "mult" else "s"
    if draw(st.booleans()) or bad_slot == "logup_huge" or bad_at == "mult":
        lines.append(
            "air.bus(Bus('l', 'logup', 'accl2', (BusTerm('r', 'request', s, (m0,), multiplicity="
            f"{mult}), BusTerm('q', 'response', s, (m0,))), initial=0, final=0))"
        )
    tail = ""
    if structural == "COLUMN:x'":
        columns = "['x', 'y', 'z', \"x'\"]"
        lines = ["s = z"] + lines
    elif structural == "CLASS":
        tail = "\n\nclass MyAir(Air):\n    pass\n\n\nmake_air = MyAir\n"
    elif structural is not None:
        lines.insert(draw(st.integers(5, len(lines))), structural)  # after m0 is defined
    body = "".join(f"    {line}\n" for line in lines)
    source = (
        "import sympy as sp\nfrom air.air import Air, Bus, BusTerm, Message\nfrom air.symbols import Cell\n"
        f"P = {P}\n\n\ndef make_air():\n    air = Air('fz', 'fuzz', budget=9, n_challenges=6)\n"
        f"    x, y, z, s = air.columns('main', {columns})\n{body}    return air\n{tail}"
    )
    valid = bad_slot in ("none", "satisfied", "logup_huge")
    codes = {"none": (0, 1), "satisfied": (0,)}.get(bad_slot, (2,))
    if bad_at != "busflag" and _constant_not_binary(src["busflag"]):
        # a multiset term counts as f*u + 1 - f: a constant flag other than 0 or 1 is refused by every command
        valid, codes = False, (2,)
    return source, "make_air", valid, codes


_NS = {"sp": sp, "x": Cell("x"), "y": Cell("y"), "z": Cell("z"), "P": P}


def _constant_not_binary(src: str) -> bool:
    e = sp.sympify(eval(src, dict(_NS, s=Cell("s"))))
    return bool(e.is_Number) and e not in (0, 1)


def _is_zero(src: str) -> bool:
    return sp.sympify(eval(src, dict(_NS))) == 0  # the expression as the user's file will build it


def _trace() -> str:
    p = WORK / "trace.csv"
    if not p.exists():
        rows = [
            (3, 1, 4, 1),
            (1, 5, 9, 0),
            (2, 6, 5, 1),
            (3, 5, 8, 0),
            (9, 7, 9, 1),
            (3, 2, 3, 0),
            (8, 4, 6, 1),
            (2, 6, 4, 0),
        ]
        p.write_text("x,y,z,s\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(p)


def _alarm(signum, frame):
    raise TimeoutError("a fuzz case ran for more than 60 s")


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)  # a hang guard, not a timing assertion: a hang surfaces as exit 3
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, out.getvalue(), err.getvalue()


def _assert_outcome(code: int, err: str, codes: tuple[int, ...], what: str, source: str) -> None:
    ctx = f"{what}: exit {code}\n{err}\n--- the AIR file ---\n{source}"
    assert code != 3 and "Traceback" not in err, ctx
    assert code in codes, ctx
    if code != 2:
        assert err == "", ctx
    else:
        assert err.count("\n") == 1 and err.startswith("air: error: "), ctx


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(air_files())
def test_fuzz_user_airs(case: tuple[str, str, bool, tuple[int, ...]]) -> None:
    source, attr, valid_degrees, check_codes = case
    path = WORK / f"fuzz_air_{next(_counter)}.py"  # a new path each time: load_air caches by name
    path.write_text(source)
    target = f"{path}:{attr}"
    code, _, err = run_main("degrees", "--air", target)
    _assert_outcome(code, err, (0,) if valid_degrees else (2,), "degrees", source)
    code, _, err = run_main("check", _trace(), "--air", target)
    _assert_outcome(code, err, check_codes, "check", source)


def test_a_few_bad_airs_in_a_real_process() -> None:
    """The same promises with a real interpreter: stderr is one line, no traceback, exit 2."""
    for n, line in enumerate(["air.transition('c', x - 1.5)", "raise SystemExit(0)", "1 / 0"]):
        path = WORK / f"real_{n}.py"
        path.write_text(
            "from air.air import Air\n\n\ndef make_air():\n    air = Air('r', 'r')\n"
            f"    x, y, z, s = air.columns('main', ['x', 'y', 'z', 's'])\n    {line}\n    return air\n"
        )
        for args in (["degrees"], ["check", _trace()]):
            r = subprocess.run(
                [sys.executable, "-m", "air", *args, "--air", f"{path}:make_air"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
