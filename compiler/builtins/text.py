"""Bytes and strings: concat, slice, the canonical packing encode, and str(n)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs

from .. import ast, ir
from .. import types as T
from .registry import (
    MAX_BYTES,
    Builtin,
    bytes_like,
    encoded_size,
    lower_plain,
    raw_size,
    register,
    too_long,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..emit import _FunctionEmitter
    from ..lower import _FunctionLowerer

# ------------------------------------------------------------ byte strings: concat, slice


def _check_concat(fc: FunctionChecker, e: ast.Call) -> T.Type:
    types = [fc.expr(a) for a in e.args]
    if T.ERROR in types:
        return T.ERROR
    strings = isinstance(types[0], T.StringType)
    for a, t in zip(e.args, types, strict=True):
        ok = isinstance(t, T.StringType) if strings else bytes_like(t)
        if not ok:
            fc.r.error(
                "E0202",
                f"concat joins strings with strings or bytes with bytes, found {t}",
                a.span,
                "convert numbers and addresses with bytes32(x), bytes20(a), or use encode(...)",
            )
            return T.ERROR
    n = sum(raw_size(t) for t in types)
    if n > MAX_BYTES:
        too_long(fc, e, "the result of concat", n)
        n = MAX_BYTES
    return T.StringType(n) if strings else T.BytesType(n)


def _emit_concat(em: _FunctionEmitter, e: ir.Builtin) -> None:
    em.expr(e.args[0])
    for a in e.args[1:]:
        em.expr(a)
        em.op("CONCAT", pops=2, pushes=1)


def _concat_gas(n: ir.Builtin) -> int:
    total, gas = raw_size(n.args[0].type), 0
    for a in n.args[1:]:
        total += raw_size(a.type)
        gas += costs.memory(total)
    return gas


register(
    Builtin(
        "concat",
        "concat(a, b, ...) -> bytes",
        "`a` followed by `b` (and so on): 2 to 16 strings (a `string[N]`) or 2 to 16 bytes values "
        "(`bytesN` or `bytes[N]`, giving a `bytes[N]`); N is the sum of the arguments' maximum "
        "lengths, at most 65,536",
        tuple(range(2, 17)),
        _check_concat,
        lower=lower_plain,
        emit=_emit_concat,
        gas=_concat_gas,
        opcodes=("CONCAT",),
        on_error=T.ERROR,
    )
)


def _check_slice(fc: FunctionChecker, e: ast.Call) -> T.Type:
    from ..check.constants import const_eval

    data, start, length = e.args
    t = fc.expr(data)
    fc.expect(start, T.UINT)
    fc.expect(length, T.UINT)
    if t == T.ERROR:
        return T.ERROR
    if isinstance(t, T.StringType):
        fc.r.error(
            "E0202",
            "slice works on bytes, not strings: a slice could cut a UTF-8 character in two",
            data.span,
        )
        return T.ERROR
    if not bytes_like(t):
        fc.r.error("E0202", f"slice takes bytes, found {t}", data.span)
        return T.ERROR
    n = const_eval(length, fc.info.consts)
    if isinstance(n, int) and not isinstance(n, bool):
        if n > raw_size(t):
            fc.r.error(
                "E0202",
                f"a slice of {n} bytes from {t} always reverts",
                length.span,
            )
            return T.ERROR
        return T.BytesType(max(1, n))
    return T.BytesType(raw_size(t))


def _emit_slice(em: _FunctionEmitter, e: ir.Builtin) -> None:
    for a in e.args:
        em.expr(a)
    em.op("SLICE", pops=3, pushes=1)


register(
    Builtin(
        "slice",
        "slice(data, start, length) -> bytes",
        "the `length` bytes of `data` (bytes, not a string) from index `start`; reverts "
        '("slice out of range") unless `start + length <= len(data)`; a `bytes[length]` for a '
        "constant `length`, else as long as `data` can be",
        (3,),
        _check_slice,
        lower=lower_plain,
        emit=_emit_slice,
        gas=lambda n: costs.memory(n.type.max_len),
        opcodes=("SLICE",),
        on_error=T.ERROR,
    )
)


# ------------------------------------------------------------ canonical packing: encode


def _encodable(t: T.Type) -> bool:
    return isinstance(
        t,
        T.IntType
        | T.BoolType
        | T.EnumType
        | T.AddressType
        | T.InterfaceType
        | T.FixedBytesType
        | T.BytesType
        | T.StringType,
    ) and not isinstance(t, T.ReportType)


def _check_encode(fc: FunctionChecker, e: ast.Call) -> T.Type:
    types = [fc.expr(a) for a in e.args]
    if T.ERROR in types:
        return T.ERROR
    for a, t in zip(e.args, types, strict=True):
        if not _encodable(t):
            fc.r.error(
                "E0202",
                f"encode takes integers, bools, enums, addresses, bytes and strings, found {t}",
                a.span,
            )
            return T.ERROR
    n = sum(encoded_size(t) for t in types)
    if n > MAX_BYTES:
        too_long(fc, e, "the result of encode", n)
        n = MAX_BYTES
    return T.BytesType(n)


def _emit_piece(em: _FunctionEmitter, a: ir.Expr) -> None:
    """One argument in the value encoding (spec/vm.md), on the stack."""
    t = a.type
    em.expr(a)
    if isinstance(t, T.BoolType):
        em.op("I2B", 1, pops=1, pushes=1)
    elif isinstance(t, T.BytesType | T.StringType):
        em.op("DUP", 0, pushes=1)
        em.op("LEN", pops=1, pushes=1)
        em.op("I2B", 4, pops=1, pushes=1)
        em.op("SWAP", 1)
        em.op("CONCAT", pops=2, pushes=1)
    elif t.kind == "I":  # integers and enums
        em.op("I2B", 32, pops=1, pushes=1)
    # addresses and bytesN are their own encoding


def _emit_encode(em: _FunctionEmitter, e: ir.Builtin) -> None:
    _emit_piece(em, e.args[0])
    for a in e.args[1:]:
        _emit_piece(em, a)
        em.op("CONCAT", pops=2, pushes=1)


def _piece_gas(t: T.Type) -> int:
    if isinstance(t, T.BytesType | T.StringType):
        return costs.memory(32) + costs.memory(encoded_size(t))  # I2B 4, CONCAT
    if isinstance(t, T.BoolType) or t.kind == "I":
        return costs.memory(32)  # I2B (charged as one word whatever its width)
    return 0


def _encode_gas(n: ir.Builtin) -> int:
    total, gas = 0, 0
    for i, a in enumerate(n.args):
        gas += _piece_gas(a.type)
        total += encoded_size(a.type)
        if i:
            gas += costs.memory(total)
    return gas


register(
    Builtin(
        "encode",
        "encode(a, ...) -> bytes",
        "1 to 16 values in the canonical packing (§6.2): integers and enums 32 bytes big-endian "
        "(two's complement), a bool 1 byte, an address 20 bytes, `bytesN` N bytes, `bytes[N]` "
        "and `string[N]` a 4-byte big-endian length then the bytes; "
        "`keccak256(encode(a, b, c))` hashes several values at once",
        tuple(range(1, 17)),
        _check_encode,
        lower=lower_plain,
        emit=_emit_encode,
        gas=_encode_gas,
        opcodes=("I2B", "LEN", "CONCAT"),
        on_error=T.ERROR,
    )
)


# ------------------------------------------------------------ numbers as text


def decimal_width(t: T.IntType) -> int:
    """Characters of the longest decimal text of a value of ``t`` (a sign included)."""
    lo, hi = t.range
    return max(len(str(lo)), len(str(hi)))


def _check_str(fc: FunctionChecker, e: ast.Call) -> T.Type:
    t = fc.expr(e.args[0])
    if t == T.ERROR:
        return T.StringType(78)
    if not isinstance(t, T.IntType):
        fc.r.error("E0202", f"str takes an integer, found {t}", e.args[0].span)
        return T.StringType(78)
    return T.StringType(decimal_width(t))


def _lower_str(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    """A do-while loop over the digits, least significant first, each put in
    front of the text so far; then a minus sign for a negative value."""
    t: T.IntType = e.args[0].type
    text_t: T.StringType = e.type
    value = lw.temp(t, "digits")
    text = lw.temp(text_t, "text")
    lw.emit(ir.SetLocal(value.index, value.name, lw.expr(e.args[0])))
    lw.emit(ir.SetLocal(text.index, text.name, ir.Const(text_t, b"")))
    negative = None
    if t.signed:
        negative = lw.temp(T.BOOL, "negative")
        lw.emit(
            ir.SetLocal(
                negative.index, negative.name, ir.Compare(T.BOOL, "lt", value, ir.Const(t, 0))
            )
        )

    def last_digit() -> ir.Expr:  # % has the dividend's sign: -9 to 9
        return ir.Binary(t, "mod", value, ir.Const(t, 10))

    digit = last_digit()
    if t.signed:
        digit = ir.Binary(t, "max", digit, ir.Unary(t, "neg", last_digit()))
    char = ir.Unary(T.FixedBytesType(1), "to_bytes", ir.Binary(t, "add", digit, ir.Const(t, 48)))
    body, after = lw.new_block(), lw.new_block()
    lw.terminate(ir.Jump(body.index))
    lw.switch(body)
    lw.emit(ir.SetLocal(text.index, text.name, ir.Builtin(text_t, "concat", [char, text])))
    lw.emit(ir.SetLocal(value.index, value.name, ir.Binary(t, "div", value, ir.Const(t, 10))))
    lw.terminate(
        ir.Branch(ir.Compare(T.BOOL, "ne", value, ir.Const(t, 0)), body.index, after.index)
    )
    digits = len(str(max(abs(v) for v in t.range)))
    lw.loop_info.append(ir.Loop(body.index, digits, {body.index}))
    lw.switch(after)
    if negative is not None:
        sign, done = lw.new_block(), lw.new_block()
        lw.terminate(ir.Branch(negative, sign.index, done.index))
        lw.switch(sign)
        minus = ir.Builtin(text_t, "concat", [ir.Const(T.StringType(1), b"-"), text])
        lw.emit(ir.SetLocal(text.index, text.name, minus))
        lw.terminate(ir.Jump(done.index))
        lw.switch(done)
    return text


register(
    Builtin(
        "str",
        "str(n) -> string",
        "the decimal text of an integer (a minus sign first if negative): a `string[N]` with N "
        "the longest such text of `n`'s type (78 for `uint` and `i256`, 20 for `u64`); a loop "
        "of one iteration per digit (about 110 gas each)",
        (1,),
        _check_str,
        lower=_lower_str,
        opcodes=("MOD", "DIV", "ADD", "I2B", "CONCAT"),
        on_error=T.StringType(78),
    )
)
