"""The kernel ROM chiplet's response on b_chip (docs/src/design/chiplets/kernel_rom.md).

On kernel ROM rows (``f_krom = s0 s1 s2 s3``) that are not a procedure's first row (``s_first = 0``):

    v_krom = f_krom (1 - s_first) * (alpha_0 + alpha_1 KERNEL_PROC_CALL + sum_i alpha_{2+i} r_i)

To come here: the kernel ROM's own constraints (s_first binary, digest unchanged within a procedure).
"""

from __future__ import annotations

from air.air import Message
from air.miden import layout as L
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"


@family("chiplets.kernel_rom")
def constrain(b: MidenBuilder) -> None:
    k = b.krom
    f_krom = k.s[0] * k.s[1] * k.s[2] * k.s[3]
    response = Message("kernel ROM procedure call", L.KERNEL_PROC_CALL, tuple((f"r{i}", k.r[i]) for i in range(4)))
    b.respond(
        BUS, "v_krom", f_krom * (1 - k.s_first), (response,), factors=("v_call",), doc=DOC + "chiplets/kernel_rom.md"
    )
