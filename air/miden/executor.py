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
* ``miden-v0.19`` (and ``miden-fnhash-mem*``): fmp lives at FMP_ADDR of each context's memory;
  CALL/DYNCALL write FMP_INIT there through the chiplets bus (fnhash-mem designs also write fn_hash at
  FN_HASH_ADDR, and CALLER reads it); calls and syscalls are allowed anywhere.

The exported trace fills every column of the design's AIR as the model reads it: system, decoder
(block address, op bits, e0/e1, h0..h7 as the control operations use them), stack, and the chiplets:
hasher response rows (simplified, see ``layout.HASHER_LEGACY``), memory rows sorted by (ctx, word, clk) with
their delta limbs and inverse, kernel ROM rows, padding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from air.air import Air
from air.miden import layout as L
from air.miden.designs import DESIGNS
from air.miden.masm import Block, Call, Dyn, Join, Loop, MasmError, Node, Op, Program, Split, assemble
from air.trace import save_trace

P = L.P
MAX_CYCLES = 1 << 22  # a guard against endless loops (the benchmark runs ~2^20)
Word = tuple[int, int, int, int]
ZERO: Word = (0, 0, 0, 0)

__all__ = ["ExecutionError", "MasmError", "RunResult", "execute", "run_program", "export", "EXECUTOR_DESIGNS"]

# executor design -> the AIR whose layout and constraints its trace is for
EXECUTOR_DESIGNS = {
    "miden-v0.18": "miden-v0.18",
    "miden-v0.18-permissive": "miden-v0.18",
    "miden-sys-fmp": "miden-sys-fmp",
    "miden-v0.19": "miden-v0.19",
    "miden-fnhash-mem": "miden-fnhash-mem",
    "miden-fnhash-mem-slot": "miden-fnhash-mem-slot",
    "miden-fnhash-mem-column": "miden-fnhash-mem-column",
}


class ExecutionError(RuntimeError):
    """The program cannot run under the design's rules; the message names the instruction."""


@dataclass
class Row:
    op: str
    clk: int
    ctx: int
    fmp: int
    sys_fmp: int
    flag: int  # in_syscall or in_kernel
    fn_hash: Word
    stack: list[int]
    depth: int
    ovf_addr: int
    addr: int
    h: list[int]
    in_span: int


@dataclass
class MemAccess:
    ctx: int
    addr: int
    clk: int
    is_read: int
    is_word: int
    word: Word  # the word containing addr, after the access


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


