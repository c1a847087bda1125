"""The built-in AIRs, by name: (name, "module:callable", description). Data only: ``air.registry`` reads it
(this module imports nothing of ``air``), and each AIR's module is imported only when that AIR is asked for."""

from __future__ import annotations

__all__ = ["BUILTINS"]

BUILTINS: tuple[tuple[str, str, str], ...] = (
    ("fibonacci", "air.examples.fibonacci:fibonacci_air", "Fibonacci: two columns, a' = b, b' = a + b"),
    (
        "stack-machine",
        "air.examples.stack_machine:stack_machine_air",
        "A small stack machine: 7-bit opcode in binary columns, flags as products of bits",
    ),
    *(
        (name, f"air.miden.designs:{fn}", desc)
        for name, fn, desc in (
            ("miden-v0.18", "miden_v0_18", "Miden VM v0.18.0: fmp/in_syscall/fn_hash columns, 73 columns"),
            (
                "miden-sys-fmp",
                "miden_sys_fmp",
                "Seed design: sys_fmp column + in_kernel; FMPUPDATE/FMPADD by in_kernel",
            ),
            ("miden-gate", "miden_gate", "Seed design: system data in memory (0..4) guarded by a gate column"),
            ("miden-v0.19", "miden_v0_19", "Miden VM v0.19.0 as shipped: fmp in memory at FMP_ADDR, 71 columns"),
            ("miden-fnhash-mem", "miden_fnhash_mem", "v0.19 + fn_hash written to memory by CALL/DYNCALL (over budget)"),
            ("miden-fnhash-mem-slot", "miden_fnhash_mem_slot", "fnhash-mem with DYNCALL moved to a degree-4 flag slot"),
            (
                "miden-fnhash-mem-column",
                "miden_fnhash_mem_column",
                "fnhash-mem with an f_dyncall degree-reduction column",
            ),
        )
    ),
)
