"""An AIR described once: columns, operations (flags), constraints and buses.

Every other module interprets this one definition: ``degree`` derives degrees, ``evaluate`` checks
rows over Goldilocks, ``bus`` builds and balances the auxiliary columns, ``report`` prints them.

Conventions
-----------
* A transition constraint ``C(x, x')`` must vanish on every row ``i`` in ``0 .. n-2`` with ``x`` the
  row ``i`` and ``x'`` the row ``i+1`` (the wrap-around pair ``(n-1, 0)`` is exempt).
* A constraint written ``flag * body`` keeps the two apart (``Constraint.flag``/``Constraint.body``) so
  that its degree is reported as flag degree + body degree; its polynomial is their product.
* A multiset bus has the running-product constraint
  ``b' * (sum_r f_r*u_r + 1 - sum_r f_r) = b * (sum_s f_s*v_s + 1 - sum_s f_s)``
  where ``u_r`` (requests) and ``v_s`` (responses) are products of messages and the flags of one side
  are mutually exclusive on every row. A message is ``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*field_j``
  (the Miden layout, docs/src/design/chiplets/main.md).
* A LogUp bus accumulates ``b' - b = sum_s m_s/(alpha_0 + v_s) - sum_r m_r/(alpha_0 + v_r)``; its
  constraint is that equation with the denominators cleared.

Validation: bus kinds, term sides and message labels are checked when they are declared, column
names when they are declared (identifiers only: ``x'`` is the notation for ``x.next``), and
``Air.validate()`` checks the whole definition once before any command uses it (every expression a
polynomial over variables this AIR declares; see ``air.degree.check_polynomial``).
"""

from __future__ import annotations

import numbers
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import sympy as sp

from air.degree import NotPolynomialError, check_polynomial, preorder_new
from air.symbols import AuxCell, Cell, Challenge, Periodic, PublicInput, Var

Domain = Literal["transition", "first", "last"]
DOMAINS: tuple[str, ...] = ("transition", "first", "last")
BUS_KINDS: tuple[str, ...] = ("multiset", "logup")
SIDES: tuple[str, ...] = ("request", "response")

__all__ = [
    "Air",
    "AirDefinitionError",
    "Bus",
    "BusTerm",
    "Column",
    "Constraint",
    "Domain",
    "Message",
    "Operation",
]


# Modules that define constraints on a caller's behalf (this one, a model's builder) set this: the
# definition site recorded for a constraint is the first frame outside them (see ``definition_site``).
__air_builder__ = True


def definition_site() -> str:
    """``file:line`` of the code that called into the builder (the ``constrain(...)`` call a report
    points at): the first frame, going up, whose module does not set ``__air_builder__``. A few frame
    hops per constraint, no source is read."""
    f = sys._getframe(1)
    while f is not None and f.f_globals.get("__air_builder__"):
        f = f.f_back
    return "" if f is None else f"{f.f_code.co_filename}:{f.f_lineno}"


class AirDefinitionError(ValueError):
    """The AIR's definition is malformed (not an expression problem: see ``NotPolynomialError``)."""


_MEMBER = re.compile(r"([^\W\d]\w*)\[(0|[1-9][0-9]*)\]")


def check_name(name: object, what: str) -> str:
    """``name`` if it is a Python identifier or a group member ``ident[int]`` (AirScript's ``b[3]`` declares
    ``b[0]``..``b[2]``), so it cannot be read as ``x'`` or another notation."""
    if not isinstance(name, str) or not (name.isidentifier() or (_MEMBER.fullmatch(name) and name.isascii())):
        raise AirDefinitionError(f"{what} name {name!r} is not an identifier (letters, digits, _) nor ident[int]")
    return name


@dataclass(frozen=True)
class Column:
    """A main-trace column: its name, the group it belongs to and its index in the trace."""

    name: str
    group: str
    index: int
    doc: str = ""

    @property
    def cur(self) -> Cell:
        return Cell(self.name, 0)

    @property
    def next(self) -> Cell:
        return Cell(self.name, 1)


