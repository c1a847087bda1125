"""Selecting families of an AIR (`air check --only`): exact leaves, dotted prefixes, whole buses, bad names."""

from __future__ import annotations

import pytest

from air.air import Air
from air.miden.designs import DESIGNS
from air.select import UnknownFamily, select_families


def test_a_leaf_keeps_only_its_constraints_and_no_foreign_bus() -> None:
    air = DESIGNS["miden-v0.19"]()
    part, sel = select_families(air, ["chiplets.memory"])
    assert part.constraints and all(air.families[c.name] == "chiplets.memory" for c in part.constraints)
    assert {c.name for c in part.constraints} == {c.name for c in air.constraints if c.name.startswith("mem_")}
    assert part.buses == [] and set(sel.buses_skipped) == {b.name for b in air.buses}
    assert sel.constraints_kept + sel.constraints_skipped == len(air.constraints)
    assert len(air.constraints) > len(part.constraints)  # the original is untouched


def test_a_prefix_selects_sub_families_and_buses_whole() -> None:
    air = DESIGNS["miden-v0.18"]()
    part, sel = select_families(air, ["decoder"])
    fams = {air.families[c.name] for c in part.constraints}
    assert "decoder.op_bits" in fams and all(f.startswith("decoder.") for f in fams)
    block_stack = next(b for b in part.buses if b.name == "block_stack")
    assert block_stack.terms == next(b for b in air.buses if b.name == "block_stack").terms
    assert "chiplets" in sel.buses_skipped and "checked only families decoder" in sel.summary()


def test_a_partial_dotted_name_is_not_a_prefix() -> None:
    with pytest.raises(UnknownFamily, match="no family 'stack.io'"):
        select_families(DESIGNS["miden-v0.18"](), ["stack.io"])


def test_an_air_without_families_refuses() -> None:
    air = Air("plain", "no families", budget=2)
    (x,) = air.columns("main", ["x"])
    air.transition("t", x.next - x)
    with pytest.raises(UnknownFamily, match="no constraint families"):
        select_families(air, ["system"])


def test_air_check_only_says_what_it_left_out(air_proc) -> None:
    import json
    import subprocess
    import sys

    def air_proc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "air", *args], capture_output=True, text=True, timeout=300)

    r = air_proc("check", "traces/ordinary/miden-v0.19.npz", "--only", "chiplets.memory", "--format", "json")
    assert r.returncode == 0, r.stderr
    only = json.loads(r.stdout)["checked_against"]["only"]
    assert only["families"] == ["chiplets.memory"] and only["buses_kept"] == []
    assert only["constraints_skipped"] > 0 and {"block_stack", "chiplets"} <= set(only["buses_skipped"])
    r = air_proc("check", "traces/ordinary/miden-v0.19.npz", "--only", "chiplets.memory")
    assert "[only chiplets.memory]" in r.stdout and "skipped" in r.stdout
    r = air_proc("check", "traces/ordinary/miden-v0.19.npz", "--only", "stack.io")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no family 'stack.io'" in r.stderr


def test_family_counts_add_up_to_the_air() -> None:
    from air.select import family_counts

    air = DESIGNS["miden-v0.19"]()
    counts = family_counts(air)
    assert sum(c.constraints for c in counts) == len(air.constraints)
    assert sum(c.bus_terms for c in counts) == sum(len(b.terms) for b in air.buses)
    mem = next(c for c in counts if c.family == "chiplets.memory")
    assert mem.transition == 19  # chiplets/memory.md: 19 constraints
    assert next(c for c in counts if c.family == "chiplets.bus").buses == ("chiplets", "chiplets_vtable")
