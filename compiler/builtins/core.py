"""require, send, min, max, len, empty and range."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast, ir
from .. import types as T
from .registry import (
    Builtin,
    emit_opcode,
    register,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..lower import _FunctionLowerer

# ------------------------------------------------------------ require, send, min, max, len


def _check_require(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BOOL)
    if len(e.args) == 2:
        t = fc.expr(e.args[1])
        if not isinstance(t, T.StringType) and t != T.ERROR:
            fc.r.error(
                "E0201",
                f"the reason of require or assert is a string, found {t}",
                e.args[1].span,
            )
    return T.NONE


def _not_a_value(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    raise AssertionError(f"{e.ref.builtin.name} is a statement")


register(
    Builtin(
        "require",
        "require(condition[, reason])",
        'reverts with `reason` (default "requirement failed") unless `condition` holds',
        (1, 2),
        _check_require,
        lower=_not_a_value,
        lower_statement=lambda lw, e: lw.require(e),
        opcodes=("REQUIRE",),
        on_error=T.NONE,
    )
)


def _check_send(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.ADDRESS)
    fc.expect(e.args[1], T.UINT)
    fc.fn.writes.append(e)
    return T.NONE


def _lower_send(lw: _FunctionLowerer, e: ast.Call) -> None:
    lw.emit(ir.Send(lw.value(e.args[0], T.ADDRESS), lw.value(e.args[1], T.UINT)))


register(
    Builtin(
        "send",
        "send(to, amount)",
        "pays `amount` of this contract's native balance to `to`; reverts if it cannot",
        (2,),
        _check_send,
        lower=_not_a_value,
        lower_statement=_lower_send,
        opcodes=("SEND",),
        on_error=T.NONE,
    )
)


def _check_min_max(fc: FunctionChecker, e: ast.Call) -> T.Type:
    return fc.binop(ast.BinOp("+", e.args[0], e.args[1], span=e.span), None)


def _lower_min_max(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    return ir.Binary(e.type, e.ref.builtin.name, lw.expr(e.args[0]), lw.expr(e.args[1]))


for _name in ("min", "max"):
    register(
        Builtin(
            _name,
            f"{_name}(a, b)",
            f"the {'smaller' if _name == 'min' else 'larger'} of two integers",
            (2,),
            _check_min_max,
            lower=_lower_min_max,
            opcodes=(_name.upper(),),
        )
    )


def _check_len(fc: FunctionChecker, e: ast.Call) -> T.Type:
    t = fc.expr(e.args[0])
    if not isinstance(t, T.BytesType | T.StringType | T.ListType | T.ArrayType) and t != T.ERROR:
        fc.r.error(
            "E0202", f"len needs bytes, a string, a list or an array, found {t}", e.args[0].span
        )
    return T.UINT


def _lower_len(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    container = e.args[0].type
    if isinstance(container, T.ListType | T.ArrayType) and not lw.in_storage(e.args[0]):
        return lw.list_value_length(container, lw.expr(e.args[0]))
    if isinstance(container, T.ListType | T.ArrayType):
        return lw.length(container, lw.storage_key(e.args[0]))
    return ir.Builtin(T.UINT, "len", [lw.expr(e.args[0])])


register(
    Builtin(
        "len",
        "len(x)",
        "the length of bytes or a string (in bytes), a list (in elements) or an array",
        (1,),
        _check_len,
        lower=_lower_len,
        emit=emit_opcode("LEN"),
        opcodes=("LEN",),
    )
)


# ------------------------------------------------------------ empty


def _check_empty(fc: FunctionChecker, e: ast.Call) -> T.Type:
    from ..symbols import EmptyRef

    a = e.args[0]
    if not isinstance(a, ast.Name):
        fc.r.error("E0103", "empty(T) takes a type", a.span)
        return T.ERROR
    t = fc.c.types.resolve(ast.TypeExpr(a.id, span=a.span), value_only=True, values=True)
    e.ref = EmptyRef(t)
    return t


register(
    Builtin(
        "empty",
        "empty(T)",
        "the zero value of type `T` (0, False, the zero address, empty bytes)",
        (1,),
        _check_empty,
        on_error=T.ERROR,
    )
)


def _check_range(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.r.error("E0201", "range(...) is used only in for loops", e.span)
    return T.NONE


register(
    Builtin(
        "range",
        "range([start,] end[, max=N])",
        "the integers from `start` (default 0) up to `end`, in a for loop only",
        (1, 2),
        _check_range,
        on_error=T.NONE,
    )
)
