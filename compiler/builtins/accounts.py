"""Accounts: address_of, signed_by and the balance of any address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs
from deed.vm.opcodes import GAS

from .. import ast, ir
from .. import types as T
from .registry import (
    IR_BUILTINS,
    MAX_BYTES,
    Builtin,
    bytes_like,
    emit_opcode,
    lower_plain,
    raw_size,
    register,
    too_long,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..emit import _FunctionEmitter
    from ..lower import _FunctionLowerer

# ------------------------------------------------------------ accounts and signed messages

#: The first bytes of every message ``signed_by`` checks (deed.vm.packing.MESSAGE_DOMAIN).
MESSAGE_DOMAIN = b"deed-message-v1"
#: The domain, the chain id, the contract's address, the nonce and the payload's length.
_MESSAGE_FIXED = len(MESSAGE_DOMAIN) + 32 + 20 + 32 + 4


def _check_address_of(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    return T.ADDRESS


def _emit_address_of(em: _FunctionEmitter, e: ir.Builtin) -> None:
    em.expr(e.args[0])
    em.op("SHA256", pops=1, pushes=1)
    em.op("CONST", em.const(12), pushes=1)
    em.op("CONST", em.const(20), pushes=1)
    em.op("SLICE", pops=3, pushes=1)


register(
    Builtin(
        "address_of",
        "address_of(key) -> address",
        "the address of the account whose ed25519 public key is `key: bytes32`: the last 20 "
        "bytes of its SHA-256 digest",
        (1,),
        _check_address_of,
        lower=lower_plain,
        emit=_emit_address_of,
        gas=lambda n: costs.hashing(32) + costs.memory(20),
        opcodes=("SHA256", "SLICE"),
        on_error=T.ADDRESS,
    )
)


def _check_signed_by(fc: FunctionChecker, e: ast.Call) -> T.Type:
    account, key, nonce, payload, signature = e.args
    fc.expect(account, T.ADDRESS)
    fc.expect(key, T.BYTES32)
    fc.expect(nonce, T.UINT)
    t = fc.expr(payload)
    if not (bytes_like(t) or isinstance(t, T.StringType)):
        fc.r.error("E0202", f"the payload is bytes or a string, found {t}", payload.span)
    elif raw_size(t) + _MESSAGE_FIXED > MAX_BYTES:
        too_long(fc, e, "the signed message", raw_size(t) + _MESSAGE_FIXED)
    t = fc.expr(signature)
    if not (isinstance(t, T.BytesType) and t.max_len >= 64) and t != T.ERROR:
        fc.r.error("E0202", f"the signature is bytes[64], found {t}", signature.span)
    return T.BOOL


def _lower_signed_by(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    account, key, nonce, payload, signature = (lw.expr(a) for a in e.args)
    if not isinstance(key, ir.Local | ir.Const):  # used twice: evaluated once
        tmp = lw.temp(T.BYTES32, "key")
        lw.emit(ir.SetLocal(tmp.index, tmp.name, key))
        key = tmp
    payload = ir.Builtin(T.BytesType(raw_size(payload.type)), "as_bytes", [payload])
    message = ir.Builtin(
        T.BytesType(_MESSAGE_FIXED + raw_size(payload.type)),
        "encode",
        [
            ir.Const(T.FixedBytesType(len(MESSAGE_DOMAIN)), MESSAGE_DOMAIN),
            ir.Env(T.U64, "chain.id"),
            ir.Env(T.ADDRESS, "self.address"),
            nonce,
            payload,
        ],
    )
    return ir.Logic(
        T.BOOL,
        "and",
        ir.Compare(T.BOOL, "eq", ir.Builtin(T.ADDRESS, "address_of", [key]), account),
        ir.Builtin(T.BOOL, "verify_ed25519", [key, message, signature]),
    )


register(
    Builtin(
        "signed_by",
        "signed_by(account, key, nonce, payload, signature) -> bool",
        "whether `account` (an address) is the account of the ed25519 public `key` (`bytes32`) and "
        "`signature` (`bytes[64]`) signs the domain-separated message "
        "`encode(DOMAIN, chain.id, self.address, nonce, payload)` under it, DOMAIN being the 15 bytes "
        '"deed-message-v1" (§6.3); `nonce` is '
        "a `uint`, `payload` bytes or a string (encoded as `bytes[N]`)",
        (5,),
        _check_signed_by,
        lower=_lower_signed_by,
        opcodes=("SHA256", "SLICE", "EQ", "CHAINID", "SELF", "I2B", "LEN", "CONCAT", "ED25519"),
        on_error=T.BOOL,
    )
)

# IR-only nodes: no source syntax, used by the lowering of the builtins above.
IR_BUILTINS["as_bytes"] = Builtin(
    "as_bytes",
    "",
    "a bytes or string value retyped as bytes[N] (no instruction)",
    (1,),
    lambda fc, e: T.ERROR,
    emit=lambda em, e: em.expr(e.args[0]),
)


# ------------------------------------------------------------ balance of any address


def lower_balance(lw: _FunctionLowerer, e: ast.Attribute) -> ir.Expr:
    return ir.Builtin(T.UINT, "balance", [lw.expr(e.obj)])


BALANCE = Builtin(
    "balance",
    "a.balance",
    "the native balance of address `a` (or a contract of an interface type)",
    (1,),
    lambda fc, e: T.UINT,
    emit=emit_opcode("BALANCE"),
    gas=lambda n: GAS.account_read + costs.cold_access(),
    opcodes=("BALANCE",),
)
IR_BUILTINS["balance"] = BALANCE
