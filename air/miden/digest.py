"""MAST node digests as the Miden assembler computes them (RPO-256, air/miden/rpo.py).

Source: github.com/0xMiden/miden-vm, tag v0.19.0 (commit a3efe5eb0727e07d045f28fe19081182d6f36502), core/src/mast/node:

* basic_block_node/mod.rs and op_batch.rs: operations are packed into *groups* (a field element holding up to
  9 opcodes of 7 bits, opcode k at bits 7k..7k+7), groups into *batches* of 8. An operation with an immediate
  (PUSH, the only one: ``Operation::imm_value``, core/src/operations/mod.rs) puts its immediate in the next free
  group of the batch; it may not be the last operation of a group (it then opens a new group). A group that is
  closed empty or right after a PUSH gets a padding NOOP. A batch is closed when the next operation (with its
  immediate) does not fit; its number of groups is rounded up to a power of two with NOOP groups. The digest is
  ``hash_elements`` of all batches' 8 groups (unused groups are 0): a sponge over 8-element blocks with
  capacity[0] = 0, i.e. the same as the hasher chiplet absorbing batch after batch (domain 0).
* join_node.rs, split_node.rs, loop_node.rs, call_node.rs, dyn_node.rs: ``merge_in_domain([a, b], opcode)``
  with the control operation's opcode in capacity[1]: JOIN (87) [first, second], SPLIT (84) [on_true, on_false],
  LOOP (85) [body, 0], CALL (108) / SYSCALL (104) [callee, 0], DYN (88) / DYNCALL (92) [0, 0].
* external.rs: an external node's digest is the digest of the procedure it stands for.

The control-node functions take the domain as an optional argument (default: Miden's opcode) for designs that move
an opcode (e.g. miden-fnhash-mem-slot puts DYNCALL at 120): Miden's domain is the control operation's opcode.

The code is ours; the rules are Miden's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from air.miden import rpo
from air.miden.opcodes import OPCODES_V19

Digest = rpo.Digest
P = rpo.P

GROUP_SIZE = 9  # operations per group
BATCH_SIZE = 8  # groups per batch
OP_BITS = 7

NOOP = OPCODES_V19["NOOP"]
PUSH = OPCODES_V19["PUSH"]
JOIN, SPLIT, LOOP = OPCODES_V19["JOIN"], OPCODES_V19["SPLIT"], OPCODES_V19["LOOP"]
CALL, SYSCALL = OPCODES_V19["CALL"], OPCODES_V19["SYSCALL"]
DYN, DYNCALL = OPCODES_V19["DYN"], OPCODES_V19["DYNCALL"]
BASIC_BLOCK_DOMAIN = 0
CONTROL_OPCODES = frozenset(
    OPCODES_V19[n] for n in ("JOIN", "SPLIT", "LOOP", "SPAN", "CALL", "SYSCALL", "DYN", "DYNCALL", "END", "REPEAT",
                             "RESPAN", "HALT")
)  # fmt: skip

Op = tuple[int, "int | None"]  # (opcode, immediate or None)


@dataclass(frozen=True)
class OpBatch:
    """One batch of a basic block, laid out as Miden's ``OpBatch``.

    ``ops``: the operations in execution order, padding NOOPs included; ``groups``: the 8 group values (opcode
    groups and immediates; 0 past ``num_groups``); ``num_groups``: a power of two (1, 2, 4 or 8); group i holds
    ``ops[indptr[i]:indptr[i + 1]]`` (an empty slice for a group carrying an immediate); ``padding[i]``: group i
    ends with a padding NOOP.
    """

    ops: tuple[Op, ...]
    groups: tuple[int, ...]
    num_groups: int
    indptr: tuple[int, ...]
    padding: tuple[bool, ...]

    def group_ops(self, i: int) -> tuple[Op, ...]:
        """The operations of group i (empty for an immediate group)."""
        return self.ops[self.indptr[i] : self.indptr[i + 1]]

    def is_immediate(self, i: int) -> bool:
        """Whether group i (< num_groups) carries an immediate rather than opcodes."""
        return self.indptr[i] == self.indptr[i + 1]


_UNSET = -1


class _Accumulator:
    """Builds one batch (the rules of ``OpBatchAccumulator``, op_batch.rs)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.indptr = [0] * (BATCH_SIZE + 1)
        self.padding = [False] * BATCH_SIZE
        self.groups = [0] * BATCH_SIZE
        self.group = 0  # value of the open group
        self.op_idx = 0  # next slot in the open group
        self.group_idx = 0  # the open group
        self.next_group_idx = 1  # the next free group

    def can_accept(self, has_imm: bool) -> bool:
        if has_imm:  # the op may need a new group, and its immediate needs a free group after that
            extra = 1 if self.op_idx >= GROUP_SIZE - 1 else 0
            return self.next_group_idx + extra < BATCH_SIZE
        return self.op_idx < GROUP_SIZE or self.next_group_idx < BATCH_SIZE

    def add(self, op: Op) -> None:
        if self.op_idx == GROUP_SIZE:
            self._close_group()
        if op[1] is not None:
            if self.op_idx == GROUP_SIZE - 1:  # a PUSH may not end a group
                self._close_group()
            self.groups[self.next_group_idx] = op[1]
            self.indptr[self.next_group_idx] = _UNSET
            self.next_group_idx += 1
        self._push(op)

    def into_batch(self) -> OpBatch:
        n = self.next_group_idx
        for _ in range(n, 1 << (n - 1).bit_length()):  # pad the group count to a power of two
            self._close_group()
        self.groups[self.group_idx] = self.group
        self._pad_if_needed()
        self._close_indptr()
        return OpBatch(tuple(self.ops), tuple(self.groups), self.next_group_idx, tuple(self.indptr),
                       tuple(self.padding))  # fmt: skip

    def _push(self, op: Op) -> None:
        self.group |= op[0] << (OP_BITS * self.op_idx)
        self.ops.append(op)
        self.op_idx += 1

    def _pad_if_needed(self) -> None:
        if self.op_idx == 0 or self.ops[-1][1] is not None:
            self._push((NOOP, None))
            self.padding[self.group_idx] = True

    def _close_indptr(self) -> None:
        end = len(self.ops)
        self.indptr[self.next_group_idx] = end
        k = self.next_group_idx - 1
        while k >= self.group_idx and self.indptr[k] == _UNSET:  # immediate groups: empty slices
            self.indptr[k] = end
            k -= 1

    def _close_group(self) -> None:
        self._pad_if_needed()
        self.groups[self.group_idx] = self.group
        self._close_indptr()
        self.group_idx = self.next_group_idx
        self.next_group_idx += 1
        self.op_idx = 0
        self.group = 0


