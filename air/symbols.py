"""The variables a constraint may mention, as sympy symbols that know what they are.

* ``Cell``: a trace column read on the current row (``x``) or the next row (``x.next``, printed
  ``x'``). Degree 1.
* ``Challenge``: a random element drawn by the verifier (``alpha_0`` ...). Degree 0.
* ``Periodic``: a periodic column, a fixed cyclic sequence known to the verifier. Degree 1 (see the
  class: its interpolant raises the evaluation degree like a trace column, as Winterfell and Miden count it).
* ``PublicInput``: a value fixed by the statement, used in boundary constraints. Degree 0.

Everything that is a plain ``sympy.Symbol`` and none of these is *undeclared* and refused by the
degree analyzer and the evaluator.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = ["Var", "Cell", "Challenge", "Periodic", "PublicInput", "AuxCell"]


class Var(sp.Symbol):
    """Base class of every declared variable. ``degree`` is its degree in the trace columns."""

    degree: int = 0
    kind: str = "var"

    def __new__(cls, name: str, **kwargs: Any) -> Var:
        return sp.Symbol.__new__(cls, name)

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((self.name,), {})


class Cell(Var):
    """A main-trace column at row offset ``shift`` (0: current row ``x``, 1: next row ``x'``)."""

    degree = 1
    kind = "cell"

    def __new__(cls, column: str, shift: int = 0) -> Cell:
        if shift not in (0, 1):
            raise ValueError(f"column {column!r}: only the current (0) and next (1) rows can be read")
        obj = Var.__new__(cls, column + ("'" * shift))
        obj.column = column
        obj.shift = shift
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((self.column, self.shift), {})

    @property
    def next(self) -> Cell:
        """The same column on the next row, ``x'``."""
        if self.shift != 0:
            raise ValueError(f"{self.name}: a constraint can read at most one row ahead")
        return Cell(self.column, 1)

    @property
    def cur(self) -> Cell:
        return Cell(self.column, 0)


class AuxCell(Cell):
    """An auxiliary-trace column (a bus accumulator), built from the main trace and challenges."""

    kind = "aux"

    def __new__(cls, column: str, shift: int = 0) -> AuxCell:
        obj = Cell.__new__(cls, column, shift)
        return obj

    @property
    def next(self) -> AuxCell:
        if self.shift != 0:
            raise ValueError(f"{self.name}: a constraint can read at most one row ahead")
        return AuxCell(self.column, 1)


class Challenge(Var):
    """A random challenge drawn by the verifier; a constant of degree 0 in the constraints."""

    degree = 0
    kind = "challenge"


class Periodic(Var):
    """A periodic column: a fixed cycle of values known to the verifier. Degree 1.

    Over n rows a column of cycle k interpolates to a polynomial of degree (k-1)·n/k in x, so in a
    constraint it raises the evaluation degree almost as much as a trace column does: Winterfell's
    ``TransitionConstraintDegree::with_cycles`` adds (n/k)·(k-1) per periodic factor, and the Miden docs
    (chiplets/hasher.md, bitwise.md) count each periodic factor as degree 1. Counting it 0 would hide
    exactly the degree that decides whether a chiplet constraint fits the budget.
    """

    degree = 1
    kind = "periodic"


class PublicInput(Var):
    """A public input, for boundary constraints. Degree 0."""

    degree = 0
    kind = "public"
