"""The checker: name resolution and the type rules of spec/language.md.

It walks the AST once per contract, records what each name refers to
(``ref``) and the type of each expression (``type``), and reports every
independent error it finds. Lowering reads only what this pass recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast
from . import types as T
from .arith import SOURCE_OPS, fold_binary
from .diagnostics import Reporter

# --------------------------------------------------------------------------- symbols


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


@dataclass
class EventInfo:
    name: str
    fields: list[tuple[str, T.Type]]
    index: int


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


ENV = {
    ("msg", "sender"): T.ADDRESS,
    ("msg", "value"): T.UINT,
    ("block", "height"): T.U64,
    ("block", "timestamp"): T.U64,
    ("tx", "origin"): T.ADDRESS,
    ("self", "address"): T.ADDRESS,
    ("self", "balance"): T.UINT,
}
BUILTINS = {
    "require",
    "send",
    "min",
    "max",
    "len",
    "sha256",
    "keccak256",
    "verify_ed25519",
    "empty",
    "range",
    "register_document",
    "document_holder",
    "oracle_report",
    "read_uint",
    "read_bytes32",
}
REPORT_DATA = T.BytesType(1024)  # the most data an oracle report carries
DECORATORS = {"view", "payable"}
MAX_LOOP_BOUND = 100_000_000


def check(source: ast.SourceFile, reporter: Reporter) -> list[ContractInfo]:
    interfaces = _interfaces(source, reporter)
    libraries = {lib.name: lib for lib in source.libraries}
    return [_ContractChecker(c, interfaces, reporter, libraries).run() for c in source.contracts]


def _interfaces(source: ast.SourceFile, reporter: Reporter) -> dict[str, InterfaceInfo]:
    out: dict[str, InterfaceInfo] = {}
    for iface in source.interfaces:
        if iface.name in out:
            reporter.error("E0102", f"interface {iface.name} is defined twice", iface.span)
            continue
        out[iface.name] = InterfaceInfo(iface.name, {}, T.InterfaceType(iface.name))
    for iface in source.interfaces:
        info = out[iface.name]
        resolver = _TypeResolver({}, {}, out, reporter)
        for m in iface.methods:
            names = {d.name for d in m.decorators}
            for d in m.decorators:
                if d.name not in DECORATORS:
                    reporter.error(
                        "E0308", f"unknown decorator @{d.name}", d.span, "use @view or @payable"
                    )
            params = [(p.name, resolver.resolve(p.type_expr, value_only=True)) for p in m.params]
            returns = resolver.resolve(m.returns, value_only=True) if m.returns else T.NONE
            if m.name in info.methods:
                reporter.error(
                    "E0102", f"method {m.name} is declared twice in {iface.name}", m.span
                )
            info.methods[m.name] = MethodInfo(
                m.name, params, returns, "view" in names, "payable" in names
            )
    return out


MAX_COLLECTION = 1 << 32


class _TypeResolver:
    def __init__(self, structs, enums, interfaces, reporter: Reporter, reports=None):
        self.structs = structs
        self.enums = enums
        self.interfaces = interfaces
        self.reporter = reporter
        self.reports = reports if reports is not None else {}

    def resolve(self, te: ast.TypeExpr, value_only: bool = False, local: bool = False) -> T.Type:
        t = self._resolve(te)
        if isinstance(t, T.ReportType) and not local:
            self.reporter.error(
                "E0208",
                f"{t} is an oracle report: it lives only in local variables",
                te.span,
                "keep the fields you need in state",
            )
            return T.ERROR
        if value_only and t.storage_only:
            self.reporter.error(
                "E0208",
                f"{t} can only live in storage",
                te.span,
                "keep maps and structs in state variables",
            )
        return t

    def _element(self, te: ast.TypeExpr) -> T.Type:
        t = self._resolve(te)
        if isinstance(t, T.MapType | T.ListType | T.ArrayType):
            self.reporter.error(
                "E0209",
                f"a list element cannot be {t}",
                te.span,
                "use a struct with a map inside, or a map of lists",
            )
        return t

    def _resolve(self, te: ast.TypeExpr) -> T.Type:
        name, args = te.name, te.args
        if not args:
            t = (
                T.builtin_type(name)
                or self.structs.get(name)
                or self.enums.get(name)
                or self.reports.get(name)
            )
            if t is None and name in self.interfaces:
                t = self.interfaces[name].type
            if t is None:
                hint = (
                    "bytes and strings need a bound: bytes[N], string[N]"
                    if name in ("bytes", "string")
                    else None
                )
                self.reporter.error("E0103", f"unknown type {name}", te.span, hint)
                return T.UINT
            return t
        if name in ("bytes", "string"):
            if len(args) != 1 or not isinstance(args[0], int) or not 1 <= args[0] <= 65_536:
                self.reporter.error("E0209", f"{name}[N] takes one length from 1 to 65536", te.span)
                return T.BytesType(32) if name == "bytes" else T.StringType(32)
            return T.BytesType(args[0]) if name == "bytes" else T.StringType(args[0])
        if name == "map":
            if len(args) != 2 or not all(isinstance(a, ast.TypeExpr) for a in args):
                self.reporter.error(
                    "E0209", "map takes a key type and a value type: map[K, V]", te.span
                )
                return T.MapType(T.UINT, T.UINT)
            key = self._resolve(args[0])
            if key.storage_only:
                self.reporter.error("E0209", f"a map key cannot be {key}", args[0].span)
            return T.MapType(key, self._resolve(args[1]))
        if name == "list":
            if (
                len(args) != 2
                or not isinstance(args[0], ast.TypeExpr)
                or not isinstance(args[1], int)
                or not 1 <= args[1] <= MAX_COLLECTION
            ):
                self.reporter.error(
                    "E0209",
                    f"list takes an element type and a capacity from 1 to {MAX_COLLECTION:,}: list[T, N]",
                    te.span,
                )
                return T.ListType(T.UINT, 1)
            return T.ListType(self._element(args[0]), args[1])
        if len(args) == 1 and isinstance(args[0], int):
            elem = self._resolve(ast.TypeExpr(name, [], span=te.span))
            if not 1 <= args[0] <= MAX_COLLECTION:
                self.reporter.error(
                    "E0209", f"an array has 1 to {MAX_COLLECTION:,} elements", te.span
                )
                return T.ArrayType(elem, 1)
            return T.ArrayType(elem, args[0])
        self.reporter.error("E0103", f"unknown type {name}[...]", te.span)
        return T.UINT


# --------------------------------------------------------------------------- contract


class _ContractChecker:
    def __init__(
        self,
        node: ast.Contract,
        interfaces: dict[str, InterfaceInfo],
        reporter: Reporter,
        libraries: dict[str, ast.Library] | None = None,
    ):
        self.node = node
        self.r = reporter
        self.info = ContractInfo(node.name, node, interfaces=interfaces)
        self.names: dict[str, ast.Span] = {}
        self.libraries = libraries or {}

    def declare(self, name: str, span: ast.Span) -> bool:
        if name in self.names or name in self.info.interfaces:
            self.r.error("E0102", f"{name} is already defined", span)
            return False
        self.names[name] = span
        return True

    def run(self) -> ContractInfo:
        info = self.info
        members = self.node.members
        # types first, so declarations can use them in any order
        for m in members:
            if isinstance(m, ast.EnumDef) and self.declare(m.name, m.span):
                if len(set(m.members)) != len(m.members) or not m.members or len(m.members) > 256:
                    self.r.error("E0102", f"enum {m.name} needs 1 to 256 distinct members", m.span)
                info.enums[m.name] = T.EnumType(m.name, tuple(m.members))
            elif isinstance(m, ast.StructDef) and self.declare(m.name, m.span):
                info.structs[m.name] = T.StructType(m.name, ())
        self.reports: dict[str, T.ReportType] = {}
        self.types = _TypeResolver(info.structs, info.enums, info.interfaces, self.r, self.reports)
        for m in members:
            if isinstance(m, ast.ReportDef) and self.declare(m.name, m.span):
                fields = []
                for p in m.params:
                    ft = self.types.resolve(p.type_expr, value_only=True)
                    if not (
                        (isinstance(ft, T.IntType) and not ft.signed)
                        or ft == T.BYTES32
                        or ft == T.ERROR
                    ):
                        self.r.error(
                            "E0209",
                            f"a report field is an unsigned integer or bytes32, not {ft}",
                            p.type_expr.span,
                        )
                    fields.append((p.name, ft))
                self._unique([p.name for p in m.params], [p.span for p in m.params], "field")
                self.reports[m.name] = T.ReportType(m.name, tuple(fields))
        for m in members:
            if isinstance(m, ast.StructDef) and info.structs.get(m.name) is not None:
                fields = tuple((p.name, self.types.resolve(p.type_expr)) for p in m.fields)
                self._unique([p.name for p in m.fields], [p.span for p in m.fields], "field")
                info.structs[m.name] = T.StructType(m.name, fields)
        # struct field types may name structs declared later: resolve again
        for m in members:
            if isinstance(m, ast.StructDef) and m.name in info.structs:
                fields = tuple((p.name, self._quiet_resolve(p.type_expr)) for p in m.fields)
                object.__setattr__(info.structs[m.name], "fields", fields)
        for lib in self.libraries.values():  # before constants: they may use the library's
            self._declare_library(lib)
        for m in members:
            if isinstance(m, ast.EventDef | ast.ErrorDef) and self.declare(m.name, m.span):
                fields = [
                    (p.name, self.types.resolve(p.type_expr, value_only=True)) for p in m.params
                ]
                self._unique([p.name for p in m.params], [p.span for p in m.params], "field")
                if isinstance(m, ast.EventDef):
                    info.events[m.name] = EventInfo(m.name, fields, len(info.events))
                else:
                    info.errors[m.name] = ErrorInfo(m.name, fields, len(info.errors))
            elif isinstance(m, ast.ConstDef) and self.declare(m.name, m.span):
                t = self.types.resolve(m.type_expr, value_only=True)
                value = self._const_value(m.value, t)
                info.consts[m.name] = ConstInfo(m.name, t, value, m.span)
            elif isinstance(m, ast.StateVar) and self.declare(m.name, m.span):
                info.state[m.name] = StateVarInfo(
                    m.name, self.types.resolve(m.type_expr), len(info.state), m.span
                )
        for m in members:
            if isinstance(m, ast.FunctionDef):
                self._declare_function(m)
        for fn in info.functions.values():
            _FunctionChecker(self, fn).run()
            if fn.library:
                for node in fn.writes:
                    self.r.error(
                        "E0310",
                        f"library {fn.library} cannot change state, emit or send",
                        node.span,
                        "return a value and let the contract act on it",
                    )
        self._check_call_graph()
        return info

    def _check_no_recursion(self) -> None:
        """E0303 for each call that closes a cycle: a depth-first search with an
        explicit stack (a chain of a thousand functions is not deep for it)."""
        fns = self.info.functions
        done: set[str] = set()
        for root in sorted(fns):
            if root in done:
                continue
            path = [root]  # the functions on the stack, in call order
            stack = [iter(sorted(fns[root].calls))]
            while stack:
                callee = next(stack[-1], None)
                name = path[-1]
                if callee is None:
                    done.add(name)
                    path.pop()
                    stack.pop()
                elif callee in path:
                    site = next(node for n, node in fns[name].call_sites if n == callee)
                    cycle = path[path.index(callee) :] + [callee]
                    self.r.error(
                        "E0303",
                        f"recursion: {' -> '.join(cycle)}",
                        site.span,
                        "Deed has no recursion, so the worst-case gas of every function is known",
                    )
                elif callee in fns and callee not in done:
                    path.append(callee)
                    stack.append(iter(sorted(fns[callee].calls)))

    def _quiet_resolve(self, te: ast.TypeExpr) -> T.Type:
        return _TypeResolver(
            self.info.structs, self.info.enums, self.info.interfaces, Reporter()
        ).resolve(te)

    def _unique(self, names: list[str], spans: list[ast.Span], what: str) -> None:
        seen = set()
        for n, s in zip(names, spans, strict=True):
            if n in seen:
                self.r.error("E0102", f"{what} {n} is declared twice", s)
            seen.add(n)

    def _const_value(self, expr: ast.Expr, t: T.Type) -> object:
        value = const_eval(expr, self.info.consts)
        if value is None:
            self.r.error(
                "E0201",
                "a constant needs a value known at compile time",
                expr.span,
                "use literals, other constants and arithmetic",
            )
            return 0
        if isinstance(t, T.IntType):
            lo, hi = t.range
            if not isinstance(value, int) or isinstance(value, bool):
                self.r.error("E0201", f"expected {t}, found a non-integer constant", expr.span)
                return 0
            if not lo <= value <= hi:
                self.r.error("E0206", f"{_number(value)} does not fit {t}", expr.span)
            expr.type = t
            return value
        if isinstance(t, T.BoolType) and isinstance(value, bool):
            expr.type = t
            return value
        if isinstance(t, T.StringType) and isinstance(value, str):
            if len(value.encode()) > t.max_len:
                self.r.error("E0206", f"the string is longer than {t}", expr.span)
            expr.type = t
            return value
        if isinstance(t, T.FixedBytesType | T.BytesType) and isinstance(value, bytes):
            expr.type = t
            return value
        self.r.error("E0201", f"the constant's value is not a {t}", expr.span)
        return 0

    def _declare_function(self, m: ast.FunctionDef) -> None:
        if not self.declare(m.name, m.span):
            return
        names = [d.name for d in m.decorators]
        for d in m.decorators:
            if d.name not in DECORATORS:
                self.r.error(
                    "E0308", f"unknown decorator @{d.name}", d.span, "use @view or @payable"
                )
            elif names.count(d.name) > 1:
                self.r.error("E0308", f"@{d.name} is given twice", d.span)
        view, payable = "view" in names, "payable" in names
        is_init = m.name == "init"
        if view and payable:
            self.r.error("E0308", "a function cannot be both @view and @payable", m.span)
        if (view or payable) and not (m.public or is_init):
            self.r.error(
                "E0308",
                "@view and @payable apply to pub functions",
                m.span,
                "add pub, or drop the decorator",
            )
        if is_init:
            if m.public or view:
                self.r.error("E0307", "init is the constructor: neither pub nor @view", m.span)
            if m.returns is not None:
                self.r.error("E0307", "init returns nothing", m.returns.span)
        self._unique([p.name for p in m.params], [p.span for p in m.params], "parameter")
        params = [(p.name, self.types.resolve(p.type_expr, value_only=True)) for p in m.params]
        returns = self.types.resolve(m.returns, value_only=True) if m.returns else T.NONE
        self.info.functions[m.name] = FunctionInfo(
            m.name, m, params, returns, m.public, view, payable, is_init
        )

    def _declare_library(self, lib: ast.Library) -> None:
        """A library's constants and functions, under qualified names (``math.mul_div``)."""
        if lib.name in self.names:
            self.r.error(
                "E0102",
                f"{lib.name} is a library and a name of this contract",
                self.names[lib.name],
            )
        local_consts: dict[str, ConstInfo] = {}
        for m in lib.members:
            if isinstance(m, ast.ConstDef):
                t = self.types.resolve(m.type_expr, value_only=True)
                saved = self.info.consts
                self.info.consts = local_consts  # a library's constants see each other
                value = self._const_value(m.value, t)
                self.info.consts = saved
                local_consts[m.name] = ConstInfo(m.name, t, value, m.span)
                qualified = f"{lib.name}.{m.name}"
                self.info.consts[qualified] = ConstInfo(qualified, t, value, m.span)
            elif isinstance(m, ast.FunctionDef):
                if m.public or m.decorators or m.name == "init":
                    self.r.error(
                        "E0310",
                        "a library function is neither pub, init nor decorated: it runs inside the contract that calls it",
                        m.span,
                    )
                params = [
                    (p.name, self.types.resolve(p.type_expr, value_only=True)) for p in m.params
                ]
                returns = self.types.resolve(m.returns, value_only=True) if m.returns else T.NONE
                name = f"{lib.name}.{m.name}"
                self.info.functions[name] = FunctionInfo(
                    name, m, params, returns, False, False, False, False, library=lib.name
                )
            else:
                self.r.error("E0310", "a library holds only constants and functions", m.span)

    def _check_call_graph(self) -> None:
        fns = self.info.functions
        self._check_no_recursion()
        # views: no state changes, directly or through internal calls
        effects = _with_effects(fns)
        for f in fns.values():
            if f.view:
                for node in f.writes:
                    self.r.error(
                        "E0301",
                        f"the view {f.name} changes state here",
                        node.span,
                        "remove @view, or move the change out",
                    )
                for node, m in f.ext_calls:
                    if not m.view:
                        self.r.error(
                            "E0301",
                            f"the view {f.name} calls {m.name}, which is not a view",
                            node.span,
                        )
                for callee, site in f.call_sites:
                    if callee in effects:
                        self.r.error(
                            "E0301",
                            f"the view {f.name} calls {callee}, which changes state",
                            site.span,
                        )
            if f.public and not f.payable and not f.is_init:
                for node in f.value_uses:
                    self.r.error(
                        "E0302",
                        f"{f.name} reads msg.value but is not @payable",
                        node.span,
                        "add @payable, or drop msg.value: it is always 0 here",
                    )
            if f.is_init and not f.payable:
                for node in f.value_uses:
                    self.r.error("E0302", "init reads msg.value but is not @payable", node.span)


