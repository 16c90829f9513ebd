"""The builtin functions and the environment: one registry for every phase.

Each builtin is a :class:`Builtin` entry: its name, how many arguments it
takes, its signature and doc line for the spec, how the checker types a
call, how lowering turns the call into IR, which instructions the emitter
writes for the IR node, and the worst-case dynamic gas the analyzer adds on
top of those instructions' table gas (from the VM's own formulas). The
checker, lowering, emitter, analyzer and ``deed.compiler.docs`` all read
:data:`BUILTINS` and :data:`ENV_MEMBERS`; adding a builtin is adding one
entry here.

Hooks take the phase's own object (the function checker, the function
lowerer, the emitter) so this module never imports those phases at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deed.vm import costs
from deed.vm.opcodes import GAS, LIMITS

from . import ast, ir
from . import types as T

if TYPE_CHECKING:
    from .check.function import FunctionChecker
    from .emit import _FunctionEmitter
    from .lower import _FunctionLowerer

CheckHook = Callable[["FunctionChecker", ast.Call], T.Type]
LowerHook = Callable[["_FunctionLowerer", ast.Call], ir.Expr]
StatementHook = Callable[["_FunctionLowerer", ast.Call], None]
EmitHook = Callable[["_FunctionEmitter", ir.Builtin], None]
GasHook = Callable[[ir.Builtin], int]

REPORT_DATA = T.BytesType(1024)  # the most data an oracle report carries


# --------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class EnvMember:
    """``msg.sender`` and the like: a value of the transaction or block,
    read by one instruction."""

    base: str
    attr: str
    type: T.Type
    opcode: str
    doc: str

    @property
    def name(self) -> str:
        return f"{self.base}.{self.attr}"


ENV_MEMBERS: dict[tuple[str, str], EnvMember] = {
    (m.base, m.attr): m
    for m in (
        EnvMember("msg", "sender", T.ADDRESS, "CALLER", "the address that called this function"),
        EnvMember("msg", "value", T.UINT, "CALLVALUE", "the native value sent with the call"),
        EnvMember("block", "height", T.U64, "HEIGHT", "the block's height"),
        EnvMember("block", "timestamp", T.U64, "TIMESTAMP", "the block's time, in seconds"),
        EnvMember("tx", "origin", T.ADDRESS, "ORIGIN", "the account that signed the transaction"),
        EnvMember(
            "chain", "id", T.U64, "CHAINID", "the id of the chain (every transaction names it)"
        ),
        EnvMember("self", "address", T.ADDRESS, "SELF", "this contract's address"),
        EnvMember("self", "balance", T.UINT, "SELFBALANCE", "this contract's native balance"),
    )
}
ENV_BASES = frozenset(base for base, _ in ENV_MEMBERS)
ENV_BY_NAME = {m.name: m for m in ENV_MEMBERS.values()}


# --------------------------------------------------------------------------- builtins


@dataclass(frozen=True)
class Builtin:
    """One builtin function. ``lower`` gives the call's value;
    ``lower_statement``, when set, is used where the call is a statement."""

    name: str
    signature: str
    doc: str
    arity: tuple[int, ...]
    check: CheckHook
    lower: LowerHook | None = None
    lower_statement: StatementHook | None = None
    emit: EmitHook | None = None
    gas: GasHook | None = None
    opcodes: tuple[str, ...] = ()  # what ir.Builtin(name) compiles to, for docs
    on_error: T.Type = field(default=T.UINT)  # the call's type after a wrong arity

    def arity_text(self) -> str:
        if len(self.arity) > 2 and self.arity == tuple(range(self.arity[0], self.arity[-1] + 1)):
            return f"{self.arity[0]} to {self.arity[-1]} arguments"
        if len(self.arity) == 1:
            return f"{self.arity[0]} argument{'s' if self.arity[0] != 1 else ''}"
        return " or ".join(str(n) for n in self.arity[:-1]) + f" or {self.arity[-1]} arguments"


BUILTINS: dict[str, Builtin] = {}
IR_BUILTINS: dict[str, Builtin] = {}  # by ir.Builtin name (some builtins lower to others)


def register(b: Builtin) -> Builtin:
    BUILTINS[b.name] = b
    if b.emit is not None:
        IR_BUILTINS[b.name] = b
    return b


def emit_opcode(opcode: str, pushes: int = 1) -> EmitHook:
    """The arguments, then one instruction that pops them all."""

    def hook(em: _FunctionEmitter, e: ir.Builtin) -> None:
        for a in e.args:
            em.expr(a)
        em.op(opcode, pops=len(e.args), pushes=pushes)

    return hook


def lower_plain(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    """An ir.Builtin of the same name over the lowered arguments."""
    return ir.Builtin(e.type, e.ref.builtin.name, [lw.expr(a) for a in e.args])


def builtin_gas(n: ir.Builtin) -> int:
    """Worst-case dynamic gas of an IR builtin, beyond its instructions' table gas."""
    b = IR_BUILTINS.get(n.name)
    return b.gas(n) if b is not None and b.gas is not None else 0


