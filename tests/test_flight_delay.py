"""contracts/insurance/flight_delay.deed: every public function, its reverts
and events; the attack of buying cover once the delay is known, and that it
now fails; and a stateful test of its invariants (money neither created nor
lost; every policy paid at most once, only from a report of its flight and
departure signed after it; reserves always cover the payouts)."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report, signer_set
from deed.vm.types import TAG_BYTES, TAG_UINT, U64, ValueType

ROOT = Path(__file__).parent.parent
MODULE = compile_file("contracts/insurance/flight_delay.deed").module
ORACLES = [KeyPair.from_text(f"flight oracle {i}") for i in range(3)]
ETHER = 10**18
PAYOUT = ETHER
PREMIUM = PAYOUT * 500 // 10_000  # 5%
FLIGHT = b"LH454 2026-11-22".ljust(32, b"\0")
HOUR, DAY = 3600, 86400
LEAD = 3 * HOUR  # sales close three hours before departure
INIT_TYPES = [ValueType(TAG_BYTES, 160), ValueType(TAG_UINT, 8), ValueType(TAG_UINT, 256), U64]


def deploy(h: Harness, capital: int = 3 * ETHER) -> bytes:
    args = encode_values(INIT_TYPES, [signer_set(ORACLES), 2, 500, LEAD])
    r = h.deploy(MODULE, sender="alice", init_args=args, value=capital)
    assert r.success, r.revert_reason
    return r.contract_address


def report(
    h: Harness, flight: bytes, departure: int, delay: int, signers=(0, 1), age: int = 60
) -> bytes:
    """A report of (flight, scheduled departure, delay) signed ``age`` seconds ago."""
    data = flight + departure.to_bytes(32, "big") + delay.to_bytes(32, "big")
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


def bought(h, c, **kw) -> int:
    """Buy a policy; its scheduled departure."""
    departs_in = kw.setdefault("departs_in", DAY)
    departure = h.timestamp + departs_in
    r = buy(h, c, **kw)
    assert r.success, r.revert_reason
    return departure


def test_buy_and_claim_pays_once(cover):
    h, c = cover
    assert h.call(c, "premium_for", [PAYOUT]).return_values == (PREMIUM,)
    r = buy(h, c)
    assert r.success and r.return_values == (0,)
    assert [e.event for e in r.logs] == ["PolicyBought"]
    departure = h.timestamp + DAY
    assert h.call(c, "bought_at", [0]).return_values == (h.timestamp,)
    assert h.call(c, "reserved_funds").return_values == (PAYOUT,)
    h.next_block(seconds=DAY + 3 * HOUR)
    before = h.chain.balance(h.addr("bob"))
    paying = report(h, FLIGHT, departure, 150)
    r = h.send("carol", c, "claim", [0, paying])  # anyone may bring the report
    assert r.success and [(e.event, e.values) for e in r.logs] == [
        ("DelayRecorded", (FLIGHT, departure, 150)),
        ("PolicyPaid", (0, h.addr("bob"), PAYOUT, 150)),
    ]
    assert h.chain.balance(h.addr("bob")) == before + PAYOUT
    assert h.call(c, "status_of", [0]).return_values == (1,)
    again = report(h, FLIGHT, departure, 151)
    assert h.send("carol", c, "claim", [0, again]).revert_reason == "policy not active"
    assert h.call(c, "reserved_funds").return_values == (0,)


DEPARTS = 1_000 + DAY  # the departure `buy` names in the fixture's first block


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda h: report(h, FLIGHT, DEPARTS, 60), "delay under the threshold"),
        (
            lambda h: report(h, b"XX1".ljust(32, b"\0"), DEPARTS, 300),
            "report is for another flight",
        ),
        (lambda h: report(h, FLIGHT, DEPARTS + DAY, 300), "report is for another departure"),
        (lambda h: report(h, FLIGHT, DEPARTS, 300, signers=(2,)), "oracle quorum not reached"),
        (lambda h: report(h, FLIGHT, DEPARTS, 300, age=7 * HOUR), "stale oracle report"),
        (
            lambda h: report(h, FLIGHT, DEPARTS, 300, age=h.timestamp - DEPARTS + 1),
            "report signed before the departure",
        ),
        (
            lambda h: sign_report(
                h.timestamp, FLIGHT + (300).to_bytes(32, "big"), [(0, ORACLES[0]), (1, ORACLES[1])]
            ),
            "report data is not a DelayReport",
        ),
    ],
)
def test_claim_reverts(cover, make, reason):
    h, c = cover
    assert bought(h, c) == DEPARTS
    h.next_block(seconds=DAY + 5 * HOUR)
    assert h.send("carol", c, "claim", [0, make(h)]).revert_reason == reason
    assert (
        h.send("carol", c, "claim", [9, report(h, FLIGHT, DEPARTS, 300)]).revert_reason
        == "no such policy"
    )


def test_one_report_pays_every_policy_of_its_departure(cover):
    """The first report accepted for a departure is recorded: the other
    policies of that departure are paid from the record (the VM lets a
    contract use a report once), and no other departure's."""
    h, c = cover
    departure = bought(h, c)
    buy(h, c, who="dave")
    buy(h, c, who="carol", departs_in=DAY + HOUR)  # the same flight, a later departure
    h.next_block(seconds=DAY + HOUR)
    assert h.send("carol", c, "claim", [0, b""]).revert_reason == (
        "malformed oracle report: report too short"
    )
    r = report(h, FLIGHT, departure, 200)
    assert [e.event for e in h.send("carol", c, "claim", [0, r]).logs] == [
        "DelayRecorded",
        "PolicyPaid",
    ]
    before = h.chain.balance(h.addr("dave"))
    paid = h.send("carol", c, "claim", [1, b""])  # from the record: no report needed
    assert [(e.event, e.values[2:]) for e in paid.logs] == [("PolicyPaid", (PAYOUT, 200))]
    assert h.chain.balance(h.addr("dave")) == before + PAYOUT
    assert h.send("carol", c, "claim", [2, r]).revert_reason == "oracle report already used"
    same = report(h, FLIGHT, departure, 200, signers=(1, 2))  # other signers, same report
    assert h.send("carol", c, "claim", [2, same]).revert_reason == "oracle report already used"
    assert h.send("carol", c, "claim", [2, b""]).revert_reason == (
        "malformed oracle report: report too short"
    )
    other = report(h, FLIGHT, departure, 200, age=61)
    assert h.send("carol", c, "claim", [2, other]).revert_reason == (
        "report is for another departure"
    )


