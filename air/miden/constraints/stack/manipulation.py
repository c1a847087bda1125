"""Stack manipulation operations (docs/src/design/stack/stack_ops.md, v0.18.0 = v0.19.0).

Op-specific constraints, each gated by its operation flag (degree 7); the shift of the rest of the
stack is in ``stack.general``:

* PAD: ``s0' = 0``; DUPn: ``s0' - s_n = 0`` for n in {0..7, 9, 11, 13, 15}; DROP: none (a pure left shift);
* SWAP: ``s0' - s1 = 0``, ``s1' - s0 = 0``;
* SWAPW / SWAPW2 / SWAPW3: ``s_i' - s_{i+k} = 0``, ``s_{i+k}' - s_i = 0`` for i in 0..3, k = 4, 8, 12;
  SWAPDW: the same for i in 0..7, k = 8;
* MOVUPn: ``s0' - s_n = 0``; MOVDNn: ``s_n' - s0 = 0`` for n in 2..8;
* CSWAP: ``s0' - s0 s2 - (1 - s0) s1 = 0``, ``s1' - s0 s1 - (1 - s0) s2 = 0``, ``s0^2 - s0 = 0``;
* CSWAPW: ``s_i' - s0 s_{i+5} - (1 - s0) s_{i+1} = 0``, ``s_{i+4}' - s0 s_{i+1} - (1 - s0) s_{i+5} = 0`` for i in
  0..3, ``s0^2 - s0 = 0``.

Degrees: the docs' 1 (linear) or 2 (CSWAP, CSWAPW), plus the flag's 7. The Rust puts the binary checks of
CSWAP/CSWAPW into one ``top_binary`` constraint shared with NOT, AND, OR, EXPACC; we write them per
operation as the docs do (same degree, 9).
"""

from __future__ import annotations

from air.miden.builder import DOC, MidenBuilder, family

PAGE = DOC + "stack/stack_ops.md"


@family("stack.manipulation")
def constrain(b: MidenBuilder) -> None:
    s, f = b.stack.s, b.flags

    def op(name: str, item: str, body, what: str) -> None:  # type: ignore[no-untyped-def]
        if f.has(name):
            b.constrain(item, flag=f.op(name), body=body, operation=name, doc=f"{PAGE} ({name}): {what}")

    op("PAD", "pad", s[0].next, "s0' = 0")
    for n in (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15):
        op(f"DUP{n}", f"dup{n}", s[0].next - s[n], f"s0' - s{n} = 0")
    op("SWAP", "swap_s0", s[0].next - s[1], "s0' - s1 = 0")
    op("SWAP", "swap_s1", s[1].next - s[0], "s1' - s0 = 0")
    for name, k, width in (("SWAPW", 4, 4), ("SWAPW2", 8, 4), ("SWAPW3", 12, 4), ("SWAPDW", 8, 8)):
        for i in range(width):
            op(name, f"{name.lower()}_s{i}", s[i].next - s[i + k], f"s{i}' - s{i + k} = 0")
            op(name, f"{name.lower()}_s{i + k}", s[i + k].next - s[i], f"s{i + k}' - s{i} = 0")
    for n in range(2, 9):
        op(f"MOVUP{n}", f"movup{n}", s[0].next - s[n], f"s0' - s{n} = 0")
        op(f"MOVDN{n}", f"movdn{n}", s[n].next - s[0], f"s{n}' - s0 = 0")
    c = s[0]
    op("CSWAP", "cswap_s0", s[0].next - c * s[2] - (1 - c) * s[1], "s0' - s0 s2 - (1 - s0) s1 = 0")
    op("CSWAP", "cswap_s1", s[1].next - c * s[1] - (1 - c) * s[2], "s1' - s0 s1 - (1 - s0) s2 = 0")
    op("CSWAP", "cswap_binary", c**2 - c, "s0^2 - s0 = 0")
    for i in range(4):
        op(
            "CSWAPW",
            f"cswapw_s{i}",
            s[i].next - c * s[i + 5] - (1 - c) * s[i + 1],
            f"s{i}' - s0 s{i + 5} - (1 - s0) s{i + 1} = 0",
        )
        op(
            "CSWAPW",
            f"cswapw_s{i + 4}",
            s[i + 4].next - c * s[i + 1] - (1 - c) * s[i + 5],
            f"s{i + 4}' - s0 s{i + 1} - (1 - s0) s{i + 5} = 0",
        )
    op("CSWAPW", "cswapw_binary", c**2 - c, "s0^2 - s0 = 0")
