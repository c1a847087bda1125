"""Main-trace layout of the Miden VM and the constants the modeled constraints use.

v0.18.0 (air/src/trace/mod.rs): system 8 | decoder 24 | stack 19 | range 2 | chiplets 20 = 73 columns.

* system: ``clk, fmp, ctx, in_syscall, fn_hash0..3``
* decoder (docs/src/design/decoder/index.md): ``addr`` (block address a), op bits ``b0..b6``
  (b0 least significant), hasher state ``h0..h7``, ``in_span`` (sp), ``group_count`` (gc),
  ``op_index`` (ox), batch flags ``c0..c2``, degree-reduction ``e0, e1``
* stack (docs/src/design/stack/index.md): ``s0..s15``, ``stack_depth`` (b0 in the docs),
  ``stack_overflow_addr`` (b1), ``stack_h0`` (h0 = 1/(b0 - 16)); renamed so that they do not clash
  with the decoder's op bits b0..b6 and hasher state h0.
* range checker: ``range_m`` (multiplicity), ``range_v`` (value)
* chiplets: ``chip0..chip19``. The chiplets share these columns, stacked one after another; the
  selectors s0..s4 are chip0..chip4 as far as each chiplet uses them. Memory chiplet view (v0.18,
  air/src/trace/chiplets/memory.rs): s0 s1 s2 | is_read is_word ctx word idx0 idx1 clk v0..v3 d0 d1
  d_inv f_scw = chip0..chip17. Kernel ROM view (v0.18/v0.19 air/src/trace/chiplets/kernel_rom.rs and
  mod.rs, NUM_KERNEL_ROM_SELECTORS = 5): s0..s4 chip0..chip4, s_first chip5, r0..r3 chip6..chip9.
  Bitwise view (bitwise.rs, offset 2): s0 s1 | op a b a0..a3 b0..b3 z_p z = chip0..chip14. ACE view
  (ace.rs, offset 4): s0..s3 | s_start s_block ctx ptr clk op id0 v00 v01 id1 v10 v11 n_eval/id2 v20
  m1/v21 m0 = chip0..chip19.
  Hasher view (air/src/trace/chiplets/hasher.rs): chip0 = 0, s0..s2 = chip1..chip3, h0..h11 =
  chip4..chip15, node index i = chip16.

v0.19.0 drops ``fmp`` and ``in_syscall`` (PR #2308): 71 columns.

The typed views (``SystemCols``, ``DecoderCols``, ``StackCols``, ``RangeCols``, ``MemoryCols``,
``HasherCols``, ``KromCols``) name each family's cells; ``system_columns``/``decoder_columns`` give a
design's column list. The string dicts ``MEM``, ``HASHER``, ``KROM`` are the one source of the chiplet
views (the executor and ``hasher_trace`` read them too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from air.symbols import Cell

if TYPE_CHECKING:
    from air.miden.design import Design

P = 2**64 - 2**32 + 1

# v0.18 processor/src/system/mod.rs
FMP_MIN = 2**30
SYSCALL_FMP_MIN = 2**31
# v0.19 core/src/lib.rs: FMP_ADDR = u32::MAX - 1. The v0.19 docs (decoder/constraints.md, decoder/index.md)
# say 2^32 - 1; the code writes 2^32 - 2. We follow the code.
FMP_ADDR = 2**32 - 2
FMP_INIT = 2**31
# fn_hash in memory (the discussion: "the last two words of the memory space are reserved"): the word
# below the one holding FMP_ADDR.
FN_HASH_ADDR = 2**32 - 8
# The gate design (seed discussion): fn_hash at 0..3 and fmp at 4 of every context; memory
# instructions may not touch the first 2^GATE_BITS addresses.
GATE_FN_HASH_ADDR = 0
GATE_FMP_ADDR = 4
GATE_BITS = 3

# Chiplets-bus labels at v0.18 (air/src/trace/chiplets/memory.rs, kernel_rom.rs, hasher.rs). The v0.13
# fact sheet's memory labels (24..27) are out of date: v0.18 uses 4, 12, 20, 28.
MEMORY_WRITE_ELEMENT = 4
MEMORY_READ_ELEMENT = 12
MEMORY_WRITE_WORD = 20
MEMORY_READ_WORD = 28
BITWISE_AND = 2  # chiplets/main.md operation labels; air/src/trace/chiplets/bitwise.rs
BITWISE_XOR = 6
ACE_INIT = 8  # air/src/trace/chiplets/ace.rs ACE_INIT_LABEL
KERNEL_PROC_CALL = 16
KERNEL_PROC_INIT = 48
# Hasher operation labels (air/src/trace/chiplets/hasher.rs at v0.18.0 and v0.19.0): 1 + the selectors
# [chiplet s0 | s0, s1, s2] read as bits, reversed: op_label = 1 + 2 s0 + 4 s1 + 8 s2.
HASHER_LINEAR_HASH_LABEL = 3
HASHER_MP_VERIFY_LABEL = 11
HASHER_MR_UPDATE_OLD_LABEL = 7
HASHER_MR_UPDATE_NEW_LABEL = 15
HASHER_RETURN_HASH_LABEL = 1
HASHER_RETURN_STATE_LABEL = 9
# Transition labels on b_chip, as the v0.18/v0.19 processor builds them (processor/src/chiplets/aux_trace/
# bus/hasher.rs): op_label + 16 on the first row of a cycle, op_label + 32 on the last row. The docs
# (chiplets/hasher.md) write m = op_label + 2^4 k0 + 2^5 k2, i.e. the two offsets swapped; the code is what
# the requests and responses agree on, so these follow the code.
HASHER_LINEAR_HASH = HASHER_LINEAR_HASH_LABEL + 16  # 19, m_bp: start a linear hash / 2-to-1 hash / permutation
HASHER_ABSORB = HASHER_LINEAR_HASH_LABEL + 32  # 35, m_abp: absorb the next 8 elements
HASHER_RETURN_HASH = HASHER_RETURN_HASH_LABEL + 32  # 33, m_hout: return the digest h4..h7
HASHER_RETURN_STATE = HASHER_RETURN_STATE_LABEL + 32  # 41: return the whole state (HPERM output)
HASHER_MP_VERIFY = HASHER_MP_VERIFY_LABEL + 16  # 27: start a Merkle path verification
HASHER_MR_UPDATE_OLD = HASHER_MR_UPDATE_OLD_LABEL + 16  # 23: start the old-leaf path of a root update
HASHER_MR_UPDATE_NEW = HASHER_MR_UPDATE_NEW_LABEL + 16  # 31: start the new-leaf path of a root update
HASHER_LINEAR_HASH_INIT = HASHER_LINEAR_HASH  # the decoder's name for it: start a hash (control blocks, SPAN)

SYSTEM_V18 = ["clk", "fmp", "ctx", "in_syscall", "fn_hash0", "fn_hash1", "fn_hash2", "fn_hash3"]
DECODER = (
    ["addr"]
    + [f"b{i}" for i in range(7)]
    + [f"h{i}" for i in range(8)]
    + ["in_span", "group_count", "op_index", "c0", "c1", "c2", "e0", "e1"]
)
STACK = [f"s{i}" for i in range(16)] + ["stack_depth", "stack_overflow_addr", "stack_h0"]
RANGE = ["range_m", "range_v"]
CHIPLETS = [f"chip{i}" for i in range(20)]

# Chiplet views.
MEM = {
    "s0": "chip0",
    "s1": "chip1",
    "s2": "chip2",
    "is_read": "chip3",
    "is_word": "chip4",
    "ctx": "chip5",
    "word": "chip6",
    "idx0": "chip7",
    "idx1": "chip8",
    "clk": "chip9",
    "v0": "chip10",
    "v1": "chip11",
    "v2": "chip12",
    "v3": "chip13",
    "d0": "chip14",
    "d1": "chip15",
    "d_inv": "chip16",
    "f_scw": "chip17",
}
# Hasher chiplet view (air/src/trace/chiplets/mod.rs and hasher.rs at v0.18.0 and v0.19.0, unchanged between
# them): the chiplet selector (hasher rows have chip0 = 0), the hasher's selectors s0..s2, the state h0..h11
# (capacity h0..h3, rate h4..h11, digest h4..h7) and the node index i.
HASHER = {
    "chip_s0": "chip0",
    "s": ["chip1", "chip2", "chip3"],
    "h": [f"chip{i}" for i in range(4, 16)],
    "i": "chip16",
}
# v0.18/v0.19 air/src/trace/chiplets/mod.rs: the kernel ROM trace starts after its five selectors
# (NUM_KERNEL_ROM_SELECTORS = 5), so s_first is chiplet column 5 (main_trace.rs reads CHIPLETS_OFFSET + 5)
# and r0..r3 are columns 6..9. kernel_rom.md:67 ("s4 and s_first correspond to the same column") predates
# the ACE chiplet and is stale.
KROM = {
    "s0": "chip0",
    "s1": "chip1",
    "s2": "chip2",
    "s3": "chip3",
    "s4": "chip4",
    "s_first": "chip5",
    "r0": "chip6",
    "r1": "chip7",
    "r2": "chip8",
    "r3": "chip9",
}

assert len(SYSTEM_V18) + len(DECODER) + len(STACK) + len(RANGE) + len(CHIPLETS) == 73


# ------------------------------------------------------------------------------------ column lists
def system_columns(d: Design) -> list[str]:
    """``clk [fmp] [sys_fmp] ctx [in_syscall | in_kernel] [fn_hash0..3] [gate]`` as the design has them."""
    out = ["clk"]
    if d.fmp_column:
        out.append("fmp")
    if d.sys_fmp:
        out.append("sys_fmp")
    out.append("ctx")
    if d.in_syscall:
        out.append(d.in_syscall)
    if d.fn_hash_columns:
        out += [f"fn_hash{i}" for i in range(4)]
    if d.gate:
        out.append("gate")
    return out


def decoder_columns(d: Design) -> list[str]:
    """``DECODER``, plus the degree-reduction column ``f_dyncall`` when the design has it."""
    return DECODER + (["f_dyncall"] if d.dyncall_column else [])


# ------------------------------------------------------------------------------------ typed views
def _cell(name: str) -> Cell:
    return Cell(name, 0)


def _opt(name: str, names: set[str]) -> Cell | None:
    return _cell(name) if name in names else None


@dataclass(frozen=True)
class SystemCols:
    """System registers; a column the design does not have is None (``fn_hash`` empty)."""

    clk: Cell
    ctx: Cell
    fmp: Cell | None
    sys_fmp: Cell | None
    in_syscall: Cell | None
    in_kernel: Cell | None
    fn_hash: tuple[Cell, ...]
    gate: Cell | None

    @classmethod
    def of(cls, d: Design) -> SystemCols:
        n = set(system_columns(d))
        fn_hash = tuple(_cell(f"fn_hash{i}") for i in range(4)) if d.fn_hash_columns else ()
        return cls(
            _cell("clk"),
            _cell("ctx"),
            _opt("fmp", n),
            _opt("sys_fmp", n),
            _opt("in_syscall", n),
            _opt("in_kernel", n),
            fn_hash,
            _opt("gate", n),
        )


@dataclass(frozen=True)
class DecoderCols:
    """Block address ``addr``, op bits ``b`` (b0 first), hasher state ``h``, span/group/batch columns, e0/e1."""

    addr: Cell
    b: tuple[Cell, ...]
    h: tuple[Cell, ...]
    in_span: Cell
    group_count: Cell
    op_index: Cell
    c: tuple[Cell, ...]
    e0: Cell
    e1: Cell
    f_dyncall: Cell | None

    @classmethod
    def of(cls, d: Design) -> DecoderCols:
        return cls(
            _cell("addr"),
            tuple(_cell(f"b{i}") for i in range(7)),
            tuple(_cell(f"h{i}") for i in range(8)),
            _cell("in_span"),
            _cell("group_count"),
            _cell("op_index"),
            tuple(_cell(f"c{i}") for i in range(3)),
            _cell("e0"),
            _cell("e1"),
            _cell("f_dyncall") if d.dyncall_column else None,
        )

    @property
    def opcode(self) -> sp.Expr:
        """``sum_i 2^i b_i``: the opcode the op bits encode."""
        return sp.Add(*[self.b[i] * 2**i for i in range(7)])


@dataclass(frozen=True)
class StackCols:
    """``s0..s15`` (``s``), the depth b0, the overflow address b1 and h0 = 1/(b0 - 16) (stack/index.md)."""

    s: tuple[Cell, ...]
    depth: Cell
    overflow_addr: Cell
    h0: Cell

    @classmethod
    def of(cls) -> StackCols:
        return cls(
            tuple(_cell(f"s{i}") for i in range(16)),
            _cell("stack_depth"),
            _cell("stack_overflow_addr"),
            _cell("stack_h0"),
        )


@dataclass(frozen=True)
class RangeCols:
    """The range checker's multiplicity and value columns."""

    m: Cell
    v: Cell

    @classmethod
    def of(cls) -> RangeCols:
        return cls(_cell("range_m"), _cell("range_v"))


