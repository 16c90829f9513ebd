"""contracts/bills/bill_of_exchange.deed: every public function, its reverts
and events, and a stateful test: a bill always has exactly one holder, is
endorsed only by its holder and never after payment, as often as the parties
like; the numbered endorsements are the chain of earlier holders, each liable
on dishonour; money only moves between the parties; a bill is drawn once, and
only by its drawer."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.chain import deploy_data
from deed.vm.codec import encode_values
from deed.vm.state import registry_key
from deed.vm.types import ADDRESS, BYTES32, U64, U256

MODULE = compile_file("contracts/bills/bill_of_exchange.deed").module
DOC = b"bill 7731".ljust(32, b"\0")
AMOUNT = 10**18
DAY = 86400
NAMES = ("alice", "bob", "carol", "dave", "erin")


def registry_id(drawer: bytes, doc: bytes) -> bytes:
    """The registry key of the document ``doc`` registered by ``drawer``: what a
    financier computes from the document (its hash and the drawer it names)
    to find the one contract that may finance it (the VM's own function)."""
    return registry_key(drawer, doc)


def try_draw(h: Harness, doc=DOC, drawer="alice", payee="carol"):
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr(payee), doc, AMOUNT, h.timestamp + 90 * DAY],
    )
    # no fee (gas price 0): the stateful test counts every unit of money
    return h.block.apply(h.tx(drawer, None, deploy_data(MODULE.encode(), args), price=0))


def draw(h: Harness, doc=DOC) -> bytes:
    # alice draws on bob (the drawee) in favour of carol
    r = try_draw(h, doc)
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
    h, c = bill
    assert try_draw(h, payee="dave").revert_reason == "document already registered"
    assert h.call(c, "registry_id").return_values == (registry_id(h.addr("alice"), DOC),)
    assert h.call(c, "drawer").return_values == (h.addr("alice"),)
    assert h.chain.state.document_holder(registry_id(h.addr("alice"), DOC)) == c


def test_a_squatter_who_draws_the_hash_first_blocks_nothing():
    """The attack, step by step: erin learns the hash of alice's bill and
    draws a bill on it from her own account before alice deploys hers."""
    h = Harness(names=NAMES)
    squat = try_draw(h, drawer="erin", payee="erin")
    assert squat.success  # a bill drawn by erin, naming erin as drawer...
    assert h.call(squat.contract_address, "drawer").return_values == (h.addr("erin"),)
    assert try_draw(h, drawer="erin").revert_reason == "document already registered"
    # ...so alice's own bill on the document is still hers to draw
    real = try_draw(h)
    assert real.success, real.revert_reason
    alice_id = registry_id(h.addr("alice"), DOC)
    assert h.chain.state.document_holder(alice_id) == real.contract_address
    assert try_draw(h, payee="dave").revert_reason == "document already registered"


def test_the_33rd_endorsement_and_beyond():
    """The endorsements once filled a list of 32: the 33rd reverted. Now a
    bill passes between carol and dave 40 times, every endorsement numbered,
    and the first endorser still has recourse."""
    h = Harness(names=NAMES)
    c = draw(h)
    h.send("bob", c, "accept")
    pair = ("carol", "dave")
    for i in range(40):
        r = h.send(pair[i % 2], c, "endorse", [h.addr(pair[(i + 1) % 2])])
        assert r.success, (i + 1, r.revert_reason)
        assert h.call(c, "endorsements").return_values == (i + 1,)
    assert holder(h, c) == h.addr("carol")
    assert h.call(c, "endorser", [32]).return_values == (h.addr("carol"),)
    assert h.call(c, "endorser", [39]).return_values == (h.addr("dave"),)
    assert h.call(c, "endorser", [40]).revert_reason == "no such endorsement"
    h.next_block(seconds=91 * DAY)
    h.send("carol", c, "dishonour")
    assert h.send("dave", c, "take_recourse", value=AMOUNT).success
    assert holder(h, c) == h.addr("dave")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, len(NAMES) - 1), min_size=33, max_size=70))
