"""contracts/insurance/flight_delay.deed: every public function, its reverts
and events; the attack of buying cover once the delay is known, and that it
now fails; and a stateful test of its invariants (money neither created nor
lost; every policy paid at most once, only from a report of its flight and
departure signed after it; reserves always cover the payouts)."""

from dataclasses import dataclass

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from deed.testing import Env, Reverted
from deed.vm.oracle import sign_report

CONTRACT = "contracts/insurance/flight_delay.deed"
ETHER = 10**18
PAYOUT = ETHER
PREMIUM = PAYOUT * 500 // 10_000  # 5%
FLIGHT = b"LH454 2026-11-22".ljust(32, b"\0")
HOUR, DAY = 3600, 86400
LEAD = 3 * HOUR  # sales close three hours before departure


def oracles(env: Env):
    return env.oracle_keys(3, "flight oracle")


def deploy(env: Env, capital: int = 3 * ETHER, quorum: int = 2, premium_bps: int = 500, lead=LEAD):
    """Alice insures, with ``capital``; two of the three oracles must sign."""
    return env.deploy(CONTRACT, oracles(env), quorum, premium_bps, lead, value=capital)


def report(
    env: Env, flight: bytes, departure: int, delay: int, signers=(0, 1), age: int = 60
) -> bytes:
    """A report of (flight, scheduled departure, delay) signed ``age`` seconds ago."""
    keys = oracles(env)
    return env.sign_report(
        "DelayReport", [flight, departure, delay], [keys[i] for i in signers], env.timestamp - age
    )


@pytest.fixture
def cover(env):
    return env, deploy(env)


def buy(env, c, who="bob", flight=FLIGHT, payout=PAYOUT, departs_in=DAY):
    """Buy a policy paying its premium; the policy's id."""
    departure = env.timestamp + departs_in
    return c.buy(flight, departure, payout, sender=env.account(who), value=c.premium_for(payout))


def bought(env, c, **kw) -> int:
    """Buy a policy; its scheduled departure."""
    departure = env.timestamp + kw.setdefault("departs_in", DAY)
    buy(env, c, **kw)
    return departure


def names(env) -> list[str]:
    return [e.name for e in env.last_receipt.events]


def test_buy_and_claim_pays_once(cover):
    env, c = cover
    bob, carol = env.account("bob"), env.account("carol")
    assert c.premium_for(PAYOUT) == PREMIUM
    assert buy(env, c) == 0
    assert names(env) == ["PolicyBought"]
    departure = env.timestamp + DAY
    assert c.bought_at(0) == env.timestamp
    assert c.reserved_funds() == PAYOUT
    env.time_travel(seconds=DAY + 3 * HOUR)
    before = env.balance(bob)
    paying = report(env, FLIGHT, departure, 150)
    c.claim(0, paying, sender=carol)  # anyone may bring the report
    assert [(e.name, tuple(e.args.values())) for e in env.last_receipt.events] == [
        ("DelayRecorded", (FLIGHT, departure, 150)),
        ("PolicyPaid", (0, bob.address, PAYOUT, 150)),
    ]
    assert env.balance(bob) == before + PAYOUT
    assert c.status_of(0) == "Paid"
    again = report(env, FLIGHT, departure, 151)
    with env.reverts("policy not active"):
        c.claim(0, again, sender=carol)
    assert c.reserved_funds() == 0


DEPARTS = 1_000 + DAY  # the departure `buy` names in the fixture's first block


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda env: report(env, FLIGHT, DEPARTS, 60), "delay under the threshold"),
        (
            lambda env: report(env, b"XX1".ljust(32, b"\0"), DEPARTS, 300),
            "report is for another flight",
        ),
        (lambda env: report(env, FLIGHT, DEPARTS + DAY, 300), "report is for another departure"),
        (lambda env: report(env, FLIGHT, DEPARTS, 300, signers=(2,)), "oracle quorum not reached"),
        (lambda env: report(env, FLIGHT, DEPARTS, 300, age=7 * HOUR), "stale oracle report"),
        (
            lambda env: report(env, FLIGHT, DEPARTS, 300, age=env.timestamp - DEPARTS + 1),
            "report signed before the departure",
        ),
        (  # data that is not the declared fields: signed by hand
            lambda env: sign_report(
                env.timestamp,
                FLIGHT + (300).to_bytes(32, "big"),
                [(k.index, k.key) for k in oracles(env)[:2]],
            ),
            "report data is not a DelayReport",
        ),
    ],
)
def test_claim_reverts(cover, make, reason):
    env, c = cover
    carol = env.account("carol")
    assert bought(env, c) == DEPARTS
    env.time_travel(seconds=DAY + 5 * HOUR)
    with env.reverts(reason):
        c.claim(0, make(env), sender=carol)
    with env.reverts("no such policy"):
        c.claim(9, report(env, FLIGHT, DEPARTS, 300), sender=carol)