@dataclass(frozen=True)
class MemoryCols:
    """The memory chiplet's view of the chiplet columns (``MEM``; chiplets/memory.md)."""

    s0: Cell
    s1: Cell
    s2: Cell
    is_read: Cell
    is_word: Cell
    ctx: Cell
    word: Cell
    idx0: Cell
    idx1: Cell
    clk: Cell
    v: tuple[Cell, ...]
    d0: Cell
    d1: Cell
    d_inv: Cell
    f_scw: Cell

    @classmethod
    def of(cls) -> MemoryCols:
        c = {k: _cell(v) for k, v in MEM.items()}
        v = tuple(c.pop(f"v{j}") for j in range(4))
        return cls(v=v, **c)


@dataclass(frozen=True)
class HasherCols:
    """The hasher chiplet's view (``HASHER``; chiplets/hasher.md): chiplet selector, ``s0..s2``, ``h0..h11``, ``i``."""

    chip_s0: Cell
    s: tuple[Cell, ...]
    h: tuple[Cell, ...]
    i: Cell

    @classmethod
    def of(cls) -> HasherCols:
        h = HASHER
        return cls(
            _cell(h["chip_s0"]),
            tuple(_cell(c) for c in h["s"]),
            tuple(_cell(c) for c in h["h"]),
            _cell(h["i"]),
        )


