"""Command-line text to typed values and back, one parser and one printer per type tag.

Every parser raises :class:`UsageError` with what is wrong and what the type
expects, so a bad argument is a usage error (exit 2) before anything is
signed or run; the codec's own checks (which raise ``ValueError``) never
see a value that does not fit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from deed.vm.types import (
    ADDRESS_SIZE,
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
    type_range,
)

from .errors import UsageError

# A key's address, as `@name`: resolved by the caller (the key store).
KeyLookup = Callable[[str], bytes]

_INTEGER = re.compile(
    r"[+-]?(?:0[xX](?P<hex>[0-9a-fA-F](?:_?[0-9a-fA-F])*)|(?P<dec>[0-9](?:_?[0-9])*))"
)
_HEX = re.compile(r"(?:0[xX])?(?P<digits>(?:[0-9a-fA-F]{2})*)")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_MAX_DIGITS = 100  # more than any 256-bit number has: over it, say "out of range" without parsing

NEGATIVE_NUMBER = re.compile(r"-(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)")


def _expects(t: ValueType) -> str:
    """What a value of type ``t`` looks like on the command line (for messages)."""
    return _EXPECTS[t.tag](t)


_EXPECTS: dict[int, Callable[[ValueType], str]] = {
    TAG_UINT: lambda t: f"an integer from {_int_range(t)} (decimal or 0x hex)",
    TAG_INT: lambda t: f"an integer from {_int_range(t)} (decimal or 0x hex)",
    TAG_BOOL: lambda t: "true or false",
    TAG_ADDRESS: lambda t: f"0x and {2 * ADDRESS_SIZE} hex digits, or @keyname",
    TAG_FIXED_BYTES: lambda t: (
        f"0x and {2 * t.param} hex digits, or text of at most {t.param} bytes (padded with zero bytes)"
    ),
    TAG_BYTES: lambda t: (
        f"0x and at most {2 * t.param} hex digits, or text of at most {t.param} bytes"
    ),
    TAG_STRING: lambda t: f"text of at most {t.param} bytes in UTF-8",
}


def _int_range(t: ValueType) -> str:
    """The range of an integer type, as powers of two once the numbers get long."""
    lo, hi = type_range(t)
    if t.param <= 64:
        return f"{lo} to {hi}"
    if lo == 0:
        return f"0 to 2**{t.param}-1"
    return f"-2**{t.param - 1} to 2**{t.param - 1}-1"


def _bad(text: str, t: ValueType, why: str) -> UsageError:
    return UsageError(f"{_quote(text)} is not a valid {t}: {why}; expected {_expects(t)}")


def _quote(text: str) -> str:
    """The argument as typed, short enough for a message and printable whatever it holds."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    printable = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return f'"{printable}"'


