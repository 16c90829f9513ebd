"""Bytes and strings (concat, slice), conversions to bytes, canonical packing
(encode, against deed.vm.packing), accounts and signed messages (address_of,
signed_by), the balance of any address and signed loop indexes: each
deployed and called, with real values; their gas within the analyzer's bounds."""

import hashlib

import pytest
from Crypto.Hash import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import values_of
from support import Harness

from deed.analyzer.context import Context
from deed.analyzer.gas import GasAnalysis
from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source
from deed.vm import packing
from deed.vm.chain import intrinsic_gas
from deed.vm.codec import decode_values
from deed.vm.crypto import KeyPair, address_of
from deed.vm.types import (
    ADDRESS,
    BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
    parse_type,
)

SOURCE = """
contract Bytes:
    enum Colour:
        Red
        Green
        Blue

    nonces: map[address, uint]
    paid: map[address, uint]

    pub join(a: bytes[10], b: bytes[5]) -> bytes[15]:
        return concat(a, b)

    pub join_fixed(a: bytes4, b: bytes[8], c: bytes32) -> bytes[44]:
        return concat(a, b, c)

    pub greet(name: string[10]) -> string[22]:
        return concat("hello, ", name, "!")

    pub cut(data: bytes[10], start: uint, length: uint) -> bytes[10]:
        return slice(data, start, length)

    pub head(data: bytes[10]) -> bytes[3]:
        return slice(data, 0, 3)

    pub word(data: bytes32, start: uint) -> bytes[4]:
        return slice(data, start, 4)

    pub to_bytes(f: bool, x: u64, n: i16, a: address) -> bytes[64]:
        return concat(bytes1(f), bytes8(x), bytes2(n), bytes20(a))

    pub narrow(x: uint) -> bytes2:
        return bytes2(x)

    pub from_bool(f: bool) -> uint:
        return uint(f) * 100 + u8(f) + uint(True) + u8(False)

    pub back(a: address) -> bool:
        return address(bytes20(a)) == a

    pub pack(
        a: u8, b: u64, c: uint, d: i8, e: i256, f: bool, g: address, h: bytes1, i: bytes20,
        j: bytes32, k: bytes[40], l: string[40], m: Colour
    ) -> bytes[371]:
        return encode(a, b, c, d, e, f, g, h, i, j, k, l, m)

    pub hash_pack(
        a: u8, b: u64, c: uint, d: i8, e: i256, f: bool, g: address, h: bytes1, i: bytes20,
        j: bytes32, k: bytes[40], l: string[40], m: Colour
    ) -> bytes32:
        return keccak256(encode(a, b, c, d, e, f, g, h, i, j, k, l, m))

    pub pair(a: string[4], b: string[4]) -> bytes32:
        return keccak256(encode(a, b))

    pub commitment(value: uint, flag: bool, secret: bytes32) -> bytes32:
        return keccak256(encode(value, flag, secret))

    pub account(key: bytes32) -> address:
        return address_of(key)

    pub check(account: address, key: bytes32, nonce: uint, payload: bytes[64], sig: bytes[64]) -> bool:
        return signed_by(account, key, nonce, payload, sig)

    pub check_hash(account: address, key: bytes32, nonce: uint, payload: bytes32, sig: bytes[64]) -> bool:
        return signed_by(account, key, nonce, payload, sig)

    pub redeem(to: address, amount: uint, key: bytes32, sig: bytes[64]):
        # a voucher: the account of `key` pays `amount` to `to`, once per nonce
        owner: address = address_of(key)
        nonce: uint = self.nonces[owner]
        require(signed_by(owner, key, nonce, encode(to, amount), sig), "bad voucher")
        self.nonces[owner] = nonce + 1
        self.paid[to] += amount

    @view
    pub paid_to(to: address) -> uint:
        return self.paid[to]

    pub balance_of(a: address) -> uint:
        return a.balance

    pub own_balance() -> bool:
        return self.address.balance == self.balance

    pub text(n: uint) -> string[78]:
        return str(n)

    pub signed_text(n: i256) -> string[78]:
        return str(n)

    pub small_text(n: i8, m: u16) -> string[10]:
        return concat(str(n), "/", str(m))

    pub limited(n: uint):
        require(n <= 100, concat("at most 100, got ", str(n)))

    pub chain_id() -> u64:
        return chain.id

    pub signed_sum() -> i256:
        total: i256 = 0
        for i in range(-5, 3):
            total += i * 10
        return total

    pub product(n: i64) -> i64:
        p: i64 = 1
        for i in range(-3, n, max=10):
            if i != 0:
                p *= i
        return p
"""


