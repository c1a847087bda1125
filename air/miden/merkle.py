"""A Merkle store for MPVERIFY and MRUPDATE: the part of Miden's advice provider that answers
``get_merkle_path``, ``get_tree_node`` and ``update_merkle_node``.

Trees are built from their leaves (a power of two of words) with ``rpo.merge`` (miden-crypto MerkleTree: node
= merge(left, right), the root at depth 0, leaves at depth log2(n)). ``path(root, depth, index)`` gives the
siblings of the node at (depth, index) from its level up to the root's children, as
processor/src/operations/crypto_ops.rs ``op_mpverify`` asks the advice provider for them at v0.18.0.
``update(root, depth, index, value)`` is ``update_merkle_node`` (``op_mrupdate``): the tree is copied with the node
replaced, both trees stay in the store, and the old path (the new tree's too: the siblings do not change) is
returned with the new root.
"""

from __future__ import annotations

from collections.abc import Sequence

from air.miden import rpo

Word = tuple[int, int, int, int]


class MerkleError(ValueError):
    """No tree with that root, or no node at that depth and index."""


class MerkleStore:
    def __init__(self, trees: Sequence[Sequence[Sequence[int]]] = ()) -> None:
        self.levels: dict[Word, list[list[Word]]] = {}  # root -> levels, levels[d][i] = node at depth d, index i
        for leaves in trees:
            self.add(leaves)

    def add(self, leaves: Sequence[Sequence[int]]) -> Word:
        """Add the tree over ``leaves`` (at least 2, a power of two); return its root."""
        level = [tuple(int(x) % rpo.P for x in w) for w in leaves]
        n = len(level)
        if n < 2 or n & (n - 1) or any(len(w) != 4 for w in level):
            raise MerkleError("a Merkle tree needs a power of two (at least 2) of 4-element leaves")
        levels = [level]
        while len(level) > 1:
            level = [rpo.merge(level[k], level[k + 1]) for k in range(0, len(level), 2)]
            levels.append(level)
        levels.reverse()
        root: Word = levels[0][0]  # type: ignore[assignment]
        self.levels[root] = levels  # type: ignore[assignment]
        return root

    def path(self, root: Sequence[int], depth: int, index: int) -> tuple[Word, ...]:
        """The siblings of node (depth, index), the lowest first."""
        levels = self.levels.get(tuple(int(x) for x in root))  # type: ignore[arg-type]
        if levels is None:
            raise MerkleError(f"no Merkle tree with root {tuple(root)} in the advice provider")
        if not 1 <= depth < len(levels) or not 0 <= index < 2**depth:
            raise MerkleError(f"no node at depth {depth}, index {index} in the tree (depth {len(levels) - 1})")
        out = []
        if levels[depth][index] is None:
            raise MerkleError(f"node at depth {depth}, index {index} is unknown (below a node an update replaced)")
        for d in range(depth, 0, -1):
            out.append(levels[d][index ^ 1])
            index >>= 1
        return tuple(out)

    def node(self, root: Sequence[int], depth: int, index: int) -> Word:
        """The node at (depth, index) of the tree with ``root`` (depth 0 is the root)."""
        self.path(root, depth, index)  # the same errors: no such tree, no such node
        return self.levels[tuple(int(x) for x in root)][depth][index]  # type: ignore[index]

    def update(
        self, root: Sequence[int], depth: int, index: int, value: Sequence[int]
    ) -> tuple[tuple[Word, ...], Word]:
        """A copy of the tree with ``root`` whose node (depth, index) is ``value``, added to the store: the node's
        path (its siblings, the lowest first, the same in both trees) and the new root."""
        path = self.path(root, depth, index)
        levels = [list(level) for level in self.levels[tuple(int(x) for x in root)]]  # type: ignore[index]
        node: Word = tuple(int(x) % rpo.P for x in value)  # type: ignore[assignment]
        # below an inner node: the subtree of the tree whose root ``value`` is, when the store holds one deep
        # enough (Miden appends it), else unknown (None: a path through it is refused)
        sub = self.levels.get(node, [])
        for k, d in enumerate(range(depth + 1, len(levels))):
            width = 2 ** (k + 1)
            below = sub[k + 1] if k + 1 < len(sub) else [None] * width
            levels[d][index * width : (index + 1) * width] = below
        for d in range(depth, 0, -1):
            levels[d][index] = node
            pair = (node, levels[d][index ^ 1]) if index % 2 == 0 else (levels[d][index ^ 1], node)
            node = rpo.merge(*pair)  # type: ignore[assignment]
            index >>= 1
        levels[0][0] = node
        self.levels[node] = levels
        return path, node