def test_one_report_pays_every_policy_of_its_departure(cover):
    """The first report accepted for a departure is recorded: the other
    policies of that departure are paid from the record (the VM lets a
    contract use a report once), and no other departure's."""
    env, c = cover
    carol, dave = env.account("carol"), env.account("dave")
    departure = bought(env, c)
    buy(env, c, who="dave")
    buy(env, c, who="carol", departs_in=DAY + HOUR)  # the same flight, a later departure
    env.time_travel(seconds=DAY + HOUR)
    with env.reverts("malformed oracle report: report too short"):
        c.claim(0, b"", sender=carol)
    r = report(env, FLIGHT, departure, 200)
    c.claim(0, r, sender=carol)
    assert names(env) == ["DelayRecorded", "PolicyPaid"]
    before = env.balance(dave)
    c.claim(1, b"", sender=carol)  # from the record: no report needed
    assert [(e.name, e.args.payout, e.args.delay_minutes) for e in env.last_receipt.events] == [
        ("PolicyPaid", PAYOUT, 200)
    ]
    assert env.balance(dave) == before + PAYOUT
    with env.reverts("oracle report already used"):
        c.claim(2, r, sender=carol)
    same = report(env, FLIGHT, departure, 200, signers=(1, 2))  # other signers, same report
    with env.reverts("oracle report already used"):
        c.claim(2, same, sender=carol)
    with env.reverts("malformed oracle report: report too short"):
        c.claim(2, b"", sender=carol)
    other = report(env, FLIGHT, departure, 200, age=61)
    with env.reverts("report is for another departure"):
        c.claim(2, other, sender=carol)


def test_cover_bought_after_the_delay_is_known_pays_nothing(cover):
    """The reported attack, step by step. Bob's flight is due in four hours
    and nobody insured it. It leaves three hours late and the oracles sign the
    delay. Before the fix, Bob then bought a policy naming a departure a
    second away, paid 5% of the payout, and claimed at once with the signed
    report: 95% of the payout gained per policy."""
    env, c = cover
    bob = env.account("bob")
    departure = env.timestamp + 4 * HOUR
    env.time_travel(seconds=7 * HOUR)  # the flight has left, 180 minutes late
    known = report(env, FLIGHT, departure, 180, age=10)
    env.time_travel(seconds=60)
    bob_before, pool = env.balance(bob), env.balance(c)
    # the old move: cover for a departure a second from now
    with env.reverts("sales for this departure are closed"):
        c.buy(FLIGHT, env.timestamp + 1, PAYOUT, sender=bob, value=PREMIUM)
    # nor for the real departure, which is past
    with env.reverts("sales for this departure are closed"):
        c.buy(FLIGHT, departure, PAYOUT, sender=bob, value=PREMIUM)
    # the earliest cover still on sale is for a departure LEAD from now: the
    # report is for another departure and pays nothing
    c.buy(FLIGHT, env.timestamp + LEAD, PAYOUT, sender=bob, value=PREMIUM)
    with env.reverts("report is for another departure"):
        c.claim(0, known, sender=bob)
    assert env.balance(bob) == bob_before - PREMIUM
    assert env.balance(c) == pool + PREMIUM
    assert c.status_of(0) == "Active"


def test_an_early_report_pays_no_policy(cover):
    """Oracles that sign a delay announced before the flight was due (a
    forecast, known before some purchases) do not pay: only a report signed
    at or after the scheduled departure does."""
    env, c = cover
    carol = env.account("carol")
    departure = bought(env, c, departs_in=LEAD)
    env.time_travel(seconds=HOUR)
    forecast = report(env, FLIGHT, departure, 240, age=0)
    env.time_travel(seconds=LEAD)
    with env.reverts("report signed before the departure"):
        c.claim(0, forecast, sender=carol)
    c.claim(0, report(env, FLIGHT, departure, 240), sender=carol)
    assert env.last_receipt.success


