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

from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_UINT,
    ValueType,
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
