"""A subset of Miden assembly: parser, MAST and the assembler for each design.

Programs are a ``begin ... end`` block plus ``proc``/``export`` procedures (``proc.name.N`` with N
locals); a kernel module is a file of ``export`` procedures (syscall targets) and helper ``proc``s.
Instructions: push.N[.M...], add, sub, mul, eq, drop, dup.N, swap, movup.N, pad, mem_load[.a],
mem_store[.a], mem_loadw[.a], mem_storew[.a], loc_load.i, loc_store.i, loc_loadw.i, loc_storew.i,
locaddr.i, caller, assert, assert_eq, exec.p, call.p, syscall.p, procref.p, dynexec, dyncall,
if.true ... else ... end, repeat.N ... end, while.true ... end; ``#`` comments.

MAST nodes (docs/src/design/programs.md): basic block, join, split, loop, call, syscall, dyn,
dyncall. Digests are BLAKE2b-256 over a canonical serialization of the node (children by digest),
cut into 4 Goldilocks elements: a documented collision-resistant hash standing in for RPO. The digest
of a procedure is the digest of its body's MAST node: what CALL/SYSCALL/DYNCALL put in the decoder's
h0..h3 and what ``caller`` returns.

Procedure locals (N rounded up to a multiple of 4, local i at ``fmp - N + i``):
* v0.18 and sys-fmp: prologue ``PUSH(N) FMPUPDATE``, epilogue ``PUSH(-N) FMPUPDATE``, address of local i
  ``PUSH(i - N) FMPADD``;
* v0.19 and later (upstream-history.md, section 2): program start ``PUSH(2^31) PUSH(FMP_ADDR) MSTORE DROP``;
  prologue ``PUSH(N) PUSH(FMP_ADDR) MLOAD ADD PUSH(FMP_ADDR) MSTORE DROP``, epilogue the same with -N;
  address of local i ``PUSH(-(N - i)) PUSH(FMP_ADDR) MLOAD ADD``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from air.miden import layout as L

P = L.P

__all__ = ["MasmError", "Op", "Node", "Block", "Join", "Split", "Loop", "Call", "Dyn", "Program", "assemble"]


class MasmError(ValueError):
    """A parse or assembly error: ``file:line:col: message``."""


# ------------------------------------------------------------------------------------------ MAST
@dataclass(frozen=True)
class Op:
    name: str  # a VM operation (opcode table name)
    imm: int = 0  # PUSH immediate
    src: str = ""  # the MASM instruction it came from (for error messages)


@dataclass
class Node:
    digest: tuple[int, int, int, int] = field(init=False, default=(0, 0, 0, 0))

    def _hash(self, *parts: object) -> tuple[int, int, int, int]:
        h = hashlib.blake2b(repr(parts).encode(), digest_size=32).digest()
        return tuple(int.from_bytes(h[8 * i : 8 * i + 8], "little") % P for i in range(4))  # type: ignore[return-value]


@dataclass
class Block(Node):
    ops: list[Op]

    def __post_init__(self) -> None:
        self.digest = self._hash("span", [(o.name, o.imm) for o in self.ops])


@dataclass
class Join(Node):
    first: Node
    second: Node

    def __post_init__(self) -> None:
        self.digest = self._hash("join", self.first.digest, self.second.digest)


@dataclass
class Split(Node):
    on_true: Node
    on_false: Node

    def __post_init__(self) -> None:
        self.digest = self._hash("split", self.on_true.digest, self.on_false.digest)


@dataclass
class Loop(Node):
    body: Node

    def __post_init__(self) -> None:
        self.digest = self._hash("loop", self.body.digest)


@dataclass
class Call(Node):
    kind: str  # "call" or "syscall"
    target: str  # procedure name, for messages
    callee: tuple[int, int, int, int]
    src: str = ""

    def __post_init__(self) -> None:
        self.digest = self._hash(self.kind, self.callee)


@dataclass
class Dyn(Node):
    kind: str  # "dyn" or "dyncall"
    src: str = ""

    def __post_init__(self) -> None:
        self.digest = self._hash(self.kind)


@dataclass
class Program:
    entry: Node
    procedures: dict[tuple[int, int, int, int], Node]  # digest -> body (every procedure, program and kernel)
    names: dict[tuple[int, int, int, int], str]
    kernel: dict[str, tuple[int, int, int, int]]  # exported kernel procedures

    @property
    def digest(self) -> tuple[int, int, int, int]:
        return self.entry.digest


# ------------------------------------------------------------------------------------------ parsing
@dataclass
class Instr:
    text: str
    line: int
    col: int
    body: list[Instr] | None = None  # if/repeat/while: first body
    other: list[Instr] | None = None  # else branch


@dataclass
class ProcDef:
    name: str
    locals: int
    exported: bool
    body: list[Instr]


@dataclass
class Module:
    path: str
    procs: dict[str, ProcDef]
    main: list[Instr] | None


_TOKEN = re.compile(r"\S+")


def parse(text: str, path: str = "<input>") -> Module:
    toks: list[tuple[str, int, int]] = []
    for ln, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        for m in _TOKEN.finditer(line):
            toks.append((m.group(), ln, m.start() + 1))
    pos = 0

    def err(msg: str, at: tuple[str, int, int] | None = None) -> MasmError:
        t = at or (toks[pos] if pos < len(toks) else ("", toks[-1][1] if toks else 1, 1))
        return MasmError(f"{path}:{t[1]}:{t[2]}: {msg}")

    def body(closers: tuple[str, ...], opener: tuple[str, int, int]) -> tuple[list[Instr], str]:
        nonlocal pos
        out: list[Instr] = []
        while pos < len(toks):
            tok, ln, col = toks[pos]
            if tok in closers:
                pos += 1
                return out, tok
            pos += 1
            if tok in ("if.true", "while.true") or tok.startswith("repeat."):
                first, closer = body(("else", "end") if tok == "if.true" else ("end",), (tok, ln, col))
                other: list[Instr] | None = None
                if closer == "else":
                    other, _ = body(("end",), (tok, ln, col))
                out.append(Instr(tok, ln, col, first, other))
            elif tok in ("begin", "proc", "export") or tok.startswith(("proc.", "export.")):
                raise err(f"unexpected {tok!r} inside a block (missing 'end'?)", (tok, ln, col))
            else:
                out.append(Instr(tok, ln, col))
        wanted = " or ".join(repr(c) for c in closers)
        raise err(f"{opener[0]!r} is never closed: missing {wanted} before the end of file", opener)

    procs: dict[str, ProcDef] = {}
    main: list[Instr] | None = None
    while pos < len(toks):
        tok, ln, col = toks[pos]
        pos += 1
        if tok == "begin":
            if main is not None:
                raise err("a second 'begin' block", (tok, ln, col))
            main, _ = body(("end",), (tok, ln, col))
        elif tok.startswith(("proc.", "export.")):
            parts = tok.split(".")
            if len(parts) not in (2, 3) or not parts[1]:
                raise err(f"bad procedure header {tok!r} (expected proc.NAME or proc.NAME.LOCALS)", (tok, ln, col))
            try:
                n_locals = int(parts[2]) if len(parts) == 3 else 0
            except ValueError:
                raise err(f"bad local count in {tok!r}", (tok, ln, col)) from None
            if parts[1] in procs:
                raise err(f"procedure {parts[1]!r} defined twice", (tok, ln, col))
            b, _ = body(("end",), (tok, ln, col))
            procs[parts[1]] = ProcDef(parts[1], n_locals, parts[0] == "export", b)
        else:
            raise err(f"unexpected {tok!r} at top level (expected begin, proc.NAME or export.NAME)", (tok, ln, col))
    return Module(path, procs, main)


# ------------------------------------------------------------------------------------------ assembling
SIMPLE = {
    "add": ["ADD"],
    "sub": ["NEG", "ADD"],
    "mul": ["MUL"],
    "eq": ["EQ"],
    "drop": ["DROP"],
    "swap": ["SWAP"],
    "pad": ["PAD"],
    "assert": ["ASSERT"],
    "assert_eq": ["EQ", "ASSERT"],
    "caller": ["CALLER"],
}
DUPS = {0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15}


def _num(s: str, where: str) -> int:
    try:
        v = int(s, 0)
    except ValueError:
        raise MasmError(f"{where}: {s!r} is not a number") from None
    return v % P


class Assembler:
    def __init__(self, design: str, program: Module, kernel: Module | None):
        self.memory_fmp = design not in ("miden-v0.18", "miden-v0.18-permissive", "miden-sys-fmp")
        self.program = program
        self.kernel = kernel
        self.bodies: dict[tuple[str, str], Node] = {}  # (module path, name) -> body
        self.procedures: dict[tuple[int, int, int, int], Node] = {}
        self.names: dict[tuple[int, int, int, int], str] = {}

    # locals
    def _frame(self, n: int) -> int:
        return (n + 3) // 4 * 4

    def _fmp_update(self, delta: int) -> list[Op]:
        if not self.memory_fmp:
            return [Op("PUSH", delta % P), Op("FMPUPDATE")]
        a = L.FMP_ADDR
        return [Op("PUSH", delta % P), Op("PUSH", a), Op("MLOAD"), Op("ADD"), Op("PUSH", a), Op("MSTORE"), Op("DROP")]

    def _local_addr(self, i: int, n: int) -> list[Op]:
        if not self.memory_fmp:
            return [Op("PUSH", (i - n) % P), Op("FMPADD")]
        return [Op("PUSH", (-(n - i)) % P), Op("PUSH", L.FMP_ADDR), Op("MLOAD"), Op("ADD")]

    def proc(self, mod: Module, name: str, where: str, stack: tuple[str, ...] = ()) -> Node:
        key = (mod.path, name)
        if key in self.bodies:
            return self.bodies[key]
        if name not in mod.procs:
            raise MasmError(f"{where}: undefined procedure {name!r}")
        if key in stack:
            raise MasmError(f"{where}: recursive procedure {name!r}")
        p = mod.procs[name]
        n = self._frame(p.locals)
        items: list[Op | Node] = []
        if n:
            items += self._fmp_update(n)
        items += self.instrs(mod, p.body, n, stack + (key,))
        if n:
            items += self._fmp_update(-n)
        node = self.seq(items)
        self.bodies[key] = node
        self.procedures[node.digest] = node
        self.names.setdefault(node.digest, name)
        return node

    def seq(self, items: list[Op | Node]) -> Node:
        parts: list[Node] = []
        ops: list[Op] = []
        for it in items:
            if isinstance(it, Op):
                ops.append(it)
            else:
                if ops:
                    parts.append(Block(ops))
                    ops = []
                parts.append(it)
        if ops or not parts:
            parts.append(Block(ops or [Op("NOOP")]))
        node = parts[0]
        for p in parts[1:]:
            node = Join(node, p)
        return node

    def instrs(self, mod: Module, body: list[Instr], n_locals: int, stack: tuple) -> list[Op | Node]:
        out: list[Op | Node] = []
        for ins in body:
            where = f"{mod.path}:{ins.line}:{ins.col}"
            t = ins.text
            src = f"{where}: {t}"  # what an execution error names
            parts = t.split(".")
            head = parts[0]
            if t in SIMPLE:
                out += [Op(o, src=src) for o in SIMPLE[t]]
            elif head == "push" and len(parts) >= 2:
                out += [Op("PUSH", _num(x, where), src) for x in parts[1:]]
            elif head == "dup":
                k = _num(parts[1], where) if len(parts) > 1 else 0
                if k not in DUPS:
                    raise MasmError(f"{where}: dup.{k} is not supported (use one of {sorted(DUPS)})")
                out.append(Op(f"DUP{k}", src=src))
            elif head == "movup" and len(parts) == 2:
                k = _num(parts[1], where)
                if not 2 <= k <= 8:
                    raise MasmError(f"{where}: movup.{k} is out of range (2..8)")
                out.append(Op(f"MOVUP{k}", src=src))
            elif head in ("mem_load", "mem_store", "mem_loadw", "mem_storew"):
                if len(parts) == 2:
                    out.append(Op("PUSH", _num(parts[1], where), src))
                out += self._mem(head, src)
            elif head in ("loc_load", "loc_store", "loc_loadw", "loc_storew", "locaddr") and len(parts) == 2:
                i = _num(parts[1], where)
                if i >= max(n_locals, 1) or not n_locals:
                    raise MasmError(f"{where}: local {i} is out of range (the procedure has {n_locals} locals)")
                out += self._local_addr(i, n_locals)
                if head != "locaddr":
                    out += self._mem(head.replace("loc_", "mem_"), src)
            elif head in ("exec", "call", "syscall", "procref") and len(parts) == 2:
                out += self._invoke(mod, head, parts[1], where, stack)
            elif t in ("dynexec", "dyncall"):
                out.append(Dyn("dyn" if t == "dynexec" else "dyncall", src=where))
            elif t == "if.true":
                a = self.seq(self.instrs(mod, ins.body or [], n_locals, stack))
                b = self.seq(self.instrs(mod, ins.other or [], n_locals, stack))
                out.append(Split(a, b))
            elif head == "repeat" and len(parts) == 2:
                for _ in range(_num(parts[1], where)):
                    out += self.instrs(mod, ins.body or [], n_locals, stack)
            elif t == "while.true":
                out.append(Loop(self.seq(self.instrs(mod, ins.body or [], n_locals, stack))))
            else:
                raise MasmError(f"{where}: unknown instruction {t!r}")
        return out

    def _mem(self, head: str, src: str) -> list[Op]:
        return {
            "mem_load": [Op("MLOAD", src=src)],
            "mem_store": [Op("MSTORE", src=src), Op("DROP", src=src)],
            "mem_loadw": [Op("MLOADW", src=src)],
            "mem_storew": [Op("MSTOREW", src=src)],
        }[head]

    def _invoke(self, mod: Module, how: str, name: str, where: str, stack: tuple) -> list[Op | Node]:
        if how == "syscall":
            if self.kernel is None or name not in self.kernel.procs or not self.kernel.procs[name].exported:
                raise MasmError(f"{where}: syscall.{name}: no exported kernel procedure {name!r}")
            node = self.proc(self.kernel, name, where, stack)
            return [Call("syscall", name, node.digest, where)]
        target_mod = mod
        if name not in mod.procs and self.kernel is not None and mod is not self.kernel and name in self.kernel.procs:
            target_mod = self.kernel
        node = self.proc(target_mod, name, where, stack)
        if how == "exec":
            return [node]
        if how == "call":
            return [Call("call", name, node.digest, where)]
        # procref: push the digest so that mem_storew stores it as [h0, h1, h2, h3]
        return [Op("PUSH", node.digest[i], f"procref.{name}") for i in range(4)]


def assemble(source: str | Path, kernel: str | Path | None, design: str) -> Program:
    """Parse and assemble ``source`` (and its kernel) for ``design``'s rules for locals."""
    src = Path(source)
    try:
        text = src.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise MasmError(f"{src}: cannot read: {e}") from e
    prog = parse(text, str(src))
    kmod = None
    if kernel is not None:
        kp = Path(kernel)
        try:
            kmod = parse(kp.read_text(), str(kp))
        except (OSError, UnicodeDecodeError) as e:
            raise MasmError(f"{kp}: cannot read: {e}") from e
        if kmod.main is not None:
            raise MasmError(f"{kp}: a kernel module has no 'begin' block")
    if prog.main is None:
        raise MasmError(f"{src}: no 'begin ... end' block")
    asm = Assembler(design, prog, kmod)
    items: list[Op | Node] = []
    if asm.memory_fmp:
        items += [Op("PUSH", L.FMP_INIT), Op("PUSH", L.FMP_ADDR), Op("MSTORE"), Op("DROP")]
    items += asm.instrs(prog, prog.main, 0, ())
    entry = asm.seq(items)
    kernel_procs: dict[str, tuple[int, int, int, int]] = {}
    if kmod is not None:
        for name, p in kmod.procs.items():
            if p.exported:
                kernel_procs[name] = asm.proc(kmod, name, f"{kmod.path}").digest
    # every program procedure is known by digest (for dynexec/dyncall), even if only referenced
    for name in prog.procs:
        asm.proc(prog, name, str(src))
    return Program(entry, asm.procedures, asm.names, kernel_procs)
