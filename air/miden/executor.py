"""A reference executor for the modeled part of the Miden VM, and the traces it exports.

It runs an assembled MAST (``air.miden.masm``) operation by operation, one trace row per cycle, under
the rules of a design:

* ``miden-v0.18``: fmp/in_syscall/fn_hash registers; CALL/DYNCALL set ctx = clk + 1, fmp = 2^30,
  fn_hash = callee; SYSCALL sets ctx = 0, fmp = 2^31, in_syscall = 1; END restores
  (processor/src/system/mod.rs at v0.18.0). CALL, DYNCALL or SYSCALL inside a syscall is an
  execution error (PR #1680), and CALLER outside one.
* ``miden-v0.18-permissive``: the same, but call-in-syscall is let through (to show what breaks). As in
  the v0.18 processor, CALL/DYNCALL do not clear in_syscall (they could not run inside a syscall there),
  so a callee of a kernel procedure still counts as "in a syscall".
* ``miden-sys-fmp``: FMPUPDATE/FMPADD use sys_fmp when in_kernel; in_kernel is 1 in context 0, 0 after
  CALL/DYNCALL, 1 after SYSCALL, restored at END; SYSCALL leaves fmp alone; CALLER needs in_kernel = 1.
* ``miden-gate`` (seed discussion, the gate column, as written): no fmp/in_syscall/fn_hash columns; CALL/DYNCALL
  write fn_hash at mem[0..3] and FMP_MIN at mem[4] of the new context (chiplets-bus memory writes at the call's
  clk); SYSCALL re-enters context 0 and writes nothing; CALLER reads the word at 0 of the current context (no
  in-syscall check: the columns are gone); FMPADD reads mem[4], FMPUPDATE reads it (old value in h2) and
  writes old + s0; calls and syscalls are allowed anywhere. MLOAD/MSTORE/MLOADW/MSTOREW below 2^GATE_BITS
  still run (the executor refuses nothing there): the trace then fails the AIR's ``gate`` constraint. On
  memory-op rows h2 = s0 mod 2^GATE_BITS and gate = 1/(s0 >> GATE_BITS) (0 when that is 0).
* ``miden-v0.19`` (and ``miden-fnhash-mem*``): fmp lives at FMP_ADDR of each context's memory;
  CALL/DYNCALL write FMP_INIT there through the chiplets bus (fnhash-mem designs also write fn_hash at
  FN_HASH_ADDR, and CALLER reads it); calls and syscalls are allowed anywhere.

The exported trace fills the columns of the design's AIR as the families in ``FILLED_FAMILIES`` read them:
system; decoder (block address, op bits, e0/e1; basic blocks decoded from their op batches as Miden lays
them out, ``digest.batch_groups``: SPAN/RESPAN with the batch's groups in h0..h7 and its batch flags c0..c2,
the group count, op index, h0 = the rest of the op group and h1 = the parent block on operation rows,
padding NOOPs executed; END with the digest, is_loop_body, is_loop, call and syscall flags; hasher
addresses 8 per batch and the requests' labels 19 / 35 / 33 as the v0.18/v0.19 code sends them); stack (depth,
overflow address and table; the field, manipulation and input operations of ``exec_stack.OPS``);
the u32 operations (``air.miden.exec_u32``: helper registers, range-check requests, bitwise operations);
the range checker (every memory row's d0/d1 and every u32 operation's four limbs, with its count as multiplicity,
bridged from 0 to 65535 by powers of 3); and the chiplets: the hasher chiplet's real 8-row RPO cycles
(``hasher_trace``) for every hash the program performs, in execution order (control blocks: one merge in the
block's domain; basic blocks: a linear hash of their op batches, one cycle per batch; HPERM: one permutation), so
that block ``k``'s address is its first hasher row + 1; the bitwise chiplet's 8-row cycles
(``exec_u32.bitwise_rows``); memory rows sorted by (ctx, word, clk) with their delta limbs and inverse, kernel ROM
rows, padding. ``PENDING`` names the families it does not fill yet, and why.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from air import field as F
from air.air import Air
from air.miden import hasher_trace as HT
from air.miden import layout as L
from air.miden.designs import DESIGNS
from air.miden.digest import digest_to_hex
from air.miden.exec_errors import ExecutionError
from air.miden.exec_stack import OPS as STACK_OPS
from air.miden.exec_u32 import BITWISE_WIDTH, U32_OPS, bitwise_rows
from air.miden.masm import MAX_CYCLES, Block, Call, Dyn, Join, Loop, MasmError, Node, Op, Program, Split, assemble
from air.miden.merkle import MerkleError, MerkleStore
from air.trace import save_trace

P = L.P
Word = tuple[int, int, int, int]
ZERO: Word = (0, 0, 0, 0)

__all__ = ["MAX_CYCLES", "ExecutionError", "MasmError", "RunResult", "execute", "run_program", "export"]
__all__ += ["EXECUTOR_DESIGNS", "FILLED_FAMILIES", "PENDING", "range_table"]

# The constraint families whose constraints and buses the executor's traces satisfy, under every design it runs
# (``air check --only ",".join(FILLED_FAMILIES)``; tests/test_scenarios.py checks exactly these). chiplets.ace
# holds with no rows of its own (the executor runs no ACE operation); stack.u32_ops, chiplets.bitwise and
# range.checker are filled by the u32 operations (exec_u32); of stack.crypto_ops it runs HPERM, MPVERIFY and MRUPDATE.
# Written into the
# exported trace's metadata for information only: what `air check` checks never comes from a trace.
# chiplets.hasher and chiplets.bus: every hash as the hasher chiplet's rows, answering every b_chip request.
FILLED_FAMILIES: tuple[str, ...] = (
    "system",
    "decoder.op_bits",
    "decoder.flow",
    "decoder.span",
    "decoder.block_stack",
    "decoder.block_hash",
    "decoder.op_group",
    "decoder.requests",
    "stack.general",
    "stack.overflow",
    "stack.manipulation",
    "stack.field_ops",
    "stack.io_ops",
    "stack.system_ops",
    "stack.u32_ops",
    "stack.crypto_ops",
    "range.checker",
    "chiplets.selectors",
    "chiplets.memory",
    "chiplets.kernel_rom",
    "chiplets.bitwise",
    "chiplets.ace",
    "chiplets.hasher",
    "chiplets.bus",
)
# (v0.19's own family stack.precompiles, which v0.18 lacks, is not listed so that one list serves every design;
# it holds on the executor's v0.19 traces too: tests/test_scenarios.py checks them against the complete model.)
# Families the executor does not fill yet, with why: their constraints fail or their bus keeps messages unmatched
# on an honest trace.
PENDING: dict[str, str] = {}

# executor design -> the AIR whose layout and constraints its trace is for
EXECUTOR_DESIGNS = {
    "miden-v0.18": "miden-v0.18",
    "miden-v0.18-permissive": "miden-v0.18",
    "miden-sys-fmp": "miden-sys-fmp",
    "miden-gate": "miden-gate",
    "miden-v0.19": "miden-v0.19",
    "miden-fnhash-mem": "miden-fnhash-mem",
    "miden-fnhash-mem-slot": "miden-fnhash-mem-slot",
    "miden-fnhash-mem-column": "miden-fnhash-mem-column",
}


class MemAccess(NamedTuple):
    ctx: int
    addr: int
    clk: int
    is_read: int
    is_word: int
    word: Word  # the word containing addr, after the access


class MemLog:
    """The memory accesses of a run, packed 9 uint64 a row (ctx, addr, clk, is_read, is_word, the word after the
    access) into one typed array: no Python object kept per access."""

    WIDTH = 9

    def __init__(self) -> None:
        self.data = array("Q")

    def append(self, m: MemAccess) -> None:
        self.data.extend((m.ctx, m.addr, m.clk, m.is_read, m.is_word, *m.word))

    def __len__(self) -> int:
        return len(self.data) // self.WIDTH

    def rows(self) -> np.ndarray:
        """The accesses as a (k, 9) uint64 array (a view of the log)."""
        return np.frombuffer(self.data, dtype=np.uint64).reshape(-1, self.WIDTH) if self.data else _NO_ACCESS


@dataclass
class RunResult:
    design: str
    air: str
    stack_outputs: list[int]
    cycles: int
    n_rows: int
    columns: dict[str, np.ndarray]
    meta: dict[str, Any]
    public_inputs: dict[str, int] = field(default_factory=dict)
    public_tables: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)


H0: tuple[int, ...] = (0,) * 8
_NO_ACCESS = np.zeros((0, 9), dtype=np.uint64)
# The per-row registers, in typed arrays (no Python object per row), as few appends a row as possible:
# * "dec" 10 a row: the packed decoder fields (op code | in_span << 7 | c << 8 | op index << 11), group count,
#   h0..h7 (on EQ rows h2 is left 0 here: build_trace computes 1/(s0 - s1) over the column);
# * "stack" 16 a row: s0..s15; "dov" 3 a row: stack depth, overflow address, block address.
# The registers that change only at control rows or a few operations (ctx, fmp, sys_fmp, the flag, fn_hash as an
# index into VM.fn_hashes, the block address) are run-length encoded: "seg_rows" holds the row where a run starts,
# "seg" its SEG_WIDTH values (``VM._seg_check``); build_trace expands them over the column with np.repeat.
ROW_ARRAYS = {"dec": 10, "stack": 16, "dov": 3}
SEG_KEYS = ("ctx", "fmp", "sys_fmp", "flag", "fn_hash")
OPCODE_BITS, IN_SPAN_SHIFT, C_SHIFT, OX_SHIFT = 0x7F, 7, 8, 11
# op batch flags (c0, c1, c2) by the batch's number of groups, packed as c0 + 2 c1 + 4 c2: decoder/main.md and
# air/src/trace/decoder/mod.rs (OP_BATCH_8_GROUPS = [1, 0, 0], 4 = [0, 1, 0], 2 = [0, 0, 1], 1 = [0, 1, 1])
BATCH_FLAGS = {8: 0b001, 4: 0b010, 2: 0b100, 1: 0b110}
# a run's ``progress`` callback is called with the cycle count every PROGRESS_EVERY cycles
PROGRESS_EVERY = 1 << 14
# build_trace moves recorded rows into columns this many rows at a time (a block of the stack is 1 MB)
SCATTER_ROWS = 1 << 13
# the operations VM._run_ops runs inline, by kind (0: through VM.op); kinds >= K_ADD shift the stack left
K_NOOP, K_PUSH, K_DUP, K_PAD, K_SWAP, K_INCR, K_NEG, K_MOVUP = 1, 2, 3, 4, 5, 6, 7, 8
K_ADD, K_MUL, K_EQ, K_DROP, K_ASSERT = 9, 10, 11, 12, 13
FAST_KINDS = {"NOOP": K_NOOP, "PUSH": K_PUSH, "PAD": K_PAD, "SWAP": K_SWAP, "INCR": K_INCR, "NEG": K_NEG}
FAST_KINDS |= {"ADD": K_ADD, "MUL": K_MUL, "EQ": K_EQ, "DROP": K_DROP, "ASSERT": K_ASSERT}
# one operation row of a basic block (VM._plan)
Step = tuple[int, int, tuple[int, int, int], str, Op]
# the memory instructions the gate design keeps off the first 2^GATE_BITS addresses (flags.memop)
GATE_MEMOPS = ("MLOAD", "MSTORE", "MLOADW", "MSTOREW")


class VM:
    def __init__(
        self,
        design: str,
        program: Program,
        air: Air,
        stack_inputs: list[int] | None = None,
        max_cycles: int = MAX_CYCLES,
        progress: Callable[[int], None] | None = None,
    ):
        if design not in EXECUTOR_DESIGNS:
            known = ", ".join(EXECUTOR_DESIGNS)
            raise ExecutionError(f"the executor does not run design {design!r} (it runs: {known})")
        self.design = design
        self.air = air
        self.prog = program
        self.max_cycles = max_cycles
        self.progress = progress
        # the next row count at which emit looks up: the cycle cap, or the next progress report (one comparison
        # a row for both)
        self.next_stop = min(max_cycles, PROGRESS_EVERY) if progress else max_cycles
        self.opcode = {o.name: o.opcode for o in air.operations}
        self.v18 = design in ("miden-v0.18", "miden-v0.18-permissive")
        self.sysfmp = design == "miden-sys-fmp"
        self.gate = design == "miden-gate"
        self.memfmp = not (self.v18 or self.sysfmp or self.gate)
        self.fnhash_mem = design.startswith("miden-fnhash-mem")
        self.rows = {k: array("Q") for k in ROW_ARRAYS}
        self.seg_rows = array("Q")
        self.seg = array("Q")
        self._seg: tuple[int, ...] = ()
        self._plans: dict[int, tuple[Any, ...]] = {}  # id(Block) -> its precomputed operation rows (``_plan``)
        self.n_rows = 0
        self.mem: dict[tuple[int, int], int] = {}
        self.mem_log = MemLog()
        # the hasher chiplet's jobs in the order the program performs them (``hasher_trace``); job k's first row
        # is hash_start[k] (its decoder address is that row + 1)
        self.hash_jobs: list[HT.Job] = []
        self._hperm_in: tuple[int, ...] = ()
        self.merkle = MerkleStore()  # the advice provider's Merkle store (MPVERIFY, MRUPDATE)
        self._new_root: tuple[int, ...] = ()  # MRUPDATE's result, from its row to its stack effect
        self.pc_state: tuple[int, ...] = (0, 0, 0, 0)  # the precompile transcript's state (v0.19 LOGPRECOMPILE)
        self.fn_hashes: dict[Word, int] = {}  # distinct fn_hash values -> their index in the rows
        self.krom_calls: list[Word] = []
        self.range_checks = array("Q")  # the u32 operations' 16-bit range-check requests (exec_u32)
        self.bitwise = array("Q")  # the bitwise chiplet's operations: selector, a, b (exec_u32)
        self.clk = 0
        self.ctx = 0
        self.fmp = L.FMP_MIN
        self.sys_fmp = L.SYSCALL_FMP_MIN
        self.flag = 1 if self.sysfmp else 0
        self.fn_hash: Word = ZERO
        inputs = [v % P for v in (stack_inputs or [])][::-1]
        # the stack: its top 16 elements, and the overflow table with the top of it last (so that calls
        # set it aside and restore it without copying)
        self.top: list[int] = (inputs + [0] * 16)[:16]
        self.ovf: list[int] = inputs[16:][::-1]
        self.ovf_clk: list[int] = [0] * len(self.ovf)
        self.addr = 0
        self.next_block = 0
        self.in_syscall = False  # for the v0.18 rule
        self.advice: list[int] = []  # the advice stack, its top last (``execute``'s advice: top first)
        self.here = ""  # the instruction running: "file:line:col: text", for the cycle cap's message

    # ---------------------------------------------------------------- stack helpers
    @property
    def stack(self) -> list[int]:
        """The whole stack, top first (a copy)."""
        return self.top + self.ovf[::-1]

    @property
    def depth(self) -> int:
        return 16 + len(self.ovf)

    def _ovf_addr(self) -> int:
        return self.ovf_clk[-1] if self.ovf else 0

    def push(self, v: int) -> None:
        self.top.insert(0, v % P)
        self.ovf.append(self.top.pop())
        self.ovf_clk.append(self.clk)

    def pop(self) -> int:
        v = self.top.pop(0)
        if self.ovf:
            self.top.append(self.ovf.pop())
            self.ovf_clk.pop()
        else:
            self.top.append(0)
        return v

    # ---------------------------------------------------------------- memory
    def mem_word(self, ctx: int, addr: int) -> Word:
        base = addr - addr % 4
        return tuple(self.mem.get((ctx, base + i), 0) for i in range(4))  # type: ignore[return-value]

    def mem_read(self, ctx: int, addr: int, word: bool, where: str) -> Word | int:
        if word and addr % 4:
            raise ExecutionError(f"{where}: word access at unaligned address {addr}")
        w = self.mem_word(ctx, addr)
        self.mem_log.append(MemAccess(ctx, addr, self.clk, 1, int(word), w))
        return w if word else w[addr % 4]

    def mem_write(self, ctx: int, addr: int, value: Word | int, word: bool, where: str) -> None:
        if word:
            if addr % 4:
                raise ExecutionError(f"{where}: word access at unaligned address {addr}")
            for i, v in enumerate(value):  # type: ignore[arg-type]
                self.mem[(ctx, addr + i)] = v % P
        else:
            self.mem[(ctx, addr)] = int(value) % P  # type: ignore[arg-type]
        self.mem_log.append(MemAccess(ctx, addr, self.clk, 0, int(word), self.mem_word(ctx, addr)))

    # ---------------------------------------------------------------- rows
    def at(self) -> str:
        """Where the running instruction is: ``file:line:col (text)``."""
        loc, _, what = self.here.partition(": ")
        return f"{loc} ({what})" if what else loc or "the program's start"

    def emit(
        self,
        op: str,
        h: list[int] | tuple[int, ...] | None = None,
        in_span: int = 0,
        gc: int = 0,
        ox: int = 0,
        c: int = 0,
    ) -> None:
        self.emit_record(self.record(op, h, in_span, gc, ox, c))

    def record(
        self, op: str, h: Sequence[int] | None = None, in_span: int = 0, gc: int = 0, ox: int = 0, c: int = 0
    ) -> list[int]:
        """The decoder record of a row (``ROW_ARRAYS["dec"]``): packed fields, group count, h0..h7."""
        code = self.opcode.get(op)
        if code is None:
            raise ExecutionError(f"{self.at()}: operation {op} does not exist in {self.air.name}")
        hh = H0 if h is None else (tuple(h) + H0)[:8]
        return [code | in_span << IN_SPAN_SHIFT | c << C_SHIFT | ox << OX_SHIFT, gc, *hh]

    def emit_record(self, record: list[int]) -> None:
        """A row with decoder record ``record`` (``record``) and the current stack and registers."""
        if self.n_rows >= self.next_stop:
            self._stop()
        self._seg_check()
        r = self.rows
        r["dec"].fromlist(record)
        r["stack"].fromlist(self.top)
        r["dov"].extend((16 + len(self.ovf), self.ovf_clk[-1] if self.ovf else 0, self.addr))
        self.n_rows += 1

    def _stop(self) -> None:
        """At ``next_stop`` rows: the cycle cap (an error naming where the run got to) or a progress report."""
        if self.n_rows >= self.max_cycles:
            raise ExecutionError(f"program exceeded {self.max_cycles:,} cycles at {self.at()}")
        if self.progress is not None:
            self.progress(self.n_rows)
        self.next_stop = min(self.max_cycles, self.n_rows + PROGRESS_EVERY)

    def _seg_check(self) -> None:
        """Start a new run of the slow registers at the next row if any of them changed since the last run."""
        seg = (self.ctx, self.fmp, self.sys_fmp, self.flag, self.fn_hash)
        if seg != self._seg:
            self._seg = seg
            self.seg_rows.append(self.n_rows)
            fn_hash = self.fn_hashes.setdefault(self.fn_hash, len(self.fn_hashes))
            self.seg.extend((self.ctx, self.fmp, self.sys_fmp, self.flag, fn_hash))

    def tick(self) -> None:
        self.clk += 1

    def hash_job(self, job: HT.Job, cycles: int = 1) -> int:
        """Record a hash the program performs now (``cycles`` permutations, 8 hasher rows each) and return its
        address: its first hasher row + 1, as the processor's ``HasherTrace::next_row_addr`` gives it
        (processor/src/chiplets/hasher/trace.rs at v0.18.0: trace_len + 1; the hasher is the first chiplet)."""
        addr = self.next_block + 1
        self.next_block += 8 * cycles
        self.hash_jobs.append(job)
        return addr

    def control_hash(self, rate: list[int] | tuple[int, ...], domain: int) -> int:
        """A control block's hash: ``merge_in_domain(h0..h3, h4..h7, opcode)``, one permutation
        (processor/src/chiplets/hasher/mod.rs ``hash_control_block``)."""
        r = tuple(rate)
        return self.hash_job(HT.Merge(r[:4], r[4:8], domain))

    # ---------------------------------------------------------------- operations
    def op(self, o: Op, h: list[int], gc: int, ox: int) -> None:
        """One operation of a basic block; ``h`` (h0 = the rest of the op group, h1 = the parent block), ``gc``
        and ``ox`` are the decoder's registers on its row."""
        name = o.name
        if o.src:
            self.here = o.src
        if name in U32_OPS:  # u32 operations: air/miden/exec_u32.py (they emit their own row)
            U32_OPS[name](self, o, h, gc, ox)
            self.tick()
            return
        s = self.top
        run = STACK_OPS.get(name)
        if run is not None:  # field, manipulation and input operations: air/miden/exec_stack.py

            def row(helpers: Sequence[int]) -> None:
                regs = (list(h) + [0] * 8)[:8]
                regs[2 : 2 + len(helpers)] = helpers  # the user-op helpers start at decoder h2
                self.emit(name, regs, in_span=1, gc=gc, ox=ox)

            run(self, o, row)
            self.tick()
            return
        # EQ's user-op helper h2 = 1/(s0 - s1) is computed over the column by build_trace
        if self.gate and name in GATE_MEMOPS:  # gate: h2 = the address's low N bits (io_ops gate constraint)
            h = (list(h) + [0] * 8)[:8]
            h[2] = s[0] % 2**L.GATE_BITS
        elif self.gate and name == "FMPUPDATE":  # gate: h2 = the fmp read from mem[4] (system_ops u_fmpupdate)
            h = (list(h) + [0] * 8)[:8]
            h[2] = self.mem.get((self.ctx, L.GATE_FMP_ADDR), 0)
        elif name == "HPERM":  # the user-op helper h2 = the permutation's hasher address (stack/crypto_ops.md)
            h = (list(h) + [0] * 8)[:8]
            h[2] = self.hperm_start()
        elif name == "MPVERIFY":  # h2 = the Merkle path computation's hasher address
            h = (list(h) + [0] * 8)[:8]
            h[2] = self.mpverify(o)
        elif name == "MRUPDATE":  # h2 = the Merkle update's hasher address (old path, then new)
            h = (list(h) + [0] * 8)[:8]
            h[2] = self.mrupdate(o)
        elif name == "LOGPRECOMPILE":  # h2 = the permutation's hasher address, h3..h6 = CAP_PREV
            h = (list(h) + [0] * 8)[:8]
            h[2:7] = [self.log_precompile_start(), *self.pc_state]
        self.emit(name, h, in_span=1, gc=gc, ox=ox)
        if name == "PUSH":
            self.push(o.imm)
        elif name == "NOOP":
            pass
        elif name == "INCR":
            s[0] = (s[0] + 1) % P
        elif name in ("ADD", "MUL", "EQ"):  # left shift by one: s0' = s0 op s1
            a, b = s[0], s[1]
            self.pop()
            r = (a + b) if name == "ADD" else (a * b) if name == "MUL" else int(a == b)
            s[0] = r % P
        elif name == "NEG":
            s[0] = (-s[0]) % P
        elif name == "ASSERT":
            if s[0] != 1:
                raise ExecutionError(f"{o.src or 'assert'}: assertion failed: the top of the stack is {s[0]}, not 1")
            self.pop()
        elif name == "DROP":
            self.pop()
        elif name == "SWAP":
            s[0], s[1] = s[1], s[0]
        elif name == "PAD":
            self.push(0)
        elif name.startswith("DUP"):
            self.push(s[int(name[3:])])
        elif name.startswith("MOVUP"):
            k = int(name[5:])
            s.insert(0, s.pop(k))
        elif name == "MLOAD":
            s[0] = self.mem_read(self.ctx, self._addr(s[0], o), False, self.here)  # type: ignore[assignment]
        elif name == "MSTORE":
            addr = self.pop()
            self.mem_write(self.ctx, self._addr(addr, o), s[0], False, self.here)
        elif name == "MLOADW":
            addr = self.pop()
            w = self.mem_read(self.ctx, self._addr(addr, o), True, self.here)
            # s'_{3-i} = v_i: the word replaces the top four elements
            for i in range(4):
                s[3 - i] = w[i]  # type: ignore[index]
        elif name == "MSTOREW":
            addr = self.pop()
            self.mem_write(self.ctx, self._addr(addr, o), tuple(s[3 - i] for i in range(4)), True, self.here)
        elif name == "FMPADD":
            if self.gate:  # a memory read of mem[4]: s0' = s0 + fmp
                base = int(self.mem_read(self.ctx, L.GATE_FMP_ADDR, False, self.here))  # type: ignore[arg-type]
            else:
                base = self.sys_fmp if (self.sysfmp and self.flag) else self.fmp
            s[0] = (s[0] + base) % P
        elif name == "FMPUPDATE":
            v = self.pop()
            if self.gate:  # read mem[4], then write old + s0 (the same clk: a read then a write, memory.md allows)
                old = int(self.mem_read(self.ctx, L.GATE_FMP_ADDR, False, self.here))  # type: ignore[arg-type]
                self.mem_write(self.ctx, L.GATE_FMP_ADDR, (old + v) % P, False, self.here)
            elif self.sysfmp and self.flag:
                self.sys_fmp = (self.sys_fmp + v) % P
            else:
                self.fmp = (self.fmp + v) % P
        elif name == "HPERM":
            self.hperm_finish()
        elif name == "MPVERIFY":  # the stack is unchanged
            pass
        elif name == "LOGPRECOMPILE":
            self.log_precompile_finish()
        elif name == "MRUPDATE":  # the new root replaces the old node: s_i' = R_new[3 - i], the rest unchanged
            for i in range(4):
                s[i] = self._new_root[3 - i]
        elif name == "SWAPW":  # needed by MASM hash/hmerge (stack_ops.md: s_i <-> s_{i+4}, i = 0..3)
            s[0:4], s[4:8] = s[4:8], s[0:4]
        elif name == "SWAPW2":  # s_i <-> s_{i+8}, i = 0..3
            s[0:4], s[8:12] = s[8:12], s[0:4]
        elif name == "CALLER":
            if self.v18 and not self.in_syscall:
                raise ExecutionError(f"{o.src or 'caller'}: caller is only allowed inside a syscall in v0.18")
            if self.sysfmp and not self.flag:
                # seed discussion: in_syscall becomes in_kernel, and caller keeps its check on it
                raise ExecutionError(f"{o.src or 'caller'}: caller is only allowed in the kernel (in_kernel = 1)")
            fh = self.fn_hash
            if self.fnhash_mem:
                w = self.mem_read(self.ctx, L.FN_HASH_ADDR, True, self.here)
                fh = w  # type: ignore[assignment]
            if self.gate:  # the word at 0 of the current context: in a syscall, context 0's (never written)
                fh = self.mem_read(self.ctx, L.GATE_FN_HASH_ADDR, True, self.here)  # type: ignore[assignment]
            for i in range(4):
                s[i] = fh[3 - i]
        else:
            raise ExecutionError(f"{self.at()}: operation {name} is not supported by the executor")
        self.tick()

    # ---------------------------------------------------------------- hashing (stack/crypto_ops.md)
    def hperm_start(self) -> int:
        """HPERM's hash: one permutation of the state ``[s11, ..., s0]`` (capacity s11..s8, rate s7..s0), as
        processor/src/operations/crypto_ops.rs ``op_hperm`` builds it at v0.18.0; returns its hasher address."""
        s = self.top
        self._hperm_in = tuple(s[11 - j] for j in range(12))
        return self.hash_job(HT.Permute(self._hperm_in))

    def hperm_finish(self) -> None:
        """The permuted state back on the stack: ``s_i' = out[11 - i]`` (the hasher's RETURN_STATE row)."""
        out = HT.permute_trace(self._hperm_in)[-1]
        for i in range(12):
            self.top[i] = out[11 - i]

    def log_precompile_start(self) -> int:
        """LOGPRECOMPILE on [COMM, TAG, PAD, ...] (v0.19.0 processor/src/operations/crypto_ops.rs
        ``op_log_precompile``): one permutation of [CAP_PREV, TAG, COMM] (COMM = get_stack_word(0) = (s3..s0), TAG =
        (s7..s4)), CAP_PREV the transcript's state; returns its hasher address."""
        s = self.top
        self._hperm_in = (*self.pc_state, *(s[7 - j] for j in range(4)), *(s[3 - j] for j in range(4)))
        return self.hash_job(HT.Permute(self._hperm_in))

    def log_precompile_finish(self) -> None:
        """[R1, R0, CAP_NEXT] on the stack as HPERM writes a state (s_i' = out[11 - i]); CAP_NEXT = out[0..4] is the
        transcript's new state (the public input ``pc_transcript_state`` at the end)."""
        self.hperm_finish()
        self.pc_state = tuple(self.top[11 - j] for j in range(4))

    def mpverify(self, o: Op) -> int:
        """MPVERIFY on [V, d, i, R, ...] (V = [s3, s2, s1, s0], R = [s9, s8, s7, s6]): the path of node (d, i) from
        the Merkle store, one hasher cycle per level (MP_VERIFY, chiplets/hasher.md), its root must be R
        (processor/src/operations/crypto_ops.rs ``op_mpverify`` at v0.18.0). Returns the hasher address."""
        s = self.top
        node = (s[3], s[2], s[1], s[0])
        depth, index = s[4], s[5]
        root = (s[9], s[8], s[7], s[6])
        try:
            path = self.merkle.path(root, depth, index)
        except MerkleError as e:
            raise ExecutionError(f"{o.src or 'mtree_verify'}: {e}") from None
        job = HT.MerklePath(node, index, path)
        addr = self.hash_job(job, len(path))
        computed = HT.build([job]).results[0]
        if computed != root:
            raise ExecutionError(f"{o.src or 'mtree_verify'}: Merkle path verification failed: node {node} at depth "
                                 f"{depth}, index {index} does not open to root {root}")  # fmt: skip
        return addr

    def mrupdate(self, o: Op) -> int:
        """MRUPDATE on [V_old, d, i, R_old, V_new, ...] (each word s_{k+3}..s_k): the tree with root R_old copied
        with node (d, i) set to V_new in the Merkle store, the old path then the new one on the hasher (MR_UPDATE_OLD,
        MR_UPDATE_NEW: 2d cycles, the siblings through the sibling table); the old path must open V_old to R_old
        (processor/src/operations/crypto_ops.rs ``op_mrupdate`` at v0.18.0). Returns the hasher address."""
        s = self.top
        old = (s[3], s[2], s[1], s[0])
        depth, index = s[4], s[5]
        root = (s[9], s[8], s[7], s[6])
        new = (s[13], s[12], s[11], s[10])
        try:
            path, new_root = self.merkle.update(root, depth, index, new)
        except MerkleError as e:
            raise ExecutionError(f"{o.src or 'mtree_set'}: {e}") from None
        job = HT.MerkleUpdate(old, new, index, path)
        computed_old, computed_new = HT.build([job]).results[0]  # type: ignore[misc]
        if computed_old != root:
            raise ExecutionError(f"{o.src or 'mtree_set'}: Merkle update failed: node {old} at depth {depth}, index "
                                 f"{index} does not open to root {root}")  # fmt: skip
        assert computed_new == new_root, "the hasher's new root and the store's disagree"
        self._new_root = new_root
        return self.hash_job(job, 2 * len(path))

    def _addr(self, v: int, o: Op) -> int:
        if v >= 2**32:
            raise ExecutionError(f"{self.here}: memory address {v} is not a u32")
        return v

    # ---------------------------------------------------------------- control flow
    def _open(self, op: str, rate: list[int], domain: int = 0, condition: str | None = None) -> tuple[int, int]:
        """Start a control block: its hasher request, the op's row (SPLIT/LOOP pop a binary condition,
        named ``condition`` in errors), the step into the block. Returns (block address, parent)."""
        bid = self.control_hash(rate, domain)
        if condition is not None and self.top[0] not in (0, 1):
            raise ExecutionError(f"{condition}: condition {self.top[0]} is not binary")
        self.emit(op, rate)
        if condition is not None:
            self.pop()
        self.tick()
        parent, self.addr = self.addr, bid
        return bid, parent

    def run(self, root: Node) -> None:
        """Run ``root`` with an explicit stack of work (nodes to start, blocks to end, loop tests), so that
        deep MAST (long sequences, nested blocks, dynamic calls) needs no Python recursion."""
        work: list[Any] = [root]
        while work:
            item = work.pop()
            if isinstance(item, Node):
                self.start(item, work)
            elif item[0] == "body":  # a loop body, entered by LOOP or REPEAT: its END says is_loop_body = 1
                self.start(item[1], work, loop_body=1)
            elif item[0] == "end":
                self.end(*item[1:])
            else:
                self.loop_test(item[1], item[2], item[3], item[4], work)

    def start(self, node: Node, work: list[Any], loop_body: int = 0) -> None:
        """Open ``node`` (a basic block runs whole) and queue what completes it on ``work``; ``loop_body``: the
        node is a loop's body (its END row says so in h4)."""
        if isinstance(node, Block):
            self.span(node, loop_body)
        elif isinstance(node, Join):
            rate = list(node.first.digest) + list(node.second.digest)
            bid, parent = self._open("JOIN", rate, self.opcode["JOIN"])
            work += [("end", bid, parent, node.digest, 0, 0, None, "", loop_body), node.second, node.first]
        elif isinstance(node, Split):
            self.here = f"{node.src}: if.true"
            cond = self.top[0]
            rate = list(node.on_true.digest) + list(node.on_false.digest)
            bid, parent = self._open("SPLIT", rate, self.opcode["SPLIT"], self.here)
            taken = node.on_true if cond else node.on_false
            work += [("end", bid, parent, node.digest, 0, 0, None, "", loop_body), taken]
        elif isinstance(node, Loop):
            self.here = f"{node.src}: while.true"
            cond = self.top[0]
            rate = list(node.body.digest) + [0, 0, 0, 0]
            bid, parent = self._open("LOOP", rate, self.opcode["LOOP"], self.here)
            if cond:
                work += [("loop", node, bid, parent, loop_body), ("body", node.body)]
            else:
                self.end(bid, parent, node.digest, 0, 0, loop_body=loop_body)
        elif isinstance(node, Call):
            self.call(node, work, loop_body)
        elif isinstance(node, Dyn):
            self.dyn(node, work, loop_body)
        else:  # pragma: no cover
            raise ExecutionError(f"unknown node {type(node).__name__}")

    def loop_test(self, node: Loop, bid: int, parent: int, loop_body: int, work: list[Any]) -> None:
        """After a loop body: REPEAT and run the body again on 1, END the loop on 0. A basic block body runs from
        here, iteration after iteration (no trip through ``run``'s work stack)."""
        here = f"{node.src}: while.true"
        repeat = self.record("REPEAT", list(node.body.digest) + [1, 0, 0, 0])
        while True:
            self.here = here
            top = self.top[0]
            if top not in (0, 1):
                raise ExecutionError(f"{self.here}: condition {top} is not binary")
            if not top:
                self.end(bid, parent, node.digest, 1, 0, loop_body=loop_body)
                return
            self.emit_record(repeat)
            self.pop()
            self.tick()
            if not isinstance(node.body, Block):
                work += [("loop", node, bid, parent, loop_body), ("body", node.body)]
                return
            self.span(node.body, 1)

    def span(self, node: Block, loop_body: int) -> None:
        """A basic block: SPAN with the first batch's groups, its operations (padding NOOPs included), a RESPAN
        per further batch, END. The decoder's group count, op index, h0 (the rest of the op group) and h1 (the
        parent block) follow decoder/main.md (v0.18) / decoder/index.md (v0.19)."""
        batches = node.batches
        plan = self._plans.get(id(node))  # the program keeps its nodes: their ids are stable
        if plan is None:
            plan = self._plans[id(node)] = self._plan(node)
        job, _, steps, records, ends = plan
        # the block's hash: a linear hash of every batch's 8 groups, one permutation per batch, RESPAN absorbing
        # the next batch (``hash_basic_block``); the decoder's requests: 19 at SPAN, 35 per RESPAN, 33 at END.
        # One job object per block (a loop re-runs it): hash_job keeps a reference per run
        bid = self.hash_job(job, len(batches))
        parent = self.addr
        self.emit_record(ends[2])  # SPAN
        self.tick()
        self.addr = bid
        for j in range(len(batches)):
            if j:
                # RESPAN: absorb the next batch at the last row of the previous hash cycle (a' - 1)
                self.emit_record(ends[3][j])  # RESPAN
                self.tick()
                self.addr += 8
            self._run_ops(steps[j], parent, records[j])
        self.end(self.addr, parent, node.digest, 0, 0, loop_body=loop_body, record=ends[loop_body])

    def _plan(self, node: Block) -> tuple[HT.LinearHash, list[int], list[list[Step]], list[list[Any]], list[Any]]:
        """What does not change between runs of a basic block: its hash job, the group count on its SPAN and each
        RESPAN, and per batch its operation rows as ``Step``: (fast kind, argument, the row's decoder record
        (packed fields, group count, h0), source, Op). The group count drops by one per group consumed: the
        SPAN/RESPAN's own, each immediate's, each op group's when its last operation has run (decoder/main.md).
        Then a one-entry cache per batch for ``_run_ops``, and the decoder records of the block's END (not a loop
        body, a loop body), SPAN and RESPANs."""
        batches = node.batches
        job = HT.LinearHash(tuple(g for b in batches for g in b.groups))
        gc = sum(b.num_groups for b in batches)
        gcs = [gc]
        gc -= 1  # SPAN consumes the first group
        plan: list[list[Step]] = []
        for j, batch in enumerate(batches):
            if j:
                gcs.append(gc)
                gc -= 1
            ops = node.batch_ops[j]
            steps: list[Step] = []
            op_groups = [g for g in range(batch.num_groups) if not batch.is_immediate(g)]
            for n_g, g in enumerate(op_groups):
                value = batch.groups[g]
                codes = batch.group_ops(g)
                last_group = n_g == len(op_groups) - 1
                for i, (_, imm) in enumerate(codes):
                    o = ops[len(steps)] or Op("NOOP")
                    kind, arg = self._fast_kind(o)
                    packed = self.opcode.get(o.name, 0) | 1 << IN_SPAN_SHIFT | i << OX_SHIFT
                    steps.append((kind, arg, (packed, gc, value >> (7 * (i + 1))), o.src, o))
                    if imm is not None:
                        gc -= 1  # the immediate's group
                    if i == len(codes) - 1 and not last_group:
                        gc -= 1  # the next op group starts
            plan.append(steps)
        ends = [self.record("END", list(node.digest) + [body, 0, 0, 0]) for body in (0, 1)]
        ends.append(self.record("SPAN", batches[0].groups, gc=gcs[0], c=BATCH_FLAGS[batches[0].num_groups]))
        respans = [self.record("RESPAN", b.groups, gc=gcs[j], c=BATCH_FLAGS[b.num_groups]) if j else []
                   for j, b in enumerate(batches)]  # fmt: skip
        return job, gcs, plan, [[None, []] for _ in plan], [*ends, respans]

    def _fast_kind(self, o: Op) -> tuple[int, int]:
        """The operations ``_run_ops`` runs inline (kind, argument), as ``op`` runs them; (0, 0) for the others
        (the operation tables, helpers that need the VM, memory, errors of their own: ``op`` runs those)."""
        name = o.name
        if name not in self.opcode or name in U32_OPS or name in STACK_OPS:
            return 0, 0
        if name in FAST_KINDS:
            return FAST_KINDS[name], o.imm % P if name == "PUSH" else 0
        for prefix, kind in (("DUP", K_DUP), ("MOVUP", K_MOVUP)):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                return kind, int(name[len(prefix) :])
        return 0, 0

    def _run_ops(self, steps: list[Step], parent: int, cache: list[Any]) -> None:
        """A batch's operation rows: the common operations inline (each row as ``emit`` writes it, the state
        before the operation, then the operation as ``op`` does it), the others through ``op``. The slow registers
        (``SEG_KEYS``) cannot change during the inline operations, so they are checked only after ``op``.
        ``cache``: [parent, the rows' "dec" records under it] from the batch's last run (a loop re-runs its body
        under the same parent; one entry, so that a block run under ever new parents keeps no more)."""
        assert self.clk == self.n_rows
        top, ovf, ovf_clk, addr = self.top, self.ovf, self.ovf_clk, self.addr
        no_overflow = (16, 0, addr)  # depth, overflow address, block address with an empty overflow table
        r = self.rows
        # array.fromlist: a list's values in one call, ~3x faster than extend (which iterates generically)
        dec_ext, st_ext, dov_ext = r["dec"].fromlist, r["stack"].fromlist, r["dov"].extend
        if cache[0] != parent:  # h1 = the parent block, no helper
            cache[0], cache[1] = parent, [[*dec, parent, 0, 0, 0, 0, 0, 0] for _, _, dec, _, _ in steps]
        n, stop, here = self.n_rows, self.next_stop, None
        self._seg_check()
        for (kind, arg, dec, src, o), record in zip(steps, cache[1]):
            if src:
                here = src
            if not kind:
                self.n_rows = self.clk = n
                if here is not None:
                    self.here = here
                self.op(o, [dec[2], parent], dec[1], dec[0] >> OX_SHIFT)
                n, stop = self.n_rows, self.next_stop
                top, ovf, ovf_clk = self.top, self.ovf, self.ovf_clk
                self._seg_check()
                continue
            if n >= stop:
                self.n_rows = self.clk = n
                if here is not None:
                    self.here = here
                self._stop()
                stop = self.next_stop
            dec_ext(record)
            st_ext(top)
            dov_ext((16 + len(ovf), ovf_clk[-1], addr) if ovf else no_overflow)
            if kind == K_PUSH or kind == K_DUP or kind == K_PAD:  # right shift: the 16th element to the overflow
                top.insert(0, arg if kind == K_PUSH else top[arg] if kind == K_DUP else 0)
                ovf.append(top.pop())
                ovf_clk.append(n)
            elif kind >= K_ADD:  # left shift: s0' = s0 op s1 (ADD, MUL, EQ) or s0 dropped (DROP, ASSERT)
                if kind == K_ASSERT and top[0] != 1:
                    where = o.src or "assert"
                    raise ExecutionError(f"{where}: assertion failed: the top of the stack is {top[0]}, not 1")
                a = top.pop(0)
                if kind == K_ADD:
                    top[0] = (a + top[0]) % P
                elif kind == K_MUL:
                    top[0] = a * top[0] % P
                elif kind == K_EQ:
                    top[0] = int(a == top[0])
                if ovf:
                    top.append(ovf.pop())
                    ovf_clk.pop()
                else:
                    top.append(0)
            elif kind == K_SWAP:
                top[0], top[1] = top[1], top[0]
            elif kind == K_INCR:
                top[0] = (top[0] + 1) % P
            elif kind == K_NEG:
                top[0] = (-top[0]) % P
            elif kind == K_MOVUP:
                top.insert(0, top.pop(arg))
            n += 1
        self.n_rows = self.clk = n
        if here is not None:
            self.here = here

    def end(
        self,
        bid: int,
        parent: int,
        digest: Word,
        is_loop: int,
        kind: int,
        restore: dict[str, Any] | None = None,
        where: str = "",
        loop_body: int = 0,
        record: list[int] | None = None,
    ) -> None:
        """END of block ``bid`` (for a basic block: its last batch's address); kind 1 = call/dyncall,
        2 = syscall. ``restore`` is the saved context; ``loop_body``: the block is a loop's body (h4); ``record``:
        the row's decoder record if known (a basic block's plan)."""
        if record is None:
            flags = [loop_body, is_loop, 1 if kind == 1 else 0, 1 if kind == 2 else 0]
            record = self.record("END", list(digest) + flags)
        self.emit_record(record)
        if is_loop:  # the loop exits on a 0 on top (loop_test checked it)
            self.pop()
        if restore is not None:
            if self.depth != 16:
                raise ExecutionError(f"{where}: the callee returned with stack depth {self.depth}; it must be 16")
            self.ovf = restore["overflow"]
            self.ovf_clk = restore["ovf_clk"]
            self.ctx = restore["ctx"]
            self.fmp = restore["fmp"]
            self.fn_hash = restore["fn_hash"]
            self.flag = restore["flag"]
            self.in_syscall = restore["in_syscall"]
            if self.v18:  # restore_context clears in_syscall (processor/src/system/mod.rs, v0.18)
                self.flag = 0
                self.in_syscall = False
        self.tick()
        self.addr = parent

    def _save(self) -> dict[str, Any]:
        """The caller's context; its overflow table is set aside (the callee starts with an empty one)."""
        saved = {
            "overflow": self.ovf,
            "ovf_clk": self.ovf_clk,
            "ctx": self.ctx,
            "fmp": self.fmp,
            "fn_hash": self.fn_hash,
            "flag": self.flag,
            "in_syscall": self.in_syscall,
        }
        self.ovf, self.ovf_clk = [], []
        return saved

    def _enter_context(self, callee: Word) -> None:
        """CALL/DYNCALL: a new context with the top 16 elements of the caller's stack."""
        self.ctx = self.clk + 1  # get_next_ctx_id: clk + 1 (called on the CALL row, before the tick)
        self.fn_hash = callee
        if self.v18 or self.sysfmp:
            self.fmp = L.FMP_MIN
        if self.sysfmp:
            self.flag = 0
        if self.memfmp:
            # the memory write request of the CALL/DYNCALL row, in the new context, at the call's clk
            self.mem_log.append(
                MemAccess(self.ctx, L.FMP_ADDR, self.clk, 0, 0, self._write_silent(self.ctx, L.FMP_ADDR, L.FMP_INIT))
            )
        if self.gate:
            # seed discussion (gate): the CALL/DYNCALL row writes fn_hash (a word, from h0..h3) at 0 and FMP_MIN
            # (an element) at 4 of the new context, at the call's clk (decoder.requests m_fnhashwrite, m_fmpwrite)
            for i in range(4):
                self.mem[(self.ctx, L.GATE_FN_HASH_ADDR + i)] = callee[i]
            w = self.mem_word(self.ctx, L.GATE_FN_HASH_ADDR)
            self.mem_log.append(MemAccess(self.ctx, L.GATE_FN_HASH_ADDR, self.clk, 0, 1, w))
            w = self._write_silent(self.ctx, L.GATE_FMP_ADDR, L.FMP_MIN)
            self.mem_log.append(MemAccess(self.ctx, L.GATE_FMP_ADDR, self.clk, 0, 0, w))
        if self.fnhash_mem:
            for i in range(4):
                self.mem[(self.ctx, L.FN_HASH_ADDR + i)] = callee[i]
            self.mem_log.append(
                MemAccess(self.ctx, L.FN_HASH_ADDR, self.clk, 0, 1, self.mem_word(self.ctx, L.FN_HASH_ADDR))
            )

    def _write_silent(self, ctx: int, addr: int, v: int) -> Word:
        self.mem[(ctx, addr)] = v
        return self.mem_word(ctx, addr)

    def _check_nesting(self, what: str, where: str) -> None:
        if self.design == "miden-v0.18" and self.in_syscall:
            raise ExecutionError(f"{where}: {what} inside a syscall is not allowed in v0.18 (in_syscall = 1)")

    def call(self, node: Call, work: list[Any], loop_body: int = 0) -> None:
        self.here = f"{node.src}: {node.kind}.{node.target}"
        body = self.prog.procedures.get(node.callee)
        if body is None:
            raise ExecutionError(f"{node.src}: no procedure with digest {node.callee}")
        rate = list(node.callee) + [0, 0, 0, 0]
        if node.kind == "call":
            self._check_nesting(f"call.{node.target}", node.src)
            bid = self.control_hash(rate, self.opcode["CALL"])
            self.emit("CALL", rate)
            saved = self._save()
            self._enter_context(node.callee)
            self.tick()
            kind = 1
        else:
            self._check_nesting(f"syscall.{node.target}", node.src)
            if node.callee not in self.prog.kernel.values():
                raise ExecutionError(f"{node.src}: syscall.{node.target} is not a kernel procedure")
            bid = self.control_hash(rate, self.opcode["SYSCALL"])
            self.krom_calls.append(node.callee)
            self.emit("SYSCALL", rate)
            saved = self._save()
            self.tick()
            self.ctx = 0
            if self.v18:
                self.fmp = L.SYSCALL_FMP_MIN
                self.flag = 1
            if self.sysfmp:
                self.flag = 1
            self.in_syscall = True
            kind = 2
        parent, self.addr = self.addr, bid
        work += [("end", bid, parent, node.digest, 0, kind, saved, node.src, loop_body), body]

    def dyn(self, node: Dyn, work: list[Any], loop_body: int = 0) -> None:
        where = node.src
        self.here = f"{where}: {'dynexec' if node.kind == 'dyn' else 'dyncall'}"
        if node.kind == "dyncall":
            self._check_nesting("dyncall", where)
        addr = self.top[0]
        callee: Word = self.mem_word(self.ctx, addr)
        body = self.prog.procedures.get(callee)
        if body is None:
            raise ExecutionError(f"{where}: no procedure with the digest stored at address {addr}")
        op = "DYN" if node.kind == "dyn" else "DYNCALL"
        bid = self.control_hash([0] * 8, self.opcode[op])
        self.mem_log.append(MemAccess(self.ctx, addr, self.clk, 1, 1, callee))
        if node.kind == "dyncall":
            # h4/h5: the stack depth and overflow address after DYNCALL drops the address (block stack table)
            post_depth = max(16, self.depth - 1)
            post_ovf = self.ovf_clk[-2] if len(self.ovf) >= 2 else 0
            self.emit(op, list(callee) + [post_depth, post_ovf, 0, 0])
        else:  # DYN: h4..h7 = 0 (processor/src/decoder/mod.rs start_dyn; the model's dyn_h4_zero..dyn_h7_zero)
            self.emit(op, list(callee) + [0, 0, 0, 0])
        self.pop()
        parent = self.addr
        if node.kind == "dyncall":
            saved = self._save()
            self._enter_context(callee)
            self.tick()
            self.addr = bid
            work += [("end", bid, parent, node.digest, 0, 1, saved, where, loop_body), body]
        else:
            self.tick()
            self.addr = bid
            work += [("end", bid, parent, node.digest, 0, 0, None, "", loop_body), body]


