"""contracts/insurance/flight_delay.deed: every public function, its reverts
and events, and a stateful test of its invariants (money neither created
nor lost; every policy paid at most once; reserves always cover the payouts)."""

from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.types import TAG_BYTES, TAG_UINT, ValueType

ROOT = Path(__file__).parent.parent
MODULE = compile_file("contracts/insurance/flight_delay.deed").module
ORACLES = [KeyPair.from_text(f"flight oracle {i}") for i in range(3)]
ETHER = 10**18
PAYOUT = ETHER
PREMIUM = PAYOUT * 500 // 10_000  # 5%
FLIGHT = b"LH454 2026-11-22".ljust(32, b"\0")
HOUR, DAY = 3600, 86400


def deploy(h: Harness, capital: int = 3 * ETHER) -> bytes:
    args = encode_values(
        [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), ValueType(TAG_UINT, 256)],
        [signer_set(ORACLES), 2, 500],
    )
    r = h.deploy(MODULE, sender="alice", init_args=args, value=capital)
    assert r.success, r.revert_reason
    return r.contract_address


def report(h: Harness, flight: bytes, delay: int, signers=(0, 1), age: int = 60) -> bytes:
    data = flight + delay.to_bytes(32, "big")
    return sign_report(h.timestamp - age, data, [(i, ORACLES[i]) for i in signers])


@pytest.fixture
def cover():
    h = Harness()
    return h, deploy(h)


def buy(h, c, who="bob", flight=FLIGHT, payout=PAYOUT, departs_in=DAY):
    return h.send(
        who,
        c,
        "buy",
        [flight, h.timestamp + departs_in, payout],
        value=h.call(c, "premium_for", [payout]).return_values[0],
    )


def test_buy_and_claim_pays_once(cover):
    h, c = cover
    assert h.call(c, "premium_for", [PAYOUT]).return_values == (PREMIUM,)
    r = buy(h, c)
    assert r.success and r.return_values == (0,)
    assert [e.event for e in r.logs] == ["PolicyBought"]
    assert h.call(c, "reserved_funds").return_values == (PAYOUT,)
    h.next_block(seconds=2 * HOUR)
    before = h.chain.balance(h.addr("bob"))
    r = h.send("carol", c, "claim", [0, report(h, FLIGHT, 150)])  # anyone may bring the report
    assert r.success and [(e.event, e.values[2:]) for e in r.logs] == [
        ("PolicyPaid", (PAYOUT, 150))
    ]
    assert h.chain.balance(h.addr("bob")) == before + PAYOUT
    assert h.call(c, "status_of", [0]).return_values == (1,)
    assert (
        h.send("carol", c, "claim", [0, report(h, FLIGHT, 151)]).revert_reason
        == "policy not active"
    )
    assert h.call(c, "reserved_funds").return_values == (0,)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda h: report(h, FLIGHT, 60), "delay under the threshold"),
        (lambda h: report(h, b"XX1".ljust(32, b"\0"), 300), "report is for another flight"),
        (lambda h: report(h, FLIGHT, 300, signers=(2,)), "oracle quorum not reached"),
        (lambda h: report(h, FLIGHT, 300, age=7 * HOUR), "stale oracle report"),
        (
            lambda h: sign_report(h.timestamp, FLIGHT, [(0, ORACLES[0]), (1, ORACLES[1])]),
            "report data is not a DelayReport",
        ),
    ],
)
def test_claim_reverts(cover, make, reason):
    h, c = cover
    buy(h, c)
    h.next_block(seconds=10 * HOUR)
    assert h.send("carol", c, "claim", [0, make(h)]).revert_reason == reason
    assert (
        h.send("carol", c, "claim", [9, report(h, FLIGHT, 300)]).revert_reason == "no such policy"
    )


def test_a_report_is_used_once(cover):
    h, c = cover
    buy(h, c)
    buy(h, c, who="dave")
    r = report(h, FLIGHT, 200)
    assert h.send("carol", c, "claim", [0, r]).success
    assert h.send("carol", c, "claim", [1, r]).revert_reason == "oracle report already used"
    same = report(h, FLIGHT, 200, signers=(1, 2))  # other signers, same content: the same report
    assert h.send("carol", c, "claim", [1, same]).revert_reason == "oracle report already used"
    assert h.send("carol", c, "claim", [1, report(h, FLIGHT, 200, age=61)]).success


def test_buy_reverts(cover):
    h, c = cover
    assert (
        h.send("bob", c, "buy", [FLIGHT, h.timestamp + DAY, PAYOUT], value=1).revert_reason
        == "wrong premium"
    )
    assert (
        h.send("bob", c, "buy", [FLIGHT, h.timestamp - 1, PAYOUT], value=PREMIUM).revert_reason
        == "the flight has left"
    )
    assert (
        h.send("bob", c, "buy", [FLIGHT, h.timestamp + DAY, 0], value=0).revert_reason
        == "nothing to cover"
    )
    big = 10 * ETHER
    r = buy(h, c, payout=big)
    assert r.status == "reverted" and r.error[0] == "NotEnoughCover"


