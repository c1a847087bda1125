"""The hasher chiplet, simplified (docs/src/design/chiplets/hasher.md): its response on b_chip only.

The permutation is not modeled. A hasher row (``s0 = 0``) with ``responds = 1`` answers one request with
the message held in its columns: ``label, addr, node_index, cap0..3, h0..h7`` (the real chiplet derives
the label from its selectors and periodic columns, and the address from the row index; here both are
columns, ``layout.HASHER``).

To come here: the permutation (periodic round constants), the selectors s1..s3 and the real responses.
"""

from __future__ import annotations

from air.air import Message
from air.miden.builder import MidenBuilder, family

BUS = "chiplets"


@family("chiplets.hasher")
def constrain(b: MidenBuilder) -> None:
    hs = b.hasher
    for column in ("chip2", "chip3"):
        b.unchecked(column, "hasher internal selector: the hasher permutation is not modeled")
    response = Message(
        "hasher chiplet response",
        None,
        (("label", hs.label), ("addr", hs.addr), ("node_index", hs.node_index))
        + tuple((f"cap{i}", hs.state[i]) for i in range(4))
        + tuple((f"h{i}", hs.state[4 + i]) for i in range(8)),
    )
    b.respond(
        BUS,
        "v_hasher",
        (1 - hs.s0) * hs.responds,
        (response,),
        factors=("v_hash",),
        doc="simplified hasher responses: the permutation is not modeled (see layout.HASHER)",
    )
