"""Every construct of the language compiles, runs on the VM and gives the
expected result (and, where it says, the expected gas)."""

import hashlib
from pathlib import Path

import pytest
from Crypto.Hash import keccak
from support import Harness

from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.types import ADDRESS

SOURCE = """
interface Counter:
    pub bump(by: u64) -> u64
    @view
    pub total() -> u64

contract Kitchen:
    enum Colour:
        Red
        Green
        Blue

    struct Account:
        owner: address
        balance: uint
        frozen: bool

    event Moved(who: address, amount: uint)
    error TooMuch(asked: uint, limit: uint)

    const LIMIT: uint = 1_000
    const GREETING: string[16] = "hello"

    count: u64
    colour: Colour
    label: string[32]
    tag: bytes32
    accounts: map[uint, Account]
    allowance: map[address, map[address, uint]]
    counter: Counter

    @payable
    init(counter: address):
        self.counter = Counter(counter)
        self.label = GREETING

    pub arith(a: u8, b: u64) -> u64:
        return a + b * 2 - 1

    pub checked_add(a: u8, b: u8) -> u8:
        return a + b

    pub narrow(a: u64) -> u8:
        return u8(a)

    pub signed(a: i64, b: i64) -> i64:
        return -a / b + a % b

    pub powers(a: uint, b: u8) -> uint:
        return a ** b + (a << 2) + (a >> 1) + (a & 6) + (a | 1) + (a ^ 3)

    pub logic(a: u8) -> bool:
        return (a > 3 and a < 10) or not (a != 0)

    pub short_circuit(a: u8) -> bool:
        return a == 0 or self.reverts_if_zero(a)

    reverts_if_zero(a: u8) -> bool:
        require(a != 0, "evaluated")
        return True

    pub branches(a: u8) -> u8:
        if a < 10:
            return 1
        elif a < 20:
            return 2
        else:
            return 3

    pub loops(n: u8) -> uint:
        total: uint = 0
        for i in range(n, max=50):
            if i == 3:
                continue
            if i == 8:
                break
            total += i
        for j in range(2, 5):
            total += j * 100
        return total

    pub set_colour(c: Colour):
        self.colour = c

    @view
    pub get_colour() -> Colour:
        return self.colour

    pub open(id: uint, amount: uint):
        self.accounts[id].owner = msg.sender
        self.accounts[id].balance = amount

    @view
    pub account_balance(id: uint) -> uint:
        return self.accounts[id].balance

    pub approve(spender: address, amount: uint):
        self.allowance[msg.sender][spender] = amount

    @view
    pub allowed(owner: address, spender: address) -> uint:
        return self.allowance[owner][spender]

    pub limited(amount: uint):
        if amount > LIMIT:
            revert TooMuch(amount, LIMIT)
        emit Moved(who=msg.sender, amount=amount)

    pub computed_reason(a: u8):
        require(a < 5, self.label)

    @payable
    pub pay_out(to: address, amount: uint) -> uint:
        send(to, amount)
        return self.balance

    pub bump_counter(by: u64) -> u64:
        return self.counter.bump(by)

    @view
    pub counter_total() -> u64:
        return self.counter.total()

    @view
    pub hashes(data: bytes[64], n: uint) -> bool:
        return sha256(data) != keccak256(data) and sha256(n) == sha256(bytes32(n))

    @view
    pub digest(data: bytes[64]) -> bytes32:
        return keccak256(data)

    @view
    pub check_sig(key: bytes32, message: bytes[64], signature: bytes[64]) -> bool:
        return verify_ed25519(key, message, signature)

    @view
    pub misc(a: uint, b: uint, s: string[20]) -> uint:
        return min(a, b) * 1000 + max(a, b) + len(s) * 1_000_000 + uint(bytes32(a)) - a

    @view
    pub zero() -> address:
        return empty(address)

    pub store_tag(t: bytes32):
        self.tag = t

    @view
    pub get_tag() -> bytes32:
        return self.tag
"""

COUNTER = """
contract CounterImpl:
    total_count: u64

    pub bump(by: u64) -> u64:
        self.total_count += by
        return self.total_count

    @view
    pub total() -> u64:
        return self.total_count
"""


@pytest.fixture(scope="module")
def kitchen():
    h = Harness()
    counter = h.deployed(compile_source(COUNTER).module)
    module = compile_source(SOURCE, "kitchen.deed").module
    r = h.deploy(module, init_args=encode_values([ADDRESS], [counter]), value=1000)
    assert r.success, r.revert_reason
    return h, r.contract_address


