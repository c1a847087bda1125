"""The executor's hasher chiplet against Miden's own execution traces, and the hashing instructions.

Known answers from an independent source: the execution-trace snapshots of Miden's processor tests at tag v0.19.0
(processor/src/parallel/snapshots/*test_trace_generation_at_fragment_boundaries::case_NN.snap, programs built by
processor/src/parallel/tests.rs with the stack inputs of each case, given to ``FastProcessor::new``, which puts the
last one on top (processor/src/fast/mod.rs ``initialize``), as the executor's ``stack_inputs`` does). In those
72-column traces the decoder's block address is column 6 and the chiplets start at column 51: chiplet selector (0 on
hasher rows), the hasher's s0..s2, h0..h11 and node index are columns 51..67, the same order as ``layout.HASHER``
(chip0..chip16). Pinned below, per case: the decoder's addr column up to the first HALT row, the number of hasher
rows and the SHA-256 of those rows (row-major, 17 little-endian u64 per row). ``test_pins_are_midens`` re-derives
every pin from the snapshot when the git mirror of miden-vm is on this machine.

HPERM, ``hperm``, ``hmerge`` and ``hash``: results against ``rpo`` (pinned to the published RPO vectors in
tests/test_rpo.py), the expansions of ``hash``/``hmerge`` as crates/assembly/src/instruction/crypto_ops.rs at
v0.18.0 writes them.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from air.buscheck import check_buses
from air.evaluate import check
from air.miden import layout as L
from air.miden import rpo
from air.miden.designs import DESIGNS
from air.miden.executor import FILLED_FAMILIES, ExecutionError
from air.select import select_families
from air.trace import Trace
from tests.program_roots import MIDEN_ROOTS
from tests.scenario_kit import merkle_root, run_masm

MIRROR = Path("/work/.mirror/0xMiden+miden-vm/repo")
SNAPSHOT = (
    "v0.19.0:processor/src/parallel/snapshots/miden_processor__parallel__tests__parallel::tests::"
    "test_trace_generation_at_fragment_boundaries::case_{:02d}.snap"
)
HASHER_COLUMNS = [L.HASHER["chip_s0"], *L.HASHER["s"], *L.HASHER["h"], L.HASHER["i"]]

# the target of the DYN/DYNCALL cases (tests.rs dyn_program: the digest of a block [SWAP], DYN_TARGET_PROC_HASH, given
# as the stack inputs and stored at address 40 by the program)
SWAP_BLOCK = (10995436151082118190, 776663942277617877, 3177713792132750309, 10407898805173442467)
DYN = "proc.foo\n  swap\nend\nbegin\n  push.40 mem_storew drop drop drop drop push.40 {}\nend\n"
PROGRAMS = {**MIDEN_ROOTS, "dyn": (DYN.format("dynexec"), None), "dyncall": (DYN.format("dyncall"), None)}

# (program, snapshot case, stack inputs as the test gives them, the last on top) -> (decoder addr, hasher rows,
# SHA-256 of them)
MIDEN_HASHER: dict[tuple[str, int, tuple[int, ...]], tuple[list[int], int, str]] = {
    ("split", 3, (1,)): (
        [0, 1, 9, 9, 9, 1, 17, 25, 25, 17, 1, 0],
        32,
        "0ccdb5f8caad86da9c3d9fcbaa3590e04740ee42fa34ae97f06d7be264082168",
    ),
    ("split", 4, (0,)): (
        [0, 1, 9, 9, 9, 1, 17, 25, 25, 17, 1, 0],
        32,
        "827c4bfec8481494112234f2adb5e97fe9df5de739a3b5ed22633d5941a60f11",
    ),
    ("loop", 7, (0,)): (
        [0, 1, 9, 9, 9, 1, 17, 1, 0],
        24,
        "60c1b8ffa0dfc77d0d8dec45008634ab58c13d808118e117bd807d338c0348d9",
    ),
    ("loop", 10, (1, 1)): (  # the loop body runs twice: its block is hashed twice (rows 24..31 and 32..39)
        [0, 1, 9, 9, 9, 1, 17, 25, 25, 25, 17, 17, 33, 33, 33, 17, 1, 0],
        40,
        "58da9b49e6616da8b9546d9217a307dff2b4a5bd8d73031b0d2ba4a73fb33767",
    ),
    ("dyn", 22, SWAP_BLOCK): (  # the DYN's hash is a merge of zeros in DYN's domain (88)
        [0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 17, 25, 25, 17, 1, 0],
        32,
        "5c4c4dd7adbac13b01f6acf3032d21755a4417f96e49c35fcf73c271e68e1692",
    ),
    ("dyncall", 24, SWAP_BLOCK): (
        [0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 17, 25, 25, 17, 1, 0],
        32,
        "34ed038ef2225917fe1129d9dd59c8452b39a5c25a18cfbe70667f4098426411",
    ),
    ("call", 11, (1, 2, 3)): (
        [0, 1, 9, 9, 9, 1, 17, 25, 25, 25, 17, 1, 0],
        32,
        "1fd7450c446982d0fcf8d8688f3d5e12d58e46362453f53ae6cd7e15b357d07f",
    ),
    ("syscall", 13, (1, 2, 3)): (
        [0, 1, 9, 9, 9, 1, 17, 25, 25, 25, 17, 1, 0],
        32,
        "022e075c356e3502dc15e47743293490621972d79a8d3bb316591d31ccc635f0",
    ),
}


def run_text(tmp_path: Path, text: str, design: str, kernel: str | None = None, stack: list[int] | None = None):
    return run_masm(tmp_path, text, design, kernel, stack_inputs=stack)


def hasher_rows(res) -> np.ndarray:
    """The hasher section: the rows above the first with chip0 = 1, as (rows, 17) uint64."""
    a = np.stack([np.asarray(res.columns[c], dtype=np.uint64) for c in HASHER_COLUMNS], axis=1)
    return a[: int(np.argmax(a[:, 0] != 0))]


def sha(rows: np.ndarray) -> str:
    return hashlib.sha256(rows.astype("<u8").tobytes()).hexdigest()


def assert_complete(res) -> None:
    """Every filled family holds and every bus balances with nothing left unmatched."""
    air = select_families(DESIGNS[res.air](), FILLED_FAMILIES)[0]
    t = Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
    assert [f.constraint for f in check(air, t).failures] == []
    assert [(b.bus, [(u.side, u.code, u.row) for u in b.unmatched]) for b in check_buses(air, t, seed=5).buses
            if not b.ok] == []  # fmt: skip


@pytest.mark.parametrize("key", sorted(MIDEN_HASHER), ids=lambda k: f"{k[0]}-case{k[1]}")
def test_hasher_rows_equal_midens_trace(tmp_path, key) -> None:
    """The programs of Miden's snapshot cases (MAST as Miden's, under miden-v0.18: no fmp prologue) give Miden's
    decoder addresses and, row for row and cell for cell, Miden's hasher chiplet section."""
    name, _, stack = key
    addr, n_rows, digest = MIDEN_HASHER[key]
    text, kernel = PROGRAMS[name]
    res = run_text(tmp_path, text, "miden-v0.18", kernel, list(stack))
    assert [int(x) for x in res.columns["addr"][: len(addr)]] == addr
    rows = hasher_rows(res)
    assert len(rows) == n_rows and sha(rows) == digest
    assert_complete(res)


