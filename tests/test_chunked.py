"""The chunked check (air/chunked.py) against the single pass (evaluate.check + check_multiplicities +
buscheck.check_buses), on an executor trace with faults planted at chunk boundaries: the JSON reports (verdict,
failing rows, bus totals and finals, unmatched messages and likely pairs) must be identical, serially, on a
pool of 2 (threads; processes over a memory-mapped trace when asked) and on Dask.

Also: memory-mapped loading (uncompressed NPZ, a directory of .npy files) keeps the bad-input checks, and
``air check`` of a corpus gives one line per trace and the exit code of the worst.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import air.trace as T
from air.buscheck import check_buses
from air.chunked import check_chunked
from air.diagnose import diagnose, to_json
from air.evaluate import check, check_multiplicities
from air.field import P
from air.registry import load_builtin
from air.trace import Trace, load_trace, match_air, save_trace

HONEST = Path(__file__).resolve().parent.parent / "traces" / "ordinary" / "miden-v0.19.npz"  # 256 rows, executor
R = 64  # the chunk size the faults are planted around


def _faulty() -> tuple[object, Trace]:
    """The honest 256-row trace with faults at the boundaries of 64-row chunks:
    - rows 63 and 64 swapped: the last row of chunk 0 and the first of chunk 1 (every transition 62->63, 63->64,
      64->65 breaks, and the bus messages of both rows move across the boundary);
    - s0 changed on row 127 (the last row of chunk 1; the transition into chunk 2 reads it as x);
    - chip3 changed on row 192 (the first row of chunk 3: a chiplet bus message with a field no request has);
    - range_v changed on row 255 (the last row: no transition starts there, the boundary/last domain only)."""
    t = load_trace(HONEST)
    a = load_builtin(t.meta["air"])
    t = match_air(t, a)
    cols = {k: np.array(v, dtype=np.uint64) for k, v in t.columns.items()}
    for c in cols.values():
        c[[63, 64]] = c[[64, 63]]
    for col, row in (("s0", 127), ("chip3", 192), ("range_v", 255)):
        cols[col][row] = (int(cols[col][row]) + 1) % P
    return a, Trace(cols, t.n_rows, t.public_inputs, t.meta, t.source, t.public_tables)


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> dict:
    a, t = _faulty()
    d = tmp_path_factory.mktemp("chunked") / "faulty"
    save_trace(str(d) + "/", t.columns, t.public_inputs, t.meta, t.public_tables)
    old = T.MAP_MIN_BYTES
    T.MAP_MIN_BYTES = 0  # map every column of this small trace, as a large one would be
    try:
        mapped = match_air(load_trace(d), a)
    finally:
        T.MAP_MIN_BYTES = old
    mapped.source = t.source  # the reports name the trace; the same name for both
    return {"air": a, "trace": t, "mapped": mapped, "ref": _single(a, t)}


def _single(a, t) -> dict:
    """The reference: the single-pass functions, independent of air.chunked."""
    result = check(a, t)
    check_multiplicities(a, t)
    buses = check_buses(a, t, seed=7)
    return to_json(diagnose(a, t, result, max_failures=10_000), buses)


def _chunked(a, t, **kw) -> dict:
    c = check_chunked(a, t, seed=7, **kw)
    return to_json(diagnose(a, t, c.result, max_failures=10_000), c.buses)


def _same(got: dict, ref: dict) -> None:
    for k in ref:
        assert json.dumps(got[k], sort_keys=True) == json.dumps(ref[k], sort_keys=True), k


def test_the_faults_are_found_where_planted(case) -> None:
    """The reference is not vacuous: failures on both sides of each boundary and unmatched bus messages."""
    ref = case["ref"]
    assert not ref["summary"]["ok"]
    rows = {r["row"] for f in ref["failures"] for r in f["rows"]}
    assert {62, 63, 64}.issubset(rows), sorted(rows)
    assert rows & {126, 127}, sorted(rows)
    assert ref["unmatched"], "a bus message was changed: something must stay unmatched"
    assert any(b["ok"] is False for b in ref["buses"])
    assert any(b["totals"] for b in ref["buses"])


@pytest.mark.parametrize("rows", [R, R + 1, 255])
def test_serial_chunks_equal_the_single_pass(case, rows) -> None:
    """64 (faults at the boundaries), 65 (one row over a power of two: periodic columns out of phase with the
    chunks) and 255 (a last chunk of the last row alone, which has no transition)."""
    _same(_chunked(case["air"], case["trace"], chunk_rows=rows, jobs=1), case["ref"])


def test_two_processes_over_a_memory_mapped_trace(case) -> None:
    c = check_chunked(case["air"], case["mapped"], seed=7, chunk_rows=R + 1, jobs=2, pool="processes")
    assert c.mode == "processes" and c.chunks == 4
    _same(to_json(diagnose(case["air"], case["mapped"], c.result, max_failures=10_000), c.buses), case["ref"])


def test_two_threads_by_default_over_a_memory_mapped_trace(case) -> None:
    """A pool's default is threads, over a mapped trace too (one interpreter held, not one a worker); processes
    are asked for, and only a mapped trace gets them (an in-memory one would be copied to each worker)."""
    c = check_chunked(case["air"], case["mapped"], seed=7, chunk_rows=R + 1, jobs=2)
    assert c.mode == "threads" and c.chunks == 4
    _same(to_json(diagnose(case["air"], case["mapped"], c.result, max_failures=10_000), c.buses), case["ref"])
    assert check_chunked(case["air"], case["trace"], seed=7, chunk_rows=R, jobs=2, pool="processes").mode == "threads"


def test_two_threads_over_an_in_memory_trace(case) -> None:
    c = check_chunked(case["air"], case["trace"], seed=7, chunk_rows=R, jobs=2)
    assert c.mode == "threads"
    _same(to_json(diagnose(case["air"], case["trace"], c.result, max_failures=10_000), c.buses), case["ref"])


def test_dask_local_cluster(case) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        c = check_chunked(case["air"], case["mapped"], seed=7, chunk_rows=R, dask_client=client)
    assert c.mode == "dask"
    _same(to_json(diagnose(case["air"], case["mapped"], c.result, max_failures=10_000), c.buses), case["ref"])


@pytest.mark.parametrize("jobs", [1, 2, "dask"])
def test_a_packed_trace_is_checked_without_widening_a_column(case, tmp_path, jobs) -> None:
    """The faulty trace written as a compressed NPZ and loaded: its columns are packed (each in its narrowest
    dtype), and the chunked check, serially, on threads or on Dask (whose workers get the packed columns), gives
    the single pass's report without widening any of them (what keeps a check of a compressed trace near the
    packed size); so does the failures' explanation."""
    p = save_trace(tmp_path / "faulty.npz", case["trace"].columns, case["trace"].public_inputs, case["trace"].meta,
                   case["trace"].public_tables)  # fmt: skip
    t = match_air(load_trace(p), case["air"])
    t.source = case["trace"].source
    cols = t.columns
    assert isinstance(cols, T.PackedColumns)
    narrow = [k for k in cols if cols.stored(k).dtype != np.uint64]
    assert len(narrow) > len(cols) // 2, narrow  # selectors, flags, small counters
    if jobs == "dask":
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:
            c = check_chunked(case["air"], t, seed=7, chunk_rows=R, dask_client=client)
        assert c.mode == "dask"
    else:
        c = check_chunked(case["air"], t, seed=7, chunk_rows=R, jobs=jobs)
        assert c.mode == ("threads" if jobs == 2 else "serial")
    got = to_json(diagnose(case["air"], t, c.result, max_failures=10_000), c.buses)
    assert cols._wide == {}, sorted(cols._wide)
    _same(got, case["ref"])


