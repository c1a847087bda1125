"""The ``air`` command: degree tables, comparisons, explanations, the degree gate and trace checks.

Exit codes: 0 success; 1 a check or gate found a problem (with a report); 2 bad input (one line on
stderr, never a traceback); 3 an internal error (one line; the traceback with ``air --debug ...``).

Only the command line loads user code (``--air file.py:OBJ``); a trace's metadata may name a
built-in AIR and nothing else.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

# Imports that pull in sympy or numpy are made inside the commands that need them: `air --version`, `airs`,
# `--help` and a cached `air degrees` start without them (air.registry, air.analysis, air.cache need neither).
from air.cache import cache_enabled, cached_analysis
from air.registry import AirNotFound, catalog, is_builtin, load_air, load_builtin

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(Exception):
    """An expected user error: printed as one line, exit code 2."""


def _known_errors() -> tuple[type[BaseException], ...]:
    from air.air import AirDefinitionError
    from air.airscript.parser import AirScriptError
    from air.degree import NotPolynomialError
    from air.gate import BaselineError
    from air.trace import TraceError

    errs: list[type[BaseException]] = [
        AirNotFound,
        AirDefinitionError,
        NotPolynomialError,
        TraceError,
        BaselineError,
        BadInput,
        AirScriptError,
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


def _need_air(air_name: str | None, command: str) -> str:
    """``--air`` or a one-line error naming what to pass: no command picks an AIR silently."""
    if air_name:
        return air_name
    names = ", ".join(e.name for e in catalog())
    raise BadInput(f"air {command} needs --air NAME (built in: {names}; or file.py:OBJECT, module:OBJECT)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("air")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _use_color(no_color_flag: bool) -> bool:
    """Colour only on a terminal, and never with ``--no-color`` or ``NO_COLOR`` set to anything but
    the empty string (the convention of https://no-color.org)."""
    import os

    return not no_color_flag and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


FORMATS = click.Choice(["table", "json", "markdown"])
NO_CACHE = click.option(
    "--no-cache", is_flag=True, help="Compute the degrees, not read them from the degree cache (or AIR_NO_CACHE=1)."
)
_PLOT_HELP = "draw a heat map of the degrees, coloured by headroom to the budget (needs pip install 'air[plot]')"
_STATE = {"debug": False}


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the version is looked up only when asked (importlib.metadata costs ~0.05 s to import)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"air {_version()}")
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="On an internal error (exit 3), print the traceback.")
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
    help="Show the version and exit.",
)
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
@click.option("--air", "air_name", default=None, help="AIR name, file.py:OBJECT or module:OBJECT (required).")
@click.option("--by", type=click.Choice(["constraint", "op", "bus"]), default="constraint", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--traces",
    "trace_list",
    default=None,
    metavar="T1.npz[,T2.npz...]",
    help="With --by op: add a 'rows' column, how many rows of these traces each operation occurs on.",
)
@click.option(
    "--plot", "plot_path", default=None, metavar="FILE.svg|FILE.png", help="With --by op: also " + _PLOT_HELP + "."
)
@NO_CACHE
def degrees_cmd(
    air_name: str | None, by: str, fmt: str, trace_list: str | None, plot_path: str | None, no_cache: bool
) -> None:
    """The degree table: per constraint, per operation (flag + body) or per bus term."""
    from air.report import degree_table

    if plot_path is not None and by != "op":
        raise BadInput("--plot: the heat map is drawn by operation; pass --by op")
    _plot_format(plot_path)
    spec = _need_air(air_name, "degrees")
    cov = None
    if trace_list is None:  # the definition alone: the degree cache may hold it (air.cache)
        a = cached_analysis(spec, cache_enabled(no_cache))
    else:
        air = load_air(spec)
        if by != "op":
            raise BadInput("--traces: the coverage column is shown by operation only; pass --by op")
        cov = _trace_coverage(trace_list, air, str(air_name))
        a = cached_analysis(spec, cache_enabled(no_cache), air=air)
    _plot([a], None, plot_path)
    click.echo(degree_table(a, by=by, fmt=fmt, coverage=cov))


def _plot_format(plot_path: str | None) -> None:
    """Refuse a --plot file that is neither .svg nor .png before any work is done."""
    if plot_path is not None:
        from air.plot import plot_format

        try:
            plot_format(plot_path)
        except ValueError as e:
            raise BadInput(str(e)) from None


def _plot(analyses: Sequence[Any], labels: Sequence[str] | None, plot_path: str | None) -> None:
    """Draw the degree heat map of ``analyses`` to ``plot_path`` (nothing when None); a missing
    matplotlib is bad input naming the extra to install."""
    if plot_path is None:
        return
    from air.plot import PlotUnavailable, render
    from air.plot_data import heatmap

    hm = heatmap(analyses, labels)
    if not hm.rows:
        raise BadInput(f"{plot_path}: nothing to plot: no operation and no bus in {', '.join(hm.airs)}")
    try:
        render(hm, plot_path)
    except PlotUnavailable as e:
        raise BadInput(str(e)) from None


def _trace_coverage(trace_list: str, air: Any, air_name: str) -> Any:
    """``air.coverage.coverage`` of the comma-separated traces, each loaded and matched to ``air`` the way
    ``air coverage`` does (a trace naming another AIR, or missing a column, is bad input)."""
    from air.coverage import coverage
    from air.trace import load_trace, match_air

    paths = [p.strip() for p in trace_list.split(",") if p.strip()]
    if not paths:
        raise BadInput("--traces: no trace given")
    traces = []
    for p in paths:
        t = load_trace(p)
        named = t.meta.get("air")
        if named not in (None, "", air_name, air.name):
            raise BadInput(f"{p}: the trace names AIR {named!r}, not {air.name!r} (--air)")
        traces.append(match_air(t, air))
    return coverage(air, traces, operations_only=True)