def _check_ops(ops: Iterable[Sequence[int | None]]) -> list[Op]:
    out: list[Op] = []
    for k, o in enumerate(ops):
        code, imm = int(o[0]), o[1] if len(o) > 1 else None
        if not 0 <= code < 128:
            raise ValueError(f"op {k}: opcode {code} is not a 7-bit opcode")
        if code in CONTROL_OPCODES:
            raise ValueError(f"op {k}: opcode {code} is a control-flow operation, not allowed in a basic block")
        if (code == PUSH) != (imm is not None):
            raise ValueError(f"op {k}: PUSH needs an immediate and no other operation takes one (opcode {code})")
        out.append((code, None if imm is None else int(imm) % P))
    if not out:
        raise ValueError("a basic block needs at least one operation")
    return out


def batch_groups(ops: Iterable[Sequence[int | None]]) -> list[OpBatch]:
    """The batches of a basic block: ``ops`` are (opcode, immediate) pairs, the immediate None except for PUSH."""
    batches: list[OpBatch] = []
    acc = _Accumulator()
    for op in _check_ops(ops):
        if not acc.can_accept(op[1] is not None):
            batches.append(acc.into_batch())
            acc = _Accumulator()
        acc.add(op)
    if acc.ops:
        batches.append(acc.into_batch())
    return batches


def basic_block_digest(ops: Iterable[Sequence[int | None]]) -> Digest:
    """hash_elements over the 8 groups of every batch (capacity[0] = 0: 8 divides the count)."""
    return rpo.hash_elements([g for b in batch_groups(ops) for g in b.groups])


def join_digest(first: Sequence[int], second: Sequence[int], domain: int = JOIN) -> Digest:
    """merge_in_domain([first, second], JOIN = 87)."""
    return rpo.merge_in_domain(first, second, domain)


def split_digest(on_true: Sequence[int], on_false: Sequence[int], domain: int = SPLIT) -> Digest:
    """merge_in_domain([on_true, on_false], SPLIT = 84)."""
    return rpo.merge_in_domain(on_true, on_false, domain)


def loop_digest(body: Sequence[int], domain: int = LOOP) -> Digest:
    """merge_in_domain([body, 0], LOOP = 85)."""
    return rpo.merge_in_domain(body, rpo.ZERO_DIGEST, domain)


def call_digest(callee: Sequence[int], domain: int = CALL) -> Digest:
    """merge_in_domain([callee, 0], CALL = 108)."""
    return rpo.merge_in_domain(callee, rpo.ZERO_DIGEST, domain)


def syscall_digest(callee: Sequence[int], domain: int = SYSCALL) -> Digest:
    """merge_in_domain([callee, 0], SYSCALL = 104)."""
    return rpo.merge_in_domain(callee, rpo.ZERO_DIGEST, domain)


def dyn_digest(domain: int = DYN) -> Digest:
    """merge_in_domain([0, 0], DYN = 88)."""
    return rpo.merge_in_domain(rpo.ZERO_DIGEST, rpo.ZERO_DIGEST, domain)


def dyncall_digest(domain: int = DYNCALL) -> Digest:
    """merge_in_domain([0, 0], DYNCALL = 92)."""
    return rpo.merge_in_domain(rpo.ZERO_DIGEST, rpo.ZERO_DIGEST, domain)


def external_digest(procedure: Sequence[int]) -> Digest:
    """An external node stands for a procedure: its digest is that procedure's."""
    d = tuple(int(x) % P for x in procedure)
    if len(d) != 4:
        raise ValueError(f"a digest has 4 field elements, got {len(d)}")
    return d  # type: ignore[return-value]


def digest_to_hex(d: Sequence[int]) -> str:
    """Miden's ``Word::to_hex``: 0x, then each element as 8 little-endian bytes, in element order."""
    return "0x" + b"".join(int(x).to_bytes(8, "little") for x in d).hex()


def digest_from_hex(s: str) -> Digest:
    """The inverse of digest_to_hex (64 hex digits; every element must be below p)."""
    h = s[2:] if s.lower().startswith("0x") else s
    if len(h) != 64:
        raise ValueError(f"a digest is 64 hex digits, got {len(h)}")
    d = tuple(int.from_bytes(bytes.fromhex(h[16 * i : 16 * i + 16]), "little") for i in range(4))
    if any(x >= P for x in d):
        raise ValueError(f"{s}: an element is not below the field modulus")
    return d  # type: ignore[return-value]