@dataclass(frozen=True)
class KromCols:
    """The kernel ROM's view (``KROM``; chiplets/kernel_rom.md): selectors ``s``, ``s_first``, digest ``r``."""

    s: tuple[Cell, ...]
    s_first: Cell
    r: tuple[Cell, ...]

    @classmethod
    def of(cls) -> KromCols:
        return cls(
            tuple(_cell(KROM[f"s{i}"]) for i in range(5)),
            _cell(KROM["s_first"]),
            tuple(_cell(KROM[f"r{i}"]) for i in range(4)),
        )


# ------------------------------------------------------------------------------------ chiplet views (chip)
# Bitwise chiplet (v0.18 air/src/trace/chiplets/bitwise.rs, BITWISE_TRACE_OFFSET = 2): the operation
# selector, a, b, their 4-bit decompositions, the previous output z_p and the output z.
BITWISE = {
    "s0": "chip0",
    "s1": "chip1",
    "op": "chip2",
    "a": "chip3",
    "b": "chip4",
    "a_bits": ["chip5", "chip6", "chip7", "chip8"],
    "b_bits": ["chip9", "chip10", "chip11", "chip12"],
    "z_p": "chip13",
    "z": "chip14",
}
# ACE chiplet (v0.18 air/src/trace/chiplets/ace.rs, offset NUM_ACE_SELECTORS = 4). Column 12 is n_eval in
# READ rows and id2 in EVAL rows; column 14 is m1 in READ rows and v21 in EVAL rows.
ACE = {
    **{f"s{i}": f"chip{i}" for i in range(4)},
    "s_start": "chip4",
    "s_block": "chip5",
    "ctx": "chip6",
    "ptr": "chip7",
    "clk": "chip8",
    "op": "chip9",
    "id0": "chip10",
    "v00": "chip11",
    "v01": "chip12",
    "id1": "chip13",
    "v10": "chip14",
    "v11": "chip15",
    "n_eval": "chip16",  # = id2
    "v20": "chip17",
    "m1": "chip18",  # = v21
    "m0": "chip19",
}


