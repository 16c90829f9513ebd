"""Lowering: the checked AST of one contract into the typed IR.

Control flow (if, loops, short-circuit ``and``/``or``, require with a
computed message) becomes blocks; storage access becomes key expressions
(state variable slots, ``mapkey`` for map entries and struct fields).
"""

from __future__ import annotations

from . import ast, ir
from . import types as T
from .arith import SOURCE_OPS as _BINOPS
from .builtins import lower_balance
from .symbols import (
    BuiltinRef,
    ConstInfo,
    ContractInfo,
    ConversionRef,
    EmptyRef,
    EnumMemberRef,
    EnvRef,
    ErrorRef,
    ExternalCallRef,
    FieldRef,
    FunctionInfo,
    InterfaceCastRef,
    InternalCallRef,
    ListMethodRef,
    LocalInfo,
    ReportFieldRef,
    StateVarInfo,
    StructCtorRef,
    TypedReportRef,
)

#: The revert reason of ``require(c)`` and ``assert c`` (spec/language.md §5).
DEFAULT_REQUIRE_REASON = "requirement failed"

_CMPOPS = {"<": "lt", ">": "gt", "<=": "le", ">=": "ge", "==": "eq", "!=": "ne"}


def lower_contract(info: ContractInfo) -> ir.Program:
    imports: list[tuple[str, str, list[T.Type], T.Type, bool]] = []
    import_spans: list[ast.Span] = []
    used = _used_functions(info)
    functions = [
        _FunctionLowerer(info, fn, imports, import_spans).run()
        for fn in info.functions.values()
        if fn.name in used
    ]
    return ir.Program(
        contract=info.name,
        state=[(s.name, s.type) for s in sorted(info.state.values(), key=lambda s: s.slot)],
        functions=functions,
        events=[(e.name, e.fields) for e in sorted(info.events.values(), key=lambda e: e.index)],
        errors=[(e.name, e.fields) for e in sorted(info.errors.values(), key=lambda e: e.index)],
        imports=imports,
        import_spans=import_spans,
        indexed={e.name: e.indexed for e in info.events.values() if e.indexed},
    )


def _used_functions(info: ContractInfo) -> set[str]:
    """The contract's own functions and the library functions they reach."""
    used = {name for name, fn in info.functions.items() if fn.library is None}
    work = list(used)
    while work:
        for callee in info.functions[work.pop()].calls:
            if callee not in used:
                used.add(callee)
                work.append(callee)
    return used


def zero_value(t: T.Type) -> int | bool | bytes:
    if isinstance(t, T.BoolType):
        return False
    if isinstance(t, T.AddressType | T.InterfaceType):
        return bytes(20)
    if isinstance(t, T.FixedBytesType):
        return bytes(t.size)
    if isinstance(t, T.BytesType | T.StringType | T.ListType):
        return b""
    if isinstance(t, T.ArrayType):  # N zero elements
        return bytes(T.raw_size(t))
    return 0


def vm_returns(t: T.Type) -> T.Type:
    """What a function returns at the VM's level: a struct or a tuple as the
    tuple of its leaves (spec/language.md, struct values)."""
    return T.TupleType(tuple(T.leaf_types(t))) if T.is_aggregate(t) else t


def _leaf_paths(t: T.StructType, prefix: tuple[int, ...] = ()):
    """Each leaf field of a struct: its path of field indexes, and its type."""
    for i, (_, ft) in enumerate(t.fields):
        if isinstance(ft, T.StructType):
            yield from _leaf_paths(ft, (*prefix, i))
        else:
            yield (*prefix, i), ft


def is_simple(e: ir.Expr) -> bool:
    """True when evaluating ``e`` can neither fail nor have effects."""
    return all(
        isinstance(n, ir.Const | ir.Local | ir.Env | ir.Compare | ir.Logic | ir.SlotKey)
        or (isinstance(n, ir.Unary) and n.op == "not")
        for n in ir.walk(e)
    )


