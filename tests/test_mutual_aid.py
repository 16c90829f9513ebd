"""contracts/insurance/mutual_aid.deed: joining, contributing, claims approved
by k of n reviewers and paid within limits; the dilution attack (claims
filed without end to shrink an approved claim's pro-rata share) and that it
now fails; and a stateful model of the pool checking every operation and
every payout against the rules, that the books always balance and no claim
is paid twice."""

from dataclasses import dataclass, field

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, TAG_UINT, U256, ValueType

MODULE = compile_file("contracts/insurance/mutual_aid.deed").module
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hugo")
REVIEWERS = ("carol", "dave", "erin")
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
    h.send("alice", p, "file_claim", [800, EVIDENCE])
    # one open claim per member: the next waits until this one is paid or rejected
    r = h.send("alice", p, "file_claim", [200, EVIDENCE])
    assert r.revert_reason == "one open claim per member"
    approve(h, p, 0)
    assert h.call(p, "paid_amount", [0]).return_values == (800,)
    # what the limit has left: 200
    r = h.send("alice", p, "file_claim", [201, EVIDENCE])
    assert r.revert_reason == "over the member limit"
    assert h.send("alice", p, "file_claim", [200, EVIDENCE]).return_values == (1,)
    approve(h, p, 1)
    assert h.call(p, "paid_amount", [1]).return_values == (200,)
    assert h.call(p, "received", [h.addr("alice")]).return_values == (1000,)
    assert h.chain.balance(p) == 0


def test_a_rejected_claim_frees_the_member_to_file_again(pool):
    h, p = pool
    h.send("alice", p, "file_claim", [100, EVIDENCE])
    h.send("carol", p, "reject", [0])
    assert h.send("alice", p, "file_claim", [50, EVIDENCE]).revert_reason == (
        "one open claim per member"
    )
    h.send("dave", p, "reject", [0])
    assert h.send("alice", p, "file_claim", [50, EVIDENCE]).return_values == (1,)


def approve(h: Harness, p: bytes, claim: int, reviewers=("carol", "dave")) -> None:
    for reviewer in reviewers:
        assert h.send(reviewer, p, "approve", [claim]).success


def test_a_short_pool_pays_pro_rata():
    h = Harness(names=NAMES)
    p = open_pool(h, limit=10_000)
    h.send("alice", p, "join", value=300)
    h.send("bob", p, "join", value=300)  # the pool holds 600
    h.send("alice", p, "file_claim", [600, EVIDENCE])
    h.send("bob", p, "file_claim", [600, EVIDENCE])  # 1200 claimed against 600 held
    approve(h, p, 0, ["carol"])
    approve(h, p, 1, ["carol"])  # both backed: 1200
    approve(h, p, 0, ["dave"])
    assert h.call(p, "paid_amount", [0]).return_values == (300,)  # 600 x 600 / 1200
    approve(h, p, 1, ["erin"])
    assert h.call(p, "paid_amount", [1]).return_values == (300,)  # the same share: treated alike
    assert h.chain.balance(p) == 0


def test_many_open_claims_no_longer_dilute_an_approved_one():
    """The reported attack, step by step. Alice and Bob pay 500 each into the
    pool (1000) with a limit of 1000 each. Bob files 35 claims of 1000 that
    no reviewer will approve; Alice files a genuine claim of 500, which the
    reviewers approve. Before the fix her share was 500 x 1000 / 35,500:
    she was paid 14. Now Bob's second claim is refused, and an unapproved
    claim does not count in the pro-rata rule: Alice is paid 500."""
    h = Harness(names=NAMES)
    p = open_pool(h, limit=1_000)
    h.send("alice", p, "join", value=500)
    h.send("bob", p, "join", value=500)
    assert h.send("bob", p, "file_claim", [1_000, EVIDENCE]).success
    for _ in range(34):
        r = h.send("bob", p, "file_claim", [1_000, EVIDENCE])
        assert r.revert_reason == "one open claim per member"
    h.send("alice", p, "file_claim", [500, EVIDENCE])
    approve(h, p, 1)
    assert h.call(p, "paid_amount", [1]).return_values == (500,)
    assert h.call(p, "claim_status", [0]).return_values == (0,)  # Bob's: open, unbacked


def test_members_joined_to_dilute_dilute_nothing():
    """The same attack through several members (one open claim each, each
    joined with the minimum contribution): claims nobody approved do not
    count, so the genuine claim is paid in full."""
    h = Harness(names=NAMES)
    p = open_pool(h, limit=1_000)
    h.send("alice", p, "join", value=500)
    for sybil in ("bob", "frank", "gina", "hugo"):
        h.send(sybil, p, "join", value=10)
        assert h.send(sybil, p, "file_claim", [1_000, EVIDENCE]).success
    claim = h.send("alice", p, "file_claim", [500, EVIDENCE]).return_values[0]
    approve(h, p, claim)
    assert h.call(p, "paid_amount", [claim]).return_values == (500,)
    # a claim one reviewer approved and another rejected leaves the backed total
    h.send("carol", p, "approve", [0])
    h.send("dave", p, "reject", [0])
    h.send("erin", p, "reject", [0])
    assert h.call(p, "claim_status", [0]).return_values == (2,)
    h.send("alice", p, "contribute", value=460)  # the pool holds 500 again
    h.send("frank", p, "file_claim", [1_000, EVIDENCE])
    approve(h, p, 1)
    assert h.call(p, "paid_amount", [1]).return_values == (500,)  # all it holds: no one else backed