def _snapshot_columns(case: int) -> list[list[int]]:
    text = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", SNAPSHOT.format(case)], capture_output=True, text=True, check=True
    ).stdout
    start = text.index("columns: [") + len("columns: [")
    body = text[start : text.index("]]", start) + 1]
    return [[int(x) for x in c.split(", ")] for c in re.findall(r"\[([0-9, ]+)\]", body)]


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the miden-vm git mirror is not on this machine")
def test_pins_are_midens() -> None:
    """Each pin above, read again from Miden's snapshot: addr (column 6) up to its HALT, hasher rows (columns
    51..67 above the first row whose chiplet selector, column 51, is 1)."""
    for (_, case, _), (addr, n_rows, digest) in MIDEN_HASHER.items():
        cols = _snapshot_columns(case)
        assert len(cols) == 72
        assert cols[6][: len(addr)] == addr
        n = cols[51].index(1)
        rows = np.array([cols[51 + k][:n] for k in range(17)], dtype=np.uint64).T
        assert (n, sha(rows)) == (n_rows, digest)


STATE = [rpo.P - 1 - 7 * k * k for k in range(12)]  # any 12 field elements: state[j] for j = 0..11


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19", "miden-fnhash-mem-slot"])
def test_hperm_is_the_rpo_permutation(tmp_path, design) -> None:
    """``hperm`` on [s0..s11] permutes the state [s11, ..., s0] (capacity s11..s8): s_i' = permute(state)[11 - i]
    (stack/crypto_ops.md); the stack's two requests (labels 19 and 41) are answered by the hasher's Permute rows,
    and the trace satisfies every filled family."""
    # the state as the stack's inputs (the last one on top, as push.a.b... leaves it): state[0] is s11; the program
    # ends at depth 16 as Miden requires
    res = run_text(tmp_path, "begin\n  hperm\nend\n", design, stack=STATE)
    out = rpo.permute(STATE)
    assert res.stack_outputs[:12] == [out[11 - i] for i in range(12)]
    # the HPERM row's first user-op helper (decoder column h2) is the permutation's address; row address - 1 starts it,
    # row address + 6 returns the state
    bits = [np.asarray(res.columns[f"b{k}"], dtype=np.int64) for k in range(7)]
    r = int(np.flatnonzero(sum(b << k for k, b in enumerate(bits)) == 80)[0])  # HPERM = 80
    addr = int(res.columns["h2"][r])
    rows = hasher_rows(res)
    assert [int(x) for x in rows[addr - 1, 1:4]] == [1, 0, 0] and [int(x) for x in rows[addr + 6, 1:4]] == [0, 0, 1]
    assert [int(x) for x in rows[addr - 1, 4:16]] == STATE and [int(x) for x in rows[addr + 6, 4:16]] == out
    assert_complete(res)