def test_buy_reverts(cover):
    env, c = cover
    bob = env.account("bob")
    with env.reverts("wrong premium"):
        c.buy(FLIGHT, env.timestamp + DAY, PAYOUT, sender=bob, value=1)
    for departure in (env.timestamp - 1, env.timestamp + LEAD - 1, 5):
        with env.reverts("sales for this departure are closed"):
            c.buy(FLIGHT, departure, PAYOUT, sender=bob, value=PREMIUM)
    c.buy(FLIGHT, env.timestamp + LEAD, PAYOUT, sender=bob, value=PREMIUM)
    with env.reverts("nothing to cover"):
        c.buy(FLIGHT, env.timestamp + DAY, 0, sender=bob, value=0)
    with env.reverts("NotEnoughCover"):
        buy(env, c, payout=10 * ETHER)


def test_a_recorded_delay_is_claimed_after_the_window_and_never_expires(cover):
    env, c = cover
    carol = env.account("carol")
    departure = bought(env, c, departs_in=LEAD)
    bought(env, c, who="dave", departs_in=LEAD)
    env.time_travel(seconds=LEAD + HOUR)
    c.claim(0, report(env, FLIGHT, departure, 130), sender=carol)
    env.time_travel(seconds=3 * DAY)
    with env.reverts("the departure's delay is recorded: claim it"):
        c.expire(1, sender=carol)
    c.claim(1, b"", sender=carol)
    assert env.last_receipt.events[0].name == "PolicyPaid"


def test_expiry_releases_the_reserve(cover):
    env, c = cover
    dave = env.account("dave")
    buy(env, c, departs_in=LEAD)
    with env.reverts("claim window open"):
        c.expire(0, sender=dave)
    env.time_travel(seconds=LEAD + 2 * DAY + 1)
    c.expire(0, sender=dave)
    assert [(e.name, e.args) for e in env.last_receipt.events] == [
        ("PolicyExpired", {"policy_id": 0, "released": PAYOUT})
    ]
    assert c.reserved_funds() == 0
    with env.reverts("policy not active"):
        c.expire(0, sender=dave)
    with env.reverts("no such policy"):
        c.expire(5, sender=dave)


def test_insurer_funds_and_withdraws_only_free_capital(cover):
    env, c = cover
    bob, dave = env.account("bob"), env.account("dave")
    c.fund(sender=dave, value=ETHER)
    assert [(e.name, e.args.amount) for e in env.last_receipt.events] == [("Funded", ETHER)]
    buy(env, c)
    free = c.free_capital()
    assert free == 4 * ETHER + PREMIUM - PAYOUT
    with env.reverts("not allowed"):
        c.withdraw(1, sender=bob)
    with env.reverts("capital is reserved"):
        c.withdraw(free + 1)
    c.withdraw(free)
    assert env.last_receipt.events[0].name == "Withdrawn"
    assert env.balance(c) == PAYOUT


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"quorum": 4}, "quorum out of range"),
        ({"premium_bps": 0}, "premium out of range"),
        ({"keys": b"\x01" * 33, "quorum": 1}, "oracle keys are 32 bytes each"),
        ({"lead": HOUR - 1}, "sales must close an hour or more before departure"),
    ],
)
def test_init_checks_its_parameters(env, change, reason):
    args = {"keys": oracles(env), "quorum": 2, "premium_bps": 500, "lead": LEAD} | change
    with env.reverts(reason):
        env.deploy(CONTRACT, args["keys"], args["quorum"], args["premium_bps"], args["lead"])


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


def succeeds(call, *args, **kw) -> tuple[bool, str | None]:
    """Whether a step of the machine went through, and if not, why."""
    try:
        call(*args, **kw)
    except Reverted as exc:
        return False, str(exc)
    return True, None


