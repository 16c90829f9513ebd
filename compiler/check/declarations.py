"""Declarations: a contract's types, events, errors, constants, state,
functions and libraries, then the rules over its call graph (no recursion,
views that change nothing, msg.value only where payable)."""

from __future__ import annotations

from deed.vm.module import RECEIVE_NAME

from .. import ast
from .. import types as T
from ..diagnostics import Note, Reporter
from ..symbols import (
    ConstInfo,
    ContractInfo,
    ErrorInfo,
    EventInfo,
    FunctionInfo,
    InterfaceInfo,
    MethodInfo,
    StateVarInfo,
)
from .constants import const_eval, number_text
from .function import FunctionChecker
from .resolve import TypeResolver

DECORATORS = {"view", "payable"}

#: Indexed fields of one event at most (spec/language.md §3).
MAX_INDEXED = 4

#: The function a transaction with no call data runs (spec/language.md §4).
RECEIVE = RECEIVE_NAME


def check(source: ast.SourceFile, reporter: Reporter) -> list[ContractInfo]:
    interfaces = _interfaces(source, reporter)
    libraries = {lib.name: lib for lib in source.libraries}
    return [ContractChecker(c, interfaces, reporter, libraries).run() for c in source.contracts]


def _interfaces(source: ast.SourceFile, reporter: Reporter) -> dict[str, InterfaceInfo]:
    out: dict[str, InterfaceInfo] = {}
    for iface in source.interfaces:
        if iface.name in out:
            reporter.error("E0102", f"interface {iface.name} is defined twice", iface.span)
            continue
        out[iface.name] = InterfaceInfo(iface.name, {}, T.InterfaceType(iface.name))
    for iface in source.interfaces:
        info = out[iface.name]
        resolver = TypeResolver({}, {}, out, reporter)
        for m in iface.methods:
            names = {d.name for d in m.decorators}
            for d in m.decorators:
                if d.name not in DECORATORS:
                    reporter.error(
                        "E0308", f"unknown decorator @{d.name}", d.span, _decorator_hint(d.name)
                    )
            params = [
                (p.name, resolver.resolve(p.type_expr, value_only=True, values=True))
                for p in m.params
            ]
            returns = (
                resolver.resolve(m.returns, value_only=True, values=True, returns=True)
                if m.returns
                else T.NONE
            )
            if m.name in info.methods:
                reporter.error(
                    "E0102", f"method {m.name} is declared twice in {iface.name}", m.span
                )
            info.methods[m.name] = MethodInfo(
                m.name, params, returns, "view" in names, "payable" in names
            )
    return out