class _FunctionLowerer:
    def __init__(self, info: ContractInfo, fn: FunctionInfo, imports: list, import_spans: list):
        self.info = info
        self.fn = fn
        self.imports = imports
        self.import_spans = import_spans  # where each import is first called
        # a struct value is one VM local per leaf field (spec/language.md, struct values)
        self.locals: list[tuple[str, T.Type]] = []
        self.slots: dict[int, list[int]] = {}  # a declared local's index: its VM locals
        for loc in fn.locals:
            first = len(self.locals)
            if T.is_aggregate(loc.type):
                self.locals += [(f"{loc.name}.{p}", t) for p, t in T.flatten(loc.type)]
            else:
                self.locals.append((loc.name, loc.type))
            self.slots[loc.index] = list(range(first, len(self.locals)))
        self.n_params = sum(len(self.slots[loc.index]) for loc in fn.locals[: len(fn.params)])
        self._names = {n for n, _ in self.locals}
        self.blocks: list[ir.Block] = []
        self.current = self.new_block()
        self.loops: list[tuple[int, int]] = []  # (continue target, break target)
        self.loop_info: list[ir.Loop] = []
        self.span = fn.node.span  # of the statement being lowered

    # ------------------------------------------------------------ locals
    def slot(self, local: LocalInfo) -> int:
        """The VM local of a scalar local."""
        return self.slots[local.index][0]

    def local_values(self, local: LocalInfo) -> list[ir.Local]:
        return [ir.Local(self.locals[i][1], i, self.locals[i][0]) for i in self.slots[local.index]]

    def set_values(self, local: LocalInfo, values: list[ir.Expr]) -> None:
        """Assign a struct value leaf by leaf; through temporaries when the new
        value reads the old one (``p = Point(x=p.y, y=p.x)``)."""
        indexes = self.slots[local.index]
        if len(values) > 1 and any(
            isinstance(n, ir.Local) and n.index in indexes for v in values for n in ir.walk(v)
        ):
            values = [self.held(v, v.type, "v") for v in values]
        for i, v in zip(indexes, values, strict=True):
            self.emit(ir.SetLocal(i, self.locals[i][0], v))

    # ------------------------------------------------------------ blocks
    def new_block(self) -> ir.Block:
        b = ir.Block(len(self.blocks))
        self.blocks.append(b)
        return b

    def emit(self, stmt) -> None:
        stmt.span = self.span
        self.current.stmts.append(stmt)

    def terminate(self, term) -> None:
        term.span = self.span
        self.current.term = term

    def switch(self, block: ir.Block) -> None:
        self.current = block

    def temp(self, t: T.Type, hint: str = "t") -> ir.Local:
        n = 0
        while f"{hint}.{n}" in self._names:
            n += 1
        name = f"{hint}.{n}"
        self._names.add(name)
        self.locals.append((name, t))
        return ir.Local(t, len(self.locals) - 1, name)

    def run(self) -> ir.Function:
        fn = self.fn
        if fn.public or fn.is_init:
            # arguments come from outside: an enum must name one of its members
            for i, (name, t) in enumerate(self.locals[: self.n_params]):
                if isinstance(t, T.EnumType):
                    inside = ir.Compare(
                        T.BOOL, "lt", ir.Local(t, i, name), ir.Const(t, len(t.members))
                    )
                    self.emit(ir.Require(inside, f"{name} is not a {t.name}", implicit=True))
            self.check_list_params()
        self.body(fn.node.body)
        if self.current.term is None:
            self.terminate(ir.Return(None))
        for b in self.blocks:
            if b.term is None:  # blocks after a return: unreachable, removed by the optimiser
                b.term = (
                    ir.Return(None)
                    if fn.returns == T.NONE
                    else ir.RevertMsg(ir.Const(T.REASON, b"unreachable"))
                )
        f = ir.Function(
            fn.name,
            self.locals[: self.n_params],
            self.locals,
            vm_returns(fn.returns),
            fn.public,
            fn.view,
            fn.payable,
            fn.is_init,
            self.blocks,
            self.loop_info,
        )
        f.span = fn.node.name_span
        return f

    # ------------------------------------------------------------ statements
    def body(self, stmts: list[ast.Stmt]) -> None:
        for s in stmts:
            if self.current.term is not None:
                self.switch(self.new_block())  # dead code after a terminator
            self.stmt(s)

    def stmt(self, s: ast.Stmt) -> None:
        outer, self.span = self.span, s.span
        try:
            self._stmt(s)
        finally:
            self.span = outer

    def _stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.VarDecl):
            local: LocalInfo = s.ref
            if T.is_aggregate(local.type):
                self.set_values(local, self.leaves(s.value))
            else:
                self.emit(
                    ir.SetLocal(self.slot(local), local.name, self.value(s.value, local.type))
                )
        elif isinstance(s, ast.MultiAssign):
            self.multi_assign(s)
        elif isinstance(s, ast.Assign) and T.is_aggregate(s.target.type):
            self.assign_values(s.target, s.value)
        elif isinstance(s, ast.Assign):
            self.assign(s.target, lambda: self.value(s.value, s.target.type))
        elif isinstance(s, ast.AugAssign):
            self.aug_assign(s)
        elif isinstance(s, ast.Return) and s.value is not None and T.is_aggregate(self.fn.returns):
            values = self.leaves(s.value)
            self.terminate(ir.Return(ir.Multi(vm_returns(self.fn.returns), values)))
        elif isinstance(s, ast.Return):
            self.terminate(
                ir.Return(self.value(s.value, self.fn.returns) if s.value is not None else None)
            )
        elif isinstance(s, ast.Revert):
            self.revert(s)
        elif isinstance(s, ast.Emit):
            ev = s.ref
            self.emit(
                ir.EmitEvent(
                    ev.name, [self.value(a, t) for a, (_, t) in zip(s.args, ev.fields, strict=True)]
                )
            )
        elif isinstance(s, ast.ExprStmt):
            self.expr_stmt(s.value)
        elif isinstance(s, ast.If):
            self.if_stmt(s)
        elif isinstance(s, ast.For):
            self.for_stmt(s)
        elif isinstance(s, ast.Break):
            self.terminate(ir.Jump(self.loops[-1][1]))
        elif isinstance(s, ast.Continue):
            self.terminate(ir.Jump(self.loops[-1][0]))

    def assign(self, target: ast.Expr, value) -> None:
        if self.is_element_write(target):  # xs[i] = v on a list value
            self.list_value_write(target, lambda _current: value())
            return
        if isinstance(target, ast.Name):
            local: LocalInfo = target.ref
            self.emit(ir.SetLocal(self.slot(local), local.name, value()))
        elif self.in_local(target):  # o.amount = v
            (leaf,) = self.leaves(target)
            self.emit(ir.SetLocal(leaf.index, leaf.name, value()))
        else:
            self.emit(ir.Store(self.storage_key(target), value()))

    def assign_values(self, target: ast.Expr, value: ast.Expr | list[ir.Expr]) -> None:
        """A whole struct (or a part of one) into a local or storage: leaf by leaf."""
        if isinstance(target, ast.Name):
            values = value if isinstance(value, list) else self.leaves(value)
            self.set_values(target.ref, values)
            return
        if self.in_local(target):
            dests = self.leaves(target)
            values = value if isinstance(value, list) else self.leaves(value)
            if len(values) > 1:
                values = [self.held(v, v.type, "v") for v in values]
            for d, v in zip(dests, values, strict=True):
                self.emit(ir.SetLocal(d.index, d.name, v))
            return
        base = self.held(self.storage_key(target), T.BYTES32, "key")
        values = value if isinstance(value, list) else self.leaves(value)
        if len(values) > 1:  # read every field before writing any: P(x=self.p.y, y=self.p.x)
            values = [
                self.held(v, v.type, "v")
                if any(isinstance(n, ir.Load | ir.Call | ir.ExtCall) for n in ir.walk(v))
                else v
                for v in values
            ]
        for key, v in zip(self.leaf_keys(target.type, base), values, strict=True):
            self.emit(ir.Store(key, v))

    def multi_assign(self, s: ast.MultiAssign) -> None:
        """The call's values into temporaries, then each into its target, in order."""
        values = self.leaves(s.value)
        at = 0
        for target in s.targets:
            n = len(T.flatten(target.type))
            part = values[at : at + n]
            at += n
            if T.is_aggregate(target.type):
                self.assign_values(target, part)
            else:
                self.assign(target, lambda v=part[0]: v)

    def aug_assign(self, s: ast.AugAssign) -> None:
        t = s.target.type
        op = _BINOPS[s.op]
        if self.is_element_write(s.target):  # xs[i] += v on a list value
            self.list_value_write(
                s.target, lambda current: ir.Binary(t, op, current, self.value(s.value, t))
            )
            return
        if isinstance(s.target, ast.Name) or self.in_local(s.target):
            if isinstance(s.target, ast.Name):
                local: LocalInfo = s.target.ref
                current = ir.Local(t, self.slot(local), local.name)
            else:
                (current,) = self.leaves(s.target)
            self.emit(
                ir.SetLocal(
                    current.index, current.name, ir.Binary(t, op, current, self.value(s.value, t))
                )
            )
            return
        key = self.storage_key(s.target)
        if not isinstance(key, ir.SlotKey):  # compute a map key once
            tmp = self.temp(T.BYTES32, "key")
            self.emit(ir.SetLocal(tmp.index, tmp.name, key))
            key = tmp
        self.emit(ir.Store(key, ir.Binary(t, op, ir.Load(t, key), self.value(s.value, t))))

    def revert(self, s: ast.Revert) -> None:
        v = s.value
        if isinstance(v, ast.Call) and isinstance(v.ref, ErrorRef):
            err = v.ref.error
            self.terminate(
                ir.RaiseError(
                    err.name,
                    [self.value(a, t) for a, (_, t) in zip(v.args, err.fields, strict=True)],
                )
            )
        else:
            self.terminate(ir.RevertMsg(self.expr(v)))

    def expr_stmt(self, e: ast.Expr) -> None:
        ref = e.ref if isinstance(e, ast.Call) else None
        if isinstance(ref, ListMethodRef):
            if ref.method == "push":
                self.list_push(e)
            elif isinstance(ref.list.elem, T.StructType):
                self.list_pop_values(e, keep=False)
            else:
                self.list_pop(e)
            return
        if isinstance(ref, BuiltinRef) and ref.builtin.lower_statement is not None:
            ref.builtin.lower_statement(self, e)
            return
        if T.is_aggregate(e.type) and not isinstance(ref, InternalCallRef | ExternalCallRef):
            # Order(...) or empty(Order) kept for its effects: each field's, dropped
            for v in self.leaves(e):
                if not isinstance(v, ir.Const | ir.Local):
                    self.emit(ir.Eval(v))
            return
        self.emit(ir.Eval(self.expr(e)))

    def require(self, e: ast.Call) -> None:
        cond = self.expr(e.args[0])
        if len(e.args) == 1:  # require(c) / assert c
            self.emit(ir.Require(cond, DEFAULT_REQUIRE_REASON))
            return
        msg = e.args[1]
        if isinstance(msg, ast.StrLit):
            self.emit(ir.Require(cond, msg.value))
            return
        fail, ok = self.new_block(), self.new_block()
        self.terminate(ir.Branch(cond, ok.index, fail.index))
        self.switch(fail)
        self.terminate(ir.RevertMsg(self.expr(msg)))
        self.switch(ok)

    def if_stmt(self, s: ast.If) -> None:
        """Each ``elif`` as an ``if`` in the ``else`` of the one before: the
        blocks of nested ifs, built in a loop (a long chain does not recurse)."""
        branches = s.branches()
        joins: list[tuple[ir.Block, ast.Span]] = []  # each branch's join, and the if it ends
        for i, (cond_expr, body, span) in enumerate(branches):
            self.span = span
            cond = self.expr(cond_expr)
            then = self.new_block()
            other = self.new_block() if s.orelse or i + 1 < len(branches) else None
            join = self.new_block()
            self.terminate(ir.Branch(cond, then.index, (other or join).index))
            self.switch(then)
            self.body(body)
            self.span = span
            if self.current.term is None:
                self.terminate(ir.Jump(join.index))
            joins.append((join, span))
            if other is not None:
                self.switch(other)
        if s.orelse:
            self.body(s.orelse)
            self.span = branches[-1][2]
            if self.current.term is None:
                self.terminate(ir.Jump(joins[-1][0].index))
        for (outer, span), (inner, _) in zip(joins[-2::-1], joins[:0:-1], strict=True):
            self.switch(inner)  # an inner if ended: go on after the outer one
            self.span = span
            if self.current.term is None:
                self.terminate(ir.Jump(outer.index))
        self.switch(joins[0][0])

    def for_stmt(self, s: ast.For) -> None:
        if isinstance(s.iter.type, T.ListType | T.ArrayType) and not self.in_storage(s.iter):
            self.list_value_loop(s)
            return
        if isinstance(s.iter.type, T.ListType | T.ArrayType):
            self.for_each(s)
            return
        it: ast.Call = s.iter
        var: LocalInfo = s.ref
        t = var.type
        bound = it.ref.bound
        if len(it.args) == 2:
            start, end = self.value(it.args[0], t), self.value(it.args[1], t)
        else:
            start, end = ir.Const(t, 0), self.value(it.args[0], t)
        if not isinstance(end, ir.Const):
            end_local = self.temp(t, "end")
            self.emit(ir.SetLocal(end_local.index, end_local.name, end))
            end = end_local
        var_index = self.slot(var)
        self.emit(ir.SetLocal(var_index, var.name, start))
        if bound is not None and not (isinstance(start, ir.Const) and isinstance(end, ir.Const)):
            # the declared bound is real: a longer range reverts before the first iteration
            check, after = self.new_block(), self.new_block()
            self.terminate(
                ir.Branch(
                    ir.Compare(T.BOOL, "gt", end, ir.Local(t, var_index, var.name)),
                    check.index,
                    after.index,
                )
            )
            self.switch(check)
            span = ir.Binary(t, "sub", end, ir.Local(t, var_index, var.name))
            self.emit(
                ir.Require(
                    ir.Compare(
                        T.BOOL,
                        "le",
                        span,
                        ir.Const(t, bound) if bound <= t.range[1] else ir.Const(t, t.range[1]),
                    ),
                    "loop bound exceeded",
                    implicit=True,
                )
            )
            self.terminate(ir.Jump(after.index))
            self.switch(after)
        if bound is None:  # a constant range: its length is the bound
            bound = max(0, int(end.value) - int(start.value))
        self.counted_loop(ir.Local(t, var_index, var.name), end, s.body, bound)

    def counted_loop(
        self, counter: ir.Local, end: ir.Expr, stmts: list[ast.Stmt], bound: int, prelude=None
    ) -> None:
        """``while counter < end: prelude; stmts; counter += 1``, with ``continue``
        going to the increment and ``break`` past the loop."""
        header, body, step, exit_ = (self.new_block() for _ in range(4))
        first = len(self.blocks) - 4
        self.terminate(ir.Jump(header.index))
        self.switch(header)
        self.terminate(ir.Branch(ir.Compare(T.BOOL, "lt", counter, end), body.index, exit_.index))
        self.switch(body)
        for stmt in prelude or []:
            self.emit(stmt)
        self.loops.append((step.index, exit_.index))
        self.body(stmts)
        self.loops.pop()
        if self.current.term is None:
            self.terminate(ir.Jump(step.index))
        self.switch(step)
        t = counter.type
        self.emit(
            ir.SetLocal(counter.index, counter.name, ir.Binary(t, "add", counter, ir.Const(t, 1)))
        )
        self.terminate(ir.Jump(header.index))
        members = {b.index for b in self.blocks[first:] if b.index != exit_.index}
        self.loop_info.append(ir.Loop(header.index, bound, members))
        self.switch(exit_)

    # ------------------------------------------------------------ expressions
    def value(self, e: ast.Expr, want: T.Type) -> ir.Expr:
        """``e`` converted to ``want`` (widening is free: values are exact integers)."""
        return self.expr(e)

    def storage_key(self, e: ast.Expr) -> ir.Expr:
        if isinstance(e, ast.Attribute) and isinstance(e.ref, StateVarInfo):
            return ir.SlotKey(T.BYTES32, e.ref.slot)
        if isinstance(e, ast.Index):
            container = e.obj.type
            if isinstance(container, T.ListType | T.ArrayType):
                return self.element_key(e)
            return ir.MapKey(T.BYTES32, self.storage_key(e.obj), self.expr(e.index))
        if isinstance(e, ast.Attribute) and isinstance(e.ref, FieldRef):
            return ir.MapKey(T.BYTES32, self.storage_key(e.obj), ir.Const(T.U8, e.ref.index))
        raise AssertionError("not a storage location")

    # ------------------------------------------------------------ struct and tuple values
    def in_storage(self, e: ast.Expr) -> bool:
        """Whether ``e`` is a storage location (else a value)."""
        if isinstance(e, ast.Attribute):
            if isinstance(e.ref, StateVarInfo):
                return True
            return isinstance(e.ref, FieldRef) and self.in_storage(e.obj)
        if isinstance(e, ast.Index):
            return self.in_storage(e.obj)
        return False

    def in_local(self, e: ast.Expr) -> bool:
        """``o.a.b``: a field of a struct value held in a local."""
        while isinstance(e, ast.Attribute) and isinstance(e.ref, FieldRef):
            e = e.obj
        return isinstance(e, ast.Name) and isinstance(e.ref, LocalInfo)

    def leaf_keys(self, t: T.StructType, base: ir.Expr) -> list[ir.Expr]:
        """The storage key of each leaf field of a struct stored at ``base``."""
        keys = []
        for path, _ in _leaf_paths(t):
            key = base
            for i in path:
                key = ir.MapKey(T.BYTES32, key, ir.Const(T.U8, i))
            keys.append(key)
        return keys

    def values_of(self, e: ast.Expr, t: T.Type) -> list[ir.Expr]:
        """``e`` as the VM values of a ``t``: its leaves, or one value."""
        return self.leaves(e) if T.is_aggregate(t) else [self.value(e, t)]

    def leaves(self, e: ast.Expr) -> list[ir.Expr]:
        """The leaf values of a struct or tuple value, in order. Each is a
        constant, a local or a storage load, so reading it twice is safe."""
        t = e.type
        if isinstance(e, ast.Name):
            return list(self.local_values(e.ref))
        if isinstance(e, ast.TupleExpr):
            return [
                v
                for item, et in zip(e.items, t.elems, strict=True)
                for v in self.values_of(item, et)
            ]
        if (
            isinstance(e, ast.Attribute)
            and isinstance(e.ref, FieldRef)
            and not self.in_storage(e.obj)
        ):
            start, end = T.leaf_range(e.obj.type, e.ref.index)
            return self.leaves(e.obj)[start:end]
        if isinstance(e, ast.Attribute | ast.Index):  # a struct in storage
            base = self.held(self.storage_key(e), T.BYTES32, "key")
            return [
                ir.Load(lt, key)
                for key, lt in zip(self.leaf_keys(t, base), T.leaf_types(t), strict=True)
            ]
        if isinstance(e, ast.Call):
            ref = e.ref
            if isinstance(ref, StructCtorRef):
                return [
                    v
                    for a, (_, ft) in zip(e.args, ref.struct.fields, strict=True)
                    for v in self.values_of(a, ft)
                ]
            if isinstance(ref, EmptyRef):
                return [ir.Const(lt, zero_value(lt)) for lt in T.leaf_types(t)]
            if isinstance(ref, ListMethodRef):
                return self.list_pop_values(e)
            if isinstance(ref, InternalCallRef | ExternalCallRef):
                call = (
                    self.internal_call(e, ref)
                    if isinstance(ref, InternalCallRef)
                    else self.external_call(e, ref)
                )
                temps = [self.temp(lt, "ret") for lt in T.leaf_types(t)]
                self.emit(ir.Unpack([(x.index, x.name) for x in temps], call))
                return list(temps)
        raise AssertionError(f"cannot lower the value {type(e).__name__} of {t}")

    def internal_call(self, e: ast.Call, ref: InternalCallRef) -> ir.Call:
        target = ref.target
        args = [
            v
            for a, (_, pt) in zip(e.args, target.params, strict=True)
            for v in self.values_of(a, pt)
        ]
        return ir.Call(vm_returns(e.type), target.name, args)

    # ------------------------------------------------------------ list values
    def list_value_length(self, t: T.ListType | T.ArrayType, data: ir.Expr) -> ir.Expr:
        """Elements of a list value: its bytes over the element width (an
        array value's: its size, checked on entry)."""
        if isinstance(t, T.ArrayType):
            return ir.Const(T.UINT, t.size)
        size = ir.Builtin(T.UINT, "len", [data])
        width = T.element_width(t.elem)
        return size if width == 1 else ir.Binary(T.UINT, "div", size, ir.Const(T.UINT, width))

    def list_value_element(self, t: T.ListType, data: ir.Expr, index: ir.Expr) -> ir.Expr:
        """Element ``index`` of a list value (the index checked by the caller)."""
        elem = t.elem
        width = T.element_width(elem)
        raw = ir.Builtin(T.BytesType(width), "list_element", [data, index, ir.Const(T.UINT, width)])
        if isinstance(elem, T.IntType):
            return ir.Unary(elem, "from_bytes", raw)
        if isinstance(elem, T.BoolType):  # any byte but zero is true
            return ir.Compare(T.BOOL, "ne", ir.Unary(T.U8, "from_bytes", raw), ir.Const(T.U8, 0))
        raw.type = elem  # an address or bytesN: the bytes themselves
        return raw

    def list_value_index(self, e: ast.Index) -> ir.Expr:
        """``xs[i]`` on a list value; an index past the end reverts."""
        t = e.obj.type
        data = self.held(self.expr(e.obj), t, "list")
        index = self.held(self.expr(e.index), T.UINT, "index")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "lt", index, self.list_value_length(t, data)),
                "index out of range",
                implicit=True,
            )
        )
        return self.list_value_element(t, data, index)

    def is_element_write(self, target: ast.Expr) -> bool:
        return (
            isinstance(target, ast.Index)
            and isinstance(target.obj, ast.Name)
            and isinstance(target.obj.ref, LocalInfo)
            and isinstance(target.obj.type, T.ListType | T.ArrayType)
        )

    def encode_element(self, elem: T.Type, value: ir.Expr) -> ir.Expr:
        """An element's bytes in a list value (spec/language.md, list values)."""
        width = T.element_width(elem)
        if isinstance(elem, T.IntType | T.BoolType):
            return ir.Unary(T.FixedBytesType(width), "to_bytes", value)
        return value  # an address or bytesN: its bytes

    def list_literal(self, e: ast.ListLit) -> ir.Expr:
        """``[a, b, c]``: the elements' bytes joined; one constant when every
        element is one."""
        from .optimize import fold_expr

        t = e.type
        elem = t.elem
        width = T.element_width(elem)
        items = [fold_expr(self.value(item, elem)) for item in e.items]
        if all(isinstance(v, ir.Const) for v in items):
            data = b""
            for v in items:
                x = v.value
                if isinstance(x, bool):
                    data += bytes([int(x)])
                elif isinstance(x, int):
                    data += x.to_bytes(width, "big", signed=x < 0)
                else:
                    data += bytes(x)
            return ir.Const(t, data)
        parts = [self.encode_element(elem, v) for v in items]
        if len(parts) == 1:  # CONCAT makes a bytes value of one element's bytes
            parts.insert(0, ir.Const(T.BytesType(1), b""))
        return ir.Builtin(t, "concat", parts)

    def list_value_write(self, target: ast.Index, new_value) -> None:
        """``xs[i] = v`` on a list value in a local: the bytes before element
        ``i``, ``v``'s bytes, the bytes after it, joined into ``xs`` (gas in
        proportion to the value's size); an index past the end reverts."""
        t = target.obj.type
        local: LocalInfo = target.obj.ref
        data = ir.Local(t, self.slot(local), local.name)
        width = T.element_width(t.elem)
        index = self.held(self.expr(target.index), T.UINT, "index")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "lt", index, self.list_value_length(t, data)),
                "index out of range",
                implicit=True,
            )
        )
        current = self.list_value_element(t, data, index)
        encoded = self.encode_element(t.elem, new_value(current))
        element = self.held(encoded, encoded.type, "element")
        start = self.held(ir.Binary(T.UINT, "mul", index, ir.Const(T.UINT, width)), T.UINT, "start")
        end = ir.Binary(T.UINT, "add", start, ir.Const(T.UINT, width))
        rest = ir.Binary(T.UINT, "sub", ir.Builtin(T.UINT, "len", [data]), end)
        whole = T.BytesType(T.raw_size(t))
        before = ir.Builtin(whole, "slice", [data, ir.Const(T.UINT, 0), start])
        after = ir.Builtin(whole, "slice", [data, end, rest])
        joined = ir.Builtin(t, "concat", [before, element, after])
        self.emit(ir.SetLocal(self.slot(local), local.name, joined))

    def list_value_loop(self, s: ast.For) -> None:
        """``for x in xs`` over a list value."""
        t = s.iter.type
        var: LocalInfo = s.ref
        data = self.held(self.expr(s.iter), t, "list")
        end = self.held(self.list_value_length(t, data), T.UINT, "end")
        i = self.temp(T.UINT, "i")
        self.emit(ir.SetLocal(i.index, i.name, ir.Const(T.UINT, 0)))
        element = ir.SetLocal(self.slot(var), var.name, self.list_value_element(t, data, i))
        bound = t.capacity if isinstance(t, T.ListType) else t.size
        self.counted_loop(i, end, s.body, bound, prelude=[element])

    def check_list_params(self) -> None:
        """A list argument from outside: whole elements only (its byte length
        is checked against the capacity by the VM, as a bytes value)."""
        for loc in self.fn.locals[: len(self.fn.params)]:
            t = loc.type
            if isinstance(t, T.ArrayType):  # exactly its size
                data = ir.Local(t, self.slot(loc), loc.name)
                size = ir.Builtin(T.UINT, "len", [data])
                exact = ir.Const(T.UINT, t.size * T.element_width(t.elem))
                self.emit(
                    ir.Require(
                        ir.Compare(T.BOOL, "eq", size, exact),
                        f"{loc.name} is not a {t}",
                        implicit=True,
                    )
                )
            elif isinstance(t, T.ListType) and T.element_width(t.elem) > 1:
                data = ir.Local(t, self.slot(loc), loc.name)
                size = ir.Builtin(T.UINT, "len", [data])
                whole = ir.Binary(T.UINT, "mod", size, ir.Const(T.UINT, T.element_width(t.elem)))
                self.emit(
                    ir.Require(
                        ir.Compare(T.BOOL, "eq", whole, ir.Const(T.UINT, 0)),
                        f"{loc.name} is not a {t}",
                        implicit=True,
                    )
                )

    # ------------------------------------------------------------ oracle reports
    def typed_report(self, e: ast.Call) -> ir.Expr:
        """The checked report's data, in a local, after checking its size."""
        rtype = e.ref.report
        data = self.temp(rtype, "report")
        self.emit(
            ir.SetLocal(
                data.index,
                data.name,
                ir.Builtin(rtype, "oracle_report", [self.expr(a) for a in e.args]),
            )
        )
        size = ir.Builtin(T.UINT, "len", [data])
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "eq", size, ir.Const(T.UINT, 32 * len(rtype.fields))),
                f"report data is not a {rtype.name}",
                implicit=True,
            )
        )
        return data

    def report_field(self, e: ast.Attribute, index: int) -> ir.Expr:
        t = e.type
        data = self.expr(e.obj)
        offset = ir.Const(T.UINT, 32 * index)
        if t == T.BYTES32:
            return ir.Builtin(T.BYTES32, "read_bytes32", [data, offset])
        value = ir.Builtin(T.UINT, "read_uint", [data, offset])
        return value if t == T.UINT else ir.Unary(t, "cast", value)

    # ------------------------------------------------------------ lists and arrays
    def base_key(self, e: ast.Expr) -> ir.Expr:
        """Storage key of a list or array, in a local unless it is a state variable's slot."""
        key = self.storage_key(e)
        if isinstance(key, ir.SlotKey):
            return key
        tmp = self.temp(T.BYTES32, "key")
        self.emit(ir.SetLocal(tmp.index, tmp.name, key))
        return tmp

    def held(self, value: ir.Expr, t: T.Type, hint: str) -> ir.Expr:
        """``value`` itself when it is simple, else a local holding it (evaluated once)."""
        if isinstance(value, ir.Const | ir.Local):
            return value
        tmp = self.temp(t, hint)
        self.emit(ir.SetLocal(tmp.index, tmp.name, value))
        return tmp

    def length(self, container: T.Type, base: ir.Expr) -> ir.Expr:
        if isinstance(container, T.ArrayType):
            return ir.Const(T.UINT, container.size)
        return ir.Load(T.UINT, base)

    def element_key(self, e: ast.Index) -> ir.Expr:
        """Key of ``xs[i]``, after checking ``i`` against the length (before the statement)."""
        container = e.obj.type
        base = self.base_key(e.obj)
        index = self.held(self.expr(e.index), T.UINT, "index")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "lt", index, self.length(container, base)),
                "index out of range",
                implicit=True,
            )
        )
        return ir.MapKey(T.BYTES32, base, index)

    def list_push(self, e: ast.Call) -> None:
        t = e.ref.list
        if e.ref.value:  # a list value: its bytes and the new element's
            local: LocalInfo = e.func.obj.ref
            data = ir.Local(t, self.slot(local), local.name)
            n = self.list_value_length(t, data)
            full = ir.Compare(T.BOOL, "lt", n, ir.Const(T.UINT, t.capacity))
            self.emit(ir.Require(full, "list is full", implicit=True))
            element = self.encode_element(t.elem, self.value(e.args[0], t.elem))
            self.emit(
                ir.SetLocal(self.slot(local), local.name, ir.Builtin(t, "concat", [data, element]))
            )
            return
        base = self.base_key(e.func.obj)
        n = self.held(ir.Load(T.UINT, base), T.UINT, "len")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "lt", n, ir.Const(T.UINT, t.capacity)),
                "list is full",
                implicit=True,
            )
        )
        slot = ir.MapKey(T.BYTES32, base, n)
        if isinstance(t.elem, T.StructType):  # one store per leaf field
            slot = self.held(slot, T.BYTES32, "key")
            for key, v in zip(self.leaf_keys(t.elem, slot), self.leaves(e.args[0]), strict=True):
                self.emit(ir.Store(key, v))
        else:
            self.emit(ir.Store(slot, self.expr(e.args[0])))
        self.emit(ir.Store(base, ir.Binary(T.UINT, "add", n, ir.Const(T.UINT, 1))))

    def list_pop_values(self, e: ast.Call, keep: bool = True) -> list[ir.Expr]:
        """``xs.pop()`` on a list of structs: the last element's leaves (in
        temporaries), each slot zeroed, the length one less."""
        t = e.ref.list
        base = self.base_key(e.func.obj)
        n = self.held(ir.Load(T.UINT, base), T.UINT, "len")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "gt", n, ir.Const(T.UINT, 0)), "list is empty", implicit=True
            )
        )
        last = self.held(ir.Binary(T.UINT, "sub", n, ir.Const(T.UINT, 1)), T.UINT, "last")
        slot = self.held(ir.MapKey(T.BYTES32, base, last), T.BYTES32, "key")
        out: list[ir.Expr] = []
        for key, lt in zip(self.leaf_keys(t.elem, slot), T.leaf_types(t.elem), strict=True):
            if keep:
                out.append(self.held(ir.Load(lt, key), lt, "popped"))
            self.emit(ir.Store(key, ir.Const(lt, zero_value(lt))))
        self.emit(ir.Store(base, last))
        return out

    def list_pop(self, e: ast.Call) -> ir.Expr:
        t = e.ref.list
        if e.ref.value:  # a list value: its last element, and its bytes before it
            local: LocalInfo = e.func.obj.ref
            data = ir.Local(t, self.slot(local), local.name)
            width = T.element_width(t.elem)
            n = self.held(self.list_value_length(t, data), T.UINT, "len")
            self.emit(
                ir.Require(
                    ir.Compare(T.BOOL, "gt", n, ir.Const(T.UINT, 0)), "list is empty", implicit=True
                )
            )
            last = self.held(ir.Binary(T.UINT, "sub", n, ir.Const(T.UINT, 1)), T.UINT, "last")
            value = self.held(self.list_value_element(t, data, last), t.elem, "popped")
            start = ir.Binary(T.UINT, "mul", last, ir.Const(T.UINT, width))
            whole = T.BytesType(T.raw_size(t))
            rest = ir.Builtin(whole, "slice", [data, ir.Const(T.UINT, 0), start])
            self.emit(ir.SetLocal(self.slot(local), local.name, rest))
            return value
        base = self.base_key(e.func.obj)
        n = self.held(ir.Load(T.UINT, base), T.UINT, "len")
        self.emit(
            ir.Require(
                ir.Compare(T.BOOL, "gt", n, ir.Const(T.UINT, 0)), "list is empty", implicit=True
            )
        )
        last = self.held(ir.Binary(T.UINT, "sub", n, ir.Const(T.UINT, 1)), T.UINT, "last")
        value = self.temp(t.elem, "popped")
        self.emit(
            ir.SetLocal(value.index, value.name, ir.Load(t.elem, ir.MapKey(T.BYTES32, base, last)))
        )
        self.emit(ir.Store(ir.MapKey(T.BYTES32, base, last), ir.Const(t.elem, zero_value(t.elem))))
        self.emit(ir.Store(base, last))
        return value

    def for_each(self, s: ast.For) -> None:
        """``for x in xs``: an index from 0 to the length (read once), bounded by the capacity."""
        container = s.iter.type
        var: LocalInfo = s.ref
        base = self.base_key(s.iter)
        end = self.held(self.length(container, base), T.UINT, "end")
        i = self.temp(T.UINT, "i")
        self.emit(ir.SetLocal(i.index, i.name, ir.Const(T.UINT, 0)))
        slot = ir.MapKey(T.BYTES32, base, i)
        if isinstance(var.type, T.StructType):  # the element's fields, into the loop variable's
            element = [
                ir.SetLocal(x.index, x.name, ir.Load(x.type, key))
                for x, key in zip(
                    self.local_values(var), self.leaf_keys(var.type, slot), strict=True
                )
            ]
        else:
            element = [ir.SetLocal(self.slot(var), var.name, ir.Load(var.type, slot))]
        bound = container.capacity if isinstance(container, T.ListType) else container.size
        self.counted_loop(i, end, s.body, bound, prelude=element)

    def expr(self, e: ast.Expr) -> ir.Expr:
        t = e.type
        if isinstance(e, ast.IntLit):
            return ir.Const(t, e.value)
        if isinstance(e, ast.BoolLit):
            return ir.Const(T.BOOL, e.value)
        if isinstance(e, ast.StrLit):
            return ir.Const(t, e.value.encode("utf-8"))
        if isinstance(e, ast.BytesLit):
            return ir.Const(t, e.value)
        if isinstance(e, ast.Name):
            ref = e.ref
            if isinstance(ref, LocalInfo):
                return ir.Local(ref.type, self.slot(ref), ref.name)
            if isinstance(ref, ConstInfo):
                v = ref.value
                return ir.Const(ref.type, v.encode("utf-8") if isinstance(v, str) else v)
            raise AssertionError(f"unresolved name {e.id}")
        if isinstance(e, ast.Attribute):
            ref = e.ref
            if isinstance(ref, EnvRef):
                return ir.Env(t, ref.member.name)
            if isinstance(ref, BuiltinRef):  # a.balance
                return lower_balance(self, e)
            if isinstance(ref, EnumMemberRef):
                return ir.Const(ref.enum, ref.index)
            if isinstance(ref, ReportFieldRef):
                return self.report_field(e, ref.index)
            if isinstance(ref, ConstInfo):  # a library's constant: math.BPS
                v = ref.value
                return ir.Const(ref.type, v.encode("utf-8") if isinstance(v, str) else v)
            if isinstance(ref, FieldRef) and not self.in_storage(e.obj):  # o.amount
                (leaf,) = self.leaves(e)
                return leaf
            return ir.Load(t, self.storage_key(e))
        if isinstance(e, ast.ListLit):
            return self.list_literal(e)
        if isinstance(e, ast.Index):
            if isinstance(e.obj.type, T.ListType | T.ArrayType) and not self.in_storage(e.obj):
                return self.list_value_index(e)
            return ir.Load(t, self.storage_key(e))
        if isinstance(e, ast.BinOp):
            return ir.Binary(t, _BINOPS[e.op], self.expr(e.left), self.expr(e.right))
        if isinstance(e, ast.Compare):
            return ir.Compare(T.BOOL, _CMPOPS[e.op], self.expr(e.left), self.expr(e.right))
        if isinstance(e, ast.Not):
            return ir.Unary(T.BOOL, "not", self.expr(e.operand))
        if isinstance(e, ast.Neg):
            return ir.Unary(t, "neg", self.expr(e.operand))
        if isinstance(e, ast.BoolOp):
            return self.bool_op(e)
        if isinstance(e, ast.Call):
            return self.call(e)
        raise AssertionError(f"cannot lower {type(e).__name__}")

    def bool_op(self, e: ast.BoolOp) -> ir.Expr:
        from .optimize import fold_expr  # fold first: 2 ** 8 is as simple as 256

        parts = [fold_expr(self.expr(v)) for v in e.values]
        op = e.op
        if all(is_simple(p) for p in parts[1:]):
            result = parts[0]
            for p in parts[1:]:
                result = ir.Logic(T.BOOL, op, result, p)
            return result
        # short-circuit through blocks: later operands may fail or have effects
        tmp = self.temp(T.BOOL, "cond")
        self.emit(ir.SetLocal(tmp.index, tmp.name, parts[0]))
        join = self.new_block()
        for v in e.values[1:]:
            more = self.new_block()
            local = ir.Local(T.BOOL, tmp.index, tmp.name)
            self.terminate(
                ir.Branch(local, more.index, join.index)
                if op == "and"
                else ir.Branch(local, join.index, more.index)
            )
            self.switch(more)
            self.emit(ir.SetLocal(tmp.index, tmp.name, self.expr(v)))
        self.terminate(ir.Jump(join.index))
        self.switch(join)
        return ir.Local(T.BOOL, tmp.index, tmp.name)

    def call(self, e: ast.Call) -> ir.Expr:
        ref = e.ref
        if isinstance(ref, InternalCallRef):
            return self.internal_call(e, ref)
        if isinstance(ref, ExternalCallRef):
            return self.external_call(e, ref)
        if isinstance(ref, InterfaceCastRef):
            return self.expr(e.args[0])
        if isinstance(ref, ConversionRef):
            return self.conversion(e, ref.to)
        if isinstance(ref, EmptyRef):
            return ir.Const(ref.type, zero_value(ref.type))
        if isinstance(ref, TypedReportRef):
            return self.typed_report(e)
        if isinstance(ref, ListMethodRef):
            if ref.method == "push":
                raise AssertionError("push is a statement")
            return self.list_pop(e)
        if isinstance(ref, BuiltinRef) and ref.builtin.lower is not None:
            return ref.builtin.lower(self, e)
        raise AssertionError(f"cannot lower the call {ref}")

    def external_call(self, e: ast.Call, ref: ExternalCallRef) -> ir.Expr:
        iface, method = ref.interface, ref.method
        key = (
            iface.name,
            method.name,
            [p for _, p in method.params],
            vm_returns(method.returns),
            method.view,
        )
        if key not in self.imports:
            self.imports.append(key)
            self.import_spans.append(self.span)
        return ir.ExtCall(
            vm_returns(e.type),
            iface.name,
            method.name,
            self.expr(e.func.obj),
            self.expr(ref.value) if ref.value is not None else None,
            [self.expr(a) for a in e.args],
        )

    def conversion(self, e: ast.Call, to: T.Type) -> ir.Expr:
        arg = self.expr(e.args[0])
        src = e.args[0].type
        if isinstance(to, T.IntType):
            if isinstance(src, T.FixedBytesType):
                return ir.Unary(to, "from_bytes", arg)
            if isinstance(src, T.BoolType):  # 0 or 1 fits every integer type
                if isinstance(arg, ir.Const):
                    return ir.Const(to, int(arg.value))
                return ir.Unary(to, "cast", arg)
            if isinstance(src, T.IntType) and src.signed == to.signed and src.bits <= to.bits:
                return arg
            return ir.Unary(to, "cast", arg)
        if isinstance(to, T.FixedBytesType):
            if isinstance(src, T.IntType | T.BoolType | T.EnumType):
                return ir.Unary(to, "to_bytes32" if to.size == 32 else "to_bytes", arg)
            return arg  # bytesN(bytesN), bytes20(address)
        return arg  # address(interface)
