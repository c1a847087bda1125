"""A subset of Miden assembly: parser, MAST and the assembler for each design.

Programs are a ``begin ... end`` block plus ``proc``/``export`` procedures (``proc.name.N`` with N
locals); a kernel module is a file of ``export`` procedures (syscall targets) and helper ``proc``s.
Instructions: push.N[.M...], add, sub, mul, eq, drop, dup.N, swap, movup.N, pad, mem_load[.a],
mem_store[.a], mem_loadw[.a], mem_storew[.a], loc_load.i, loc_store.i, loc_loadw.i, loc_storew.i,
locaddr.i, caller, assert, assert_eq, exec.p, call.p, syscall.p, procref.p, dynexec, dyncall,
if.true ... else ... end, repeat.N ... end, while.true ... end, hperm, hmerge, hash, mtree_verify, mtree_get,
mtree_set; ``#``
comments. u32 and comparison instructions
(table ``U32``, each as the v0.18.0 assembler expands it): u32split, u32assert, u32assert2, u32assertw, u32test,
u32testw, u32cast, u32{overflowing,wrapping}_{add,sub,mul}[.b], u32{overflowing,wrapping}_{add3,madd},
u32div[.b], u32mod[.b], u32divmod[.b], u32and[.b], u32or[.b], u32xor[.b], u32not[.b], u32lt/lte/gt/gte/min/max[.b],
lt/lte/gt/gte[.b]; the rest of the u32 family (shifts, rotations, popcnt, clz/ctz/clo/cto, ``.err=`` forms) is
refused.

Immediates follow Miden's parser (assembly-syntax/src/parser/grammar.lalrpop), checked from one table
(``IMMEDIATES``): decimal or 0x-hex; push values are field elements (< p, at most 16 per push); memory
addresses are u32; local indices and counts u16; repeat counts 1..2^32-1. Limits: blocks nest at most
``MAX_NESTING`` deep; a repeat's expansion must fit the cycle cap; procedures may not reach themselves
(exec/call/syscall/procref cycles are refused, as Miden's linker does); user code reaches kernel
procedures only by ``syscall``.

MAST nodes (docs/src/design/programs.md): basic block, join, split, loop, call, syscall, dyn,
dyncall. Digests are Miden's RPO digests (``air.miden.digest``): a basic block hashes its op batches
(``digest.batch_groups``, which the executor also decodes), a control node merges its children in the
domain of its control operation's opcode *in the design* (miden-fnhash-mem-slot moves DYNCALL to 120, so its
dyncall digests use 120). The digest of a procedure is the digest of its body's MAST node: what
CALL/SYSCALL/DYNCALL put in the decoder's h0..h3 and what ``caller`` returns.

MAST shape, following Miden's assembler where it is cheap: a sequence is joined pairwise
(``MastForestBuilder::join_nodes``: adjacent pairs, level by level, an odd last node carried up), adjacent
basic blocks are merged (an ``exec`` of a procedure whose body is one basic block is inlined into the
surrounding block), ``push.0`` is ``PAD`` and ``push.1`` is ``PAD INCR`` (``push_u32_value``/``push_felt``).
Different from Miden: locals and the v0.19 fmp prologue are our own instruction sequences, memory
immediates and procref always use PUSH, decorators and the assembler's other peephole rewrites are absent.

Procedure locals (N rounded up to a multiple of 4, local i at ``fmp - N + i``):
* v0.18 and sys-fmp: prologue ``PUSH(N) FMPUPDATE``, epilogue ``PUSH(-N) FMPUPDATE``, address of local i
  ``PUSH(i - N) FMPADD``;
* v0.19 and later (upstream-history.md, section 2): program start ``PUSH(2^31) PUSH(FMP_ADDR) MSTORE DROP``;
  prologue ``PUSH(N) PUSH(FMP_ADDR) MLOAD ADD PUSH(FMP_ADDR) MSTORE DROP``, epilogue the same with -N;
  address of local i ``PUSH(-(N - i)) PUSH(FMP_ADDR) MLOAD ADD``;
* miden-gate (seed discussion, the gate column): locals as at v0.18 (FMPUPDATE/FMPADD, which there read and
  write mem[4] of the context). The discussion leaves the root context's fmp uninitialised (mem[4] = 0, so
  the first local would sit at address 0, which the gate refuses to MSTORE/MLOAD); our program start is
  ``PUSH(FMP_MIN) FMPUPDATE`` (mem[4] = 2^30, as CALL/DYNCALL write for a new context), made only of
  instructions the gate lets touch mem[4]. Our choice, not the discussion's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from air.miden import digest as D
from air.miden import layout as L
from air.miden.design import DESIGN_LIST
from air.miden.opcodes import OPCODES_V19

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
    cost: int = field(init=False, default=0)  # a lower bound on the cycles the node takes to run


# the opcode table whose control opcodes are the digest domains (set per assembly by ``assemble``)
_OPCODES: list[dict[str, int]] = [OPCODES_V19]


def _domain(op: str) -> int:
    return _OPCODES[-1][op]


@dataclass
class Block(Node):
    """A basic block. ``batches``: its op batches as Miden lays them out (``digest.OpBatch``); ``batch_ops[j]``
    gives, for each operation of batch j (padding NOOPs included), the ``Op`` it runs (None for a padding NOOP)."""

    ops: list[Op]
    batches: list[D.OpBatch] = field(init=False, default_factory=list)
    batch_ops: list[list[Op | None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        table = _OPCODES[-1]
        self.batches = D.batch_groups([(table[o.name], o.imm if o.name == "PUSH" else None) for o in self.ops])
        it = iter(self.ops)
        for b in self.batches:
            mine: list[Op | None] = []
            for g in range(b.num_groups):
                ops = b.group_ops(g)
                for k in range(len(ops)):
                    mine.append(None if (b.padding[g] and k == len(ops) - 1) else next(it))
            self.batch_ops.append(mine)
        self.digest = D.rpo.hash_elements([g for b in self.batches for g in b.groups])
        self.cost = sum(len(b.ops) for b in self.batches) + len(self.batches) + 1


@dataclass
class Join(Node):
    first: Node
    second: Node

    def __post_init__(self) -> None:
        self.digest = D.join_digest(self.first.digest, self.second.digest, _domain("JOIN"))
        self.cost = self.first.cost + self.second.cost + 2


@dataclass
class Split(Node):
    on_true: Node
    on_false: Node
    src: str = ""  # file:line:col of the if.true

    def __post_init__(self) -> None:
        self.digest = D.split_digest(self.on_true.digest, self.on_false.digest, _domain("SPLIT"))
        self.cost = min(self.on_true.cost, self.on_false.cost) + 2


@dataclass
class Loop(Node):
    body: Node
    src: str = ""  # file:line:col of the while.true

    def __post_init__(self) -> None:
        self.digest = D.loop_digest(self.body.digest, _domain("LOOP"))
        self.cost = 2


@dataclass
class Call(Node):
    kind: str  # "call" or "syscall"
    target: str  # procedure name, for messages
    callee: tuple[int, int, int, int]
    src: str = ""
    body_cost: int = 0

    def __post_init__(self) -> None:
        if self.kind == "call":
            self.digest = D.call_digest(self.callee, _domain("CALL"))
        else:
            self.digest = D.syscall_digest(self.callee, _domain("SYSCALL"))
        self.cost = self.body_cost + 2


@dataclass
class Dyn(Node):
    kind: str  # "dyn" or "dyncall"
    src: str = ""

    def __post_init__(self) -> None:
        if self.kind == "dyn":
            self.digest = D.dyn_digest(_domain("DYN"))
        else:
            self.digest = D.dyncall_digest(_domain("DYNCALL"))
        self.cost = 2


@dataclass
class Program:
    entry: Node
    procedures: dict[tuple[int, int, int, int], Node]  # digest -> body (every procedure, program and kernel)
    names: dict[tuple[int, int, int, int], str]
    kernel: dict[str, tuple[int, int, int, int]]  # exported kernel procedures
    begin: str = ""  # file:line:col of the program's 'begin'

    @property
    def digest(self) -> tuple[int, int, int, int]:
        return self.entry.digest


# ------------------------------------------------------------------------------------------ parsing
MAX_NESTING = 100  # if/while/repeat blocks inside each other (the parser and assembler recurse on them)
MAX_CYCLES = 1 << 20  # the default cycle cap: `air run --max-cycles`


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
    line: int = 0
    col: int = 0


@dataclass
class Module:
    path: str
    procs: dict[str, ProcDef]
    main: list[Instr] | None
    main_at: tuple[int, int] = (1, 1)  # line and column of 'begin'


_TOKEN = re.compile(r"\S+")
_NUMBER = re.compile(r"(?:[0-9]+|0x[0-9a-fA-F]+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _is_opener(tok: str) -> bool:
    return tok in ("if.true", "while.true") or tok.startswith("repeat.")


def parse(text: str, path: str = "<input>") -> Module:
    """Tokens to a module; blocks nest at most ``MAX_NESTING`` deep (an explicit stack, no recursion)."""
    toks: list[tuple[str, int, int]] = []
    for ln, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        for m in _TOKEN.finditer(line):
            toks.append((m.group(), ln, m.start() + 1))

    def err(msg: str, t: tuple[str, int, int]) -> MasmError:
        return MasmError(f"{path}:{t[1]}:{t[2]}: {msg}")

    def block(pos: int, opener: tuple[str, int, int]) -> tuple[list[Instr], int]:
        """The body of ``opener`` (begin/proc/export) up to its 'end'; returns it and the next position."""
        root: list[Instr] = []
        # open blocks: (opener token, the Instr being filled or None for the root, the list being filled)
        open_: list[tuple[tuple[str, int, int], Instr | None, list[Instr]]] = [(opener, None, root)]
        while pos < len(toks):
            tok, ln, col = t = toks[pos]
            pos += 1
            top_tok, top_ins, out = open_[-1]
            if tok == "end":
                open_.pop()
                if not open_:
                    return root, pos
            elif tok == "else":
                if top_tok[0] != "if.true" or top_ins is None or top_ins.other is not None:
                    raise err("'else' outside an 'if.true' block", t)
                top_ins.other = []
                open_[-1] = (top_tok, top_ins, top_ins.other)
            elif _is_opener(tok):
                if len(open_) > MAX_NESTING:
                    raise err(f"blocks nested more than {MAX_NESTING} deep (the limit)", t)
                ins = Instr(tok, ln, col, [], None)
                out.append(ins)
                open_.append((t, ins, ins.body))  # type: ignore[arg-type]
            elif tok in ("begin", "proc", "export") or tok.startswith(("proc.", "export.")):
                raise err(f"unexpected {tok!r} inside a block (missing 'end'?)", t)
            else:
                out.append(Instr(tok, ln, col))
        t = open_[-1][0]
        wanted = "'else' or 'end'" if t[0] == "if.true" and open_[-1][1].other is None else "'end'"  # type: ignore[union-attr]
        raise err(f"{t[0]!r} is never closed: missing {wanted} before the end of file", t)

    procs: dict[str, ProcDef] = {}
    main: list[Instr] | None = None
    main_at = (1, 1)
    pos = 0
    while pos < len(toks):
        tok, ln, col = t = toks[pos]
        pos += 1
        if tok == "begin":
            if main is not None:
                raise err("a second 'begin' block", t)
            main, pos = block(pos, t)
            main_at = (ln, col)
        elif tok.startswith(("proc.", "export.")):
            parts = tok.split(".")
            if len(parts) not in (2, 3) or not _NAME.fullmatch(parts[1]):
                raise err(f"bad procedure header {tok!r} (expected proc.NAME or proc.NAME.LOCALS)", t)
            n_locals = immediate("locals", parts[2], f"{path}:{ln}:{col}", tok) if len(parts) == 3 else 0
            if parts[1] in procs:
                raise err(f"procedure {parts[1]!r} defined twice", t)
            b, pos = block(pos, t)
            procs[parts[1]] = ProcDef(parts[1], n_locals, parts[0] == "export", b, ln, col)
        else:
            raise err(f"unexpected {tok!r} at top level (expected begin, proc.NAME or export.NAME)", t)
    return Module(path, procs, main, main_at)


# ------------------------------------------------------------------------------------------ immediates
# kind -> (smallest, largest, what): Miden's parser types (grammar.lalrpop: Felt, U32, U16, repeat's NonZeroU32)
IMMEDIATE_KINDS: dict[str, tuple[int, int, str]] = {
    "felt": (0, P - 1, "a field element (0..p-1)"),
    "u32": (0, 2**32 - 1, "a u32 address (0..4294967295)"),
    "u16": (0, 2**16 - 1, "a u16 local index (0..65535)"),
    "locals": (0, 2**16 - 1, "a u16 count of locals (0..65535)"),
    "repeat": (1, 2**32 - 1, "a repeat count (1..4294967295)"),
    "dup": (0, 15, "a stack index (0..15)"),
    "movup": (2, 15, "a stack index (2..15)"),
    "movdn": (2, 15, "a stack index (2..15)"),
    "swap": (1, 15, "a stack index (1..15)"),
    "dupw": (0, 3, "a word index (0..3)"),
    "swapw": (1, 3, "a word index (1..3)"),
    "movupw": (2, 3, "a word index (2..3)"),
    "adv_push": (1, 16, "a count of advice values (1..16)"),
    "bits": (0, 64, "a bit length (0..64)"),
    "u32v": (0, 2**32 - 1, "a u32 value (0..4294967295)"),
}

# instruction head -> (fewest immediates, most, kind); "name" is a procedure name, not a number
IMMEDIATES: dict[str, tuple[int, int, str]] = {
    **{name: (0, 0, "") for name in ("drop", "pad", "assert", "assert_eq")},
    **{name: (0, 0, "") for name in ("caller", "dynexec", "dyncall")},
    **{name: (0, 0, "") for name in ("hperm", "hmerge", "hash", "mtree_verify", "mtree_get", "mtree_set")},
    "push": (1, 16, "felt"),
    **{name: (0, 1, "u32") for name in ("mem_load", "mem_store", "mem_loadw", "mem_storew")},
    **{name: (0, 1, "u32") for name in ("mem_loadw_be", "mem_loadw_le", "mem_storew_be", "mem_storew_le")},
    **{name: (1, 1, "u16") for name in ("loc_load", "loc_store", "loc_loadw", "loc_storew", "locaddr")},
    **{name: (1, 1, "name") for name in ("exec", "call", "syscall", "procref")},
    "repeat": (1, 1, "repeat"),
}
# the field, comparison, stack-manipulation and input instructions of ``STACK_INSTRUCTIONS`` (below)
IMMEDIATES |= {name: (0, 1, "felt") for name in ("add", "sub", "mul", "div", "eq", "neq")}
IMMEDIATES |= {name: (0, 1, name) for name in ("dup", "swap", "dupw", "swapw")}
IMMEDIATES |= {"movup": (1, 1, "movup"), "movdn": (1, 1, "movdn"), "movupw": (1, 1, "movupw")}
IMMEDIATES |= {"movdnw": (1, 1, "movupw"), "adv_push": (1, 1, "adv_push"), "exp": (0, 1, "exp")}
_NO_IMMEDIATE = ("neg", "inv", "incr", "pow2", "not", "and", "or", "xor", "eqw", "assertz", "assert_eqw", "ext2add")
_NO_IMMEDIATE += ("ext2sub", "ext2mul", "ext2neg", "dropw", "padw", "swapdw", "reversew", "reversedw", "cswap")
_NO_IMMEDIATE += ("cswapw", "cdrop", "cdropw", "adv_loadw", "sdepth", "clk", "nop", "ext2inv", "ext2div")
_NO_IMMEDIATE += ("adv_pipe", "mem_stream", "horner_eval_base", "horner_eval_ext", "log_precompile")
IMMEDIATES |= {name: (0, 0, "") for name in _NO_IMMEDIATE}


# u32 and comparison instructions (U32, below): their immediate forms
IMMEDIATES |= {name: (0, 0, "") for name in ("u32split", "u32assert", "u32assert2", "u32assertw", "u32test")}
IMMEDIATES |= {name: (0, 0, "") for name in ("u32testw", "u32cast", "u32overflowing_add3", "u32wrapping_add3")}
IMMEDIATES |= {name: (0, 0, "") for name in ("u32overflowing_madd", "u32wrapping_madd")}
IMMEDIATES |= {name: (0, 1, "u32v") for name in ("u32overflowing_add", "u32wrapping_add", "u32overflowing_sub")}
IMMEDIATES |= {name: (0, 1, "u32v") for name in ("u32wrapping_sub", "u32overflowing_mul", "u32wrapping_mul")}
IMMEDIATES |= {name: (0, 1, "u32v") for name in ("u32div", "u32mod", "u32divmod", "u32and", "u32or", "u32xor")}
IMMEDIATES |= {name: (0, 1, "u32v") for name in ("u32not", "u32lt", "u32lte", "u32gt", "u32gte", "u32min")}
IMMEDIATES |= {name: (0, 1, "u32v") for name in ("u32max",)}
IMMEDIATES |= {name: (0, 1, "felt") for name in ("lt", "lte", "gt", "gte")}


def immediate(kind: str, text: str, where: str, instr: str) -> int:
    """One immediate of ``kind``, checked against Miden's range for it; else a MasmError at ``where``."""
    lo, hi, what = IMMEDIATE_KINDS[kind]
    if not _NUMBER.fullmatch(text):
        raise MasmError(f"{where}: {instr}: {text!r} is not a number ({what})")
    v = int(text, 16) if text.startswith("0x") and len(text) <= 20 else int(text) if len(text) <= 24 else -1
    if not lo <= v <= hi:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise MasmError(f"{where}: {instr}: {shown} is out of range: expected {what}")
    return v