def _number(value: int) -> str:
    """An integer for a message: constant arithmetic can make one too long to
    print (Python refuses str() past 4,300 digits), so past 256 bits, its size."""
    if value.bit_length() <= 256:
        return str(value)
    return f"a {value.bit_length()}-bit {'negative ' if value < 0 else ''}number"


def _with_effects(fns: dict[str, FunctionInfo]) -> set[str]:
    """The functions that change state, themselves or through what they call
    (a walk back along the call edges, without recursion)."""
    callers: dict[str, set[str]] = {}
    for name, f in fns.items():
        for callee in f.calls:
            callers.setdefault(callee, set()).add(name)
    found = {name for name, f in fns.items() if f.writes or any(not m.view for _, m in f.ext_calls)}
    work = list(found)
    while work:
        for caller in callers.get(work.pop(), ()):
            if caller not in found:
                found.add(caller)
                work.append(caller)
    return found


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


# --------------------------------------------------------------------------- functions


class _FunctionChecker:
    def __init__(self, contract: _ContractChecker, fn: FunctionInfo):
        self.c = contract
        self.info = contract.info
        self.r = contract.r
        self.fn = fn
        self.scopes: list[dict[str, LocalInfo]] = [{}]
        self.loop_depth = 0
        for (name, t), p in zip(fn.params, fn.node.params, strict=True):
            self.new_local(name, t, p.span)

    # ------------------------------------------------------------ scopes
    def new_local(self, name: str, t: T.Type, span: ast.Span, mutable: bool = True) -> LocalInfo:
        if any(name in s for s in self.scopes) or name in self.info.consts:
            self.r.error("E0102", f"{name} is already defined", span)
        local = LocalInfo(name, t, len(self.fn.locals), mutable, span)
        self.fn.locals.append(local)
        self.scopes[-1][name] = local
        return local

    def lookup(self, name: str) -> LocalInfo | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    # ------------------------------------------------------------ statements
    def run(self) -> None:
        fn = self.fn
        terminated = self.block(fn.node.body)
        if fn.returns != T.NONE and not terminated:
            self.r.error(
                "E0304",
                f"{fn.name} does not return a value on every path",
                fn.node.span,
                f"end every path with return (a {fn.returns}) or revert",
            )

    def block(self, stmts: list[ast.Stmt]) -> bool:
        """Check statements; True when the block always ends in return or revert."""
        self.scopes.append({})
        terminated = False
        for stmt in stmts:
            if terminated:
                self.r.error("E0309", "this code can never run", stmt.span, "remove it")
                break
            terminated = self.stmt(stmt)
        self.scopes.pop()
        return terminated

    def stmt(self, s: ast.Stmt) -> bool:
        if isinstance(s, ast.VarDecl):
            t = self.c.types.resolve(s.type_expr, value_only=True, local=True)
            self.expect(s.value, t)
            s.ref = self.new_local(s.name, t, s.span)
        elif isinstance(s, ast.Assign):
            t = self.target(s.target)
            if t is not None:
                self.expect(s.value, t)
            else:
                self.expr(s.value)
        elif isinstance(s, ast.AugAssign):
            t = self.target(s.target)
            if t is not None and not isinstance(t, T.IntType):
                self.r.error("E0202", f"{s.op}= needs an integer target, found {t}", s.target.span)
            elif t is not None:
                self.expr(s.target)
                self.expect(s.value, t)
        elif isinstance(s, ast.Return):
            return self.return_stmt(s)
        elif isinstance(s, ast.Revert):
            self.revert(s)
            return True
        elif isinstance(s, ast.Emit):
            self.emit(s)
        elif isinstance(s, ast.ExprStmt):
            if not isinstance(s.value, ast.Call):
                self.r.error(
                    "E0201", "this expression does nothing", s.span, "assign it or remove it"
                )
            t = self.expr(s.value)
            del t
        elif isinstance(s, ast.If):
            every_branch_ends = True
            for cond, body, _ in s.branches():
                self.expect(cond, T.BOOL)
                every_branch_ends = self.block(body) and every_branch_ends
            return self.block(s.orelse) and every_branch_ends if s.orelse else False
        elif isinstance(s, ast.For):
            self.for_stmt(s)
        elif isinstance(s, ast.Break | ast.Continue):
            if self.loop_depth == 0:
                self.r.error(
                    "E0306",
                    f"{'break' if isinstance(s, ast.Break) else 'continue'} outside a loop",
                    s.span,
                )
            return True
        return False

    def return_stmt(self, s: ast.Return) -> bool:
        fn = self.fn
        if s.value is None:
            if fn.returns != T.NONE:
                self.r.error("E0201", f"{fn.name} must return a {fn.returns}", s.span)
        elif fn.returns == T.NONE:
            self.r.error(
                "E0201",
                f"{fn.name} returns nothing",
                s.value.span,
                f"declare it: -> {self.expr(s.value)}",
            )
        else:
            self.expect(s.value, fn.returns)
        return True

    def revert(self, s: ast.Revert) -> None:
        v = s.value
        if (
            isinstance(v, ast.Call)
            and isinstance(v.func, ast.Name)
            and v.func.id in self.info.errors
        ):
            err = self.info.errors[v.func.id]
            v.ref = ("error", err)
            self.args(v, err.fields, f"error {err.name}")
            v.type = T.NONE
            return
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name):
            self.r.error(
                "E0101",
                f"no error named {v.func.id}",
                v.func.span,
                "declare it: error Name(field: type)",
            )
            return
        t = self.expr(v)
        if not isinstance(t, T.StringType):
            self.r.error("E0201", f"revert takes a string or a declared error, found {t}", v.span)

    def emit(self, s: ast.Emit) -> None:
        ev = self.info.events.get(s.event)
        if ev is None:
            self.r.error(
                "E0101", f"no event named {s.event}", s.span, "declare it: event Name(field: type)"
            )
            return
        s.ref = ev
        self.fn.writes.append(s)
        fake = ast.Call(ast.Name(s.event, span=s.span), s.args, s.kwargs, span=s.span)
        self.args(fake, ev.fields, f"event {ev.name}")
        s.args = fake.args
        s.kwargs = []

    def for_stmt(self, s: ast.For) -> None:
        it = s.iter
        if not (
            isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
        ):
            t = self.expr(it)
            if not isinstance(t, T.ListType | T.ArrayType) or isinstance(t.elem, T.StructType):
                if t != T.ERROR:
                    self.r.error(
                        "E0202",
                        f"a loop runs over range(...), a list or an array of values, not {t}",
                        it.span,
                        "for i in range(n, max=100)",
                    )
                return
            self.scopes.append({})
            s.ref = self.new_local(s.var, t.elem, s.span, mutable=False)
            self.loop_depth += 1
            self.block(s.body)
            self.loop_depth -= 1
            self.scopes.pop()
            return
        bound = None
        kw = {k.name: k for k in it.kwargs}
        for k in it.kwargs:
            if k.name != "max":
                self.r.error("E0204", f"range takes max=, not {k.name}=", k.span)
        if not 1 <= len(it.args) <= 2:
            self.r.error("E0204", "range takes (end) or (start, end), and max=", it.span)
            return
        loop_type: T.Type = T.UINT
        for a in it.args:
            t = self.expr(a)
            if isinstance(t, T.IntType) and not isinstance(a, ast.IntLit):
                loop_type = t
        for a in it.args:
            self.expect(a, loop_type)
        if "max" in kw:
            bound = const_eval(kw["max"].value, self.info.consts)
            if not isinstance(bound, int) or isinstance(bound, bool) or bound < 0:
                self.r.error("E0305", "max= needs a constant, non-negative bound", kw["max"].span)
                bound = None
        else:
            values = [const_eval(a, self.info.consts) for a in it.args]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                bound = values[-1] - (values[0] if len(values) == 2 else 0)
            else:
                self.r.error(
                    "E0305",
                    "this loop has no constant bound",
                    it.span,
                    "add one: range(n, max=1000)",
                )
        if bound is not None and bound > MAX_LOOP_BOUND:
            self.r.error(
                "E0305", f"loop bound {_number(bound)} is over {MAX_LOOP_BOUND:,}", it.span
            )
        it.ref = ("range", bound)
        it.type = loop_type
        self.scopes.append({})
        s.ref = self.new_local(s.var, loop_type, s.span, mutable=False)
        self.loop_depth += 1
        self.block(s.body)
        self.loop_depth -= 1
        self.scopes.pop()

    # ------------------------------------------------------------ targets
    def target(self, e: ast.Expr) -> T.Type | None:
        """Type of an assignment target, or None (after reporting) if it is not one."""
        if isinstance(e, ast.Name):
            local = self.lookup(e.id)
            if local is None:
                if e.id in self.info.consts:
                    self.r.error("E0207", f"{e.id} is a constant", e.span)
                elif e.id in self.info.state:
                    self.r.error(
                        "E0101",
                        f"undefined name {e.id}",
                        e.span,
                        f"state variables are self.{e.id}",
                    )
                else:
                    self.r.error(
                        "E0101",
                        f"undefined name {e.id}",
                        e.span,
                        "declare it first: name: type = value",
                    )
                return None
            if not local.mutable:
                self.r.error("E0207", f"the loop variable {e.id} cannot be assigned", e.span)
                return None
            e.ref = local
            e.type = local.type
            return local.type
        if isinstance(e, ast.Attribute | ast.Index):
            t = self.expr(e)
            if not self.is_storage(e):
                self.r.error("E0207", "only locals and storage can be assigned", e.span)
                return None
            if t.storage_only:
                self.r.error(
                    "E0207",
                    f"a whole {t} cannot be assigned",
                    e.span,
                    "assign its entries or fields one by one",
                )
                return None
            self.fn.writes.append(e)
            return t
        self.r.error("E0207", "this cannot be assigned", e.span)
        return None

    def is_storage(self, e: ast.Expr) -> bool:
        if isinstance(e, ast.Attribute):
            if isinstance(e.ref, StateVarInfo):
                return True
            if isinstance(e.ref, tuple) and e.ref[0] == "field":
                return self.is_storage(e.obj)
            return False
        if isinstance(e, ast.Index):
            return self.is_storage(e.obj)
        return False

    # ------------------------------------------------------------ expressions
    def expect(self, e: ast.Expr, want: T.Type) -> T.Type:
        """Check ``e`` where a ``want`` is needed: literals adapt, integers widen."""
        if isinstance(e, ast.IntLit) and isinstance(want, T.IntType):
            lo, hi = want.range
            if not lo <= e.value <= hi:
                self.r.error(
                    "E0206", f"{e.value} does not fit {want}", e.span, f"{want} holds {lo} to {hi}"
                )
            e.type = want
            return want
        if isinstance(e, ast.StrLit) and isinstance(want, T.StringType):
            if len(e.value.encode()) > want.max_len:
                self.r.error(
                    "E0206",
                    f"the string has {len(e.value.encode())} bytes, {want} holds {want.max_len}",
                    e.span,
                )
            e.type = want
            return want
        if isinstance(e, ast.BytesLit) and isinstance(want, T.FixedBytesType | T.BytesType):
            n = len(e.value)
            if (isinstance(want, T.FixedBytesType) and n != want.size) or (
                isinstance(want, T.BytesType) and n > want.max_len
            ):
                self.r.error("E0206", f"{n} bytes do not fit {want}", e.span)
            e.type = want
            return want
        if (
            isinstance(e, ast.BinOp)
            and isinstance(want, T.IntType)
            and e.op not in ("**", "<<", ">>")
        ):
            if isinstance(e.left, ast.IntLit) and isinstance(e.right, ast.IntLit):
                self.expect(e.left, want)
                self.expect(e.right, want)
                e.type = want
                return want
        got = self.expr(e, want)
        self.coerce(e, got, want)
        return want

    def coerce(self, e: ast.Expr, got: T.Type, want: T.Type) -> None:
        if T.widens_to(got, want):
            return
        if isinstance(got, T.IntType) and isinstance(want, T.IntType):
            self.r.error(
                "E0203",
                f"{got} does not convert to {want} implicitly",
                e.span,
                f"convert it and check the value: {want}(...)",
            )
        elif got != T.NONE or want != T.NONE:
            self.r.error("E0201", f"expected {want}, found {got}", e.span)

    def expr(self, e: ast.Expr, want: T.Type | None = None) -> T.Type:
        t = self._expr(e, want)
        e.type = t
        return t

    def _expr(self, e: ast.Expr, want: T.Type | None) -> T.Type:
        if isinstance(e, ast.IntLit):
            if isinstance(want, T.IntType):
                return self.expect(e, want)
            t = T.UINT if e.value >= 0 else T.IntType(True, 256)
            lo, hi = t.range
            if not lo <= e.value <= hi:
                self.r.error("E0206", f"{e.value} does not fit any integer type", e.span)
            return t
        if isinstance(e, ast.BoolLit):
            return T.BOOL
        if isinstance(e, ast.StrLit):
            return T.StringType(max(1, len(e.value.encode())))
        if isinstance(e, ast.BytesLit):
            n = len(e.value)
            return T.FixedBytesType(n) if 1 <= n <= 32 else T.BytesType(max(1, n))
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.Attribute):
            return self.attribute(e)
        if isinstance(e, ast.Index):
            return self.index(e)
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.BinOp):
            return self.binop(e, want)
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.BoolOp):
            for v in e.values:
                self.expect(v, T.BOOL)
            return T.BOOL
        if isinstance(e, ast.Not):
            self.expect(e.operand, T.BOOL)
            return T.BOOL
        if isinstance(e, ast.Neg):
            t = self.expr(e.operand, want)
            if t != T.ERROR and not (isinstance(t, T.IntType) and t.signed):
                self.r.error(
                    "E0202", f"cannot negate {t}", e.span, "only signed integers have a minus"
                )
            return t
        self.r.error("E0201", "unsupported expression", e.span)
        return T.ERROR

    def name(self, e: ast.Name) -> T.Type:
        local = self.lookup(e.id)
        if local is not None:
            e.ref = local
            return local.type
        lib = self.fn.library
        qualified = f"{lib}.{e.id}" if lib else None
        if e.id in self.info.consts and lib is None:
            c = self.info.consts[e.id]
            e.ref = c
            return c.type
        if qualified in self.info.consts:
            c = self.info.consts[qualified]
            e.ref = c
            return c.type
        hint = None
        if e.id in self.info.state:
            hint = f"state variables are read as self.{e.id}"
        elif e.id in ("true", "false"):
            hint = "booleans are True and False"
        self.r.error("E0101", f"undefined name {e.id}", e.span, hint)
        return T.ERROR

    def attribute(self, e: ast.Attribute) -> T.Type:
        obj = e.obj
        if isinstance(obj, ast.Name) and obj.id in self.c.libraries and self.lookup(obj.id) is None:
            c = self.info.consts.get(f"{obj.id}.{e.attr}")
            if c is None:
                self.r.error("E0105", f"library {obj.id} has no constant {e.attr}", e.span)
                return T.ERROR
            e.ref = c
            return c.type
        if (
            isinstance(obj, ast.Name)
            and obj.id == "self"
            and self.fn.library
            and self.lookup("self") is None
        ):
            self.r.error(
                "E0310",
                f"library {self.fn.library} has no self: its functions cannot touch state",
                e.span,
                "pass what the function needs as arguments",
            )
            return T.ERROR
        if (
            isinstance(obj, ast.Name)
            and obj.id in ("msg", "block", "tx", "self")
            and self.lookup(obj.id) is None
        ):
            key = (obj.id, e.attr)
            if key in ENV:
                e.ref = ("env", f"{obj.id}.{e.attr}")
                if key == ("msg", "value"):
                    self.fn.value_uses.append(e)
                return ENV[key]
            if obj.id == "self":
                sv = self.info.state.get(e.attr)
                if sv is not None:
                    e.ref = sv
                    return sv.type
                if e.attr in self.info.functions:
                    self.r.error("E0205", f"self.{e.attr} is a function: call it", e.span)
                    return T.ERROR
            self.r.error(
                "E0105", f"{obj.id} has no member {e.attr}", e.span, _member_hint(obj.id, self.info)
            )
            return T.UINT
        if isinstance(obj, ast.Name) and obj.id in self.info.enums and self.lookup(obj.id) is None:
            enum = self.info.enums[obj.id]
            if e.attr not in enum.members:
                self.r.error(
                    "E0105",
                    f"{enum.name} has no member {e.attr}",
                    e.span,
                    f"members: {', '.join(enum.members)}",
                )
                return enum
            e.ref = ("enum", enum, enum.members.index(e.attr))
            return enum
        t = self.expr(obj)
        if t == T.ERROR:
            return T.ERROR
        if isinstance(
            t, T.ReportType | T.StructType
        ):  # named fields: a report's or a stored struct's
            idx = t.field_index(e.attr)
            if idx is None:
                fields = ", ".join(n for n, _ in t.fields)
                self.r.error(
                    "E0105", f"{t.name} has no field {e.attr}", e.span, f"fields: {fields}"
                )
                return T.ERROR
            e.ref = ("report_field" if isinstance(t, T.ReportType) else "field", t, idx)
            return t.fields[idx][1]
        self.r.error("E0105", f"{t} has no member {e.attr}", e.span)
        return T.ERROR

    def index(self, e: ast.Index) -> T.Type:
        t = self.expr(e.obj)
        if isinstance(t, T.MapType):
            self.expect(e.index, t.key)
            return t.value
        if isinstance(t, T.ListType | T.ArrayType):
            it = self.expr(e.index)
            if not (isinstance(it, T.IntType) and not it.signed) and it != T.ERROR:
                self.r.error("E0201", f"an index is an unsigned integer, found {it}", e.index.span)
            return t.elem
        if t == T.ERROR:
            return T.ERROR
        self.r.error("E0202", f"{t} cannot be indexed", e.span)
        return T.ERROR

    def binop(self, e: ast.BinOp, want: T.Type | None) -> T.Type:
        op = e.op
        if op in ("**", "<<", ">>"):
            lt = (
                self.expr(e.left, want)
                if not isinstance(e.left, ast.IntLit) or not isinstance(want, T.IntType)
                else self.expect(e.left, want)
            )
            rt = self.expr(e.right)
            if T.ERROR in (lt, rt):
                return T.ERROR
            if not isinstance(lt, T.IntType) or not (isinstance(rt, T.IntType) and not rt.signed):
                self.r.error(
                    "E0202",
                    f"{op} needs an integer and an unsigned integer, found {lt} and {rt}",
                    e.span,
                )
            return lt
        left_lit, right_lit = isinstance(e.left, ast.IntLit), isinstance(e.right, ast.IntLit)
        if left_lit and not right_lit:
            rt = self.expr(e.right, want)
            lt = self.expect(e.left, rt) if isinstance(rt, T.IntType) else self.expr(e.left)
        elif right_lit and not left_lit:
            lt = self.expr(e.left, want)
            rt = self.expect(e.right, lt) if isinstance(lt, T.IntType) else self.expr(e.right)
        else:
            lt, rt = self.expr(e.left, want), self.expr(e.right, want)
        if T.ERROR in (lt, rt):
            return T.ERROR
        if not (isinstance(lt, T.IntType) and isinstance(rt, T.IntType)):
            self.r.error("E0202", f"{op} needs integers, found {lt} and {rt}", e.span)
            return T.ERROR
        if lt.signed != rt.signed:
            self.r.error(
                "E0203",
                f"{op} mixes {lt} and {rt}",
                e.span,
                "convert one side explicitly: i256(x) or u256(x)",
            )
            return lt
        return lt if lt.bits >= rt.bits else rt

    def compare(self, e: ast.Compare) -> T.Type:
        left_lit, right_lit = isinstance(e.left, ast.IntLit), isinstance(e.right, ast.IntLit)
        if left_lit and not right_lit:
            rt = self.expr(e.right)
            lt = self.expect(e.left, rt) if isinstance(rt, T.IntType) else self.expr(e.left)
        elif right_lit and not left_lit:
            lt = self.expr(e.left)
            rt = self.expect(e.right, lt) if isinstance(lt, T.IntType) else self.expr(e.right)
        else:
            lt, rt = self.expr(e.left), self.expr(e.right)
        if T.ERROR in (lt, rt):
            return T.BOOL
        if isinstance(lt, T.IntType) and isinstance(rt, T.IntType):
            if lt.signed != rt.signed:
                self.r.error(
                    "E0203", f"comparing {lt} with {rt}", e.span, "convert one side explicitly"
                )
            return T.BOOL
        if e.op not in ("==", "!="):
            self.r.error("E0202", f"{e.op} needs integers, found {lt} and {rt}", e.span)
            return T.BOOL
        if lt.storage_only or rt.storage_only:
            self.r.error("E0202", f"cannot compare {lt}", e.span)
        elif not (T.widens_to(lt, rt) or T.widens_to(rt, lt)) or lt.kind != rt.kind:
            self.r.error("E0202", f"cannot compare {lt} with {rt}", e.span)
        return T.BOOL

    # ------------------------------------------------------------ calls
    def args(self, call: ast.Call, fields: list[tuple[str, T.Type]], what: str) -> None:
        """Positional or keyword arguments against named fields, in order."""
        if call.kwargs and call.args:
            self.r.error(
                "E0204", f"{what}: give all arguments by position or all by name", call.span
            )
        if call.kwargs:
            by_name = {k.name: k for k in call.kwargs}
            names = [n for n, _ in fields]
            for k in call.kwargs:
                if k.name not in names:
                    self.r.error("E0204", f"{what} has no field {k.name}", k.span)
            missing = [n for n in names if n not in by_name]
            if missing:
                self.r.error("E0204", f"{what}: missing {', '.join(missing)}", call.span)
                return
            call.args = [by_name[n].value for n in names]
            call.kwargs = []
        if len(call.args) != len(fields):
            self.r.error(
                "E0204", f"{what} takes {len(fields)} argument(s), got {len(call.args)}", call.span
            )
            for a in call.args:
                self.expr(a)
            return
        for a, (_, t) in zip(call.args, fields, strict=True):
            self.expect(a, t)

    def call(self, e: ast.Call) -> T.Type:
        f = e.func
        if isinstance(f, ast.Name) and self.lookup(f.id) is None:
            if f.id in BUILTINS:
                return self.builtin(e, f.id)
            conv = T.builtin_type(f.id)
            if conv is not None:
                return self.conversion(e, conv)
            if f.id in self.info.interfaces:
                iface = self.info.interfaces[f.id]
                if len(e.args) != 1 or e.kwargs:
                    self.r.error("E0204", f"{f.id}(address) takes one address", e.span)
                    return iface.type
                self.expect(e.args[0], T.ADDRESS)
                e.ref = ("iface_cast", iface)
                return iface.type
            if f.id in self.info.errors:
                self.r.error("E0205", f"{f.id} is an error: use revert {f.id}(...)", e.span)
                return T.NONE
            if f.id in self.info.events:
                self.r.error("E0205", f"{f.id} is an event: use emit {f.id}(...)", e.span)
                return T.NONE
            if f.id in self.info.functions:
                self.r.error(
                    "E0101",
                    f"undefined name {f.id}",
                    f.span,
                    f"call the contract's own functions as self.{f.id}(...)",
                )
                return T.UINT
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.obj, ast.Name)
            and f.obj.id in self.c.libraries
            and self.lookup(f.obj.id) is None
        ):
            target = self.info.functions.get(f"{f.obj.id}.{f.attr}")
            if target is None:
                self.r.error("E0105", f"library {f.obj.id} has no function {f.attr}", f.span)
                return T.ERROR
            e.ref = ("internal", target)
            self.fn.calls.add(target.name)
            self.fn.call_sites.append((target.name, e))
            self.args(e, target.params, target.name)
            return target.returns
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.obj, ast.Name)
            and f.obj.id == "self"
            and self.fn.library
            and self.lookup("self") is None
        ):
            self.r.error(
                "E0310",
                f"library {self.fn.library} has no self: it cannot call the contract",
                e.span,
            )
            return T.ERROR
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.obj, ast.Name)
            and f.obj.id == "self"
            and self.lookup("self") is None
        ):
            target = self.info.functions.get(f.attr)
            if target is not None:
                if target.is_init:
                    self.r.error(
                        "E0307", "init runs once, at deployment; it cannot be called", e.span
                    )
                e.ref = ("internal", target)
                self.fn.calls.add(target.name)
                self.fn.call_sites.append((target.name, e))
                self.args(e, target.params, f"{target.name}")
                return target.returns
        if isinstance(f, ast.Attribute):
            obj_t = self.expr(f.obj)
            if isinstance(obj_t, T.ListType) and f.attr in ("push", "pop"):
                return self.list_method(e, f, obj_t)
            if isinstance(obj_t, T.InterfaceType):
                iface = self.info.interfaces[obj_t.name]
                method = iface.methods.get(f.attr)
                if method is None:
                    self.r.error(
                        "E0105",
                        f"{iface.name} has no function {f.attr}",
                        f.span,
                        f"functions: {', '.join(iface.methods)}",
                    )
                    return T.UINT
                value_kw = next((k for k in e.kwargs if k.name == "value"), None)
                if value_kw is not None:
                    self.value_kwarg(value_kw, iface, method)
                e.ref = ("external", iface, method, value_kw.value if value_kw else None)
                self.fn.ext_calls.append((e, method))
                e.kwargs = [k for k in e.kwargs if k is not value_kw]
                self.args(e, method.params, f"{iface.name}.{method.name}")
                if (
                    value_kw is not None
                ):  # kept: a library's call is checked again for each contract
                    e.kwargs.append(value_kw)
                return method.returns
        self.r.error("E0205", "this is not a function", f.span)
        for a in e.args:
            self.expr(a)
        return T.ERROR

    def value_kwarg(self, kw: ast.Keyword, iface: InterfaceInfo, method: MethodInfo) -> None:
        """``value=`` on an interface call: only to a payable method, never from a library."""
        if self.fn.library:
            self.r.error(
                "E0310",
                f"library {self.fn.library} cannot send value",
                kw.span,
                "drop value=, and let the contract make the call that pays",
            )
        elif not method.payable:
            self.r.error(
                "E0302",
                f"{iface.name}.{method.name} is not @payable: it takes no value",
                kw.span,
            )
        self.expect(kw.value, T.UINT)

    def list_method(self, e: ast.Call, f: ast.Attribute, t: T.ListType) -> T.Type:
        if isinstance(t.elem, T.StructType):
            self.r.error(
                "E0202",
                f"{f.attr} works on lists of values, not of {t.elem}",
                e.span,
                "keep a length and write the fields of xs[i]",
            )
            return T.ERROR
        e.ref = (f"list_{f.attr}", t)
        self.fn.writes.append(e)
        if e.kwargs:
            self.r.error("E0204", f"{f.attr} takes no keyword arguments", e.span)
        if f.attr == "push":
            if len(e.args) != 1:
                self.r.error("E0204", f"push takes 1 argument, got {len(e.args)}", e.span)
                return T.NONE
            self.expect(e.args[0], t.elem)
            return T.NONE
        if e.args:
            self.r.error("E0204", f"pop takes no arguments, got {len(e.args)}", e.span)
        return t.elem

    def conversion(self, e: ast.Call, to: T.Type) -> T.Type:
        if len(e.args) != 1 or e.kwargs:
            self.r.error("E0204", f"{to}(x) takes one value", e.span)
            return to
        arg = e.args[0]
        if isinstance(to, T.IntType):
            if isinstance(arg, ast.IntLit):
                self.expect(arg, to)
            else:
                src = self.expr(arg)
                if isinstance(src, T.EnumType):
                    pass
                elif isinstance(src, T.FixedBytesType) and to.bits >= src.size * 8:
                    pass
                elif not isinstance(src, T.IntType):
                    self.r.error("E0201", f"cannot convert {src} to {to}", e.span)
            e.ref = ("convert", to)
            return to
        if isinstance(to, T.FixedBytesType) and to.size == 32:
            src = self.expr(arg)
            if not isinstance(src, T.IntType | T.FixedBytesType):
                self.r.error("E0201", f"cannot convert {src} to {to}", e.span)
            e.ref = ("convert", to)
            return to
        if isinstance(to, T.AddressType):
            src = self.expr(arg)
            if not isinstance(src, T.InterfaceType | T.AddressType):
                self.r.error(
                    "E0201",
                    f"cannot convert {src} to address",
                    e.span,
                    "the zero address is empty(address)",
                )
            e.ref = ("convert", to)
            return to
        self.r.error("E0201", f"no conversion to {to}", e.span)
        return to

    def builtin(self, e: ast.Call, name: str) -> T.Type:
        e.ref = ("builtin", name)
        args = e.args
        if name == "range":
            self.r.error("E0201", "range(...) is used only in for loops", e.span)
            return T.NONE
        if (
            name == "oracle_report"
            and len(args) == 5
            and isinstance(args[0], ast.Name)
            and args[0].id in self.c.reports
        ):
            rtype = self.c.reports[args[0].id]
            e.args = args[1:]
            self.builtin(e, "oracle_report")  # checks the report, signers, quorum and age
            e.ref = ("typed_report", rtype)
            return rtype
        if e.kwargs:
            self.r.error("E0204", f"{name} takes no keyword arguments", e.kwargs[0].span)
        arity = {
            "require": len(args) if len(args) in (1, 2) else 2,  # the reason is optional
            "send": 2,
            "min": 2,
            "max": 2,
            "len": 1,
            "sha256": 1,
            "keccak256": 1,
            "verify_ed25519": 3,
            "empty": 1,
            "register_document": 1,
            "document_holder": 1,
            "oracle_report": 4,
            "read_uint": 2,
            "read_bytes32": 2,
        }[name]
        if len(args) != arity:
            takes = "1 or 2 arguments" if name == "require" else f"{arity} argument(s)"
            self.r.error("E0204", f"{name} takes {takes}, got {len(args)}", e.span)
            for a in args:
                if not (name == "empty"):
                    self.expr(a)
            return T.NONE if name in ("require", "send", "register_document") else T.UINT
        if name == "register_document":
            self.expect(args[0], T.BYTES32)
            self.fn.writes.append(e)
            return T.NONE
        if name == "document_holder":
            self.expect(args[0], T.BYTES32)
            return T.ADDRESS
        if name == "oracle_report":
            report = self.expr(args[0])
            signers = self.expr(args[1])
            for a, t in ((args[0], report), (args[1], signers)):
                if not isinstance(t, T.BytesType | T.FixedBytesType) and t != T.ERROR:
                    self.r.error("E0202", f"oracle_report takes bytes here, found {t}", a.span)
            self.expect(args[2], T.U8)
            self.expect(args[3], T.U64)
            self.fn.writes.append(e)  # marks the report used
            return REPORT_DATA
        if name in ("read_uint", "read_bytes32"):
            t = self.expr(args[0])
            if not isinstance(t, T.BytesType | T.FixedBytesType) and t != T.ERROR:
                self.r.error("E0202", f"{name} reads from bytes, found {t}", args[0].span)
            self.expect(args[1], T.UINT)
            return T.UINT if name == "read_uint" else T.BYTES32
        if name == "require":
            self.expect(args[0], T.BOOL)
            if len(args) == 2:
                t = self.expr(args[1])
                if not isinstance(t, T.StringType):
                    self.r.error(
                        "E0201",
                        f"the reason of require or assert is a string, found {t}",
                        args[1].span,
                    )
            return T.NONE
        if name == "send":
            self.expect(args[0], T.ADDRESS)
            self.expect(args[1], T.UINT)
            self.fn.writes.append(e)
            return T.NONE
        if name in ("min", "max"):
            return self.binop(ast.BinOp("+", args[0], args[1], span=e.span), None)
        if name == "len":
            t = self.expr(args[0])
            if not isinstance(t, T.BytesType | T.StringType | T.ListType | T.ArrayType):
                self.r.error("E0202", f"len needs bytes or a string, found {t}", args[0].span)
            return T.UINT
        if name in ("sha256", "keccak256"):
            t = self.expr(args[0])
            if t.storage_only or isinstance(t, T.BoolType | T.EnumType):
                self.r.error(
                    "E0202",
                    f"{name} takes bytes, a string, an address or an integer, found {t}",
                    args[0].span,
                )
            return T.BYTES32
        if name == "verify_ed25519":
            self.expect(args[0], T.BYTES32)
            t = self.expr(args[1])
            if not isinstance(t, T.BytesType | T.StringType | T.FixedBytesType):
                self.r.error("E0202", f"the message is bytes, found {t}", args[1].span)
            t = self.expr(args[2])
            if not (isinstance(t, T.BytesType) and t.max_len >= 64):
                self.r.error("E0202", f"the signature is bytes[64], found {t}", args[2].span)
            return T.BOOL
        if name == "empty":
            a = args[0]
            if not isinstance(a, ast.Name):
                self.r.error("E0103", "empty(T) takes a type", a.span)
                return T.ERROR
            t = self.c.types.resolve(ast.TypeExpr(a.id, span=a.span), value_only=True)
            e.ref = ("empty", t)
            return t
        return T.UINT


def _member_hint(base: str, info: ContractInfo) -> str | None:
    options = sorted(attr for (b, attr) in ENV if b == base)
    if base == "self":
        options += sorted(info.state)
    return f"known: {', '.join(options)}" if options else None
