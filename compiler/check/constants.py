"""Compile-time values: constant expressions, and numbers in messages."""

from __future__ import annotations

from .. import ast
from ..arith import SOURCE_OPS, fold_binary
from ..symbols import ConstInfo

MAX_LOOP_BOUND = 100_000_000


def number_text(value: int) -> str:
    """An integer for a message: constant arithmetic can make one too long to
    print (Python refuses str() past 4,300 digits), so past 256 bits, its size."""
    if value.bit_length() <= 256:
        return str(value)
    return f"a {value.bit_length()}-bit {'negative ' if value < 0 else ''}number"


def const_eval(expr: ast.Expr, consts: dict[str, ConstInfo]) -> object:
    """Value of a compile-time constant expression, or None."""
    if isinstance(expr, ast.IntLit | ast.BoolLit | ast.StrLit | ast.BytesLit):
        return expr.value
    if isinstance(expr, ast.Name) and expr.id in consts:
        return consts[expr.id].value
    if isinstance(expr, ast.Attribute) and isinstance(expr.obj, ast.Name):
        qualified = f"{expr.obj.id}.{expr.attr}"  # a library's constant
        return consts[qualified].value if qualified in consts else None
    if isinstance(expr, ast.BinOp):
        a, b = const_eval(expr.left, consts), const_eval(expr.right, consts)
        if (
            not (isinstance(a, int) and isinstance(b, int))
            or isinstance(a, bool)
            or isinstance(b, bool)
        ):
            return None
        return fold_binary(SOURCE_OPS[expr.op], a, b)
    if isinstance(expr, ast.Neg):
        v = const_eval(expr.operand, consts)
        return -v if isinstance(v, int) and not isinstance(v, bool) else None
    return None