def split_instr(text: str, where: str) -> tuple[str, list[str]]:
    """``head.imm1.imm2`` -> (head, [imm1, imm2]), the count checked against ``IMMEDIATES``."""
    if text in ("if.true", "while.true"):
        return text, []
    head, *imms = text.split(".")
    if head not in IMMEDIATES:
        raise MasmError(f"{where}: unknown instruction {text!r}")
    fewest, most, kind = IMMEDIATES[head]
    if not fewest <= len(imms) <= most:
        if most == 0:
            raise MasmError(f"{where}: {text}: {head} takes no immediate")
        n = f"{fewest}" if fewest == most else f"{fewest} to {most}"
        raise MasmError(f"{where}: {text}: {head} takes {n} immediate(s), not {len(imms)}")
    if kind == "name" and not _NAME.fullmatch(imms[0]):
        raise MasmError(f"{where}: {text}: {imms[0]!r} is not a procedure name")
    return head, imms


# ------------------------------------------------------------------------------------------ assembling
def _push(v: int, src: str) -> list[Op]:
    """``push.v`` as Miden's assembler emits it (push_felt): 0 -> PAD, 1 -> PAD INCR, else PUSH."""
    if v == 0:
        return [Op("PAD", src=src)]
    if v == 1:
        return [Op("PAD", src=src), Op("INCR", src=src)]
    return [Op("PUSH", v, src)]


