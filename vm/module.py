"""The bytecode module: dataclasses and their one canonical binary encoding.

Layout (all counts and lengths are minimal LEB128 varints)::

    magic "DEED" | version u16 big-endian
    constants:  count, then each: tag 0 (integer: sign byte, magnitude blob)
                                  or tag 1 (bytes: blob)
    functions:  count, then each: name, param kinds, local kinds, return kinds,
                                  max stack, code blob
    exports:    count, then each: name, selector (4 bytes), function index,
                                  flags, param types, return types
    events:     count, then each: name, fields (name, type; bit 7 of the type's
                                  tag marks a field the node indexes)
    errors:     count, then each: name, fields (name, type)
    imports:    count, then each: name, selector, param types, return types

Kinds are one byte each (``I`` or ``B``); types are a tag byte and a varint
parameter. The module id is the SHA-256 of the encoding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .codec import Reader, Writer
from .errors import DecodeError
from .opcodes import LIMITS
from .types import BYTES, INT, ValueType, type_name

MAGIC = b"DEED"
VERSION = 1

FLAG_PAYABLE = 1
FLAG_VIEW = 2
FLAG_INIT = 4
KNOWN_FLAGS = FLAG_PAYABLE | FLAG_VIEW | FLAG_INIT

_KIND_BYTES = {INT: ord("I"), BYTES: ord("B")}
_BYTE_KINDS = {v: k for k, v in _KIND_BYTES.items()}


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]  # kinds of the parameters (the first locals)
    locals: tuple[str, ...]  # kinds of the other locals
    returns: tuple[str, ...]
    max_stack: int
    code: bytes

    @property
    def all_locals(self) -> tuple[str, ...]:
        return self.params + self.locals


@dataclass(frozen=True)
class Export:
    name: str
    selector: bytes
    function: int
    flags: int
    params: tuple[ValueType, ...]
    returns: tuple[ValueType, ...]

    @property
    def payable(self) -> bool:
        return bool(self.flags & FLAG_PAYABLE)

    @property
    def view(self) -> bool:
        return bool(self.flags & FLAG_VIEW)

    @property
    def is_init(self) -> bool:
        return bool(self.flags & FLAG_INIT)


@dataclass(frozen=True)
class Field:
    name: str
    type: ValueType
    indexed: bool = False  # events only: the node indexes its logs by this field's value


#: Bit 7 of an event field's type tag marks an indexed field (no type tag uses it).
INDEXED_FLAG = 0x80


@dataclass(frozen=True)
class EventDef:
    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ErrorDef:
    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ImportDef:
    name: str
    selector: bytes
    params: tuple[ValueType, ...]
    returns: tuple[ValueType, ...]


@dataclass(frozen=True)
class Module:
    constants: tuple[int | bytes, ...] = ()
    functions: tuple[Function, ...] = ()
    exports: tuple[Export, ...] = ()
    events: tuple[EventDef, ...] = ()
    errors: tuple[ErrorDef, ...] = ()
    imports: tuple[ImportDef, ...] = ()
    _encoded: bytes | None = field(default=None, compare=False, repr=False)

    def encode(self) -> bytes:
        """The canonical encoding (the bytes it was decoded from, when it was)."""
        return self._encoded if self._encoded is not None else encode_module(self)

    @property
    def module_id(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


def selector(name: str, params: tuple[ValueType, ...] | list[ValueType]) -> bytes:
    """First four bytes of SHA-256 of ``name(type,type)``: how calls find an export."""
    signature = f"{name}({','.join(type_name(t) for t in params)})"
    return hashlib.sha256(signature.encode()).digest()[:4]


#: A transaction to a contract with no call data runs the export of this name
#: and selector, if it is payable and returns nothing; otherwise it reverts.
RECEIVE_NAME = "receive"
RECEIVE_SELECTOR = selector(RECEIVE_NAME, ())


def receive_export(exports: dict[bytes, Export]) -> Export | None:
    """The export a plain value transfer runs, from exports keyed by selector."""
    e = exports.get(RECEIVE_SELECTOR)
    if e is None or e.name != RECEIVE_NAME or e.returns or not e.payable or e.is_init:
        return None
    return e


# --------------------------------------------------------------------------- encode


def encode_module(m: Module) -> bytes:
    w = Writer()
    w.raw(MAGIC)
    w.raw(VERSION.to_bytes(2, "big"))
    w.uvarint(len(m.constants))
    for c in m.constants:
        if isinstance(c, bool) or not isinstance(c, int | bytes):
            raise ValueError(f"constant of unsupported type {type(c).__name__}")
        if isinstance(c, int):
            w.raw(b"\x00")
            w.raw(b"\x01" if c < 0 else b"\x00")
            mag = abs(c)
            w.blob(mag.to_bytes((mag.bit_length() + 7) // 8, "big"))
        else:
            w.raw(b"\x01")
            w.blob(c)
    w.uvarint(len(m.functions))
    for f in m.functions:
        w.text(f.name)
        _kinds(w, f.params)
        _kinds(w, f.locals)
        _kinds(w, f.returns)
        w.uvarint(f.max_stack)
        w.blob(f.code)
    w.uvarint(len(m.exports))
    for e in m.exports:
        w.text(e.name)
        _selector(w, e.selector)
        w.uvarint(e.function)
        w.uvarint(e.flags)
        _types(w, e.params)
        _types(w, e.returns)
    for defs, event in ((m.events, True), (m.errors, False)):
        w.uvarint(len(defs))
        for d in defs:
            w.text(d.name)
            w.uvarint(len(d.fields))
            for fd in d.fields:
                w.text(fd.name)
                if fd.indexed:
                    if not event:
                        raise ValueError("only event fields are indexed")
                    w.raw(bytes([fd.type.tag | INDEXED_FLAG]))
                    w.uvarint(fd.type.param)
                else:
                    _type(w, fd.type)
    w.uvarint(len(m.imports))
    for imp in m.imports:
        w.text(imp.name)
        _selector(w, imp.selector)
        _types(w, imp.params)
        _types(w, imp.returns)
    return w.getvalue()


def _selector(w: Writer, sel: bytes) -> None:
    if len(sel) != 4:
        raise ValueError("a selector has 4 bytes")
    w.raw(sel)


def _kinds(w: Writer, kinds: tuple[str, ...]) -> None:
    w.uvarint(len(kinds))
    w.raw(bytes(_KIND_BYTES[k] for k in kinds))


def _type(w: Writer, t: ValueType) -> None:
    w.raw(bytes([t.tag]))
    w.uvarint(t.param)


def _types(w: Writer, types: tuple[ValueType, ...]) -> None:
    w.uvarint(len(types))
    for t in types:
        _type(w, t)


# --------------------------------------------------------------------------- decode


def decode_module(data: bytes) -> Module:
    """Decode a module, rejecting any non-canonical or oversized encoding.

    Only the shape is checked here; :mod:`deed.vm.verifier` checks the rules.
    """
    if not isinstance(data, bytes | bytearray):
        raise DecodeError("a module is bytes")
    if len(data) > LIMITS.max_module_size:
        raise DecodeError(
            f"module of {len(data)} bytes is over the limit of {LIMITS.max_module_size}"
        )
    r = Reader(data)
    if r.raw(4) != MAGIC:
        raise DecodeError("not a Deed module (bad magic)")
    version = int.from_bytes(r.raw(2), "big")
    if version != VERSION:
        raise DecodeError(f"unsupported module version {version} (this VM reads {VERSION})")
    constants = tuple(_constant(r) for _ in range(r.uvarint(LIMITS.max_constants)))
    functions = tuple(_function(r) for _ in range(r.uvarint(LIMITS.max_functions)))
    exports = tuple(_export(r) for _ in range(r.uvarint(LIMITS.max_exports)))
    events = tuple(EventDef(*_def(r, True)) for _ in range(r.uvarint(LIMITS.max_events)))
    errors = tuple(ErrorDef(*_def(r)) for _ in range(r.uvarint(LIMITS.max_errors)))
    imports = tuple(_import(r) for _ in range(r.uvarint(LIMITS.max_imports)))
    r.expect_end()
    return Module(constants, functions, exports, events, errors, imports, _encoded=bytes(data))


def _constant(r: Reader) -> int | bytes:
    tag = r.u8()
    if tag == 0:
        sign = r.u8()
        mag_bytes = r.blob(33)
        if sign > 1 or (mag_bytes and mag_bytes[0] == 0):
            raise DecodeError("non-canonical integer constant")
        mag = int.from_bytes(mag_bytes, "big")
        if sign == 1 and mag == 0:
            raise DecodeError("negative zero constant")
        if mag >= 1 << 256:
            raise DecodeError("integer constant over 256 bits")
        return -mag if sign else mag
    if tag == 1:
        return r.blob(LIMITS.max_constant_bytes)
    raise DecodeError(f"unknown constant tag {tag}")


def _name(r: Reader) -> str:
    return r.text(LIMITS.max_name)


def _kind_list(r: Reader, limit: int) -> tuple[str, ...]:
    raw = r.raw(r.uvarint(limit))
    try:
        return tuple(_BYTE_KINDS[b] for b in raw)
    except KeyError:
        raise DecodeError("unknown value kind") from None


def _type_of(r: Reader) -> ValueType:
    tag = r.u8()
    return ValueType(tag, r.uvarint(1 << 20))


def _type_list(r: Reader, limit: int) -> tuple[ValueType, ...]:
    return tuple(_type_of(r) for _ in range(r.uvarint(limit)))


def _function(r: Reader) -> Function:
    name = _name(r)
    params = _kind_list(r, LIMITS.max_params)
    local_kinds = _kind_list(r, LIMITS.max_locals)
    returns = _kind_list(r, LIMITS.max_returns)
    max_stack = r.uvarint(LIMITS.max_stack)
    code = r.blob(LIMITS.max_code_size)
    return Function(name, params, local_kinds, returns, max_stack, code)


def _export(r: Reader) -> Export:
    name = _name(r)
    sel = r.raw(4)
    function = r.uvarint(LIMITS.max_functions)
    flags = r.uvarint(255)
    params = _type_list(r, LIMITS.max_params)
    returns = _type_list(r, LIMITS.max_returns)
    return Export(name, sel, function, flags, params, returns)


def _def(r: Reader, event: bool = False) -> tuple[str, tuple[Field, ...]]:
    name = _name(r)
    fields = tuple(_field(r, event) for _ in range(r.uvarint(LIMITS.max_fields)))
    return name, fields


def _field(r: Reader, event: bool) -> Field:
    name = _name(r)
    tag = r.u8()
    indexed = event and bool(tag & INDEXED_FLAG)
    if indexed:
        tag &= ~INDEXED_FLAG
    return Field(name, ValueType(tag, r.uvarint(1 << 20)), indexed)


def _import(r: Reader) -> ImportDef:
    name = _name(r)
    sel = r.raw(4)
    return ImportDef(name, sel, _type_list(r, LIMITS.max_params), _type_list(r, LIMITS.max_returns))
