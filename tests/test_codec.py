"""Canonical encodings: values, storage cells, modules and transactions round-trip,
and decoders accept only canonical bytes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import modules, value_types, values_of

from deed.vm.chain import Transaction
from deed.vm.codec import (
    Reader,
    Writer,
    decode_cell,
    decode_values,
    encode_cell,
    encode_values,
    python_converter,
    to_python_values,
    values_decoder,
    values_encoder,
)
from deed.vm.errors import DecodeError
from deed.vm.module import Module, decode_module, encode_module
from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
    parse_type,
    type_name,
    type_range,
)

# --------------------------------------------------------------------------- values


@given(st.data())
def test_values_round_trip(data):
    types = data.draw(st.lists(value_types(), max_size=6))
    values = [data.draw(values_of(t)) for t in types]
    encoded = encode_values(types, values)
    decoded = decode_values(types, encoded)
    assert encode_values(types, decoded) == encoded
    for t, v, d in zip(types, values, decoded, strict=True):
        expected = v.encode() if isinstance(v, str) else (int(v) if isinstance(v, bool) else v)
        assert d == expected, type_name(t)


@given(value_types(), st.binary(max_size=80))
def test_value_decoder_accepts_only_canonical_bytes(t, raw):
    try:
        (value,) = decode_values([t], raw)
    except DecodeError:
        return
    assert encode_values([t], [value]) == raw


def _outcome(f, *args):
    """What a call returns, or the type and message of what it raises."""
    try:
        return ("ok", f(*args))
    except (ValueError, DecodeError) as exc:
        return (type(exc).__name__, str(exc))


_ANY_VALUE = st.one_of(
    st.integers(min_value=-(2**257), max_value=2**257),
    st.booleans(),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.none(),
)


@given(st.data())
def test_specialised_codecs_match_the_general_ones(data):
    """The per-module codecs (values_encoder, values_decoder, python_converter)
    give the same bytes, values and errors as the general functions, for
    values of the types and for anything else."""
    types = data.draw(st.lists(value_types(), max_size=4))
    good = [data.draw(values_of(t)) for t in types]
    anything = data.draw(st.lists(_ANY_VALUE, min_size=len(types), max_size=len(types) + 1))
    encode, decode = values_encoder(types), values_decoder(types)
    for values in (good, anything, good[:-1]):
        assert _outcome(encode, values) == _outcome(encode_values, types, values)
    encoded = encode_values(types, good)
    raw = data.draw(st.binary(max_size=len(encoded) + 2))
    flipped = bytes(b ^ 0xFF for b in encoded)
    for blob in (encoded, raw, flipped, encoded[:-1], encoded + b"\x00"):
        assert _outcome(decode, blob) == _outcome(decode_values, types, blob)
    decoded = decode_values(types, encoded)
    assert python_converter(types)(decoded) == to_python_values(types, decoded)


@pytest.mark.parametrize(
    "t, bad",
    [
        (ValueType(TAG_UINT, 8), 256),
        (ValueType(TAG_UINT, 256), -1),
        (ValueType(TAG_INT, 8), 128),
        (ValueType(TAG_INT, 8), -129),
        (ValueType(TAG_BOOL), 2),
        (ValueType(TAG_ADDRESS), b"\x01" * 19),
        (ValueType(TAG_FIXED_BYTES, 4), b"abc"),
        (ValueType(TAG_BYTES, 3), b"abcd"),
        (ValueType(TAG_STRING, 10), b"\xff"),
        (ValueType(TAG_UINT, 64), b"x"),
    ],
)
def test_encoding_rejects_values_that_do_not_fit(t, bad):
    with pytest.raises(ValueError):
        encode_values([t], [bad])


def test_integer_widths_have_exact_ranges():
    assert type_range(parse_type("u8")) == (0, 255)
    assert type_range(parse_type("i8")) == (-128, 127)
    assert type_range(parse_type("uint")) == (0, 2**256 - 1)
    assert type_range(parse_type("i256")) == (-(2**255), 2**255 - 1)
    for bad in ("u7", "u264", "i0", "bytes33", "bytes0", "string[0]", "float"):
        with pytest.raises(ValueError):
            parse_type(bad)


@given(st.one_of(st.integers(min_value=-(2**256), max_value=2**256), st.binary(max_size=64)))
def test_storage_cells_round_trip(value):
    assert decode_cell(encode_cell(value)) == value


@given(st.integers(min_value=0, max_value=2**64))
def test_varints_are_minimal_and_round_trip(n):
    w = Writer()
    w.uvarint(n)
    data = w.getvalue()
    assert Reader(data).uvarint(2**64) == n
    with pytest.raises(DecodeError):
        Reader(data[:-1] + bytes([data[-1] | 0x80]) + b"\x00").uvarint(2**64)


# --------------------------------------------------------------------------- modules


@given(modules())
def test_module_encoding_round_trips(module):
    data = encode_module(module)
    decoded = decode_module(data)
    assert decoded == module
    assert encode_module(decoded) == data
    assert decoded.module_id == module.module_id


@given(st.binary(max_size=200))
def test_module_decoder_accepts_only_canonical_bytes(raw):
    data = b"DEED\x00\x01" + raw
    try:
        module = decode_module(data)
    except DecodeError:
        return
    assert encode_module(module) == data


@given(modules(), st.data())
def test_truncated_or_extended_modules_are_rejected(module, data):
    encoded = encode_module(module)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(DecodeError):
        decode_module(encoded[:cut])
    with pytest.raises(DecodeError):
        decode_module(encoded + b"\x00")


def test_module_header_is_checked():
    good = encode_module(Module())
    with pytest.raises(DecodeError, match="magic"):
        decode_module(b"EVM!" + good[4:])
    with pytest.raises(DecodeError, match="version"):
        decode_module(good[:4] + b"\x00\x09" + good[6:])
    with pytest.raises(DecodeError, match="over the limit"):
        decode_module(good + bytes(300_000))


# --------------------------------------------------------------------------- transactions


@given(
    st.integers(0, 2**32),
    st.integers(0, 2**63),
    st.binary(min_size=32, max_size=32),
    st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    st.integers(0, 2**256),
    st.integers(0, 2**63),
    st.integers(0, 2**256),
    st.binary(max_size=100),
    st.binary(max_size=64),
)
def test_transactions_round_trip(chain_id, nonce, sender, to, value, gas, price, data, sig):
    tx = Transaction(chain_id, nonce, sender, to, value, gas, price, data, sig)
    assert Transaction.decode(tx.encode()) == tx
    assert Transaction.decode(tx.encode()).hash == tx.hash