SIMPLE = {
    "drop": ["DROP"],
    "pad": ["PAD"],
    "assert": ["ASSERT"],
    "assert_eq": ["EQ", "ASSERT"],
    "caller": ["CALLER"],
    # crates/assembly/src/instruction/crypto_ops.rs at v0.18.0: hperm is HPERM; hmerge and hash arrange the
    # capacity and rate around one HPERM and drop all but the digest (``hash`` also pushes 4, below)
    "hperm": ["HPERM"],
    "mtree_verify": ["MPVERIFY"],  # MpVerify(0): its error code is no immediate of the op batch
    "hmerge": ["PAD"] * 4 + ["SWAPW2", "SWAPW", "HPERM"] + ["DROP"] * 4 + ["SWAPW"] + ["DROP"] * 4,
}
# u32 and comparison instructions -> their operations, as the v0.18.0 assembler emits them
# (crates/assembly/src/instruction/mod.rs dispatch, u32_ops.rs, field_ops.rs lt/lte/gt/gte; u32_ops.rs and
# field_ops.rs are unchanged at v0.19.0, push_felt became push_value_ops with the same rule). "PUSH:v" is a push
# of v (PAD / PAD INCR / PUSH, as push_felt); an immediate form pushes its value first (U32_IMM).
_FIELD_SPLIT = ["U32SPLIT", "MOVUP2", "U32SPLIT"]  # field_ops.rs split_elements
_LT_HI = ["MOVUP2", "U32SUB", "SWAP", "EQZ", "MOVUP2", "MOVUP3"]  # check_lt_high_bits (check_lt_and_eq)
_GT_HI = ["SWAP", "MOVDN2", "U32SUB", "SWAP", "EQZ", "MOVUP3", "MOVUP3"]  # check_gt_high_bits
_CHECK_LT = ["U32SUB", "SWAP", "DROP"]  # check_lt, and u32_ops.rs compute_lt
_CHECK_LTE = ["U32SUB", "SWAP", "EQZ", "OR"]  # check_lte
_TEST = ["U32SPLIT", "SWAP", "DROP", "EQZ"]
_MAXMIN = ["DUP1", "DUP1", "U32SUB", "SWAP", "DROP", "EQZ", "CSWAP"]  # compute_max_and_min
U32: dict[str, list[str]] = {
    "u32split": ["U32SPLIT"],
    "u32assert": ["PAD", "U32ASSERT2", "DROP"],
    "u32assert2": ["U32ASSERT2"],
    "u32assertw": ["U32ASSERT2", "MOVUP3", "MOVUP3", "U32ASSERT2", "MOVUP3", "MOVUP3"],
    "u32test": ["DUP0", *_TEST],
    "u32testw": ["DUP3", *_TEST, "DUP3", *_TEST, "AND", "DUP2", *_TEST, "AND", "DUP1", *_TEST, "AND"],
    "u32cast": ["U32SPLIT", "DROP"],
    "u32overflowing_add": ["U32ADD"],
    "u32wrapping_add": ["U32ADD", "DROP"],
    "u32overflowing_add3": ["U32ADD3"],
    "u32wrapping_add3": ["U32ADD3", "DROP"],
    "u32overflowing_sub": ["U32SUB"],
    "u32wrapping_sub": ["U32SUB", "DROP"],
    "u32overflowing_mul": ["U32MUL"],
    "u32wrapping_mul": ["U32MUL", "DROP"],
    "u32overflowing_madd": ["U32MADD"],
    "u32wrapping_madd": ["U32MADD", "DROP"],
    "u32div": ["U32DIV", "DROP"],
    "u32mod": ["U32DIV", "SWAP", "DROP"],
    "u32divmod": ["U32DIV"],
    "u32and": ["U32AND"],
    "u32or": ["DUP1", "DUP1", "U32AND", "NEG", "ADD", "ADD"],
    "u32xor": ["U32XOR"],
    "u32not": [f"PUSH:{2**32 - 1}", "U32ASSERT2", "SWAP", "U32SUB", "DROP"],
    "u32lt": _CHECK_LT,
    "u32lte": ["SWAP", *_CHECK_LT, "NOT"],
    "u32gt": ["SWAP", *_CHECK_LT],
    "u32gte": [*_CHECK_LT, "NOT"],
    "u32min": [*_MAXMIN, "DROP"],
    "u32max": [*_MAXMIN, "SWAP", "DROP"],
    "lt": [*_FIELD_SPLIT, *_LT_HI, *_CHECK_LT, "AND", "OR"],
    "lte": [*_FIELD_SPLIT, *_LT_HI, *_CHECK_LTE, "AND", "OR"],
    "gt": [*_FIELD_SPLIT, *_GT_HI, *_CHECK_LT, "AND", "OR"],
    "gte": [*_FIELD_SPLIT, *_GT_HI, *_CHECK_LTE, "AND", "OR"],
}
# immediate forms the parser folds (grammar.lalrpop): head -> {immediate: what it becomes}; "0div" = refused
U32_FOLD: dict[str, dict[int, list[str]]] = {
    "u32wrapping_add": {0: []},
    "u32wrapping_sub": {0: []},
    "u32wrapping_mul": {0: ["DROP", "PAD"], 1: []},
    "u32div": {1: []},
    "u32and": {0: ["DROP", "PAD"]},
    "u32or": {0: []},
    "u32xor": {0: []},
}


