"""The kernel ROM chiplet (docs/src/design/chiplets/kernel_rom.md; columns per v0.18/v0.19
air/src/trace/chiplets/kernel_rom.rs and mod.rs: s0..s4, s_first = chip5, r0..r3 = chip6..chip9).

With ``f_krom = s0 s1 s2 s3 (1 - s4)`` (degree 5, chiplets/main.md: degree 5 + deg(c_krom)):

    f_krom (s_first^2 - s_first) = 0                                   (2 + 5 = 7)
    f_ace s3' (1 - s_first') = 0        first kernel ROM row opens a block (deg(f_prev) + 2 = 6)
    f_krom (1 - s4')(1 - s_first')(r_i' - r_i) = 0   for i = 0..3      (3 + 5 = 8)

Responses on b_chip (``v_krom = f_krom (s_first v_init + (1 - s_first) v_call)``, degree 5 + 2 = 7): a
procedure's first row (s_first = 1) answers the verifier's KERNEL_PROC_INIT request (48: a bus boundary message
per row of the public table ``kernel_procedures``), every other row a SYSCALL's KERNEL_PROC_CALL request (16);
both carry the digest r0..r3. kernel_rom.md:67 says s4 and
s_first are the same column; that predates the ACE chiplet (the fifth selector), and the code has them apart.
"""

from __future__ import annotations

from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"
DOCK = DOC + "chiplets/kernel_rom.md"


@family("chiplets.kernel_rom")
def constrain(b: MidenBuilder) -> None:
    k = b.krom
    f_krom = b.chiplets.f_krom
    sf = k.s_first
    b.constrain("krom_s_first_binary", flag=f_krom, body=sf**2 - sf, doc=DOCK)
    # the docs' flag f_ace s3' also fires when padding (s4' = 1) follows the ACE chiplet, which is what the processor
    # writes when the kernel ROM is empty (a program without kernel calls: chiplets/mod.rs fill_trace leaves the
    # padding's other columns 0, so s_first' = 0 there): (1 - s4') keeps it to a kernel ROM row (one degree more)
    s4 = b.chiplets.s[4]
    b.constrain(
        "krom_s_first_init", flag=b.chiplets.f_ace * k.s[3].next * (1 - s4.next), body=1 - sf.next, doc=DOCK
    )
    for i in range(4):
        b.constrain(
            f"krom_r{i}_same",
            flag=f_krom,
            body=(1 - k.s[4].next) * (1 - sf.next) * (k.r[i].next - k.r[i]),
            doc=DOCK,
        )
    init = M.kernel_rom("kernel procedure init", L.KERNEL_PROC_INIT, k.r)
    call = M.kernel_rom("kernel procedure call", L.KERNEL_PROC_CALL, k.r)
    b.respond(BUS, "v_krom_init", f_krom * sf, (init,), factors=("v_init",), doc=DOCK)
    b.respond(BUS, "v_krom_call", f_krom * (1 - sf), (call,), factors=("v_call",), doc=DOCK)
    # b_chip * v_init = 1 in the first row (chiplets/main.md, kernel_rom.md): the verifier requests every kernel
    # procedure's digest, a public table of rows r0..r3, once
    table = b.air.public_table("kernel_procedures", 4, "the kernel's procedure digests (one row each)")
    b.boundary_message(BUS, "request", M.kernel_rom("kernel procedure init", L.KERNEL_PROC_INIT, k.r), table=table)
