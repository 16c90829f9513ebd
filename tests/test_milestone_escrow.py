"""contracts/escrow/milestone_escrow.deed: milestones, tranches, disputes,
refunds; a stateful test that money is conserved and end states are empty."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from deed.testing import Env, Reverted

CONTRACT = "contracts/escrow/milestone_escrow.deed"
DAY = 86400
ENDS = ("Completed", "Refunded", "Split")


def open_deal(env: Env, milestones=(100, 200, 300)):
    """Alice buys from Bob, Carol arbitrates: the deal with these milestones."""
    _, bob, carol = env.accounts[:3]
    c = env.deploy(CONTRACT, bob, carol, env.timestamp + 60 * DAY)
    for m in milestones:
        c.add_milestone(m)
        assert env.last_receipt.events[0].name == "MilestoneAdded"
    return c


@pytest.fixture
def deal(env):
    return env, open_deal(env)


def test_tranches_released_in_order(deal):
    env, c = deal
    bob = env.accounts[1]
    assert c.total() == 600
    with env.reverts("not funded"):
        c.release_next()
    with env.reverts("deposit the total of the milestones"):
        c.deposit(value=599)
    c.deposit(value=600)
    assert env.last_receipt.events[0].name == "Deposited"
    with env.reverts("already funded"):
        c.add_milestone(5)
    with env.reverts("not allowed"):
        c.release_next(sender=bob)
    seller = env.balance(bob)
    for i, amount in enumerate((100, 200, 300)):
        c.release_next()
        assert [(e.name, e.args.index, e.args.amount) for e in env.last_receipt.events] == [
            ("TrancheReleased", i, amount)
        ]
    assert env.balance(bob) == seller + 600
    assert c.status() == "Completed" and env.balance(c) == 0
    with env.reverts("not funded"):
        c.release_next()


def test_dispute_splits_what_remains(deal):
    env, c = deal
    bob, carol, dave = env.accounts[1:4]
    c.deposit(value=600)
    c.release_next()
    with env.reverts("not a party"):
        c.dispute(sender=dave)
    c.dispute(sender=bob)
    assert env.last_receipt.events[0].name == "DisputeRaised"
    c.resolve(2_500, sender=carol)
    assert [(e.name, e.args) for e in env.last_receipt.events] == [
        ("DisputeResolved", {"to_seller": 125, "to_buyer": 375})
    ]
    assert env.balance(c) == 0 and c.status() == "Split"


def test_refund_after_the_deadline(deal):
    env, c = deal
    c.deposit(value=600)
    c.release_next()
    with env.reverts("deadline not reached"):
        c.refund()
    env.time_travel(seconds=61 * DAY)
    c.refund()
    assert [(e.name, e.args.amount) for e in env.last_receipt.events] == [("Refunded", 500)]
    assert env.balance(c) == 0


def test_planning_rules(env):
    c = open_deal(env, milestones=())
    with env.reverts("no milestones"):
        c.deposit(value=0)
    with env.reverts("empty milestone"):
        c.add_milestone(0)
    for _ in range(10):
        c.add_milestone(1)
    with env.reverts("list is full"):
        c.add_milestone(1)


def attempt(call, *args, **kw) -> None:
    """A step of the machine: it may revert (the invariants judge the outcome)."""
    try:
        call(*args, **kw)
    except Reverted:
        pass


class MilestoneMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.env = Env()
        self.alice, self.bob, self.carol = self.env.accounts[:3]
        self.c = open_deal(self.env, milestones=(10, 20, 30, 40))
        self.start = self.env.balance(self.alice) + self.env.balance(self.bob)

    @rule()
    def deposit(self):
        attempt(self.c.deposit, value=100)

    @rule()
    def release(self):
        attempt(self.c.release_next)

    @rule(who=st.sampled_from(["alice", "bob"]))
    def dispute(self, who):
        attempt(self.c.dispute, sender=self.env.account(who))

    @rule(bps=st.integers(0, 10_000))
    def resolve(self, bps):
        attempt(self.c.resolve, bps, sender=self.carol)

    @rule()
    def late_refund(self):
        self.env.time_travel(seconds=61 * DAY)
        attempt(self.c.refund)

    @invariant()
    def conserved_and_empty_at_the_end(self):
        held = self.env.balance(self.c)
        assert self.env.balance(self.alice) + self.env.balance(self.bob) + held == self.start
        assert self.c.in_escrow() == held
        if self.c.status() in ENDS:
            assert held == 0


TestMilestoneInvariants = MilestoneMachine.TestCase
TestMilestoneInvariants.settings = settings(max_examples=20, stateful_step_count=10, deadline=None)
