"""Statements: declarations, assignment, return, revert, emit, loops."""

from __future__ import annotations

from .. import ast
from .. import types as T
from ..symbols import ErrorRef, FieldRef, LocalInfo, RangeRef, StateVarInfo
from .constants import MAX_LOOP_BOUND, const_eval, number_text


class StatementChecks:
    """Mixed into FunctionChecker: ``self`` has its scopes, reporter and function."""

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
            t = self.c.types.resolve(s.type_expr, value_only=True, local=True, values=True)
            self.expect(s.value, t)
            self.no_storage_list(s.value, t)
            s.ref = self.new_local(s.name, t, s.span)
        elif isinstance(s, ast.MultiAssign):
            self.multi_assign(s)
        elif isinstance(s, ast.Assign):
            t = self.target(s.target)
            if t is not None:
                self.expect(s.value, t)
                self.no_storage_list(s.value, t)
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
        elif isinstance(fn.returns, T.TupleType) and isinstance(s.value, ast.TupleExpr):
            want = fn.returns.elems
            if len(s.value.items) != len(want):
                self.r.error(
                    "E0201",
                    f"{fn.name} returns {len(want)} values, found {len(s.value.items)}",
                    s.value.span,
                )
                for item in s.value.items:
                    self.expr(item)
            else:
                for item, t in zip(s.value.items, want, strict=True):
                    self.expect(item, t)
            s.value.type = fn.returns
        elif isinstance(s.value, ast.TupleExpr):
            self.r.error(
                "E0201",
                f"{fn.name} returns one {fn.returns}, not {len(s.value.items)} values",
                s.value.span,
                "declare a tuple: -> (uint, bool)",
            )
        else:
            self.expect(s.value, fn.returns)
            self.no_storage_list(s.value, fn.returns)
        return True

    def no_storage_list(self, e: ast.Expr, t: T.Type) -> None:
        """A list value is a parameter's (or a local's) bytes: a storage list is not one."""
        if isinstance(t, T.ListType | T.ArrayType) and self.is_storage(e):
            what = "list" if isinstance(t, T.ListType) else "array"
            self.r.error(
                "E0207",
                f"a storage {t} cannot be copied into a{'n' if what == 'array' else ''} {what} value",
                e.span,
                "read its elements one by one",
            )

    def multi_assign(self, s: ast.MultiAssign) -> None:
        """``x, self.y = self.f()`` and ``x: uint, y: bool = self.f()``."""
        got = self.expr(s.value)
        if got == T.ERROR:
            elems: list[T.Type] | None = None
        elif isinstance(got, T.TupleType):
            elems = list(got.elems)
            if len(elems) != len(s.targets):
                self.r.error(
                    "E0201",
                    f"{len(s.targets)} targets for {len(elems)} values",
                    s.span,
                    f"the call gives {got}",
                )
                elems = None
        else:
            self.r.error(
                "E0201",
                f"only a call that returns several values can be destructured, found {got}",
                s.value.span,
                "declare the function: -> (uint, bool)",
            )
            elems = None
        if s.decls is not None:
            for d, target in zip(s.decls, s.targets, strict=True):
                t = self.c.types.resolve(d.type_expr, value_only=True, local=True, values=True)
                d.ref = self.new_local(d.name, t, d.span)
                target.ref, target.type = d.ref, t
            wants: list[T.Type | None] = [d.ref.type for d in s.decls]
        else:
            wants = [self.target(t) for t in s.targets]
        if elems is None:
            return
        for target, want, have in zip(s.targets, wants, elems, strict=True):
            if want is not None and not T.widens_to(have, want):
                self.r.error(
                    "E0201", f"this target is a {want}; the call gives a {have} here", target.span
                )

    def revert(self, s: ast.Revert) -> None:
        v = s.value
        if (
            isinstance(v, ast.Call)
            and isinstance(v.func, ast.Name)
            and v.func.id in self.info.errors
        ):
            err = self.info.errors[v.func.id]
            v.ref = ErrorRef(err)
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
            if not isinstance(t, T.ListType | T.ArrayType) or t.elem.storage_only:
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
        if loop_type == T.UINT and any(isinstance(a, ast.IntLit) and a.value < 0 for a in it.args):
            loop_type = T.IntType(True, 256)  # range(-5, 5): literal bounds, one negative
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
                "E0305", f"loop bound {number_text(bound)} is over {MAX_LOOP_BOUND:,}", it.span
            )
        it.ref = RangeRef(bound)
        it.type = loop_type
        self.scopes.append({})
        s.ref = self.new_local(s.var, loop_type, s.span, mutable=False)
        if len(it.args) == 1 and isinstance(loop_type, T.IntType) and not loop_type.signed:
            s.ref.upper = bound  # counts from 0: usable as a signed value that holds bound - 1
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
            if (
                isinstance(e, ast.Index)
                and isinstance(e.obj, ast.Name)
                and isinstance(e.obj.ref, LocalInfo)
                and isinstance(e.obj.type, T.ListType | T.ArrayType)
            ):  # an element of a list or array value: xs[i] = v
                if not e.obj.ref.mutable:
                    self.r.error(
                        "E0207", f"the loop variable {e.obj.id} cannot be assigned", e.span
                    )
                    return None
                return t
            root = self.local_root(e)
            if root is not None:  # a field of a struct value: o.amount = 1
                if not root.mutable:
                    self.r.error(
                        "E0207", f"the loop variable {root.name} cannot be assigned", e.span
                    )
                    return None
                return t
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

    def local_root(self, e: ast.Expr) -> LocalInfo | None:
        """The local whose struct value ``e`` (``o.a.b``) is a field of, if any."""
        while isinstance(e, ast.Attribute) and isinstance(e.ref, FieldRef):
            e = e.obj
        if e is not None and isinstance(e, ast.Name) and isinstance(e.ref, LocalInfo):
            return e.ref
        return None

    def is_storage(self, e: ast.Expr) -> bool:
        if isinstance(e, ast.Attribute):
            if isinstance(e.ref, StateVarInfo):
                return True
            if isinstance(e.ref, FieldRef):
                return self.is_storage(e.obj)
            return False
        if isinstance(e, ast.Index):
            return self.is_storage(e.obj)
        return False