def test_hash_and_hmerge_as_miden_expands_them(tmp_path) -> None:
    """``hash`` of a word A = [a0..a3] (pushed a0 first, so a3 is on top) is hash_elements(A) (capacity[0] = 4,
    the rate A then zeros); ``hmerge`` of [B, A] (A pushed first) is merge(A, B); both leave the digest word on
    top with d3 on top, the rest of the stack as it was. Known answers from ``rpo`` (tests/test_rpo.py)."""
    a, b = [11, 22, 33, 44], [rpo.P - 5, 6, 7, 2**40]
    w = ".".join(str(x) for x in a)
    v = ".".join(str(x) for x in b)
    res = run_text(tmp_path, f"begin\n  push.99 push.{w} hash push.{w} push.{v} hmerge\n"
                   "  repeat.9 movup.9 drop end\nend\n", "miden-v0.19")  # back to depth 16 (Miden's rule at the end)
    h = rpo.hash_elements(a)
    m = rpo.merge(a, b)
    assert res.stack_outputs[:9] == [*m[::-1], *h[::-1], 99]
    assert h != rpo.merge(a, [0, 0, 0, 0])  # the capacity's 4 matters
    assert_complete(res)


def test_repeated_permutations_are_built_once(tmp_path) -> None:
    """A loop hashing the same state again and again: one hasher cycle per HPERM and per body block execution,
    every copy the same 8 rows (built once, as the processor copies a memoized block), the bus balanced."""
    body = "push.0.0.0.0.0.0.0.0.0.0.0.0 hperm" + " drop" * 12
    res = run_text(tmp_path, f"begin\n  push.0.1.1.1.1\n  while.true\n    {body}\n  end\nend\n", "miden-v0.18")
    rows = hasher_rows(res)
    assert len(rows) % 8 == 0
    zero_perm = np.asarray(rpo.permute_trace([0] * 12), dtype=np.uint64)
    starts = [r for r in range(0, len(rows), 8) if not rows[r, 4:16].any()]
    assert len(starts) == 4  # four iterations, four permutations of the zero state
    for r in starts:
        assert np.array_equal(rows[r : r + 8, 4:16], zero_perm)
    assert_complete(res)