def test_init_checks():
    h = Harness(names=NAMES)
    types = [ADDRESS, ADDRESS, ADDRESS, ValueType(TAG_UINT, 8), U256, U256]
    same = encode_values(types, [h.addr("carol"), h.addr("carol"), h.addr("erin"), 2, 10, 100])
    assert h.deploy(MODULE, init_args=same).revert_reason == "reviewers must differ"
    bad = encode_values(types, [h.addr("carol"), h.addr("dave"), h.addr("erin"), 4, 10, 100])
    assert h.deploy(MODULE, init_args=bad).revert_reason == "quorum out of range"


QUORUM, LIMIT, MINIMUM = 2, 400, 10
MEMBERS = ("alice", "bob", "frank", "gina")


@dataclass
class ModelClaim:
    member: str
    amount: int
    approvals: set[str] = field(default_factory=set)
    rejections: set[str] = field(default_factory=set)
    status: int = 0  # Open, Paid, Rejected


class PoolMachine(RuleBasedStateMachine):
    """Members join, contribute and file claims, reviewers (and others)
    approve and reject, in any order. A model of the rules says whether each
    call succeeds and what each approved claim is paid, to the unit."""

    def __init__(self):
        super().__init__()
        self.h = Harness(names=NAMES)
        self.p = open_pool(self.h, quorum=QUORUM, limit=LIMIT)
        self.joined: set[str] = set()
        self.received = dict.fromkeys(MEMBERS, 0)
        self.claims: list[ModelClaim] = []
        self.balance = 0
        self.total_in = 0
        for who in ("alice", "bob"):
            self.join_or_contribute(who, 100)

    @rule(reviewer=st.sampled_from(REVIEWERS), i=st.integers(0, 2))
    def approve(self, reviewer, i):
        """Reviewers approve more often than they reject (so that claims get paid)."""
        self.review(reviewer, i, True)

    def open_claim_of(self, who: str) -> bool:
        return any(c.member == who and c.status == 0 for c in self.claims)

    def backed(self) -> int:
        return sum(c.amount for c in self.claims if c.status == 0 and c.approvals)

    @rule(who=st.sampled_from(MEMBERS), amount=st.integers(0, 600))
    def join_or_contribute(self, who, amount):
        fn = "contribute" if who in self.joined else "join"
        r = self.h.send(who, self.p, fn, value=amount, price=0)
        assert r.success == (amount >= MINIMUM if fn == "join" else amount > 0)
        if r.success:
            self.joined.add(who)
            self.balance += amount
            self.total_in += amount

    @rule(who=st.sampled_from(MEMBERS), amount=st.integers(0, 500))
    def file(self, who, amount):
        r = self.h.send(who, self.p, "file_claim", [amount, EVIDENCE], price=0)
        may = (
            who in self.joined
            and amount > 0
            and not self.open_claim_of(who)
            and self.received[who] + amount <= LIMIT
        )
        assert r.success == may, r.revert_reason
        if r.success:
            assert r.return_values == (len(self.claims),)
            self.claims.append(ModelClaim(who, amount))

    @rule(
        reviewer=st.sampled_from(REVIEWERS + ("bob",)),
        i=st.integers(0, 2),
        approve=st.booleans(),
    )
    def review(self, reviewer, i, approve):
        if not self.claims:
            return
        index = len(self.claims) - 1 - i % len(self.claims)  # i = 0: the latest claim
        claim = self.claims[index]
        r = self.h.send(reviewer, self.p, "approve" if approve else "reject", [index], price=0)
        may = (
            reviewer in REVIEWERS
            and claim.status == 0
            and reviewer not in claim.approvals | claim.rejections
        )
        assert r.success == may, r.revert_reason
        if not r.success:
            return
        paid = [e.values[2] for e in r.logs if e.event == "ClaimPaid"]
        if not approve:
            claim.rejections.add(reviewer)
            if len(claim.rejections) > 3 - QUORUM:
                claim.status = 2
            return
        backed = self.backed() + (0 if claim.approvals else claim.amount)
        claim.approvals.add(reviewer)
        if len(claim.approvals) < QUORUM:
            assert paid == []
            return
        share = claim.amount
        if self.balance < backed:
            share = claim.amount * self.balance // backed
        share = min(share, LIMIT - self.received[claim.member])
        assert paid == [share], "paid otherwise than the pro-rata rule says"
        event("a claim paid in part" if share < claim.amount else "a claim paid in full")
        claim.status = 1
        self.received[claim.member] += share
        self.balance -= share

    @invariant()
    def books_balance(self):
        balance = self.h.chain.balance(self.p)
        assert balance == self.balance
        assert self.h.call(self.p, "books").return_values == (balance,)
        assert sum(self.received.values()) <= self.total_in
        for who in MEMBERS:
            received = self.h.call(self.p, "received", [self.h.addr(who)]).return_values[0]
            assert received == self.received[who] <= LIMIT
        assert sum(self.open_claim_of(who) for who in MEMBERS) == sum(
            c.status == 0 for c in self.claims
        ), "a member with two open claims"


TestPoolInvariants = PoolMachine.TestCase
TestPoolInvariants.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)


def test_contributions_must_be_positive():
    h = Harness(names=NAMES)
    types = [ADDRESS, ADDRESS, ADDRESS, ValueType(TAG_UINT, 8), U256, U256]
    args = encode_values(types, [h.addr("carol"), h.addr("dave"), h.addr("erin"), 2, 0, 100])
    assert h.deploy(MODULE, init_args=args).revert_reason == "contributions must be positive"