@dataclass(frozen=True)
class Operation:
    """An operation selected by ``flag`` (a product of opcode bits, or any selector polynomial).

    ``opcode`` is the numeric opcode where the machine has one; ``flag_class`` names the group of
    operations sharing a flag shape (e.g. Miden's degree-7/6/5/4 classes).
    """

    name: str
    flag: sp.Expr
    opcode: int | None = None
    flag_class: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Constraint:
    """One polynomial that must vanish on its domain.

    ``expr`` is the whole polynomial; when it was written as ``flag * body`` both parts are kept.
    ``claimed_degree`` is the degree its author (or the Miden docs) states, checked by the analyzer.
    ``operation`` names the operation whose flag gates it; ``tags`` are free-form labels.
    ``public`` maps public-input symbols a boundary constraint compares against to their meaning.
    ``defined_at`` is the ``file:line`` of the call that declared it (recorded by ``Air.constrain``;
    a parser of another notation may set its own file's line).
    """

    name: str
    expr: sp.Expr
    domain: Domain = "transition"
    flag: sp.Expr | None = None
    body: sp.Expr | None = None
    claimed_degree: int | None = None
    operation: str | None = None
    tags: tuple[str, ...] = ()
    doc: str = ""
    defined_at: str = ""


@dataclass(frozen=True)
class Message:
    """A bus message ``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*fields[j]``.

    ``label`` names the message kind (``"memory write element"``); ``label_value`` is the numeric label
    the message carries (None when the layout has no label slot, then fields start at alpha_1);
    ``fields`` are (name, expression) pairs.
    """

    label: str
    label_value: int | None
    fields: tuple[tuple[str, sp.Expr], ...]

    def __post_init__(self) -> None:
        lv = self.label_value
        if lv is not None and (isinstance(lv, bool) or not isinstance(lv, (numbers.Integral, sp.Integer))):
            raise AirDefinitionError(f"message {self.label!r}: label value {lv!r} is not an integer")
        if not isinstance(self.fields, (tuple, list)) or not all(
            isinstance(f, (tuple, list)) and len(f) == 2 and isinstance(f[0], str) for f in self.fields
        ):
            raise AirDefinitionError(f"message {self.label!r}: fields must be (name, expression) pairs")

    def field_exprs(self) -> list[sp.Expr]:
        return [sp.sympify(e) for _, e in self.fields]


@dataclass(frozen=True)
class BusTerm:
    """What one operation (or chiplet row kind) puts on a bus: ``flag * prod(messages)``.

    ``side`` is ``"request"`` (divides the running product / is subtracted in LogUp) or ``"response"``.
    ``factors`` names each message factor for the degree report (e.g. ``h_init``, ``m_fmpwrite``).
    ``multiplicity`` (LogUp only) replaces the flag as numerator when given.
    """

    name: str
    side: Literal["request", "response"]
    flag: sp.Expr
    messages: tuple[Message, ...]
    factors: tuple[str, ...] = ()
    operation: str | None = None
    multiplicity: sp.Expr | None = None
    claimed_degree: int | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise AirDefinitionError(f"bus term {self.name!r}: side {self.side!r} is not one of {', '.join(SIDES)}")
        # a plain number (1, numpy's int64(1)) is the same sympy constant for every command
        object.__setattr__(self, "flag", _expression(self.flag, f"bus term {self.name!r}: flag"))
        if self.multiplicity is not None:
            object.__setattr__(
                self, "multiplicity", _expression(self.multiplicity, f"bus term {self.name!r}: multiplicity")
            )
        if not isinstance(self.messages, (tuple, list)) or not self.messages:
            raise AirDefinitionError(f"bus term {self.name!r} has no messages")
        if not all(isinstance(m, Message) for m in self.messages):
            raise AirDefinitionError(f"bus term {self.name!r}: every message must be a Message")

    def factor_names(self) -> list[str]:
        if self.factors:
            return list(self.factors)
        return [m.label for m in self.messages]


