"""Canonical byte encodings: the primitives of the module format, and the
value encoding of call data, return data, event data and error data.

Every decoder here accepts exactly one encoding of each value (minimal
varints, no trailing bytes, booleans 0 or 1, integers in range, UTF-8
strings), so ``encode(decode(b)) == b`` for every ``b`` it accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache

from .errors import DecodeError
from .types import (
    ADDRESS_SIZE,
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
    type_name,
    type_range,
)

_SMALL = tuple(bytes([i]) for i in range(0x80))


def uvarint_bytes(n: int) -> bytes:
    """Minimal LEB128 encoding of a non-negative integer."""
    if 0 <= n < 0x80:
        return _SMALL[n]
    if n < 0:
        raise ValueError("uvarint of a negative number")
    return _uvarint_large(n)


@lru_cache(maxsize=4096)
def _uvarint_large(n: int) -> bytes:
    """A uvarint of two bytes or more: the same few gas limits, gas used and
    lengths come back in every transaction and receipt, so they are kept."""
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def blob_bytes(data: bytes) -> bytes:
    """``data`` after its length (a uvarint): :meth:`Writer.blob` as bytes."""
    n = len(data)
    return (_SMALL[n] if n < 0x80 else uvarint_bytes(n)) + data


class Writer:
    """Appends primitives to a byte buffer."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def uvarint(self, n: int) -> None:
        self.parts.append(_SMALL[n] if 0 <= n < 0x80 else uvarint_bytes(n))

    def raw(self, data: bytes) -> None:
        self.parts.append(bytes(data))

    def blob(self, data: bytes) -> None:
        self.uvarint(len(data))
        self.parts.append(bytes(data))

    def text(self, s: str) -> None:
        self.blob(s.encode("utf-8"))

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


