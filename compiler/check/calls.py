"""Calls: internal, library and interface calls, conversions and builtins."""

from __future__ import annotations

from .. import ast
from .. import types as T
from ..builtins import BUILTINS, ENV_MEMBERS
from ..spelling import did_you_mean, library_hint
from ..symbols import (
    BuiltinRef,
    ConversionRef,
    ExternalCallRef,
    InterfaceCastRef,
    InterfaceInfo,
    InternalCallRef,
    ListMethodRef,
    LocalInfo,
    MethodInfo,
    StructCtorRef,
)


class CallChecks:
    """Mixed into FunctionChecker: ``self`` has its scopes, reporter and function."""

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
            self.no_storage_list(a, t)

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
                e.ref = InterfaceCastRef(iface)
                return iface.type
            if f.id in self.info.structs:
                return self.struct_value(e, self.info.structs[f.id])
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
                return self.unchecked_call(e)
            if f.id not in self.visible_names():
                self.r.error("E0101", f"undefined name {f.id}", f.span, self.callable_hint(f.id))
                return self.unchecked_call(e)
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.obj, ast.Name)
            and f.obj.id in self.c.libraries
            and self.lookup(f.obj.id) is None
        ):
            target = self.info.functions.get(f"{f.obj.id}.{f.attr}")
            if target is None:
                self.r.error(
                    "E0105",
                    f"library {f.obj.id} has no function {f.attr}",
                    f.span,
                    library_hint(f.obj.id, f.attr, self.info.functions),
                )
                return self.unchecked_call(e)
            e.ref = InternalCallRef(target)
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
                e.ref = InternalCallRef(target)
                self.fn.calls.add(target.name)
                self.fn.call_sites.append((target.name, e))
                self.args(e, target.params, f"{target.name}")
                return target.returns
            if f.attr in self.info.state or (f.obj.id, f.attr) in ENV_MEMBERS:
                self.r.error("E0205", f"this is not a function: self.{f.attr} is a value", f.span)
                return self.unchecked_call(e)
            own = [n for n, fn in self.info.functions.items() if fn.library is None]
            self.r.error(
                "E0105",
                f"{self.info.name} has no function {f.attr}",
                f.span,
                did_you_mean(f.attr, own, "self.{}"),
            )
            return self.unchecked_call(e)
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
                        did_you_mean(f.attr, iface.methods)
                        or f"functions: {', '.join(iface.methods)}",
                    )
                    return self.unchecked_call(e)
                value_kw = next((k for k in e.kwargs if k.name == "value"), None)
                if value_kw is not None:
                    self.value_kwarg(value_kw, iface, method)
                e.ref = ExternalCallRef(iface, method, value_kw.value if value_kw else None)
                self.fn.ext_calls.append((e, method))
                e.kwargs = [k for k in e.kwargs if k is not value_kw]
                self.args(e, method.params, f"{iface.name}.{method.name}")
                if (
                    value_kw is not None
                ):  # kept: a library's call is checked again for each contract
                    e.kwargs.append(value_kw)
                return method.returns
        if isinstance(f, ast.Attribute) and f.obj.type == T.ERROR:  # reported already
            return self.unchecked_call(e)
        self.r.error("E0205", "this is not a function", f.span)
        return self.unchecked_call(e)

    def unchecked_call(self, e: ast.Call) -> T.Type:
        """After an error about the callee: check the arguments on their own,
        and give the call the error type so nothing else is reported about it."""
        for a in e.args:
            self.expr(a)
        for k in e.kwargs:
            self.expr(k.value)
        return T.ERROR

    def callable_hint(self, name: str) -> str | None:
        """The builtin, conversion or function a misspelt callee probably is."""
        from ..hints import name_hint  # only on an error: keeps imports light

        own = [n for n, fn in self.info.functions.items() if fn.library is None]
        return (
            name_hint(name)
            or did_you_mean(name, [*BUILTINS, *self.info.interfaces, "uint", "address", "bool"])
            or did_you_mean(name, own, "self.{}")
            or self.name_hint(name)
        )

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

    def struct_value(self, e: ast.Call, t: T.StructType) -> T.Type:
        """``Order(buyer=a, amount=1, paid=False)``, or by position."""
        path = t.storage_field()
        if path is not None:
            self.r.error(
                "E0208",
                f"{t} cannot be a value: its field {path} lives only in storage",
                e.span,
                "write the fields of the stored struct one by one",
            )
            for a in [*e.args, *(k.value for k in e.kwargs)]:
                self.expr(a)
            return T.ERROR
        e.ref = StructCtorRef(t)
        self.args(e, list(t.fields), f"struct {t.name}")
        return t

    def list_method(self, e: ast.Call, f: ast.Attribute, t: T.ListType) -> T.Type:
        local = f.obj.ref if isinstance(f.obj, ast.Name) else None
        if isinstance(local, LocalInfo) and not self.is_storage(f.obj):
            # push and pop on a list value in a local (or a parameter)
            if not local.mutable:
                self.r.error("E0207", f"the loop variable {local.name} cannot be assigned", e.span)
                return T.ERROR
            e.ref = ListMethodRef(f.attr, t, value=True)
            return self.list_method_args(e, f, t)
        if not self.is_storage(f.obj):
            self.r.error(
                "E0202",
                f"{f.attr} works on storage lists; a list value cannot grow or shrink",
                e.span,
            )
            return T.ERROR
        if t.elem.storage_only:
            self.r.error(
                "E0202",
                f"{f.attr} works on lists of values, not of {t.elem}",
                e.span,
                "keep a length and write the fields of xs[i]",
            )
            return T.ERROR
        e.ref = ListMethodRef(f.attr, t)
        self.fn.writes.append(e)
        return self.list_method_args(e, f, t)

    def list_method_args(self, e: ast.Call, f: ast.Attribute, t: T.ListType) -> T.Type:
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
                if isinstance(src, T.EnumType | T.BoolType):
                    pass
                elif isinstance(src, T.FixedBytesType) and to.bits >= src.size * 8:
                    pass
                elif not isinstance(src, T.IntType):
                    self.r.error("E0201", f"cannot convert {src} to {to}", e.span)
            e.ref = ConversionRef(to)
            return to
        if isinstance(to, T.FixedBytesType):
            # integers and bools: big-endian in N bytes (reverts if the value does not fit);
            # an address: bytes20; bytesN: itself
            src = self.expr(arg)
            if not (
                isinstance(src, T.IntType | T.BoolType | T.EnumType | T.ErrorType)
                or (isinstance(src, T.FixedBytesType) and src.size == to.size)
                or (isinstance(src, T.AddressType | T.InterfaceType) and to.size == 20)
            ):
                self.r.error(
                    "E0201",
                    f"cannot convert {src} to {to}",
                    e.span,
                    f"{to}(x) converts an integer, a bool or a {to}"
                    + (" (bytes20 also an address)" if to.size != 20 else ", or an address")
                    + "; slice(b, start, N) takes N bytes of bytes",
                )
            e.ref = ConversionRef(to)
            return to
        if isinstance(to, T.AddressType):
            src = self.expr(arg)
            if not (
                isinstance(src, T.InterfaceType | T.AddressType) or src == T.FixedBytesType(20)
            ):
                self.r.error(
                    "E0201",
                    f"cannot convert {src} to address",
                    e.span,
                    "the zero address is empty(address)",
                )
            e.ref = ConversionRef(to)
            return to
        self.r.error("E0201", f"no conversion to {to}", e.span)
        return to

    def builtin(self, e: ast.Call, name: str) -> T.Type:
        """A builtin function: its arity, then its own rule from the registry."""
        b = BUILTINS[name]
        e.ref = BuiltinRef(b)
        if e.kwargs and name != "range":
            self.r.error("E0204", f"{name} takes no keyword arguments", e.kwargs[0].span)
        if len(e.args) not in b.arity:
            self.r.error("E0204", f"{name} takes {b.arity_text()}, got {len(e.args)}", e.span)
            if name != "empty":
                for a in e.args:
                    self.expr(a)
            return b.on_error
        return b.check(self, e)
