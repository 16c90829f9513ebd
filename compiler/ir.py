"""The typed IR: functions of basic blocks with explicit control flow.

Each block holds statements over typed expression trees and ends in one
terminator. Expressions have no control flow (``and``/``or`` that need it
are lowered into blocks), so every pass (optimiser, code generation, the
analyzer, a JIT) walks plain trees. ``spec/ir.md`` documents every node;
:func:`format_program` prints the text form used by ``deed compile --ir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import types as T

# --------------------------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr:
    type: T.Type


@dataclass(eq=False)
class Const(Expr):
    value: int | bool | bytes


@dataclass(eq=False)
class Local(Expr):
    index: int
    name: str


@dataclass(eq=False)
class Env(Expr):
    name: (
        str  # msg.sender msg.value block.height block.timestamp tx.origin self.address self.balance
    )


@dataclass(eq=False)
class Unary(Expr):
    op: str  # neg not cast to_bytes32 to_bytes (bytesN of an integer) from_bytes
    operand: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str  # add sub mul div mod exp shl shr band bor bxor min max: checked against type
    left: Expr
    right: Expr


@dataclass(eq=False)
class Compare(Expr):
    op: str  # lt gt le ge eq ne
    left: Expr
    right: Expr


@dataclass(eq=False)
class Logic(Expr):
    op: str  # and or: both sides are evaluated (they cannot fail)
    left: Expr
    right: Expr


@dataclass(eq=False)
class SlotKey(Expr):
    slot: int  # a state variable's storage key


@dataclass(eq=False)
class MapKey(Expr):
    base: Expr
    key: Expr


@dataclass(eq=False)
class Load(Expr):
    key: Expr  # storage read of a value of self.type


@dataclass(eq=False)
class Builtin(Expr):
    name: str  # sha256 keccak256 verify_ed25519 len balance
    args: list[Expr]


@dataclass(eq=False)
class Call(Expr):
    function: str
    args: list[Expr]


@dataclass(eq=False)
class ExtCall(Expr):
    interface: str
    method: str
    target: Expr
    value: Expr | None
    args: list[Expr]


@dataclass(eq=False)
class Multi(Expr):
    """Several values side by side (``type`` is a TupleType of their types):
    what a function returns when it returns a struct or a tuple."""

    items: list[Expr]


# --------------------------------------------------------------------------- statements


@dataclass(eq=False)
class Located:
    """A statement or terminator: it knows the source it came from."""

    span: object = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass(eq=False)
class SetLocal(Located):
    index: int
    name: str
    value: Expr


@dataclass(eq=False)
class Unpack(Located):
    """The values of a call that returns several (``value``), into locals in order."""

    targets: list[tuple[int, str]]  # (index, name) of each local
    value: Expr


@dataclass(eq=False)
class Store(Located):
    key: Expr
    value: Expr


@dataclass(eq=False)
class EmitEvent(Located):
    event: str
    args: list[Expr]


@dataclass(eq=False)
class Send(Located):
    to: Expr
    amount: Expr


@dataclass(eq=False)
class Eval(Located):
    value: Expr  # a call kept for its effects


@dataclass(eq=False)
class Require(Located):
    cond: Expr
    message: str
    # inserted by the compiler (a bounds, enum, size or loop-bound check), not
    # written by the author: the analyzer judges only the author's conditions
    implicit: bool = field(default=False, kw_only=True)


Stmt = SetLocal | Unpack | Store | EmitEvent | Send | Eval | Require


# --------------------------------------------------------------------------- terminators


@dataclass(eq=False)
class Jump(Located):
    target: int


@dataclass(eq=False)
class Branch(Located):
    cond: Expr
    if_true: int
    if_false: int


@dataclass(eq=False)
class Return(Located):
    value: Expr | None


@dataclass(eq=False)
class RevertMsg(Located):
    message: Expr


@dataclass(eq=False)
class RaiseError(Located):
    error: str
    args: list[Expr]


Terminator = Jump | Branch | Return | RevertMsg | RaiseError


@dataclass(eq=False)
class Block:
    index: int
    stmts: list = field(default_factory=list)
    term: Terminator | None = None

    def successors(self) -> list[int]:
        t = self.term
        if isinstance(t, Jump):
            return [t.target]
        if isinstance(t, Branch):
            return [t.if_true, t.if_false]
        return []


@dataclass
class Loop:
    """A loop of the source: its header block, the most times its body runs,
    and every block of it (nested loops included)."""

    header: int
    bound: int
    blocks: set[int]


@dataclass(eq=False)
class Function:
    name: str
    params: list[tuple[str, T.Type]]
    locals: list[tuple[str, T.Type]]  # parameters first
    returns: T.Type
    public: bool
    view: bool
    payable: bool
    is_init: bool
    blocks: list[Block]
    loops: list[Loop] = field(default_factory=list)
    span: object = field(default=None, kw_only=True, repr=False)


@dataclass(eq=False)
class Program:
    contract: str
    state: list[tuple[str, T.Type]]  # slot order
    functions: list[Function]
    events: list[tuple[str, list[tuple[str, T.Type]]]]
    errors: list[tuple[str, list[tuple[str, T.Type]]]]
    imports: list[
        tuple[str, str, list[T.Type], T.Type, bool]
    ]  # interface, method, params, returns, view
    import_spans: list[object] = field(default_factory=list)  # where each import is first called
    indexed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # event -> indexed fields

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)


# --------------------------------------------------------------------------- text form


def format_expr(e: Expr) -> str:
    if isinstance(e, Const):
        v = e.value
        text = ("0x" + v.hex()) if isinstance(v, bytes) else str(v)
        return f"{text}:{e.type}"
    if isinstance(e, Local):
        return f"%{e.name}"
    if isinstance(e, Env):
        return e.name
    if isinstance(e, Unary):
        return f"{e.op}.{e.type}({format_expr(e.operand)})"
    if isinstance(e, Binary):
        return f"{e.op}.{e.type}({format_expr(e.left)}, {format_expr(e.right)})"
    if isinstance(e, Compare | Logic):
        return f"{e.op}({format_expr(e.left)}, {format_expr(e.right)})"
    if isinstance(e, SlotKey):
        return f"slot({e.slot})"
    if isinstance(e, MapKey):
        return f"mapkey({format_expr(e.base)}, {format_expr(e.key)})"
    if isinstance(e, Load):
        return f"load.{e.type}({format_expr(e.key)})"
    if isinstance(e, Builtin):
        return f"{e.name}({', '.join(map(format_expr, e.args))})"
    if isinstance(e, Call):
        return f"call {e.function}({', '.join(map(format_expr, e.args))})"
    if isinstance(e, Multi):
        return f"({', '.join(map(format_expr, e.items))})"
    if isinstance(e, ExtCall):
        value = f", value={format_expr(e.value)}" if e.value is not None else ""
        args = ", ".join(map(format_expr, e.args))
        return f"xcall {e.interface}.{e.method}@{format_expr(e.target)}({args}{value})"
    raise TypeError(e)


def format_stmt(s) -> str:
    if isinstance(s, SetLocal):
        return f"%{s.name} = {format_expr(s.value)}"
    if isinstance(s, Unpack):
        return f"{', '.join('%' + n for _, n in s.targets)} = {format_expr(s.value)}"
    if isinstance(s, Store):
        return f"store {format_expr(s.key)} <- {format_expr(s.value)}"
    if isinstance(s, EmitEvent):
        return f"emit {s.event}({', '.join(map(format_expr, s.args))})"
    if isinstance(s, Send):
        return f"send {format_expr(s.to)}, {format_expr(s.amount)}"
    if isinstance(s, Eval):
        return f"eval {format_expr(s.value)}"
    if isinstance(s, Require):
        return f"require {format_expr(s.cond)}, {s.message!r}"
    if isinstance(s, Jump):
        return f"jump b{s.target}"
    if isinstance(s, Branch):
        return f"branch {format_expr(s.cond)}, b{s.if_true}, b{s.if_false}"
    if isinstance(s, Return):
        return "return" + (f" {format_expr(s.value)}" if s.value is not None else "")
    if isinstance(s, RevertMsg):
        return f"revert {format_expr(s.message)}"
    if isinstance(s, RaiseError):
        return f"raise {s.error}({', '.join(map(format_expr, s.args))})"
    raise TypeError(s)


def format_function(f: Function) -> str:
    flags = [
        x
        for x, on in (
            ("pub", f.public),
            ("view", f.view),
            ("payable", f.payable),
            ("init", f.is_init),
        )
        if on
    ]
    params = ", ".join(f"%{n}: {t}" for n, t in f.params)
    lines = [
        f"function {f.name}({params}) -> {f.returns}{' [' + ' '.join(flags) + ']' if flags else ''}"
    ]
    extra = f.locals[len(f.params) :]
    if extra:
        lines.append("  locals " + ", ".join(f"%{n}: {t}" for n, t in extra))
    for b in f.blocks:
        lines.append(f"  b{b.index}:")
        lines.extend(f"    {format_stmt(s)}" for s in b.stmts)
        lines.append(f"    {format_stmt(b.term)}")
    return "\n".join(lines)


def format_program(p: Program) -> str:
    out = [f"contract {p.contract}"]
    out += [f"  state {i}: {n}: {t}" for i, (n, t) in enumerate(p.state)]
    out += [f"  event {n}({', '.join(f'{fn}: {ft}' for fn, ft in fs)})" for n, fs in p.events]
    out += [f"  error {n}({', '.join(f'{fn}: {ft}' for fn, ft in fs)})" for n, fs in p.errors]
    out += [f"  import {i}.{m}({', '.join(map(str, ps))}) -> {r}" for i, m, ps, r, _ in p.imports]
    for f in p.functions:
        out.append("")
        out.append(format_function(f))
    return "\n".join(out) + "\n"


def walk(e: Expr):
    """Every expression node of a tree, parents first."""
    yield e
    for child in children(e):
        yield from walk(child)


def children(e: Expr) -> list[Expr]:
    if isinstance(e, Unary):
        return [e.operand]
    if isinstance(e, Binary | Compare | Logic):
        return [e.left, e.right]
    if isinstance(e, MapKey):
        return [e.base, e.key]
    if isinstance(e, Load):
        return [e.key]
    if isinstance(e, Builtin | Call):
        return list(e.args)
    if isinstance(e, Multi):
        return list(e.items)
    if isinstance(e, ExtCall):
        return [e.target] + ([e.value] if e.value is not None else []) + list(e.args)
    return []