def u32_ops(head: str, imm: int | None, src: str) -> list[Op]:
    """The operations of u32/comparison instruction ``head`` (with its immediate, if any) in the v0.18.0
    assembler's order; a zero divisor is refused as the parser does (ParsingError::DivisionByZero)."""
    if imm is not None and head in ("u32div", "u32mod", "u32divmod") and imm == 0:
        raise MasmError(f"{src.split(': ', 1)[0]}: {head}.0: division by zero")
    if imm is not None and imm in U32_FOLD.get(head, {}):
        return [Op(o, src=src) for o in U32_FOLD[head][imm]]
    out = _push(imm, src) if imm is not None else []
    for o in U32[head]:
        name, _, v = o.partition(":")
        out += _push(int(v), src) if v else [Op(name, src=src)]
    return out



# ------------------------------------------------------------------------------------------ stack instructions
# Field, comparison, stack-manipulation and input instructions -> the operations Miden's v0.18.0 assembler emits
# (crates/assembly/src/instruction/{mod,field_ops,ext2_ops,adv_ops,mem_ops}.rs; the parser's folding of immediates,
# crates/assembly-syntax/src/parser/grammar.lalrpop: add.0/sub.0/mul.1/div.1 are no operation, add.1 is INCR,
# mul.0 is DROP PAD, div.0 is refused). The sequences are Miden's to the operation: they make the MAST digest.
# An entry: the immediate (None when absent) -> operation names, ("PUSH", value) for a PUSH.
Ops = list["str | tuple[str, int] | tuple[str, str]"]
DUPS = {0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15}  # the DUPn operations; dup.8/10/12/14 are PAD DUP(n+1) ADD
REVERSEW: Ops = ["MOVDN3", "SWAP", "MOVUP2"]  # push_reversew: [a, b, c, d] -> [d, c, b, a]
# System events (core/src/sys_events.rs): push_system_event is PUSH(id) EMIT DROP; the id is a small constant at
# v0.18.0 (EVENT_EXT2_INV = 5, EVENT_MERKLE_NODE_TO_STACK = 1) and EventId::from_u64 of the event's name hashed at
# v0.19.0 ("sys::ext2_inv", "sys::merkle_node_to_stack"): ("EVENT", name) in a sequence is the PUSH of the id of
# the design's Miden version (the AIR reads no id, but the block's digest does).
SYSTEM_EVENTS: dict[str, tuple[int, int]] = {
    "ext2_inv": (5, 9660728691489438960),
    "merkle_node_to_stack": (1, 6873007751276594108),
}
EXT2_INV: Ops = [("EVENT", "ext2_inv"), "EMIT", "DROP", "ADVPOP", "ADVPOP"]  # the event, then the inverse
EXT2_CHECK: Ops = ["EXT2MUL", "MOVUP2", "EQZ", "ASSERT", "MOVUP2", "ASSERT"]  # the inverse times the element is 1
EXP_TAIL: Ops = ["DROP", "DROP", "SWAP", "EQZ", "ASSERT"]  # drop bit and base; assert the exponent is used up
# crypto_ops.rs read_mtree_node: push_system_event(MerkleNodeToStack), then the node from the advice stack:
# [d, i, R, ...] -> [V, d, i, R, ...]
MTREE_NODE: Ops = [("EVENT", "merkle_node_to_stack"), "EMIT", "DROP"] + ["ADVPOP"] * 4
# crypto_ops.rs update_mtree (unchanged at v0.19.0): [d, i, R_old, V_new, ...] -> [V_old, R_new, ...]; V_old is
# copied under the words first, two elements at a time (the stack is 14 deep), then MRUPDATE, then the drops
MTREE_SET: Ops = MTREE_NODE + ["MOVUP5", "MOVUP5", "DUP5", "DUP5", "SWAPDW", "SWAPW", "SWAPW2", "DUP13", "DUP13"]
MTREE_SET += ["MRUPDATE", "MOVUP4", "DROP", "MOVUP4", "DROP"] + (["SWAPW"] + ["DROP"] * 4) * 2 + ["SWAPW"]


