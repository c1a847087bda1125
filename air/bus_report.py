"""What a bus check reports, as records that need no sympy: each bus's result (balanced, its final value, its
totals per label), its unmatched messages (each named by side, label, fields, row and operation) and the likely
pairs among them. ``air.buscheck`` (the single pass) and ``air.chunked`` (the map/reduce) both return them; the
text and JSON reports (``air.diagnose``) read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from air.field import format_value

__all__ = ["UnmatchedMessage", "NearMiss", "near_misses", "BusResult", "BusReport"]


@dataclass(frozen=True)
class UnmatchedMessage:
    bus: str
    side: str
    label: str
    fields: tuple[tuple[str, int], ...]
    row: int
    operation: str | None
    count: int = 1
    code: int = 0  # the numeric label (0 on a bus without labels)
    term: str = ""  # the bus term that put it on the bus ("" for a boundary message)

    @property
    def who(self) -> str:
        """Who put the message on the bus, in the AIR's own words: its operation, else its term."""
        if self.operation:
            return self.operation
        return f"term {self.term}" if self.term else "a row"

    def describe(self, show: Callable[[int], str] = str) -> str:
        """One line naming the message; ``show`` writes its field values (the text report passes
        field.format_value, so small negatives read ``-k (p−k)`` there)."""
        vals = " ".join(f"{k}={show(v)}" for k, v in self.fields)
        verb = "requested" if self.side == "request" else "answered"
        missing = "no response" if self.side == "request" else "no request"
        extra = f" (x{self.count})" if self.count != 1 else ""
        if self.row < 0:
            return f"{self.label} {vals}, {verb} by the public inputs (bus boundary), {missing}{extra}"
        return f"{self.label} {vals}, {verb} by {self.who} at row {self.row}, {missing}{extra}"


@dataclass(frozen=True)
class NearMiss:
    """An unmatched request and an unmatched response of the same label that differ in a few fields:
    most likely one message that a forged or miscomputed cell split in two."""

    request: UnmatchedMessage
    response: UnmatchedMessage
    differences: tuple[tuple[str, int, int], ...]  # (field, requested value, answered value)

    def describe(self, show: Callable[[int], str] = str) -> str:
        diffs = ", ".join(f"{k}: {show(a)} requested, {show(b)} answered" for k, a, b in self.differences)
        r, q = self.request, self.response
        return (
            f"the request by {r.who} at row {r.row} and the response by "
            f"{q.who} at row {q.row} differ only in {diffs}"
        )


def near_misses(unmatched: list[UnmatchedMessage], limit: int = 200) -> list[NearMiss]:
    """Pair each unmatched request with the unmatched response of its label that shares the most
    fields (compared by name), when at most half of the shared fields differ. Only the first ``limit``
    requests and, per label, ``limit`` responses are compared: a report shows far fewer, and a trace
    with a whole column forged would otherwise cost (requests x responses)."""
    by_code: dict[int, list[UnmatchedMessage]] = {}
    for u in unmatched:
        if u.side == "response" and len(by_code.setdefault(u.code, [])) < limit:
            by_code[u.code].append(u)
    used: set[int] = set()
    out: list[NearMiss] = []
    for r in [u for u in unmatched if u.side == "request"][:limit]:
        best: tuple[UnmatchedMessage, tuple[tuple[str, int, int], ...]] | None = None
        rf = dict(r.fields)
        for q in by_code.get(r.code, []):
            if id(q) in used:
                continue
            qf = dict(q.fields)
            shared = [k for k in rf if k in qf]
            diffs = tuple((k, rf[k], qf[k]) for k in shared if rf[k] != qf[k])
            if shared and 2 * len(diffs) <= len(shared) and (best is None or len(diffs) < len(best[1])):
                best = (q, diffs)
        if best is not None:
            used.add(id(best[0]))
            out.append(NearMiss(r, best[0], best[1]))
    return out


@dataclass
class BusResult:
    bus: str
    kind: str
    final: int
    expected_final: int
    messages: int
    unmatched: list[UnmatchedMessage] = field(default_factory=list)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> {"request": n, "response": n}
    near: list[NearMiss] = field(default_factory=list)
    # the accumulator column b[0..n-1] built from the trace (b[i+1] from row i), which satisfies the bus
    # constraint ``air.bus.bus_constraint`` on every transition row
    column: np.ndarray | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.unmatched and self.final == self.expected_final

    def summary(self) -> str:
        if self.ok:
            return f"bus {self.bus}: balanced ({self.messages} messages)"
        return (
            f"bus {self.bus}: NOT balanced: {len(self.unmatched)} unmatched message(s); "
            f"final {self.kind} value {self.final}, expected {self.expected_final}"
        )


@dataclass
class BusReport:
    buses: list[BusResult]
    challenges: list[int]

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.buses)

    def render(self, color: bool = False, max_items: int = 20, hex: bool = False) -> str:
        """The text report of every bus; message values as constraint cells print (field.format_value)."""

        def show(v: int) -> str:
            return format_value(v, hex)

        out = []
        for b in self.buses:
            out.append(b.summary())
            for u in b.unmatched[:max_items]:
                out.append(f"  {u.side:8} {u.describe(show)}")
            if len(b.unmatched) > max_items:
                out.append(f"  ... and {len(b.unmatched) - max_items} more")
            for m in b.near[:max_items]:
                out.append(f"  likely  {m.describe(show)}")
            if not b.ok:
                for label, t in b.totals.items():
                    if t.get("request", 0) != t.get("response", 0):
                        out.append(
                            f"  totals {label}: {t.get('request', 0)} requested, {t.get('response', 0)} answered"
                        )
        return "\n".join(out)

    def unmatched_json(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The unmatched messages, at most ``limit`` per bus (``len(b.unmatched)`` counts them all)."""
        return [
            {
                "bus": u.bus,
                "side": u.side,
                "label": u.label,
                "fields": {k: str(v) for k, v in u.fields},
                "row": u.row,
                "operation": u.operation,
                "count": u.count,
                "text": u.describe(),
            }
            for b in self.buses
            for u in b.unmatched[:limit]
        ]

    def near_json(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The likely pairs, at most ``limit`` per bus."""
        return [
            {
                "bus": b.bus,
                "request_row": m.request.row,
                "request_operation": m.request.operation,
                "response_row": m.response.row,
                "response_operation": m.response.operation,
                "differences": [{"field": k, "requested": str(a), "answered": str(v)} for k, a, v in m.differences],
                "text": m.describe(),
            }
            for b in self.buses
            for m in b.near[:limit]
        ]

    def buses_json(self) -> list[dict[str, Any]]:
        return [
            {
                "bus": b.bus,
                "kind": b.kind,
                "ok": b.ok,
                "messages": b.messages,
                "final": str(b.final),
                "expected_final": str(b.expected_final),
                "unmatched_total": len(b.unmatched),
                "likely_pairs_total": len(b.near),
                "totals": b.totals,
            }
            for b in self.buses
        ]