def test_any_chain_of_endorsements_is_kept_however_long(steps):
    """Past any former limit, the numbered endorsements are the chain of
    earlier holders, and each of them, and only they and the drawer, have
    recourse once the bill is dishonoured."""
    h = Harness(names=NAMES)
    c = draw(h)
    h.send("bob", c, "accept")
    chain, current = [], "carol"
    for step in steps:  # each step names another party: at least 33 endorsements
        to = NAMES[(NAMES.index(current) + step) % len(NAMES)]
        assert h.send(current, c, "endorse", [h.addr(to)], price=0).success
        chain.append(current)
        current = to
    assert h.call(c, "endorsements").return_values == (len(chain),)
    for i, earlier in enumerate(chain):
        assert h.call(c, "endorser", [i]).return_values == (h.addr(earlier),)
    h.next_block(seconds=91 * DAY)
    assert h.send(current, c, "dishonour").success
    for who in NAMES:
        if who == current:
            continue
        r = h.send(who, c, "take_recourse", value=AMOUNT, price=0)
        assert r.success == (who == "alice" or who in chain), (who, r.revert_reason)
        if r.success:
            current = who


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
    """One accepted bill drawn by alice on bob in favour of carol, handed on,
    discounted, paid or dishonoured and taken back in recourse, by anyone in
    any order, and more bills drawn on a few documents by anyone. The model
    is the holder, the chain of earlier holders (who are liable) and the
    (drawer, document) pairs registered."""

    def __init__(self):
        super().__init__()
        self.h = Harness(names=NAMES)
        self.c = draw(self.h)
        self.h.send("bob", self.c, "accept")
        self.holder = "carol"
        self.chain: list[str] = []  # the holder before each endorsement or discount sale
        self.status = "accepted"
        self.matured = False
        self.drawn = {("alice", DOC)}
        self.start = {n: self.h.chain.balance(self.h.addr(n)) for n in NAMES}

    def hand_over(self, to: str) -> None:
        self.chain.append(self.holder)
        self.holder = to

    @rule(who=st.sampled_from(("the holder", *NAMES)), to=st.sampled_from(NAMES))
    def endorse(self, who, to):
        who = self.holder if who == "the holder" else who
        ok = self.h.send(who, self.c, "endorse", [self.h.addr(to)], price=0).success
        assert ok == (who == self.holder and to != who and self.status == "accepted")
        if ok:
            self.hand_over(to)

    @rule(buyer=st.sampled_from(NAMES), price=st.integers(1, 10**18 - 1))
    def discount(self, buyer, price):
        offered = self.h.send(
            self.holder, self.c, "offer_discount", [self.h.addr(buyer), price], price=0
        )
        assert offered.success == (self.status == "accepted" and buyer != self.holder)
        if offered.success:
            assert self.h.send(buyer, self.c, "buy_discounted", value=price, price=0).success
            self.hand_over(buyer)

    @rule()
    def mature(self):
        self.h.next_block(seconds=91 * DAY)
        self.matured = True

    @rule()
    def pay(self):
        ok = self.h.send("bob", self.c, "pay", value=AMOUNT, price=0).success
        assert ok == (self.status == "accepted" and self.matured)
        if ok:
            self.status = "paid"

    @rule()
    def dishonour(self):
        ok = self.h.send(self.holder, self.c, "dishonour", price=0).success
        assert ok == (self.status == "accepted" and self.matured)
        if ok:
            self.status = "dishonoured"

    @precondition(lambda self: self.status == "dishonoured")
    @rule(who=st.sampled_from(NAMES))
    def take_recourse(self, who):
        r = self.h.send(who, self.c, "take_recourse", value=AMOUNT, price=0)
        liable = who == "alice" or who in self.chain
        assert r.success == (liable and who != self.holder), r.revert_reason
        if r.success:
            self.holder = who  # recourse is not an endorsement: the chain stays

    @rule(drawer=st.sampled_from(NAMES), doc=st.sampled_from((DOC, b"\x09" * 32)))
    def draw_another(self, drawer, doc):
        r = try_draw(self.h, doc, drawer=drawer)
        assert r.success == ((drawer, doc) not in self.drawn), r.revert_reason
        self.drawn.add((drawer, doc))

    @invariant()
    def one_holder_and_a_consistent_chain(self):
        call = self.h.call
        assert call(self.c, "current_holder").return_values == (self.h.addr(self.holder),)
        assert call(self.c, "endorsements").return_values == (len(self.chain),)
        for i, earlier in enumerate(self.chain):
            assert call(self.c, "endorser", [i]).return_values == (self.h.addr(earlier),)

    @invariant()
    def money_only_between_parties(self):
        total = sum(self.h.chain.balance(self.h.addr(n)) for n in NAMES)
        assert total == sum(self.start.values()), "money created or lost"
        assert self.h.chain.balance(self.c) == 0

    @invariant()
    def each_bill_drawn_once_by_its_drawer(self):
        for drawer in NAMES:
            for doc in (DOC, b"\x09" * 32):
                holder = self.h.chain.state.document_holder(registry_id(self.h.addr(drawer), doc))
                assert (holder is not None) == ((drawer, doc) in self.drawn)
                if holder is not None:  # the drawer's own bill, naming them
                    assert self.h.call(holder, "drawer").return_values == (self.h.addr(drawer),)


TestBillInvariants = BillMachine.TestCase
TestBillInvariants.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)


def test_remaining_guards(bill):
    h, c = bill
    assert h.send("carol", c, "endorse", [h.addr("carol")]).revert_reason == "already the holder"
    assert h.call(c, "endorser", [0]).revert_reason == "no such endorsement"
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
    assert (
        h.send("carol", c, "offer_discount", [h.addr("carol"), 5]).revert_reason
        == "already the holder"
    )
    r = h.send("carol", c, "offer_discount", [h.addr("erin"), AMOUNT // 2])
    assert [(e.event, e.values) for e in r.logs] == [
        ("DiscountOffered", (h.addr("erin"), AMOUNT // 2))
    ]