@dataclass(frozen=True)
class ChipletSelectors:
    """The chiplet selectors s0..s4 (chip0..chip4) and the chiplet flags of chiplets/main.md."""

    s: tuple[Cell, ...]

    @classmethod
    def of(cls) -> ChipletSelectors:
        return cls(tuple(_cell(f"chip{i}") for i in range(5)))

    @property
    def f_hash(self) -> sp.Expr:
        """``1 - s0`` (degree 1)."""
        return 1 - self.s[0]

    @property
    def f_bitwise(self) -> sp.Expr:
        """``s0 (1 - s1)`` (degree 2)."""
        return self.s[0] * (1 - self.s[1])

    @property
    def f_mem(self) -> sp.Expr:
        """``s0 s1 (1 - s2)`` (degree 3)."""
        return self.s[0] * self.s[1] * (1 - self.s[2])

    @property
    def f_ace(self) -> sp.Expr:
        """``s0 s1 s2 (1 - s3)`` (degree 4)."""
        return self.s[0] * self.s[1] * self.s[2] * (1 - self.s[3])

    @property
    def f_krom(self) -> sp.Expr:
        """``s0 s1 s2 s3 (1 - s4)`` (degree 5)."""
        return self.s[0] * self.s[1] * self.s[2] * self.s[3] * (1 - self.s[4])