# ------------------------------------------------------------------------------------------ trace
@lru_cache(maxsize=1 << 16)
def _inv(v: int) -> int:
    """The inverse mod p (0 for 0); cached: memory deltas repeat (the same loop, the same clk gaps)."""
    return pow(v % P, P - 2, P) if v % P else 0


@contextmanager
def _small_pages() -> Iterator[None]:
    """numpy's large arrays without madvise(MADV_HUGEPAGE) while the block runs. With transparent huge pages in
    ``madvise`` mode and ``defrag`` = madvise (this machine's kernel settings), the first touch of a madvised
    region compacts memory synchronously: filling the ~600 MB of a 2^20-row trace cost 2-3 s of system time that
    way, against ~0.6 s with 4 KB pages (bench/bench_executor.py). The previous setting is restored."""
    core = getattr(np, "_core", None) or np.core  # numpy 2 / 1.x
    setter = getattr(core.multiarray, "_set_madvise_hugepage", None)  # numpy >= 1.20
    if setter is None:  # pragma: no cover - older numpy: leave it alone
        yield
        return
    before = setter(False)
    try:
        yield
    finally:
        setter(before)


def build_trace(vm: VM, air: Air, release: bool = False) -> tuple[dict[str, np.ndarray], int]:
    """The trace's columns (padded to a power of two) from the run's typed row arrays, memory log and hasher
    requests. ``release``: drop each of the VM's row arrays once copied (a lower peak; the VM cannot build again)."""
    with _small_pages():
        return _build_trace(vm, air, release)