def _imm_op(op: str, special: dict[int, Ops]) -> Callable[[int | None], Ops]:
    """``op`` alone, or for an immediate v its special sequence or PUSH(v) op (add_imm, mul_imm, eq_imm, ...)."""
    return lambda v: [op] if v is None else special[v] if v in special else [("PUSH", v), op]


def _exp_bits(bits: int) -> Ops:
    """exp / exp.uN (field_ops.rs exp): [e, b] -> [b^e] with ``bits`` EXPACC steps."""
    return ["PAD", "INCR", "MOVUP2", "PAD"] + ["EXPACC"] * bits + EXP_TAIL


def _exp_imm(v: int) -> Ops:
    """exp.n (field_ops.rs exp_imm): DUP0/MUL for n <= 7, else PUSH(n) and exp over n's bit length."""
    if v == 0:
        return ["DROP", "PAD", "INCR"]
    if v <= 7:
        return ["DUP0"] * (v - 1) + ["MUL"] * (v - 1) or ["NOOP"]
    return [("PUSH", v)] + _exp_bits(v.bit_length())


def _dup(n: int | None) -> Ops:
    n = n or 0
    return [f"DUP{n}"] if n in DUPS else ["PAD", f"DUP{n + 1}", "ADD"]


def _swap(n: int | None) -> Ops:
    n = 1 if n is None else n
    if n <= 2:
        return ["SWAP"] if n == 1 else ["SWAP", "MOVUP2"]
    if n <= 8:
        return [f"MOVDN{n - 1}", f"MOVUP{n}"]
    middle: Ops = ["SWAP"] if n == 9 else ["SWAP", "MOVUP2"] if n == 10 else [f"MOVDN{n - 9}", f"MOVUP{n - 8}"]
    return ["MOVDN8", "SWAPDW", *middle, "SWAPDW", "MOVUP8"]


def _movup(n: int | None) -> Ops:
    n = n or 0
    if n <= 8:
        return [f"MOVUP{n}"]
    return ["SWAPDW", "SWAP" if n == 9 else f"MOVUP{n - 8}", "SWAPDW", "MOVUP8"]


def _movdn(n: int | None) -> Ops:
    n = n or 0
    if n <= 8:
        return [f"MOVDN{n}"]
    return ["MOVDN8", "SWAPDW", "SWAP" if n == 9 else f"MOVDN{n - 8}", "SWAPDW"]


