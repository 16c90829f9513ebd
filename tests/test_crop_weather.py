"""contracts/insurance/crop_weather.deed: purchase before the season,
proportional payouts from a signed rainfall index recorded within the
settlement window, expiry, and the capital rules; one report settling every
policy of its region (it used to settle one); and a stateful model checking
every operation against the rules."""

from dataclasses import dataclass

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
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


def index_report(h, rainfall, region=REGION, season=SEASON, age=0, signers=(0, 1)):
    """A report of a season's rainfall in a region, signed ``age`` seconds ago."""
    return sign_report(
        h.timestamp - age,
        season + region + rainfall.to_bytes(32, "big"),
        [(i, ORACLES[i]) for i in signers],
    )


def premium(h, c, insured=SUM) -> int:
    return h.call(c, "premium_for", [insured]).return_values[0]


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


def test_record_in_the_window_then_settle(cover):
    h, c = cover
    assert (
        h.send("carol", c, "record_rainfall", [index_report(h, 150)]).revert_reason
        == "outside the settlement window"
    )
    h.next_block(seconds=101 * DAY)  # the season ended a day ago
    assert (
        h.send("carol", c, "record_rainfall", [index_report(h, 150, season=b"\x02" * 32)])
    ).revert_reason == "report is for another season"
    short = sign_report(h.timestamp, SEASON + REGION, [(0, ORACLES[0]), (1, ORACLES[1])])
    assert (
        h.send("carol", c, "record_rainfall", [short]).revert_reason
        == "report data is not a RainfallReport"
    )
    early = index_report(h, 400, age=DAY + 1)  # signed a second before the season ended
    assert (
        h.send("carol", c, "record_rainfall", [early]).revert_reason
        == "report signed before the season ended"
    )
    for call in (("settle", [0]), ("rainfall_of", [REGION])):
        r = h.send("carol", c, *call)
        assert r.revert_reason == "no rainfall recorded for the region"
    # a report of another region records that region, not this one
    r = h.send("carol", c, "record_rainfall", [index_report(h, 10, region=b"\x01" * 32)])
    assert [(e.event, e.values) for e in r.logs] == [("RainfallRecorded", (b"\x01" * 32, 10))]
    assert h.send("carol", c, "settle", [0]).revert_reason == "no rainfall recorded for the region"
    r = h.send("carol", c, "record_rainfall", [index_report(h, 150)])
    assert [(e.event, e.values) for e in r.logs] == [("RainfallRecorded", (REGION, 150))]
    assert h.call(c, "rainfall_of", [REGION]).return_values == (150,)
    # the first report of a region fixes its rainfall for every policy of it
    other = index_report(h, 40, age=1)
    assert (
        h.send("carol", c, "record_rainfall", [other]).revert_reason
        == "rainfall already recorded for the region"
    )
    before = h.chain.balance(h.addr("bob"))
    r = h.send("carol", c, "settle", [0])  # anyone may settle: the farmer is paid
    assert [(e.event, e.values[2:]) for e in r.logs] == [("PolicySettled", (150, SUM * 3 // 4))]
    assert h.chain.balance(h.addr("bob")) == before + SUM * 3 // 4
    assert h.send("carol", c, "settle", [0]).revert_reason == "policy not active"
    assert h.send("carol", c, "settle", [7]).revert_reason == "no such policy"
    assert h.call(c, "reserved_funds").return_values == (0,)


def test_one_report_settles_every_policy_of_its_region(cover):
    """The reported flaw, step by step. Bob, Carol and Dave insure the same
    region; the oracles publish one report of its rainfall. Before the fix a
    report settled the policy it was brought with, and the VM refuses a
    report a contract has used: Carol's and Dave's settlements reverted with
    "oracle report already used". Now the report records the region's
    rainfall once, and each policy settles from it, once."""
    h, c = cover
    for farmer in ("carol", "dave"):
        assert h.send(farmer, c, "buy", [REGION, SUM], value=premium(h, c)).success
    h.next_block(seconds=101 * DAY)
    published = index_report(h, 200)
    assert h.send("alice", c, "record_rainfall", [published]).success
    assert (
        h.send("alice", c, "record_rainfall", [published]).revert_reason
        == "oracle report already used"
    )
    for policy, farmer in enumerate(("bob", "carol", "dave")):
        before = h.chain.balance(h.addr(farmer))
        r = h.send("alice", c, "settle", [policy])
        assert [(e.event, e.values[1:]) for e in r.logs] == [
            ("PolicySettled", (h.addr(farmer), 200, SUM // 2))
        ]
        assert h.chain.balance(h.addr(farmer)) == before + SUM // 2
        assert h.send("alice", c, "settle", [policy]).revert_reason == "policy not active"
    assert h.call(c, "reserved_funds").return_values == (0,)


def test_a_recorded_region_settles_after_the_window_and_never_expires(cover):
    h, c = cover
    other = b"Kisumu".ljust(32, b"\0")
    assert h.send("carol", c, "buy", [other, SUM], value=premium(h, c)).success
    h.next_block(seconds=101 * DAY)
    assert h.send("dave", c, "record_rainfall", [index_report(h, 50)]).success
    h.next_block(seconds=40 * DAY)  # the window is over
    assert (
        h.send("dave", c, "expire", [0]).revert_reason
        == "the region's rainfall is recorded: settle it"
    )
    assert h.send("dave", c, "expire", [1]).logs[0].event == "PolicyExpired"  # nothing recorded
    assert h.send("dave", c, "settle", [0]).logs[0].values[3] == SUM


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


# The stateful model: policies in two regions; the oracles publish reports
# (of either region, at any rainfall, some signed before the season ended);
# anyone records, settles and expires, in any order, across the season.
REGIONS = [REGION, b"Kisumu".ljust(32, b"\0")]
TRIGGER, EXIT, WINDOW, MAX_AGE = 300, 100, 30 * DAY, 2 * DAY


def model_payout(insured: int, rain: int) -> int:
    if rain >= TRIGGER:
        return 0
    if rain <= EXIT:
        return insured
    return insured * (TRIGGER - rain) // (TRIGGER - EXIT)


@dataclass
class ModelPolicy:
    region: bytes
    insured: int
    status: int = 0  # Active, Settled, Expired


@dataclass
class Published:
    region: bytes
    rain: int
    signed_at: int
    raw: bytes
    used: bool = False


class CropMachine(RuleBasedStateMachine):
    """Purchases, published reports, records, settlements, expiries and
    withdrawals; each succeeds exactly when the model says, and pays what it
    says."""

    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = open_cover(self.h)
        self.end = self.h.timestamp + 100 * DAY
        self.start = self.h.timestamp + 10 * DAY
        self.inflow = 5 * SUM
        self.outflow = 0
        self.policies: list[ModelPolicy] = []
        self.reports: list[Published] = []
        self.recorded: dict[bytes, int] = {}
        self.paid_rain: dict[bytes, set[int]] = {r: set() for r in REGIONS}
        self.buy("bob", REGIONS[0], SUM)
        self.buy("carol", REGIONS[1], SUM // 2)

    def reserved(self) -> int:
        return sum(p.insured for p in self.policies if p.status == 0)

    @rule(
        who=st.sampled_from(["bob", "carol", "dave"]),
        region=st.sampled_from(REGIONS),
        insured=st.integers(1, 2 * SUM),
    )
    def buy(self, who, region, insured):
        cost = premium(self.h, self.c, insured)
        r = self.h.send(who, self.c, "buy", [region, insured], value=cost, price=0)
        balance = self.inflow - self.outflow + cost
        may = self.h.timestamp < self.start and balance >= self.reserved() + insured
        assert r.success == may, r.revert_reason
        if r.success:
            self.policies.append(ModelPolicy(region, insured))
            self.inflow += cost

    @rule(seconds=st.sampled_from([DAY, 3 * DAY, 20 * DAY]))
    def wait(self, seconds):
        self.h.next_block(seconds=seconds)

    @rule(days=st.sampled_from([0, 1, 10]))
    def season_ends(self, days):
        """The season runs its course: the chain moves to ``days`` into the window."""
        if self.h.timestamp < self.end:
            self.h.next_block(seconds=self.end + days * DAY - self.h.timestamp)

    @rule(
        region=st.sampled_from(REGIONS),
        rain=st.integers(0, 400),
        early=st.sampled_from([0, 0, 0, DAY]),
        bring=st.booleans(),
    )
    def publish(self, region, rain, early, bring):
        """The oracles sign a report now (or, ``early``, a day ago); someone
        may bring it at once."""
        early = min(early, self.h.timestamp)
        raw = index_report(self.h, rain, region=region, age=early)
        self.reports.append(Published(region, rain, self.h.timestamp - early, raw))
        if bring:
            self.record(0)

    @rule(j=st.integers(0, 2))
    def record(self, j):
        if not self.reports:
            return
        rep = self.reports[-1 - j % len(self.reports)]  # j = 0: the latest report
        r = self.h.send("alice", self.c, "record_rainfall", [rep.raw], price=0)
        now = self.h.timestamp
        may = (
            self.end <= now < self.end + WINDOW
            and not rep.used
            and now - rep.signed_at <= MAX_AGE
            and rep.signed_at >= self.end
            and rep.region not in self.recorded
        )
        assert r.success == may, r.revert_reason
        if r.success:
            rep.used = True
            self.recorded[rep.region] = rep.rain
            event("a region recorded")

    @rule(i=st.integers(0, 4))
    def settle(self, i):
        if not self.policies:
            return
        index = i % len(self.policies)
        p = self.policies[index]
        r = self.h.send("carol", self.c, "settle", [index], price=0)
        assert r.success == (p.status == 0 and p.region in self.recorded), r.revert_reason
        if r.success:
            rain = self.recorded[p.region]
            assert r.logs[0].values[2:] == (rain, model_payout(p.insured, rain))
            self.paid_rain[p.region].add(rain)
            p.status = 1
            self.outflow += model_payout(p.insured, rain)
            event("a policy settled")

    @rule(i=st.integers(0, 4))
    def expire(self, i):
        if not self.policies:
            return
        index = i % len(self.policies)
        p = self.policies[index]
        r = self.h.send("dave", self.c, "expire", [index], price=0)
        over = self.h.timestamp >= self.end + WINDOW
        assert r.success == (p.status == 0 and over and p.region not in self.recorded)
        if r.success:
            p.status = 2

    @rule(amount=st.integers(0, 2 * SUM))
    def withdraw(self, amount):
        r = self.h.send("alice", self.c, "withdraw", [amount], price=0)
        assert r.success == (amount <= self.inflow - self.outflow - self.reserved())
        if r.success:
            self.outflow += amount

    @invariant()
    def books(self):
        balance = self.h.chain.balance(self.c)
        assert balance == self.inflow - self.outflow, "money created or lost"
        assert self.h.call(self.c, "reserved_funds").return_values == (self.reserved(),)
        assert balance >= self.reserved()
        for rains in self.paid_rain.values():
            assert len(rains) <= 1, "farmers of one region paid from different indexes"


TestCropInvariants = CropMachine.TestCase
TestCropInvariants.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