def test_mtree_verify_against_the_merkle_store(tmp_path) -> None:
    """``mtree_verify`` (MPVERIFY) on [V, d, i, R]: a Merkle path from the advice provider's store, one MP_VERIFY
    hasher cycle per level answering the stack's requests (27 at the address, 33 at address + 8 d - 1); the stack
    is unchanged. The root is computed here with rpo.merge by hand; a wrong node is refused, naming the
    instruction."""
    leaves = [tuple(10 * k + j for j in range(4)) for k in range(8)]
    l01, l23 = rpo.merge(leaves[0], leaves[1]), rpo.merge(leaves[2], leaves[3])
    l45, l67 = rpo.merge(leaves[4], leaves[5]), rpo.merge(leaves[6], leaves[7])
    root = rpo.merge(rpo.merge(l01, l23), rpo.merge(l45, l67))
    word = ".".join(str(x) for x in root)
    for depth, index, node in ((3, 5, leaves[5]), (2, 1, l23)):
        v = ".".join(str(x) for x in node)
        res = run_program_text(tmp_path, f"begin\n  push.{word} push.{index} push.{depth} push.{v} mtree_verify\n"
                               "  repeat.10 movup.10 drop end\nend\n", [leaves])  # fmt: skip
        assert res.stack_outputs[:10] == [*node[::-1], depth, index, *root[::-1]]
        rows = hasher_rows(res)
        cycles = [tuple(int(x) for x in rows[r, 1:4]) for r in range(0, len(rows), 8)]  # each cycle's first row
        rounds = [tuple(int(x) for x in rows[r + 1, 2:4]) for r in range(0, len(rows), 8)]
        assert cycles.count((1, 0, 1)) == 1 and rounds.count((0, 1)) == depth  # MP_VERIFY, then s2 = 1 carried
        assert_complete(res)
    bad = ".".join(str(x) for x in leaves[4])
    with pytest.raises(ExecutionError, match=r"p.masm:2:\d+: .*does not open to root"):
        run_program_text(tmp_path, f"begin\n  push.{word} push.5 push.3 push.{bad} mtree_verify\nend\n", [leaves])
    with pytest.raises(ExecutionError, match=r"p.masm:2:\d+: mtree_verify: no Merkle tree with root"):
        run_program_text(tmp_path, f"begin\n  push.{word} push.5 push.3 push.{bad} mtree_verify\nend\n", [])
    with pytest.raises(ExecutionError, match=r"no node at depth 4"):
        run_program_text(tmp_path, f"begin\n  push.{word} push.5 push.4 push.{bad} mtree_verify\nend\n", [leaves])


def run_program_text(tmp_path: Path, text: str, trees):
    return run_masm(tmp_path, text, "miden-v0.19", merkle_trees=trees)


_tree_root = merkle_root  # computed by hand, not by the store


def _words(*ws: tuple[int, ...]) -> str:
    return " ".join("push." + ".".join(str(x) for x in w) for w in ws)


