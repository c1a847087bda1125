"""``MidenBuilder``: what every Miden constraint family writes into, and how one design's AIR is assembled.

It holds the ``Air`` under construction, the ``Design``, the typed column views (``layout``), the
operation flags computed once (``flags.OpFlags``) and one collector per bus. A family module is a
function decorated with ``@family("stack.io_ops")``; everything it declares is recorded under that
family in ``Air.families`` (item name -> family; items named as the reports name them: a constraint by
its name, ``bus:BUS`` and ``bus:BUS/TERM``), so that a check can select one family by prefix.

Several families put terms on one bus (the chiplets bus b_chip takes decoder requests, stack requests
and chiplet responses): ``request``/``respond`` collect them in call order, and ``finish`` builds each
``Bus`` once, in the order the buses were declared. Claimed degrees are never written in a family: they
come from ``claims.claimed(design, item)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Literal

import sympy as sp

from air.air import Air, Bus, BusBoundary, BusTerm, Constraint, Message
from air.miden import layout as L
from air.miden.claims import claimed
from air.miden.design import Design
from air.miden.flags import OpFlags
from air.miden.opcodes import flag_class, free_slots

__all__ = ["MidenBuilder", "family", "DOC", "MIDEN_BUDGET", "MIDEN_CHALLENGES"]

DOC = "docs/src/design/"
__air_builder__ = True  # a constraint's definition site is the family's b.constrain(...) line, not this module's
_ONE = sp.Integer(1)
# The degree budget of every Miden design: "The maximum allowed constraint degree in Miden VM is 9"
# (docs/src/design/index.md at v0.18.0 and v0.19.0). The generic Air has no budget of its own.
MIDEN_BUDGET = 9
# alpha_0..alpha_15: the bus messages' reduction challenges; the longest message (a hasher message: alpha_0,
# a label, the address, node index and the 12-element state) uses 16 of them (chiplets/hasher.md).
MIDEN_CHALLENGES = 16


class MidenBuilder:
    """One design's AIR under construction; see the module docstring."""

    def __init__(self, design: Design):
        d = design
        self.design = d
        # Miden's degree budget and challenge count (the generic Air has neither)
        self.air = Air(d.name, d.description, budget=MIDEN_BUDGET, n_challenges=MIDEN_CHALLENGES)
        for group, names in (
            ("system", L.system_columns(d)),
            ("decoder", L.decoder_columns(d)),
            ("stack", L.STACK),
            ("range", L.RANGE),
            ("chiplets", L.CHIPLETS),
        ):
            self.air.columns(group, names)
        self.air.notes.extend(d.notes)
        self.system = L.SystemCols.of(d)
        self.decoder = L.DecoderCols.of(d)
        self.stack = L.StackCols.of()
        self.range = L.RangeCols.of()
        self.memory = L.MemoryCols.of()
        self.hasher = L.HasherCols.of()
        self.krom = L.KromCols.of()
        self.chiplets = L.ChipletSelectors.of()
        self.bitwise = L.BitwiseCols.of()
        self.ace = L.AceCols.of()
        dec = self.decoder
        self.flags = OpFlags(d.opcodes, dec.b, dec.e0, dec.e1, dec.h)
        for name, flag in self.flags.items():
            code = d.opcodes[name]
            self.air.operation(name, flag, code, flag_class(code))
        fs = free_slots(d.opcodes)
        self.air.notes.append("free opcode slots: " + "; ".join(f"{k}: {v or 'none'}" for k, v in fs.items()))
        self.current_family = ""  # set by @family while a family module runs
        self.families: dict[str, str] = {}
        self._bus_decl: dict[str, dict] = {}  # name -> Bus(...) arguments other than the terms, in declaration order
        self._bus_terms: dict[str, list[BusTerm]] = {}
        self._bus_boundary: dict[str, list[BusBoundary]] = {}
        self._unchecked: dict[str, str] = {}

    # ----------------------------------------------------------------- constraints
    def claim(self, item: str) -> int | None:
        """The degree stated for ``item`` under this design (``claims.claimed``)."""
        return claimed(self.design, item)

    def constrain(
        self,
        name: str,
        expr: sp.Expr | None = None,
        *,
        domain: Literal["transition", "first", "last"] = "transition",
        flag: sp.Expr | None = None,
        body: sp.Expr | None = None,
        operation: str | None = None,
        tags: Iterable[str] = (),
        doc: str = "",
    ) -> Constraint:
        """``Air.constrain`` with the claimed degree from the claims table and the current family recorded."""
        c = self.air.constrain(
            name,
            expr,
            domain=domain,
            flag=flag,
            body=body,
            claimed_degree=self.claim(name),
            operation=operation,
            tags=tags,
            doc=doc,
        )
        self.families[name] = self.current_family
        return c

    def transition(self, name: str, expr: sp.Expr, **kw) -> Constraint:
        return self.constrain(name, expr, domain="transition", **kw)

    def boundary(self, name: str, expr: sp.Expr, *, last: bool = False, **kw) -> Constraint:
        return self.constrain(name, expr, domain="last" if last else "first", **kw)

    def unchecked(self, column: str, why: str) -> None:
        """Say why ``column`` is read by nothing the model writes (kept only if no constraint reads it)."""
        self._unchecked[column] = why

    # ----------------------------------------------------------------- buses
    def bus(
        self,
        name: str,
        kind: Literal["multiset", "logup"],
        column: str,
        *,
        initial: sp.Expr = _ONE,
        final: sp.Expr = _ONE,
        doc: str = "",
    ) -> None:
        """Declare a bus (its degree claim is ``claim("bus:NAME")``); its terms may come before or after."""
        if name in self._bus_decl:
            raise ValueError(f"{self.design.name}: bus {name!r} declared twice")
        claim = self.claim(f"bus:{name}")
        self._bus_decl[name] = dict(
            kind=kind, column=column, claimed_degree=claim, initial=initial, final=final, doc=doc
        )
        self.families[f"bus:{name}"] = self.current_family

    def request(self, bus: str, name: str, flag: sp.Expr, messages: Sequence[Message], **kw) -> BusTerm:
        """Put ``flag * prod(messages)`` on ``bus`` as a request (``kw``: factors, operation, doc, multiplicity)."""
        return self._term(bus, name, "request", flag, messages, **kw)

    def respond(self, bus: str, name: str, flag: sp.Expr, messages: Sequence[Message], **kw) -> BusTerm:
        """Put ``flag * prod(messages)`` on ``bus`` as a response."""
        return self._term(bus, name, "response", flag, messages, **kw)

    def boundary_message(
        self, bus: str, side: Literal["request", "response"], message: Message, *, table: str | None = None
    ) -> None:
        """Messages the verifier puts on ``bus`` from the public inputs (``air.BusBoundary``): one message whose
        fields are public inputs, or one per row of the public table ``table`` (declare it on ``b.air``)."""
        self._bus_boundary.setdefault(bus, []).append(BusBoundary(side, message, table))

    def _term(
        self,
        bus: str,
        name: str,
        side: Literal["request", "response"],
        flag: sp.Expr,
        messages: Sequence[Message],
        *,
        factors: Sequence[str] = (),
        operation: str | None = None,
        multiplicity: sp.Expr | None = None,
        doc: str = "",
    ) -> BusTerm:
        item = f"bus:{bus}/{name}"
        term = BusTerm(
            name, side, flag, tuple(messages), tuple(factors), operation, multiplicity, self.claim(item), doc
        )
        self._bus_terms.setdefault(bus, []).append(term)
        self.families[item] = self.current_family
        return term

    # ----------------------------------------------------------------- assembly
    def finish(self) -> Air:
        """Build every bus once (declaration order, terms in call order), record families and unchecked columns."""
        air = self.air
        undeclared = sorted((set(self._bus_terms) | set(self._bus_boundary)) - set(self._bus_decl))
        if undeclared:
            raise ValueError(f"{self.design.name}: terms put on undeclared bus(es) {undeclared}")
        for name, decl in self._bus_decl.items():
            terms, boundary = tuple(self._bus_terms.get(name, ())), tuple(self._bus_boundary.get(name, ()))
            air.bus(Bus(name, terms=terms, boundary=boundary, **decl))
        read = air.read_columns()
        for c in air.column_names:
            if c in self._unchecked and c not in read:
                air.unchecked[c] = self._unchecked[c]
        air.families.update(self.families)
        return air


def family(name: str) -> Callable[[Callable[[MidenBuilder], None]], Callable[[MidenBuilder], None]]:
    """Decorate a family's ``constrain(b)``: what it declares is recorded under ``name`` (e.g. "stack.io_ops")."""

    def wrap(fn: Callable[[MidenBuilder], None]) -> Callable[[MidenBuilder], None]:
        @wraps(fn)
        def run(b: MidenBuilder) -> None:
            outer, b.current_family = b.current_family, name
            try:
                fn(b)
            finally:
                b.current_family = outer

        return run

    return wrap
