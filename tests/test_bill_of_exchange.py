"""contracts/bills/bill_of_exchange.deed: every public function, its reverts
and events, and a stateful test: a bill always has exactly one holder, is
endorsed only by its holder and never after payment, and money only moves
between the parties."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, BYTES32, U64, U256

MODULE = compile_file("contracts/bills/bill_of_exchange.deed").module
DOC = b"bill 7731".ljust(32, b"\0")
AMOUNT = 10**18
DAY = 86400
NAMES = ("alice", "bob", "carol", "dave", "erin")


def draw(h: Harness, doc=DOC) -> bytes:
    # alice draws on bob (the drawee) in favour of carol
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr("carol"), doc, AMOUNT, h.timestamp + 90 * DAY],
    )
    r = h.deploy(MODULE, sender="alice", init_args=args)
    assert r.success, r.revert_reason
    return r.contract_address


@pytest.fixture
def bill():
    h = Harness(names=NAMES)
    return h, draw(h)


def holder(h, c):
    return h.call(c, "current_holder").return_values[0]


def test_accept_endorse_discount_and_pay_at_maturity(bill):
    h, c = bill
    assert h.call(c, "bill_document").return_values == (DOC,)
    assert h.send("carol", c, "accept").revert_reason == "not allowed"
    assert h.send("bob", c, "accept").logs[0].event == "BillAccepted"
    assert h.send("bob", c, "accept").revert_reason == "not awaiting acceptance"
    r = h.send("carol", c, "endorse", [h.addr("dave")])
    assert [(e.event, e.values) for e in r.logs] == [
        ("BillEndorsed", (h.addr("carol"), h.addr("dave")))
    ]
    assert holder(h, c) == h.addr("dave") and h.call(c, "endorsements").return_values == (1,)
    assert h.send("carol", c, "endorse", [h.addr("carol")]).revert_reason == "not allowed"
    # dave discounts it to erin for 95%
    assert (
        h.send("dave", c, "offer_discount", [h.addr("erin"), AMOUNT]).revert_reason
        == "a discount is below the amount"
    )
    assert h.send("dave", c, "offer_discount", [h.addr("erin"), AMOUNT * 95 // 100]).success
    assert (
        h.send("carol", c, "buy_discounted", value=AMOUNT * 95 // 100).revert_reason
        == "not allowed"
    )
    assert h.send("erin", c, "buy_discounted", value=1).revert_reason == "pay the offered price"
    before = h.chain.balance(h.addr("dave"))
    r = h.send("erin", c, "buy_discounted", value=AMOUNT * 95 // 100, price=0)
    assert r.success and r.logs[0].event == "BillDiscounted"
    assert h.chain.balance(h.addr("dave")) == before + AMOUNT * 95 // 100
    assert holder(h, c) == h.addr("erin")
    assert h.call(c, "endorser", [1]).return_values == (h.addr("dave"),)
    # maturity
    assert h.send("bob", c, "pay", value=AMOUNT).revert_reason == "before maturity"
    h.next_block(seconds=90 * DAY)
    assert h.send("bob", c, "pay", value=1).revert_reason == "pay the full amount"
    before = h.chain.balance(h.addr("erin"))
    r = h.send("bob", c, "pay", value=AMOUNT)
    assert [(e.event, e.values) for e in r.logs] == [("BillPaid", (h.addr("erin"), AMOUNT))]
    assert h.chain.balance(h.addr("erin")) == before + AMOUNT and h.chain.balance(c) == 0
    assert (
        h.send("erin", c, "endorse", [h.addr("dave")]).revert_reason
        == "the bill is settled or dishonoured"
    )
    assert h.send("bob", c, "pay", value=AMOUNT).revert_reason == "not payable"


def test_dishonour_and_recourse(bill):
    h, c = bill
    h.send("bob", c, "accept")
    h.send("carol", c, "endorse", [h.addr("dave")])
    assert h.send("dave", c, "dishonour").revert_reason == "the drawee still has time"
    h.next_block(seconds=91 * DAY)
    assert h.send("carol", c, "dishonour").revert_reason == "not allowed"
    assert h.send("dave", c, "dishonour").logs[0].event == "BillDishonoured"
    assert (
        h.send("erin", c, "take_recourse", value=AMOUNT).revert_reason
        == "not an endorser or the drawer"
    )
    before = h.chain.balance(h.addr("dave"))
    r = h.send("carol", c, "take_recourse", value=AMOUNT)  # the endorser pays the holder
    assert [(e.event, e.values[1:]) for e in r.logs] == [
        ("RecourseTaken", (h.addr("dave"), AMOUNT))
    ]
    assert h.chain.balance(h.addr("dave")) == before + AMOUNT and holder(h, c) == h.addr("carol")
    assert h.send("alice", c, "take_recourse", value=AMOUNT).success  # the drawer, last in line
    assert holder(h, c) == h.addr("alice")


def test_the_same_bill_cannot_be_drawn_twice(bill):
    h, _ = bill
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr("dave"), DOC, AMOUNT, h.timestamp + DAY],
    )
    assert (
        h.deploy(MODULE, sender="erin", init_args=args).revert_reason
        == "document already registered"
    )


def test_init_and_offer_rules(bill):
    h, c = bill
    assert (
        h.send("carol", c, "offer_discount", [h.addr("erin"), 5]).revert_reason
        == "only an accepted bill is discounted"
    )
    assert h.send("carol", c, "endorse", [bytes(20)]).revert_reason == "zero address"
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr("dave"), b"\x01" * 32, 0, h.timestamp + DAY],
    )
    assert h.deploy(MODULE, init_args=args).revert_reason == "nothing to pay"


class BillMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness(names=NAMES)
        self.c = draw(self.h)
        self.h.send("bob", self.c, "accept")
        self.holder = "carol"
        self.paid = False
        self.start = {n: self.h.chain.balance(self.h.addr(n)) for n in NAMES}

    @rule(who=st.sampled_from(NAMES), to=st.sampled_from(NAMES))
    def endorse(self, who, to):
        ok = self.h.send(who, self.c, "endorse", [self.h.addr(to)], price=0).success
        assert ok == (who == self.holder and to != who and not self.paid)
        if ok:
            self.holder = to

    @rule(buyer=st.sampled_from(NAMES), price=st.integers(1, 10**18 - 1))
    def discount(self, buyer, price):
        if self.h.send(
            self.holder, self.c, "offer_discount", [self.h.addr(buyer), price], price=0
        ).success:
            if self.h.send(buyer, self.c, "buy_discounted", value=price, price=0).success:
                self.holder = buyer

    @rule()
    def mature_and_pay(self):
        self.h.next_block(seconds=91 * 86400)
        if self.h.send("bob", self.c, "pay", value=AMOUNT, price=0).success:
            self.paid = True

    @invariant()
    def one_holder_and_money_only_between_parties(self):
        assert self.h.call(self.c, "current_holder").return_values == (self.h.addr(self.holder),)
        total = sum(self.h.chain.balance(self.h.addr(n)) for n in NAMES) + self.h.chain.balance(
            self.c
        )
        assert total == sum(self.start.values()), "money created or lost"
        assert self.h.chain.balance(self.c) == 0


TestBillInvariants = BillMachine.TestCase
TestBillInvariants.settings = settings(max_examples=20, stateful_step_count=12, deadline=None)


def test_remaining_guards(bill):
    h, c = bill
    assert h.send("carol", c, "endorse", [h.addr("carol")]).revert_reason == "already the holder"
    assert h.send("carol", c, "take_recourse", value=AMOUNT).revert_reason == "not dishonoured"
    h.send("bob", c, "accept")
    h.next_block(seconds=91 * DAY)
    h.send("carol", c, "dishonour")
    assert h.send("carol", c, "dishonour").revert_reason == "not open"
    assert h.call(c, "state").return_values == (3,)
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr("dave"), b"\x02" * 32, AMOUNT, 1],
    )
    assert h.deploy(MODULE, init_args=args).revert_reason == "maturity in the past"


def test_drawing_and_offers_are_events():
    h = Harness(names=NAMES)
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr("carol"), b"\x03" * 32, AMOUNT, h.timestamp + DAY],
    )
    r = h.deploy(MODULE, sender="alice", init_args=args)
    assert [e.event for e in r.logs] == ["BillDrawn"]
    c = r.contract_address
    h.send("bob", c, "accept")
    r = h.send("carol", c, "offer_discount", [h.addr("erin"), AMOUNT // 2])
    assert [(e.event, e.values) for e in r.logs] == [
        ("DiscountOffered", (h.addr("erin"), AMOUNT // 2))
    ]
