"""The Miden builder: families, the claims table, the per-bus collector, the typed views and flags."""

from __future__ import annotations

import pytest

from air.air import Message
from air.miden.builder import MidenBuilder, family
from air.miden.claims import CLAIMS, claimed
from air.miden.constraints import build
from air.miden.design import DESIGN_LIST, FNHASH_MEM, GATE, SYS_FMP, V18, V19
from air.miden.designs import DESIGNS

TOP_LEVEL = {"system", "decoder", "stack", "range", "chiplets"}


def _selectable(fam: str) -> bool:
    """A family is `system` or `TOP.leaf` (so `air check --only TOP` or `--only TOP.leaf` selects it exactly)."""
    parts = fam.split(".")
    return parts[0] in TOP_LEVEL and (len(parts) == 2 or fam == "system")


@pytest.mark.parametrize("name", [d.name for d in DESIGN_LIST])
def test_every_item_has_a_family(name: str) -> None:
    air = DESIGNS[name]()
    items = {c.name for c in air.constraints}
    items |= {f"bus:{b.name}" for b in air.buses} | {f"bus:{b.name}/{t.name}" for b in air.buses for t in b.terms}
    assert set(air.families) == items
    assert all(_selectable(f) for f in air.families.values()), sorted(set(air.families.values()))


def test_families_follow_the_docs_chapters() -> None:
    fam = DESIGNS["miden-v0.18"]().families
    assert fam["clk"] == "system" and fam["op_bit0_binary"] == "decoder.op_bits"
    assert fam["fmpupdate"] == fam["caller_s0"] == "stack.system_ops"
    assert fam["bus:chiplets/u_mload"] == "stack.io_ops" and fam["bus:chiplets/u_ctrli"] == "decoder.requests"
    assert fam["bus:chiplets/v_mem"] == fam["mem_delta"] == "chiplets.memory"
    assert fam["bus:block_stack"] == "decoder.block_stack" and fam["bus:chiplets"] == "chiplets.bus"
    assert DESIGNS["miden-gate"]().families["gate"] == "stack.io_ops"


def test_claims_by_docs_version_design_source_and_changes() -> None:
    assert claimed(V18, "bus:chiplets/u_syscall") == 7 and claimed(V19, "bus:chiplets/u_syscall") == 6
    assert claimed(V18, "bus:chiplets") == 8 and claimed(V19, "bus:chiplets") == 9
    assert claimed(V19, "bus:chiplets/u_dyncall") == 8 and claimed(FNHASH_MEM, "bus:chiplets/u_dyncall") is None
    assert claimed(FNHASH_MEM, "bus:chiplets") is None  # the design changed it: the docs' 9 does not apply
    assert claimed(V18, "fmpupdate") == 8 and claimed(SYS_FMP, "fmpupdate") == 9  # the seed discussion's own
    assert claimed(GATE, "gate") == 9 and claimed(V18, "gate") is None
    assert claimed(V18, "bus:chiplets/u_call") is None  # v0.18's CALL sits in u_ctrli
    assert all(v in ("v0.18", "v0.19") for v, _ in CLAIMS)


def test_terms_from_several_families_on_one_bus_keep_call_order() -> None:
    air = build(V19)
    names = [t.name for t in next(b for b in air.buses if b.name == "chiplets").terms]
    assert names[:2] == ["u_ctrli", "u_call"] and names[-2:] == ["v_krom_init", "v_krom_call"]
    assert names.index("v_bp") < names.index("v_hout") < names.index("v_bitwise") < names.index("v_mem")
    assert names.index("u_end") < names.index("u_mload")
    buses = [b.name for b in air.buses]  # each bus built once, in declaration order (families add buses)
    assert len(set(buses)) == len(buses) and buses.index("block_stack") < buses.index("chiplets")


def test_a_term_on_an_undeclared_bus_and_a_bus_declared_twice_are_refused() -> None:
    b = MidenBuilder(V19)
    msg = Message("m", 1, (("x", b.stack.s[0]),))
    b.request("nowhere", "u_x", b.flags.op("NOOP"), (msg,))
    with pytest.raises(ValueError, match="undeclared"):
        b.finish()
    b = MidenBuilder(V19)
    b.bus("p", "multiset", "p")
    with pytest.raises(ValueError, match="declared twice"):
        b.bus("p", "multiset", "p")


def test_family_decorator_records_and_restores() -> None:
    @family("stack.test")
    def inner(b: MidenBuilder) -> None:
        b.transition("t_inner", b.stack.s[0])

    @family("stack")
    def outer(b: MidenBuilder) -> None:
        inner(b)
        b.transition("t_outer", b.stack.s[1])

    b = MidenBuilder(V19)
    outer(b)
    assert b.families == {"t_inner": "stack.test", "t_outer": "stack"} and b.current_family == ""


def test_views_and_flags() -> None:
    b = MidenBuilder(V18)
    assert b.system.fmp is not None and len(b.system.fn_hash) == 4 and b.system.in_kernel is None
    assert [c.column for c in b.memory.v] == ["chip10", "chip11", "chip12", "chip13"]
    assert b.krom.s_first.column == "chip5" and b.decoder.f_dyncall is None
    assert b.flags.has("FMPADD") and not MidenBuilder(V19).flags.has("FMPADD")
    assert b.flags.newctx == b.flags.op("CALL") + b.flags["DYNCALL"]
    g = MidenBuilder(GATE)
    assert g.system.fmp is None and g.system.gate is not None and g.system.fn_hash == ()
