"""Hypothesis strategies for a contract's arguments, built from its ABI.

A value is drawn in its host form, the form a Python test passes and reads back:

- ``uN``/``iN``: ``int`` in the type's range; ``bool``: ``bool``;
- ``address``, ``bytesN``, ``bytes[N]``: ``bytes`` of the right length;
- ``string[N]``: ``str`` of at most N bytes in UTF-8;
- an enum: its member's number (``int``), as the VM has it;
- a struct: a ``dict`` by field name; ``list[T, N]`` and ``T[N]``: a ``list``;
- several outputs (a tuple return): a ``tuple``.

:func:`to_vm` turns such a value into the flat VM values a module takes (a
struct's leaves, a list packed into one bytes value), :func:`from_vm` turns
them back, and :func:`to_cli` gives the JSON-like value ``deed send`` and
``deed call`` parse. The types are the ABI's (``compiler/abi.py``): a parameter
entry ``{"name": .., "type": .., "kind": .., ...}``, or a VM type name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from deed.cli.abis import decode_elements, encode_element, leaves
from deed.vm.codec import to_python
from deed.vm.types import (
    ADDRESS_SIZE,
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_STRING,
    ValueType,
    parse_type,
    type_range,
)

Param = dict[str, Any]


def param(abi_type: str | Param | Sequence[Param]) -> Param:
    """An ABI parameter entry for ``abi_type``: an entry as it is, a type name
    (``"u64"``, ``"bytes[8]"``) as a scalar entry, a list of entries as a tuple."""
    if isinstance(abi_type, str):
        parse_type(abi_type)  # a clear ValueError for a name that is no VM type
        return {"name": "", "type": abi_type}
    if isinstance(abi_type, dict):
        if "type" not in abi_type and abi_type.get("kind") != "tuple":
            raise ValueError(f"not an ABI type entry (no 'type'): {abi_type!r}")
        return abi_type
    if isinstance(abi_type, Sequence):
        return {"name": "", "kind": "tuple", "components": [param(p) for p in abi_type]}
    raise TypeError(f"an ABI type is a name, an entry or a list of entries, not {abi_type!r}")


# --------------------------------------------------------------------------- strategies


def for_type(abi_type: str | Param | Sequence[Param]) -> st.SearchStrategy[Any]:
    """Values of one ABI type, in host form (see the module docstring)."""
    p = param(abi_type)
    kind = p.get("kind")
    if kind == "struct":
        return st.fixed_dictionaries({f["name"]: for_type(f) for f in p["components"]})
    if kind == "tuple":
        return st.tuples(*[for_type(c) for c in p["components"]])
    if kind == "list":
        return st.lists(for_type(p["element"]), max_size=p["capacity"])
    if kind == "array":
        return st.lists(for_type(p["element"]), min_size=p["size"], max_size=p["size"])
    if isinstance(p.get("members"), list):
        return st.integers(0, len(p["members"]) - 1)
    return scalars(parse_type(p["type"]))


def scalars(t: ValueType) -> st.SearchStrategy[Any]:
    """Values of one VM type, as the codec takes them."""
    if t.tag == TAG_BOOL:
        return st.booleans()
    if t.tag == TAG_ADDRESS:
        return st.binary(min_size=ADDRESS_SIZE, max_size=ADDRESS_SIZE)
    if t.tag == TAG_FIXED_BYTES:
        return st.binary(min_size=t.param, max_size=t.param)
    if t.tag == TAG_BYTES:
        return st.binary(max_size=t.param)
    if t.tag == TAG_STRING:
        return st.text(max_size=t.param).map(lambda s: _fit(s, t.param))
    lo, hi = type_range(t)
    return st.integers(lo, hi)


def _fit(text: str, size: int) -> str:
    """``text`` cut to at most ``size`` bytes of UTF-8 (cut, not filtered: a filter
    would throw away most long draws of wide characters)."""
    while len(text.encode()) > size:
        text = text[:-1]
    return text


def for_function(function: Param | Any) -> st.SearchStrategy[tuple]:
    """Argument tuples for a function: its ABI entry (a dict with ``inputs``), or
    any object with an ``.abi`` attribute holding one (a contract's method)."""
    entry = getattr(function, "abi", function)
    if not isinstance(entry, dict) or not isinstance(entry.get("inputs"), list):
        raise ValueError(f"not an ABI function entry (no 'inputs' list): {entry!r}")
    return st.tuples(*[for_type(p) for p in entry["inputs"]])


# --------------------------------------------------------------------------- conversions


def vm_types(abi_type: str | Param | Sequence[Param]) -> list[ValueType]:
    """The VM types a value of ``abi_type`` is passed as, in order."""
    return [parse_type(p["type"]) for p in leaves(_flat_components(param(abi_type)))]


def _flat_components(p: Param) -> list[Param]:
    return p["components"] if p.get("kind") == "tuple" else [p]


def to_vm(abi_type: str | Param | Sequence[Param], value: Any) -> list[Any]:
    """A host value as the flat VM values of ``vm_types(abi_type)``."""
    p = param(abi_type)
    kind = p.get("kind")
    if kind in ("struct", "tuple"):
        parts = _parts(p, value)
        return [v for c, part in zip(p["components"], parts, strict=True) for v in to_vm(c, part)]
    if kind in ("list", "array"):
        t = parse_type(p["element"]["type"])
        return [b"".join(encode_element(t, v) for v in value)]
    return [value]


def _parts(p: Param, value: Any) -> list[Any]:
    """A struct's or tuple's parts in field order: a dict by field name, or a sequence."""
    fields = p["components"]
    if isinstance(value, dict):
        names = [f["name"] for f in fields]
        if sorted(value) != sorted(names):
            raise ValueError(f"a {p.get('type', 'tuple')} has the fields {', '.join(names)}")
        return [value[n] for n in names]
    if len(value) != len(fields):
        raise ValueError(f"a {p.get('type', 'tuple')} has {len(fields)} parts, got {len(value)}")
    return list(value)


def from_vm(abi_type: str | Param | Sequence[Param], values: Sequence[Any]) -> Any:
    """Flat VM values (as ``decode_values`` or a call's ``return_values`` give them)
    back in host form."""
    p = param(abi_type)
    value, rest = _take(p, list(values))
    if rest:
        raise ValueError(f"{len(rest)} VM value(s) left over")
    return value


def _take(p: Param, values: list[Any]) -> tuple[Any, list[Any]]:
    kind = p.get("kind")
    if kind in ("struct", "tuple"):
        parts = []
        for c in p["components"]:
            part, values = _take(c, values)
            parts.append(part)
        if kind == "tuple":
            return tuple(parts), values
        return {c["name"]: v for c, v in zip(p["components"], parts, strict=True)}, values
    head, rest = values[0], values[1:]
    if kind in ("list", "array"):
        return decode_elements(parse_type(p["element"]["type"]), bytes(head)), rest
    return _host(parse_type(p["type"]), head), rest


def _host(t: ValueType, value: Any) -> Any:
    """A VM value in host form; the chain's results (strings already text) are taken too."""
    if t.tag == TAG_STRING and isinstance(value, str):
        return value
    return to_python(t, value)


def to_cli(value: Any) -> Any:
    """A host value as ``deed send``/``deed call`` parse it (``deed.cli.abis.call_args``):
    bytes as ``0x`` hex, numbers, bools and text as they are, structs and lists as JSON."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: to_cli(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_cli(v) for v in value]
    return value
