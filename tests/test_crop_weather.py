"""contracts/insurance/crop_weather.deed: purchase before the season,
proportional payouts from a signed rainfall index within the settlement
window, expiry, and the capital rules."""

import pytest
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.types import BYTES32, TAG_BYTES, TAG_UINT, U64, U256, ValueType

MODULE = compile_file("contracts/insurance/crop_weather.deed").module
ORACLES = [KeyPair.from_text(f"weather {i}") for i in range(3)]
SEASON = b"2027 long rains".ljust(32, b"\0")
REGION = b"Nakuru".ljust(32, b"\0")
DAY = 86400
SUM = 1_000_000


def open_cover(h: Harness) -> bytes:
    types = [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64, U64, U256, U256, U256]
    start, end = h.timestamp + 10 * DAY, h.timestamp + 100 * DAY
    args = encode_values(types, [signer_set(ORACLES), 2, SEASON, start, end, 300, 100, 800])
    r = h.deploy(MODULE, sender="alice", init_args=args, value=5 * SUM)
    assert r.success, r.revert_reason
    return r.contract_address


def index_report(h, rainfall, region=REGION, season=SEASON):
    return sign_report(
        h.timestamp,
        season + region + rainfall.to_bytes(32, "big"),
        [(0, ORACLES[0]), (1, ORACLES[1])],
    )


@pytest.fixture
def cover():
    h = Harness()
    c = open_cover(h)
    premium = h.call(c, "premium_for", [SUM]).return_values[0]
    r = h.send("bob", c, "buy", [REGION, SUM], value=premium)
    assert r.success and r.logs[0].event == "PolicyBought"
    return h, c


@pytest.mark.parametrize(
    "rain, payout", [(50, SUM), (100, SUM), (200, SUM // 2), (299, SUM // 200), (300, 0), (900, 0)]
)
def test_payout_in_proportion(cover, rain, payout):
    h, c = cover
    assert h.call(c, "payout_for", [SUM, rain]).return_values == (payout,)


def test_settle_in_the_window(cover):
    h, c = cover
    assert (
        h.send("carol", c, "settle", [0, index_report(h, 150)]).revert_reason
        == "outside the settlement window"
    )
    h.next_block(seconds=101 * DAY)
    assert (
        h.send("carol", c, "settle", [0, index_report(h, 150, region=b"\x01" * 32)]).revert_reason
        == "report is for another region"
    )
    assert (
        h.send("carol", c, "settle", [0, index_report(h, 150, season=b"\x02" * 32)]).revert_reason
        == "report is for another season"
    )
    short = sign_report(h.timestamp, SEASON + REGION, [(0, ORACLES[0]), (1, ORACLES[1])])
    assert (
        h.send("carol", c, "settle", [0, short]).revert_reason
        == "report data is not a RainfallReport"
    )
    before = h.chain.balance(h.addr("bob"))
    r = h.send("carol", c, "settle", [0, index_report(h, 150)])
    assert [(e.event, e.values[2:]) for e in r.logs] == [("PolicySettled", (150, SUM * 3 // 4))]
    assert h.chain.balance(h.addr("bob")) == before + SUM * 3 // 4
    assert (
        h.send("carol", c, "settle", [0, index_report(h, 140)]).revert_reason == "policy not active"
    )
    assert h.call(c, "reserved_funds").return_values == (0,)


def test_buy_rules_and_expiry(cover):
    h, c = cover
    assert h.send("bob", c, "buy", [REGION, SUM], value=1).revert_reason == "wrong premium"
    big = 10 * SUM
    assert (
        h.send(
            "bob", c, "buy", [REGION, big], value=h.call(c, "premium_for", [big]).return_values[0]
        ).revert_reason
        == "not enough cover left"
    )
    assert h.send("bob", c, "expire", [0]).revert_reason == "settlement window open"
    h.next_block(seconds=11 * DAY)
    assert (
        h.send(
            "bob", c, "buy", [REGION, SUM], value=h.call(c, "premium_for", [SUM]).return_values[0]
        ).revert_reason
        == "the season has started"
    )
    h.next_block(seconds=121 * DAY)
    assert h.send("bob", c, "expire", [0]).logs[0].event == "PolicyExpired"
    assert h.call(c, "reserved_funds").return_values == (0,)
    assert h.send("bob", c, "withdraw", [1]).revert_reason == "not allowed"
    assert h.send("alice", c, "withdraw", [h.chain.balance(c)]).logs[0].event == "Withdrawn"
    assert h.chain.balance(c) == 0


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"quorum": 4}, "bad oracle keys or quorum"),
        ({"end": -5}, "the season ends before it starts"),
        ({"exit": 300}, "the exit must be below the trigger"),
        ({"premium": 0}, "premium out of range"),
    ],
)
def test_init_checks(change, reason):
    h = Harness()
    types = [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), BYTES32, U64, U64, U256, U256, U256]
    start = h.timestamp + 10 * DAY
    end = start + change.get("end", 90 * DAY) if change.get("end", 1) > 0 else start - 5
    values = [
        signer_set(ORACLES),
        change.get("quorum", 2),
        SEASON,
        start,
        end,
        300,
        change.get("exit", 100),
        change.get("premium", 800),
    ]
    assert h.deploy(MODULE, init_args=encode_values(types, values)).revert_reason == reason


def test_nothing_insured(cover):
    h, c = cover
    assert h.send("bob", c, "buy", [REGION, 0], value=0).revert_reason == "nothing insured"


from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402


class CropMachine(RuleBasedStateMachine):
    """Purchases, settlements at random rainfall, expiries and withdrawals."""

    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = open_cover(self.h)
        self.inflow = 5 * SUM
        self.outflow = 0
        self.active: dict[int, int] = {}
        self.settled: set[int] = set()
        self.count = 0

    @rule(insured=st.integers(1, 2 * SUM))
    def buy(self, insured):
        premium = self.h.call(self.c, "premium_for", [insured]).return_values[0]
        r = self.h.send("bob", self.c, "buy", [REGION, insured], value=premium, price=0)
        if r.success:
            self.active[self.count] = insured
            self.count += 1
            self.inflow += premium

    @rule(seconds=st.sampled_from([DAY, 50 * DAY, 100 * DAY]))
    def wait(self, seconds):
        self.h.next_block(seconds=seconds)

    @rule(i=st.integers(0, 4), rain=st.integers(0, 400))
    def settle(self, i, rain):
        r = self.h.send("carol", self.c, "settle", [i, index_report(self.h, rain)], price=0)
        if r.success:
            assert i not in self.settled, "settled twice"
            self.settled.add(i)
            self.outflow += r.logs[0].values[3]
            assert r.logs[0].values[3] <= self.active.pop(i)

    @rule(i=st.integers(0, 4))
    def expire(self, i):
        if self.h.send("dave", self.c, "expire", [i], price=0).success:
            self.active.pop(i)

    @invariant()
    def books(self):
        balance = self.h.chain.balance(self.c)
        assert balance == self.inflow - self.outflow, "money created or lost"
        assert self.h.call(self.c, "reserved_funds").return_values == (sum(self.active.values()),)
        assert balance >= sum(self.active.values())


TestCropInvariants = CropMachine.TestCase
TestCropInvariants.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
