"""contracts/escrow/milestone_escrow.deed: milestones, tranches, disputes,
refunds; a stateful test that money is conserved and end states are empty."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, U64

MODULE = compile_file("contracts/escrow/milestone_escrow.deed").module
DAY = 86400
COMPLETED, REFUNDED, SPLIT = 3, 4, 5


def open_deal(h: Harness, milestones=(100, 200, 300)) -> bytes:
    args = encode_values(
        [ADDRESS, ADDRESS, U64], [h.addr("bob"), h.addr("carol"), h.timestamp + 60 * DAY]
    )
    r = h.deploy(MODULE, sender="alice", init_args=args)
    assert r.success, r.revert_reason
    c = r.contract_address
    for m in milestones:
        assert h.send("alice", c, "add_milestone", [m]).logs[0].event == "MilestoneAdded"
    return c


@pytest.fixture
def deal():
    h = Harness()
    return h, open_deal(h)


def test_tranches_released_in_order(deal):
    h, c = deal
    assert h.call(c, "total").return_values == (600,)
    assert h.send("alice", c, "release_next").revert_reason == "not funded"
    assert (
        h.send("alice", c, "deposit", value=599).revert_reason
        == "deposit the total of the milestones"
    )
    assert h.send("alice", c, "deposit", value=600).logs[0].event == "Deposited"
    assert h.send("alice", c, "add_milestone", [5]).revert_reason == "already funded"
    assert h.send("bob", c, "release_next").revert_reason == "not allowed"
    seller = h.chain.balance(h.addr("bob"))
    for i, amount in enumerate((100, 200, 300)):
        r = h.send("alice", c, "release_next")
        assert [(e.event, e.values[0], e.values[2]) for e in r.logs] == [
            ("TrancheReleased", i, amount)
        ]
    assert h.chain.balance(h.addr("bob")) == seller + 600
    assert h.call(c, "status").return_values == (COMPLETED,) and h.chain.balance(c) == 0
    assert h.send("alice", c, "release_next").revert_reason == "not funded"


def test_dispute_splits_what_remains(deal):
    h, c = deal
    h.send("alice", c, "deposit", value=600)
    h.send("alice", c, "release_next")
    assert h.send("dave", c, "dispute").revert_reason == "not a party"
    assert h.send("bob", c, "dispute").logs[0].event == "DisputeRaised"
    r = h.send("carol", c, "resolve", [2_500])
    assert [(e.event, e.values) for e in r.logs] == [("DisputeResolved", (125, 375))]
    assert h.chain.balance(c) == 0 and h.call(c, "status").return_values == (SPLIT,)


def test_refund_after_the_deadline(deal):
    h, c = deal
    h.send("alice", c, "deposit", value=600)
    h.send("alice", c, "release_next")
    assert h.send("alice", c, "refund").revert_reason == "deadline not reached"
    h.next_block(seconds=61 * DAY)
    r = h.send("alice", c, "refund")
    assert [(e.event, e.values[1]) for e in r.logs] == [("Refunded", 500)]
    assert h.chain.balance(c) == 0


def test_planning_rules():
    h = Harness()
    c = open_deal(h, milestones=())
    assert h.send("alice", c, "deposit", value=0).revert_reason == "no milestones"
    assert h.send("alice", c, "add_milestone", [0]).revert_reason == "empty milestone"
    for _ in range(10):
        h.send("alice", c, "add_milestone", [1])
    assert h.send("alice", c, "add_milestone", [1]).revert_reason == "list is full"


class MilestoneMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = open_deal(self.h, milestones=(10, 20, 30, 40))
        self.start = sum(self.h.chain.balance(self.h.addr(n)) for n in ("alice", "bob"))

    @rule()
    def deposit(self):
        self.h.send("alice", self.c, "deposit", value=100, price=0)

    @rule()
    def release(self):
        self.h.send("alice", self.c, "release_next", price=0)

    @rule(who=st.sampled_from(["alice", "bob"]))
    def dispute(self, who):
        self.h.send(who, self.c, "dispute", price=0)

    @rule(bps=st.integers(0, 10_000))
    def resolve(self, bps):
        self.h.send("carol", self.c, "resolve", [bps], price=0)

    @rule()
    def late_refund(self):
        self.h.next_block(seconds=61 * DAY)
        self.h.send("alice", self.c, "refund", price=0)

    @invariant()
    def conserved_and_empty_at_the_end(self):
        held = self.h.chain.balance(self.c)
        assert (
            sum(self.h.chain.balance(self.h.addr(n)) for n in ("alice", "bob")) + held == self.start
        )
        assert self.h.call(self.c, "in_escrow").return_values == (held,)
        if self.h.call(self.c, "status").return_values[0] in (COMPLETED, REFUNDED, SPLIT):
            assert held == 0


TestMilestoneInvariants = MilestoneMachine.TestCase
TestMilestoneInvariants.settings = settings(max_examples=20, stateful_step_count=10, deadline=None)