class VM:
    def __init__(self, design: str, program: Program, air: Air, stack_inputs: list[int] | None = None):
        if design not in EXECUTOR_DESIGNS:
            known = ", ".join(EXECUTOR_DESIGNS)
            raise ExecutionError(f"the executor does not run design {design!r} (it runs: {known})")
        self.design = design
        self.air = air
        self.prog = program
        self.opcode = {o.name: o.opcode for o in air.operations}
        self.v18 = design in ("miden-v0.18", "miden-v0.18-permissive")
        self.sysfmp = design == "miden-sys-fmp"
        self.memfmp = not (self.v18 or self.sysfmp)
        self.fnhash_mem = design.startswith("miden-fnhash-mem")
        self.rows: list[Row] = []
        self.mem: dict[tuple[int, int], int] = {}
        self.mem_log: list[MemAccess] = []
        self.hasher: list[tuple[int, int, int, list[int], list[int]]] = []  # label, addr, node, cap, rate
        self.krom_calls: list[Word] = []
        self.clk = 0
        self.ctx = 0
        self.fmp = L.FMP_MIN
        self.sys_fmp = L.SYSCALL_FMP_MIN
        self.flag = 1 if self.sysfmp else 0
        self.fn_hash: Word = ZERO
        inputs = [v % P for v in (stack_inputs or [])][::-1]
        self.stack: list[int] = inputs + [0] * max(0, 16 - len(inputs))
        self.ovf_clk: list[int] = [0] * (len(self.stack) - 16)
        self.addr = 0
        self.next_block = 0
        self.in_syscall = False  # for the v0.18 rule
        self.steps = 0

    # ---------------------------------------------------------------- stack helpers
    @property
    def depth(self) -> int:
        return max(16, len(self.stack))

    def _ovf_addr(self) -> int:
        return self.ovf_clk[-1] if len(self.stack) > 16 and self.ovf_clk else 0

    def push(self, v: int) -> None:
        self.stack.insert(0, v % P)
        if len(self.stack) > 16:
            self.ovf_clk.append(self.clk)

    def pop(self) -> int:
        v = self.stack.pop(0)
        if len(self.stack) >= 16:
            if self.ovf_clk:
                self.ovf_clk.pop()
        else:
            self.stack.append(0)
        return v

    # ---------------------------------------------------------------- memory
    def mem_word(self, ctx: int, addr: int) -> Word:
        base = addr - addr % 4
        return tuple(self.mem.get((ctx, base + i), 0) for i in range(4))  # type: ignore[return-value]

    def mem_read(self, ctx: int, addr: int, word: bool) -> Word | int:
        if word and addr % 4:
            raise ExecutionError(f"word access at unaligned address {addr}")
        w = self.mem_word(ctx, addr)
        self.mem_log.append(MemAccess(ctx, addr, self.clk, 1, int(word), w))
        return w if word else w[addr % 4]

    def mem_write(self, ctx: int, addr: int, value: Word | int, word: bool) -> None:
        if word:
            if addr % 4:
                raise ExecutionError(f"word access at unaligned address {addr}")
            for i, v in enumerate(value):  # type: ignore[arg-type]
                self.mem[(ctx, addr + i)] = v % P
        else:
            self.mem[(ctx, addr)] = int(value) % P  # type: ignore[arg-type]
        self.mem_log.append(MemAccess(ctx, addr, self.clk, 0, int(word), self.mem_word(ctx, addr)))

    # ---------------------------------------------------------------- rows
    def emit(self, op: str, h: list[int] | None = None, in_span: int = 0) -> None:
        if op not in self.opcode:
            raise ExecutionError(f"operation {op} does not exist in {self.air.name}")
        self.rows.append(
            Row(
                op,
                self.clk,
                self.ctx,
                self.fmp,
                self.sys_fmp,
                self.flag,
                self.fn_hash,
                list(self.stack[:16]),
                self.depth,
                self._ovf_addr(),
                self.addr,
                (list(h or []) + [0] * 8)[:8],
                in_span,
            )
        )
        self.steps += 1
        if self.steps > MAX_CYCLES:
            raise ExecutionError(f"more than {MAX_CYCLES:,} cycles: is there an endless loop?")

    def tick(self) -> None:
        self.clk += 1

    def new_block(self) -> int:
        self.next_block += 8
        return self.next_block

    def hasher_request(self, label: int, addr: int, rate: list[int], domain: int = 0) -> None:
        self.hasher.append((label, addr, 0, [0, domain, 0, 0], list(rate) + [0] * (8 - len(rate))))

    # ---------------------------------------------------------------- operations
    def op(self, o: Op) -> None:
        name = o.name
        h = [0] * 8
        s = self.stack
        self.emit(name, h, in_span=1)
        if name == "PUSH":
            self.push(o.imm)
        elif name == "NOOP":
            pass
        elif name in ("ADD", "MUL", "EQ"):  # left shift by one: s0' = s0 op s1
            a, b = s[0], s[1]
            self.pop()
            r = (a + b) if name == "ADD" else (a * b) if name == "MUL" else int(a == b)
            self.stack[0] = r % P
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
            addr = s[0]
            s[0] = self.mem_read(self.ctx, self._addr(addr, o), False)  # type: ignore[assignment]
        elif name == "MSTORE":
            addr = self.pop()
            self.mem_write(self.ctx, self._addr(addr, o), s[0], False)
        elif name == "MLOADW":
            addr = self.pop()
            w = self.mem_read(self.ctx, self._addr(addr, o), True)
            # s'_{3-i} = v_i: the word replaces the top four elements
            for i in range(4):
                s[3 - i] = w[i]  # type: ignore[index]
        elif name == "MSTOREW":
            addr = self.pop()
            self.mem_write(self.ctx, self._addr(addr, o), tuple(s[3 - i] for i in range(4)), True)
        elif name == "FMPADD":
            base = self.sys_fmp if (self.sysfmp and self.flag) else self.fmp
            s[0] = (s[0] + base) % P
        elif name == "FMPUPDATE":
            v = self.pop()
            if self.sysfmp and self.flag:
                self.sys_fmp = (self.sys_fmp + v) % P
            else:
                self.fmp = (self.fmp + v) % P
        elif name == "CALLER":
            if self.v18 and not self.in_syscall:
                raise ExecutionError(f"{o.src or 'caller'}: caller is only allowed inside a syscall in v0.18")
            if self.sysfmp and not self.flag:
                # seed discussion: in_syscall becomes in_kernel, and caller keeps its check on it
                raise ExecutionError(f"{o.src or 'caller'}: caller is only allowed in the kernel (in_kernel = 1)")
            fh = self.fn_hash
            if self.fnhash_mem:
                w = self.mem_read(self.ctx, L.FN_HASH_ADDR, True)
                fh = w  # type: ignore[assignment]
            for i in range(4):
                s[i] = fh[3 - i]
        else:
            raise ExecutionError(f"operation {name} is not supported by the executor")
        self.tick()

    def _addr(self, v: int, o: Op) -> int:
        if v >= 2**32:
            raise ExecutionError(f"{o.src or o.name}: memory address {v} is not a u32")
        return v

    # ---------------------------------------------------------------- control flow
    def _open(self, op: str, rate: list[int], domain: int = 0, condition: str | None = None) -> tuple[int, int]:
        """Start a control block: its hasher request, the op's row (SPLIT/LOOP pop a binary condition,
        named ``condition`` in errors), the step into the block. Returns (block address, parent)."""
        bid = self.new_block()
        self.hasher_request(L.HASHER_LINEAR_HASH, bid, rate, domain)
        if condition is not None and self.stack[0] not in (0, 1):
            raise ExecutionError(f"{condition}: condition {self.stack[0]} is not binary")
        self.emit(op, rate)
        if condition is not None:
            self.pop()
        self.tick()
        parent, self.addr = self.addr, bid
        return bid, parent

    def run(self, node: Node) -> None:
        if isinstance(node, Block):
            bid, parent = self._open("SPAN", [self.opcode.get(o.name, 0) for o in node.ops[:8]])
            for o in node.ops:
                self.op(o)
            self.end(bid, parent, node.digest, 0, 0)
        elif isinstance(node, Join):
            rate = list(node.first.digest) + list(node.second.digest)
            bid, parent = self._open("JOIN", rate, self.opcode["JOIN"])
            self.run(node.first)
            self.run(node.second)
            self.end(bid, parent, node.digest, 0, 0)
        elif isinstance(node, Split):
            cond = self.stack[0]
            rate = list(node.on_true.digest) + list(node.on_false.digest)
            bid, parent = self._open("SPLIT", rate, self.opcode["SPLIT"], "if.true")
            self.run(node.on_true if cond else node.on_false)
            self.end(bid, parent, node.digest, 0, 0)
        elif isinstance(node, Loop):
            cond = self.stack[0]
            rate = list(node.body.digest) + [0, 0, 0, 0]
            bid, parent = self._open("LOOP", rate, self.opcode["LOOP"], "while.true")
            if cond:
                self.run(node.body)
                while True:
                    top = self.stack[0]
                    if top not in (0, 1):
                        raise ExecutionError(f"while.true: condition {top} is not binary")
                    if not top:
                        break
                    self.emit("REPEAT", list(node.body.digest) + [1, 0, 0, 0])
                    self.pop()
                    self.tick()
                    self.run(node.body)
            self.end(bid, parent, node.digest, is_loop=cond, kind=0)
        elif isinstance(node, Call):
            self.call(node)
        elif isinstance(node, Dyn):
            self.dyn(node)
        else:  # pragma: no cover
            raise ExecutionError(f"unknown node {type(node).__name__}")

    def end(
        self, bid: int, parent: int, digest: Word, is_loop: int, kind: int, restore: dict[str, Any] | None = None
    ) -> None:
        """END of block ``bid``; kind 1 = call/dyncall, 2 = syscall. ``restore`` is the saved context."""
        h = list(digest) + [0, is_loop, 1 if kind == 1 else 0, 1 if kind == 2 else 0]
        self.hasher.append((L.HASHER_RETURN_HASH, bid + 7, 0, [0, 0, 0, 0], list(digest) + [0, 0, 0, 0]))
        self.emit("END", h)
        if is_loop:
            if self.stack[0] != 0:
                raise ExecutionError("while.true: loop exits with a nonzero top")
            self.pop()
        if restore is not None:
            if self.depth != 16:
                raise ExecutionError(f"the callee returned with stack depth {self.depth}; it must be 16")
            top = self.stack[:16]
            self.stack = top + restore["overflow"]
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
        return {
            "overflow": list(self.stack[16:]),
            "ovf_clk": list(self.ovf_clk),
            "ctx": self.ctx,
            "fmp": self.fmp,
            "fn_hash": self.fn_hash,
            "flag": self.flag,
            "in_syscall": self.in_syscall,
        }

    def _enter_context(self, callee: Word) -> None:
        """CALL/DYNCALL: a new context with the top 16 elements of the caller's stack."""
        self.stack = self.stack[:16]
        self.ovf_clk = []
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

    def call(self, node: Call) -> None:
        body = self.prog.procedures.get(node.callee)
        if body is None:
            raise ExecutionError(f"{node.src}: no procedure with digest {node.callee}")
        bid = self.new_block()
        rate = list(node.callee) + [0, 0, 0, 0]
        saved = self._save()
        if node.kind == "call":
            self._check_nesting(f"call.{node.target}", node.src)
            self.hasher_request(L.HASHER_LINEAR_HASH, bid, rate, self.opcode["CALL"])
            self.emit("CALL", rate)
            self._enter_context(node.callee)
            self.tick()
            kind = 1
        else:
            self._check_nesting(f"syscall.{node.target}", node.src)
            if node.callee not in self.prog.kernel.values():
                raise ExecutionError(f"{node.src}: syscall.{node.target} is not a kernel procedure")
            self.hasher_request(L.HASHER_LINEAR_HASH, bid, rate, self.opcode["SYSCALL"])
            self.krom_calls.append(node.callee)
            self.emit("SYSCALL", rate)
            self.tick()
            self.ctx = 0
            if self.v18:
                self.fmp = L.SYSCALL_FMP_MIN
                self.flag = 1
            if self.sysfmp:
                self.flag = 1
            self.in_syscall = True
            self.stack = self.stack[:16]
            self.ovf_clk = []
            kind = 2
        parent, self.addr = self.addr, bid
        self.run(body)
        self.end(bid, parent, node.digest, 0, kind, saved)

    def dyn(self, node: Dyn) -> None:
        where = node.src
        if node.kind == "dyncall":
            self._check_nesting("dyncall", where)
        addr = self.stack[0]
        callee: Word = self.mem_word(self.ctx, addr)
        body = self.prog.procedures.get(callee)
        if body is None:
            raise ExecutionError(f"{where}: no procedure with the digest stored at address {addr}")
        bid = self.new_block()
        op = "DYN" if node.kind == "dyn" else "DYNCALL"
        self.hasher_request(L.HASHER_LINEAR_HASH, bid, [0] * 8, self.opcode[op])
        self.mem_log.append(MemAccess(self.ctx, addr, self.clk, 1, 1, callee))
        # h4/h5: the stack depth and overflow address after DYN/DYNCALL drops the address
        post_depth = max(16, len(self.stack) - 1)
        post_ovf = self.ovf_clk[-2] if len(self.stack) - 1 > 16 and len(self.ovf_clk) >= 2 else 0
        self.emit(op, list(callee) + [post_depth, post_ovf, 0, 0])
        self.pop()
        parent = self.addr
        if node.kind == "dyncall":
            saved = self._save()
            self._enter_context(callee)
            self.tick()
            self.addr = bid
            self.run(body)
            self.end(bid, parent, node.digest, 0, 1, saved)
        else:
            self.tick()
            self.addr = bid
            self.run(body)
            self.end(bid, parent, node.digest, 0, 0)