def test_honest_trace_balances_in_chunks() -> None:
    """An honest trace: every bus balanced with the final value expected, in chunks as in one pass."""
    t = load_trace(HONEST)
    a = load_builtin(t.meta["air"])
    t = match_air(t, a)
    c = check_chunked(a, t, seed=1, chunk_rows=R + 1)
    assert c.result.ok and c.buses is not None and c.buses.ok
    ref = check_buses(a, t, seed=1)
    assert [(b.final, b.messages, b.totals) for b in c.buses.buses] == [
        (b.final, b.messages, b.totals) for b in ref.buses
    ]


def test_operations_occurring_come_from_the_chunks() -> None:
    """check_chunked's ``operations`` (read off the chunks' flags program, what the CLI's OK report names) equals
    coverage.operations_occurring, which evaluates every operation's flag over the trace on its own; the honest
    256-row trace exercises some operations and not others, so neither answer is trivially all or none."""
    from air.coverage import operations_occurring

    t = load_trace(HONEST)
    a = load_builtin(t.meta["air"])
    t = match_air(t, a)
    ref = operations_occurring(a, t)
    assert ref and len(ref) < len(a.operations)
    for rows in (R, R + 1, 255):
        assert check_chunked(a, t, seed=1, chunk_rows=rows).operations == ref