def batch_inverse(a: np.ndarray) -> np.ndarray:
    """1/a_i for nonzero field elements, by a product tree (Montgomery's trick, vectorized): level l + 1 holds the
    products of pairs of level l (padded with 1 to an even length), the root is inverted once, and going down
    1/x_{2i} = 1/(x_{2i} x_{2i+1}) * x_{2i+1}, 1/x_{2i+1} = 1/(x_{2i} x_{2i+1}) * x_{2i}: about 3 multiplications
    an element in 2 log2(n) numpy passes, against ~126 for a^(p-2) elementwise."""
    a = np.asarray(a, dtype=np.uint64)
    if len(a) == 0:
        return a.copy()
    levels = [a]
    while len(levels[-1]) > 1:
        x = levels[-1]
        if len(x) % 2:
            x = levels[-1] = np.append(x, np.uint64(1))
        levels.append(F.mul(x[0::2], x[1::2]))
    inv = np.array([pow(int(levels[-1][0]), P - 2, P)], dtype=np.uint64)
    for x in reversed(levels[:-1]):
        inv = inv[: len(x) // 2]
        out = np.empty(len(x), dtype=np.uint64)
        out[0::2] = F.mul(inv, x[1::2])
        out[1::2] = F.mul(inv, x[0::2])
        inv = out
    return inv[: len(a)]


def _inverses(values: np.ndarray) -> np.ndarray:
    """1/v for each field element v (0 for 0), over the distinct values."""
    distinct, index = np.unique(values, return_inverse=True)
    out = np.zeros(len(distinct), dtype=np.uint64)
    nonzero = distinct != 0
    out[nonzero] = batch_inverse(distinct[nonzero])
    return out[index.reshape(-1)]


def _build_trace(vm: VM, air: Air, release: bool) -> tuple[dict[str, np.ndarray], int]:
    names = air.column_names
    m = vm.n_rows
    main_rows = m + 1  # + the HALT row(s)
    hasher = HT.rows(vm.hash_jobs)  # the real 8-row cycles, in the order the program hashed (chiplets/hasher.md)
    bw_ops = np.frombuffer(vm.bitwise, dtype=np.uint64).reshape(-1, BITWISE_WIDTH)
    # the bitwise chiplet's periodic columns follow the row number mod 8: its rows start on a multiple of 8, as
    # they do after the hasher's whole 8-row cycles
    hasher_rows = len(hasher)
    assert hasher_rows % 8 == 0
    chip_rows = hasher_rows + 8 * len(bw_ops) + len(vm.mem_log) + len(vm.prog.kernel) + len(vm.krom_calls) + 1
    mem = memory_rows(vm.mem_log)
    rc = np.frombuffer(vm.range_checks, dtype=np.uint64)
    range_v, range_m = range_table(np.concatenate([mem["d0"], mem["d1"], rc]))
    n = 16
    while n < max(main_rows, chip_rows, len(range_v)):
        n *= 2
    cols = {c: np.zeros(n, dtype=np.uint64) for c in names}
    u64 = np.uint64

    def recorded(key: str) -> np.ndarray:
        """The recorded rows of ``key`` (``ROW_ARRAYS``), (m, width), a view of its typed array (released if
        asked: the memory goes when the view does)."""
        rows = vm.rows.pop(key) if release else vm.rows[key]
        return np.frombuffer(rows, dtype=u64).reshape(m, ROW_ARRAYS[key])

    def scatter(a: np.ndarray, targets: Sequence[tuple[str, int, int]]) -> None:
        """Columns ``c`` = ``a[:, k]`` then ``pad`` for each (c, k, pad), from a row-major (m, w) record, a block of
        rows at a time (a cache-sized transpose: one pass over ``a`` rather than one per column)."""
        targets = [(cols[c], k, pad) for c, k, pad in targets if c in cols]
        for start in range(0, m, SCATTER_ROWS):
            block = a[start : start + SCATTER_ROWS]
            for col, k, _ in targets:
                col[start : start + len(block)] = block[:, k]
        for col, _, pad in targets:
            col[m:] = pad

    def setcol(c: str, v: np.ndarray) -> None:
        """Column ``c`` is ``v``: a new (n,) uint64 array of its own, taken without a copy."""
        if c in cols:
            assert v.dtype == u64 and v.shape == (n,)
            cols[c] = v

    # the decoder's packed fields; the HALT padding rows have in_span = c = op index = 0
    dec = recorded("dec")
    packed = np.empty(n, dtype=u64)
    packed[:m] = dec[:, 0]
    packed[m:] = vm.opcode["HALT"]
    scatter(dec, [("group_count", 1, 0)] + [(f"h{k}", 2 + k, 0) for k in range(8)])
    del dec
    code = packed & u64(OPCODE_BITS)
    setcol("clk", np.arange(n, dtype=u64))
    # the slow registers: runs from VM._seg_check, expanded over the recorded rows
    starts = np.frombuffer(vm.seg_rows, dtype=u64).astype(np.int64)
    seg = np.frombuffer(vm.seg, dtype=u64).reshape(-1, len(SEG_KEYS))
    runs = np.diff(np.append(starts, m))

    def slow(key: str, pad: int) -> np.ndarray:
        a = np.empty(n, dtype=u64)
        a[:m] = np.repeat(seg[:, SEG_KEYS.index(key)], runs)
        a[m:] = pad
        return a

    setcol("ctx", slow("ctx", 0))
    setcol("fmp", slow("fmp", vm.fmp))
    setcol("sys_fmp", slow("sys_fmp", vm.sys_fmp))
    flag = slow("flag", vm.flag)
    setcol("in_syscall", flag)
    setcol("in_kernel", flag.copy() if "in_syscall" in cols else flag)
    del flag
    hashes = np.array(list(vm.fn_hashes) + [vm.fn_hash], dtype=u64).reshape(-1, 4)
    fn_hash = slow("fn_hash", len(hashes) - 1).astype(np.intp)
    for k in range(4):
        setcol(f"fn_hash{k}", hashes[:, k][fn_hash])
    del fn_hash
    for k in range(7):
        setcol(f"b{k}", (code >> u64(k)) & u64(1))
    b4, b5, b6 = ((code >> u64(k)) & u64(1) for k in (4, 5, 6))
    setcol("e0", b6 * (u64(1) - b5) * b4)
    setcol("e1", b6 * b5)
    del b4, b5, b6
    setcol("in_span", (packed >> u64(IN_SPAN_SHIFT)) & u64(1))
    setcol("op_index", packed >> u64(OX_SHIFT))
    for k in range(3):
        setcol(f"c{k}", (packed >> u64(C_SHIFT + k)) & u64(1))
    del packed
    scatter(recorded("stack"), [(f"s{k}", k, vm.top[k]) for k in range(16)])
    dov = recorded("dov")
    depth = np.empty(n, dtype=u64)
    depth[:m] = dov[:, 0]
    depth[m:] = vm.depth
    setcol("stack_depth", depth)
    if "EQ" in vm.opcode and "h2" in cols:  # EQ's user-op helper h2 = 1/(s0 - s1), 0 when equal (field_ops.md)
        eq = np.flatnonzero(code == u64(vm.opcode["EQ"]))
        cols["h2"][eq] = _inverses(F.sub(cols["s0"][eq], cols["s1"][eq]))
    scatter(dov, [("stack_overflow_addr", 1, vm._ovf_addr()), ("addr", 2, 0)])
    del dov
    if "stack_h0" in cols:
        values, index = np.unique(depth, return_inverse=True)
        inverses = np.array([_inv(int(d) - 16) for d in values], dtype=u64)
        cols["stack_h0"][:] = inverses[index.reshape(-1)]
    if "f_dyncall" in cols:
        cols["f_dyncall"][:] = code == vm.opcode["DYNCALL"]
    if "gate" in cols:  # gate = 1/(s0 >> N) on memory-op rows (0 when the address is below 2^N), 0 elsewhere
        memop = np.isin(code, np.array([vm.opcode[o] for o in GATE_MEMOPS], dtype=u64))
        high, index = np.unique(cols["s0"][memop] >> u64(L.GATE_BITS), return_inverse=True)
        inverses = np.array([_inv(int(v)) for v in high], dtype=u64)
        cols["gate"][memop] = inverses[index.reshape(-1)]

    def put(c: str, i: int, v: int) -> None:
        if c in cols:
            cols[c][i] = int(v) % P

    # chiplets (chiplets/main.md): the hasher from row 0 (its row r answers address r + 1), memory, kernel ROM,
    # padding
    row = len(hasher)
    for k, c in enumerate(HT.COLUMNS):
        if c in cols:
            cols[c][:row] = hasher[:, k]
    # the bitwise chiplet's cycles after the hasher's (chiplets/main.md order: hasher, bitwise, memory, ACE, ROM)
    bw = L.BITWISE
    names_bw = {k: bw[k] for k in ("s0", "s1", "op", "a", "b", "z_p", "z")}
    names_bw |= {f"a{j}": bw["a_bits"][j] for j in range(4)} | {f"b{j}": bw["b_bits"][j] for j in range(4)}
    for key, v in bitwise_rows(bw_ops).items():
        if names_bw[key] in cols:
            cols[names_bw[key]][row : row + len(v)] = v
    row += 8 * len(bw_ops)
    mm = L.MEM
    k_mem = len(vm.mem_log)
    for c, v in mem.items():
        if mm[c] in cols:
            cols[mm[c]][row : row + k_mem] = v
    row += k_mem
    k = L.KROM
    calls: dict[Word, int] = {}
    for d in vm.krom_calls:
        calls[d] = calls.get(d, 0) + 1
    for d in dict.fromkeys(vm.prog.kernel.values()):  # two procedures may share a body and a digest
        for j in range(1 + calls.get(d, 0)):
            for c in ("s0", "s1", "s2", "s3"):
                put(k[c], row, 1)
            put(k["s_first"], row, 1 if j == 0 else 0)
            for q in range(4):
                put(k[f"r{q}"], row, d[q])
            row += 1
    for c in ("chip0", "chip1", "chip2", "chip3", "chip4"):
        if c in cols:
            cols[c][row:] = 1
    # range checker: its table at the bottom, v = 0 padding above it (range.md)
    setcol("range_v", np.concatenate([np.zeros(n - len(range_v), dtype=u64), range_v]))
    setcol("range_m", np.concatenate([np.zeros(n - len(range_m), dtype=u64), range_m]))
    return cols, n


def memory_rows(log: MemLog | list[MemAccess]) -> dict[str, np.ndarray]:
    """The memory chiplet's columns (``layout.MEM`` keys), one row per access sorted by (ctx, word, clk), then
    the order of the accesses: d0, d1 are the 16-bit limbs of the ctx, word or clk delta to the row before,
    d_inv its inverse, f_scw 1 for the same context and word (chiplets/memory.md); 0 on the first row."""
    if not isinstance(log, MemLog):
        packed = MemLog()
        for m in log:
            packed.append(m)
        log = packed
    a = log.rows()
    k = len(a)
    ctx, addr, clk = a[:, 0], a[:, 1], a[:, 2]
    word = addr - addr % np.uint64(4)
    order = np.lexsort((np.arange(k), clk, word, ctx))
    a, ctx, addr, clk, word = a[order], ctx[order], addr[order], clk[order], word[order]
    out = {"s0": np.ones(k, dtype=np.uint64), "s1": np.ones(k, dtype=np.uint64)}
    out |= {"is_read": a[:, 3], "is_word": a[:, 4], "ctx": ctx, "word": word, "clk": clk}
    out |= {"idx0": addr % np.uint64(2), "idx1": (addr % np.uint64(4)) // np.uint64(2)}
    out |= {f"v{j}": a[:, 5 + j] for j in range(4)}
    delta = np.zeros(k, dtype=np.int64)
    same_ctx = np.zeros(k, dtype=bool)
    same_word = np.zeros(k, dtype=bool)
    if k > 1:  # ctx < 2^21, word < 2^32, clk < 2^21: int64 differences (non-negative: the rows are sorted)
        c, w, t = (x.astype(np.int64) for x in (ctx, word, clk))
        same_ctx[1:] = c[1:] == c[:-1]
        same_word[1:] = same_ctx[1:] & (w[1:] == w[:-1])
        delta[1:] = np.where(~same_ctx[1:], c[1:] - c[:-1], np.where(~same_word[1:], w[1:] - w[:-1], t[1:] - t[:-1]))
    values, index = np.unique(delta, return_inverse=True)
    inverses = np.array([_inv(int(d)) for d in values], dtype=np.uint64)
    out["d0"] = (delta % 2**16).astype(np.uint64)
    out["d1"] = (delta // 2**16).astype(np.uint64)
    out["d_inv"] = inverses[index.reshape(-1)] if k else np.zeros(0, dtype=np.uint64)
    out["f_scw"] = same_word.astype(np.uint64)
    return out


RANGE_STEPS = (2187, 729, 243, 81, 27, 9, 3, 1)  # 3^7 .. 3^0: how far v may step (range.md)
RANGE_MAX = 2**16 - 1


def range_table(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The range checker's rows from 0 to 65535 (range.md): every requested value once, with its request count
    as multiplicity m, bridged by steps of a power of 3 (at most 3^7) through values with m = 0; a last row
    65535 with m = 0."""
    vals, counts = np.unique(np.asarray(values, dtype=np.uint64), return_counts=True)
    if len(vals) and int(vals[-1]) > RANGE_MAX:  # pragma: no cover - d0/d1 are 16-bit limbs by construction
        raise ExecutionError(f"range check of {int(vals[-1])}: not a 16-bit value")
    stops = np.union1d(vals, np.array([0, RANGE_MAX], dtype=np.uint64)).astype(np.int64)
    # each gap lo -> hi is bridged greedily: (hi - lo) // 3^7 steps of 3^7, then the base-3 digits of the rest
    # (d steps of 3^j for digit d of 3^j), largest first; the rows are lo + the steps taken so far (vectorized)
    lo, gap = stops[:-1], np.diff(stops)
    n_steps = np.empty((len(gap), len(RANGE_STEPS)), dtype=np.int64)
    n_steps[:, 0], rest = np.divmod(gap, RANGE_STEPS[0])
    for j, step in enumerate(RANGE_STEPS[1:], start=1):
        n_steps[:, j], rest = np.divmod(rest, step)
    steps = np.repeat(np.tile(np.array(RANGE_STEPS, dtype=np.int64), len(gap)), n_steps.ravel())
    per_gap = n_steps.sum(axis=1)  # >= 1: the stops are distinct
    taken = np.cumsum(steps) - steps  # steps before each row, over all gaps
    first = np.cumsum(per_gap) - per_gap  # each gap's first row
    bridge = np.repeat(lo, per_gap) + taken - np.repeat(taken[first], per_gap)
    # 65535 twice: the last row's terms do not enter the bus (its running value ends there), so the row answering
    # requests of 65535 comes before it
    v = np.concatenate([bridge, [RANGE_MAX, RANGE_MAX]]).astype(np.uint64)
    m = np.zeros(len(v), dtype=np.uint64)
    m[np.searchsorted(v, vals)] = counts
    return v, m


def execute(
    program: Program,
    design: str,
    stack_inputs: list[int] | None = None,
    max_cycles: int = MAX_CYCLES,
    source: str = "",
    progress: Callable[[int], None] | None = None,
    advice: list[int] | None = None,
    merkle_trees: Sequence[Sequence[Sequence[int]]] = (),
) -> tuple[VM, Air]:
    """Run ``program`` with the advice stack ``advice`` (its top first); more than ``max_cycles`` cycles is an
    ExecutionError naming where it got to, and so is a program that ends with more than 16 elements on the stack
    (Miden's OutputStackOverflow: processor/src/stack/mod.rs ``build_stack_outputs`` at v0.18.0 refuses a
    non-empty overflow table at the end; the AIR's last-row boundaries b0 = 16, b1 = 0 say the same).
    ``progress(cycles)`` is called every ``PROGRESS_EVERY`` cycles if given."""
    air = DESIGNS[EXECUTOR_DESIGNS.get(design, design)]() if design in EXECUTOR_DESIGNS else None
    if air is None:
        raise ExecutionError(f"the executor does not run design {design!r} (it runs: {', '.join(EXECUTOR_DESIGNS)})")
    vm = VM(design, program, air, stack_inputs, max_cycles, progress)
    vm.advice = [v % P for v in (advice or [])][::-1]
    for leaves in merkle_trees:  # the advice provider's Merkle store (MPVERIFY)
        vm.merkle.add(leaves)
    if source:
        vm.here = f"{source}:1:1"
    vm.run(program.entry)
    if vm.depth > 16:
        where = program.begin or vm.at()
        raise ExecutionError(
            f"{where}: the program ends with {vm.depth} elements on the stack; Miden allows at most 16 at the end "
            f"(OutputStackOverflow): drop {vm.depth - 16} more"
        )
    return vm, air


def run_program(
    source: str | Path,
    kernel: str | Path | None,
    design: str,
    stack_inputs: list[int] | None = None,
    max_cycles: int = MAX_CYCLES,
    progress: Callable[[int], None] | None = None,
    advice: list[int] | None = None,
    merkle_trees: Sequence[Sequence[Sequence[int]]] = (),
) -> RunResult:
    """Assemble and run a MASM program (at most ``max_cycles`` cycles, with the advice stack ``advice``, its top
    first); the trace and metadata of the run. ``progress(cycles)``, if given, is called every
    ``PROGRESS_EVERY`` cycles of the run; ``merkle_trees``: the leaves of each tree the advice provider's Merkle
    store holds (MPVERIFY)."""
    if design not in EXECUTOR_DESIGNS:
        raise ExecutionError(f"the executor does not run design {design!r} (it runs: {', '.join(EXECUTOR_DESIGNS)})")
    if max_cycles < 1:
        raise ExecutionError(f"the cycle cap must be at least 1, not {max_cycles}")
    prog = assemble(source, kernel, design, max_cycles)
    vm, air = execute(prog, design, stack_inputs, max_cycles, str(source), progress, advice, merkle_trees)
    cols, n = build_trace(vm, air, release=True)
    outputs = list(vm.top)
    unchecked = sorted(set(air.column_names) - air.read_columns())
    meta = {
        "air": air.name,
        "design": design,
        "program": str(source),
        "kernel": None if kernel is None else str(kernel),
        "program_digest": [str(x) for x in prog.digest],
        "program_root": digest_to_hex(prog.digest),
        "kernel_procedures": {name: [str(x) for x in d] for name, d in prog.kernel.items()},
        "stack_outputs": [str(v) for v in outputs],
        "cycles": vm.n_rows,
        "unchecked_columns": unchecked,
        # for information only (`air check --only` takes families from its caller, never from a trace)
        "filled_families": list(FILLED_FAMILIES),
        "pending": dict(PENDING),
    }
    # the buses' boundaries (air.BusBoundary): p2 starts with the program hash, b_chip with the kernel's procedures
    publics = {f"program_hash{i}": int(x) for i, x in enumerate(prog.digest)}
    if "pc_transcript_state0" in air.public_inputs:  # v0.19: the vtable ends with the transcript's final state
        publics |= {f"pc_transcript_state{i}": int(x) for i, x in enumerate(vm.pc_state)}
    kernel = {"kernel_procedures": sorted({tuple(int(x) for x in d) for d in prog.kernel.values()})}
    return RunResult(design, air.name, outputs, vm.n_rows, n, cols, meta, publics, kernel)


def export(result: RunResult, path: str | Path) -> Path:
    out = save_trace(path, result.columns, result.public_inputs, result.meta, public_tables=result.public_tables)
    Path(str(out) + ".json").write_text(json.dumps(result.meta, indent=1) + "\n")
    return out


_ = MasmError