@dataclass(frozen=True)
class BitwiseCols:
    """The bitwise chiplet's view (``BITWISE``; chiplets/bitwise.md)."""

    op: Cell
    a: Cell
    b: Cell
    a_bits: tuple[Cell, ...]
    b_bits: tuple[Cell, ...]
    z_p: Cell
    z: Cell

    @classmethod
    def of(cls) -> BitwiseCols:
        w = BITWISE
        return cls(
            _cell(w["op"]),
            _cell(w["a"]),
            _cell(w["b"]),
            tuple(_cell(c) for c in w["a_bits"]),
            tuple(_cell(c) for c in w["b_bits"]),
            _cell(w["z_p"]),
            _cell(w["z"]),
        )


@dataclass(frozen=True)
class AceCols:
    """The ACE chiplet's view (``ACE``; chiplets/ace.md). ``n_eval`` is ``id2`` and ``m1`` is ``v21`` in EVAL rows."""

    s_start: Cell
    s_block: Cell
    ctx: Cell
    ptr: Cell
    clk: Cell
    op: Cell
    id0: Cell
    v00: Cell
    v01: Cell
    id1: Cell
    v10: Cell
    v11: Cell
    n_eval: Cell
    v20: Cell
    m1: Cell
    m0: Cell

    @classmethod
    def of(cls) -> AceCols:
        return cls(**{k: _cell(v) for k, v in ACE.items() if not k.startswith("s") or k.startswith("s_")})

    @property
    def id2(self) -> Cell:
        return self.n_eval

    @property
    def v21(self) -> Cell:
        return self.m1
