"""A Miden design is data: which columns exist and which rules hold, and the named designs built from it.

| name                      | what changes (relative to the row above or to v0.18)                          |
|---------------------------|-------------------------------------------------------------------------------|
| miden-v0.18               | v0.18.0: fmp, in_syscall, fn_hash columns; no CALL/DYNCALL inside a syscall    |
| miden-sys-fmp             | + sys_fmp column; in_syscall -> in_kernel; FMPUPDATE/FMPADD pick by in_kernel  |
| miden-gate                | fn_hash at mem[0..3], fmp at mem[4]; a gate column; fmp/in_syscall/fn_hash gone |
| miden-v0.19               | fmp at FMP_ADDR in memory, written by CALL/DYNCALL; FMPADD/FMPUPDATE removed    |
| miden-fnhash-mem          | v0.19 + fn_hash written to memory by CALL/DYNCALL, read by CALLER               |
| miden-fnhash-mem-slot     | ... with DYNCALL moved to a degree-4 flag slot (RESPAN moved out to slot 94)    |
| miden-fnhash-mem-column   | ... with a degree-reduction column holding f_dyncall                            |

Sources: the v0.18.0/v0.19.0 design docs (docs/src/design/...), the processor at those tags, and the
seed discussion (seed-discussion.txt). Each constraint family reads only the fields it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from air.miden.opcodes import OPCODES_V18, OPCODES_V19, flag_class, free_slots

__all__ = [
    "Design",
    "NewOperation",
    "DESIGN_LIST",
    "V18",
    "SYS_FMP",
    "GATE",
    "V19",
    "FNHASH_MEM",
    "FNHASH_MEM_SLOT",
    "FNHASH_MEM_COLUMN",
]


@dataclass(frozen=True)
class Design:
    """What distinguishes one Miden AIR from another.

    ``version`` names the docs whose stated degrees apply (``claims.CLAIMS``); ``claims`` are degrees
    the design's own source states (the seed discussion), ``undocumented`` the items whose polynomial
    the design changes so that the docs' statement no longer applies to them.
    """

    name: str
    description: str
    version: str = "v0.18"  # whose docs the claimed degrees come from: "v0.18" or "v0.19"
    opcodes: dict[str, int] = field(default_factory=lambda: dict(OPCODES_V18))
    fmp_column: bool = True
    in_syscall: str | None = "in_syscall"  # "in_syscall", "in_kernel" or None
    sys_fmp: bool = False
    fn_hash_columns: bool = True
    gate: bool = False
    fmp_in_memory: bool = False  # CALL/DYNCALL write FMP_INIT to FMP_ADDR of the new context (v0.19)
    fnhash_in_memory: bool = False  # CALL/DYNCALL write fn_hash to FN_HASH_ADDR; CALLER reads it
    dyncall_column: bool = False  # a degree-reduction column holding f_dyncall
    claims: dict[str, int] = field(default_factory=dict)  # item -> degree stated by the design's source
    undocumented: tuple[str, ...] = ()  # items the design changes: the docs' degree does not apply
    notes: tuple[str, ...] = ()
    extra_operations: tuple[NewOperation, ...] = ()  # instructions a derived design adds (``with_operation``)

    def variant(self, **kw: object) -> Design:
        return replace(self, **kw)  # type: ignore[arg-type]

    def with_operation(
        self,
        op: str,
        opcode: int,
        *,
        effect: Sequence[tuple[Any, ...]],
        define: Callable[[Any, Any], None] | None = None,
        name: str | None = None,
        description: str | None = None,
        undocumented: Sequence[str] = (),
        doc: str = "",
    ) -> Design:
        """A new design: this one plus the instruction ``op`` in the free opcode slot ``opcode``.

        The slot fixes the flag and its degree (``flags.op_flag``; docs/src/design/stack/op_constraints.md:
        0..63 degree 7, even 64..78 degree 6, 80..95 degree 5, multiples of 4 from 96 degree 4); ``effect``
        is the docs' "effect on the rest of the stack" line as ``(kind, from[, to])`` pairs, kind ``"no"``,
        ``"left"`` or ``"right"`` (e.g. ``(("left", 2),)`` for an ADD-like op, ``(("no", 1),)`` for a NEG-like
        one), read by the general stack constraints (``stack.general``). ``define(b, flag)`` writes the
        instruction's own constraints and bus terms on the ``MidenBuilder`` ``b`` (``b.constrain(...,
        flag=flag, body=..., operation=op)``, ``b.request("chiplets", ...)``); it runs after every built-in
        family, in the family ``user.<op>``. ``undocumented`` names items (``"bus:chiplets"``) whose documented
        degree no longer applies. The new design is called ``name`` (default ``"<this name>+<op>"``).
        """
        if op in self.opcodes:
            raise ValueError(f"{self.name}: operation {op!r} exists already (opcode {self.opcodes[op]})")
        cls = flag_class(opcode) if isinstance(opcode, int) and 0 <= opcode < 128 else None
        if cls is None or opcode not in free_slots(self.opcodes)[cls]:
            taken = next((k for k, v in self.opcodes.items() if v == opcode), None)
            why = f"taken by {taken}" if taken else "not an opcode of any flag class"
            free = "; ".join(f"{k}: {v}" for k, v in free_slots(self.opcodes).items())
            raise ValueError(f"{self.name}: opcode {opcode!r} is not a free slot ({why}); free slots {free}")
        shifts = _effect(op, effect)
        _check_shift_class(self.name, op, opcode, shifts)
        new = NewOperation(op, opcode, shifts, define, doc)
        return self.variant(
            name=name or f"{self.name}+{op}",
            description=description or f"{self.name} + {op} (opcode {opcode}, {cls} flag)",
            opcodes={**self.opcodes, op: opcode},
            extra_operations=(*self.extra_operations, new),
            undocumented=(*self.undocumented, *undocumented),
        )


Shift = tuple[str, tuple[int, ...]]


@dataclass(frozen=True)
class NewOperation:
    """An instruction a derived design adds (``Design.with_operation``): its slot, stack effect, definition."""

    name: str
    opcode: int
    effect: tuple[Shift, ...]  # ("no" | "left" | "right", positions i of N_i / L_i / R_i), as stack.general
    define: Callable[[Any, Any], None] | None = None
    doc: str = ""


def _check_shift_class(design: str, op: str, opcode: int, shifts: tuple[Shift, ...]) -> None:
    """The slot decides whether the stack depth moves (stack/op_constraints.md, "shift left/right flag"):
    ``f_shl`` takes opcodes 32..47 (prefix 010), ``f_shr`` 48..63 (prefix 011), and every other shifting
    operation by name (U32ADD3, PUSH, ...), which a new instruction is not. So a whole-stack left shift (s15'
    from the overflow table) needs a slot in 32..47, a right shift (s15 into the table) one in 48..63, and
    those slots need that shift: otherwise the depth and overflow rules would contradict stack.general."""
    left = any(k == "left" and (15 in pos or not pos) for k, pos in shifts)  # ("left", 16): FRIE2F4's form
    right = any(k == "right" and 14 in pos for k, pos in shifts)
    want = "left" if 32 <= opcode < 48 else "right" if 48 <= opcode < 64 else None
    have = "left" if left and not right else "right" if right and not left else None if not (left or right) else "both"
    if have != want:
        need = {
            "left": "a left shift reaching s15 (e.g. (('left', 1),))",
            "right": "a right shift reaching s14 (e.g. (('right', 0),))",
            None: "no shift of the whole stack (slots 32..47 shift left, 48..63 shift right)",
        }[want]
        raise ValueError(f"{design}: {op} in slot {opcode} needs {need} (stack/op_constraints.md)")


def _effect(op: str, effect: Sequence[tuple[Any, ...]]) -> tuple[Shift, ...]:
    """``(kind, from[, to])`` pairs as the position sets of stack.general: no change keeps s_i (i in from..to-1),
    a left shift moves s_i to s_{i-1} (i >= 1), a right shift s_i to s_{i+1} (i <= 14)."""
    out: list[Shift] = []
    for e in effect:
        if not isinstance(e, (tuple, list)) or len(e) not in (2, 3) or e[0] not in ("no", "left", "right"):
            raise ValueError(f'{op}: stack effect {e!r} is not ("no"|"left"|"right", from[, to])')
        kind, start = e[0], int(e[1])
        stop = int(e[2]) if len(e) == 3 else (15 if kind == "right" else 16)
        lo = max(start, 1) if kind == "left" else start
        if not (0 <= lo <= stop <= 16):
            raise ValueError(f"{op}: stack effect {e!r}: positions must lie in 0..16")
        out.append((kind, tuple(range(lo, stop))))
    return tuple(out)


V18 = Design(
    "miden-v0.18",
    "Miden VM v0.18.0: fmp/in_syscall/fn_hash columns, 73 columns (contexts, memory, chiplets bus)",
)
SYS_FMP = V18.variant(
    name="miden-sys-fmp",
    description="Seed design: sys_fmp column, in_syscall -> in_kernel; FMPUPDATE/FMPADD pick fmp by in_kernel",
    in_syscall="in_kernel",
    sys_fmp=True,
    claims={"fmpupdate": 9, "fmpadd": 9},  # seed discussion (sys_fmp proposal): degree 9
)
GATE = V18.variant(
    name="miden-gate",
    description="Seed design: fn_hash at mem[0..3], fmp at mem[4], a gate column keeps memory ops off them",
    fmp_column=False,
    in_syscall=None,
    fn_hash_columns=False,
    gate=True,
    claims={"gate": 9},  # seed discussion (gate column): degree 9
    notes=(
        "The gate constraint needs the address's high bits: addr_high = (s0 - h2)/2^N with the decoder's "
        "user-op helper h2 holding the low N bits, which the range checker would have to check (not modeled).",
        "FMPUPDATE on a memory-resident fmp needs a read and a write request: its bus term has two memory "
        "factors (flag 7 + 2 = 9, so the bus constraint reaches 10).",
    ),
)
V19 = V18.variant(
    name="miden-v0.19",
    description="Miden VM v0.19.0 as shipped: fmp in memory at FMP_ADDR, written by CALL/DYNCALL; 71 columns",
    version="v0.19",
    opcodes=dict(OPCODES_V19),
    fmp_column=False,
    in_syscall=None,
    fmp_in_memory=True,
    notes=(
        "FMP_ADDR = 2^32 - 2 as in core/src/lib.rs; the v0.19 docs say 2^32 - 1.",
        "The v0.19 docs still write u_dynordyncall in the b_chip equation; the terms are u_call, u_dyn, u_dyncall.",
    ),
)
FNHASH_MEM = V19.variant(
    name="miden-fnhash-mem",
    description="v0.19 + fn_hash in memory, written by CALL/DYNCALL (DYNCALL's bus term: 4 factors)",
    fn_hash_columns=False,
    fnhash_in_memory=True,
    # CALL/DYNCALL gain a memory write: the v0.19 docs' degrees for these terms and for b_chip no longer apply.
    undocumented=("bus:chiplets", "bus:chiplets/u_call", "bus:chiplets/u_dyncall"),
)
_SLOT_OPCODES = dict(OPCODES_V19)
_SLOT_OPCODES["RESPAN"] = 94  # a free degree-5 slot at v0.18/v0.19 (90, 94, 95 are free)
_SLOT_OPCODES["DYNCALL"] = 120  # RESPAN's degree-4 slot
FNHASH_MEM_SLOT = FNHASH_MEM.variant(
    name="miden-fnhash-mem-slot",
    description="fnhash-mem with DYNCALL moved to a degree-4 flag slot (RESPAN moves to free slot 94)",
    opcodes=_SLOT_OPCODES,
    notes=(
        "The degree-4 class has no free slot (MRUPDATE, HORNERBASE, SYSCALL, CALL, END, REPEAT, RESPAN, HALT). "
        "RESPAN moves to the free degree-5 slot 94 and DYNCALL takes 120: RESPAN's modeled terms rise by 1 "
        "(u_respan 5 -> 6), within budget; the composite flag f_{end,repeat,respan,halt} = e1*b4 of the docs "
        "would have to be rewritten.",
    ),
)
FNHASH_MEM_COLUMN = FNHASH_MEM.variant(
    name="miden-fnhash-mem-column",
    description="fnhash-mem with a degree-reduction column f_dyncall (= the DYNCALL flag)",
    dyncall_column=True,
)

DESIGN_LIST: tuple[Design, ...] = (V18, SYS_FMP, GATE, V19, FNHASH_MEM, FNHASH_MEM_SLOT, FNHASH_MEM_COLUMN)