def test_expiry_releases_the_reserve(cover):
    h, c = cover
    buy(h, c, departs_in=HOUR)
    assert h.send("dave", c, "expire", [0]).revert_reason == "claim window open"
    h.next_block(seconds=HOUR + 2 * DAY + 1)
    r = h.send("dave", c, "expire", [0])
    assert r.success and [(e.event, e.values) for e in r.logs] == [("PolicyExpired", (0, PAYOUT))]
    assert h.call(c, "reserved_funds").return_values == (0,)
    assert h.send("dave", c, "expire", [0]).revert_reason == "policy not active"
    assert h.send("dave", c, "expire", [5]).revert_reason == "no such policy"


def test_insurer_funds_and_withdraws_only_free_capital(cover):
    h, c = cover
    r = h.send("dave", c, "fund", value=ETHER)
    assert [(e.event, e.values[1]) for e in r.logs] == [("Funded", ETHER)]
    buy(h, c)
    free = h.call(c, "free_capital").return_values[0]
    assert free == 4 * ETHER + PREMIUM - PAYOUT
    assert h.send("bob", c, "withdraw", [1]).revert_reason == "not allowed"
    assert h.send("alice", c, "withdraw", [free + 1]).revert_reason == "capital is reserved"
    r = h.send("alice", c, "withdraw", [free])
    assert r.success and r.logs[0].event == "Withdrawn"
    assert h.chain.balance(c) == PAYOUT


def test_init_checks_its_parameters():
    h = Harness()
    bad = encode_values(
        [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), ValueType(TAG_UINT, 256)],
        [signer_set(ORACLES), 4, 500],
    )
    assert h.deploy(MODULE, init_args=bad).revert_reason == "quorum out of range"
    bad = encode_values(
        [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), ValueType(TAG_UINT, 256)],
        [signer_set(ORACLES), 2, 0],
    )
    assert h.deploy(MODULE, init_args=bad).revert_reason == "premium out of range"
    bad = encode_values(
        [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), ValueType(TAG_UINT, 256)],
        [b"\x01" * 33, 1, 500],
    )
    assert h.deploy(MODULE, init_args=bad).revert_reason == "oracle keys are 32 bytes each"


class CoverMachine(RuleBasedStateMachine):
    """Random purchases, claims, expiries, fundings and withdrawals."""

    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = deploy(self.h, capital=2 * ETHER)
        self.policies: list[dict] = []
        self.paid_out = 0
        self.paid_in = 2 * ETHER
        self.withdrawn = 0

    @rule(
        who=st.sampled_from(["bob", "carol", "dave"]),
        payout=st.integers(1, 3 * ETHER),
        flight=st.integers(0, 3),
    )
    def buy(self, who, payout, flight):
        fl = bytes([flight]) * 32
        premium = self.h.call(self.c, "premium_for", [payout]).return_values[0]
        r = self.h.send(
            who, self.c, "buy", [fl, self.h.timestamp + DAY, payout], value=premium, price=0
        )
        if r.success:
            self.policies.append({"flight": fl, "payout": payout, "holder": who, "status": 0})
            self.paid_in += premium

    @rule(i=st.integers(0, 10), delay=st.integers(0, 400))
    def claim(self, i, delay):
        if i >= len(self.policies):
            return
        p = self.policies[i]
        r = self.h.send("carol", self.c, "claim", [i, report(self.h, p["flight"], delay)], price=0)
        if r.success:
            assert p["status"] == 0 and delay >= 120, "paid twice or under the threshold"
            p["status"] = 1
            self.paid_out += p["payout"]

    @rule(seconds=st.sampled_from([HOUR, DAY, 3 * DAY]))
    def wait(self, seconds):
        self.h.next_block(seconds=seconds)

    @rule(i=st.integers(0, 10))
    def expire(self, i):
        if i < len(self.policies) and self.h.send("dave", self.c, "expire", [i], price=0).success:
            assert self.policies[i]["status"] == 0
            self.policies[i]["status"] = 2

    @rule(amount=st.integers(0, ETHER))
    def withdraw(self, amount):
        if self.h.send("alice", self.c, "withdraw", [amount], price=0).success:
            self.withdrawn += amount

    @invariant()
    def books_balance(self):
        reserved = sum(p["payout"] for p in self.policies if p["status"] == 0)
        assert self.h.call(self.c, "reserved_funds").return_values == (reserved,)
        balance = self.h.chain.balance(self.c)
        assert balance == self.paid_in - self.paid_out - self.withdrawn, "money created or lost"
        assert balance >= reserved, "sold more cover than it can pay"


TestCoverInvariants = CoverMachine.TestCase
TestCoverInvariants.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
