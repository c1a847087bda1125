"""The hasher chiplet's rows for a list of hash jobs, per the real layout (``layout.HASHER``).

One 8-row cycle per permutation (docs/src/design/chiplets/hasher.md, "Computation examples"; selectors as
processor/src/chiplets/hasher/{mod.rs,trace.rs} at v0.18.0 fill them): row 0 holds the input state and the
start selectors, rows 1..6 the state after rounds 1..6 with ``s0 = 0`` and ``s1, s2`` carried, row 7 the
state after round 7 and the end selectors (RETURN_HASH / RETURN_STATE, or the start selectors again when the
computation goes on: ABP / MPA / MVA / MUA). A continuing cycle starts with ``s0 = 0``. The node index is the
Merkle index on the first row of a path and is shifted right by one bit on every row that absorbs a node.

Jobs: ``LinearHash(elements)`` (``rpo.hash_elements``: capacity[0] = n mod 8, overwrite absorption),
``Merge(d1, d2, domain)`` (``rpo.merge_in_domain``), ``Permute(state)`` (HPERM: whole state back),
``MerklePath(leaf, index, path)`` (MPVERIFY) and ``MerkleUpdate(old, new, index, path)`` (MRUPDATE: the old
path then the new one). ``build`` returns the rows, the row of each bus response and each job's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from air.miden import layout as L
from air.miden import rpo, rpo_vec

__all__ = ["LinearHash", "Merge", "Permute", "MerklePath", "MerkleUpdate", "Response", "HasherTrace", "build"]
__all__ += ["COLUMNS", "rows", "permute_trace"]

# the hasher's columns in the order of ``rows``: chiplet selector, s0..s2, h0..h11, node index (layout.HASHER)
COLUMNS: tuple[str, ...] = (L.HASHER["chip_s0"], *L.HASHER["s"], *L.HASHER["h"], L.HASHER["i"])

Selectors = tuple[int, int, int]
LINEAR_HASH: Selectors = (1, 0, 0)
MP_VERIFY: Selectors = (1, 0, 1)
MR_UPDATE_OLD: Selectors = (1, 1, 0)
MR_UPDATE_NEW: Selectors = (1, 1, 1)
RETURN_HASH: Selectors = (0, 0, 0)
RETURN_STATE: Selectors = (0, 0, 1)


@dataclass(frozen=True)
class LinearHash:
    elements: tuple[int, ...]


@dataclass(frozen=True)
class Merge:
    d1: tuple[int, ...]
    d2: tuple[int, ...]
    domain: int = 0


@dataclass(frozen=True)
class Permute:
    state: tuple[int, ...]


@dataclass(frozen=True)
class MerklePath:
    leaf: tuple[int, ...]
    index: int
    path: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MerkleUpdate:
    old: tuple[int, ...]
    new: tuple[int, ...]
    index: int
    path: tuple[tuple[int, ...], ...]


Job = LinearHash | Merge | Permute | MerklePath | MerkleUpdate


@dataclass(frozen=True)
class Response:
    """One hasher response on b_chip: the job, its kind (a ``layout.HASHER_*`` transition label) and its row."""

    job: int
    label: int
    row: int


@dataclass
class HasherTrace:
    """``rows[r]`` maps each hasher column (``chip0..chip16``) to its value; ``results[j]`` is job j's output
    (the digest, or the whole state for ``Permute``; for ``MerkleUpdate`` the (old root, new root) pair)."""

    rows: list[dict[str, int]] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    results: list[object] = field(default_factory=list)

    def column(self, name: str) -> list[int]:
        return [r[name] for r in self.rows]


class _Builder:
    def __init__(self) -> None:
        self.t = HasherTrace()

    def _row(self, sel: Selectors, state: Sequence[int], index: int) -> None:
        h = L.HASHER
        row = {h["chip_s0"]: 0, h["i"]: index % rpo.P}
        row.update({c: v for c, v in zip(h["s"], sel)})
        row.update({c: int(v) % rpo.P for c, v in zip(h["h"], state)})
        self.t.rows.append(row)

    def cycle(self, state: Sequence[int], init: Selectors, final: Selectors, i0: int = 0, i1: int = 0) -> list[int]:
        """Append one permutation (8 rows); return the output state."""
        states = permute_trace(tuple(int(x) % rpo.P for x in state))
        self._row(init, states[0], i0)
        for r in range(1, 7):
            self._row((0, init[1], init[2]), states[r], i1)
        self._row(final, states[7], i1)
        return list(states[7])

    def respond(self, job: int, label: int, row: int) -> None:
        self.t.responses.append(Response(job, label, row))

    def linear(self, job: int, state: list[int], blocks: list[list[int]]) -> list[int]:
        """Absorb ``blocks`` (the first already in ``state``'s rate); return the final state."""
        n = len(blocks)
        start = len(self.t.rows)
        self.respond(job, L.HASHER_LINEAR_HASH, start)
        for k in range(n):
            init = LINEAR_HASH if k == 0 else (0, 0, 0)
            final = LINEAR_HASH if k < n - 1 else RETURN_HASH
            state = self.cycle(state, init, final)
            last = len(self.t.rows) - 1
            if k < n - 1:
                self.respond(job, L.HASHER_ABSORB, last)
                state = state[:4] + blocks[k + 1]
            else:
                self.respond(job, L.HASHER_RETURN_HASH, last)
        return state

    def merkle(self, job: int, leaf: Sequence[int], index: int, path: Sequence[Sequence[int]], main: Selectors) -> list:
        """One Merkle path (processor/src/chiplets/hasher/mod.rs, verify_merkle_path); return the root."""
        if not path or index >> len(path):
            raise ValueError("a Merkle path needs at least one node and an index below 2^depth")
        label = {MP_VERIFY: L.HASHER_MP_VERIFY, MR_UPDATE_OLD: L.HASHER_MR_UPDATE_OLD}.get(main, L.HASHER_MR_UPDATE_NEW)
        self.respond(job, label, len(self.t.rows))
        node = list(leaf)
        for k, sib in enumerate(path):
            bit = index & 1
            state = [0, 0, 0, 0] + (node + list(sib) if bit == 0 else list(sib) + node)
            init = main if k == 0 else (0, main[1], main[2])
            final = RETURN_HASH if k == len(path) - 1 else main
            i0 = index if k == 0 else index >> 1
            out = self.cycle(state, init, final, i0, index >> 1)
            index >>= 1
            node = out[4:8]
        self.respond(job, L.HASHER_RETURN_HASH, len(self.t.rows) - 1)
        return node


def build(jobs: Sequence[Job]) -> HasherTrace:
    """The hasher rows for ``jobs``, one after another from row 0 (the hasher is the first chiplet)."""
    b = _Builder()
    for j, job in enumerate(jobs):
        if isinstance(job, LinearHash):
            e = [int(x) % rpo.P for x in job.elements]
            if not e:
                raise ValueError("the hasher chiplet hashes at least one element")
            blocks = [e[k : k + 8] + [0] * (8 - len(e[k : k + 8])) for k in range(0, len(e), 8)]
            state = b.linear(j, [len(e) % 8, 0, 0, 0] + blocks[0], blocks)
            b.t.results.append(tuple(state[4:8]))
        elif isinstance(job, Merge):
            state = b.linear(j, [0, job.domain % rpo.P, 0, 0, *job.d1, *job.d2], [[]])
            b.t.results.append(tuple(state[4:8]))
        elif isinstance(job, Permute):
            b.respond(j, L.HASHER_LINEAR_HASH, len(b.t.rows))
            out = b.cycle(job.state, LINEAR_HASH, RETURN_STATE)
            b.respond(j, L.HASHER_RETURN_STATE, len(b.t.rows) - 1)
            b.t.results.append(tuple(out))
        elif isinstance(job, MerklePath):
            b.t.results.append(tuple(b.merkle(j, job.leaf, job.index, job.path, MP_VERIFY)))
        elif isinstance(job, MerkleUpdate):
            old = b.merkle(j, job.old, job.index, job.path, MR_UPDATE_OLD)
            new = b.merkle(j, job.new, job.index, job.path, MR_UPDATE_NEW)
            b.t.results.append((tuple(old), tuple(new)))
        else:
            raise TypeError(f"unknown hash job {job!r}")
    return b.t


@lru_cache(maxsize=1 << 16)
def permute_trace(state: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """``rpo.permute_trace`` remembered per input state: a loop re-hashes the same blocks, and the executor asks
    for an HPERM's output when it runs and again for the rows."""
    return tuple(tuple(s) for s in rpo.permute_trace(state))


VECTOR_MIN = 32  # permutations of one level computed with rpo_vec from this many on (below: rpo, remembered)


def _perm_traces(states: list[tuple[int, ...]]) -> np.ndarray:
    """(N, 8, 12) cycle states of N permutations: numpy over all of them when there are many, else ``rpo``."""
    if len(states) >= VECTOR_MIN:
        return rpo_vec.permute_trace_many(np.array(states, dtype=np.uint64))
    return np.array([permute_trace(s) for s in states], dtype=np.uint64).reshape(-1, 8, rpo.STATE_WIDTH)


def _sponge_rows(jobs: list[LinearHash | Merge | Permute]) -> dict[Job, np.ndarray]:
    """The rows of linear hashes, merges and permutations (``build``'s layout), all jobs' k-th permutations
    computed together: a job's cycle k starts from its cycle k - 1's output with the next 8 elements absorbed."""
    plans = []  # (initial state, the blocks absorbed after the first, the final selectors)
    for job in jobs:
        if isinstance(job, Permute):
            plans.append((tuple(int(x) % rpo.P for x in job.state), [], RETURN_STATE))
        elif isinstance(job, Merge):
            d = [int(x) % rpo.P for x in (*job.d1, *job.d2)]
            plans.append(((0, int(job.domain) % rpo.P, 0, 0, *d), [], RETURN_HASH))
        else:
            e = [int(x) % rpo.P for x in job.elements]
            if not e:
                raise ValueError("the hasher chiplet hashes at least one element")
            blocks = [tuple(e[k : k + 8]) + (0,) * (8 - len(e[k : k + 8])) for k in range(0, len(e), 8)]
            plans.append(((len(e) % 8, 0, 0, 0, *blocks[0]), blocks[1:], RETURN_HASH))
    traces: list[list[np.ndarray]] = [[] for _ in jobs]
    state = [p[0] for p in plans]
    live = list(range(len(jobs)))
    k = 0
    while live:
        out = _perm_traces([state[j] for j in live])
        nxt = []
        for t, j in zip(out, live):
            traces[j].append(t)
            if k < len(plans[j][1]):
                state[j] = tuple(int(x) for x in t[-1, :4]) + plans[j][1][k]
                nxt.append(j)
        live = nxt
        k += 1
    result: dict[Job, np.ndarray] = {}
    for j, job in enumerate(jobs):
        n = len(traces[j])
        a = np.zeros((8 * n, len(COLUMNS)), dtype=np.uint64)
        a[:, 4:16] = np.concatenate(traces[j])
        a[0, 1:4] = LINEAR_HASH  # row 0 of the first cycle starts the hash; rows 1..6 carry (0, 0, 0)
        a[7 : 8 * n - 1 : 8, 1:4] = LINEAR_HASH  # the last row of a cycle that absorbs the next block (ABP)
        a[8 * n - 1, 1:4] = plans[j][2]
        result[job] = a
    return result


def rows(jobs: Sequence[Job]) -> np.ndarray:
    """The hasher rows of ``jobs`` one after another from row 0, as a (rows, len(COLUMNS)) uint64 array.

    A job's rows do not depend on where they sit (the bus address is the row's clk + 1, not a column), so each
    distinct job is built once and its rows copied for every repetition, as the processor copies a memoized
    block's rows (processor/src/chiplets/hasher/mod.rs ``memoized_trace_map``). The permutations of the distinct
    linear hashes, merges and permutations are computed level by level over all of them (``rpo_vec``); Merkle
    jobs go through ``build``."""
    if not jobs:
        return np.zeros((0, len(COLUMNS)), dtype=np.uint64)
    # each job's distinct number: by object first (the executor re-sends one object per basic block), by value
    # for the rest (a control block's merge is a new object per run)
    by_id: dict[int, int] = {}
    numbers: dict[Job, int] = {}
    order = []
    for job in jobs:
        d = by_id.get(id(job))
        if d is None:
            d = by_id[id(job)] = numbers.setdefault(job, len(numbers))
        order.append(d)
    distinct = list(numbers)
    sponge = [j for j in distinct if isinstance(j, (LinearHash, Merge, Permute))]
    built = _sponge_rows(sponge)  # type: ignore[arg-type]
    for job in distinct:
        if job not in built:
            t = build([job])
            built[job] = np.array([[r.get(c, 0) for c in COLUMNS] for r in t.rows], dtype=np.uint64)
    # the distinct jobs' rows one after another, then gathered in the order of ``jobs``: row r of job k is the
    # table row start(k) + r
    blocks = [built[j] for j in distinct]
    table = np.concatenate(blocks)
    lengths = np.array([len(b) for b in blocks], dtype=np.intp)
    first = np.cumsum(lengths) - lengths
    index = np.array(order, dtype=np.intp)
    per_job = lengths[index]
    out_first = np.cumsum(per_job) - per_job
    return table[np.arange(int(per_job.sum())) + np.repeat(first[index] - out_first, per_job)]
