"""Type expressions to types: ``map[address, uint]``, ``list[Order, 100]``, ``bytes[64]``."""

from __future__ import annotations

from deed.vm.types import MAX_DYNAMIC_LEN

from .. import ast
from .. import types as T
from ..diagnostics import Reporter
from ..spelling import did_you_mean

MAX_COLLECTION = 1 << 32
TUPLE = "()"  # the name of a tuple's type expression: (uint, bool)
T_MAX_BYTES = MAX_DYNAMIC_LEN


is_list_element = T.is_list_element
element_width = T.element_width


class TypeResolver:
    def __init__(self, structs, enums, interfaces, reporter: Reporter, reports=None):
        self.structs = structs
        self.enums = enums
        self.interfaces = interfaces
        self.reporter = reporter
        self.reports = reports if reports is not None else {}

    def resolve(
        self,
        te: ast.TypeExpr,
        value_only: bool = False,
        local: bool = False,
        values: bool = False,
        returns: bool = False,
    ) -> T.Type:
        """``values``: where struct values and list values may be (locals,
        parameters, return values); ``returns``: a tuple too."""
        if te.name == TUPLE:
            if not returns:
                self.reporter.error(
                    "E0208",
                    "a tuple is only a return type",
                    te.span,
                    "return a struct, or destructure the call: x, y = self.f()",
                )
                return T.ERROR
            return T.TupleType(
                tuple(self.resolve(a, value_only, local, values) for a in te.args)  # type: ignore[arg-type]
            )
        t = self._resolve(te)
        if value_only and values and not isinstance(t, T.ReportType):
            return self._value(t, te)
        if value_only and isinstance(t, T.StructType):
            self.reporter.error(
                "E0208",
                f"the struct {t} cannot be used here",
                te.span,
                "structs are values in locals, parameters and return values of contract functions",
            )
            return t
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

    def known_names(self) -> list[str]:
        """Every type name in scope, for suggestions."""
        builtin = ["uint", "bool", "address", "u8", "u64", "u128", "i64", "i128", "bytes32"]
        return [*builtin, *self.structs, *self.enums, *self.interfaces, *self.reports]

    def _value(self, t: T.Type, te: ast.TypeExpr) -> T.Type:
        """A type where values beyond scalars are allowed."""
        if isinstance(t, T.StructType):
            path = t.storage_field()
            if path is not None:
                self.reporter.error(
                    "E0208",
                    f"{t} cannot be a value: its field {path} lives only in storage",
                    te.span,
                    "a struct holding a map, list or array stays in storage: read its fields",
                )
            return t
        if isinstance(t, T.ListType | T.ArrayType):
            what = "list" if isinstance(t, T.ListType) else "array"
            a = "a" if isinstance(t, T.ListType) else "an"
            n = t.capacity if isinstance(t, T.ListType) else t.size
            if not is_list_element(t.elem):
                self.reporter.error(
                    "E0208",
                    f"{a} {what} value holds integers, bools, addresses or bytesN, not {t.elem}",
                    te.span,
                    f"keep {what}s of other elements in storage",
                )
                return t
            if n * element_width(t.elem) > T_MAX_BYTES:
                self.reporter.error(
                    "E0208",
                    f"{t} takes {n * element_width(t.elem):,} bytes; "
                    f"{a} {what} value holds at most {T_MAX_BYTES:,}",
                    te.span,
                    "lower its size",
                )
            return t
        if t.storage_only:
            self.reporter.error(
                "E0208",
                f"{t} can only live in storage",
                te.span,
                "keep maps and arrays in state variables",
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
                from ..hints import type_hint  # only on an error: keeps imports light

                hint = type_hint(name) or did_you_mean(name, self.known_names())
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
            if key.storage_only or T.is_aggregate(key):
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
        from ..hints import type_hint

        self.reporter.error("E0103", f"unknown type {name}[...]", te.span, type_hint(name))
        return T.UINT
