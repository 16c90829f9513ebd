"""contracts/escrow/trade_escrow.deed: every public function, its reverts
and events, and a stateful test: no money created or lost, and every end
state leaves the contract holding nothing."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.types import ADDRESS, BYTES32, TAG_BYTES, TAG_UINT, U64, ValueType

MODULE = compile_file("contracts/escrow/trade_escrow.deed").module
CARRIERS = [KeyPair.from_text(f"carrier {i}") for i in range(2)]
SHIPMENT = b"MSKU 1234567".ljust(32, b"\0")
DAY = 86400
PRICE = 5 * 10**18
FUNDED, DISPUTED, RELEASED, REFUNDED, SPLIT = 1, 2, 3, 4, 5
END = {RELEASED, REFUNDED, SPLIT}


def open_deal(h: Harness) -> bytes:
    types = [ADDRESS, ADDRESS, ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64]
    args = encode_values(
        types,
        [h.addr("bob"), h.addr("carol"), signer_set(CARRIERS), 1, SHIPMENT, h.timestamp + 30 * DAY],
    )
    r = h.deploy(MODULE, sender="alice", init_args=args)
    assert r.success, r.revert_reason
    return r.contract_address


def delivered(h: Harness, status: int = 1, shipment: bytes = SHIPMENT, key: int = 0) -> bytes:
    return sign_report(h.timestamp, shipment + status.to_bytes(32, "big"), [(key, CARRIERS[key])])


@pytest.fixture
def deal():
    h = Harness()
    c = open_deal(h)
    assert h.send("alice", c, "deposit", value=PRICE).logs[0].event == "Deposited"
    return h, c


def test_delivery_report_releases_to_the_seller(deal):
    h, c = deal
    before = h.chain.balance(h.addr("bob"))
    r = h.send("dave", c, "delivery_report", [delivered(h)])
    assert r.success and [(e.event, e.values[1:]) for e in r.logs] == [("Released", (PRICE, True))]
    assert h.chain.balance(h.addr("bob")) == before + PRICE and h.chain.balance(c) == 0
    assert h.send("dave", c, "delivery_report", [delivered(h, key=1)]).revert_reason == "not funded"


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda h: delivered(h, status=2), "not delivered"),
        (lambda h: delivered(h, shipment=b"\x09" * 32), "report is for another shipment"),
        (lambda h: b"junk", "malformed oracle report: report too short"),
        (
            lambda h: sign_report(h.timestamp, SHIPMENT, [(0, CARRIERS[0])]),
            "report data is not a DeliveryReport",
        ),
    ],
)
def test_bad_delivery_reports(deal, make, reason):
    h, c = deal
    assert h.send("dave", c, "delivery_report", [make(h)]).revert_reason == reason


def test_buyer_confirms(deal):
    h, c = deal
    assert h.send("bob", c, "confirm_delivery").revert_reason == "not allowed"
    r = h.send("alice", c, "confirm_delivery")
    assert r.success and r.logs[0].values[2] is False
    assert h.call(c, "status").return_values == (RELEASED,)


def test_dispute_and_split(deal):
    h, c = deal
    assert h.send("dave", c, "dispute").revert_reason == "not a party"
    assert h.send("carol", c, "resolve", [5000]).revert_reason == "not disputed"
    r = h.send("bob", c, "dispute")
    assert r.logs[0].event == "DisputeRaised"
    assert h.send("alice", c, "resolve", [5000]).revert_reason == "not allowed"
    assert h.send("carol", c, "resolve", [10_001]).revert_reason == "more than 100%"
    seller, buyer = h.chain.balance(h.addr("bob")), h.chain.balance(h.addr("alice"))
    r = h.send("carol", c, "resolve", [7_000])
    assert [(e.event, e.values) for e in r.logs] == [
        ("DisputeResolved", (PRICE * 7 // 10, PRICE * 3 // 10))
    ]
    assert h.chain.balance(h.addr("bob")) == seller + PRICE * 7 // 10
    assert h.chain.balance(h.addr("alice")) == buyer + PRICE * 3 // 10
    assert h.chain.balance(c) == 0


def test_refund_after_the_deadline(deal):
    h, c = deal
    assert h.send("alice", c, "refund").revert_reason == "deadline not reached"
    h.next_block(seconds=31 * DAY)
    r = h.send("alice", c, "refund")
    assert r.success and [(e.event, e.values[1]) for e in r.logs] == [("Refunded", PRICE)]
    assert h.send("alice", c, "refund").revert_reason == "not funded"


def test_deposit_and_init_rules():
    h = Harness()
    c = open_deal(h)
    assert h.send("bob", c, "deposit", value=1).revert_reason == "not allowed"
    assert h.send("alice", c, "deposit", value=0).revert_reason == "empty deposit"
    assert h.send("alice", c, "confirm_delivery").revert_reason == "not funded"
    assert h.send("alice", c, "deposit", value=1).success
    assert h.send("alice", c, "deposit", value=1).revert_reason == "already funded"
    types = [ADDRESS, ADDRESS, ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64]
    same = encode_values(
        types, [h.addr("bob"), h.addr("bob"), signer_set(CARRIERS), 1, SHIPMENT, h.timestamp + DAY]
    )
    assert h.deploy(MODULE, init_args=same).revert_reason == "three different parties"
    late = encode_values(
        types, [h.addr("bob"), h.addr("carol"), signer_set(CARRIERS), 1, SHIPMENT, 1]
    )
    assert h.deploy(MODULE, init_args=late).revert_reason == "deadline in the past"


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = open_deal(self.h)
        self.start = sum(self.h.chain.balance(self.h.addr(n)) for n in ("alice", "bob"))

    @rule(amount=st.integers(0, 10**18))
    def deposit(self, amount):
        self.h.send("alice", self.c, "deposit", value=amount, price=0)

    @rule(who=st.sampled_from(["alice", "bob", "dave"]))
    def dispute(self, who):
        self.h.send(who, self.c, "dispute", price=0)

    @rule(bps=st.integers(0, 10_000))
    def resolve(self, bps):
        self.h.send("carol", self.c, "resolve", [bps], price=0)

    @rule()
    def report(self):
        self.h.send("dave", self.c, "delivery_report", [delivered(self.h)], price=0)

    @rule()
    def confirm(self):
        self.h.send("alice", self.c, "confirm_delivery", price=0)

    @rule()
    def late_refund(self):
        self.h.next_block(seconds=31 * DAY)
        self.h.send("alice", self.c, "refund", price=0)

    @invariant()
    def money_is_conserved_and_ends_empty(self):
        held = self.h.chain.balance(self.c)
        parties = sum(self.h.chain.balance(self.h.addr(n)) for n in ("alice", "bob"))
        assert parties + held == self.start, "money created or lost"
        assert self.h.call(self.c, "held").return_values == (held,)
        if self.h.call(self.c, "status").return_values[0] in END:
            assert held == 0, "an end state holds money"


TestEscrowInvariants = EscrowMachine.TestCase
TestEscrowInvariants.settings = settings(max_examples=20, stateful_step_count=10, deadline=None)


def test_carrier_keys_are_checked():
    h = Harness()
    types = [ADDRESS, ADDRESS, ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64]
    bad = encode_values(
        types,
        [h.addr("bob"), h.addr("carol"), signer_set(CARRIERS), 3, SHIPMENT, h.timestamp + DAY],
    )
    assert h.deploy(MODULE, init_args=bad).revert_reason == "bad carrier keys or quorum"
