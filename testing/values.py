"""Python values through a contract's ABI, both ways.

A test passes a contract's declared values as Python: a struct as a dict by
field name or a tuple in field order, a list or array as a Python list, an
enum member by name (``"Paid"``) or number, an address as bytes or anything
with ``__bytes__`` (an :class:`~deed.testing.env.Account`, a deployed
contract), bytes, strings, integers and bools as themselves. Results come back
grouped the same way: structs as :class:`Fields` (a dict with attribute
access), lists as lists, enums as their member's name.

The ABI's structure (which VM values a struct or a list is) is walked by
:mod:`deed.vm.abi`, shared with the command line, which parses the same
shapes from command-line text.
"""

from __future__ import annotations

from collections.abc import Sequence

from deed.vm.abi import (
    Flattener,
    ShapeError,
    decode_elements,
    group,
    leaves,
    members_of,
    name_of,
)
from deed.vm.types import parse_type


class ArgumentError(ValueError):
    """A Python value that does not fit the declared parameter (said which and why)."""


class Fields(dict):
    """Named values (a struct, an event's or an error's fields): a dict that
    also reads its keys as attributes, ``ev.args.amount``."""

    def __getattr__(self, name: str) -> object:
        try:
            return self[name]
        except KeyError:
            known = ", ".join(self) or "none"
            raise AttributeError(f"no field {name!r} (fields: {known})") from None


class Address(bytes):
    """A 20-byte address as a result: bytes that print as hex and equal an
    account or contract at that address (``c.owner() == alice``)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes | bytearray) and hasattr(other, "__bytes__"):
            other = bytes(other)  # type: ignore[call-overload]
        return bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = bytes.__hash__

    def __repr__(self) -> str:
        return "0x" + self.hex()


# --------------------------------------------------------------------------- into the VM


def to_vm_values(what: str, params: list[dict], args: Sequence[object]) -> list[object]:
    """The flat VM values of ``args``, one per declared parameter of ``what``."""
    if len(args) != len(params):
        signature = ", ".join(f"{p['name']}: {_declared(p)}" for p in params) or "no arguments"
        raise ArgumentError(
            f"{what} takes {len(params)} argument(s) ({signature}), got {len(args)}"
        )
    out: list[object] = []
    for value, p in zip(args, params, strict=True):
        out += to_vm(value, p, f"{what}: {p.get('name') or 'argument'}")
    return out


def _declared(p: dict) -> str:
    return p.get("deed_type") or p["type"]


def to_vm(value: object, p: dict, where: str) -> list[object]:
    """One declared value as its flat VM values (a struct: one per leaf field)."""
    try:
        return _SHAPES.flatten(value, p, where)
    except ShapeError as exc:
        raise ArgumentError(str(exc)) from None


def _scalar(value: object, p: dict, where: str) -> object:
    m = members_of(p)
    if m is not None:
        return _member(value, m, p, where)
    if not isinstance(value, int | str | bytes | bytearray) and hasattr(value, "__bytes__"):
        return bytes(value)  # type: ignore[call-overload]  # an Account, a contract, oracle keys
    if isinstance(value, str) and p.get("type", "").startswith("bytes") and "[" not in p["type"]:
        return _padded_text(value, parse_type(p["type"]).param, where)
    return value


def _padded_text(text: str, size: int, where: str) -> bytes:
    """Text for a ``bytesN`` parameter: its UTF-8, zero-padded on the right (as
    the command line takes it: ``"PKG-1042"`` for a ``bytes32``)."""
    data = text.encode()
    if len(data) > size:
        raise ArgumentError(f"{where}: {text!r} is {len(data)} bytes in UTF-8, over {size}")
    return data.ljust(size, b"\0")


def _member(value: object, m: tuple[str, ...], p: dict, where: str) -> int:
    if isinstance(value, str) and value in m:
        return m.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(m):
        return value
    raise ArgumentError(
        f"{where}: {value!r} is not a member of {_declared(p)}: "
        f"expected one of {', '.join(m)} (or its number, 0 to {len(m) - 1})"
    )


#: Structs and lists as Python writes them; the leaves through :func:`_scalar`.
_SHAPES = Flattener(
    leaf=_scalar,
    struct_form="a dict by field name or a tuple in field order",
    list_form="a Python list (or its packed bytes)",
)


# --------------------------------------------------------------------------- out of the VM


def from_vm_values(params: list[dict], values: Sequence[object]) -> list[object]:
    """Flat VM values back as one Python value per declared value."""
    return [from_vm(p, part) for p, part in group(values, params)]


def from_vm(p: dict, flat: list) -> object:
    """One declared value from its flat VM values."""
    kind = p.get("kind")
    if kind == "struct":
        return Fields({f["name"]: from_vm(f, part) for f, part in group(flat, p["components"])})
    if kind in ("list", "array"):
        e = p["element"]
        m = members_of(e)
        return [name_of(v, m) for v in decode_elements(parse_type(e["type"]), bytes(flat[0]))]
    if p.get("type") == "address" and isinstance(flat[0], bytes):
        return Address(flat[0])
    return name_of(flat[0], members_of(p))


def named_fields(fields: list[dict] | None, values: Sequence[object]) -> Fields:
    """An event's or error's values by field name; without a matching ABI
    entry, ``arg0``, ``arg1``... in order."""
    values = list(values)
    if fields is None or len(leaves(fields)) != len(values):
        return Fields({f"arg{i}": v for i, v in enumerate(values)})
    return Fields(
        {
            p["name"] or f"arg{i}": v
            for i, (p, v) in enumerate(zip(fields, from_vm_values(fields, values), strict=True))
        }
    )
