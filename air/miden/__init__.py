"""The Miden VM model: layouts, opcodes, flags and the constraints of each design (no CLI here)."""