class ContractChecker:
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
        if name in self.names:
            if self._is_pub_state(name):
                self.r.error(
                    "E0102",
                    f"{name} is already defined: the pub state variable {name} has a getter of this name",
                    span,
                    "rename the function, or drop pub from the state variable",
                    notes=(
                        Note(f"the pub state variable {name} is declared here", self.names[name]),
                    ),
                )
                return False
            self.r.error(
                "E0102",
                f"{name} is already defined",
                span,
                notes=(Note(f"{name} is first defined here", self.names[name]),),
            )
            return False
        if name in self.info.interfaces:
            self.r.error("E0102", f"{name} is already defined, as an interface", span)
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
        self.reports: dict[str, T.ReportType] = info.reports
        self.types = TypeResolver(info.structs, info.enums, info.interfaces, self.r, self.reports)
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
                    indexed = self._indexed_fields(m, fields)
                    info.events[m.name] = EventInfo(m.name, fields, len(info.events), indexed)
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
        for m in members:
            if isinstance(m, ast.StateVar) and m.public and m.name in info.state:
                self._declare_getter(m)
        for fn in info.functions.values():
            FunctionChecker(self, fn).run()
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
        return TypeResolver(
            self.info.structs, self.info.enums, self.info.interfaces, Reporter()
        ).resolve(te)

    def _unique(self, names: list[str], spans: list[ast.Span], what: str) -> None:
        first: dict[str, ast.Span] = {}
        for n, span in zip(names, spans, strict=True):
            if n in first:
                self.r.error(
                    "E0102",
                    f"{what} {n} is declared twice",
                    span,
                    notes=(Note(f"{what} {n} is first declared here", first[n]),),
                )
            first.setdefault(n, span)

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
                self.r.error("E0206", f"{number_text(value)} does not fit {t}", expr.span)
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
                    "E0308", f"unknown decorator @{d.name}", d.span, _decorator_hint(d.name)
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
        if m.name == RECEIVE:
            self._check_receive(m, payable)
        self._unique([p.name for p in m.params], [p.span for p in m.params], "parameter")
        params, returns = self._signature(m)
        self.info.functions[m.name] = FunctionInfo(
            m.name, m, params, returns, m.public, view, payable, is_init
        )

    def _check_receive(self, m: ast.FunctionDef, payable: bool) -> None:
        """``receive`` runs for a transaction with value and no call data: the
        VM finds it by its name and selector, so its shape is fixed."""
        shape = "@payable pub receive(), with no parameters and no result"
        if not (m.public and payable):
            self.r.error(
                "E0312",
                "receive takes plain value transfers: it is pub and @payable",
                m.name_span,
                f"declare {shape}",
            )
        if m.params:
            self.r.error("E0312", "receive takes no parameters", m.params[0].span, shape)
        if m.returns is not None:
            self.r.error("E0312", "receive returns nothing", m.returns.span, shape)

    def _indexed_fields(self, m: ast.EventDef, fields: list) -> tuple[str, ...]:
        """The fields declared ``indexed``: of a fixed-size type, at most MAX_INDEXED."""
        types = dict(fields)
        spans = {p.name: p.span for p in m.params}
        for name in m.indexed:
            t = types.get(name)
            if isinstance(t, T.BytesType | T.StringType):
                self.r.error(
                    "E0313",
                    f"an indexed field has a fixed-size type, not {t}",
                    spans[name],
                    "index a bytes32 digest of it, e.g. keccak256(...)",
                )
        if len(m.indexed) > MAX_INDEXED:
            self.r.error(
                "E0313",
                f"event {m.name} has {len(m.indexed)} indexed fields: at most {MAX_INDEXED}",
                spans[m.indexed[MAX_INDEXED]],
            )
        return tuple(m.indexed)

    def _is_pub_state(self, name: str) -> bool:
        """True when ``name`` was first declared by a pub state variable (its getter's name)."""
        first = self.names.get(name)
        return any(
            isinstance(m, ast.StateVar) and m.public and m.name == name and m.span == first
            for m in self.node.members
        )

    def _declare_getter(self, m: ast.StateVar) -> None:
        """``pub name: T``: a view ``name`` taking one key per map level and one
        index per list or array level, returning the value there. It is an
        ordinary function (checked, lowered, listed in the ABI like a
        hand-written view) whose every span is the state variable's."""
        span = m.span
        t = self.info.state[m.name].type
        te: ast.TypeExpr | None = m.type_expr
        target: ast.Expr = ast.Attribute(ast.Name("self", span=span), m.name, span=span)
        params: list[ast.Param] = []
        types: list[tuple[str, T.Type]] = []
        levels = _levels(t)
        keys = sum(isinstance(x, T.MapType) for x in levels)
        indexes = len(levels) - keys
        seen = {"key": 0, "index": 0}
        for level in levels:
            kind = "key" if isinstance(level, T.MapType) else "index"
            seen[kind] += 1
            base = kind if (keys if kind == "key" else indexes) == 1 else f"{kind}{seen[kind]}"
            if isinstance(level, T.MapType):
                key_te = te.args[0] if te is not None and len(te.args) == 2 else None
                pt = level.key
                te = te.args[1] if key_te is not None else None
            else:
                key_te = None
                pt = T.UINT
                te = _element_type_expr(te)
            name = base
            while name in self.info.consts or name in self.info.state:
                name += "_"
            params.append(ast.Param(name, key_te or ast.TypeExpr("uint", span=span), span=span))
            types.append((name, pt))
            target = ast.Index(target, ast.Name(name, span=span), span=span)
            t = level.value if isinstance(level, T.MapType) else level.elem
        if isinstance(t, T.StructType) and t.storage_only:
            self.r.error(
                "E0208",
                f"a pub getter returns a value: {t.name} keeps {t.storage_field()} in storage",
                span,
                "write a view that returns the fields you need",
            )
            return
        if t.storage_only or t == T.ERROR:
            return  # reported where the type is resolved
        node = ast.FunctionDef(
            m.name,
            params,
            te,
            [ast.Decorator("view", span=span)],
            True,
            [ast.Return(target, span=span)],
            span=span,
            name_span=span,
        )
        self.info.functions[m.name] = FunctionInfo(m.name, node, types, t, True, True, False, False)

    def _signature(self, m: ast.FunctionDef) -> tuple[list[tuple[str, T.Type]], T.Type]:
        """A function's parameter types and result type (values beyond scalars allowed)."""
        params = [
            (p.name, self.types.resolve(p.type_expr, value_only=True, values=True))
            for p in m.params
        ]
        returns = (
            self.types.resolve(m.returns, value_only=True, values=True, returns=True)
            if m.returns
            else T.NONE
        )
        return params, returns

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
                params, returns = self._signature(m)
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


def _levels(t: T.Type) -> list[T.Type]:
    """The maps, lists and arrays a getter goes through to reach a value."""
    out = []
    while isinstance(t, T.MapType | T.ListType | T.ArrayType):
        out.append(t)
        t = t.value if isinstance(t, T.MapType) else t.elem
    return out


def _element_type_expr(te: ast.TypeExpr | None) -> ast.TypeExpr | None:
    """The element's type expression of ``list[T, N]`` or ``T[N]``."""
    if te is None:
        return None
    if te.name == "list" and te.args and isinstance(te.args[0], ast.TypeExpr):
        return te.args[0]
    if len(te.args) == 1 and isinstance(te.args[0], int):
        return ast.TypeExpr(te.name, [], span=te.span)
    return None


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


def _decorator_hint(name: str) -> str:
    from ..hints import decorator_hint  # only on an error: keeps imports light

    return decorator_hint(name) or "use @view or @payable"
