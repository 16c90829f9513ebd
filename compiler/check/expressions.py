"""Expressions: literals, names, members, indexing, operators and comparisons."""

from __future__ import annotations

from .. import ast
from .. import types as T
from ..builtins import BALANCE, ENV_BASES, ENV_MEMBERS
from ..spelling import did_you_mean, library_hint
from ..symbols import (
    BuiltinRef,
    ContractInfo,
    EnumMemberRef,
    EnvRef,
    FieldRef,
    LocalInfo,
    ReportFieldRef,
)


class ExpressionChecks:
    """Mixed into FunctionChecker: ``self`` has its scopes, reporter and function."""

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
        if isinstance(e, ast.ListLit) and isinstance(want, T.ListType | T.ArrayType):
            return self.list_literal(e, want)
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
        if T.widens_to(got, want) or index_fits(e, want):
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
        if isinstance(e, ast.ListLit):
            if isinstance(want, T.ListType | T.ArrayType):
                return self.list_literal(e, want)
            for item in e.items:
                self.expr(item)
            if want is not None and want != T.ERROR:
                self.r.error("E0201", f"expected {want}, found a list literal", e.span)
            elif want is None:
                self.r.error(
                    "E0201",
                    "a list literal needs its type from where it is used",
                    e.span,
                    "declare it first: xs: u64[3] = [1, 2, 3]",
                )
            return T.ERROR
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

    def list_literal(self, e: ast.ListLit, want: T.ListType | T.ArrayType) -> T.Type:
        """``[a, b, c]`` as a ``want``: exactly N elements for ``T[N]``, at most
        N for ``list[T, N]``, each a ``T``."""
        n = len(e.items)
        if isinstance(want, T.ArrayType) and n != want.size:
            self.r.error(
                "E0204",
                f"{want} has {want.size} elements, the literal has {n}",
                e.span,
            )
        elif isinstance(want, T.ListType) and n > want.capacity:
            self.r.error(
                "E0204",
                f"{want} holds at most {want.capacity} elements, the literal has {n}",
                e.span,
            )
        for item in e.items:
            self.expect(item, want.elem)
        e.type = want
        return want

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
        self.r.error("E0101", f"undefined name {e.id}", e.span, self.name_hint(e.id))
        return T.ERROR

    def visible_names(self) -> list[str]:
        """Locals in scope and the contract's (or library's) constants."""
        names = [n for scope in self.scopes for n in scope]
        lib = self.fn.library
        for qualified in self.info.consts:
            base, _, short = qualified.rpartition(".")
            if base == (lib or ""):
                names.append(short)
        return names

    def name_hint(self, name: str) -> str | None:
        """Why ``name`` is not defined, or the name the author probably meant."""
        if name in self.info.state:
            return f"state variables are read as self.{name}"
        from ..hints import name_hint  # only on an error: keeps imports light

        habit = name_hint(name)
        if habit is not None:
            return habit
        return did_you_mean(name, self.visible_names()) or (
            None if self.fn.library else did_you_mean(name, self.info.state, "self.{}")
        )

    def attribute(self, e: ast.Attribute) -> T.Type:
        obj = e.obj
        if isinstance(obj, ast.Name) and obj.id in self.c.libraries and self.lookup(obj.id) is None:
            c = self.info.consts.get(f"{obj.id}.{e.attr}")
            if c is None:
                self.r.error(
                    "E0105",
                    f"library {obj.id} has no constant {e.attr}",
                    e.span,
                    library_hint(obj.id, e.attr, self.info.consts),
                )
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
        if isinstance(obj, ast.Name) and obj.id in ENV_BASES and self.lookup(obj.id) is None:
            key = (obj.id, e.attr)
            member = ENV_MEMBERS.get(key)
            if member is not None:
                e.ref = EnvRef(member)
                if key == ("msg", "value"):
                    self.fn.value_uses.append(e)
                return member.type
            if obj.id == "self":
                sv = self.info.state.get(e.attr)
                if sv is not None:
                    e.ref = sv
                    return sv.type
                if e.attr in self.info.functions:
                    self.r.error("E0205", f"self.{e.attr} is a function: call it", e.span)
                    return T.ERROR
            self.r.error(
                "E0105",
                f"{obj.id} has no member {e.attr}",
                e.span,
                _member_hint(obj.id, e.attr, self.info),
            )
            return T.ERROR
        if isinstance(obj, ast.Name) and obj.id in self.info.enums and self.lookup(obj.id) is None:
            enum = self.info.enums[obj.id]
            if e.attr not in enum.members:
                self.r.error(
                    "E0105",
                    f"{enum.name} has no member {e.attr}",
                    e.span,
                    did_you_mean(e.attr, enum.members, f"{enum.name}.{{}}")
                    or f"members: {', '.join(enum.members)}",
                )
                return enum
            e.ref = EnumMemberRef(enum, enum.members.index(e.attr))
            return enum
        t = self.expr(obj)
        if t == T.ERROR:
            return T.ERROR
        if isinstance(t, T.AddressType | T.InterfaceType) and e.attr == "balance":
            e.ref = BuiltinRef(BALANCE)  # the native balance of any address
            return T.UINT
        if isinstance(
            t, T.ReportType | T.StructType
        ):  # named fields: a report's or a stored struct's
            idx = t.field_index(e.attr)
            if idx is None:
                names = [n for n, _ in t.fields]
                self.r.error(
                    "E0105",
                    f"{t.name} has no field {e.attr}",
                    e.span,
                    did_you_mean(e.attr, names) or f"fields: {', '.join(names)}",
                )
                return T.ERROR
            e.ref = ReportFieldRef(t, idx) if isinstance(t, T.ReportType) else FieldRef(t, idx)
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
            joinable = isinstance(lt, T.StringType) and isinstance(rt, T.StringType)
            joinable = joinable or (
                isinstance(lt, T.BytesType | T.FixedBytesType)
                and isinstance(rt, T.BytesType | T.FixedBytesType)
            )
            hint = "join them with concat(a, b)" if op == "+" and joinable else None
            self.r.error("E0202", f"{op} needs integers, found {lt} and {rt}", e.span, hint)
            return T.ERROR
        if lt.signed != rt.signed and index_fits(e.left, rt):
            lt = rt  # a loop index from 0 is a signed value of the other side's type
        elif lt.signed != rt.signed and index_fits(e.right, lt):
            rt = lt
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
            if lt.signed != rt.signed and not (index_fits(e.left, rt) or index_fits(e.right, lt)):
                self.r.error(
                    "E0203", f"comparing {lt} with {rt}", e.span, "convert one side explicitly"
                )
            return T.BOOL
        if e.op not in ("==", "!="):
            self.r.error("E0202", f"{e.op} needs integers, found {lt} and {rt}", e.span)
            return T.BOOL
        if T.is_aggregate(lt) or T.is_aggregate(rt):
            self.r.error("E0202", f"cannot compare {lt}", e.span, "compare their fields one by one")
        elif lt.storage_only or rt.storage_only:
            self.r.error("E0202", f"cannot compare {lt}", e.span)
        elif not (T.widens_to(lt, rt) or T.widens_to(rt, lt)) or lt.kind != rt.kind:
            self.r.error("E0202", f"cannot compare {lt} with {rt}", e.span)
        return T.BOOL


def _member_hint(base: str, attr: str, info: ContractInfo) -> str | None:
    options = sorted(a for (b, a) in ENV_MEMBERS if b == base)
    if base == "self":
        options += sorted(info.state)
    return did_you_mean(attr, options, f"{base}.{{}}") or (
        f"known: {', '.join(options)}" if options else None
    )


def index_fits(e: ast.Expr, want: T.Type) -> bool:
    """A loop index counting from 0 (``for i in range(n, max=N)``) is usable
    where a signed integer is wanted when that type holds N - 1: its values
    are exact integers, so no conversion runs."""
    local = e.ref if isinstance(e, ast.Name) else None
    return (
        isinstance(local, LocalInfo)
        and local.upper is not None
        and isinstance(want, T.IntType)
        and want.signed
        and local.upper - 1 <= want.range[1]
    )