def test_cover_bought_after_the_delay_is_known_pays_nothing(cover):
    """The reported attack, step by step. Bob's flight is due in four hours
    and nobody insured it. It leaves three hours late and the oracles sign the
    delay. Before the fix, Bob then bought a policy naming a departure a
    second away, paid 5% of the payout, and claimed at once with the signed
    report: 95% of the payout gained per policy."""
    h, c = cover
    departure = h.timestamp + 4 * HOUR
    h.next_block(seconds=7 * HOUR)  # the flight has left, 180 minutes late
    known = report(h, FLIGHT, departure, 180, age=10)
    h.next_block(seconds=60)
    bob, pool = h.chain.balance(h.addr("bob")), h.chain.balance(c)
    # the old move: cover for a departure a second from now
    r = h.send("bob", c, "buy", [FLIGHT, h.timestamp + 1, PAYOUT], value=PREMIUM, price=0)
    assert r.revert_reason == "sales for this departure are closed"
    # nor for the real departure, which is past
    r = h.send("bob", c, "buy", [FLIGHT, departure, PAYOUT], value=PREMIUM, price=0)
    assert r.revert_reason == "sales for this departure are closed"
    # the earliest cover still on sale is for a departure LEAD from now: the
    # report is for another departure and pays nothing
    r = h.send("bob", c, "buy", [FLIGHT, h.timestamp + LEAD, PAYOUT], value=PREMIUM, price=0)
    assert r.success
    r = h.send("bob", c, "claim", [0, known], price=0)
    assert r.revert_reason == "report is for another departure"
    assert h.chain.balance(h.addr("bob")) == bob - PREMIUM
    assert h.chain.balance(c) == pool + PREMIUM
    assert h.call(c, "status_of", [0]).return_values == (0,)


def test_an_early_report_pays_no_policy(cover):
    """Oracles that sign a delay announced before the flight was due (a
    forecast, known before some purchases) do not pay: only a report signed
    at or after the scheduled departure does."""
    h, c = cover
    departure = bought(h, c, departs_in=LEAD)
    h.next_block(seconds=HOUR)
    forecast = report(h, FLIGHT, departure, 240, age=0)
    h.next_block(seconds=LEAD)
    assert h.send("carol", c, "claim", [0, forecast]).revert_reason == (
        "report signed before the departure"
    )
    assert h.send("carol", c, "claim", [0, report(h, FLIGHT, departure, 240)]).success


def test_buy_reverts(cover):
    h, c = cover
    assert (
        h.send("bob", c, "buy", [FLIGHT, h.timestamp + DAY, PAYOUT], value=1).revert_reason
        == "wrong premium"
    )
    for departure in (h.timestamp - 1, h.timestamp + LEAD - 1, 5):
        assert (
            h.send("bob", c, "buy", [FLIGHT, departure, PAYOUT], value=PREMIUM).revert_reason
            == "sales for this departure are closed"
        )
    assert h.send("bob", c, "buy", [FLIGHT, h.timestamp + LEAD, PAYOUT], value=PREMIUM).success
    assert (
        h.send("bob", c, "buy", [FLIGHT, h.timestamp + DAY, 0], value=0).revert_reason
        == "nothing to cover"
    )
    big = 10 * ETHER
    r = buy(h, c, payout=big)
    assert r.status == "reverted" and r.error[0] == "NotEnoughCover"


