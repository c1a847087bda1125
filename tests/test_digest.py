"""MAST digests (air/miden/digest.py) against digests and batch layouts that appear literally in Miden's sources.

All from github.com/0xMiden/miden-vm at tag v0.19.0 (commit a3efe5eb0727e07d045f28fe19081182d6f36502):

* core/src/mast/node/basic_block_node/snapshots/*batch_ops_{1..9}.snap: the ``OpBatch`` layouts (ops with padding
  NOOPs, indptr, padding flags, groups, num_groups) of the inputs of tests.rs ``batch_ops_1`` .. ``batch_ops_9``;
* core/src/mast/node/dyn_node.rs: the DYN and DYNCALL node digests;
* procedure roots: processor/src/tests/mod.rs (``test_diagnostic_no_mast_forest_with_procedure``: ``push.1``) and the
  ``external.0x...`` / ``call.0x...`` lines of crates/assembly/src/snapshots (library procedures assembled by
  crates/assembly/src/tests.rs), plus processor/src/parallel/tests.rs (``DYN_TARGET_PROC_HASH``: block [SWAP];
  ``EXTERNAL_LIB_PROC_DIGEST``: block [SWAP, SWAP]);
* program roots: the decoder's h0..h3 on the HALT rows (second-to-last row; the last row is random) of the execution
  traces in processor/src/parallel/snapshots/*test_trace_generation_at_fragment_boundaries::case_NN.snap, for the
  programs built by join_program, split_program, loop_program, call_program, syscall_program,
  basic_block_program_small, basic_block_program_multiple_batches, dyn_program, dyncall_program, external_program
  (processor/src/parallel/tests.rs).

The op sequences of assembled procedures are the assembler's lowering (crates/assembly/src/instruction): ``push.1`` is
PAD INCR (push_value_ops), ``eq.0`` is EQZ, ``sub`` is NEG ADD, ``u32overflowing_add`` U32ADD, ``u32overflowing_add3``
U32ADD3; procedures without locals are their body's basic block.
"""

from __future__ import annotations

import pytest

from air.miden import digest as D
from air.miden.opcodes import OPCODES_V19 as O
from tests.program_roots import PROGRAM_ROOTS

BATCH_SNAPSHOTS: dict[int, list[dict]] = {
    1: [
        {
            "ops": ["ADD"],
            "indptr": [0, 1, 0, 0, 0, 0, 0, 0, 0],
            "padding": [],
            "num_groups": 1,
            "groups": [34, 0, 0, 0, 0, 0, 0, 0],
        },
    ],
    2: [
        {
            "ops": ["ADD", "MUL"],
            "indptr": [0, 2, 0, 0, 0, 0, 0, 0, 0],
            "padding": [],
            "num_groups": 1,
            "groups": [4514, 0, 0, 0, 0, 0, 0, 0],
        },
    ],
    3: [
        {
            "ops": ["ADD", ("PUSH", 12345678), "NOOP"],
            "indptr": [0, 3, 3, 0, 0, 0, 0, 0, 0],
            "padding": [0],
            "num_groups": 2,
            "groups": [11682, 12345678, 0, 0, 0, 0, 0, 0],
        },
    ],
    4: [
        {
            "ops": [("PUSH", 1), ("PUSH", 2), ("PUSH", 3), ("PUSH", 4), ("PUSH", 5), ("PUSH", 6), ("PUSH", 7), "ADD"],
            "indptr": [0, 8, 8, 8, 8, 8, 8, 8, 8],
            "padding": [],
            "num_groups": 8,
            "groups": [19543672004996571, 1, 2, 3, 4, 5, 6, 7],
        },
    ],
    5: [
        {
            "ops": [
                "ADD",
                "MUL",
                ("PUSH", 1),
                ("PUSH", 2),
                ("PUSH", 3),
                ("PUSH", 4),
                ("PUSH", 5),
                ("PUSH", 6),
                "ADD",
                "NOOP",
            ],
            "indptr": [0, 9, 9, 9, 9, 9, 9, 9, 10],
            "padding": [7],
            "num_groups": 8,
            "groups": [2501590016639553954, 1, 2, 3, 4, 5, 6, 0],
        },
        {
            "ops": [("PUSH", 7), "NOOP"],
            "indptr": [0, 2, 2, 0, 0, 0, 0, 0, 0],
            "padding": [0],
            "num_groups": 2,
            "groups": [91, 7, 0, 0, 0, 0, 0, 0],
        },
    ],
    6: [
        {
            "ops": ["ADD", "MUL", "ADD", ("PUSH", 7), "ADD", "ADD", ("PUSH", 11), "MUL", "MUL", "ADD"],
            "indptr": [0, 9, 9, 9, 10, 0, 0, 0, 0],
            "padding": [],
            "num_groups": 4,
            "groups": [2542120439479046562, 7, 11, 34, 0, 0, 0, 0],
        },
    ],
    7: [
        {
            "ops": ["ADD", "MUL", "ADD", "ADD", "ADD", "MUL", "MUL", "ADD", ("PUSH", 11), "NOOP", "NOOP"],
            "indptr": [0, 8, 10, 10, 11, 0, 0, 0, 0],
            "padding": [1, 3],
            "num_groups": 4,
            "groups": [19295441833726370, 91, 11, 0, 0, 0, 0, 0],
        },
    ],
    8: [
        {
            "ops": ["ADD", "MUL", "ADD", "ADD", "ADD", "MUL", "MUL", ("PUSH", 1), "NOOP", ("PUSH", 2), "NOOP"],
            "indptr": [0, 9, 9, 11, 11, 0, 0, 0, 0],
            "padding": [0, 2],
            "num_groups": 4,
            "groups": [51383589178741154, 1, 91, 2, 0, 0, 0, 0],
        },
    ],
    9: [
        {
            "ops": [
                "ADD",
                "MUL",
                ("PUSH", 1),
                ("PUSH", 2),
                ("PUSH", 3),
                ("PUSH", 4),
                ("PUSH", 5),
                "ADD",
                "MUL",
                "ADD",
                "MUL",
                "ADD",
                "MUL",
                "ADD",
                "MUL",
                "ADD",
                "MUL",
                "NOOP",
            ],
            "indptr": [0, 9, 9, 9, 9, 9, 9, 17, 18],
            "padding": [7],
            "num_groups": 8,
            "groups": [2541559463332467106, 1, 2, 3, 4, 5, 19853993742733730, 0],
        },
        {
            "ops": [("PUSH", 6), "PAD"],
            "indptr": [0, 2, 2, 0, 0, 0, 0, 0, 0],
            "padding": [],
            "num_groups": 2,
            "groups": [6235, 6, 0, 0, 0, 0, 0, 0],
        },
    ],
}


