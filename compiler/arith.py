"""Integer operations on constants, with the VM's semantics (division
rounds toward zero): shared by constant declarations and constant folding."""

from __future__ import annotations

from deed.vm.runtime import tdiv, tmod

# source operator -> IR operation
SOURCE_OPS = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "**": "exp",
    "<<": "shl",
    ">>": "shr",
    "&": "band",
    "|": "bor",
    "^": "bxor",
}


def fold_binary(op: str, a: int, b: int) -> int | None:
    """The exact result, or None where the VM would revert (division by zero, huge powers)."""
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op in ("div", "mod"):
        if b == 0:
            return None
        return tdiv(a, b) if op == "div" else tmod(a, b)
    if op == "exp":
        return a**b if 0 <= b <= 256 and abs(a) < 2**256 else None
    if op == "shl":
        return a << b if 0 <= b <= 256 else None
    if op == "shr":
        return a >> b if b >= 0 else None
    if op == "band":
        return a & b
    if op == "bor":
        return a | b
    if op == "bxor":
        return a ^ b
    if op == "min":
        return min(a, b)
    if op == "max":
        return max(a, b)
    return None