def test_a_recorded_delay_is_claimed_after_the_window_and_never_expires(cover):
    h, c = cover
    departure = bought(h, c, departs_in=LEAD)
    bought(h, c, who="dave", departs_in=LEAD)
    h.next_block(seconds=LEAD + HOUR)
    assert h.send("carol", c, "claim", [0, report(h, FLIGHT, departure, 130)]).success
    h.next_block(seconds=3 * DAY)
    assert (
        h.send("carol", c, "expire", [1]).revert_reason
        == "the departure's delay is recorded: claim it"
    )
    assert h.send("carol", c, "claim", [1, b""]).logs[0].event == "PolicyPaid"


def test_expiry_releases_the_reserve(cover):
    h, c = cover
    buy(h, c, departs_in=LEAD)
    assert h.send("dave", c, "expire", [0]).revert_reason == "claim window open"
    h.next_block(seconds=LEAD + 2 * DAY + 1)
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


@pytest.mark.parametrize(
    "args, reason",
    [
        ([signer_set(ORACLES), 4, 500, LEAD], "quorum out of range"),
        ([signer_set(ORACLES), 2, 0, LEAD], "premium out of range"),
        ([b"\x01" * 33, 1, 500, LEAD], "oracle keys are 32 bytes each"),
        (
            [signer_set(ORACLES), 2, 500, HOUR - 1],
            "sales must close an hour or more before departure",
        ),
    ],
)
def test_init_checks_its_parameters(args, reason):
    h = Harness()
    assert h.deploy(MODULE, init_args=encode_values(INIT_TYPES, args)).revert_reason == reason


# The stateful model: two flights, each with a schedule of departures that
# several policies share; policies also name departures just inside and just
# past the sales cut-off; oracles publish reports (of any flight, departure
# and delay, sometimes before the departure); anyone buys and claims, with a
# report or without one, in any order.
FLIGHTS = [bytes([f + 1]) * 32 for f in range(2)]
SCHEDULE = [LEAD + HOUR, 8 * HOUR, DAY, 2 * DAY]  # after the machine starts
JUST_CLOSED, JUST_OPEN = "closed", "open"  # LEAD - 1 and LEAD from now
THRESHOLD, MAX_AGE, CLAIM_WINDOW = 120, 6 * HOUR, 2 * DAY


@dataclass
class Policy:
    holder: str
    flight: bytes
    departure: int
    bought_at: int
    payout: int
    status: int = 0  # Active, Paid, Expired


@dataclass
class Published:
    flight: bytes
    departure: int
    delay: int
    signed_at: int
    raw: bytes
    used: bool = False