def block(*ops: str | tuple[str, int]) -> list[tuple[int, int | None]]:
    """Ops by name; ("PUSH", v) for a push."""
    return [(O[o], None) if isinstance(o, str) else (O[o[0]], o[1]) for o in ops]


@pytest.mark.parametrize("case", sorted(BATCH_SNAPSHOTS))
def test_batch_layout_matches_miden_snapshots(case: int) -> None:
    want = BATCH_SNAPSHOTS[case]
    # the test inputs are the snapshot's ops without the padding NOOPs (none of the inputs has a NOOP of its own)
    ops = [o for b in want for o in b["ops"] if o != "NOOP"]
    got = D.batch_groups(block(*ops))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g.ops) == block(*w["ops"])
        assert list(g.indptr) == w["indptr"]
        assert [i for i, p in enumerate(g.padding) if p] == w["padding"]
        assert g.num_groups == w["num_groups"]
        assert list(g.groups) == w["groups"]


def test_batch_accessors() -> None:
    (b,) = D.batch_groups(block("ADD", ("PUSH", 7), "MUL"))
    assert b.num_groups == 2 and b.is_immediate(1) and not b.is_immediate(0)
    assert b.group_ops(0) == ((O["ADD"], None), (O["PUSH"], 7), (O["MUL"], None))
    assert b.groups[:2] == (O["ADD"] | O["PUSH"] << 7 | O["MUL"] << 14, 7)


def test_basic_block_digest_is_hash_of_all_groups() -> None:
    # tests.rs batch_ops_5: hash_elements over both batches' 8 groups
    ops = block("ADD", "MUL", *[("PUSH", i) for i in range(1, 7)], "ADD", ("PUSH", 7))
    groups = [g for b in BATCH_SNAPSHOTS[5] for g in b["groups"]]
    assert D.basic_block_digest(ops) == D.rpo.hash_elements(groups)