@pytest.mark.parametrize("design", ["miden-v0.18", "miden-v0.19"])
def test_mtree_set_updates_the_tree_through_the_sibling_table(tmp_path, design) -> None:
    """``mtree_set`` as the v0.18.0 assembler expands it (crypto_ops.rs ``update_mtree``: the MerkleNodeToStack
    event, 4 ADVPOPs, the copy of V_old, MRUPDATE, the drops): [d, i, R_old, V_new] -> [V_old, R_new], R_new being
    the root of the leaves with leaf i replaced (computed here by hand); the new tree joins the store, so
    ``mtree_get`` reads V_new back from it. The hasher runs the old path (MR_UPDATE_OLD) then the new one
    (MR_UPDATE_NEW), 2d cycles; their siblings go through the sibling table (chiplets_vtable: d added, d removed),
    and the whole AIR holds, every bus balanced."""
    leaves = [tuple(10 * k + j for j in range(4)) for k in range(8)]
    new = (7, 8, 9, 11)
    root, new_root = _tree_root(leaves), _tree_root(leaves[:5] + [new] + leaves[6:])
    cases = (
        ("mtree_set", [*leaves[5][::-1], *new_root[::-1]]),
        ("mtree_set dropw push.5 push.3 mtree_get", [*new[::-1], *new_root[::-1]]),
    )
    for tail, expect in cases:
        text = f"begin\n  {_words(new, root)} push.5 push.3 {tail}\n  repeat.8 movup.8 drop end\nend\n"
        res = run_masm(tmp_path, text, design, merkle_trees=[leaves])
        assert res.stack_outputs[:8] == expect
        code = sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))
        assert int((code == 96).sum()) == 1  # one MRUPDATE row (opcode 96, stack/op_constraints.md)
        rows = hasher_rows(res)
        firsts = [tuple(int(x) for x in rows[r, 1:4]) for r in range(0, len(rows), 8)]
        assert firsts.count((1, 1, 0)) == 1 and firsts.count((1, 1, 1)) == 1  # MR_UPDATE_OLD, MR_UPDATE_NEW
        air = DESIGNS[res.air]()
        t = Trace(res.columns, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
        assert [f.constraint for f in check(air, t).failures] == []
        buses = {b.bus: b for b in check_buses(air, t, seed=5).buses}
        assert all(b.ok for b in buses.values()), [b.bus for b in buses.values() if not b.ok]
        # three siblings added, the same three removed; v0.19 adds its precompile transcript's boundary (2)
        assert buses["chiplets_vtable"].messages == 2 * 3 + (2 if design == "miden-v0.19" else 0)


def test_mrupdate_with_a_forged_new_root_is_named_by_the_chiplets_bus(tmp_path) -> None:
    """The new root written by MRUPDATE is what the hasher's MR_UPDATE_NEW path returns: one cell of it changed on
    the row after MRUPDATE leaves the stack's request (RETURN_HASH, label 33) at the MRUPDATE row unmatched."""
    leaves = [tuple(10 * k + j for j in range(4)) for k in range(8)]
    words = _words((7, 8, 9, 11), _tree_root(leaves))
    text = f"begin\n  {words} push.5 push.3 mtree_set\n  repeat.8 movup.8 drop end\nend\n"
    res = run_masm(tmp_path, text, "miden-v0.19", merkle_trees=[leaves])
    code = sum(res.columns[f"b{k}"].astype(np.int64) << k for k in range(7))
    (row,) = np.flatnonzero(code == 96).tolist()
    cols = {k: np.array(v, dtype=np.uint64) for k, v in res.columns.items()}
    s0 = L.STACK[0]
    cols[s0][row + 1] = (int(cols[s0][row + 1]) + 1) % rpo.P
    air = DESIGNS[res.air]()
    t = Trace(cols, res.n_rows, public_inputs=res.public_inputs, public_tables=res.public_tables)
    bad = {b.bus: b for b in check_buses(air, t, seed=5).buses if not b.ok}
    assert set(bad) == {"chiplets"}
    assert ("request", 33, row) in [(u.side, u.code, u.row) for u in bad["chiplets"].unmatched]


def test_mtree_set_errors_name_the_instruction(tmp_path) -> None:
    """A root the store does not hold, or a node deeper than the tree, stops the run naming ``mtree_set``'s
    place: the MerkleNodeToStack event finds nothing to push."""
    leaves = [tuple(10 * k + j for j in range(4)) for k in range(8)]
    root = _tree_root(leaves)
    with pytest.raises(ExecutionError, match=r"p.masm:2:\d+: mtree_set: no Merkle tree with root"):
        run_masm(tmp_path, f"begin\n  {_words((1, 2, 3, 4), root)} push.5 push.3 mtree_set\nend\n", "miden-v0.19")
    with pytest.raises(ExecutionError, match=r"p.masm:2:\d+: mtree_set: no node at depth 4"):
        run_masm(tmp_path, f"begin\n  {_words((1, 2, 3, 4), root)} push.5 push.4 mtree_set\nend\n", "miden-v0.19",
                 merkle_trees=[leaves])  # fmt: skip
