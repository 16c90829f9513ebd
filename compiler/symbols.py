"""What the checker knows about names: the symbols of a contract, and the
typed references it records on AST nodes (``node.ref``) for lowering to read.

These dataclasses cross the boundary from checking to lowering; a reference
says what a name, member or call denotes, so lowering never looks names up
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import ast
from . import types as T

if TYPE_CHECKING:
    from .builtins import Builtin, EnvMember


@dataclass
class StateVarInfo:
    name: str
    type: T.Type
    slot: int
    span: ast.Span


@dataclass
class ConstInfo:
    name: str
    type: T.Type
    value: object
    span: ast.Span


@dataclass
class LocalInfo:
    name: str
    type: T.Type
    index: int
    mutable: bool = True
    span: ast.Span = ast.NO_SPAN  # its declaration
    upper: int | None = None  # a loop index from 0: every value is below this


@dataclass
class EventInfo:
    name: str
    fields: list[tuple[str, T.Type]]
    index: int
    indexed: tuple[str, ...] = ()  # fields the node indexes logs by


@dataclass
class ErrorInfo:
    name: str
    fields: list[tuple[str, T.Type]]
    index: int


@dataclass
class MethodInfo:
    name: str
    params: list[tuple[str, T.Type]]
    returns: T.Type
    view: bool
    payable: bool


@dataclass
class InterfaceInfo:
    name: str
    methods: dict[str, MethodInfo]
    type: T.InterfaceType


@dataclass
class FunctionInfo:
    name: str
    node: ast.FunctionDef
    params: list[tuple[str, T.Type]]
    returns: T.Type
    public: bool
    view: bool
    payable: bool
    is_init: bool
    library: str | None = None  # the library a function comes from
    locals: list[LocalInfo] = field(default_factory=list)
    calls: set[str] = field(default_factory=set)
    call_sites: list[tuple[str, ast.Node]] = field(default_factory=list)
    writes: list[ast.Node] = field(default_factory=list)  # nodes that change state
    ext_calls: list[tuple[ast.Node, MethodInfo]] = field(default_factory=list)
    value_uses: list[ast.Node] = field(default_factory=list)


@dataclass
class ContractInfo:
    name: str
    node: ast.Contract
    structs: dict[str, T.StructType] = field(default_factory=dict)
    enums: dict[str, T.EnumType] = field(default_factory=dict)
    events: dict[str, EventInfo] = field(default_factory=dict)
    errors: dict[str, ErrorInfo] = field(default_factory=dict)
    consts: dict[str, ConstInfo] = field(default_factory=dict)
    state: dict[str, StateVarInfo] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    interfaces: dict[str, InterfaceInfo] = field(default_factory=dict)
    reports: dict[str, T.ReportType] = field(default_factory=dict)


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, eq=False)
class EnvRef:
    """``msg.sender``, ``block.timestamp``...: a member of the environment."""

    member: EnvMember


@dataclass(frozen=True, eq=False)
class EnumMemberRef:
    enum: T.EnumType
    index: int


@dataclass(frozen=True, eq=False)
class FieldRef:
    """A field of a struct in storage: its key is the struct's key and ``index``."""

    struct: T.StructType
    index: int


@dataclass(frozen=True, eq=False)
class ReportFieldRef:
    """A field of a checked oracle report: 32 bytes at ``32 * index`` of its data."""

    report: T.ReportType
    index: int


@dataclass(frozen=True, eq=False)
class InternalCallRef:
    """``self.f(...)`` or ``library.f(...)``."""

    target: FunctionInfo


@dataclass(frozen=True, eq=False)
class ExternalCallRef:
    """``iface_value.method(...)``, with ``value=`` if given."""

    interface: InterfaceInfo
    method: MethodInfo
    value: ast.Expr | None


@dataclass(frozen=True, eq=False)
class InterfaceCastRef:
    """``Token(addr)``: the address, typed as the interface."""

    interface: InterfaceInfo


@dataclass(frozen=True, eq=False)
class ConversionRef:
    """``u64(x)``, ``bytes32(x)``, ``address(i)``..."""

    to: T.Type


@dataclass(frozen=True, eq=False)
class BuiltinRef:
    builtin: Builtin


@dataclass(frozen=True, eq=False)
class EmptyRef:
    """``empty(T)``: the zero value of ``type``."""

    type: T.Type


@dataclass(frozen=True, eq=False)
class TypedReportRef:
    """``oracle_report(Report, ...)``: the checked data, typed as a report."""

    report: T.ReportType


@dataclass(frozen=True, eq=False)
class ListMethodRef:
    """``xs.push(v)`` or ``xs.pop()`` on a storage list (or on a list value
    in a local, ``value``)."""

    method: str
    list: T.ListType
    value: bool = False


@dataclass(frozen=True, eq=False)
class StructCtorRef:
    """``Order(buyer=a, amount=1, paid=False)``: a struct value, its fields in order."""

    struct: T.StructType


@dataclass(frozen=True, eq=False)
class ErrorRef:
    """``revert Error(...)``."""

    error: ErrorInfo


@dataclass(frozen=True, eq=False)
class RangeRef:
    """``range(...)`` in a for loop, with its constant bound (None after an error)."""

    bound: int | None