# ------------------------------------------------------------------------------------------ trace
def _inv(v: int) -> int:
    return pow(v % P, P - 2, P) if v % P else 0


def build_trace(vm: VM, air: Air) -> tuple[dict[str, np.ndarray], int]:
    names = air.column_names
    main_rows = len(vm.rows) + 1  # + the HALT row(s)
    chip_rows = len(vm.hasher) + len(vm.mem_log) + len(vm.prog.kernel) + len(vm.krom_calls) + 1
    n = 16
    while n < max(main_rows, chip_rows):
        n *= 2
    cols = {c: [0] * n for c in names}

    def put(c: str, i: int, v: int) -> None:
        if c in cols:
            cols[c][i] = int(v) % P

    last = vm.rows[-1]
    for i in range(n):
        r = vm.rows[i] if i < len(vm.rows) else None
        if r is None:  # HALT padding: the state after the last row
            r = Row(
                "HALT",
                i,
                0,
                vm.fmp,
                vm.sys_fmp,
                vm.flag,
                vm.fn_hash,
                list(vm.stack[:16]),
                vm.depth,
                vm._ovf_addr(),
                0,
                [0] * 8,
                0,
            )
        code = vm.opcode[r.op]
        put("clk", i, i)
        put("ctx", i, r.ctx)
        put("fmp", i, r.fmp)
        put("sys_fmp", i, r.sys_fmp)
        put("in_syscall", i, r.flag)
        put("in_kernel", i, r.flag)
        for k in range(4):
            put(f"fn_hash{k}", i, r.fn_hash[k])
        put("addr", i, r.addr)
        bits = [(code >> k) & 1 for k in range(7)]
        for k in range(7):
            put(f"b{k}", i, bits[k])
        put("e0", i, bits[6] * (1 - bits[5]) * bits[4])
        put("e1", i, bits[6] * bits[5])
        for k in range(8):
            put(f"h{k}", i, r.h[k])
        put("in_span", i, r.in_span)
        for k in range(16):
            put(f"s{k}", i, r.stack[k])
        put("stack_depth", i, r.depth)
        put("stack_overflow_addr", i, r.ovf_addr)
        put("stack_h0", i, _inv(r.depth - 16))
        if r.op == "DYNCALL" and "f_dyncall" in cols:
            put("f_dyncall", i, 1)
    _ = last

    # chiplets: hasher responses, memory, kernel ROM, padding
    row = 0
    hs = L.HASHER_LEGACY
    for label, addr, node, cap, rate in vm.hasher:
        put("chip0", row, 0)
        put(hs["responds"], row, 1)
        put(hs["label"], row, label)
        put(hs["addr"], row, addr)
        put(hs["node_index"], row, node)
        for k, v in enumerate(cap + rate):
            put(hs["state"][k], row, v)
        row += 1
    m = L.MEM
    mem = sorted(enumerate(vm.mem_log), key=lambda t: (t[1].ctx, t[1].addr - t[1].addr % 4, t[1].clk, t[0]))
    prev: MemAccess | None = None
    for _, acc in mem:
        for c in ("s0", "s1"):
            put(m[c], row, 1)
        put(m["is_read"], row, acc.is_read)
        put(m["is_word"], row, acc.is_word)
        put(m["ctx"], row, acc.ctx)
        word = acc.addr - acc.addr % 4
        put(m["word"], row, word)
        put(m["idx0"], row, acc.addr % 2)
        put(m["idx1"], row, (acc.addr % 4) // 2)
        put(m["clk"], row, acc.clk)
        for k in range(4):
            put(m[f"v{k}"], row, acc.word[k])
        if prev is not None:
            pw = prev.addr - prev.addr % 4
            if acc.ctx != prev.ctx:
                delta, t = acc.ctx - prev.ctx, _inv(acc.ctx - prev.ctx)
            elif word != pw:
                delta, t = word - pw, _inv(word - pw)
            else:
                delta, t = acc.clk - prev.clk, _inv(acc.clk - prev.clk)
            put(m["d0"], row, delta % 2**16)
            put(m["d1"], row, delta // 2**16)
            put(m["d_inv"], row, t)
            put(m["f_scw"], row, 1 if (acc.ctx == prev.ctx and word == pw) else 0)
        prev = acc
        row += 1
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
    while row < n:
        for c in ("chip0", "chip1", "chip2", "chip3", "chip4"):
            put(c, row, 1)
        row += 1
    return {c: np.array(v, dtype=np.uint64) for c, v in cols.items()}, n


def execute(program: Program, design: str, stack_inputs: list[int] | None = None) -> tuple[VM, Air]:
    air = DESIGNS[EXECUTOR_DESIGNS.get(design, design)]() if design in EXECUTOR_DESIGNS else None
    if air is None:
        raise ExecutionError(f"the executor does not run design {design!r} (it runs: {', '.join(EXECUTOR_DESIGNS)})")
    vm = VM(design, program, air, stack_inputs)
    vm.run(program.entry)
    return vm, air


def run_program(
    source: str | Path, kernel: str | Path | None, design: str, stack_inputs: list[int] | None = None
) -> RunResult:
    """Assemble and run a MASM program; the trace and metadata of the run."""
    if design not in EXECUTOR_DESIGNS:
        raise ExecutionError(f"the executor does not run design {design!r} (it runs: {', '.join(EXECUTOR_DESIGNS)})")
    prog = assemble(source, kernel, design)
    vm, air = execute(prog, design, stack_inputs)
    cols, n = build_trace(vm, air)
    outputs = list(vm.stack[:16])
    unchecked = sorted(set(air.column_names) - air.read_columns())
    meta = {
        "air": air.name,
        "design": design,
        "program": str(source),
        "kernel": None if kernel is None else str(kernel),
        "program_digest": [str(x) for x in prog.digest],
        "kernel_procedures": {name: [str(x) for x in d] for name, d in prog.kernel.items()},
        "stack_outputs": [str(v) for v in outputs],
        "cycles": len(vm.rows),
        "unchecked_columns": unchecked,
    }
    return RunResult(design, air.name, outputs, len(vm.rows), n, cols, meta)


def export(result: RunResult, path: str | Path) -> Path:
    out = save_trace(path, result.columns, result.public_inputs, result.meta)
    Path(str(out) + ".json").write_text(json.dumps(result.meta, indent=1) + "\n")
    return out


_ = MasmError
