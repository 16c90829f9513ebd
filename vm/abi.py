"""A contract's JSON ABI, off-chain: how declared values map onto the VM's
flat values, for clients and tests (the command line and :mod:`deed.testing`).

A module carries only VM types: a struct is its leaf fields, one value each,
a list or array is one bytes value holding its elements packed, an enum is a
``u8`` (spec/language.md, "Values beyond scalars"). The ABI the compiler
writes beside a module (``out.abi``) says what the declared parameters,
results, event and error fields are; these helpers walk it. They take and
give plain dicts (the ABI as JSON) and raise ``ValueError`` for a value that
does not fit, so each caller words the error for its own users.

Like :mod:`deed.vm.packing`, this module does not import the compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_UINT,
    ValueType,
    parse_type,
)

Members = tuple[str, ...] | None  # an enum's members, or None for any other type


# --------------------------------------------------------------------------- enums


def members(fields) -> list[Members]:
    """The enum members of each field (None for a field that is no enum)."""
    if not isinstance(fields, list):
        return []
    return [members_of(f) if isinstance(f, dict) else None for f in fields]


def members_of(p: dict) -> Members:
    """The members of the enum ``p`` declares, or None when it is no enum."""
    m = p.get("members")
    return tuple(str(x) for x in m) if isinstance(m, list) else None


def name_of(value: object, m: Members) -> object:
    """An enum value as its member's name (other values as they are)."""
    if m is not None and isinstance(value, int) and 0 <= value < len(m):
        return m[value]
    return value


# --------------------------------------------------------------------------- structs


def leaves(params: list[dict]) -> list[dict]:
    """The declared parameters as the VM sees them: a struct as its fields, in order."""
    out: list[dict] = []
    for p in params:
        out += leaves(p["components"]) if p.get("kind") == "struct" else [p]
    return out


def width(p: dict) -> int:
    """How many VM values a declared value is."""
    return len(leaves(p["components"])) if p.get("kind") == "struct" else 1


def group(values, outputs: list[dict]) -> list[tuple[dict, list]]:
    """The flat VM values, one group per declared value."""
    values = list(values)
    out = []
    for p in outputs:
        n = width(p)
        out.append((p, values[:n]))
        values = values[n:]
    return out


# --------------------------------------------------------------------------- list values


def element_width(t: ValueType) -> int:
    """Bytes one element of type ``t`` takes in a list value."""
    if t.tag in (TAG_UINT, TAG_INT):
        return t.param // 8
    if t.tag == TAG_BOOL:
        return 1
    if t.tag == TAG_ADDRESS:
        return 20
    if t.tag == TAG_FIXED_BYTES:
        return t.param
    raise ValueError(f"a list value cannot hold {t}")


def encode_element(t: ValueType, v: object) -> bytes:
    """One element of a list value: big-endian, ``element_width`` bytes."""
    width_ = element_width(t)
    if t.tag in (TAG_UINT, TAG_INT, TAG_BOOL):
        return int(v).to_bytes(width_, "big", signed=t.tag == TAG_INT)  # type: ignore[call-overload]
    return bytes(v)  # type: ignore[arg-type]


def decode_elements(t: ValueType, data: bytes) -> list[object]:
    """The elements of a list value of element type ``t``."""
    width_ = element_width(t)
    out: list[object] = []
    for i in range(0, len(data) - width_ + 1, width_):
        chunk = data[i : i + width_]
        if t.tag in (TAG_UINT, TAG_INT):
            out.append(int.from_bytes(chunk, "big", signed=t.tag == TAG_INT))
        elif t.tag == TAG_BOOL:
            out.append(chunk != b"\0")
        else:
            out.append(chunk)
    return out


# --------------------------------------------------------------------------- declared values to flat ones


class ShapeError(ValueError):
    """A value whose shape is not the declared one (the message says where and why)."""


Leaf = Callable[[object, dict, str], object]  # (value, its ABI entry, where) -> the VM value


def _as_is(value: object, where: str, what: str) -> object:
    return value


@dataclass(frozen=True)
class Flattener:
    """Declared values into the VM's flat values: a struct (a dict by field
    name, or a list or tuple in field order) into its leaves, a list or array
    (a list or tuple) into one packed bytes value, any other value through
    ``leaf``. ``unpack`` first turns a value into a dict or a list if its
    caller writes them another way (the command line: as text); the ``*_form``
    texts say in messages how a struct and a list are written there."""

    leaf: Leaf
    unpack: Callable[[object, str, str], object] = _as_is  # (value, where, what it should be)
    struct_form: str = "a dict by field name or a tuple in field order"
    list_form: str = "a list"

    def flatten(self, value: object, p: dict, where: str) -> list[object]:
        """The flat VM values of ``value``, declared as ``p``; ShapeError if it does not fit."""
        kind = p.get("kind")
        if kind == "struct":
            return self._struct(value, p, where)
        if kind in ("list", "array"):
            return [self._list(value, p, where)]
        return [self.leaf(value, p, where)]

    def _struct(self, value: object, p: dict, where: str) -> list[object]:
        fields = p["components"]
        names = [f["name"] for f in fields]
        value = self.unpack(value, where, f"a {p['type']}")
        if isinstance(value, dict):
            unknown = [str(k) for k in value if k not in names]
            missing = [n for n in names if n not in value]
            if unknown or missing:
                raise ShapeError(
                    f"{where}: a {p['type']} has the fields {', '.join(names)}"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                )
            value = [value[n] for n in names]
        if not isinstance(value, list | tuple) or len(value) != len(fields):
            raise ShapeError(
                f"{where}: a {p['type']} takes {len(fields)} fields ({', '.join(names)}), "
                f"as {self.struct_form}"
            )
        out: list[object] = []
        for v, f in zip(value, fields, strict=True):
            out += self.flatten(v, f, f"{where}.{f['name']}")
        return out

    def _list(self, value: object, p: dict, where: str) -> bytes:
        declared = p["deed_type"]
        if isinstance(value, bytes | bytearray):
            return bytes(value)  # packed already
        value = self.unpack(value, where, declared)
        if not isinstance(value, list | tuple):
            raise ShapeError(f"{where}: a {declared} is {self.list_form}")
        if "size" in p and len(value) != p["size"]:
            raise ShapeError(f"{where}: {len(value)} elements, a {declared} has {p['size']}")
        if len(value) > p.get("capacity", len(value)):
            raise ShapeError(
                f"{where}: {len(value)} elements, a {declared} holds at most {p['capacity']}"
            )
        e = p["element"]
        t = parse_type(e["type"])
        out = []
        for v in value:
            leaf = self.leaf(v, e, f"{where}[]")
            try:
                out.append(encode_element(t, leaf))
            except (ValueError, OverflowError, TypeError) as exc:
                raise ShapeError(f"{where}: {exc}") from None
        return b"".join(out)
