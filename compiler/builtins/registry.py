"""The registry: environment members, the Builtin entry, and the helpers
every family of builtins shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deed.vm.opcodes import LIMITS

from .. import ast, ir
from .. import types as T

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..emit import _FunctionEmitter
    from ..lower import _FunctionLowerer

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
encoded_size = T.encoded_size


def bytes_like(t: T.Type) -> bool:
    return isinstance(t, T.BytesType | T.FixedBytesType) or t == T.ERROR


MAX_BYTES = LIMITS.max_bytes_value


def too_long(fc: FunctionChecker, e: ast.Call, what: str, n: int) -> None:
    fc.r.error(
        "E0202",
        f"{what} can be {n:,} bytes long, over the VM's maximum of {MAX_BYTES:,}",
        e.span,
        "bound the arguments' types more tightly",
    )
