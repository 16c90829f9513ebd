"""contracts/escrow/trade_escrow.deed: every public function, its reverts
and events, and a stateful test: no money created or lost, and every end
state leaves the contract holding nothing."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from deed.testing import Env, Reverted
from deed.vm.oracle import sign_report

CONTRACT = "contracts/escrow/trade_escrow.deed"
SHIPMENT = b"MSKU 1234567".ljust(32, b"\0")
DAY = 86400
PRICE = 5 * 10**18
END = {"Released", "Refunded", "Split"}


def carriers(env: Env):
    return env.oracle_keys(2, "carrier")


def open_deal(env: Env, seller=None, quorum=1, deadline=None):
    """Alice buys from Bob (``seller``), Carol arbitrates, one carrier reports."""
    _, bob, carol = env.accounts[:3]
    deadline = env.timestamp + 30 * DAY if deadline is None else deadline
    return env.deploy(CONTRACT, seller or bob, carol, carriers(env), quorum, SHIPMENT, deadline)


def delivered(env: Env, status: int = 1, shipment: bytes = SHIPMENT, key: int = 0) -> bytes:
    return env.sign_report("DeliveryReport", [shipment, status], [carriers(env)[key]])


@pytest.fixture
def deal(env):
    c = open_deal(env)
    c.deposit(value=PRICE)
    assert env.last_receipt.events[0].name == "Deposited"
    return env, c


def test_delivery_report_releases_to_the_seller(deal):
    env, c = deal
    bob, dave = env.accounts[1], env.accounts[3]
    before = env.balance(bob)
    c.delivery_report(delivered(env), sender=dave)
    assert [(e.name, e.args.amount, e.args.by_report) for e in env.last_receipt.events] == [
        ("Released", PRICE, True)
    ]
    assert env.balance(bob) == before + PRICE and env.balance(c) == 0
    with env.reverts("not funded"):
        c.delivery_report(delivered(env, key=1), sender=dave)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda env: delivered(env, status=2), "not delivered"),
        (lambda env: delivered(env, shipment=b"\x09" * 32), "report is for another shipment"),
        (lambda env: b"junk", "malformed oracle report: report too short"),
        (  # data that is not the declared fields: signed by hand
            lambda env: sign_report(env.timestamp, SHIPMENT, [(0, carriers(env)[0].key)]),
            "report data is not a DeliveryReport",
        ),
    ],
)
def test_bad_delivery_reports(deal, make, reason):
    env, c = deal
    with env.reverts(reason):
        c.delivery_report(make(env), sender=env.accounts[3])


def test_buyer_confirms(deal):
    env, c = deal
    with env.reverts("not allowed"):
        c.confirm_delivery(sender=env.accounts[1])
    c.confirm_delivery()
    assert env.last_receipt.events[0].args.by_report is False
    assert c.status() == "Released"


def test_dispute_and_split(deal):
    env, c = deal
    alice, bob, carol, dave = env.accounts[:4]
    with env.reverts("not a party"):
        c.dispute(sender=dave)
    with env.reverts("not disputed"):
        c.resolve(5000, sender=carol)
    c.dispute(sender=bob)
    assert env.last_receipt.events[0].name == "DisputeRaised"
    with env.reverts("not allowed"):
        c.resolve(5000, sender=alice)
    with env.reverts("more than 100%"):
        c.resolve(10_001, sender=carol)
    seller, buyer = env.balance(bob), env.balance(alice)
    c.resolve(7_000, sender=carol)
    assert [(e.name, e.args) for e in env.last_receipt.events] == [
        ("DisputeResolved", {"to_seller": PRICE * 7 // 10, "to_buyer": PRICE * 3 // 10})
    ]
    assert env.balance(bob) == seller + PRICE * 7 // 10
    assert env.balance(alice) == buyer + PRICE * 3 // 10
    assert env.balance(c) == 0


def test_refund_after_the_deadline(deal):
    env, c = deal
    with env.reverts("deadline not reached"):
        c.refund()
    env.time_travel(seconds=31 * DAY)
    c.refund()
    assert [(e.name, e.args.amount) for e in env.last_receipt.events] == [("Refunded", PRICE)]
    with env.reverts("not funded"):
        c.refund()


def test_deposit_and_init_rules(env):
    bob = env.accounts[1]
    c = open_deal(env)
    with env.reverts("not allowed"):
        c.deposit(sender=bob, value=1)
    with env.reverts("empty deposit"):
        c.deposit(value=0)
    with env.reverts("not funded"):
        c.confirm_delivery()
    c.deposit(value=1)
    with env.reverts("already funded"):
        c.deposit(value=1)
    with env.reverts("three different parties"):
        open_deal(env, seller=env.accounts[2])  # the seller is the arbiter
    with env.reverts("deadline in the past"):
        open_deal(env, deadline=1)


def test_carrier_keys_are_checked(env):
    with env.reverts("bad carrier keys or quorum"):
        open_deal(env, quorum=3)


def attempt(call, *args, **kw) -> None:
    """A step of the machine: it may revert (the invariants judge the outcome)."""
    try:
        call(*args, **kw)
    except Reverted:
        pass


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.env = Env()
        self.alice, self.bob, self.carol = self.env.accounts[:3]
        self.c = open_deal(self.env)
        self.start = self.env.balance(self.alice) + self.env.balance(self.bob)

    @rule(amount=st.integers(0, 10**18))
    def deposit(self, amount):
        attempt(self.c.deposit, value=amount)

    @rule(who=st.sampled_from(["alice", "bob", "dave"]))
    def dispute(self, who):
        attempt(self.c.dispute, sender=self.env.account(who))

    @rule(bps=st.integers(0, 10_000))
    def resolve(self, bps):
        attempt(self.c.resolve, bps, sender=self.carol)

    @rule()
    def report(self):
        attempt(self.c.delivery_report, delivered(self.env), sender=self.env.account("dave"))

    @rule()
    def confirm(self):
        attempt(self.c.confirm_delivery)

    @rule()
    def late_refund(self):
        self.env.time_travel(seconds=31 * DAY)
        attempt(self.c.refund)

    @invariant()
    def money_is_conserved_and_ends_empty(self):
        held = self.env.balance(self.c)
        parties = self.env.balance(self.alice) + self.env.balance(self.bob)
        assert parties + held == self.start, "money created or lost"
        assert self.c.held() == held
        if self.c.status() in END:
            assert held == 0, "an end state holds money"


TestEscrowInvariants = EscrowMachine.TestCase
TestEscrowInvariants.settings = settings(max_examples=20, stateful_step_count=10, deadline=None)
