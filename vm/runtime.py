"""Pure helpers called by translated code: the instruction semantics that are
too long to inline. Each takes the gas left (for the revert it may raise)."""

from __future__ import annotations

from .costs import words  # noqa: F401 - re-exported: older callers import it here
from .errors import revert
from .opcodes import LIMITS
from .types import int_range, int_type_from_code


def tdiv(a: int, b: int) -> int:
    """Integer division rounded toward zero (b != 0)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def tmod(a: int, b: int) -> int:
    """Remainder of :func:`tdiv`: it has the sign of a."""
    return a - b * tdiv(a, b)


def power(g: int, a: int, b: int) -> int:
    """a ** b without computing large numbers: every integer type holds at most
    256 bits, so when (bits(|a|) - 1) * b > 256 the result cannot fit any type
    and the instruction reverts before computing it."""
    if b < 0:
        raise revert(g, "negative exponent")
    if a in (0, 1) or b == 0:
        return 1 if b == 0 else a
    if a == -1:
        return -1 if b & 1 else 1
    if (abs(a).bit_length() - 1) * b > 256:
        raise revert(g, "arithmetic overflow")  # |a| ** b >= 2 ** 257: no type holds it
    return a**b  # under 2 ** 512: cheap


def shl(g: int, a: int, b: int) -> int:
    if b < 0:
        raise revert(g, "negative shift")
    if a == 0:
        return 0
    if b > 256:
        raise revert(g, "arithmetic overflow")
    return a << b


def shr(g: int, a: int, b: int) -> int:
    if b < 0:
        raise revert(g, "negative shift")
    return a >> min(b, 512)


def byte_at(g: int, data: bytes, index: int) -> int:
    if not 0 <= index < len(data):
        raise revert(g, "byte index out of range")
    return data[index]


def bytes_to_int(g: int, data: bytes, type_code: int) -> int:
    if len(data) > 32:
        raise revert(g, "more than 32 bytes to convert to an integer")
    signed, lo, hi = _B2I[type_code]
    value = int.from_bytes(data, "big", signed=signed)
    if not lo <= value <= hi:
        raise revert(g, "value does not fit its type")
    return value


_B2I = tuple((int_type_from_code(c)[0], *int_range(c)) for c in range(64))


def reason_text(data: bytes) -> str:
    return bytes(data[:1024]).decode("utf-8", "replace")


def namespace() -> dict:
    """Globals of translated code."""
    return {
        "tdiv": tdiv,
        "tmod": tmod,
        "power": power,
        "shl": shl,
        "shr": shr,
        "byte_at": byte_at,
        "bytes_to_int": bytes_to_int,
        "reason_text": reason_text,
        "MAX_FRAMES": LIMITS.max_frames,
        "__builtins__": {"len": len, "min": min, "int": int},
    }
