"""Value types of the VM: the type codes used in signatures and their stack kinds.

At run time every value is either an integer (``INT`` kind: all integer
widths, ``bool``) or a byte string (``BYTES`` kind: ``address``, fixed bytes,
bounded bytes and strings). The verifier tracks kinds; the width of an integer
is carried by the instruction that operates on it (``ADD u64``), and every
result is range-checked, so a value can never grow beyond 257 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

INT = "I"
BYTES = "B"
KINDS = (INT, BYTES)

# Type tags in the binary format.
TAG_UINT = 1
TAG_INT = 2
TAG_BOOL = 3
TAG_ADDRESS = 4
TAG_FIXED_BYTES = 5
TAG_BYTES = 6
TAG_STRING = 7

ADDRESS_SIZE = 20
MAX_DYNAMIC_LEN = 65_536


@dataclass(frozen=True, slots=True)
class ValueType:
    """A signature type: ``u64``, ``i128``, ``bool``, ``address``, ``bytes32``,
    ``bytes[100]`` or ``string[64]``. ``param`` is the bit width, the fixed
    byte length, or the maximum length."""

    tag: int
    param: int = 0

    @property
    def kind(self) -> str:
        return INT if self.tag in (TAG_UINT, TAG_INT, TAG_BOOL) else BYTES

    def __str__(self) -> str:
        return type_name(self)


def type_name(t: ValueType) -> str:
    if t.tag == TAG_UINT:
        return f"u{t.param}"
    if t.tag == TAG_INT:
        return f"i{t.param}"
    if t.tag == TAG_BOOL:
        return "bool"
    if t.tag == TAG_ADDRESS:
        return "address"
    if t.tag == TAG_FIXED_BYTES:
        return f"bytes{t.param}"
    if t.tag == TAG_BYTES:
        return f"bytes[{t.param}]"
    if t.tag == TAG_STRING:
        return f"string[{t.param}]"
    raise ValueError(f"unknown type tag {t.tag}")


def is_valid_type(t: ValueType) -> bool:
    """True when the tag is known and its parameter is in range."""
    if t.tag in (TAG_UINT, TAG_INT):
        return 8 <= t.param <= 256 and t.param % 8 == 0
    if t.tag in (TAG_BOOL, TAG_ADDRESS):
        return t.param == 0
    if t.tag == TAG_FIXED_BYTES:
        return 1 <= t.param <= 32
    if t.tag in (TAG_BYTES, TAG_STRING):
        return 1 <= t.param <= MAX_DYNAMIC_LEN
    return False


def parse_type(text: str) -> ValueType:
    """Parse a type name as printed by :func:`type_name` (used by the assembler and CLI)."""
    text = text.strip()
    try:
        if text == "bool":
            return ValueType(TAG_BOOL)
        if text == "address":
            return ValueType(TAG_ADDRESS)
        if text == "uint":
            return ValueType(TAG_UINT, 256)
        if text.startswith("string[") and text.endswith("]"):
            return _checked(ValueType(TAG_STRING, int(text[7:-1])), text)
        if text.startswith("bytes[") and text.endswith("]"):
            return _checked(ValueType(TAG_BYTES, int(text[6:-1])), text)
        if text.startswith("bytes"):
            return _checked(ValueType(TAG_FIXED_BYTES, int(text[5:])), text)
        if text.startswith("u"):
            return _checked(ValueType(TAG_UINT, int(text[1:])), text)
        if text.startswith("i"):
            return _checked(ValueType(TAG_INT, int(text[1:])), text)
    except ValueError:
        pass
    raise ValueError(f"unknown type {text!r}")


def _checked(t: ValueType, text: str) -> ValueType:
    if not is_valid_type(t):
        raise ValueError(f"unknown type {text!r}")
    return t


U256 = ValueType(TAG_UINT, 256)
U64 = ValueType(TAG_UINT, 64)
BOOL = ValueType(TAG_BOOL)
ADDRESS = ValueType(TAG_ADDRESS)
BYTES32 = ValueType(TAG_FIXED_BYTES, 32)


# ---------------------------------------------------------------------------
# Integer types as instruction immediates: one byte, 0..31 unsigned widths
# 8..256, 32..63 signed widths 8..256.


def int_type_code(signed: bool, bits: int) -> int:
    return (32 if signed else 0) + bits // 8 - 1


def int_type_from_code(code: int) -> tuple[bool, int]:
    """Return (signed, bits) for a valid code; raise ValueError otherwise."""
    if not 0 <= code < 64:
        raise ValueError(f"bad integer type code {code}")
    return code >= 32, (code % 32 + 1) * 8


def int_type_text(code: int) -> str:
    signed, bits = int_type_from_code(code)
    return f"{'i' if signed else 'u'}{bits}"


def int_type_code_from_text(text: str) -> int:
    if text == "uint":
        return int_type_code(False, 256)
    t = parse_type(text)
    if t.tag not in (TAG_UINT, TAG_INT):
        raise ValueError(f"{text!r} is not an integer type")
    return int_type_code(t.tag == TAG_INT, t.param)


def _range_of(code: int) -> tuple[int, int]:
    signed, bits = int_type_from_code(code)
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


_RANGES = tuple(_range_of(code) for code in range(64))


def int_range(code: int) -> tuple[int, int]:
    """Inclusive (min, max) of the integer type with this immediate code."""
    if not 0 <= code < 64:
        raise ValueError(f"bad integer type code {code}")
    return _RANGES[code]


def type_range(t: ValueType) -> tuple[int, int]:
    if t.tag == TAG_BOOL:
        return 0, 1
    return _RANGES[int_type_code(t.tag == TAG_INT, t.param)]