@pytest.fixture(scope="module")
def bytes_contract():
    h = Harness()
    out = compile_source(SOURCE, "bytes.deed")
    addr = h.deployed(out.module)
    return h, addr, out


def call(fx, name, *args):
    h, addr, _ = fx
    r = h.call(addr, name, list(args))
    assert r.success, r.revert_reason
    return r.return_values[0] if len(r.return_values) == 1 else r.return_values


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


# --------------------------------------------------------------------------- concat and slice


def test_concat_bytes_and_strings(bytes_contract):
    assert call(bytes_contract, "join", b"abc", b"de") == b"abcde"
    assert call(bytes_contract, "join", b"", b"") == b""
    assert call(bytes_contract, "join", b"x" * 10, b"y" * 5) == b"x" * 10 + b"y" * 5
    assert call(bytes_contract, "join_fixed", b"1234", b"ab", b"z" * 32) == b"1234ab" + b"z" * 32
    assert call(bytes_contract, "greet", "wörld") == "hello, wörld!"


def test_slice_and_its_range(bytes_contract):
    h, addr, _ = bytes_contract
    assert call(bytes_contract, "cut", b"abcdef", 2, 3) == b"cde"
    assert call(bytes_contract, "cut", b"abcdef", 6, 0) == b""
    assert call(bytes_contract, "cut", b"abcdef", 0, 6) == b"abcdef"
    for start, length in ((5, 2), (7, 0), (2**255, 1), (1, 2**256 - 1)):
        assert h.call(addr, "cut", [b"abcdef", start, length]).revert_reason == "slice out of range"
    assert call(bytes_contract, "head", b"abcdef") == b"abc"
    assert h.call(addr, "head", [b"ab"]).revert_reason == "slice out of range"
    assert call(bytes_contract, "word", bytes(range(32)), 28) == bytes([28, 29, 30, 31])


# --------------------------------------------------------------------------- conversions


def test_conversions_to_bytes_byte_for_byte(bytes_contract):
    a = bytes(range(20))
    out = call(bytes_contract, "to_bytes", True, 0x0102030405060708, -2, a)
    assert out == b"\x01" + bytes.fromhex("0102030405060708") + b"\xff\xfe" + a
    out = call(bytes_contract, "to_bytes", False, 5, 300, a)
    assert out == b"\x00" + (5).to_bytes(8, "big") + (300).to_bytes(2, "big") + a
    assert call(bytes_contract, "narrow", 0xBEEF) == b"\xbe\xef"
    h, addr, _ = bytes_contract
    assert "does not fit 2 bytes" in h.call(addr, "narrow", [0x10000]).revert_reason
    assert call(bytes_contract, "from_bool", True) == 100 + 1 + 1
    assert call(bytes_contract, "from_bool", False) == 1
    assert call(bytes_contract, "back", a) is True


# --------------------------------------------------------------------------- encode

PACK_TYPES = [
    ValueType(TAG_UINT, 8),
    ValueType(TAG_UINT, 64),
    ValueType(TAG_UINT, 256),
    ValueType(TAG_INT, 8),
    ValueType(TAG_INT, 256),
    BOOL,
    ADDRESS,
    ValueType(TAG_FIXED_BYTES, 1),
    ValueType(TAG_FIXED_BYTES, 20),
    ValueType(TAG_FIXED_BYTES, 32),
    ValueType(TAG_BYTES, 40),
    ValueType(TAG_STRING, 40),
    ValueType(TAG_UINT, 8),  # the enum, as the VM holds it: u8 (encoded as 32 bytes)
]


pack_values = st.tuples(*[values_of(t) for t in PACK_TYPES[:-1]], st.integers(0, 2))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=pack_values)
def test_encode_matches_the_python_packing(bytes_contract, values):
    expected = packing.encode(PACK_TYPES, values)
    assert call(bytes_contract, "pack", *values) == expected
    assert call(bytes_contract, "hash_pack", *values) == keccak256(expected)
    # the packing is the value encoding: it decodes back to the values
    decoded = decode_values(PACK_TYPES, expected)
    assert [
        v.decode() if isinstance(v, bytes) and i == 11 else v for i, v in enumerate(decoded)
    ] == [int(v) if isinstance(v, bool) else v for v in values]


