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
  d_inv f_scw = chip0..chip17. Kernel ROM view: s0..s3, s_first (= s4) chip4, r0..r3 chip5..chip8.

v0.19.0 drops ``fmp`` and ``in_syscall`` (PR #2308): 71 columns.
"""

from __future__ import annotations

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
KERNEL_PROC_CALL = 16
KERNEL_PROC_INIT = 48
HASHER_LINEAR_HASH = 3  # m_bp: 1 + 0b0010 (start of a hash computation)
HASHER_ABSORB = 19  # m_abp: absorb the next 8 elements (LINEAR_HASH + 16)
HASHER_RETURN_HASH = 33  # m_hout: RETURN_HASH (1) + 32

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
# Hasher view, simplified: the model does not constrain the permutation; a hasher row with chip1 = 1
# answers one request with the message held in its columns (the real chiplet derives the label from its
# selectors and periodic columns and the address from the row index; here both are columns).
HASHER = {
    "s0": "chip0",
    "responds": "chip1",
    "state": [f"chip{i}" for i in range(4, 16)],
    "node_index": "chip16",
    "label": "chip17",
    "addr": "chip18",
}
KROM = {
    "s0": "chip0",
    "s1": "chip1",
    "s2": "chip2",
    "s3": "chip3",
    "s_first": "chip4",
    "r0": "chip5",
    "r1": "chip6",
    "r2": "chip7",
    "r3": "chip8",
}

assert len(SYSTEM_V18) + len(DECODER) + len(STACK) + len(RANGE) + len(CHIPLETS) == 73
