"""Cryptographic operations (docs/src/design/stack/crypto_ops.md at v0.18.0 and v0.19.0).

Hasher requests on b_chip (``h_i`` are the user-op helpers, decoder columns ``h_{i+2}``; a hasher message is
``alpha_2 addr + alpha_3 node_index + sum_j alpha_{4+j} state_j``, state = capacity then rate):

    HPERM     v_in(LINEAR_HASH, h_0, 0, s11..s0) * v_out(RETURN_STATE, h_0 + 7, 0, s11'..s0')      flag 5 + 2
    MPVERIFY  v_in(MP_VERIFY, h_0, s5, rate s3..s0) * v_out(RETURN_HASH, h_0 + 8 s4 - 1, 0, rate s9..s6)
    MRUPDATE  v_in(MR_UPDATE_OLD, h_0, s5, s3..s0) * v_out(RETURN_HASH, h_0 + 8 s4 - 1, 0, s9..s6)
              * v_in(MR_UPDATE_NEW, h_0 + 8 s4, s5, s13..s10) * v_out(RETURN_HASH, h_0 + 16 s4 - 1, 0, s3'..s0')
                                                                                                flag 4 + 4 = 8

Labels are the hasher's transition labels plus 16 (first row of a cycle) or 32 (last row), as the processor
sends them (bus/hasher.rs; air/src/trace/chiplets/hasher.rs): 19, 41, 27, 33, 23, 31.

EVALCIRCUIT: one ACE request ``ACE_INIT(clk, ctx, ptr = s0, n_read = s1, n_eval = s2)`` (flag 5 + 1).

HORNERBASE / HORNEREXT: 8 base-field (4 extension-field) Horner steps at alpha = h_0 + h_1 u, through
tmp = h_4 + h_5 u, in F_p[u]/(u^2 - u + 2); the accumulator sits in s14, s15. Four constraints each
(tmp_0, tmp_1, acc_0', acc_1'): degree 5 + flag 4 = 9 (base), 3 + flag 5 = 8 (ext). One memory request
reads the word ``[alpha_0, alpha_1, k_0, k_1] = h_0..h_3`` at s13. The model follows the processor's element
order (horner_ops.rs: acc = s15 + s14 u, extension coefficient i = s_{2i+1} + s_{2i} u, and the word
h_0, h_1, h_2, h_3); the docs write acc = (s14, s15), coefficient (s_{2i}, s_{2i+1}) and h_3, h_4 in the memory
request. The degrees are the same. These constraints are not in the Rust AIR at either tag.

FRIE2F4: the docs leave its constraints as a TODO (issue #567); not modeled.
"""

from __future__ import annotations

import sympy as sp

from air.miden import layout as L
from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family

BUS = "chiplets"
DOCC = DOC + "stack/crypto_ops.md"

# air/src/trace/chiplets/hasher.rs: LINEAR_HASH 3, MP_VERIFY 11, MR_UPDATE_OLD 7, MR_UPDATE_NEW 15,
# RETURN_HASH 1, RETURN_STATE 9; +16 on a cycle's first row, +32 on its last (processor bus/hasher.rs).
LINEAR_HASH_IN = 3 + 16
MP_VERIFY_IN = 11 + 16
MR_UPDATE_OLD_IN = 7 + 16
MR_UPDATE_NEW_IN = 15 + 16
RETURN_HASH_OUT = 1 + 32
RETURN_STATE_OUT = 9 + 32
# air/src/trace/chiplets/ace.rs: ACE_INIT_LABEL = 0b0111 + 1
ACE_INIT_LABEL = 8

Ext = tuple[sp.Expr, sp.Expr]


def ext_mul(a: Ext, b: Ext) -> Ext:
    """(a0 + a1 u)(b0 + b1 u) with u^2 = u - 2 (Miden's quadratic extension of Goldilocks)."""
    return (a[0] * b[0] - 2 * a[1] * b[1], a[0] * b[1] + a[1] * b[0] + a[1] * b[1])


def horner(acc: Ext, alpha: Ext, coeffs: list[Ext]) -> Ext:
    """``(((acc alpha + c_0) alpha + c_1) ...) alpha + c_last``."""
    for co in coeffs:
        m = ext_mul(acc, alpha)
        acc = (m[0] + co[0], m[1] + co[1])
    return acc


def zeros(n: int) -> list[sp.Expr]:
    return [sp.Integer(0)] * n