def test_encode_byte_for_byte(bytes_contract):
    values = (
        1,
        2,
        3,
        -1,
        -(2**255),
        True,
        b"\xaa" * 20,
        b"\x07",
        b"\xbb" * 20,
        b"\xcc" * 32,
        b"xyz",
        "é",
        2,
    )
    out = call(bytes_contract, "pack", *values)
    assert out == (
        (1).to_bytes(32, "big")
        + (2).to_bytes(32, "big")
        + (3).to_bytes(32, "big")
        + b"\xff" * 32
        + b"\x80"
        + b"\x00" * 31
        + b"\x01"
        + b"\xaa" * 20
        + b"\x07"
        + b"\xbb" * 20
        + b"\xcc" * 32
        + b"\x00\x00\x00\x03xyz"
        + b"\x00\x00\x00\x02"
        + "é".encode()
        + (2).to_bytes(32, "big")
    )


deed_types = st.one_of(
    st.sampled_from([8, 16, 64, 128, 256]).map(lambda w: f"u{w}"),
    st.sampled_from([8, 32, 256]).map(lambda w: f"i{w}"),
    st.sampled_from(["bool", "address"]),
    st.integers(1, 32).map(lambda n: f"bytes{n}"),
    st.integers(1, 12).map(lambda n: f"bytes[{n}]"),
    st.integers(4, 12).map(lambda n: f"string[{n}]"),
)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), names=st.lists(deed_types, min_size=1, max_size=6))
def test_encode_of_random_type_lists(data, names):
    """Random parameter lists: the contract's encode and keccak256(encode)
    against deed.vm.packing for random values of them."""
    types = [parse_type(n) for n in names]
    params = ", ".join(f"a{i}: {n}" for i, n in enumerate(names))
    args = ", ".join(f"a{i}" for i in range(len(names)))
    size = len(packing.encode(types, [_max_value(t) for t in types]))
    source = (
        "contract R:\n"
        f"    pub enc({params}) -> bytes[{size}]:\n        return encode({args})\n\n"
        f"    pub digest({params}) -> bytes32:\n        return keccak256(encode({args}))\n"
    )
    h = Harness()
    addr = h.deployed(compile_source(source, "r.deed").module)
    for _ in range(3):
        values = [data.draw(values_of(t)) for t in types]
        expected = packing.encode(types, values)
        assert h.call(addr, "enc", values).return_values == (expected,)
        assert h.call(addr, "digest", values).return_values == (keccak256(expected),)


def _max_value(t: ValueType):
    if t.tag in (TAG_BYTES, TAG_STRING):
        return b"a" * t.param
    if t.tag == TAG_FIXED_BYTES:
        return bytes(t.param)
    return bytes(20) if t == ADDRESS else 0


@pytest.mark.parametrize(
    "left, right",
    [
        (("ab", "c"), ("a", "bc")),
        (("", "abc"), ("abc", "")),
        (("a", ""), ("", "a")),
        (("\x00", ""), ("", "\x00")),
    ],
)
def test_encode_is_injective_on_look_alikes(bytes_contract, left, right):
    assert left[0] + left[1] == right[0] + right[1]
    assert call(bytes_contract, "pair", *left) != call(bytes_contract, "pair", *right)
    string4 = ValueType(TAG_STRING, 4)
    assert call(bytes_contract, "pair", *left) == keccak256(packing.encode([string4] * 2, left))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=6), min_size=1, max_size=4),
    st.lists(st.binary(max_size=6), min_size=1, max_size=4),
)
def test_packing_is_injective(a, b):
    t = ValueType(TAG_BYTES, 6)
    if len(a) == len(b) and a != b:
        assert packing.encode([t] * len(a), a) != packing.encode([t] * len(b), b)


def test_commit_reveal(bytes_contract):
    secret = hashlib.sha256(b"salt").digest()
    got = call(bytes_contract, "commitment", 42, True, secret)
    assert got == keccak256((42).to_bytes(32, "big") + b"\x01" + secret)
    assert got != call(bytes_contract, "commitment", 42, False, secret)