raw_size = T.raw_size


def _bytes_like(t: T.Type) -> bool:
    return isinstance(t, T.BytesType | T.FixedBytesType) or t == T.ERROR


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


# ------------------------------------------------------------ empty


def _check_empty(fc: FunctionChecker, e: ast.Call) -> T.Type:
    from .symbols import EmptyRef

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


# ------------------------------------------------------------ bills: documents


def _check_register_document(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    fc.fn.writes.append(e)
    return T.NONE


register(
    Builtin(
        "register_document",
        "register_document(id)",
        "records the document hash `id: bytes32` as held by this contract, in the registry every "
        "contract shares; reverts if any contract registered it before",
        (1,),
        _check_register_document,
        lower=lower_plain,
        emit=emit_opcode("DOCREG", pushes=0),
        gas=lambda n: GAS.storage_new_slot + costs.cold_access(),
        opcodes=("DOCREG",),
        on_error=T.NONE,
    )
)


def _check_document_holder(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    return T.ADDRESS


register(
    Builtin(
        "document_holder",
        "document_holder(id) -> address",
        "the contract that registered `id` (the zero address if none)",
        (1,),
        _check_document_holder,
        lower=lower_plain,
        emit=emit_opcode("DOCHOLDER"),
        gas=lambda n: GAS.storage_read + costs.cold_access(),
        opcodes=("DOCHOLDER",),
        on_error=T.ADDRESS,
    )
)


# ------------------------------------------------------------ oracle reports


def _check_oracle_report(fc: FunctionChecker, e: ast.Call) -> T.Type:
    from .symbols import TypedReportRef

    args = e.args
    if len(args) == 5 and isinstance(args[0], ast.Name) and args[0].id in fc.c.reports:
        rtype = fc.c.reports[args[0].id]
        e.args = args[1:]
        _check_oracle_data(fc, e)
        e.ref = TypedReportRef(rtype)
        return rtype
    return _check_oracle_data(fc, e)


def _check_oracle_data(fc: FunctionChecker, e: ast.Call) -> T.Type:
    args = e.args
    for a in args[:2]:
        t = fc.expr(a)
        if not _bytes_like(t):
            fc.r.error("E0202", f"oracle_report takes bytes here, found {t}", a.span)
    fc.expect(args[2], T.U8)
    fc.expect(args[3], T.U64)
    fc.fn.writes.append(e)  # marks the report used
    return REPORT_DATA


def _oracle_gas(n: ir.Builtin) -> int:
    report = raw_size(n.args[0].type)
    signatures = min(LIMITS.max_oracle_signers, max(0, (report - 11) // 65))
    return (
        costs.oracle_check(report)
        + costs.oracle_signatures(signatures)
        + costs.oracle_use(LIMITS.max_report_data)
        + costs.cold_access()  # the report's used-flag
    )


register(
    Builtin(
        "oracle_report",
        "oracle_report([Report,] report, signers, quorum, max_age) -> bytes",
        "the data of a signed oracle report (`bytes[1024]`), after the VM checked its signatures against "
        "`signers` (the contract's signer set: 1 to 16 keys of 32 bytes), the `quorum` (`u8`), "
        "that it is at most `max_age` seconds old (`u64`), and that this contract never used it "
        "(spec/vm.md); with a `report` declaration `R` first, the checked report typed as `R`, "
        "whose fields are then `r.field`; a statement with effects: not in a view",
        (4, 5),
        _check_oracle_report,
        lower=lower_plain,
        emit=emit_opcode("ORACLE"),
        gas=_oracle_gas,
        opcodes=("ORACLE",),
    )
)


def _check_read(fc: FunctionChecker, e: ast.Call) -> T.Type:
    name = e.ref.builtin.name
    t = fc.expr(e.args[0])
    if not _bytes_like(t):
        fc.r.error("E0202", f"{name} reads from bytes, found {t}", e.args[0].span)
    fc.expect(e.args[1], T.UINT)
    return T.UINT if name == "read_uint" else T.BYTES32


def _emit_read(em: _FunctionEmitter, e: ir.Builtin) -> None:
    for a in e.args:
        em.expr(a)
    em.op("CONST", em.const(32), pushes=1)
    em.op("SLICE", pops=3, pushes=1)
    if e.name == "read_uint":
        em.op("B2I", em.int_code(T.UINT), pops=1, pushes=1)


for _name in ("read_uint", "read_bytes32"):
    register(
        Builtin(
            _name,
            f"{_name}(data, offset) -> {'uint' if _name == 'read_uint' else 'bytes32'}",
            "the 32 bytes of `data` at `offset`"
            + (", as a big-endian integer" if _name == "read_uint" else ""),
            (2,),
            _check_read,
            lower=lower_plain,
            emit=_emit_read,
            gas=lambda n: costs.memory(32),
            opcodes=("SLICE", "B2I") if _name == "read_uint" else ("SLICE",),
        )
    )


# ------------------------------------------------------------ byte strings: concat, slice


MAX_BYTES = LIMITS.max_bytes_value


def _too_long(fc: FunctionChecker, e: ast.Call, what: str, n: int) -> None:
    fc.r.error(
        "E0202",
        f"{what} can be {n:,} bytes long, over the VM's maximum of {MAX_BYTES:,}",
        e.span,
        "bound the arguments' types more tightly",
    )


def _check_concat(fc: FunctionChecker, e: ast.Call) -> T.Type:
    types = [fc.expr(a) for a in e.args]
    if T.ERROR in types:
        return T.ERROR
    strings = isinstance(types[0], T.StringType)
    for a, t in zip(e.args, types, strict=True):
        ok = isinstance(t, T.StringType) if strings else _bytes_like(t)
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
        _too_long(fc, e, "the result of concat", n)
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
    from .check.constants import const_eval

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
    if not _bytes_like(t):
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


encoded_size = T.encoded_size


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
        _too_long(fc, e, "the result of encode", n)
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
    if not (_bytes_like(t) or isinstance(t, T.StringType)):
        fc.r.error("E0202", f"the payload is bytes or a string, found {t}", payload.span)
    elif raw_size(t) + _MESSAGE_FIXED > MAX_BYTES:
        _too_long(fc, e, "the signed message", raw_size(t) + _MESSAGE_FIXED)
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


# ------------------------------------------------------------ list values (IR only)


def _emit_element(em: _FunctionEmitter, e: ir.Builtin) -> None:
    """``list_element(data, index, width)``: SLICE(data, index * width, width)."""
    data, index, width = e.args
    em.expr(data)
    em.expr(index)
    em.expr(width)
    em.op("MUL", em.int_code(T.UINT), pops=2, pushes=1)
    em.expr(width)
    em.op("SLICE", pops=3, pushes=1)


# the bytes of element ``index`` of a list value (spec/language.md, list values)
IR_BUILTINS["list_element"] = Builtin(
    "list_element",
    "list_element(data, index, width) -> bytes",
    "the `width` bytes of element `index` of a list value",
    (3,),
    _check_range,  # never called: lowering makes it
    emit=_emit_element,
    gas=lambda n: costs.memory(int(n.args[2].value) if isinstance(n.args[2], ir.Const) else 32),
    opcodes=("MUL", "SLICE"),
)
