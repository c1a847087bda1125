"""``air run --merkle-tree FILE.json``: the advice provider's Merkle store from the command line, so
``mtree_verify`` (MPVERIFY, docs/src/user_docs/assembly/cryptographic_operations.md at v0.18.0) runs there."""

import json
from pathlib import Path

import pytest

from air.miden import rpo
from tests.scenario_kit import merkle_root

P = 2**64 - 2**32 + 1
LEAVES = [[100 * k + j + 1 for j in range(4)] for k in range(8)]


def root_by_hand() -> tuple[int, ...]:
    """The root of the 8-leaf tree: node = merge(left, right), three levels up (miden-crypto MerkleTree)."""
    level = [tuple(w) for w in LEAVES]
    while len(level) > 1:
        level = [rpo.merge(level[k], level[k + 1]) for k in range(0, len(level), 2)]
    return level[0]


def program(tmp_path: Path, leaf: list[int], index: int) -> Path:
    word = ".".join(str(x) for x in root_by_hand())
    node = ".".join(str(x) for x in leaf)
    p = tmp_path / "verify.masm"
    p.write_text(f"begin\n  push.{word} push.{index} push.3 push.{node} mtree_verify\n  dropw drop drop dropw\nend\n")
    return p


def test_mtree_verify_runs_with_a_tree_file_and_its_trace_checks(air_cli, tmp_path) -> None:
    """Leaf 6 of the tree verifies (exit 0); the exported trace passes the complete model; without the file
    the run stops with exit 2 naming the instruction, and a leaf that is not in the tree is refused too."""
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps(LEAVES))
    prog = program(tmp_path, LEAVES[6], 6)
    out_trace = str(tmp_path / "t.npz")
    code, out, err = air_cli("run", str(prog), "--air", "miden-v0.19", "--merkle-tree", str(tree), "-o", out_trace)
    assert code == 0, err
    assert "wrote" in out
    code, out, err = air_cli("check", out_trace, "--air", "miden-v0.19")
    assert code == 0, out + err
    code, _, err = air_cli("run", str(prog), "--air", "miden-v0.19")
    assert code == 2 and "mtree_verify" in err and "no Merkle tree" in err
    other = tmp_path / "other.json"  # a second tree given too: the store holds both, the first still answers
    other.write_text(json.dumps(LEAVES[::-1]))
    code, _, err = air_cli("run", str(prog), "--air", "miden-v0.19", "--merkle-tree", str(other),
                           "--merkle-tree", str(tree))  # fmt: skip
    assert code == 0, err
    code, _, err = air_cli("run", str(program(tmp_path, LEAVES[5], 6)), "--air", "miden-v0.19", "--merkle-tree",
                           str(tree))  # fmt: skip
    assert code == 2 and "mtree_verify" in err


@pytest.mark.parametrize(
    "content",
    [
        "[[1,2,3,4],",  # not JSON
        json.dumps({"leaves": LEAVES}),  # not a list
        json.dumps(LEAVES[:3]),  # not a power of two
        json.dumps(LEAVES[:1]),  # a single leaf
        json.dumps([[1, 2, 3]] + LEAVES[1:]),  # a leaf of 3
        json.dumps([[1, 2, 3, P]] + LEAVES[1:]),  # p is not a field element
        json.dumps([[1, 2, 3, -1]] + LEAVES[1:]),
        json.dumps([[1, 2, 3, "4"]] + LEAVES[1:]),
        json.dumps([[1, 2, 3, 4.5]] + LEAVES[1:]),
    ],
)
def test_bad_tree_files_exit_2_naming_the_file(air_cli, tmp_path, content) -> None:
    tree = tmp_path / "bad.json"
    tree.write_text(content)
    code, out, err = air_cli("run", str(program(tmp_path, LEAVES[6], 6)), "--air", "miden-v0.19", "--merkle-tree",
                             str(tree))  # fmt: skip
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(tree) in lines[0] and "--merkle-tree" in lines[0]


def test_missing_tree_file_exit_2(air_cli, tmp_path) -> None:
    missing = tmp_path / "nope.json"
    code, _, err = air_cli("run", str(program(tmp_path, LEAVES[6], 6)), "--air", "miden-v0.19", "--merkle-tree",
                           str(missing))  # fmt: skip
    assert code == 2 and str(missing) in err and len(err.strip().splitlines()) == 1


def test_mtree_set_runs_from_the_command_line_and_its_trace_checks(air_cli, tmp_path) -> None:
    """``mtree_set`` (MRUPDATE) then ``mtree_verify`` of the new leaf against the new root, on the command line:
    the run exits 0, prints the new root (computed here by hand) under the old leaf, and the exported trace passes
    the complete model with its sibling table in use (``air check --format json``: chiplets_vtable carries the 3
    siblings added and removed, and the transcript's 2 boundary messages)."""
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps(LEAVES))
    new = [5, 6, 7, 8]
    leaves = [tuple(w) for w in LEAVES]
    leaves[2] = tuple(new)
    new_root = merkle_root(leaves)
    old_root = ".".join(str(x) for x in root_by_hand())
    nw, nr = ".".join(str(x) for x in new), ".".join(str(x) for x in new_root)
    p = tmp_path / "set.masm"
    p.write_text(f"begin\n  push.{nw} push.{old_root} push.2 push.3 mtree_set\n"
                 f"  push.{nr} push.2 push.3 push.{nw} mtree_verify dropw drop drop dropw\n"
                 "  repeat.8 movup.8 drop end\nend\n")  # fmt: skip
    out_trace = str(tmp_path / "set.npz")
    code, out, err = air_cli("run", str(p), "--air", "miden-v0.19", "--merkle-tree", str(tree), "-o", out_trace)
    assert code == 0, err
    words = [int(x) for x in out.replace(",", " ").replace("[", " ").replace("]", " ").split() if x.isdigit()]
    top = [*LEAVES[2][::-1], *new_root[::-1]]
    assert any(words[k : k + 8] == top for k in range(len(words))), out
    code, out, err = air_cli("check", out_trace, "--format", "json")
    assert code == 0, out + err
    buses = {b["bus"]: b for b in json.loads(out)["buses"]}
    # + the precompile transcript's boundary of v0.19: the empty and the final state (equal: no log_precompile)
    assert buses["chiplets_vtable"]["messages"] == 6 + 2 and buses["chiplets_vtable"]["ok"]


def test_store_update_of_an_inner_node() -> None:
    """Replacing an inner node (depth 2 of 3) with a word that is no tree's root: the node and the root change
    (computed by hand), the leaves below it become unknown to the new tree (a path to them is refused), those
    beside it are kept; the old tree is still in the store."""
    from air.miden.merkle import MerkleError, MerkleStore

    store = MerkleStore([LEAVES])
    old = root_by_hand()
    leaves = [tuple(w) for w in LEAVES]
    n = [rpo.merge(leaves[k], leaves[k + 1]) for k in range(0, 8, 2)]
    word = (1, 2, 3, 4)
    path, root = store.update(old, 2, 1, word)
    assert path == (n[0], rpo.merge(n[2], n[3]))
    assert root == rpo.merge(rpo.merge(n[0], word), rpo.merge(n[2], n[3]))
    assert store.node(root, 2, 1) == word and store.node(root, 3, 0) == leaves[0]
    with pytest.raises(MerkleError, match="unknown"):
        store.path(root, 3, 2)
    assert store.node(old, 3, 2) == leaves[2]
