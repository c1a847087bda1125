"""The ``air`` command: degree tables, comparisons, explanations, the degree gate and trace checks.

Exit codes: 0 success; 1 a check or gate found a problem (with a report); 2 bad input (one line on
stderr, never a traceback); 3 an internal error (one line; the traceback with ``air --debug ...``).

Only the command line loads user code (``--air file.py:OBJ``); a trace's metadata may name a
built-in AIR and nothing else.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from air.air import AirDefinitionError
from air.analysis import analyze
from air.degree import NotPolynomialError
from air.registry import AirNotFound, catalog, is_builtin, load_air, load_builtin

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_AIR = "miden-v0.18"


class BadInput(Exception):
    """An expected user error: printed as one line, exit code 2."""


def _known_errors() -> tuple[type[BaseException], ...]:
    from air.gate import BaselineError
    from air.trace import TraceError

    errs: list[type[BaseException]] = [
        AirNotFound,
        AirDefinitionError,
        NotPolynomialError,
        TraceError,
        BaselineError,
        BadInput,
    ]
    try:
        from air.miden.executor import ExecutionError  # type: ignore[attr-defined]
        from air.miden.masm import MasmError  # type: ignore[attr-defined]

        errs += [MasmError, ExecutionError]
    except ImportError:
        pass
    return tuple(errs)


def _fail(msg: str) -> None:
    lines = msg.strip().splitlines()
    click.echo(f"air: error: {lines[0] if lines else msg}", err=True)
    sys.exit(2)


def _default_air() -> str:
    names = [e.name for e in catalog()]
    return DEFAULT_AIR if DEFAULT_AIR in names else names[0]


FORMATS = click.Choice(["table", "json", "markdown"])
_STATE = {"debug": False}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="On an internal error (exit 3), print the traceback.")
def cli(debug: bool) -> None:
    """air: design and check the AIR constraints of STARK virtual machines (first: Miden VM)."""
    _STATE["debug"] = debug


@cli.command("airs")
@click.option("--columns", "columns_of", metavar="NAME", help="List NAME's columns and whether constraints read them.")
@click.option("--families", "families_of", metavar="NAME", help="Count NAME's constraints and bus terms per family.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="With --families.")
def airs_cmd(columns_of: str | None, families_of: str | None, fmt: str) -> None:
    """The AIRs air knows, with a one-line description each."""
    if families_of:
        from air.report import table
        from air.select import family_counts

        air = load_air(families_of)
        counts = family_counts(air)
        if not counts:
            raise BadInput(f"AIR {air.name} has no constraint families")
        if fmt == "json":
            doc = [
                dict(
                    family=c.family,
                    transition=c.transition,
                    boundary=c.boundary,
                    bus_terms=c.bus_terms,
                    buses=list(c.buses),
                )
                for c in counts
            ]
            click.echo(json.dumps({"air": air.name, "families": doc}, indent=2))
            return
        rows = [[c.family, c.transition, c.boundary, c.bus_terms, ", ".join(c.buses)] for c in counts]
        rows.append(
            [
                "total",
                sum(c.transition for c in counts),
                sum(c.boundary for c in counts),
                sum(c.bus_terms for c in counts),
                f"{len(air.buses)} buses",
            ]
        )
        head = ["family", "transition", "boundary", "bus terms", "declares buses"]
        if fmt == "markdown":
            click.echo("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
            for r in rows:
                click.echo("| " + " | ".join(str(x) for x in r) + " |")
            return
        click.echo(table(head, rows))
        return
    if columns_of:
        air = load_air(columns_of)
        read = air.read_columns()
        rows = []
        for c in air.layout:
            status = "read" if c.name in read else "UNCHECKED"
            why = air.unchecked.get(c.name, "" if c.name in read else "no constraint or bus reads it")
            rows.append([c.index, c.name, c.group, status, why])
        from air.report import table

        click.echo(table(["#", "column", "group", "constraints", "note"], rows))
        n_un = sum(1 for c in air.layout if c.name not in read)
        click.echo(f"{len(air.layout)} columns, {n_un} not read by any constraint or bus of {air.name}")
        return
    entries = catalog()
    width = max(len(e.name) for e in entries)
    for e in entries:
        click.echo(f"{e.name.ljust(width)}  {e.description}")


@cli.command("degrees")
@click.option("--air", "air_name", default=None, help="AIR name, file.py:OBJECT or module:OBJECT.")
@click.option("--by", type=click.Choice(["constraint", "op", "bus"]), default="constraint", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def degrees_cmd(air_name: str | None, by: str, fmt: str) -> None:
    """The degree table: per constraint, per operation (flag + body) or per bus term."""
    from air.report import degree_table

    air = load_air(air_name or _default_air())
    click.echo(degree_table(analyze(air), by=by, fmt=fmt))


@cli.command("compare")
@click.argument("names", nargs=-1, required=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def compare_cmd(names: tuple[str, ...], fmt: str) -> None:
    """Designs side by side: columns, operation and bus-term degrees, what exceeds the budget."""
    from air.report import compare

    click.echo(compare([analyze(load_air(n)) for n in names], fmt=fmt))


@cli.command("explain")
@click.argument("item")
@click.option("--air", "air_name", default=None, help="AIR name, file.py:OBJECT or module:OBJECT.")
def explain_cmd(item: str, air_name: str | None) -> None:
    """A constraint (or BUS, or BUS/TERM): pretty-printed, LaTeX, and its degree factor by factor."""
    from air.report import explain_item

    air = load_air(air_name or _default_air())
    try:
        click.echo(explain_item(air, item))
    except KeyError as e:
        raise BadInput(str(e.args[0])) from e


@cli.command("gate")
@click.option("--air", "air_name", required=True)
@click.option("--baseline", type=click.Path(dir_okay=False), required=True)
@click.option("--update", is_flag=True, help="Write the current degrees as the new baseline.")
def gate_cmd(air_name: str, baseline: str, update: bool) -> None:
    """Fail (exit 1) when any degree rose above the baseline or exceeds the budget."""
    from air.gate import compare_to_baseline, read_baseline, write_baseline

    a = analyze(load_air(air_name))
    if update:
        write_baseline(a, baseline)
        click.echo(f"wrote {baseline}: {len(a.constraints)} constraints, {len(a.operations)} operations")
        return
    regs = compare_to_baseline(a, read_baseline(baseline))
    if regs:
        click.echo(f"degree gate FAILED for {a.air.name} against {baseline}:")
        for r in regs:
            click.echo(f"  {r}")
        sys.exit(1)
    budget = "no budget declared" if a.budget is None else f"budget {a.budget}"
    click.echo(f"degree gate ok for {a.air.name}: max degree {a.max_degree}, {budget}, no regression")


def _parse_challenges(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x, 0) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise BadInput(f"--challenges: {text!r} is not a comma-separated list of integers") from e


@cli.command("check")
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--air", "air_name", default=None, help="AIR (default: the built-in AIR the trace's metadata names).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-failures", type=click.IntRange(min=1), default=5, show_default=True, help="Rows per constraint.")
@click.option("--context", type=click.IntRange(min=0), default=2, show_default=True, help="Rows around a failure.")
@click.option("--seed", default=0, show_default=True, help="Seed for the bus challenges.")
@click.option("--challenges", default=None, help="Bus challenges alpha_0,alpha_1,... instead of --seed.")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Also write a JUnit XML report.")
@click.option("--sarif", type=click.Path(dir_okay=False), default=None, help="Also write a SARIF report.")
@click.option("--no-color", is_flag=True, help="No colour even on a terminal.")
@click.option("--any-length", is_flag=True, help="Accept a row count that is not a power of two.")
@click.option(
    "--only",
    "only",
    default=None,
    metavar="FAMILY[,FAMILY]",
    help="Check only these constraint families (and the buses they declare), e.g. chiplets.memory or decoder.",
)
def check_cmd(
    trace_path: str,
    air_name: str | None,
    fmt: str,
    max_failures: int,
    context: int,
    seed: int,
    challenges: str | None,
    junit: str | None,
    sarif: str | None,
    no_color: bool,
    any_length: bool,
    only: str | None,
) -> None:
    """Check TRACE against an AIR: exit 0 if every constraint and bus holds, 1 with a report if not."""
    from air.diagnose import diagnose, render_text, to_json, to_junit, to_sarif
    from air.evaluate import check
    from air.trace import load_trace, match_air

    loaded = load_trace(trace_path, require_pow2=not any_length)  # read once; the AIR may come from its metadata
    air, source = _air_for_trace(trace_path, loaded.meta.get("air"), air_name)
    trace = match_air(loaded, air)
    selection = None
    if only is not None:
        from air.select import UnknownFamily, select_families

        try:
            air, selection = select_families(air, only.split(","))
        except UnknownFamily as e:
            raise BadInput(str(e)) from e
    result = check(air, trace)
    bus_report = None
    if air.buses:
        from air.buscheck import check_buses
        from air.evaluate import check_multiplicities

        check_multiplicities(air, trace)  # counts, bounded, before the matcher expands them

        try:
            bus_report = check_buses(air, trace, challenges=_parse_challenges(challenges), seed=seed)
        except ZeroDivisionError as e:  # a message equal to 0 under the chosen challenges
            raise BadInput(f"{trace_path}: {e}") from e
    d = diagnose(air, trace, result, max_failures=max_failures, context=context)
    ok = d.ok and (bus_report is None or bus_report.ok)
    checked = f"checked against AIR {air.name} ({source})"
    if selection is not None:  # a partial check says so, in every format
        checked += f"; {selection.summary()}"
    if result.not_evaluated:
        checked += (
            f"; {len(result.not_evaluated)} constraint(s) over bus columns not evaluated "
            f"({', '.join(result.not_evaluated)}); each bus is balanced on its own"
        )
    if fmt == "json":
        doc = to_json(d, bus_report)
        doc["checked_against"] = {"air": air.name, "source": source, "text": checked}
        doc["checked_against"]["not_evaluated"] = list(result.not_evaluated)
        if selection is not None:
            doc["checked_against"]["only"] = {
                "families": list(selection.families),
                "constraints_kept": selection.constraints_kept,
                "constraints_skipped": selection.constraints_skipped,
                "buses_kept": list(selection.buses_kept),
                "buses_skipped": list(selection.buses_skipped),
            }
        click.echo(json.dumps(doc, indent=2))
    else:
        color = sys.stdout.isatty() and not no_color
        click.echo(render_text(d, bus_report, color=color))
        click.echo(checked)
    if junit:
        Path(junit).write_text(to_junit(d, air, bus_report))
    if sarif:
        Path(sarif).write_text(json.dumps(to_sarif(d, air, bus_report), indent=1))
    sys.exit(0 if ok else 1)


def _air_for_trace(trace_path: str, named: object, air_name: str | None) -> tuple[Any, str]:
    """The AIR to check a trace against, and where it came from. The metadata may only name a built-in
    AIR, exactly (it never chooses code to run); ``--air`` may be anything, and wins."""
    if air_name is not None:
        air = load_air(air_name)
        if named is not None and named != air_name and named != air.name:
            # said in the report, not on stderr: a bad-input error later must stay the one line on stderr
            return air, f"--air; the trace names AIR {named!r}"
        return air, "--air"
    if named is None or named == "":
        raise BadInput(f"{trace_path}: the trace names no AIR; pass --air NAME")
    if not is_builtin(named):
        raise BadInput(f"{trace_path}: the trace names AIR {named!r}, which is not built in; pass --air to choose one")
    return load_builtin(str(named)), "from the trace's metadata"


@cli.command("run")
@click.argument("program", type=click.Path(dir_okay=False))
@click.option("--kernel", type=click.Path(dir_okay=False), default=None, help="Kernel module (syscall targets).")
@click.option("--air", "air_name", default=None, help="Design whose rules and layout to use.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the trace here.")
@click.option(
    "--max-cycles",
    type=click.IntRange(min=1),
    default=1 << 20,
    show_default=True,
    help="Refuse programs that run longer (and repeat blocks that would expand beyond it).",
)
def run_cmd(program: str, kernel: str | None, air_name: str | None, output: str | None, max_cycles: int) -> None:
    """Run a MASM PROGRAM on the reference executor; print the stack and cycles; export the trace."""
    try:
        from air.miden.executor import export, run_program  # type: ignore[attr-defined]
    except ImportError as e:
        raise BadInput(f"the reference executor is not available: {e}") from e
    res = run_program(program, kernel, air_name or _default_air(), max_cycles=max_cycles)
    click.echo(f"stack: {' '.join(str(v) for v in res.stack_outputs)}")
    click.echo(f"cycles: {res.cycles} (trace rows: {res.n_rows})")
    if output:
        export(res, output)
        click.echo(f"wrote {output}")


def main(argv: list[str] | None = None) -> None:
    """Run the ``air`` command; exit 0/1 by the result, 2 on bad input, 3 on an internal error."""
    errors = _known_errors()
    _STATE["debug"] = False
    try:
        cli.main(args=argv, prog_name="air", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.NoArgsIsHelpError as e:  # bare `air`: the help, as asked
        click.echo(e.ctx.get_help())
        sys.exit(0)
    except click.ClickException as e:  # usage errors too: one line, not click's three
        hint = f" (see air {e.ctx.info_name} --help)" if getattr(e, "ctx", None) and e.ctx.info_name != "air" else ""
        _fail(e.format_message() + hint)
    except click.exceptions.Abort:
        _fail("aborted")
    except errors as e:
        _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except (OSError, ValueError, KeyError) as e:
        _fail(f"{type(e).__name__}: {e}")
    except KeyboardInterrupt:
        click.echo("air: interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # a bug: one line (the traceback with --debug), never exit 1
        if _STATE["debug"]:
            traceback.print_exc()
        msg = ": " + str(e).strip().splitlines()[0] if str(e).strip() else ""
        click.echo(
            f"air: internal error: {type(e).__name__}{msg} (please report; rerun with --debug for the traceback)",
            err=True,
        )
        sys.exit(3)