# --------------------------------------------------------------------------- accounts and signatures


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.binary(min_size=32, max_size=32))
def test_address_of_is_the_vms(bytes_contract, key):
    assert call(bytes_contract, "account", key) == address_of(key)


def test_signed_by_checks_account_contract_nonce_and_payload(bytes_contract):
    h, addr, _ = bytes_contract
    k, other = KeyPair.from_text("signer"), KeyPair.from_text("other")
    payload = b"pay 10 to bob"
    sig = packing.sign_message(k, h.chain.chain_id, addr, 7, payload)
    assert len(sig) == 64
    ok = call(bytes_contract, "check", k.address, k.public_key, 7, payload, sig)
    assert ok is True
    # a different nonce, payload, account or contract: refused
    assert call(bytes_contract, "check", k.address, k.public_key, 8, payload, sig) is False
    assert call(bytes_contract, "check", k.address, k.public_key, 7, payload + b"0", sig) is False
    assert call(bytes_contract, "check", other.address, k.public_key, 7, payload, sig) is False
    foreign = packing.sign_message(k, h.chain.chain_id, b"\x01" * 20, 7, payload)
    assert call(bytes_contract, "check", k.address, k.public_key, 7, payload, foreign) is False
    # the account's key but a signature by another key
    forged = packing.sign_message(other, h.chain.chain_id, addr, 7, payload)
    assert call(bytes_contract, "check", k.address, k.public_key, 7, payload, forged) is False
    # a signature made for another chain (a contract can have this address there too)
    elsewhere = packing.sign_message(k, h.chain.chain_id + 1, addr, 7, payload)
    assert call(bytes_contract, "check", k.address, k.public_key, 7, payload, elsewhere) is False
    assert call(bytes_contract, "check", k.address, k.public_key, 7, payload, forged) is False
    # a bytes32 payload (a digest) is signed as bytes[32]
    digest = hashlib.sha256(payload).digest()
    sig = packing.sign_message(k, h.chain.chain_id, addr, 0, digest)
    assert call(bytes_contract, "check_hash", k.address, k.public_key, 0, digest, sig) is True
    message = packing.signed_message(h.chain.chain_id, addr, 0, digest)
    assert (
        message
        == b"deed-message-v1"
        + (1).to_bytes(32, "big")
        + addr
        + bytes(32)
        + b"\x00\x00\x00\x20"
        + digest
    )


def test_a_voucher_is_redeemed_once():
    h = Harness()
    addr = h.deployed(compile_source(SOURCE, "bytes.deed").module)
    k = KeyPair.from_text("issuer")
    bob = h.addr("bob")
    voucher = packing.encode([ADDRESS, ValueType(TAG_UINT, 256)], [bob, 500])
    sig = packing.sign_message(k, h.chain.chain_id, addr, 0, voucher)
    r = h.send("carol", addr, "redeem", [bob, 500, k.public_key, sig])
    assert r.success, r.revert_reason
    assert h.call(addr, "paid_to", [bob]).return_values == (500,)
    r = h.send("carol", addr, "redeem", [bob, 500, k.public_key, sig])
    assert r.revert_reason == "bad voucher"  # the nonce moved on
    r = h.send("carol", addr, "redeem", [bob, 501, k.public_key, sig])
    assert r.revert_reason == "bad voucher"
    sig = packing.sign_message(k, h.chain.chain_id, addr, 1, voucher)
    assert h.send("carol", addr, "redeem", [bob, 500, k.public_key, sig]).success
    assert h.call(addr, "paid_to", [bob]).return_values == (1000,)


# --------------------------------------------------------------------------- balance, loops


def test_chain_id(bytes_contract):
    h, _, _ = bytes_contract
    assert call(bytes_contract, "chain_id") == h.chain.chain_id == 1


def test_balance_of_any_address(bytes_contract):
    h, addr, _ = bytes_contract
    alice = h.addr("alice")
    assert call(bytes_contract, "balance_of", alice) == h.chain.state.balance(alice)
    assert call(bytes_contract, "balance_of", b"\x09" * 20) == 0
    assert call(bytes_contract, "own_balance") is True