def call(kitchen, name, *args):
    h, addr = kitchen
    return h.call(addr, name, list(args))


def send(kitchen, name, *args, sender="alice", value=0):
    h, addr = kitchen
    return h.send(sender, addr, name, list(args), value=value)


def test_arithmetic_with_implicit_widening(kitchen):
    assert call(kitchen, "arith", 200, 10).return_values == (219,)


def test_checked_overflow_and_conversion(kitchen):
    assert call(kitchen, "checked_add", 200, 55).return_values == (255,)
    assert call(kitchen, "checked_add", 200, 56).revert_reason == "arithmetic overflow"
    assert call(kitchen, "narrow", 255).return_values == (255,)
    assert call(kitchen, "narrow", 256).revert_reason == "value does not fit u8"


def test_signed_arithmetic(kitchen):
    # -7 / 2 rounds toward zero: -3; 7 % 2 = 1
    assert call(kitchen, "signed", 7, 2).return_values == (-2,)
    assert call(kitchen, "signed", 1, 0).revert_reason == "division by zero"


def test_powers_and_bits(kitchen):
    a, b = 13, 3
    expected = a**b + (a << 2) + (a >> 1) + (a & 6) + (a | 1) + (a ^ 3)
    assert call(kitchen, "powers", a, b).return_values == (expected,)


@pytest.mark.parametrize("a, expected", [(0, True), (1, False), (5, True), (10, False)])
def test_boolean_logic(kitchen, a, expected):
    assert call(kitchen, "logic", a).return_values == (expected,)


def test_or_short_circuits(kitchen):
    assert call(kitchen, "short_circuit", 0).return_values == (True,)
    assert call(kitchen, "short_circuit", 4).return_values == (True,)


@pytest.mark.parametrize("a, expected", [(5, 1), (15, 2), (25, 3)])
def test_if_elif_else(kitchen, a, expected):
    assert call(kitchen, "branches", a).return_values == (expected,)


def test_loops_with_break_continue_and_bounds(kitchen):
    # 0+1+2+4+5+6+7 = 25, then 200+300+400
    assert call(kitchen, "loops", 20).return_values == (925,)
    assert call(kitchen, "loops", 5).return_values == (907,)
    assert call(kitchen, "loops", 51).revert_reason == "loop bound exceeded"


def test_enums_in_storage(kitchen):
    assert send(kitchen, "set_colour", 2).success
    assert call(kitchen, "get_colour").return_values == (2,)
    assert send(kitchen, "set_colour", 3).revert_reason == "c is not a Colour"


def test_structs_in_maps_and_nested_maps(kitchen):
    h, _ = kitchen
    assert send(kitchen, "open", 7, 500).success
    assert call(kitchen, "account_balance", 7).return_values == (500,)
    assert call(kitchen, "account_balance", 8).return_values == (0,)
    assert send(kitchen, "approve", h.addr("bob"), 33).success
    assert call(kitchen, "allowed", h.addr("alice"), h.addr("bob")).return_values == (33,)
    assert call(kitchen, "allowed", h.addr("bob"), h.addr("alice")).return_values == (0,)


def test_events_with_keywords_and_typed_errors(kitchen):
    h, _ = kitchen
    r = send(kitchen, "limited", 10)
    assert [(e.event, e.values) for e in r.logs] == [("Moved", (h.addr("alice"), 10))]
    r = send(kitchen, "limited", 5000)
    assert r.error == ("TooMuch", (5000, 1000))


def test_require_with_a_computed_reason(kitchen):
    assert call(kitchen, "computed_reason", 9).revert_reason == "hello"


def test_value_send_and_balance(kitchen):
    h, addr = kitchen
    before = h.chain.balance(h.addr("dave"))
    r = send(kitchen, "pay_out", h.addr("dave"), 300, value=50)
    assert r.success and r.return_values == (750,)
    assert h.chain.balance(h.addr("dave")) == before + 300


def test_calls_through_an_interface(kitchen):
    assert send(kitchen, "bump_counter", 5).return_values == (5,)
    assert send(kitchen, "bump_counter", 2).return_values == (7,)
    assert call(kitchen, "counter_total").return_values == (7,)