# --- loading by memory map ----------------------------------------------------------------------------

N = 1 << 18  # 2 MiB a column: over MAP_MIN_BYTES, so mapped


def _cols() -> dict[str, np.ndarray]:
    a = np.arange(N, dtype=np.uint64)
    return {"a": a, "b": (a * 3) % P}


@pytest.mark.parametrize("where", ["t.npz", "dir/"])
def test_uncompressed_layouts_are_mapped_not_copied(tmp_path, where) -> None:
    p = save_trace(f"{tmp_path}/{where}", _cols(), {"x": 5}, {"air": "fibonacci"}, compress=False)
    t = load_trace(p)
    assert set(t.maps) == {"a", "b"} and isinstance(t.columns["a"], np.memmap)
    assert all(np.array_equal(t.columns[k], v) for k, v in _cols().items())
    assert t.public_inputs == {"x": 5} and t.meta == {"air": "fibonacci"}
    assert np.array_equal(T.column_rows(t, "b", 100, 104), _cols()["b"][100:104])


def test_compressed_npz_is_read_into_memory(tmp_path) -> None:
    t = load_trace(save_trace(tmp_path / "t.npz", _cols()))
    assert not t.maps and not isinstance(t.columns["a"], np.memmap)


def test_mapped_value_over_p_names_its_row(tmp_path, air_cli) -> None:
    cols = _cols()
    cols["b"][N - 3] = P  # in the last validation block
    p = save_trace(tmp_path / "t.npz", cols, compress=False)
    code, _, err = air_cli("check", str(p), "--air", "fibonacci")
    assert code == 2 and err.count("\n") == 1
    assert f"column 'b' row {N - 3}: value {P} is not a field element" in err


def test_mapped_member_crc_is_checked(tmp_path, air_cli) -> None:
    p = save_trace(tmp_path / "t.npz", _cols(), compress=False)
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("b.npy")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw = bytearray(p.read_bytes())
    raw[start + 128 + 8 * 1000] ^= 1  # a data byte of row 1000 of b (still < p): only the CRC can tell
    p.write_bytes(bytes(raw))
    code, _, err = air_cli("check", str(p), "--air", "fibonacci")
    assert code == 2 and "member 'b.npy' is corrupt" in err and "CRC" in err


# --- the command line ---------------------------------------------------------------------------------


def test_cli_chunks_and_jobs_give_the_same_json(tmp_path, air_cli, case) -> None:
    p = tmp_path / "f.npz"
    t = case["trace"]
    save_trace(p, t.columns, t.public_inputs, t.meta, t.public_tables)
    outs = []
    for extra in (["--jobs", "1", "--chunk-rows", "1000"], ["--jobs", "2", "--chunk-rows", "65"]):
        code, out, _ = air_cli("check", str(p), "--format", "json", "--seed", "7", "--max-failures", "50", *extra)
        assert code == 1
        outs.append(json.loads(out))
    assert outs[0] == outs[1]