@dataclass(frozen=True)
class BusBoundary:
    """Messages the verifier puts on a bus from the public inputs, outside the trace.

    They count on ``side`` like the trace's own messages and enter the accumulator's first value:
    ``b[0] = initial * prod(responses) / prod(requests)`` for a multiset bus, ``initial + sum 1/responses -
    sum 1/requests`` for LogUp (Miden: the block hash table starts with the program hash, p2[0] = v(hash);
    the chiplets bus starts with the kernel procedures, b_chip[0] * prod v_init = 1).

    Without ``table``, one message whose fields are constants or public inputs. With ``table``, one
    message per row of that public table (``Air.public_table``); the message's field names name its
    columns, and their expressions are not used.
    """

    side: Literal["request", "response"]
    message: Message
    table: str | None = None


@dataclass(frozen=True)
class Bus:
    """A bus: its kind, accumulator column and terms.

    ``initial``/``final`` are the accumulator's boundary values (1 for a balanced running product,
    0 for a balanced LogUp sum), or public-input symbols, or None: unconstrained (AirScript's
    ``unconstrained``; the bus then demands no balance); ``boundary`` adds messages from the public
    inputs to the first value (``BusBoundary``).
    """

    name: str
    kind: Literal["multiset", "logup"]
    column: str
    terms: tuple[BusTerm, ...]
    claimed_degree: int | None = None
    initial: sp.Expr | None = sp.Integer(1)
    final: sp.Expr | None = sp.Integer(1)
    doc: str = ""
    boundary: tuple[BusBoundary, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in BUS_KINDS:
            raise AirDefinitionError(f"bus {self.name!r}: kind {self.kind!r} is not one of {', '.join(BUS_KINDS)}")
        check_name(self.column, f"bus {self.name!r}: accumulator column")
        if not isinstance(self.terms, (tuple, list)) or not all(isinstance(t, BusTerm) for t in self.terms):
            raise AirDefinitionError(f"bus {self.name!r}: terms must be BusTerms")
        for t in self.terms:
            _check_constant_count(self, t)
        if self.kind == "logup":
            for t in self.terms:
                if len(t.messages) != 1:
                    raise AirDefinitionError(f"LogUp bus {self.name!r}: term {t.name!r} must have exactly one message")

    @property
    def acc(self) -> AuxCell:
        return AuxCell(self.column, 0)

    def requests(self) -> list[BusTerm]:
        return [t for t in self.terms if t.side == "request"]

    def responses(self) -> list[BusTerm]:
        return [t for t in self.terms if t.side == "response"]


def _expression(value: object, what: str) -> sp.Expr:
    """``value`` as a sympy expression: a sympy expression, or a plain integer or rational number (never a
    bool, whose ``True`` reads as a flag of 1 by accident, nor a string, which sympy would parse)."""
    if isinstance(value, bool) or not isinstance(value, (sp.Basic, numbers.Rational)):
        raise AirDefinitionError(f"{what} {value!r} is not an expression nor an integer")
    return sp.sympify(value)


def _check_constant_count(bus: Bus, t: BusTerm) -> None:
    """Refuse a constant flag or multiplicity that the bus cannot count, the same way for every command.

    A multiset term counts as ``f*u + 1 - f`` in its side of the running product: ``u`` for ``f = 1``, nothing
    for ``f = 0``, and neither for any other constant (``2*u - 1`` is not ``u**2``). A multiset term has no
    multiplicity. A LogUp multiplicity counts messages: a constant one must be a non-negative integer.
    """
    where = f"bus {bus.name!r} term {t.name!r}"
    if bus.kind == "multiset":
        if t.multiplicity is not None:
            raise AirDefinitionError(
                f"{where}: a multiplicity is for LogUp buses; a multiset term is counted by its flag"
            )
        if t.flag.is_Number and t.flag not in (0, 1):
            raise AirDefinitionError(
                f"{where}: the constant flag {t.flag} is neither 0 nor 1 (a multiset term counts as f*u + 1 - f, "
                "its message only for a flag of 1)"
            )
        return
    m = t.multiplicity if t.multiplicity is not None else t.flag
    if m.is_Number and not (m.is_Integer and m >= 0):
        raise AirDefinitionError(
            f"{where}: the constant multiplicity {m} is not a count of messages (a non-negative integer)"
        )


def message_value(msg: Message, alphas: Sequence[sp.Expr]) -> sp.Expr:
    """``alpha_0 + alpha_1*label + sum_j alpha_{j+2}*field_j`` (or from alpha_1 without a label)."""
    out: sp.Expr = alphas[0]
    k = 1
    if msg.label_value is not None:
        out = out + alphas[1] * msg.label_value
        k = 2
    for j, e in enumerate(msg.field_exprs()):
        if k + j >= len(alphas):
            raise ValueError(f"message {msg.label!r} has more fields than the bus has challenges")
        out = out + alphas[k + j] * e
    return out


class Air:
    """An AIR under construction and, once built, its single definition.

    ``budget`` is the highest constraint degree the prover accepts (Miden's is 9: its designs pass it); without
    one the analysis reports degrees and says that no budget is declared, and nothing is "over budget".
    ``n_challenges`` fixes the number of random challenges ``alpha_0..``; without it the AIR has as many as its
    longest bus message needs (``alpha_0`` + a label + one per field).

    >>> air = Air("fib", "Fibonacci", budget=2)
    >>> a, b = air.columns("main", ["a", "b"])
    >>> air.transition("fib_a", a.next - b)
    """

    def __init__(self, name: str, description: str, budget: int | None = None, *, n_challenges: int | None = None):
        self.name = name
        self.description = description
        self.budget = budget
        self.n_challenges = n_challenges
        self._challenges: list[Challenge] = []
        self._columns: dict[str, Column] = {}
        self.constraints: list[Constraint] = []
        self.operations: list[Operation] = []
        self.buses: list[Bus] = []
        self.periodic: dict[str, list[int]] = {}
        self.public_inputs: dict[str, str] = {}
        # public tables: name -> (number of columns, doc); a trace gives any number of rows
        self.public_tables: dict[str, tuple[int, str]] = {}
        self.notes: list[str] = []
        # Degrees another notation declares for its items (constraint name or "bus:B" -> (degree, why)), e.g.
        # AirScript's structural count; reports show them beside the exact degree when present.
        self.declared_degrees: dict[str, tuple[int, str]] = {}
        # Whether claimed degrees are the author's annotations, checked by the gate (a claim below the computed
        # degree fails it); a model's degrees quoted from documentation are only reported.
        self.gate_claims: bool = False
        # Columns that a trace carries but no constraint reads, with why (e.g. hasher state words
        # whose permutation this model does not constrain). Filled by the model.
        self.unchecked: dict[str, str] = {}
        # The constraint family of each item (constraint name, "bus:B", "bus:B/T"), e.g. "stack.io_ops";
        # select a family and its sub-families by prefix. Filled by a model that has families.
        self.families: dict[str, str] = {}
        self.selector_groups: dict[str, list[tuple[str, sp.Expr]]] = {}
        self._validated: tuple | None = None

    # ----------------------------------------------------------------- declaring
    def column(self, group: str, name: str, doc: str = "") -> Cell:
        check_name(name, f"{self.name}: column")
        if name in self._columns:
            raise ValueError(f"{self.name}: column {name!r} declared twice")
        self._columns[name] = Column(name, group, len(self._columns), doc)
        return Cell(name, 0)

    def columns(self, group: str, names: Iterable[str]) -> list[Cell]:
        return [self.column(group, n) for n in names]

    def periodic_column(self, name: str, values: Sequence[int]) -> Periodic:
        n = len(values)
        if n == 0 or n & (n - 1):
            raise ValueError(f"{self.name}: periodic column {name!r} needs a power-of-two cycle, got {n}")
        check_name(name, f"{self.name}: periodic column")
        self.periodic[name] = [int(v) for v in values]
        return Periodic(name)

    def public_table(self, name: str, width: int, doc: str = "") -> str:
        """Declare a public table of ``width`` columns and any number of rows (e.g. the kernel's procedure
        digests), for ``BusBoundary(table=name)``. Traces carry it in their public inputs as a list of rows."""
        if not isinstance(width, int) or width < 1:
            raise AirDefinitionError(f"{self.name}: public table {name!r}: width {width!r} is not a positive integer")
        self.public_tables[name] = (width, doc)
        return name

    def public_input(self, name: str, doc: str = "") -> PublicInput:
        check_name(name, f"{self.name}: public input")
        self.public_inputs[name] = doc
        return PublicInput(name)

    def operation(
        self, name: str, flag: sp.Expr, opcode: int | None = None, flag_class: str = "", doc: str = ""
    ) -> Operation:
        op = Operation(name, sp.sympify(flag), opcode, flag_class, doc)
        self.operations.append(op)
        return op

    def constrain(
        self,
        name: str,
        expr: sp.Expr | None = None,
        *,
        domain: Domain = "transition",
        flag: sp.Expr | None = None,
        body: sp.Expr | None = None,
        claimed_degree: int | None = None,
        operation: str | Operation | None = None,
        tags: Iterable[str] = (),
        doc: str = "",
        defined_at: str | None = None,
    ) -> Constraint:
        """Add a constraint: either ``expr``, or ``body`` (optionally gated by ``flag``).

        ``operation`` given as an ``Operation`` supplies its flag when ``flag`` is not given.
        ``defined_at`` (``file:line``) defaults to the caller's line (``definition_site``).
        """
        if domain not in DOMAINS:
            raise ValueError(f"{self.name}: constraint {name!r}: unknown domain {domain!r}")
        if any(c.name == name for c in self.constraints):
            raise ValueError(f"{self.name}: constraint {name!r} declared twice")
        op_name = operation.name if isinstance(operation, Operation) else operation
        if isinstance(operation, Operation) and flag is None and body is not None:
            flag = operation.flag
        if expr is None:
            if body is None:
                raise ValueError(f"{self.name}: constraint {name!r} needs expr or body")
            body = sp.sympify(body)
            expr = body if flag is None else sp.Mul(sp.sympify(flag), body, evaluate=False)
        elif body is not None or flag is not None:
            raise ValueError(f"{self.name}: constraint {name!r}: give expr, or flag and body, not both")
        c = Constraint(
            name=name,
            expr=sp.sympify(expr),
            domain=domain,
            flag=None if flag is None else sp.sympify(flag),
            body=body,
            claimed_degree=claimed_degree,
            operation=op_name,
            tags=tuple(tags),
            doc=doc,
            defined_at=definition_site() if defined_at is None else defined_at,
        )
        self.constraints.append(c)
        return c

    def transition(self, name: str, expr: sp.Expr, **kw) -> Constraint:
        return self.constrain(name, expr, domain="transition", **kw)

    def boundary(self, name: str, expr: sp.Expr, *, last: bool = False, **kw) -> Constraint:
        return self.constrain(name, expr, domain="last" if last else "first", **kw)

    def bus(self, bus: Bus) -> Bus:
        if not isinstance(bus, Bus):
            raise AirDefinitionError(f"{self.name}: air.bus() takes a Bus, not {type(bus).__name__}")
        if any(b.name == bus.name for b in self.buses):
            raise ValueError(f"{self.name}: bus {bus.name!r} declared twice")
        self.buses.append(bus)
        return bus

    # ----------------------------------------------------------------- validating
    def _fingerprint(self) -> tuple:
        parts: list[object] = [tuple(self._columns), tuple(self.periodic), tuple(self.public_inputs)]
        parts.append(tuple(self.public_tables.items()))
        parts += [(id(c), id(c.expr)) for c in self.constraints]
        parts += [(id(o), id(o.flag)) for o in self.operations] + [id(b) for b in self.buses]
        return (len(self.challenges), *parts)

    def validate(self) -> None:
        """Refuse a definition any command would misread: raises ``NotPolynomialError`` (an expression,
        named with its sub-expression) or ``AirDefinitionError``. Runs once per definition."""
        key = self._fingerprint()
        if self._validated == key:
            return
        _validate(self)
        self._validated = key

    # ----------------------------------------------------------------- reading
    @property
    def challenges(self) -> list[Challenge]:
        """``alpha_0 .. alpha_{k-1}``: ``n_challenges`` of them, or as many as the longest bus message needs."""
        n = self.n_challenges
        if n is None:
            msgs = [m for b in self.buses for t in b.terms for m in t.messages] + [
                bd.message for b in self.buses for bd in b.boundary
            ]
            n = max(((2 if m.label_value is not None else 1) + len(m.fields) for m in msgs), default=0)
        if len(self._challenges) != n:
            self._challenges = [Challenge(f"alpha_{i}") for i in range(n)]
        return self._challenges

    @property
    def layout(self) -> list[Column]:
        return list(self._columns.values())

    @property
    def column_names(self) -> list[str]:
        return list(self._columns)

    def col(self, name: str) -> Cell:
        if name not in self._columns:
            raise KeyError(f"{self.name}: no column {name!r}")
        return Cell(name, 0)

    def column_info(self, name: str) -> Column:
        return self._columns[name]

    def groups(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self._columns.values():
            out[c.group] = out.get(c.group, 0) + 1
        return out

    def op(self, name: str) -> Operation:
        for o in self.operations:
            if o.name == name:
                return o
        raise KeyError(f"{self.name}: no operation {name!r}")

    def constraint(self, name: str) -> Constraint:
        for c in self.constraints:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no constraint {name!r}")

    def has_constraint(self, name: str) -> bool:
        return any(c.name == name for c in self.constraints)

    def read_columns(self) -> set[str]:
        """Names of the main-trace columns some constraint or bus term reads."""
        seen: set[str] = set()
        exprs: list[sp.Expr] = [c.expr for c in self.constraints]
        for b in self.buses:
            for t in b.terms:
                exprs.append(t.flag)
                if t.multiplicity is not None:
                    exprs.append(t.multiplicity)
                for m in t.messages:
                    exprs.extend(m.field_exprs())
        visited: set[sp.Basic] = set()  # the expressions share most sub-terms: each is walked once
        for e in exprs:
            for s in preorder_new(sp.sympify(e), visited):
                if isinstance(s, Cell) and not isinstance(s, AuxCell):
                    seen.add(s.column)
        return seen

    def __repr__(self) -> str:
        return f"Air({self.name!r}, {len(self._columns)} columns, {len(self.constraints)} constraints)"


def _validate(air: Air) -> None:
    where = air.name
    names: dict[str, str] = {}
    for kind, seq in (
        ("column", air._columns),
        ("periodic column", air.periodic),
        ("public input", air.public_inputs),
        ("public table", air.public_tables),
        ("challenge", [c.name for c in air.challenges]),
        ("bus accumulator", [b.column for b in air.buses]),
    ):
        for n in seq:
            check_name(n, f"{where}: {kind}")
            if n in names:
                raise AirDefinitionError(f"{where}: {kind} {n!r} has the name of a {names[n]}")
            names[n] = kind
    if air.budget is not None and (not isinstance(air.budget, int) or isinstance(air.budget, bool)):
        raise AirDefinitionError(f"{where}: budget {air.budget!r} is not an integer")
    nc = air.n_challenges
    if nc is not None and (not isinstance(nc, int) or isinstance(nc, bool) or nc < 0):
        raise AirDefinitionError(f"{where}: n_challenges {nc!r} is not a non-negative integer")
    acc = {b.column for b in air.buses}
    challenges = set(air.challenges)
    # sub-terms already found polynomial / with every symbol declared: skipped when another expression shares them
    checked: set[sp.Basic] = set()
    declared: set[sp.Basic] = set()

    def poly(e: object, what: str) -> None:
        e = sp.sympify(e)
        check_polynomial(e, f"{where}: {what}", checked)
        # a polynomial's free symbols are the Symbols among its (not yet seen) sub-terms
        for s in {n for n in preorder_new(e, declared) if isinstance(n, sp.Symbol)}:
            if isinstance(s, AuxCell):
                ok = s.column in acc
            elif isinstance(s, Cell):
                ok = s.column in air._columns or s.column in air.periodic
            elif isinstance(s, Challenge):
                ok = s in challenges
            elif isinstance(s, Periodic):
                ok = s.name in air.periodic
            elif isinstance(s, PublicInput):
                ok = s.name in air.public_inputs
            else:
                ok = not isinstance(s, Var)
            if not ok:
                raise NotPolynomialError(f"{where}: {what}", s, f"{type(s).__name__} {s.name!r} is not declared")

    for c in air.constraints:
        if c.domain not in DOMAINS:
            raise AirDefinitionError(f"{where}: constraint {c.name!r}: unknown domain {c.domain!r}")
        poly(c.expr, f"constraint {c.name!r}")
        for part, e in (("flag", c.flag), ("body", c.body)):
            if e is not None:
                poly(e, f"constraint {c.name!r} {part}")
        if sp.sympify(c.expr) == 0:
            raise AirDefinitionError(
                f"{where}: constraint {c.name!r} is identically 0 and constrains nothing "
                "(sympy simplifies e.g. x*(1/x) - 1 to 0 as it is written)"
            )
    for o in air.operations:
        poly(o.flag, f"flag of operation {o.name!r}")
    for b in air.buses:
        if b.kind not in BUS_KINDS:
            raise AirDefinitionError(f"{where}: bus {b.name!r}: kind {b.kind!r} is not one of {', '.join(BUS_KINDS)}")
        for end, e in (("initial", b.initial), ("final", b.final)):
            if e is None:  # unconstrained
                continue
            e = sp.sympify(e)
            if not (isinstance(e, sp.Integer) or (isinstance(e, PublicInput) and e.name in air.public_inputs)):
                raise AirDefinitionError(
                    f"{where}: bus {b.name!r}: {end} value {e} is neither an integer nor a public input"
                )
        for i, bd in enumerate(b.boundary):
            what = f"bus {b.name!r} boundary message {i} ({bd.message.label!r})"
            if not isinstance(bd, BusBoundary) or bd.side not in SIDES or not isinstance(bd.message, Message):
                raise AirDefinitionError(f"{where}: {what}: needs a side ({', '.join(SIDES)}) and a Message")
            if bd.table is not None:
                if bd.table not in air.public_tables:
                    raise AirDefinitionError(f"{where}: {what}: public table {bd.table!r} is not declared")
                if air.public_tables[bd.table][0] != len(bd.message.fields):
                    raise AirDefinitionError(
                        f"{where}: {what}: {len(bd.message.fields)} fields, table {bd.table!r} has "
                        f"{air.public_tables[bd.table][0]} columns"
                    )
                continue
            for fname, e in bd.message.fields:
                e = sp.sympify(e)
                poly(e, f"{what} field {fname!r}")
                if any(not isinstance(v, PublicInput) for v in e.free_symbols):
                    raise AirDefinitionError(f"{where}: {what} field {fname!r}: only constants and public inputs")
        for t in b.terms:
            what = f"bus {b.name!r} term {t.name!r}"
            poly(t.flag, f"{what} flag")
            if t.multiplicity is not None:
                poly(t.multiplicity, f"{what} multiplicity")
            for m in t.messages:
                slots = (2 if m.label_value is not None else 1) + len(m.fields)
                if slots > len(air.challenges):
                    raise AirDefinitionError(
                        f"{where}: {what}: message {m.label!r} needs {slots} challenges, "
                        f"the AIR has {len(air.challenges)}"
                    )
                for fname, e in m.fields:
                    poly(e, f"{what} field {fname!r}")