# procedure roots, as Miden prints them (Word::to_hex)
PROCEDURES: dict[str, tuple[list[tuple[int, int | None]], str]] = {
    # processor/src/tests/mod.rs: `export.dummy_proc push.1 end`
    "dummy_proc": (block("PAD", "INCR"), "0x1b0a6d4b3976737badf180f3df558f45e06e6d1803ea5ad3b95fa7428caccd02"),
    # miden_assembly__tests__program_with_one_import_and_hex_call.snap: iszero_unsafe = eq.0 repeat.7 swap eq.0 and end
    "iszero_unsafe": (
        block("EQZ", *["SWAP", "EQZ", "AND"] * 7),
        "0xc2545da99d3a1f3f38d957c7893c44d78998d8ea8b11aba7e22c8c2b2a213dae",
    ),
    # miden_assembly__tests__program_with_reexported_proc_in_same_library.snap: checked_eqz, unchecked_eqz
    "checked_eqz": (
        block("U32ASSERT2", "EQZ", "SWAP", "EQZ", "AND"),
        "0xb9691da1d9b4b364aca0a0990e9f04c446a2faa622c8dd0d8831527dbec61393",
    ),
    "unchecked_eqz": (
        block("EQZ", "SWAP", "EQZ", "AND"),
        "0xcb08c107c81c582788cbf63c99f6b455e11b33bb98ca05fe1cfa17c087dfa8f1",
    ),
    # miden_assembly__tests__decorators_external.snap: `export.f push.7 push.8 sub end`
    "f": (
        block(("PUSH", 7), ("PUSH", 8), "NEG", "ADD"),
        "0xe776df8dc02329acc43a09fe8e510b44a87dfd876e375ad383891470ece4f6de",
    ),
    # miden_assembly__tests__module_alias.snap: checked_add = swap movup.3 u32assert2 u32overflowing_add movup.3
    # movup.3 u32assert2 u32overflowing_add3 eq.0 assert
    "checked_add": (
        block("SWAP", "MOVUP3", "U32ASSERT2", "U32ADD", "MOVUP3", "MOVUP3", "U32ASSERT2", "U32ADD3", "EQZ", "ASSERT"),
        "0x3cff5b58a573dc9d25fd3c57130cc57e5b1b381dc58b5ae3594b390c59835e63",
    ),
}


@pytest.mark.parametrize("name", sorted(PROCEDURES))
def test_procedure_roots(name: str) -> None:
    ops, want = PROCEDURES[name]
    assert D.digest_to_hex(D.basic_block_digest(ops)) == want


# processor/src/parallel/tests.rs
SWAP_BLOCK = (10995436151082118190, 776663942277617877, 3177713792132750309, 10407898805173442467)
SWAP_SWAP_BLOCK = (9552974201798903089, 993192251238261044, 1885027269046469428, 8558115384207742312)


def test_small_block_digests() -> None:
    assert D.basic_block_digest(block("SWAP")) == SWAP_BLOCK
    assert D.basic_block_digest(block("SWAP", "SWAP")) == SWAP_SWAP_BLOCK


def test_dyn_digests() -> None:
    assert D.dyn_digest() == (8115106948140260551, 13491227816952616836, 15015806788322198710, 16575543461540527115)
    assert D.dyncall_digest() == (8751004906421739448, 13469709002495534233, 12584249374630430826, 7624899870831503004)


def _programs() -> dict[str, tuple[int, ...]]:
    b = D.basic_block_digest
    ss = b(block("SWAP", "SWAP"))
    store = b(block(("PUSH", 40), "MSTOREW", "DROP", "DROP", "DROP", "DROP", ("PUSH", 40)))
    return {
        "join": D.join_digest(b(block("MUL")), D.join_digest(b(block("ADD")), b(block("SWAP")))),
        "split": D.join_digest(ss, D.split_digest(b(block("ADD")), b(block("SWAP")))),
        "loop": D.join_digest(ss, D.loop_digest(b(block("PAD", "DROP")))),
        "call": D.join_digest(ss, D.call_digest(ss)),
        "syscall": D.join_digest(ss, D.syscall_digest(ss)),
        "basic_block_small": D.join_digest(b(block("SWAP", ("PUSH", 42))), b(block("DROP"))),
        "basic_block_multiple_batches": D.join_digest(b(block(*["SWAP"] * 80)), b(block("DROP"))),
        "dyn": D.join_digest(store, D.dyn_digest()),
        "dyncall": D.join_digest(store, D.dyncall_digest()),
        "external": D.join_digest(b(block("PAD", "DROP")), D.external_digest(SWAP_SWAP_BLOCK)),
    }


@pytest.mark.parametrize("name", sorted(PROGRAM_ROOTS))
def test_program_roots_from_miden_traces(name: str) -> None:
    assert _programs()[name] == PROGRAM_ROOTS[name][1]


def test_hex_roundtrip_and_errors() -> None:
    h = "0x1b0a6d4b3976737badf180f3df558f45e06e6d1803ea5ad3b95fa7428caccd02"
    d = D.digest_from_hex(h)
    assert d[0] == 0x7B7376394B6D0A1B  # each element is 8 little-endian bytes
    assert D.digest_to_hex(d) == h
    with pytest.raises(ValueError):
        D.digest_from_hex("0x" + "ff" * 32)  # above the modulus (crates/assembly/src/tests.rs rejects it too)
    with pytest.raises(ValueError):
        D.digest_from_hex("0x1234")


@pytest.mark.parametrize(
    "ops",
    [[], [(O["PUSH"], None)], [(O["ADD"], 5)], [(O["JOIN"], None)], [(128, None)]],
    ids=["empty", "push-without-immediate", "immediate-on-add", "control-op", "not-7-bit"],
)
def test_bad_blocks(ops: list[tuple[int, int | None]]) -> None:
    with pytest.raises(ValueError):
        D.batch_groups(ops)
