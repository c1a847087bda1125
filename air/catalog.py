"""The built-in AIRs, by name. Each entry is imported only when asked for."""

from air.registry import register

register("fibonacci", "air.examples.fibonacci:fibonacci_air", "Fibonacci: two columns, a' = b, b' = a + b")
register(
    "stack-machine",
    "air.examples.stack_machine:stack_machine_air",
    "A small stack machine: 7-bit opcode in binary columns, flags as products of bits",
)