@cli.command("compare")
@click.argument("names", nargs=-1, required=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--plot", "plot_path", default=None, metavar="FILE.svg|FILE.png", help="Also " + _PLOT_HELP + ".")
@NO_CACHE
def compare_cmd(names: tuple[str, ...], fmt: str, plot_path: str | None, no_cache: bool) -> None:
    """Designs side by side: columns, operation and bus-term degrees, what exceeds the budget."""
    from air.report import compare

    _plot_format(plot_path)
    analyses = [cached_analysis(n, cache_enabled(no_cache)) for n in names]
    labels = compare_labels(names, [a.air.name for a in analyses])
    _plot(analyses, labels, plot_path)
    click.echo(compare(analyses, fmt=fmt, labels=labels))


def compare_labels(specs: Sequence[str], names: Sequence[str]) -> list[str]:
    """Column labels for ``air compare``: the AIR's name, and where two AIRs share one, where each came from
    (``miden-v0.19 (built-in)`` vs ``miden-v0.19 (my_design.py)``; the full spec if that is still ambiguous,
    a number if the same spec is given twice)."""

    def origin(spec: str) -> str:
        if is_builtin(spec):
            return "built-in"
        target = spec.rpartition(":")[0]
        return Path(target).name if target.endswith(".py") or "/" in target else target

    first = [n if names.count(n) == 1 else f"{n} ({origin(s)})" for s, n in zip(specs, names)]
    second = [lab if first.count(lab) == 1 else f"{n} ({s})" for lab, s, n in zip(first, specs, names)]
    # the same spec twice: numbered
    return [b if second.count(b) == 1 else f"{a} #{i + 1}" for i, (a, b) in enumerate(zip(first, second))]


@cli.command("explain")
@click.argument("item")
@click.option("--air", "air_name", default=None, help="AIR name, file.py:OBJECT or module:OBJECT (required).")
def explain_cmd(item: str, air_name: str | None) -> None:
    """A constraint, an operation (its flag, constraints and bus terms), a BUS or BUS/TERM, with degrees."""
    from air.report import explain_item

    air = load_air(_need_air(air_name, "explain"))
    try:
        click.echo(explain_item(air, item))
    except KeyError as e:
        raise BadInput(str(e.args[0])) from e


@cli.command("gate")
@click.option("--air", "air_name", required=True, help="AIR name, file.py:OBJECT or module:OBJECT.")
@click.option("--baseline", type=click.Path(dir_okay=False), required=True)
@click.option("--update", is_flag=True, help="Write the current degrees as the new baseline.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github: ::error/::warning annotations, and a Markdown summary to $GITHUB_STEP_SUMMARY (else stdout).",
)
@click.option("--allow-other-air", is_flag=True, help="Compare with a baseline written for another AIR.")
@NO_CACHE
def gate_cmd(air_name: str, baseline: str, update: bool, fmt: str, allow_other_air: bool, no_cache: bool) -> None:
    """Fail (exit 1) when a degree rose, an item is new, the maximum rose, or an item exceeds the budget."""
    import os

    from air.gate import (
        check_air_name,
        gate,
        read_baseline,
        render_github,
        render_json,
        render_markdown,
        write_baseline,
    )
    from air.gate import render_text as gate_text

    a = cached_analysis(air_name, cache_enabled(no_cache))
    if update:
        write_baseline(a, baseline)
        click.echo(f"wrote {baseline}: {len(a.constraints)} constraints, {len(a.operations)} operations")
        return
    doc = read_baseline(baseline)
    if not allow_other_air:
        check_air_name(doc, a.air.name, baseline)
    result = gate(a, doc)
    if fmt == "json":
        click.echo(json.dumps(render_json(result, baseline), indent=2))
    elif fmt == "github":
        click.echo(render_github(result, baseline, Path(baseline).read_text()))
        summary = render_markdown(result, baseline)
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if target:
            with open(target, "a") as f:
                f.write(summary)
        else:
            click.echo(summary, nl=False)
    else:
        click.echo(gate_text(result, baseline))
    sys.exit(0 if result.ok else 1)


def _parse_challenges(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x, 0) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise BadInput(f"--challenges: {text!r} is not a comma-separated list of integers") from e


@cli.command("check")
@click.argument("trace_paths", metavar="TRACE", nargs=-1, required=True)
@click.option("--air", "air_name", default=None, help="AIR (default: the built-in AIR the trace's metadata names).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--max-failures",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Failures shown (and written in JSON) per constraint and unmatched messages per bus; totals are counted.",
)
@click.option("--context", type=click.IntRange(min=0), default=2, show_default=True, help="Rows around a failure.")
@click.option("--seed", default=0, show_default=True, help="Seed for the bus challenges.")
@click.option("--challenges", default=None, help="Bus challenges alpha_0,alpha_1,... instead of --seed.")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Also write a JUnit XML report.")
@click.option("--sarif", type=click.Path(dir_okay=False), default=None, help="Also write a SARIF report.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a self-contained HTML page: summary, failures along the trace, windows, bus totals, coverage.",
)
@click.option("--no-color", is_flag=True, help="No colour even on a terminal (as NO_COLOR=1 does).")
@click.option("--hex", "hex_values", is_flag=True, help="Print field elements in hexadecimal.")
@click.option(
    "--group-by",
    type=click.Choice(["row", "constraint"]),
    default="row",
    show_default=True,
    help="List failures in trace-row order, or constraint by constraint.",
)
@click.option("--force", is_flag=True, help="Check against --air even when the trace's metadata names another AIR.")
@click.option("--any-length", is_flag=True, help="Accept a row count that is not a power of two.")
@click.option(
    "--only",
    "only",
    default=None,
    metavar="FAMILY[,FAMILY]",
    help="Check only these constraint families (and the buses they declare), e.g. chiplets.memory or decoder.",
)
@click.option(
    "--public",
    "public_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.json",
    help="Public inputs {name: value, table: [[row], ...]} (group members as name[i]); they replace the trace's own.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Chunks (or traces) checked at once [default: the core count; 1: no pool].",
)
@click.option(
    "--pool",
    type=click.Choice(["threads", "processes"]),
    default="threads",
    show_default=True,
    help="How --jobs runs a trace's chunks: threads (one process; the compiled kernels run without the GIL) or "
    "processes (a memory-mapped trace only: each worker reads its rows from the file; one interpreter each).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Rows per chunk [default: sized to hold ~256 MiB of a chunk's working set].",
)
@click.option(
    "--dask",
    "dask_address",
    default=None,
    metavar="SCHEDULER_ADDRESS",
    help="Run the chunks (or traces) on this Dask cluster (pip install 'air[dask]').",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Lower the compiled programs, not read them from the tape cache (or AIR_NO_CACHE=1).",
)
def check_cmd(
    trace_paths: tuple[str, ...],
    air_name: str | None,
    fmt: str,
    max_failures: int,
    context: int,
    seed: int,
    challenges: str | None,
    junit: str | None,
    sarif: str | None,
    html_path: str | None,
    no_color: bool,
    hex_values: bool,
    group_by: str,
    force: bool,
    any_length: bool,
    only: str | None,
    public_path: str | None,
    jobs: int | None,
    pool: str,
    chunk_rows: int | None,
    dask_address: str | None,
    no_cache: bool,
) -> None:
    """Check TRACE against an AIR: exit 0 if every constraint and bus holds, 1 with a report if not.

    Several TRACEs (or a quoted glob, ``'traces/**/*.npz'``) are a corpus: one summary line each and a total;
    exit 1 if any fails, 2 if any is bad input. The check runs in row chunks (map/reduce; the same report)."""
    paths = _expand_traces(trace_paths)
    client = _dask_client(dask_address) if dask_address else None
    if len(paths) > 1:
        from air.chunked import default_jobs

        n_jobs = jobs if jobs is not None else default_jobs()
        if junit or sarif:
            raise BadInput("--junit/--sarif: one TRACE at a time")
        opts = dict(
            air_name=air_name,
            seed=seed,
            challenges=challenges,
            force=force,
            any_length=any_length,
            only=only,
            chunk_rows=chunk_rows,
            public_path=public_path,
            no_cache=no_cache,
            pool=pool,
        )
        try:
            code = _check_corpus(paths, opts, fmt, n_jobs, client)
        finally:
            if client is not None:
                client.close()
        sys.exit(code)
    trace_path = paths[0]
    from air.trace import match_air, open_trace  # numpy only: the columns start inflating before sympy loads

    # the trace's metadata (it may name the AIR) is read now; its columns inflate and validate on threads (zlib and
    # numpy without the GIL) while this thread loads the compiled kernels, imports sympy and builds the AIR (all
    # GIL-bound, so one after the other: _warm_kernels)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, LOAD_SWITCH_INTERVAL))
    try:
        pending = open_trace(trace_path, require_pow2=not any_length)
        _warm_kernels(trace_path)
        try:
            from air.chunked import default_jobs
            from air.diagnose import render_text, to_json

            n_jobs = jobs if jobs is not None else default_jobs()
            _apply_public(pending, public_path)
            key = _tape_key(air_name, pending.meta.get("air"), only, no_cache)
            fast = None
            if key is not None and client is None and not (junit or sarif or html_path):
                fast = _check_from_cache(
                    trace_path, pending, key, only, air_name, challenges, seed, chunk_rows, n_jobs, pool=pool
                )
            if fast is None or not fast[-1]:  # not cached, or something to explain: the AIR is needed
                air, source = _air_for_trace(trace_path, pending.meta.get("air"), air_name, force)
        except Exception:
            pending.result()  # a bad column is the error, as when the whole trace was read first
            raise
        if fast is None:
            trace = match_air(pending.result(), air)
    finally:
        sys.setswitchinterval(interval)
    selection = None
    if fast is not None:
        f, selection, source, trace, res, ok_fast = fast
        name, result, bus_report = f.name, res.result, res.buses
        if ok_fast:  # every constraint holds and every bus balances: the report needs no AIR
            from air.diagnose import ok_diagnosis

            d = ok_diagnosis(
                f.name, trace, f.n_constraints, f.operations, f.n_columns, f.unread_columns, res.operations,
                max_failures,
            )
        else:  # explained with the AIR, from the same result (the tapes it ran are the AIR's)
            from air.chunked import resolve_operations
            from air.diagnose import diagnose

            if only is not None:
                air, selection = _select(air, only)
            resolve_operations(air, trace, res)
            d = diagnose(air, trace, result, max_failures=max_failures, context=context, occurring=res.operations)
    else:
        from air.diagnose import diagnose

        if only is not None:
            air, selection = _select(air, only)
            if key is not None:  # what a check of the same selection from the cache will say it kept
                from dataclasses import asdict

                from air.tape_cache import store_doc

                store_doc(_selection_doc(key), asdict(selection))
        try:
            result, bus_report, occurring = _run_check(
                air, trace, trace_path, challenges, seed, chunk_rows, n_jobs, client, tape_key=key, pool=pool
            )
        finally:
            if client is not None:
                client.close()
        d = diagnose(air, trace, result, max_failures=max_failures, context=context, occurring=occurring)
        name = air.name
    ok = d.ok and (bus_report is None or bus_report.ok)
    checked = f"checked against AIR {name} ({source})"
    if selection is not None:  # a partial check says so, in every format
        checked += f"; {selection.summary()}"
    if result.not_evaluated:
        checked += (
            f"; {len(result.not_evaluated)} constraint(s) over bus columns not evaluated "
            f"({', '.join(result.not_evaluated)}); each bus is balanced on its own"
        )
    if fmt == "json" or html_path:  # one report, rendered as JSON and as the HTML page
        doc = to_json(d, bus_report)
        doc["checked_against"] = {"air": name, "source": source, "text": checked}
        doc["checked_against"]["not_evaluated"] = list(result.not_evaluated)
        if selection is not None:
            doc["checked_against"]["only"] = {
                "families": list(selection.families),
                "constraints_kept": selection.constraints_kept,
                "constraints_skipped": selection.constraints_skipped,
                "buses_kept": list(selection.buses_kept),
                "buses_skipped": list(selection.buses_skipped),
            }
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        color = _use_color(no_color)
        click.echo(render_text(d, bus_report, color=color, group_by=group_by, hex=hex_values), color=color)
        click.echo(checked)
    if junit:
        from air.diagnose import to_junit

        Path(junit).write_text(to_junit(d, air, bus_report))
    if sarif:
        from air.diagnose import to_sarif

        Path(sarif).write_text(json.dumps(to_sarif(d, air, bus_report), indent=1))
    if html_path:
        from air.html_report import check_html

        unmatched = [u.row for b in bus_report.buses for u in b.unmatched] if bus_report is not None else []
        page = check_html(air, trace, doc, [f.rows for f in result.failures], unmatched)
        Path(html_path).write_text(page, encoding="utf-8")
    sys.exit(0 if ok else 1)


def _select(air: Any, only: str) -> tuple[Any, Any]:
    """``--only``: the AIR with the named families only, and what it kept (an unknown family is bad input)."""
    from air.select import UnknownFamily, select_families

    try:
        return select_families(air, only.split(","))
    except UnknownFamily as e:
        raise BadInput(str(e)) from e


def _selection_doc(key: str) -> str:
    import hashlib

    return "selection-" + hashlib.sha256(key.encode()).hexdigest()


def _cached_selection(key: str) -> Any:
    """The ``select.Selection`` a check with the AIR stored for ``--only`` under ``key``, or None."""
    from air.select import Selection

    doc = None
    try:
        from air.tape_cache import load_doc

        doc = load_doc(_selection_doc(key))
        if type(doc) is not dict:
            return None
        names = [doc["families"], doc["buses_kept"], doc["buses_skipped"]]
        counts = [doc["constraints_kept"], doc["constraints_skipped"]]
        if any(type(v) is not list or any(type(x) is not str for x in v) for v in names):
            return None
        if any(type(c) is not int for c in counts):
            return None
        return Selection(tuple(names[0]), counts[0], counts[1], tuple(names[1]), tuple(names[2]))
    except (KeyError, TypeError):
        return None


def _check_from_cache(
    trace_path: str,
    pending: Any,
    key: str,
    only: str | None,
    air_name: str | None,
    challenges: str | None,
    seed: int,
    chunk_rows: int | None,
    jobs: int,
    progress: bool = True,
    pool: str = "threads",
) -> tuple[Any, Any, str, Any, Any, bool] | None:
    """The check of a trace whose AIR's plan and tapes are cached (``chunked.check_cached``), with no AIR built
    and no sympy imported: (the AIR's ``plan.PlanFacts``, the ``--only`` selection, source, trace,
    ``ChunkedResult``, whether all holds). None when it cannot (not cached, bad input): the check with the AIR
    then runs and reports. Only for an AIR the trace names, or ``--air`` naming the same one (a mismatch is
    explained with the AIR); with ``--only``, once a check with the AIR stored what the selection kept."""
    from types import SimpleNamespace

    from air.chunked import check_cached, default_chunk_rows
    from air.plan import load_facts
    from air.registry import is_builtin
    from air.trace import TraceError, match_air

    named = pending.meta.get("air")
    if air_name is None and not (isinstance(named, str) and named and is_builtin(named)):
        return None
    if air_name is not None and named is not None and named != air_name:
        return None
    stored = load_facts(key)
    selection = _cached_selection(key) if only is not None else None
    if stored is None or (only is not None and selection is None):
        return None
    facts = stored[0]
    if air_name is not None and named is not None and named != facts.name:
        return None
    try:
        trace = match_air(pending.result(), SimpleNamespace(name=facts.name, column_names=facts.column_names))
    except TraceError:
        return None  # the check with the AIR says it, as ever
    rows = chunk_rows or default_chunk_rows(trace.n_rows, len(trace.columns), jobs)
    bar = _progress_bar(-(-trace.n_rows // rows), "checking") if progress else _NoBar()
    try:
        res = check_cached(
            key, stored, trace, challenges=_parse_challenges(challenges), seed=seed, chunk_rows=rows, jobs=jobs,
            progress=bar.update, pool=pool,
        )
    finally:
        bar.close()
    if res is None:
        return None
    source = "--air" if air_name is not None else "from the trace's metadata"
    ok = not res.result.failures and (res.buses is None or res.buses.ok)
    return facts, selection, source, trace, res, ok


def _apply_public(loaded: Any, public_path: str | None) -> None:
    """``--public FILE.json``: its public inputs and tables replace the trace's own (``loaded``: a ``Trace``, or a
    ``TraceLoad`` whose result is not taken yet)."""
    if public_path is None:
        return
    from air.trace import load_public_inputs

    scalars, tables = load_public_inputs(public_path)
    loaded.public_inputs = {**loaded.public_inputs, **scalars}
    loaded.public_tables = {**loaded.public_tables, **tables}


def _expand_traces(args: Sequence[str]) -> list[str]:
    """TRACE arguments: a path (file, or directory of .npy files), or a glob the shell left unexpanded
    (``**`` matches any depth); a glob that matches nothing is bad input."""
    import glob

    out: list[str] = []
    for a in args:
        if not Path(a).exists() and any(c in a for c in "*?["):
            found = sorted(glob.glob(a, recursive=True))
            if not found:
                raise BadInput(f"{a}: no trace matches this pattern")
            out.extend(found)
        else:
            out.append(a)
    return out


def _dask_client(address: str) -> Any:
    """A ``distributed.Client`` connected to ``address`` (the optional extra ``air[dask]``)."""
    try:
        from distributed import Client
    except ImportError as e:
        raise BadInput("--dask needs Dask's distributed scheduler: pip install 'air[dask]'") from e
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise BadInput(f"--dask {address}: cannot reach the scheduler ({type(e).__name__}: {e})") from e


class _NoBar:
    """A progress bar that shows nothing."""

    unit = ""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, what: str) -> Any:
    """A progress bar on stderr, shown only on a terminal and only once the stage has run a second (tqdm); off a
    terminal, one that shows nothing (and tqdm's import, ~0.03 s, is not paid)."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(
        total=total, desc=what, unit="chunk", file=sys.stderr, delay=1.0, disable=not sys.stderr.isatty(), leave=False
    )


LOAD_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (``sys.setswitchinterval``; Python's default is
0.005), while the trace loads beside the AIR build: a loader thread comes back from each call that ran without the
GIL (read, inflate, CRC, copy, max: ~5 per column) and waits up to this long for the main thread to let go of it."""

WARM_BYTES = 1 << 20  # a trace file this large (or a directory) has columns long enough for the compiled kernels


def _warm_kernels(path: str) -> None:
    """Load the compiled kernels (numba's import and its on-disk cache, ~0.7 s) now, for a trace large enough to
    use them, while the trace's columns inflate on their threads (zlib without the GIL). In this thread, before
    sympy's import and the AIR's build, not beside them: both hold the GIL, and two threads taking turns at it ran
    ~0.4 s slower end to end than one after the other (2 cores, a 2^20-row trace: min 3.32 s against 3.82 s, 6
    interleaved runs each). ``kernels.load`` is idempotent and locked."""
    try:
        p = Path(path)
        big = p.is_dir() or p.stat().st_size >= WARM_BYTES
    except OSError:
        return  # load_trace names the problem
    if big:
        from air import kernels

        kernels.load()


def _tape_key(air_name: str | None, named: object, only: str | None, no_cache: bool) -> str | None:
    """The tape cache's key for the AIR a check runs (``air.cache.definition_key`` of ``--air``, else of the AIR the
    trace names; with the family selection), or None: no cache, or an AIR whose key does not cover its files."""
    spec = air_name if air_name is not None else named
    if not cache_enabled(no_cache) or not isinstance(spec, str) or not spec:
        return None
    from air.cache import definition_key

    key = definition_key(spec)
    return None if key is None else f"{key}\0{only or ''}"


def _run_check(
    air: Any,
    trace: Any,
    trace_path: str,
    challenges: str | None,
    seed: int,
    chunk_rows: int | None,
    jobs: int,
    client: Any,
    progress: bool = True,
    tape_key: str | None = None,
    pool: str = "threads",
) -> tuple[Any, Any, set[str]]:
    """The constraints' result, the buses' report (None without buses) and the operations that occur, checked
    chunk by chunk (air.chunked: the single pass's results)."""
    from air.chunked import check_chunked, default_chunk_rows

    rows = chunk_rows or default_chunk_rows(trace.n_rows, len(trace.columns), jobs)
    bar = _progress_bar(-(-trace.n_rows // rows), "checking") if progress else _NoBar() if progress else None
    try:
        ch = check_chunked(
            air,
            trace,
            challenges=_parse_challenges(challenges),
            seed=seed,
            chunk_rows=rows,
            jobs=jobs,
            dask_client=client,
            progress=bar.update if bar is not None else None,
            tape_key=tape_key,
            pool=pool,
        )
    except ZeroDivisionError as e:  # a message equal to 0 under the chosen challenges
        raise BadInput(f"{trace_path}: {e}") from e
    finally:
        if bar is not None:
            bar.close()
    return ch.result, ch.buses, ch.operations


def _check_one(path: str, opts: dict[str, Any], jobs: int) -> tuple[int, str, dict[str, Any]]:
    """One trace of a corpus: (exit code, summary line, JSON summary); bad input is caught and said."""
    from air.trace import load_trace, match_air

    try:
        from types import SimpleNamespace

        loaded = load_trace(path, require_pow2=not opts["any_length"])
        _apply_public(loaded, opts["public_path"])
        key = _tape_key(opts["air_name"], loaded.meta.get("air"), opts["only"], opts["no_cache"])
        fast = None
        if key is not None:  # from the cache: the summary line needs only the result's counts, never the AIR
            pending = SimpleNamespace(meta=loaded.meta, result=lambda: loaded)
            fast = _check_from_cache(
                path, pending, key, opts["only"], opts["air_name"], opts["challenges"], opts["seed"],
                opts["chunk_rows"], jobs, progress=False, pool=opts["pool"],
            )
        if fast is not None:
            facts, _, _, trace, res, _ = fast
            name, result, buses = facts.name, res.result, res.buses
        else:
            air, _ = _air_for_trace(path, loaded.meta.get("air"), opts["air_name"], opts["force"])
            trace = match_air(loaded, air)
            if opts["only"] is not None:
                air, _ = _select(air, opts["only"])
            result, buses, _ = _run_check(
                air, trace, path, opts["challenges"], opts["seed"], opts["chunk_rows"], jobs, None, False, key,
                pool=opts["pool"],
            )
            name = air.name
    except _known_errors() as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return 2, f"{path}: bad input: {msg}", {"trace": path, "status": "bad input", "error": msg}
    failing = len(result.failures)
    unmatched = sum(len(b.unmatched) for b in buses.buses) if buses is not None else 0
    unbalanced = sum(1 for b in buses.buses if not b.ok) if buses is not None else 0
    ok = failing == 0 and unbalanced == 0
    doc = {
        "trace": path,
        "status": "ok" if ok else "fail",
        "air": name,
        "rows": trace.n_rows,
        "failing_constraints": failing,
        "failing_rows": int(sum(len(f.rows) for f in result.failures)),
        "unbalanced_buses": unbalanced,
        "unmatched_messages": unmatched,
    }
    if ok:
        return 0, f"{path}: ok ({trace.n_rows} rows, AIR {name})", doc
    first = min((int(f.rows[0]) for f in result.failures if len(f.rows)), default=None)
    where = f", first failing row {first}" if first is not None else ""
    return (
        1,
        (
            f"{path}: FAIL ({trace.n_rows} rows, AIR {name}): {failing} constraint(s) fail{where}; "
            f"{unbalanced} bus(es) unbalanced, {unmatched} unmatched message(s)"
        ),
        doc,
    )


def _check_corpus(paths: list[str], opts: dict[str, Any], fmt: str, jobs: int, client: Any) -> int:
    """Every trace of a corpus, fanned out over a pool (or Dask) one trace per task; a line each and a total."""
    results: dict[int, tuple[int, str, dict[str, Any]]] = {}
    bar = _progress_bar(len(paths), "traces")
    bar.unit = "trace"
    try:
        if client is not None:
            from distributed import as_completed

            futs = {client.submit(_check_one, p, opts, 1, pure=False): i for i, p in enumerate(paths)}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                bar.update(1)
        elif jobs > 1 and len(paths) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            with ProcessPoolExecutor(min(jobs, len(paths)), mp_context=ctx) as pool:
                pfuts = {pool.submit(_check_one, p, opts, 1): i for i, p in enumerate(paths)}
                for f in as_completed(pfuts):
                    results[pfuts[f]] = f.result()
                    bar.update(1)
        else:
            for i, p in enumerate(paths):
                results[i] = _check_one(p, opts, 1)
                bar.update(1)
    finally:
        bar.close()
    ordered = [results[i] for i in range(len(paths))]
    codes = [c for c, _, _ in ordered]
    n_ok, n_fail, n_bad = codes.count(0), codes.count(1), codes.count(2)
    total = f"{len(paths)} traces: {n_ok} ok, {n_fail} failing, {n_bad} bad input"
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "traces": [d for _, _, d in ordered],
                    "total": {"traces": len(paths), "ok": n_ok, "failing": n_fail, "bad_input": n_bad},
                },
                indent=2,
            )
        )
    else:
        for _, line, _ in ordered:
            click.echo(line)
        click.echo(total)
    return 2 if n_bad else (1 if n_fail else 0)


def _air_for_trace(trace_path: str, named: object, air_name: str | None, force: bool = False) -> tuple[Any, str]:
    """The AIR to check a trace against, and where it came from. The metadata may only name a built-in
    AIR, exactly (it never chooses code to run); ``--air`` may be anything. When both name an AIR and
    they differ, ``--force`` is needed (then the report says so)."""
    if air_name is not None:
        air = load_air(air_name)
        if named is not None and named != air_name and named != air.name:
            if not force:
                raise BadInput(
                    f"{trace_path}: the trace names AIR {named!r}, not {air.name!r} (--air); "
                    "pass --force to check it against --air anyway"
                )
            # said in the report, not on stderr: a bad-input error later must stay the one line on stderr
            return air, f"--air; the trace names AIR {named!r}"
        return air, "--air"
    if named is None or named == "":
        raise BadInput(f"{trace_path}: the trace names no AIR; pass --air NAME")
    if not is_builtin(named):
        raise BadInput(f"{trace_path}: the trace names AIR {named!r}, which is not built in; pass --air to choose one")
    return load_builtin(str(named)), "from the trace's metadata"


PROGRESS_AFTER = 1.0  # seconds of running before `air run` shows its progress line (on a terminal only)


class _Progress:
    """``air run``'s progress line on stderr: cycles so far and cycles/s, rewritten in place with ``\\r``, once the
    run has taken more than ``PROGRESS_AFTER`` seconds, and only when stderr is a terminal."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, cycles: int) -> None:
        elapsed = time.perf_counter() - self.start
        err = sys.stderr
        if elapsed <= PROGRESS_AFTER or not err.isatty():
            return
        err.write(f"\r{cycles:,} cycles, {cycles / elapsed:,.0f} cycles/s")
        err.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:  # end the line the progress was rewriting
            sys.stderr.write("\n")
            sys.stderr.flush()


@cli.command("run")
@click.argument("program", type=click.Path(dir_okay=False))
@click.option("--kernel", type=click.Path(dir_okay=False), default=None, help="Kernel module (syscall targets).")
@click.option("--air", "air_name", default=None, help="Design whose rules and layout to use (required).")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Write the trace here (.npz, .csv, .parquet; DIR/ for a directory of .npy files, memory-mapped when read).",
)
@click.option("--force", is_flag=True, help="Overwrite an -o trace whose metadata names another AIR or design.")
@click.option(
    "--max-cycles",
    type=click.IntRange(min=1),
    default=1 << 20,
    show_default=True,
    help="Refuse programs that run longer (and repeat blocks that would expand beyond it).",
)
@click.option(
    "--advice",
    default=None,
    metavar="V1,V2,...",
    help="The advice stack, its top first (field elements, decimal or 0x-hex): what adv_push/adv_loadw read.",
)
@click.option(
    "--merkle-tree",
    "merkle_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE.json",
    help="A Merkle tree for mtree_verify: a JSON list of leaves, each 4 field elements (repeatable).",
)
def run_cmd(
    program: str,
    kernel: str | None,
    air_name: str | None,
    output: str | None,
    max_cycles: int,
    advice: str | None,
    merkle_files: tuple[str, ...],
    force: bool,
) -> None:
    """Run a MASM PROGRAM on the reference executor; print the stack and cycles; export the trace."""
    try:
        from air.miden.executor import export, run_program  # type: ignore[attr-defined]
    except ImportError as e:
        raise BadInput(f"the reference executor is not available: {e}") from e
    design = _need_air(air_name, "run")
    values = _advice_values(advice)
    trees = [_merkle_leaves(f) for f in merkle_files]
    if output and not force:
        _refuse_other_design(output, design)
    progress = _Progress()
    try:
        res = run_program(
            program, kernel, design, max_cycles=max_cycles, progress=progress, advice=values, merkle_trees=trees
        )
    finally:
        progress.done()
    click.echo(f"stack: {' '.join(str(v) for v in res.stack_outputs)}")
    click.echo(f"cycles: {res.cycles} (trace rows: {res.n_rows})")
    if output:
        export(res, output)
        click.echo(f"wrote {output}")


def _refuse_other_design(path: str, design: str) -> None:
    """``air run -o PATH`` over an existing trace whose metadata names another AIR or design than
    ``--air``: refused (exit 2) unless ``--force``, as ``air check`` refuses to check such a trace."""
    from air.trace import TraceError, load_trace

    if not Path(path).is_file():
        return
    try:
        meta = load_trace(path, require_pow2=False).meta
    except TraceError:
        return  # not a trace air reads: nothing names a design
    named = [meta[k] for k in ("design", "air") if isinstance(meta.get(k), str)]
    if named and design not in named:
        raise BadInput(
            f"{path}: the trace there names AIR {named[-1]!r}, not {design!r} (--air); pass --force to overwrite it"
        )


def _documented_open(air: Any) -> tuple:
    """The holes a Miden design's docs leave open on purpose (air.miden.holes), for lint and probe reports."""
    if not str(air.name).startswith("miden"):
        return ()
    from air.miden.holes import documented_open

    return tuple(documented_open(air))


@cli.command("lint")
@click.option("--air", "air_name", default=None, help="AIR name, file.py:OBJECT or module:OBJECT.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def lint_cmd(air_name: str | None, fmt: str) -> None:
    """Holes from the definition alone: unread columns, dead flags, bodiless operations, free columns per op;
    selector groups (an AirScript match) that are not binary or not exclusive (exit 1)."""
    from air.lint import lint, render

    air = load_air(_need_air(air_name, "lint"))
    res = lint(air, _documented_open(air))
    click.echo(json.dumps(res.to_json(), indent=2) if fmt == "json" else render(res, fmt))
    # the other findings are holes to review (exit 0, as before); a selector problem is an error in the AIR
    sys.exit(1 if res.selector_problems else 0)


def _probe_air(trace_path: str, air_name: str | None, only: str | None) -> tuple[Any, Any]:
    from air.trace import load_trace, match_air

    loaded = load_trace(trace_path)
    air, _ = _air_for_trace(trace_path, loaded.meta.get("air"), air_name)
    trace = match_air(loaded, air)
    if only is not None:
        from air.select import UnknownFamily, select_families

        try:
            air, _ = select_families(air, only.split(","))
        except UnknownFamily as e:
            raise BadInput(str(e)) from e
    return air, trace


@cli.command("probe")
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--air", "air_name", default=None, help="AIR (default: the built-in AIR the trace's metadata names).")
@click.option("--samples", type=click.IntRange(min=1), default=4, show_default=True, help="Mutations per (column, op).")
@click.option("--seed", default=0, show_default=True, help="Seed of the mutations and the bus challenges.")
@click.option("--column", default=None, help="Mutate only this column.")
@click.option("--operation", default=None, help="Mutate only rows of this operation.")
@click.option("--only", default=None, metavar="FAMILY[,FAMILY]", help="Probe only these constraint families.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--all", "all_pairs", is_flag=True, help="List every (column, operation) pair, not only survivors.")
@click.option("--fail-on-survivor", is_flag=True, help="Exit 1 when a mutation survives.")
def probe_cmd(
    trace_path: str,
    air_name: str | None,
    samples: int,
    seed: int,
    column: str | None,
    operation: str | None,
    only: str | None,
    fmt: str,
    all_pairs: bool,
    fail_on_survivor: bool,
) -> None:
    """Change cells of an honest TRACE one at a time; name the (column, operation) pairs nothing catches."""
    from air.lint import lint
    from air.probe import probe, render

    air, trace = _probe_air(trace_path, air_name, only)
    try:
        res = probe(
            air,
            trace,
            samples=samples,
            seed=seed,
            column=column,
            operation=operation,
            lint_result=lint(air, _documented_open(air)),
        )
    except KeyError as e:
        raise BadInput(f"{trace_path}: {e.args[0]}") from e
    click.echo(json.dumps(res.to_json(), indent=2) if fmt == "json" else render(res, fmt, all_pairs))
    sys.exit(1 if fail_on_survivor and res.survivors else 0)


@cli.command("coverage")
@click.argument("trace_paths", metavar="TRACE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--air", "air_name", default=None, help="AIR (default: the built-in AIR the first trace names).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def coverage_cmd(trace_paths: tuple[str, ...], air_name: str | None, fmt: str) -> None:
    """Over TRACEs: rows per operation, constraints ever active, bus terms ever fired, and what never was."""
    from air.coverage import coverage, render
    from air.trace import load_trace, match_air

    loaded = [load_trace(p) for p in trace_paths]
    air, _ = _air_for_trace(trace_paths[0], loaded[0].meta.get("air"), air_name)
    cov = coverage(air, [match_air(t, air) for t in loaded])
    click.echo(json.dumps(cov.to_json(), indent=2) if fmt == "json" else render(cov, fmt))


def _advice_values(text: str | None) -> list[int]:
    """``--advice``: comma-separated field elements (Miden's AdviceInputs::with_stack_values refuses values >= p)."""
    if text is None:
        return []
    out = []
    for i, item in enumerate(text.split(","), 1):
        s = item.strip()
        try:
            v = int(s, 16) if s.lower().startswith("0x") else int(s, 10)
        except ValueError:
            raise BadInput(f"--advice: value {i} ({s[:24]!r}) is not a number") from None
        if not 0 <= v < 2**64 - 2**32 + 1:
            raise BadInput(f"--advice: value {i} ({s[:24]}) is not a field element (0..p-1)")
        out.append(v)
    return out


def _merkle_leaves(path: str) -> list[list[int]]:
    """``--merkle-tree FILE``: a JSON list of leaves, each a list of 4 field elements (ints < p), a power of two
    of them (at least 2), as air/miden/merkle.py builds a tree; anything else is bad input naming the file."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"{path}: --merkle-tree: not a readable JSON file ({str(e).splitlines()[0][:80]})") from None
    n = len(doc) if isinstance(doc, list) else 0
    if n < 2 or n & (n - 1):
        raise BadInput(f"{path}: --merkle-tree: want a JSON list of leaves, a power of two (at least 2) of them")
    for i, leaf in enumerate(doc):
        ok = isinstance(leaf, list) and len(leaf) == 4
        if not ok or not all(type(v) is int and 0 <= v < 2**64 - 2**32 + 1 for v in leaf):
            raise BadInput(f"{path}: --merkle-tree: leaf {i} is not a list of 4 field elements (ints 0..p-1)")
    return doc


def main(argv: list[str] | None = None) -> None:
    """Run the ``air`` command; exit 0/1 by the result, 2 on bad input, 3 on an internal error.

    As the program (``argv`` None: the console script, ``python -m air``) the objects alive at the end are moved
    out of the cyclic collector's reach (``gc.freeze``) before the interpreter exits: its finalization otherwise
    runs full collections over every object that sympy, numba and the model built (0.2-0.4 s after the report of
    ``air check`` on a large trace, 0.06 s with it). stdout and stderr are flushed, atexit handlers and thread
    joins run as usual, objects freed by reference count are freed; what is skipped is the walk over reference
    cycles, whose memory the OS takes back with the process (a finalizer in such a cycle does not run: air closes
    every file it writes when it writes it). A caller in the same process (``main([...])``, the tests) keeps a
    collector that collects."""
    _STATE["debug"] = False
    try:
        _main(argv)
    finally:
        if argv is None:
            import gc

            gc.disable()
            gc.freeze()


def _main(argv: list[str] | None) -> None:
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
    except KeyboardInterrupt:
        click.echo("air: interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        _fail_or_internal(e)


def _fail_or_internal(e: Exception) -> None:
    """A known error (``_known_errors``, imported only now: they pull in sympy and numpy) or an OS, value or key
    error: one line, exit 2; anything else is a bug: one line (the traceback with --debug), exit 3, never 1."""
    if isinstance(e, _known_errors()):
        _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    elif isinstance(e, (OSError, ValueError, KeyError)):
        _fail(f"{type(e).__name__}: {e}")
    else:
        if _STATE["debug"]:
            traceback.print_exc()
        msg = ": " + str(e).strip().splitlines()[0] if str(e).strip() else ""
        click.echo(
            f"air: internal error: {type(e).__name__}{msg} (please report; rerun with --debug for the traceback)",
            err=True,
        )
        sys.exit(3)