class Reader:
    """Reads primitives, rejecting anything non-canonical or truncated."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(f"truncated: needed {n} bytes at offset {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def uvarint(self, limit: int = 1 << 32) -> int:
        result = 0
        shift = 0
        start = self.pos
        max_shift = limit.bit_length() + 7
        while True:
            if shift > max_shift:
                raise DecodeError(f"varint too long at offset {start}")
            byte = self.u8()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if self.pos - start > 1 and byte == 0:
            raise DecodeError(f"non-minimal varint at offset {start}")
        if result > limit:
            raise DecodeError(f"value {result} over the limit {limit} at offset {start}")
        return result

    def blob(self, limit: int) -> bytes:
        return self.raw(self.uvarint(limit))

    def text(self, limit: int) -> str:
        data = self.blob(limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 text before offset {self.pos}") from exc

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError(f"{len(self.data) - self.pos} trailing bytes at offset {self.pos}")


# ---------------------------------------------------------------------------
# Value encoding: integers as 32 bytes big-endian (two's complement for signed
# types), bool as one
# byte, address and fixed bytes as themselves, bounded bytes and strings as a
# 4-byte big-endian length and the data.


def encode_value(t: ValueType, value: object) -> bytes:
    """Encode one value of type ``t``; raises ValueError if it does not fit."""
    return _encoder(t)(value)


@cache
def _encoder(t: ValueType):
    """One specialised encoder per type: call boundaries encode a lot."""
    if t.tag in (TAG_UINT, TAG_INT, TAG_BOOL):
        lo, hi = type_range(t)
        name = type_name(t)
        width = 1 if t.tag == TAG_BOOL else 32
        signed = t.tag == TAG_INT

        def encode_int(value: object) -> bytes:
            if value.__class__ is not int:
                if not isinstance(value, int):
                    raise ValueError(f"{name} needs an integer, got {type(value).__name__}")
                value = int(value)
            if not lo <= value <= hi:
                raise ValueError(f"{value} does not fit {name}")
            return value.to_bytes(width, "big", signed=signed)

        return encode_int

    def encode_bytes(value: object) -> bytes:
        if t.tag == TAG_STRING and isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes | bytearray):
            raise ValueError(f"{type_name(t)} needs bytes, got {type(value).__name__}")
        value = bytes(value)
        if t.tag == TAG_ADDRESS:
            if len(value) != ADDRESS_SIZE:
                raise ValueError(f"an address has {ADDRESS_SIZE} bytes, got {len(value)}")
            return value
        if t.tag == TAG_FIXED_BYTES:
            if len(value) != t.param:
                raise ValueError(f"{type_name(t)} needs {t.param} bytes, got {len(value)}")
            return value
        if len(value) > t.param:
            raise ValueError(f"{type_name(t)} holds at most {t.param} bytes, got {len(value)}")
        if t.tag == TAG_STRING:
            _check_utf8(value)
        return len(value).to_bytes(4, "big") + value

    return encode_bytes


def _fast_encoder(t: ValueType) -> Callable[[object], bytes]:
    """:func:`_encoder` with the common case written out first: an int in
    range, or an address of 20 bytes, encoded without the general checks;
    anything else goes to the general encoder (same bytes, same errors)."""
    general = _encoder(t)
    if t.tag == TAG_UINT or t.tag == TAG_INT:
        lo, hi = type_range(t)
        signed = t.tag == TAG_INT

        def encode_int(value: object) -> bytes:
            if value.__class__ is int and lo <= value <= hi:  # type: ignore[operator]
                return value.to_bytes(32, "big", signed=signed)  # type: ignore[attr-defined]
            return general(value)

        return encode_int
    if t.tag == TAG_ADDRESS:

        def encode_address(value: object) -> bytes:
            if value.__class__ is bytes and len(value) == ADDRESS_SIZE:  # type: ignore[arg-type]
                return value  # type: ignore[return-value]
            return general(value)

        return encode_address
    return general


def values_encoder(types: Sequence[ValueType]) -> Callable[[Sequence[object]], bytes]:
    """``encode_values(types, ...)`` specialised once for these types (a
    module's events and return types, when it is loaded): no per-call type
    dispatch. Same bytes and same errors as :func:`encode_values`."""
    count = len(types)
    encoders = tuple(_fast_encoder(t) for t in types)

    def check_count(values: Sequence[object]) -> None:
        if len(values) != count:
            raise ValueError(f"expected {count} values, got {len(values)}")

    if count == 1:
        (only,) = encoders

        def encode_one(values: Sequence[object]) -> bytes:
            if len(values) != 1:
                check_count(values)
            return only(values[0])

        return encode_one

    def encode(values: Sequence[object]) -> bytes:
        if len(values) != count:
            check_count(values)
        return b"".join([e(v) for e, v in zip(encoders, values)])  # noqa: B905 - counted

    return encode


def _fixed_size(t: ValueType) -> int | None:
    """Encoded size of a fixed-size type (None: strings and bounded bytes vary)."""
    if t.tag in (TAG_UINT, TAG_INT):
        return 32
    if t.tag == TAG_BOOL:
        return 1
    if t.tag == TAG_ADDRESS:
        return ADDRESS_SIZE
    if t.tag == TAG_FIXED_BYTES:
        return t.param
    return None


def values_decoder(types: Sequence[ValueType]) -> Callable[[bytes], tuple]:
    """``decode_values(types, ...)`` specialised once for these types (an
    export's parameters). When every type has a fixed size, data of exactly
    the right length is sliced directly; anything unusual (another length, a
    value out of range) goes to :func:`decode_values`, which decides and
    raises the same DecodeError as always."""
    types = tuple(types)
    sizes = [_fixed_size(t) for t in types]
    if any(n is None for n in sizes):
        return lambda data: decode_values(types, data)
    total = sum(sizes)  # type: ignore[arg-type]
    fields = []  # (start, end, kind, signed, lo, hi): kind 0 int, 1 bool, 2 bytes
    pos = 0
    for t, n in zip(types, sizes, strict=True):
        assert n is not None
        if t.tag in (TAG_UINT, TAG_INT):
            lo, hi = type_range(t)
            fields.append((pos, pos + n, 0, t.tag == TAG_INT, lo, hi))
        elif t.tag == TAG_BOOL:
            fields.append((pos, pos + n, 1, False, 0, 1))
        else:
            fields.append((pos, pos + n, 2, False, 0, 0))
        pos += n
    layout = tuple(fields)

    def decode(data: bytes) -> tuple:
        if len(data) != total or data.__class__ is not bytes:
            return decode_values(types, data)
        out = []
        for start, end, kind, signed, lo, hi in layout:
            if kind == 2:
                out.append(data[start:end])
                continue
            value = int.from_bytes(data[start:end], "big", signed=signed)
            if not lo <= value <= hi:
                return decode_values(types, data)  # raises the DecodeError
            out.append(value)
        return tuple(out)

    return decode


def decode_value(t: ValueType, reader: Reader) -> int | bytes:
    """Decode one value of type ``t`` (strings stay bytes: the VM's kind)."""
    if t.tag in (TAG_UINT, TAG_INT):
        value = int.from_bytes(reader.raw(32), "big", signed=t.tag == TAG_INT)
        lo, hi = type_range(t)
        if not lo <= value <= hi:
            raise DecodeError(f"{value} does not fit {type_name(t)}")
        return value
    if t.tag == TAG_BOOL:
        b = reader.u8()
        if b > 1:
            raise DecodeError(f"bool must be 0 or 1, got {b}")
        return b
    if t.tag == TAG_ADDRESS:
        return reader.raw(ADDRESS_SIZE)
    if t.tag == TAG_FIXED_BYTES:
        return reader.raw(t.param)
    n = int.from_bytes(reader.raw(4), "big")
    if n > t.param:
        raise DecodeError(f"{type_name(t)} holds at most {t.param} bytes, got {n}")
    data = reader.raw(n)
    if t.tag == TAG_STRING:
        try:
            _check_utf8(data)
        except ValueError as exc:
            raise DecodeError(str(exc)) from exc
    return data


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("string is not valid UTF-8") from exc


def encode_values(types: Sequence[ValueType], values: Sequence[object]) -> bytes:
    if len(types) != len(values):
        raise ValueError(f"expected {len(types)} values, got {len(values)}")
    if len(types) == 1:  # the common case: one value (a return, a one-field event)
        return _encoder(types[0])(values[0])
    return b"".join([_encoder(t)(v) for t, v in zip(types, values, strict=True)])


def decode_values(types: Sequence[ValueType], data: bytes) -> tuple:
    reader = Reader(data)
    values = tuple([decode_value(t, reader) for t in types])
    reader.expect_end()
    return values


def to_python_values(types: Sequence[ValueType], values: Sequence[object]) -> tuple:
    """VM values as a host would like them (see :func:`to_python`); integers,
    addresses and bytes stay as they are, so most tuples need no work."""
    for t in types:
        if t.tag == TAG_BOOL or t.tag == TAG_STRING:
            return tuple([to_python(t, v) for t, v in zip(types, values, strict=True)])
    return tuple(values)


def python_converter(types: Sequence[ValueType]) -> Callable[[Sequence[object]], tuple]:
    """``to_python_values(types, ...)`` specialised once for these types: a
    plain ``tuple`` when no value needs converting (no bool, no string)."""
    types = tuple(types)
    if any(t.tag == TAG_BOOL or t.tag == TAG_STRING for t in types):
        return lambda values: to_python_values(types, values)
    return tuple


def to_python(t: ValueType, value: int | bytes) -> object:
    """A VM value as a host would like it: bools as bool, strings as str."""
    if t.tag == TAG_BOOL:
        return bool(value)
    if t.tag == TAG_STRING:
        return bytes(value).decode("utf-8")
    return value


# ---------------------------------------------------------------------------
# Storage cell encoding (also hashed into the state root).


def encode_cell(value: int | bytes) -> bytes:
    if isinstance(value, int):
        length = (value.bit_length() + 8) // 8  # room for the sign bit
        return b"\x00" + value.to_bytes(length, "big", signed=True)
    return b"\x01" + value


def decode_cell(data: bytes) -> int | bytes:
    if not data or data[0] > 1:
        raise DecodeError("bad storage cell")
    if data[0] == 0:
        return int.from_bytes(data[1:], "big", signed=True)
    return data[1:]
