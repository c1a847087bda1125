"""Rebuild the traces of the AirScript examples (air/examples/airscript/*.air), honest and broken.

    .venv/bin/python traces/airscript/regenerate.py

Every row is computed here from the semantics each .air file describes (Python ints and numpy; no AIR code
is imported: only the trace writer, ``air.trace.save_trace``). Columns are named as the files declare them,
group members as ``name[i]``; public inputs likewise (``stack_in[0]``). The broken traces change one cell
(so that one named constraint fails) or one bus message (so that it is unmatched); what they break is
written in their metadata (``meta.broken``) and in INDEX.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from air.trace import save_trace

HERE = Path(__file__).resolve().parent
SOURCE = "air/examples/airscript"
GENERATOR = "traces/airscript/regenerate.py"
Columns = dict[str, list[int]]


def fibonacci(n: int = 8) -> tuple[Columns, dict[str, int]]:
    """Rows (a, b) = (F(i+1), F(i+2)) from start = (1, 1); result = the last b."""
    a, b = [1], [1]
    for _ in range(n - 1):
        a.append(b[-1])
        b.append(a[-2] + b[-1])
    return {"a": a, "b": b}, {"start[0]": 1, "start[1]": 1, "result[0]": b[-1]}


# bitwise.air: one operation on 16-bit values per 8-row cycle, 2 bits per row, most significant chunk first
BITWISE_OPS = [("and", 0xB6C3, 0x5A0F), ("xor", 0xB6C3, 0x5A0F)]


def bitwise() -> tuple[Columns, dict[str, int]]:
    cols: Columns = {k: [] for k in ("s", "a", "b", "a_bits[0]", "a_bits[1]", "b_bits[0]", "b_bits[1]", "z")}
    for op, x, y in BITWISE_OPS:
        s = 1 if op == "xor" else 0
        acc_a = acc_b = acc_z = 0
        for r in range(8):
            shift = 2 * (7 - r)  # row r holds bits shift+1, shift of the inputs
            ca, cb = (x >> shift) & 3, (y >> shift) & 3
            cz = (ca ^ cb) if s else (ca & cb)
            acc_a, acc_b, acc_z = 4 * acc_a + ca, 4 * acc_b + cb, 4 * acc_z + cz
            for k, v in (
                ("s", s), ("a", acc_a), ("b", acc_b), ("z", acc_z),
                ("a_bits[0]", ca & 1), ("a_bits[1]", ca >> 1), ("b_bits[0]", cb & 1), ("b_bits[1]", cb >> 1),
            ):  # fmt: skip
                cols[k].append(v)
        assert acc_z == ((x ^ y) if s else (x & y))
    return cols, {"last_result[0]": cols["z"][-1]}


# vm.air: the program, one operation per row (rows 0..14 are checked; row 15, the last, only by boundaries)
VM_PROGRAM = ["add", "mul", "store", "add", "add", "mul", "store", "nop", "add"] + ["nop"] * 7
VM_STACK_IN = (3, 4)
OPCODE = {"nop": (0, 0), "add": (1, 0), "mul": (0, 1), "store": (1, 1)}  # (b[0], b[1]), vm_ops.air's flags
RC_MAX = 15


def vm() -> tuple[Columns, dict[str, int]]:
    n = len(VM_PROGRAM)
    x, y = VM_STACK_IN
    cols: Columns = {k: [0] * n for k in ("b[0]", "b[1]", "s[0]", "s[1]", "clk", "m_sel", "m_addr", "m_val")}
    stores: list[tuple[int, int]] = []
    addends: list[int] = []
    for i, op in enumerate(VM_PROGRAM):
        cols["b[0]"][i], cols["b[1]"][i] = OPCODE[op]
        cols["s[0]"][i], cols["s[1]"][i], cols["clk"][i] = x, y, i
        if i == n - 1:
            break  # the last row's operation is never applied (no next row)
        if op == "add":
            addends.append(y)
            x = x + y
        elif op == "mul":
            x = x * y
        elif op == "store":
            stores.append((y, x))  # (address, value)
            x, y = 0, y + 1
    # the memory chiplet: its rows at the end, each inserting one stored (address, value); the last row's
    # insert is never put on the bus (a bus reads rows 0..n-2), so it repeats the row before it
    first = n - 1 - len(stores)
    for j, i in enumerate(range(first, n)):
        addr, val = stores[min(j, len(stores) - 1)]
        cols["m_sel"][i], cols["m_addr"][i], cols["m_val"][i] = 1, addr, val
    # the range-check table: r_val = 0..RC_MAX, r_mult = how often ADD removes that value (rows 0..n-2 count)
    assert n == RC_MAX + 1 and all(v < n - 1 for v in addends)
    cols["r_val"] = list(range(n))
    cols["r_mult"] = [addends.count(v) for v in range(n - 1)] + [0]
    pis = {"stack_in[0]": VM_STACK_IN[0], "stack_in[1]": VM_STACK_IN[1], "stack_out[0]": x, "stack_out[1]": y}
    return cols, pis


def broken(cols: Columns, column: str, row: int, value: int) -> Columns:
    out = {k: list(v) for k, v in cols.items()}
    assert out[column][row] != value
    out[column][row] = value
    return out


def traces() -> list[tuple[str, str, Columns, dict[str, int], str]]:
    """(file name, .air file, columns, public inputs, what is broken: "" for an honest trace)."""
    fib, fib_pis = fibonacci()
    bit, bit_pis = bitwise()
    vmc, vm_pis = vm()
    return [
        ("fibonacci", "fibonacci.air", fib, fib_pis, ""),
        # a[7] = 22, not b[6] = 21: only `enf a' = b` fails (on row 6); `b' = a + b` on row 6 reads a[6], b[6], b[7]
        ("fibonacci_broken", "fibonacci.air", broken(fib, "a", 7, 22), fib_pis, "a[7]: enf a' = b fails on row 6"),
        ("bitwise", "bitwise.air", bit, bit_pis, ""),
        # z on row 11 (cycle 1, XOR, row 3 of the cycle) off by one: the XOR arm of the transition match fails on
        # rows 10 and 11 (k1 = 1 on both); k0 = 0 there, so the first-row match holds
        (
            "bitwise_broken",
            "bitwise.air",
            broken(bit, "z", 11, bit["z"][11] + 1),
            bit_pis,
            "z[11]: the XOR arm of the z transition match fails on rows 10 and 11",
        ),
        ("vm", "vm.air", vmc, vm_pis, ""),
        # clk on row 7 is 8: the clock constraint (b[0]*(clk'-clk-1) + (1-b[0])*(clk'-clk-1)) fails on rows 6 and 7
        ("vm_broken", "vm.air", broken(vmc, "clk", 7, 8), vm_pis, "clk[7]: the clock constraint fails on rows 6, 7"),
        # the memory row 14 inserts (5, 51) while STORE on row 6 removed (5, 50): both messages are unmatched
        (
            "vm_unmatched",
            "vm.air",
            broken(vmc, "m_val", 14, 51),
            vm_pis,
            "m_val[14]: mem bus insert (5, 51) and remove (5, 50) unmatched",
        ),
    ]


def main() -> None:
    lines = ["# Traces of the AirScript examples", "", f"Regenerate: `.venv/bin/python {GENERATOR}`.", ""]
    lines += ["| trace | AIR | rows | broken |", "|---|---|---|---|"]
    for name, air_file, cols, pis, what in traces():
        arrays = {k: np.array(v, dtype=np.uint64) for k, v in cols.items()}
        meta = {"airscript": f"{SOURCE}/{air_file}", "generator": GENERATOR}
        if what:
            meta["broken"] = what
        save_trace(HERE / f"{name}.npz", arrays, public_inputs=pis, meta=meta)
        n = len(next(iter(cols.values())))
        lines.append(f"| {name}.npz | {SOURCE}/{air_file} | {n} | {what or 'honest'} |")
    (HERE / "INDEX.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
