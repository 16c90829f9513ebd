"""contracts/insurance/mutual_aid.deed: joining, contributing, claims approved
by k of n reviewers and paid within limits; a stateful test that the books
always balance and no claim is paid twice."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, TAG_UINT, U256, ValueType

MODULE = compile_file("contracts/insurance/mutual_aid.deed").module
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank")
EVIDENCE = b"\x07" * 32


def open_pool(h: Harness, quorum: int = 2, limit: int = 1_000) -> bytes:
    types = [ADDRESS, ADDRESS, ADDRESS, ValueType(TAG_UINT, 8), U256, U256]
    args = encode_values(
        types, [h.addr("carol"), h.addr("dave"), h.addr("erin"), quorum, 10, limit]
    )
    r = h.deploy(MODULE, sender="frank", init_args=args)
    assert r.success, r.revert_reason
    return r.contract_address


@pytest.fixture
def pool():
    h = Harness(names=NAMES)
    p = open_pool(h)
    for who in ("alice", "bob"):
        assert h.send(who, p, "join", value=500).logs[0].event == "MemberJoined"
    return h, p


def test_join_and_contribute(pool):
    h, p = pool
    assert h.send("alice", p, "join", value=500).revert_reason == "already a member"
    assert h.send("carol", p, "join", value=5).revert_reason == "contribution too small"
    assert h.send("carol", p, "contribute", value=5).revert_reason == "not a member"
    assert h.send("alice", p, "contribute", value=0).revert_reason == "nothing contributed"
    r = h.send("alice", p, "contribute", value=100)
    assert [(e.event, e.values[1]) for e in r.logs] == [("Contributed", 100)]
    assert h.call(p, "books").return_values == (1100,) == (h.chain.balance(p),)


def test_claim_paid_after_k_approvals(pool):
    h, p = pool
    r = h.send("alice", p, "file_claim", [300, EVIDENCE])
    assert r.return_values == (0,) and r.logs[0].event == "ClaimFiled"
    assert h.send("bob", p, "approve", [0]).revert_reason == "missing role"
    assert [e.event for e in h.send("carol", p, "approve", [0]).logs] == ["ClaimApproved"]
    assert h.send("carol", p, "approve", [0]).revert_reason == "already reviewed"
    before = h.chain.balance(h.addr("alice"))
    r = h.send("dave", p, "approve", [0])
    assert [e.event for e in r.logs] == ["ClaimApproved", "ClaimPaid"]
    assert h.chain.balance(h.addr("alice")) == before + 300
    assert h.call(p, "claim_status", [0]).return_values == (1,)
    assert h.send("erin", p, "approve", [0]).revert_reason == "claim closed"
    assert h.call(p, "books").return_values == (700,)


def test_claims_rejected_when_the_quorum_is_out_of_reach(pool):
    h, p = pool
    h.send("alice", p, "file_claim", [100, EVIDENCE])
    assert h.send("carol", p, "reject", [0]).logs[0].event == "ClaimRejected"
    assert h.call(p, "claim_status", [0]).return_values == (0,)
    h.send("dave", p, "reject", [0])
    assert h.call(p, "claim_status", [0]).return_values == (2,)
    assert h.send("erin", p, "approve", [0]).revert_reason == "claim closed"
    assert h.send("erin", p, "approve", [7]).revert_reason == "no such claim"


def test_limits_cap_the_payout(pool):
    h, p = pool
    assert (
        h.send("alice", p, "file_claim", [1_001, EVIDENCE]).revert_reason == "over the member limit"
    )
    assert h.send("carol", p, "file_claim", [1, EVIDENCE]).revert_reason == "not a member"
    assert h.send("alice", p, "file_claim", [0, EVIDENCE]).revert_reason == "nothing claimed"
    # two claims of 800: the second is capped by the member limit at payment, the pool by its balance
    h.send("alice", p, "file_claim", [800, EVIDENCE])
    h.send("alice", p, "file_claim", [200, EVIDENCE])
    for reviewer in ("carol", "dave"):
        h.send(reviewer, p, "approve", [0])
    assert h.call(p, "paid_amount", [0]).return_values == (800,)
    for reviewer in ("carol", "dave"):
        h.send(reviewer, p, "approve", [1])
    assert h.call(p, "paid_amount", [1]).return_values == (200,)
    assert h.call(p, "received", [h.addr("alice")]).return_values == (1000,)
    assert h.chain.balance(p) == 0


def test_a_short_pool_pays_pro_rata():
    h = Harness(names=NAMES)
    p = open_pool(h, limit=10_000)
    h.send("alice", p, "join", value=300)
    h.send("bob", p, "join", value=300)  # the pool holds 600
    h.send("alice", p, "file_claim", [600, EVIDENCE])
    h.send("bob", p, "file_claim", [600, EVIDENCE])  # 1200 open against 600 held
    for reviewer in ("carol", "dave"):
        h.send(reviewer, p, "approve", [0])
    assert h.call(p, "paid_amount", [0]).return_values == (300,)  # 600 x 600 / 1200
    for reviewer in ("carol", "dave"):
        h.send(reviewer, p, "approve", [1])
    assert h.call(p, "paid_amount", [1]).return_values == (300,)  # the same share: treated alike
    assert h.chain.balance(p) == 0


def test_init_checks():
    h = Harness(names=NAMES)
    types = [ADDRESS, ADDRESS, ADDRESS, ValueType(TAG_UINT, 8), U256, U256]
    same = encode_values(types, [h.addr("carol"), h.addr("carol"), h.addr("erin"), 2, 10, 100])
    assert h.deploy(MODULE, init_args=same).revert_reason == "reviewers must differ"
    bad = encode_values(types, [h.addr("carol"), h.addr("dave"), h.addr("erin"), 4, 10, 100])
    assert h.deploy(MODULE, init_args=bad).revert_reason == "quorum out of range"


class PoolMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness(names=NAMES)
        self.p = open_pool(self.h, limit=400)
        self.paid: dict[int, int] = {}

    @rule(who=st.sampled_from(["alice", "bob"]), amount=st.integers(0, 600))
    def join_or_contribute(self, who, amount):
        if self.h.send(who, self.p, "join", value=amount, price=0).status != "success":
            self.h.send(who, self.p, "contribute", value=amount, price=0)

    @rule(who=st.sampled_from(["alice", "bob"]), amount=st.integers(0, 500))
    def file(self, who, amount):
        self.h.send(who, self.p, "file_claim", [amount, EVIDENCE], price=0)

    @rule(
        reviewer=st.sampled_from(["carol", "dave", "erin", "bob"]),
        claim=st.integers(0, 5),
        approve=st.booleans(),
    )
    def review(self, reviewer, claim, approve):
        r = self.h.send(reviewer, self.p, "approve" if approve else "reject", [claim], price=0)
        for e in r.logs:
            if e.event == "ClaimPaid":
                assert claim not in self.paid, "a claim paid twice"
                self.paid[claim] = e.values[2]

    @invariant()
    def books_balance(self):
        assert self.h.call(self.p, "books").return_values == (self.h.chain.balance(self.p),)
        for who in ("alice", "bob"):
            assert self.h.call(self.p, "received", [self.h.addr(who)]).return_values[0] <= 400


TestPoolInvariants = PoolMachine.TestCase
TestPoolInvariants.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)


def test_contributions_must_be_positive():
    h = Harness(names=NAMES)
    types = [ADDRESS, ADDRESS, ADDRESS, ValueType(TAG_UINT, 8), U256, U256]
    args = encode_values(types, [h.addr("carol"), h.addr("dave"), h.addr("erin"), 2, 0, 100])
    assert h.deploy(MODULE, init_args=args).revert_reason == "contributions must be positive"