class CoverMachine(RuleBasedStateMachine):
    """Random purchases, published reports, claims, expiries, fundings and
    withdrawals, each checked against a model of the rules: an operation
    succeeds exactly when the model says it may."""

    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = deploy(self.h, capital=2 * ETHER)
        self.h.next_block(seconds=DAY)  # so that reports may name past departures
        self.schedule = [self.h.timestamp + d for d in SCHEDULE]
        self.policies: list[Policy] = []
        self.reports: list[Published] = []
        self.recorded: dict[tuple[bytes, int], Published] = {}  # the report of a departure
        self.paid_out = 0
        self.paid_in = 2 * ETHER
        self.withdrawn = 0
        for who in ("bob", "dave"):  # two travellers on one departure, one on another
            self.buy(who, ETHER // 2, FLIGHTS[0], 1)
        self.buy("carol", ETHER // 2, FLIGHTS[1], 2)

    def reserved(self) -> int:
        return sum(p.payout for p in self.policies if p.status == 0)

    @rule(
        who=st.sampled_from(["bob", "carol", "dave"]),
        payout=st.one_of(st.integers(1, ETHER // 2), st.integers(ETHER, 3 * ETHER)),
        flight=st.sampled_from(FLIGHTS),
        when=st.sampled_from([0, 1, 2, 3, JUST_CLOSED, JUST_OPEN]),
    )
    def buy(self, who, payout, flight, when):
        if when in (JUST_CLOSED, JUST_OPEN):
            departure = self.h.timestamp + LEAD - (when == JUST_CLOSED)
        else:
            departure = self.schedule[when]
        premium = self.h.call(self.c, "premium_for", [payout]).return_values[0]
        now = self.h.timestamp
        r = self.h.send(who, self.c, "buy", [flight, departure, payout], value=premium, price=0)
        balance = self.paid_in - self.paid_out - self.withdrawn + premium
        open_ = now + LEAD <= departure and balance >= self.reserved() + payout
        assert r.success == open_, (r.revert_reason, now, departure)
        if r.success:
            self.policies.append(Policy(who, flight, departure, now, payout))
            self.paid_in += premium

    @rule(
        flight=st.sampled_from(FLIGHTS),
        departed=st.sampled_from([0, HOUR, 6 * HOUR, DAY]),
        delay=st.integers(0, 400),
        signers=st.sampled_from([(0, 1), (1, 2), (0, 1, 2)]),
    )
    def publish(self, flight, departed, delay, signers):
        departure = self.h.timestamp - departed
        raw = report(self.h, flight, departure, delay, signers=signers, age=0)
        self.reports.append(Published(flight, departure, delay, self.h.timestamp, raw))

    @rule(
        i=st.integers(0, 2),
        after=st.sampled_from([-HOUR, 0, 30 * 60, 3 * HOUR]),
        delay=st.integers(0, 400),
        bring=st.booleans(),
    )
    def report_an_insured_flight(self, i, after, delay, bring):
        """The oracles sign a report of a departure somebody insured, ``after``
        seconds after it (before it: a forecast); the chain moves on to that
        time if it is ahead. Someone may claim that policy with it at once."""
        if not self.policies:
            return
        p = self.policies[-1 - i % len(self.policies)]
        signed_at = p.departure + after
        if signed_at > self.h.timestamp:
            self.h.next_block(seconds=signed_at - self.h.timestamp)
        elif after >= 0 and signed_at < self.h.timestamp - HOUR:
            signed_at = self.h.timestamp  # a departure long past: its report is signed now
        age = self.h.timestamp - signed_at
        raw = report(self.h, p.flight, p.departure, delay, age=age)
        self.reports.append(Published(p.flight, p.departure, delay, signed_at, raw))
        event("a forecast" if after < 0 else "a report signed after the departure")
        if bring:
            self.claim(i, 0, False)

    @rule(i=st.integers(0, 2), j=st.integers(0, 2), empty=st.booleans())
    def claim(self, i, j, empty):
        """Claim a policy with a report, or with none (``empty``)."""
        if not (self.policies and self.reports):
            return
        index = len(self.policies) - 1 - i % len(self.policies)  # i = 0: the latest policy
        p = self.policies[index]
        rep = self.reports[-1 - j % len(self.reports)]  # j = 0: the latest report
        raw = b"" if empty else rep.raw
        r = self.h.send("carol", self.c, "claim", [index, raw], price=0)
        key = (p.flight, p.departure)
        accepts = (
            not empty
            and not rep.used
            and self.h.timestamp - rep.signed_at <= MAX_AGE
            and (rep.flight, rep.departure) == key
            and rep.signed_at >= p.departure
            and rep.delay >= THRESHOLD
        )
        pays = p.status == 0 and (key in self.recorded or accepts)
        assert r.success == pays, r.revert_reason
        if not r.success:
            return
        if key not in self.recorded:
            rep.used = True
            self.recorded[key] = rep
            event("a delay recorded")
        else:
            event("a claim paid from the record")
        paying = self.recorded[key]
        assert r.logs[-1].values[2:] == (p.payout, paying.delay)
        bought_at = self.h.call(self.c, "bought_at", [index]).return_values[0]
        assert bought_at == p.bought_at
        assert paying.signed_at > bought_at, "paid from a report older than the policy"
        p.status = 1
        self.paid_out += p.payout
        event("a claim paid")

    @rule(seconds=st.sampled_from([HOUR, 4 * HOUR, DAY]))
    def wait(self, seconds):
        self.h.next_block(seconds=seconds)

    @rule(i=st.integers(0, 30))
    def expire(self, i):
        if not self.policies:
            return
        p = self.policies[i % len(self.policies)]
        r = self.h.send("dave", self.c, "expire", [i % len(self.policies)], price=0)
        over = self.h.timestamp >= p.departure + CLAIM_WINDOW
        assert r.success == (
            p.status == 0 and over and (p.flight, p.departure) not in self.recorded
        )
        if r.success:
            p.status = 2

    @rule(amount=st.integers(0, ETHER))
    def withdraw(self, amount):
        if self.h.send("alice", self.c, "withdraw", [amount], price=0).success:
            self.withdrawn += amount

    @invariant()
    def books_balance(self):
        reserved = self.reserved()
        assert self.h.call(self.c, "reserved_funds").return_values == (reserved,)
        balance = self.h.chain.balance(self.c)
        assert balance == self.paid_in - self.paid_out - self.withdrawn, "money created or lost"
        assert balance >= reserved, "sold more cover than it can pay"
        assert self.paid_out <= sum(p.payout for p in self.policies if p.status == 1)


TestCoverInvariants = CoverMachine.TestCase
TestCoverInvariants.settings = settings(max_examples=75, stateful_step_count=30, deadline=None)