def _utf8(text: str, t: ValueType) -> bytes:
    """The argument's bytes; undecodable bytes in argv (surrogate escapes) are not text."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(text, t, "it is not valid UTF-8 text") from None


def _hex(text: str, t: ValueType) -> bytes:
    m = _HEX.fullmatch(text)
    if m is None:
        raise _bad(text, t, "malformed hex (two hex digits a byte, after 0x)")
    return bytes.fromhex(m.group("digits"))


# Unit names an amount may carry: the native value's base unit and its
# multiples, as the demo prints them (1 ether = 10**18 base units).
UNITS: dict[str, int] = {"wei": 0, "gwei": 9, "ether": 18, "eth": 18}
_AMOUNT = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9](?:_?[0-9])*)(?:\.(?P<frac>[0-9](?:_?[0-9])*))?"
    r"(?:[eE](?P<exp>[0-9]{1,3}))?\s*(?P<unit>[A-Za-z]+)?"
)


def parse_amount(text: str) -> int | None:
    """An exact whole number: decimal or 0x hex with optional ``_``; an
    exponent (``5e18``, ``2.5e18``); a unit (``2.5 ether``, ``3 gwei``,
    ``1e3 wei``). None when the text is none of these or the value is not
    whole (``1.5 wei``): amounts are never rounded."""
    stripped = text.strip()
    m = _INTEGER.fullmatch(stripped)
    if m is not None and len((m.group("hex") or m.group("dec")).lstrip("0_")) <= _MAX_DIGITS:
        value = int(m.group("hex") or m.group("dec"), 16 if m.group("hex") else 10)
        return -value if stripped.startswith("-") else value
    m = _AMOUNT.fullmatch(stripped)
    if m is None:
        return None
    unit = (m.group("unit") or "").lower()
    if unit and unit not in UNITS:
        return None
    frac = (m.group("frac") or "").replace("_", "")
    digits = m.group("int").replace("_", "") + frac
    shift = int(m.group("exp") or 0) + UNITS.get(unit, 0) - len(frac)
    if len(digits.lstrip("0")) + max(shift, 0) > _MAX_DIGITS:
        return None
    value = int(digits)
    if shift >= 0:
        value *= 10**shift
    elif value % 10**-shift:
        return None  # not a whole number of base units
    else:
        value //= 10**-shift
    return -value if m.group("sign") == "-" else value


def parse_int(text: str, t: ValueType, keys: KeyLookup) -> int:
    m = _INTEGER.fullmatch(text.strip())
    if m is None:
        value = parse_amount(text)
        if value is None:
            raise _bad(text, t, "not an integer (decimal, 0x hex, 5e18 or 2.5 ether)")
        lo, hi = type_range(t)
        if value < 0 and lo == 0:
            raise _bad(text, t, "negative, and the type is unsigned")
        if not lo <= value <= hi:
            raise _bad(text, t, "out of range")
        return value
    digits = m.group("hex") or m.group("dec")
    lo, hi = type_range(t)
    if len(digits.lstrip("0_")) > _MAX_DIGITS:
        raise _bad(text, t, "out of range")
    value = int(digits, 16 if m.group("hex") else 10)
    if text.strip().startswith("-"):
        value = -value
    if value < 0 and lo == 0:
        raise _bad(text, t, "negative, and the type is unsigned")
    if not lo <= value <= hi:
        raise _bad(text, t, "out of range")
    return value


def parse_bool(text: str, t: ValueType, keys: KeyLookup) -> bool:
    value = _BOOLS.get(text.strip().lower())
    if value is None:
        raise _bad(text, t, "not a boolean")
    return value


def parse_address(text: str, t: ValueType, keys: KeyLookup) -> bytes:
    if text.startswith("@"):
        return keys(text[1:])
    data = _hex(text, t)
    if len(data) != ADDRESS_SIZE:
        raise _bad(text, t, f"{len(data)} bytes, an address has {ADDRESS_SIZE}")
    return data


def _text_or_hex(text: str, t: ValueType) -> bytes:
    return _hex(text, t) if text[:2] in ("0x", "0X") else _utf8(text, t)


def parse_fixed_bytes(text: str, t: ValueType, keys: KeyLookup) -> bytes:
    data = _text_or_hex(text, t)
    is_hex = text[:2] in ("0x", "0X")
    if len(data) > t.param or (is_hex and len(data) < t.param):
        raise _bad(text, t, f"{len(data)} bytes, it has exactly {t.param}")
    return data.ljust(t.param, b"\0")


def parse_bytes(text: str, t: ValueType, keys: KeyLookup) -> bytes:
    data = _text_or_hex(text, t)
    if len(data) > t.param:
        raise _bad(text, t, f"{len(data)} bytes, it holds at most {t.param}")
    return data


def parse_string(text: str, t: ValueType, keys: KeyLookup) -> str:
    data = _utf8(text, t)
    if len(data) > t.param:
        raise _bad(text, t, f"{len(data)} bytes in UTF-8, it holds at most {t.param}")
    return text


PARSERS: dict[int, Callable[[str, ValueType, KeyLookup], object]] = {
    TAG_UINT: parse_int,
    TAG_INT: parse_int,
    TAG_BOOL: parse_bool,
    TAG_ADDRESS: parse_address,
    TAG_FIXED_BYTES: parse_fixed_bytes,
    TAG_BYTES: parse_bytes,
    TAG_STRING: parse_string,
}


def parse_arg(text: str, t: ValueType, keys: KeyLookup) -> object:
    """A command-line argument as a host value of type ``t`` (what ``encode_values`` takes)."""
    return PARSERS[t.tag](text, t, keys)


def parse_args(
    what: str, texts: tuple[str, ...] | list[str], types, keys: KeyLookup
) -> list[object]:
    """All arguments of ``what`` (a function), after checking how many there are."""
    types = list(types)
    if len(texts) != len(types):
        signature = ", ".join(map(str, types)) or "no arguments"
        raise UsageError(f"{what} takes {len(types)} argument(s) ({signature}), got {len(texts)}")
    return [parse_arg(text, t, keys) for text, t in zip(texts, types, strict=True)]


# --------------------------------------------------------------------------- printing


def _hex_text(v: object) -> str:
    return "0x" + bytes(v).hex()  # type: ignore[arg-type]


def _string_value(v: object) -> str:
    return v if isinstance(v, str) else bytes(v).decode("utf-8", "replace")  # type: ignore[arg-type]


# One JSON value per tag: integers as numbers, bytes as 0x hex, strings as text.
JSON_VALUES: dict[int, Callable[[object], object]] = {
    TAG_UINT: int,
    TAG_INT: int,
    TAG_BOOL: bool,
    TAG_ADDRESS: _hex_text,
    TAG_FIXED_BYTES: _hex_text,
    TAG_BYTES: _hex_text,
    TAG_STRING: _string_value,
}


def json_value(t: ValueType, v: object) -> object:
    """A returned value for ``--json`` output."""
    return JSON_VALUES[t.tag](v)


def text_value(t: ValueType, v: object) -> str:
    """A returned value as text, in the syntax the command line takes back as an argument."""
    shown = json_value(t, v)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return str(shown)


def loose_value(v: object) -> str:
    """A value without its type (event fields, error fields): by its Python kind."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes | bytearray):
        return _hex_text(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def loose_json(v: object) -> object:
    return _hex_text(v) if isinstance(v, bytes | bytearray) else v
