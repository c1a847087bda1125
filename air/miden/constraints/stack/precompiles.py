"""LOGPRECOMPILE, opcode 90 (v0.19.0: docs/src/design/stack/precompiles.md, crypto_ops.md#log_precompile).

``[COMM, TAG, PAD, ...] -> [R1, R0, CAP_NEXT, ...]`` with ``[CAP_NEXT, R0, R1] = RPO([CAP_PREV, TAG, COMM])``;
the user-op helpers hold the hasher address ``h_0`` and ``CAP_PREV = h_1..h_4`` (decoder columns h2..h6).

* b_chip: ``v_in(LINEAR_HASH, h_0, 0, [h_1..h_4, s7..s4, s3..s0]) * v_out(RETURN_STATE, h_0 + 7, 0,
  [s11'..s8', s7'..s4', s3'..s0'])``: flag 5 + 2 = 7, like HPERM. The docs put CAP_PREV at alpha_3..6, TAG at
  alpha_7..10, COMM at alpha_11..14 in the input (one below the output's alpha_4..15); the processor
  (``build_log_precompile_request``) uses alpha_4..15 for both, which the model follows.
* chiplets virtual table: ``b_vtable' * v_rem = b_vtable * v_ins`` with ``v_rem = alpha_0 + alpha_1 * 90 +
  sum alpha_{2+j} CAP_PREV_j`` (a request) and ``v_ins`` the same on ``CAP_NEXT = s11'..s8'`` (a response); flag
  5 + 1 = 6 each. Its boundary (v0.19.0 air/src/constraints/chiplets/mod.rs ``get_aux_assertions_first_step``:
  the vtable starts at ``empty_msg / final_msg``): the empty state (CAP = 0) is a response and the final state, the
  public inputs ``pc_transcript_state0..3`` (``PublicInputs::pc_transcript_state``), a request, so that the
  transcript's chain of removals and insertions balances.

The docs state no degree for these terms. A design without the opcode (v0.18) has none of this.
"""

from __future__ import annotations

import sympy as sp

from air.miden import messages as M
from air.miden.builder import DOC, MidenBuilder, family
from air.miden.constraints.stack.crypto_ops import LINEAR_HASH_IN, RETURN_STATE_OUT

DOCP = DOC + "stack/crypto_ops.md#log_precompile, stack/precompiles.md"


@family("stack.precompiles")
def constrain(b: MidenBuilder) -> None:
    f, s = b.flags, b.stack.s
    if not f.has("LOGPRECOMPILE"):
        return
    hu = b.decoder.h[2:8]
    flag = f.op("LOGPRECOMPILE")
    label = b.design.opcodes["LOGPRECOMPILE"]  # LOG_PRECOMPILE_LABEL = OPCODE_LOGPRECOMPILE (air/src/trace/mod.rs)
    addr = hu[0]
    cap_prev: list[sp.Expr] = list(hu[1:5])
    tag = [s[7 - i] for i in range(4)]
    comm = [s[3 - i] for i in range(4)]
    cap_next = [s[11 - i].next for i in range(4)]
    r0 = [s[7 - i].next for i in range(4)]
    r1 = [s[3 - i].next for i in range(4)]

    v_in = M.hasher_state("hasher linear hash (LOGPRECOMPILE input)", LINEAR_HASH_IN, addr, 0, cap_prev + tag + comm)
    v_out = M.hasher_state(
        "hasher return state (LOGPRECOMPILE output)", RETURN_STATE_OUT, addr + 7, 0, cap_next + r0 + r1
    )
    b.request(
        "chiplets",
        "u_logprecompile",
        flag,
        (v_in, v_out),
        factors=("v_input", "v_output"),
        operation="LOGPRECOMPILE",
        doc=DOCP + " (alphas as the processor)",
    )
    v_rem = M.log_precompile_state("precompile transcript state (remove CAP_PREV)", label, cap_prev)
    v_ins = M.log_precompile_state("precompile transcript state (insert CAP_NEXT)", label, cap_next)
    b.request(
        "chiplets_vtable",
        "u_logprecompile_rem",
        flag,
        (v_rem,),
        factors=("v_rem",),
        operation="LOGPRECOMPILE",
        doc=DOCP,
    )
    final = [b.air.public_input(f"pc_transcript_state{i}", "the final precompile transcript state") for i in range(4)]
    empty = M.log_precompile_state("precompile transcript state (empty, initial)", label, [0, 0, 0, 0])
    b.boundary_message("chiplets_vtable", "response", empty)
    b.boundary_message(
        "chiplets_vtable", "request", M.log_precompile_state("precompile transcript state (final)", label, final)
    )
    b.respond(
        "chiplets_vtable",
        "v_logprecompile_ins",
        flag,
        (v_ins,),
        factors=("v_ins",),
        operation="LOGPRECOMPILE",
        doc=DOCP,
    )