def test_cli_pool_processes_over_a_mapped_trace(tmp_path, air_cli, case, monkeypatch) -> None:
    """``--pool processes`` runs a mapped trace's chunks on processes, the default on threads; the same JSON (the
    first check with the AIR, the second from the cache it stored)."""
    import air.chunked as C

    t = case["trace"]
    d = save_trace(f"{tmp_path}/dir/", t.columns, t.public_inputs, t.meta, t.public_tables)
    monkeypatch.setattr(T, "MAP_MIN_BYTES", 0)
    modes: list[str] = []
    run = C._check_run
    monkeypatch.setattr(C, "_check_run", lambda *a: modes.append(a[6]) or run(*a))
    outs = []
    for extra in ([], ["--pool", "processes"]):
        args = ("check", str(d), "--format", "json", "--seed", "7", "--jobs", "2", "--chunk-rows", "65", *extra)
        code, out, _ = air_cli(*args)
        assert code == 1
        outs.append(json.loads(out))
    assert modes == ["threads", "processes"]
    assert outs[0] == outs[1]


def test_corpus_one_line_per_trace_and_the_worst_exit(tmp_path, air_cli, case) -> None:
    good = tmp_path / "a" / "good.npz"
    bad = tmp_path / "b" / "faulty.npz"
    good.parent.mkdir()
    bad.parent.mkdir()
    h = load_trace(HONEST)
    save_trace(good, h.columns, h.public_inputs, h.meta, h.public_tables)
    t = case["trace"]
    save_trace(bad, t.columns, t.public_inputs, t.meta, t.public_tables)
    code, out, _ = air_cli("check", str(tmp_path / "**" / "*.npz"), "--jobs", "2")
    lines = out.strip().splitlines()
    assert code == 1, out
    assert lines[0].startswith(f"{good}: ok (256 rows") and lines[1].startswith(f"{bad}: FAIL")
    assert lines[-1] == "2 traces: 1 ok, 1 failing, 0 bad input"
    broken = tmp_path / "c.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    code, out, _ = air_cli("check", str(good), str(broken), "--format", "json", "--jobs", "1")
    doc = json.loads(out)
    assert code == 2 and doc["total"] == {"traces": 2, "ok": 1, "failing": 0, "bad_input": 1}
    assert doc["traces"][1]["status"] == "bad input" and str(broken) in doc["traces"][1]["error"]


def test_dask_missing_is_one_line(monkeypatch, air_cli) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    code, _, err = air_cli("check", str(HONEST), "--dask", "tcp://127.0.0.1:1")
    assert code == 2 and err == "air: error: --dask needs Dask's distributed scheduler: pip install 'air[dask]'\n"


@pytest.mark.parametrize("start,length", [(0, 64), (5, 64), (7, 3), (13, 8), (65, 65), (1 << 16, 1)])
def test_periodic_rows_follow_the_trace_phase(start: int, length: int) -> None:
    """A chunk's row of a periodic column is the cycle's value on each trace row (Python's own indexing)."""
    from air.chunked import _fill_periodic

    cycle = [P - 1, 0, 1, 2**40, 7, 9, 11, 13]
    row = np.zeros(length, dtype=np.uint64)
    _fill_periodic(row, cycle, start)
    assert row.tolist() == [cycle[(start + r) % len(cycle)] for r in range(length)]


def test_a_missing_public_input_is_named_with_its_reader(kernels_everywhere) -> None:
    """A boundary constraint reads a public input the trace lacks: bad input naming the input and the constraint,
    as the single pass says (the chunked check's plan alone only knows the input's name)."""
    from air.air import Air
    from air.evaluate import check
    from air.trace import TraceError

    a = Air("pub", "a boundary constraint against a public input")
    (x,) = a.columns("main", ["x"])
    a.boundary("x_starts_at_start", x - a.public_input("start"))
    a.transition("x_counts", x.next - x - 1)
    t = Trace({"x": np.arange(64, dtype=np.uint64)}, 64)
    with pytest.raises(TraceError) as single:
        check(a, t)
    with pytest.raises(TraceError) as chunked:
        check_chunked(a, t, chunk_rows=16)
    assert "'start'" in str(chunked.value) and "x_starts_at_start" in str(chunked.value)
    assert str(chunked.value) == str(single.value)
    ok = Trace({"x": np.arange(64, dtype=np.uint64)}, 64, {"start": 0})
    assert check_chunked(a, ok, chunk_rows=16).result.ok
    bad = Trace({"x": np.arange(64, dtype=np.uint64)}, 64, {"start": 5})
    assert [f.constraint for f in check_chunked(a, bad, chunk_rows=16).result.failures] == ["x_starts_at_start"]