class CoverMachine(RuleBasedStateMachine):
    """Random purchases, published reports, claims, expiries, fundings and
    withdrawals, each checked against a model of the rules: an operation
    succeeds exactly when the model says it may."""

    def __init__(self):
        super().__init__()
        self.env = Env()
        self.c = deploy(self.env, capital=2 * ETHER)
        self.env.time_travel(seconds=DAY)  # so that reports may name past departures
        self.schedule = [self.env.timestamp + d for d in SCHEDULE]
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
            departure = self.env.timestamp + LEAD - (when == JUST_CLOSED)
        else:
            departure = self.schedule[when]
        premium = self.c.premium_for(payout)
        now = self.env.timestamp
        ok, why = succeeds(
            self.c.buy, flight, departure, payout, sender=self.env.account(who), value=premium
        )
        balance = self.paid_in - self.paid_out - self.withdrawn + premium
        open_ = now + LEAD <= departure and balance >= self.reserved() + payout
        assert ok == open_, (why, now, departure)
        if ok:
            self.policies.append(Policy(who, flight, departure, now, payout))
            self.paid_in += premium

    @rule(
        flight=st.sampled_from(FLIGHTS),
        departed=st.sampled_from([0, HOUR, 6 * HOUR, DAY]),
        delay=st.integers(0, 400),
        signers=st.sampled_from([(0, 1), (1, 2), (0, 1, 2)]),
    )
    def publish(self, flight, departed, delay, signers):
        departure = self.env.timestamp - departed
        raw = report(self.env, flight, departure, delay, signers=signers, age=0)
        self.reports.append(Published(flight, departure, delay, self.env.timestamp, raw))

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
        if signed_at > self.env.timestamp:
            self.env.time_travel(seconds=signed_at - self.env.timestamp)
        elif after >= 0 and signed_at < self.env.timestamp - HOUR:
            signed_at = self.env.timestamp  # a departure long past: its report is signed now
        age = self.env.timestamp - signed_at
        raw = report(self.env, p.flight, p.departure, delay, age=age)
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
        ok, why = succeeds(self.c.claim, index, raw, sender=self.env.account("carol"))
        key = (p.flight, p.departure)
        accepts = (
            not empty
            and not rep.used
            and self.env.timestamp - rep.signed_at <= MAX_AGE
            and (rep.flight, rep.departure) == key
            and rep.signed_at >= p.departure
            and rep.delay >= THRESHOLD
        )
        pays = p.status == 0 and (key in self.recorded or accepts)
        assert ok == pays, why
        if not ok:
            return
        if key not in self.recorded:
            rep.used = True
            self.recorded[key] = rep
            event("a delay recorded")
        else:
            event("a claim paid from the record")
        paying = self.recorded[key]
        paid = self.env.last_receipt.events[-1].args
        assert (paid.payout, paid.delay_minutes) == (p.payout, paying.delay)
        bought_at = self.c.bought_at(index)
        assert bought_at == p.bought_at
        assert paying.signed_at > bought_at, "paid from a report older than the policy"
        p.status = 1
        self.paid_out += p.payout
        event("a claim paid")

    @rule(seconds=st.sampled_from([HOUR, 4 * HOUR, DAY]))
    def wait(self, seconds):
        self.env.time_travel(seconds=seconds)

    @rule(i=st.integers(0, 30))
    def expire(self, i):
        if not self.policies:
            return
        p = self.policies[i % len(self.policies)]
        ok, _ = succeeds(self.c.expire, i % len(self.policies), sender=self.env.account("dave"))
        over = self.env.timestamp >= p.departure + CLAIM_WINDOW
        assert ok == (p.status == 0 and over and (p.flight, p.departure) not in self.recorded)
        if ok:
            p.status = 2

    @rule(amount=st.integers(0, ETHER))
    def withdraw(self, amount):
        if succeeds(self.c.withdraw, amount)[0]:
            self.withdrawn += amount

    @invariant()
    def books_balance(self):
        reserved = self.reserved()
        assert self.c.reserved_funds() == reserved
        balance = self.env.balance(self.c)
        assert balance == self.paid_in - self.paid_out - self.withdrawn, "money created or lost"
        assert balance >= reserved, "sold more cover than it can pay"
        assert self.paid_out <= sum(p.payout for p in self.policies if p.status == 1)


TestCoverInvariants = CoverMachine.TestCase
TestCoverInvariants.settings = settings(max_examples=75, stateful_step_count=30, deadline=None)