def test_a_loop_over_negative_literals_has_a_signed_index(bytes_contract):
    assert call(bytes_contract, "signed_sum") == 10 * sum(range(-5, 3))
    assert call(bytes_contract, "product", 3) == (-3) * (-2) * (-1) * 1 * 2


# --------------------------------------------------------------------------- numbers as text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(0, 2**256 - 1) | st.sampled_from([0, 9, 10, 99, 100, 2**256 - 1]),
    m=st.integers(-(2**255), 2**255 - 1) | st.sampled_from([-(2**255), -10, -1, 0, 2**255 - 1]),
)
def test_str_is_decimal_text(bytes_contract, n, m):
    assert call(bytes_contract, "text", n) == str(n)
    assert call(bytes_contract, "signed_text", m) == str(m)


def test_str_in_a_revert_reason(bytes_contract):
    h, addr, _ = bytes_contract
    assert call(bytes_contract, "small_text", -128, 65535) == "-128/65535"
    assert call(bytes_contract, "small_text", 0, 7) == "0/7"
    assert h.call(addr, "limited", [12345]).revert_reason == "at most 100, got 12345"
    assert h.call(addr, "limited", [100]).success


# --------------------------------------------------------------------------- gas bounds


def test_measured_gas_is_within_the_bounds():
    h = Harness()
    out = compile_source(SOURCE, "bytes.deed")
    addr = h.deployed(out.module)
    bounds = {n: b.bound for n, b in GasAnalysis(Context(out)).all().items()}
    k = KeyPair.from_text("signer")
    big = b"\xff" * 40
    pack = (255, 2**64 - 1, 2**256 - 1, -128, -(2**255), True, b"\x01" * 20, b"\x02", b"\x03" * 20)
    pack += (b"\x04" * 32, big, "é" * 20, 2)
    payload = b"\x05" * 64
    cases = {
        "join": [b"x" * 10, b"y" * 5],
        "join_fixed": [b"1234", b"y" * 8, b"z" * 32],
        "greet": ["0123456789"],
        "cut": [b"x" * 10, 0, 10],
        "head": [b"x" * 10],
        "word": [b"x" * 32, 28],
        "to_bytes": [True, 2**64 - 1, -(2**15), b"\x01" * 20],
        "narrow": [0xFFFF],
        "from_bool": [True],
        "back": [b"\x01" * 20],
        "pack": list(pack),
        "hash_pack": list(pack),
        "pair": ["abcd", "efgh"],
        "commitment": [2**256 - 1, True, b"\x01" * 32],
        "account": [b"\x01" * 32],
        "check": [
            k.address,
            k.public_key,
            2**256 - 1,
            payload,
            packing.sign_message(k, h.chain.chain_id, addr, 2**256 - 1, payload),
        ],
        "check_hash": [k.address, k.public_key, 1, b"\x06" * 32, b"\x00" * 64],
        "redeem": [
            h.addr("bob"),
            10,
            k.public_key,
            packing.sign_message(
                k,
                h.chain.chain_id,
                addr,
                0,
                packing.encode([ADDRESS, ValueType(TAG_UINT, 256)], [h.addr("bob"), 10]),
            ),
        ],
        "balance_of": [b"\x08" * 20],
        "chain_id": [],
        "text": [2**256 - 1],
        "signed_text": [-(2**255)],
        "small_text": [-128, 65535],
        "own_balance": [],
        "signed_sum": [],
        "product": [7],
    }
    for name, args in cases.items():
        r = h.send("alice", addr, name, args)
        assert r.success, (name, r.revert_reason)
        tx = h.tx("alice", addr, h.chain.encode_call(addr, name, args))
        measured = r.gas_used - intrinsic_gas(tx)
        assert measured <= bounds[name], (name, measured, bounds[name])
        h.next_block()


# --------------------------------------------------------------------------- errors


def c(body: str, head: str = "") -> str:
    return head + "contract C:\n" + "".join("    " + line + "\n" for line in body.splitlines())