def test_hashes_and_signatures(kitchen):
    data = b"deed"
    assert call(kitchen, "hashes", data, 42).return_values == (True,)
    assert call(kitchen, "digest", data).return_values == (
        keccak.new(data=data, digest_bits=256).digest(),
    )
    key = KeyPair.from_text("signer")
    sig = key.sign(b"pay 10")
    assert call(kitchen, "check_sig", key.public_key, b"pay 10", sig).return_values == (True,)
    assert call(kitchen, "check_sig", key.public_key, b"pay 11", sig).return_values == (False,)
    assert hashlib.sha256(data).digest() != keccak.new(data=data, digest_bits=256).digest()


def test_builtins(kitchen):
    assert call(kitchen, "misc", 3, 9, "four").return_values == (4_003_009,)
    assert call(kitchen, "zero").return_values == (bytes(20),)
    assert send(kitchen, "store_tag", b"t" * 32).success
    assert call(kitchen, "get_tag").return_values == (b"t" * 32,)


def _static_gas(module, name: str) -> int:
    """Sum of the table costs of a straight-line function's instructions, and
    the first use of the module's code by the call."""
    from deed.vm.costs import code_load, return_data
    from deed.vm.verifier import verify

    vm = verify(module)
    index = next(i for i, f in enumerate(module.functions) if f.name == name)
    vf = vm.functions[index]
    assert len(vf.blocks) == 1, "straight-line functions only"
    returned = sum(32 for _ in module.functions[index].returns)  # integers: 32 bytes each
    return (
        sum(ins.op.gas for ins in vf.instrs)
        + code_load(len(module.encode()))
        + return_data(returned)
    )


@pytest.mark.parametrize(
    "fn, args", [("arith", (200, 10)), ("powers", (13, 3)), ("signed", (7, 2))]
)
def test_gas_is_the_table_cost_of_the_emitted_code(kitchen, fn, args):
    module = compile_source(SOURCE, "kitchen.deed").module
    assert call(kitchen, fn, *args).gas_used == _static_gas(module, fn)


@pytest.fixture(scope="module")
def lists():
    h = Harness()
    source = (Path(__file__).parent / "lists.deed").read_text()
    return h, h.deployed(compile_source(source, "lists.deed").module)


def test_bounded_lists_push_pop_len_index(lists):
    h, a = lists
    for x in (5, 6, 7):
        assert h.send("alice", a, "add", [x]).success
    assert h.send("alice", a, "add", [8]).revert_reason == "list is full"
    assert h.call(a, "count").return_values == (3,)
    assert h.call(a, "at", [2]).return_values == (7,)
    assert h.call(a, "at", [3]).revert_reason == "index out of range"
    assert h.send("alice", a, "take").return_values == (7,)
    assert h.call(a, "count").return_values == (2,)
    assert h.call(a, "at", [2]).revert_reason == "index out of range"


def test_fixed_arrays_and_iteration(lists):
    h, a = lists
    assert h.send("alice", a, "set", [1, 9]).success and h.send("alice", a, "set", [3, 1]).success
    assert h.send("alice", a, "set", [4, 1]).revert_reason == "index out of range"
    # grid 9 + 1, plus the list's elements (5, 6) times 1000
    assert h.call(a, "total").return_values == (11010,)


def test_arrays_of_structs_and_lists_in_maps(lists):
    h, a = lists
    assert h.send("alice", a, "claim", [1, 77]).success
    assert h.call(a, "claim_amount", [1]).return_values == (77,)
    assert h.call(a, "claim_amount", [2]).revert_reason == "index out of range"
    h.send("bob", a, "remember", [42])
    h.send("bob", a, "remember", [43])
    assert h.call(a, "remembered", [h.addr("bob")]).return_values == (242,)
    assert h.call(a, "remembered", [h.addr("alice")]).revert_reason == "index out of range"


def test_library_modules_compile_in_what_is_used():
    h = Harness()
    out = compile_source((Path(__file__).parent / "libraries.deed").read_text(), "libraries.deed")
    a = h.deployed(out.module)
    assert h.call(a, "fee", [1000, 250]).return_values == (25,)
    assert h.call(a, "fee", [1000, 10001]).revert_reason == "more than 100%"
    # pro_rata rounds down (33), mul_div_up rounds up (34)
    assert h.call(a, "share", [100]).return_values == (34033,)
    assert h.call(a, "open").return_values == (True,)
    names = [f.name for f in out.module.functions]
    assert "math.mul_div" in names and "time.within" not in names


