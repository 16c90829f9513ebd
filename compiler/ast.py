"""The syntax tree. Every node keeps its source span; the checker fills in
``type`` (and ``ref`` for names) on expressions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


NO_SPAN = Span("<none>", 0, 0, 0, 0)


@dataclass(eq=False)
class Node:
    span: Span = field(default=NO_SPAN, kw_only=True)


@dataclass(eq=False)
class TypeExpr(Node):
    name: str
    args: list[TypeExpr | int] = field(default_factory=list)


# --------------------------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr(Node):
    type: Any = field(default=None, kw_only=True)  # set by the checker


@dataclass(eq=False)
class Name(Expr):
    id: str
    ref: Any = field(default=None, kw_only=True)  # what the name resolved to


@dataclass(eq=False)
class IntLit(Expr):
    value: int


@dataclass(eq=False)
class BytesLit(Expr):
    value: bytes


@dataclass(eq=False)
class StrLit(Expr):
    value: str


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False)
class Attribute(Expr):
    obj: Expr
    attr: str
    ref: Any = field(default=None, kw_only=True)


@dataclass(eq=False)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(eq=False)
class Keyword(Node):
    name: str
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]
    kwargs: list[Keyword]
    ref: Any = field(default=None, kw_only=True)  # the resolved callee


@dataclass(eq=False)
class BinOp(Expr):
    op: str  # + - * / % ** << >> & | ^
    left: Expr
    right: Expr


@dataclass(eq=False)
class Compare(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr


@dataclass(eq=False)
class BoolOp(Expr):
    op: str  # and, or
    values: list[Expr]


@dataclass(eq=False)
class Not(Expr):
    operand: Expr


@dataclass(eq=False)
class Neg(Expr):
    operand: Expr


@dataclass(eq=False)
class TupleExpr(Expr):
    """``return a, b``: several values, only as what a function returns."""

    items: list[Expr]


@dataclass(eq=False)
class ListLit(Expr):
    """``[a, b, c]``: a list or array value, its type from where it is used."""

    items: list[Expr]


# --------------------------------------------------------------------------- statements


@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class VarDecl(Stmt):
    name: str
    type_expr: TypeExpr
    value: Expr
    ref: Any = field(default=None, kw_only=True)


@dataclass(eq=False)
class Assign(Stmt):
    target: Expr
    value: Expr


@dataclass(eq=False)
class MultiAssign(Stmt):
    """``x, self.y = self.f()`` and, with ``decls``, ``x: uint, y: bool = self.f()``."""

    targets: list[Expr]
    value: Expr
    decls: list[VarDecl] | None = None  # the declaring form: one per target


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr
    op: str  # + - * / %
    value: Expr


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None


@dataclass(eq=False)
class Pass(Stmt):
    pass


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Revert(Stmt):
    value: Expr  # a string, or a call of a declared error


@dataclass(eq=False)
class Emit(Stmt):
    event: str
    args: list[Expr]
    kwargs: list[Keyword]
    ref: Any = field(default=None, kw_only=True)


@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False)
class Elif(Node):
    cond: Expr
    body: list[Stmt]


@dataclass(eq=False)
class If(Stmt):
    """``if``, its ``elif`` clauses side by side (a long chain does not nest), ``else``."""

    cond: Expr
    body: list[Stmt]
    orelse: list[Stmt]
    elifs: list[Elif] = field(default_factory=list)

    def branches(self) -> list[tuple[Expr, list[Stmt], Span]]:
        """Each condition with its body and span, in order (the ``if`` first)."""
        return [(self.cond, self.body, self.span)] + [(e.cond, e.body, e.span) for e in self.elifs]


@dataclass(eq=False)
class For(Stmt):
    var: str
    iter: Expr
    body: list[Stmt]
    ref: Any = field(default=None, kw_only=True)


# --------------------------------------------------------------------------- declarations


@dataclass(eq=False)
class Param(Node):
    name: str
    type_expr: TypeExpr


@dataclass(eq=False)
class Decorator(Node):
    name: str


@dataclass(eq=False)
class FunctionDef(Node):
    name: str
    params: list[Param]
    returns: TypeExpr | None
    decorators: list[Decorator]
    public: bool
    body: list[Stmt]
    name_span: Span = field(default=NO_SPAN, kw_only=True)  # just the name: where findings point


@dataclass(eq=False)
class MethodSig(Node):
    name: str
    params: list[Param]
    returns: TypeExpr | None
    decorators: list[Decorator]


@dataclass(eq=False)
class StructDef(Node):
    name: str
    fields: list[Param]


@dataclass(eq=False)
class EnumDef(Node):
    name: str
    members: list[str]


@dataclass(eq=False)
class EventDef(Node):
    name: str
    params: list[Param]
    indexed: list[str] = field(default_factory=list)  # the fields declared ``indexed``


@dataclass(eq=False)
class ReportDef(Node):
    """The fields of a signed oracle report's data, in order (32 bytes each)."""

    name: str
    params: list[Param]


@dataclass(eq=False)
class ErrorDef(Node):
    name: str
    params: list[Param]


@dataclass(eq=False)
class ConstDef(Node):
    name: str
    type_expr: TypeExpr
    value: Expr


@dataclass(eq=False)
class StateVar(Node):
    name: str
    type_expr: TypeExpr
    public: bool = False  # ``pub``: a view getter of the same name is generated


@dataclass(eq=False)
class Contract(Node):
    name: str
    members: list[Node]


@dataclass(eq=False)
class Library(Node):
    """Constants and pure functions, compiled into each contract that imports them."""

    name: str
    members: list[Node]


@dataclass(eq=False)
class Interface(Node):
    name: str
    methods: list[MethodSig]


@dataclass(eq=False)
class Import(Node):
    path: list[str]


@dataclass(eq=False)
class SourceFile(Node):
    path: str
    imports: list[Import]
    interfaces: list[Interface]
    contracts: list[Contract]
    libraries: list[Library] = field(default_factory=list)