@family("stack.crypto_ops")
def constrain(b: MidenBuilder) -> None:
    f, s = b.flags, b.stack.s
    hu = b.decoder.h[2:8]  # user-op helpers h_0..h_5
    ctx, clk = b.system.ctx, b.system.clk
    addr = hu[0]

    # --- HPERM ------------------------------------------------------------------------------------------
    if f.has("HPERM"):
        v_in = M.hasher_state(
            "hasher linear hash (HPERM input)", LINEAR_HASH_IN, addr, 0, [s[11 - j] for j in range(12)]
        )
        v_out = M.hasher_state(
            "hasher return state (HPERM output)", RETURN_STATE_OUT, addr + 7, 0, [s[11 - j].next for j in range(12)]
        )
        b.request(
            BUS,
            "u_hperm",
            f.op("HPERM"),
            (v_in, v_out),
            factors=("v_input", "v_output"),
            operation="HPERM",
            doc=DOCC + "#hperm",
        )

    # --- MPVERIFY, MRUPDATE -----------------------------------------------------------------------------
    def rate4(word: list[sp.Expr]) -> list[sp.Expr]:
        return zeros(4) + word + zeros(4)

    depth, index = s[4], s[5]
    node = [s[3 - j] for j in range(4)]
    root = [s[9 - j] for j in range(4)]
    mp_in = M.hasher_state("hasher Merkle path verify (input)", MP_VERIFY_IN, addr, index, rate4(node))
    mp_out = M.hasher_state("hasher return hash (root)", RETURN_HASH_OUT, addr + 8 * depth - 1, 0, rate4(root))
    if f.has("MPVERIFY"):
        b.request(
            BUS,
            "u_mpverify",
            f.op("MPVERIFY"),
            (mp_in, mp_out),
            factors=("v_input", "v_output"),
            operation="MPVERIFY",
            doc=DOCC + "#mpverify",
        )
    if f.has("MRUPDATE"):
        old_in = M.hasher_state("hasher Merkle update old (input)", MR_UPDATE_OLD_IN, addr, index, rate4(node))
        new_node = [s[13 - j] for j in range(4)]
        new_root = [s[3 - j].next for j in range(4)]
        new_in = M.hasher_state(
            "hasher Merkle update new (input)", MR_UPDATE_NEW_IN, addr + 8 * depth, index, rate4(new_node)
        )
        new_out = M.hasher_state(
            "hasher return hash (new root)", RETURN_HASH_OUT, addr + 16 * depth - 1, 0, rate4(new_root)
        )
        b.request(
            BUS,
            "u_mrupdate",
            f.op("MRUPDATE"),
            (old_in, mp_out, new_in, new_out),
            factors=("v_inputold", "v_outputold", "v_inputnew", "v_outputnew"),
            operation="MRUPDATE",
            doc=DOCC + "#mrupdate",
        )

    # --- HORNERBASE, HORNEREXT --------------------------------------------------------------------------
    alpha: Ext = (hu[0], hu[1])
    tmp: Ext = (hu[4], hu[5])
    acc: Ext = (s[15], s[14])
    acc_next: Ext = (s[15].next, s[14].next)
    base = [(s[i], sp.Integer(0)) for i in range(8)]
    ext = [(s[2 * i + 1], s[2 * i]) for i in range(4)]
    for op, coeffs, half in (("HORNERBASE", base, 4), ("HORNEREXT", ext, 2)):
        if not f.has(op):
            continue
        n = op.lower()
        first = horner(acc, alpha, list(reversed(coeffs))[:half])
        second = horner(tmp, alpha, list(reversed(coeffs))[half:])
        for k in range(2):
            b.constrain(f"{n}_tmp{k}", flag=f.op(op), body=tmp[k] - first[k], operation=op, doc=DOCC + f"#{n}")
        for k in range(2):
            b.constrain(f"{n}_acc{k}", flag=f.op(op), body=acc_next[k] - second[k], operation=op, doc=DOCC + f"#{n}")
        msg = M.memory("memory read word (alpha)", L.MEMORY_READ_WORD, ctx, s[13], clk, list(hu[:4]))
        b.request(
            BUS,
            f"u_{n}",
            f.op(op),
            (msg,),
            factors=("m_alpha",),
            operation=op,
            doc=DOCC + f"#{n} (word h_0..h_3 as the processor; the docs write h_0, h_1, h_3, h_4)",
        )

    # --- EVALCIRCUIT --------------------------------------------------------------------------------------
    if f.has("EVALCIRCUIT"):
        msg = M.ace_init(ACE_INIT_LABEL, clk, ctx, s[0], s[1], s[2])
        b.request(
            BUS,
            "u_evalcircuit",
            f.op("EVALCIRCUIT"),
            (msg,),
            factors=("v_ace",),
            operation="EVALCIRCUIT",
            doc=DOCC + "#evalcircuit (field order of the processor's AceMessage)",
        )