STACK_INSTRUCTIONS: dict[str, Callable[[int | None], Ops]] = {
    # field operations and comparisons (field_ops.rs; u32-based lt/lte/gt/gte/is_odd are not here)
    "add": _imm_op("ADD", {0: [], 1: ["INCR"], 2: ["INCR", "INCR"]}),
    "sub": lambda v: ["NEG", "ADD"] if v is None else [] if v == 0 else [("PUSH", -v % P), "ADD"],
    "mul": _imm_op("MUL", {0: ["DROP", "PAD"], 1: []}),
    "div": lambda v: ["INV", "MUL"] if v is None else [] if v == 1 else [("PUSH", pow(v, P - 2, P)), "MUL"],
    "neg": lambda v: ["NEG"],
    "inv": lambda v: ["INV"],
    "incr": lambda v: ["INCR"],
    "pow2": lambda v: [("PUSH", 2), "PAD", "INCR", "SWAP", "PAD"] + ["EXPACC"] * 6 + EXP_TAIL,
    "not": lambda v: ["NOT"],
    "and": lambda v: ["AND"],
    "or": lambda v: ["OR"],
    "xor": lambda v: ["DUP0", "DUP2", "OR", "MOVDN2", "AND", "NOT", "AND"],
    "eq": _imm_op("EQ", {0: ["EQZ"]}),
    "neq": lambda v: ["EQ", "NOT"] if v is None else ["EQZ", "NOT"] if v == 0 else [("PUSH", v), "EQ", "NOT"],
    "eqw": lambda v: ["DUP7", "DUP4", "EQ", "DUP7", "DUP4", "EQ", "AND", "DUP6", "DUP3", "EQ", "AND", "DUP5", "DUP2",
                      "EQ", "AND"],  # fmt: skip
    "assertz": lambda v: ["EQZ", "ASSERT"],
    "assert_eqw": lambda v: ["MOVUP4", "EQ", "ASSERT", "MOVUP3", "EQ", "ASSERT", "MOVUP2", "EQ", "ASSERT", "EQ",
                             "ASSERT"],  # fmt: skip
    "ext2add": lambda v: ["SWAP", "MOVUP3", "ADD", "MOVDN2", "ADD"],
    "ext2sub": lambda v: ["NEG", "SWAP", "NEG", "MOVUP3", "ADD", "MOVDN2", "ADD"],
    "ext2mul": lambda v: ["EXT2MUL", "DROP", "DROP"],
    "ext2neg": lambda v: ["NEG", "SWAP", "NEG", "SWAP"],
    # push_system_event(Ext2Inv): PUSH(id) EMIT DROP; the host answers on the advice stack (basic_block_builder.rs)
    "ext2inv": lambda v: EXT2_INV + EXT2_CHECK,
    "ext2div": lambda v: EXT2_INV + EXT2_CHECK + ["EXT2MUL", "DROP", "DROP"],
    # Merkle trees (crypto_ops.rs mtree_get: [d, i, R, ...] -> [V, R, ...]; mtree_set above)
    "mtree_get": lambda v: MTREE_NODE + ["MPVERIFY", "MOVUP4", "DROP", "MOVUP4", "DROP"],
    "mtree_set": lambda v: MTREE_SET,
    # stack manipulation (instruction/mod.rs)
    "dropw": lambda v: ["DROP"] * 4,
    "padw": lambda v: ["PAD"] * 4,
    "dup": _dup,
    "dupw": lambda v: [f"DUP{3 + 4 * (v or 0)}"] * 4,
    "swap": _swap,
    "swapw": lambda v: ["SWAPW" if v in (None, 1) else f"SWAPW{v}"],
    "swapdw": lambda v: ["SWAPDW"],
    "movup": _movup,
    "movdn": _movdn,
    "movupw": lambda v: ["SWAPW", "SWAPW2"] if v == 2 else ["SWAPW", "SWAPW2", "SWAPW3"],
    "movdnw": lambda v: ["SWAPW2", "SWAPW"] if v == 2 else ["SWAPW3", "SWAPW2", "SWAPW"],
    "reversew": lambda v: REVERSEW,
    "reversedw": lambda v: REVERSEW + ["SWAPW"] + REVERSEW,
    "cswap": lambda v: ["CSWAP"],
    "cswapw": lambda v: ["CSWAPW"],
    "cdrop": lambda v: ["CSWAP", "DROP"],
    "cdropw": lambda v: ["CSWAPW"] + ["DROP"] * 4,
    # inputs (adv_ops.rs, env_ops.rs)
    "adv_push": lambda v: ["ADVPOP"] * (v or 0),
    "adv_loadw": lambda v: ["ADVPOPW"],
    "adv_pipe": lambda v: ["PIPE"],  # instruction/mod.rs: AdvPipe -> Pipe, MemStream -> MStream
    "mem_stream": lambda v: ["MSTREAM"],
    "horner_eval_base": lambda v: ["HORNERBASE"],  # instruction/mod.rs: HornerBase, HornerExt
    "horner_eval_ext": lambda v: ["HORNEREXT"],
    "log_precompile": lambda v: ["LOGPRECOMPILE"],  # v0.19.0 instruction/mod.rs (no such instruction at v0.18)
    "sdepth": lambda v: ["SDEPTH"],
    "clk": lambda v: ["CLK"],
    "nop": lambda v: ["NOOP"],
}

# ``hash``: PUSH(4) PAD PAD PAD SWAPW PAD DUP7 DUP7 DUP7 HPERM DROP*4 SWAPW DROP*4 (capacity[0] = 4 elements)
HASH_AFTER_PUSH = ["PAD"] * 3 + ["SWAPW", "PAD", "DUP7", "DUP7", "DUP7", "HPERM"] + ["DROP"] * 4 + ["SWAPW"]
HASH_AFTER_PUSH += ["DROP"] * 4
INVOKE = ("exec", "call", "syscall", "procref")


