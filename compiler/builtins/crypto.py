"""Hashes and ed25519 signatures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs

from .. import ast, ir
from .. import types as T
from .registry import (
    Builtin,
    emit_opcode,
    lower_plain,
    raw_size,
    register,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..lower import _FunctionLowerer

# ------------------------------------------------------------ hashing and signatures


def _check_hash(fc: FunctionChecker, e: ast.Call) -> T.Type:
    t = fc.expr(e.args[0])
    if t.storage_only or T.is_aggregate(t) or isinstance(t, T.BoolType | T.EnumType):
        fc.r.error(
            "E0202",
            f"{e.ref.builtin.name} takes bytes, a string, an address or an integer, found {t}",
            e.args[0].span,
        )
    return T.BYTES32


def _lower_hash(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    data = lw.expr(e.args[0])
    if isinstance(e.args[0].type, T.IntType):
        data = ir.Unary(T.BYTES32, "to_bytes32", data)
    return ir.Builtin(T.BYTES32, e.ref.builtin.name, [data])


def _hash_gas(n: ir.Builtin) -> int:
    return costs.hashing(raw_size(n.args[0].type), keccak=n.name == "keccak256")


for _name, _op in (("sha256", "SHA256"), ("keccak256", "KECCAK256")):
    register(
        Builtin(
            _name,
            f"{_name}(data) -> bytes32",
            f"the {'SHA-256' if _name == 'sha256' else 'Keccak-256'} digest of bytes, a string, "
            "an address or an integer (as 32 bytes, big-endian)",
            (1,),
            _check_hash,
            lower=_lower_hash,
            emit=emit_opcode(_op),
            gas=_hash_gas,
            opcodes=(_op,),
        )
    )


def _check_ed25519(fc: FunctionChecker, e: ast.Call) -> T.Type:
    key, message, signature = e.args
    fc.expect(key, T.BYTES32)
    t = fc.expr(message)
    if not isinstance(t, T.BytesType | T.StringType | T.FixedBytesType) and t != T.ERROR:
        fc.r.error("E0202", f"the message is bytes, found {t}", message.span)
    t = fc.expr(signature)
    if not (isinstance(t, T.BytesType) and t.max_len >= 64) and t != T.ERROR:
        fc.r.error("E0202", f"the signature is bytes[64], found {t}", signature.span)
    return T.BOOL


register(
    Builtin(
        "verify_ed25519",
        "verify_ed25519(key, message, signature) -> bool",
        "whether `signature` (`bytes[64]`) signs `message` under the ed25519 public `key: bytes32`",
        (3,),
        _check_ed25519,
        lower=lower_plain,
        emit=emit_opcode("ED25519"),
        gas=lambda n: costs.signature(raw_size(n.args[1].type)),
        opcodes=("ED25519",),
        on_error=T.BOOL,
    )
)