ERRORS = [
    (
        "E0202",
        c("pub f(a: string[4], b: bytes[4]) -> bytes[8]:\n    return concat(a, b)"),
        3,
        26,
        "concat joins strings with strings",
    ),
    (
        "E0202",
        c("pub f(a: u8, b: bytes[4]) -> bytes[8]:\n    return concat(b, a)"),
        3,
        26,
        "found u8",
    ),
    (
        "E0202",
        c("pub f(a: bytes[40000], b: bytes[40000]) -> bool:\n    return len(concat(a, b)) > 0"),
        3,
        20,
        "80,000 bytes long, over the VM's maximum of 65,536",
    ),
    (
        "E0204",
        c("pub f(a: bytes[4]) -> bytes[4]:\n    return concat(a)"),
        3,
        16,
        "concat takes 2 to 16 arguments, got 1",
    ),
    (
        "E0202",
        c("pub f(a: string[4]) -> string[4]:\n    return slice(a, 0, 1)"),
        3,
        22,
        "a slice could cut a UTF-8 character",
    ),
    (
        "E0202",
        c("pub f(a: bytes[4]) -> bytes[5]:\n    return slice(a, 0, 5)"),
        3,
        28,
        "a slice of 5 bytes from bytes[4] always reverts",
    ),
    (
        "E0201",
        c("pub f(a: bytes[4]) -> bytes[4]:\n    return slice(a, True, 1)"),
        3,
        25,
        "expected u256, found bool",
    ),
    (
        "E0202",
        c("pub f(a: bytes[4], b: bytes[4]) -> bytes[8]:\n    return a + b"),
        3,
        16,
        "+ needs integers",
    ),
    (
        "E0202",
        c("m: map[uint, uint]\npub f() -> bytes[64]:\n    return encode(self.m)"),
        4,
        23,
        "encode takes integers",
    ),
    (
        "E0202",
        c("pub f(a: bytes[65536]) -> bool:\n    return len(encode(a)) > 0"),
        3,
        20,
        "65,540 bytes long",
    ),
    (
        "E0201",
        c("pub f(a: bytes8) -> bytes32:\n    return bytes32(a)"),
        3,
        16,
        "cannot convert bytes8 to bytes32",
    ),
    (
        "E0201",
        c("pub f(a: address) -> bytes32:\n    return bytes32(a)"),
        3,
        16,
        "cannot convert address to bytes32",
    ),
    (
        "E0201",
        c("pub f(a: bytes32) -> address:\n    return address(a)"),
        3,
        16,
        "cannot convert bytes32 to address",
    ),
    (
        "E0201",
        c("pub f(a: u8) -> address:\n    return address_of(a)"),
        3,
        27,
        "expected bytes32, found u8",
    ),
    (
        "E0202",
        c(
            "pub f(a: address, k: bytes32, s: bytes[64]) -> bool:\n    return signed_by(a, k, 0, 5, s)"
        ),
        3,
        35,
        "the payload is bytes or a string",
    ),
    (
        "E0204",
        c("pub f(a: address, k: bytes32, s: bytes[64]) -> bool:\n    return signed_by(a, k, s, s)"),
        3,
        16,
        "signed_by takes 5 arguments, got 4",
    ),
    (
        "E0105",
        c("pub f(a: uint) -> uint:\n    return a.balance"),
        3,
        16,
        "u256 has no member balance",
    ),
    (
        "E0202",
        c("pub f(a: bool) -> string[78]:\n    return str(a)"),
        3,
        20,
        "str takes an integer, found bool",
    ),
]


@pytest.mark.parametrize("code, source, line, column, fragment", ERRORS)
def test_errors(code, source, line, column, fragment):
    with pytest.raises(CompileError) as exc:
        _ = compile_source(source, "t.deed").module
    d = next((d for d in exc.value.diagnostics if d.code == code), exc.value.diagnostics[0])
    assert (d.code, d.span.line, d.span.column) == (code, line, column), d.render(source)
    assert fragment in d.message + (d.hint or ""), d.message


def test_plus_on_bytes_points_to_concat():
    with pytest.raises(CompileError) as exc:
        _ = compile_source(
            c("pub f(a: bytes[4], b: bytes[4]) -> bytes[8]:\n    return a + b"), "t.deed"
        ).module
    assert exc.value.diagnostics[0].hint == "join them with concat(a, b)"


def test_the_packing_module_does_not_import_the_compiler():
    import subprocess
    import sys

    code = (
        "import sys, deed.vm.packing\n"
        "bad = [m for m in sys.modules if m.startswith('deed.compiler') or m == 'lark']\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