class Assembler:
    def __init__(self, design: str, program: Module, kernel: Module | None, max_cycles: int = MAX_CYCLES):
        self.memory_fmp = design not in ("miden-v0.18", "miden-v0.18-permissive", "miden-sys-fmp", "miden-gate")
        self.gate = design == "miden-gate"
        self.design = design
        self.events = 1 if self.memory_fmp else 0  # the v0.19 family (fmp in memory) names system events by hash
        self.program = program
        self.kernel = kernel
        self.max_cycles = max_cycles
        self.expanded = 0  # instructions added by repeat expansion so far
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

    # procedures: resolved through the call graph, callees first, without recursion
    def target(self, mod: Module, how: str, name: str, where: str) -> Module:
        """The module defining the procedure ``how.name`` names from ``mod``; refuses what Miden refuses."""
        if how == "syscall":
            if self.kernel is None or name not in self.kernel.procs or not self.kernel.procs[name].exported:
                raise MasmError(f"{where}: syscall.{name}: no exported kernel procedure {name!r}")
            return self.kernel
        if name in mod.procs:
            return mod
        if self.kernel is not None and mod is not self.kernel and name in self.kernel.procs:
            raise MasmError(f"{where}: {how}.{name}: kernel procedures are reachable from user code only by syscall")
        raise MasmError(f"{where}: undefined procedure {name!r}")

    def refs(self, mod: Module, body: list[Instr]) -> list[tuple[Module, str, str]]:
        """Every procedure ``body`` invokes or references: (module, name, where), in source order."""
        out: list[tuple[Module, str, str]] = []
        todo = list(reversed(body))
        while todo:
            ins = todo.pop()
            if ins.body is not None:
                todo += reversed((ins.body or []) + (ins.other or []))
                continue
            where = f"{mod.path}:{ins.line}:{ins.col}"
            head = ins.text.split(".", 1)[0]
            if head in INVOKE:
                _, imms = split_instr(ins.text, where)
                out.append((self.target(mod, head, imms[0], where), imms[0], where))
        return out

    def proc(self, mod: Module, name: str, where: str) -> Node:
        """The body of ``mod``'s procedure ``name``, assembling what it reaches first (depth-first, by an
        explicit stack); a procedure reaching itself is refused."""
        key = (mod.path, name)
        if key in self.bodies:
            return self.bodies[key]
        if name not in mod.procs:
            raise MasmError(f"{where}: undefined procedure {name!r}")
        path: list[tuple[str, str]] = [key]
        stack = [(mod, name, iter(self.refs(mod, mod.procs[name].body)))]
        while stack:
            m, n, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                self._assemble_proc(m, n)
                continue
            tm, tn, w = nxt
            k = (tm.path, tn)
            if k in self.bodies:
                continue
            if k in path:
                cycle = " -> ".join(x[1] for x in path[path.index(k) :]) + f" -> {tn}"
                raise MasmError(f"{w}: recursive procedure {tn!r} ({cycle}): Miden forbids recursion")
            path.append(k)
            stack.append((tm, tn, iter(self.refs(tm, tm.procs[tn].body))))
        return self.bodies[key]

    def _assemble_proc(self, mod: Module, name: str) -> None:
        p = mod.procs[name]
        n = self._frame(p.locals)
        items: list[Op | Node] = []
        if n:
            items += self._fmp_update(n)
        items += self.instrs(mod, p.body, n)
        if n:
            items += self._fmp_update(-n)
        node = self.seq(items)
        self.bodies[(mod.path, name)] = node
        self.procedures[node.digest] = node
        self.names.setdefault(node.digest, name)

    def seq(self, items: list[Op | Node]) -> Node:
        """A sequence as Miden's ``join_nodes`` builds it: adjacent operations and basic blocks merged into one
        basic block, then JOINs of adjacent pairs, level by level (an odd last node is carried up)."""
        parts: list[Node] = []
        ops: list[Op] = []
        for it in items:
            if isinstance(it, Op):
                ops.append(it)
            elif isinstance(it, Block):
                ops += it.ops
            else:
                if ops:
                    parts.append(Block(ops))
                    ops = []
                parts.append(it)
        if ops or not parts:
            parts.append(Block(ops or [Op("NOOP")]))
        while len(parts) > 1:
            carried = parts.pop() if len(parts) % 2 else None
            parts = [Join(parts[i], parts[i + 1]) for i in range(0, len(parts), 2)]
            if carried is not None:
                parts.append(carried)
        return parts[0]

    def instrs(self, mod: Module, body: list[Instr], n_locals: int, depth: int = 0) -> list[Op | Node]:
        """Assemble a block; nested blocks recurse at most ``MAX_NESTING`` deep (the parser's bound)."""
        out: list[Op | Node] = []
        for ins in body:
            where = f"{mod.path}:{ins.line}:{ins.col}"
            t = ins.text
            src = f"{where}: {t}"  # what an execution error names
            head, imms = split_instr(t, where)
            kind = IMMEDIATES[head][2] if head in IMMEDIATES else ""
            vals = [immediate(kind, x, where, t) for x in imms] if kind not in ("", "name", "exp") else []
            if head == "exp":
                out += self._ops(self._exp(imms, where, t), src)
            elif head == "div" and vals == [0]:
                raise MasmError(f"{where}: {t}: division by zero")
            elif head in STACK_INSTRUCTIONS:
                ops = self._ops(STACK_INSTRUCTIONS[head](vals[0] if vals else None), src, self.events)
                missing = [op.name for op in ops if op.name not in _OPCODES[-1]]
                if missing:  # log_precompile under a v0.18 design: its operation is v0.19's
                    raise MasmError(f"{where}: {t}: operation {missing[0]} does not exist in {self.design}")
                out += ops
            elif head in SIMPLE:
                out += [Op(o, src=src) for o in SIMPLE[head]]
            elif head in U32:
                out += u32_ops(head, vals[0] if vals else None, src)
            elif head == "hash":
                out += [Op("PUSH", 4, src)] + [Op(o, src=src) for o in HASH_AFTER_PUSH]
            elif head == "push":
                for v in vals:
                    out += _push(v, src)
            elif head.startswith("mem_"):
                out += self._mem_instr(head, vals[0] if vals else None, src)
            elif head in ("loc_load", "loc_store", "loc_loadw", "loc_storew", "locaddr"):
                i = vals[0]
                if i >= n_locals:
                    raise MasmError(f"{where}: local {i} is out of range (the procedure has {n_locals} locals)")
                out += self._local_addr(i, n_locals)
                if head != "locaddr":
                    out += self._mem(head.replace("loc_", "mem_"), src)
            elif head in INVOKE:
                out += self._invoke(mod, head, imms[0], where)
            elif head in ("dynexec", "dyncall"):
                out.append(Dyn("dyn" if t == "dynexec" else "dyncall", src=where))
            elif head == "if.true":
                a = self.seq(self.instrs(mod, ins.body or [], n_locals, depth + 1))
                b = self.seq(self.instrs(mod, ins.other or [], n_locals, depth + 1))
                out.append(Split(a, b, where))
            elif head == "repeat":
                out += self._repeat(vals[0], self.instrs(mod, ins.body or [], n_locals, depth + 1), src)
            elif head == "while.true":
                out.append(Loop(self.seq(self.instrs(mod, ins.body or [], n_locals, depth + 1)), where))
            else:  # pragma: no cover - split_instr knows every head handled above
                raise MasmError(f"{where}: unknown instruction {t!r}")
        return out

    def _repeat(self, n: int, items: list[Op | Node], src: str) -> list[Op | Node]:
        """``repeat.n``: the body ``n`` times, refused before expanding if that cannot fit the cycle cap."""
        cycles = n * sum(1 if isinstance(it, Op) else it.cost for it in items)
        if cycles > self.max_cycles:
            raise MasmError(
                f"{src}: the expansion takes at least {cycles:,} cycles, more than the cycle cap"
                f" ({self.max_cycles:,}; see --max-cycles)"
            )
        self.expanded += n * len(items)
        if self.expanded > self.max_cycles:
            raise MasmError(
                f"{src}: repeat expansions add up to {self.expanded:,} instructions, more than the cycle cap"
                f" ({self.max_cycles:,}; see --max-cycles)"
            )
        return items * n

    @staticmethod
    def _ops(ops: Ops, src: str, version: int = 0) -> list[Op]:
        """Operations from names and ("PUSH", v); ("EVENT", name) is the PUSH of the event's id at Miden version
        ``version`` (0: v0.18, 1: v0.19; ``SYSTEM_EVENTS``)."""
        out = []
        for o in ops:
            if isinstance(o, str):
                out.append(Op(o, src=src))
            elif o[0] == "EVENT":
                out.append(Op("PUSH", SYSTEM_EVENTS[o[1]][version], src))  # type: ignore[index]
            else:
                out.append(Op(o[0], o[1], src))
        return out

    @staticmethod
    def _exp(imms: list[str], where: str, t: str) -> Ops:
        """exp (64 bits), exp.uN (N bits; the parser's BitSize), exp.n (a field element)."""
        if not imms:
            return _exp_bits(64)
        if imms[0].startswith("u"):
            return _exp_bits(immediate("bits", imms[0][1:], where, t))
        return _exp_imm(immediate("felt", imms[0], where, t))

    def _mem_instr(self, head: str, addr: int | None, src: str) -> list[Op]:
        """mem_load/store[w][_be|_le][.a] (instruction/mod.rs, mem_ops.rs): an immediate address is pushed as
        ``push_u32_value`` does (0 -> PAD, 1 -> PAD INCR); _be is the plain word order, _le reverses the word."""
        pushed = [] if addr is None else self._ops(["PAD"] if addr == 0 else ["PAD", "INCR"] if addr == 1
                                                  else [("PUSH", addr)], src)  # fmt: skip
        rev = self._ops(REVERSEW, src)
        base = head.removesuffix("_be").removesuffix("_le")
        ops = pushed + self._mem(base, src)
        if head == "mem_loadw_le":
            return ops + rev
        if head == "mem_storew_le":
            if addr is None:  # the address is on top: move it out of the way while reversing
                return self._ops(["MOVDN4"], src) + rev + self._ops(["MOVUP4"], src) + self._mem(base, src) + rev
            return rev + ops + rev
        return ops

    def _mem(self, head: str, src: str) -> list[Op]:
        return {
            "mem_load": [Op("MLOAD", src=src)],
            "mem_store": [Op("MSTORE", src=src), Op("DROP", src=src)],
            "mem_loadw": [Op("MLOADW", src=src)],
            "mem_storew": [Op("MSTOREW", src=src)],
        }[head]

    def _invoke(self, mod: Module, how: str, name: str, where: str) -> list[Op | Node]:
        target_mod = self.target(mod, how, name, where)
        node = self.proc(target_mod, name, where)
        if how == "syscall":
            return [Call("syscall", name, node.digest, where, node.cost)]
        if how == "exec":
            return [node]
        if how == "call":
            return [Call("call", name, node.digest, where, node.cost)]
        # procref: push the digest so that mem_storew stores it as [h0, h1, h2, h3]
        return [Op("PUSH", node.digest[i], f"{where}: procref.{name}") for i in range(4)]