def test_oracle_reports_and_the_document_registry():
    from deed.vm.crypto import KeyPair
    from deed.vm.oracle import sign_report, signer_set
    from deed.vm.types import TAG_BYTES, ValueType

    keys = [KeyPair.from_text(f"oracle {i}") for i in range(3)]
    h = Harness()
    source = (Path(__file__).parent / "oracle_cover.deed").read_text()
    module = compile_source(source, "oracle_cover.deed").module
    a = h.deployed(module, init_args=encode_values([ValueType(TAG_BYTES, 96)], [signer_set(keys)]))
    flight = b"LH454".ljust(32, b"\0")
    data = flight + (150).to_bytes(32, "big")
    report = sign_report(h.timestamp - 5, data, [(0, keys[0]), (2, keys[2])])
    r = h.send("alice", a, "settle", [report])
    assert r.success and [(e.event, e.values) for e in r.logs] == [("Paid", (flight, 150))]
    assert h.send("alice", a, "settle", [report]).revert_reason == "oracle report already used"
    # registered in the name of the transaction's signer
    assert h.call(a, "holder", [h.addr("alice"), flight]).return_values == (a,)
    assert h.call(a, "holder", [h.addr("bob"), flight]).return_values == (bytes(20),)
    lone = sign_report(h.timestamp, data, [(1, keys[1])])
    assert h.send("alice", a, "settle", [lone]).revert_reason == "oracle quorum not reached"


ASSERTS = """
contract Guard:
    count: u64

    pub bump(by: u64) -> u64:
        assert by > 0
        assert by < 100, "too much at once"
        require(by != 7)
        self.count += by
        return self.count
"""


def test_assert_and_require_without_a_reason():
    """``assert c[, reason]`` is ``require(c[, reason])``; without a reason the
    revert says "requirement failed" (spec/language.md, section 5)."""
    h = Harness()
    a = h.deployed(compile_source(ASSERTS, "guard.deed").module)
    assert h.send("alice", a, "bump", [5]).return_values == (5,)
    assert h.send("alice", a, "bump", [0]).revert_reason == "requirement failed"
    assert h.send("alice", a, "bump", [100]).revert_reason == "too much at once"
    assert h.send("alice", a, "bump", [7]).revert_reason == "requirement failed"
    assert h.call(a, "bump", [3]).return_values == (8,)


@pytest.mark.parametrize(
    "line, message",
    [
        ("assert x", "expected bool, found u64"),
        ("assert x > 1, 5", "the reason of require or assert is a string, found u256"),
        ('require(x > 1, "a", "b")', "require takes 1 or 2 arguments, got 3"),
    ],
)
def test_assert_and_require_errors(line, message):
    source = f"contract G:\n    pub f(x: u64):\n        {line}\n"
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "g.deed").module
    assert message in str(info.value)


SIGNED_INDEX = """
contract Ramp:
    @view
    pub ramp(n: uint, step: i64, origin: i16) -> i64:
        total: i64 = 0
        for i in range(n, max=100):
            total += i * step - origin          # i is a u256 index used as an i64
            last: i64 = i
            if i > origin:
                total += last
        return total
"""


def test_a_loop_index_from_zero_is_usable_as_a_signed_value():
    h = Harness()
    ramp = h.deployed(compile_source(SIGNED_INDEX, "ramp.deed").module)

    def model(n: int, step: int, origin: int) -> int:
        total = 0
        for i in range(n):
            total += i * step - origin
            if i > origin:
                total += i
        return total

    for n, step, origin in [(0, 5, 0), (10, -3, 4), (100, 7, -2), (37, -1000, 20)]:
        assert h.call(ramp, "ramp", [n, step, origin]).return_values == (model(n, step, origin),)


@pytest.mark.parametrize(
    "loop, use",
    [
        ("for i in range(n, max=200):", "x: i8 = i"),  # 199 does not fit i8
        ("for i in range(1, n, max=10):", "x: i64 = i"),  # not from 0: no bound on i
        ("for i in range(n, max=10):", "x: u8 = i"),  # unsigned narrowing stays explicit
    ],
)
def test_a_loop_index_converts_implicitly_only_when_its_bound_fits(loop, use):
    source = f"contract C:\n    pub f(n: uint):\n        {loop}\n            {use}\n"
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    assert [d.code for d in info.value.diagnostics] == ["E0203"]