def assemble(source: str | Path, kernel: str | Path | None, design: str, max_cycles: int = MAX_CYCLES) -> Program:
    """Parse and assemble ``source`` (and its kernel) for ``design``'s rules for locals; repeat expansions
    must fit ``max_cycles``."""
    src = Path(source)
    try:
        text = src.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise MasmError(f"{src}:1:1: cannot read: {e}") from e
    prog = parse(text, str(src))
    kmod = None
    if kernel is not None:
        kp = Path(kernel)
        try:
            kmod = parse(kp.read_text(), str(kp))
        except (OSError, UnicodeDecodeError) as e:
            raise MasmError(f"{kp}:1:1: cannot read: {e}") from e
        if kmod.main is not None:
            line, col = kmod.main_at
            raise MasmError(f"{kp}:{line}:{col}: a kernel module has no 'begin' block")
    if prog.main is None:
        raise MasmError(f"{src}:1:1: no 'begin ... end' block")
    spec = {d.name: d for d in DESIGN_LIST}.get("miden-v0.18" if design == "miden-v0.18-permissive" else design)
    _OPCODES.append(spec.opcodes if spec is not None else OPCODES_V19)
    try:
        return _assemble(src, prog, kmod, design, max_cycles)
    finally:
        _OPCODES.pop()


def _assemble(src: Path, prog: Module, kmod: Module | None, design: str, max_cycles: int) -> Program:
    asm = Assembler(design, prog, kmod, max_cycles)
    items: list[Op | Node] = []
    if asm.memory_fmp:
        items += [Op("PUSH", L.FMP_INIT), Op("PUSH", L.FMP_ADDR), Op("MSTORE"), Op("DROP")]
    if asm.gate:  # the root context's fmp at mem[4] (module docstring: our choice)
        items += [Op("PUSH", L.FMP_MIN), Op("FMPUPDATE")]
    items += asm.instrs(prog, prog.main, 0)
    entry = asm.seq(items)
    kernel_procs: dict[str, tuple[int, int, int, int]] = {}
    if kmod is not None:
        for name, p in kmod.procs.items():
            if p.exported:
                kernel_procs[name] = asm.proc(kmod, name, f"{kmod.path}:{p.line}:{p.col}").digest
    # every program procedure is known by digest (for dynexec/dyncall), even if only referenced
    for name, p in prog.procs.items():
        asm.proc(prog, name, f"{src}:{p.line}:{p.col}")
    begin = f"{src}:{prog.main_at[0]}:{prog.main_at[1]}"
    return Program(entry, asm.procedures, asm.names, kernel_procs, begin)
