"""Stateful tests of the anchor twins in contracts/ (token, escrow, flight
pool): the token's supply is the sum of its balances and never changes but by
minting; the escrow and the pool create or lose no money, pay at most once,
and the escrow ends empty."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, U64

PEOPLE = ["alice", "bob", "carol", "dave"]
TOKEN = compile_file("contracts/token.deed").module
ESCROW = compile_file("contracts/escrow.deed").module
POOL = compile_file("contracts/insurance.deed").module


class TokenMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.t = self.h.deployed(TOKEN)
        self.minted = 0

    @rule(to=st.sampled_from(PEOPLE), amount=st.integers(0, 10**6), by=st.sampled_from(PEOPLE))
    def mint(self, to, amount, by):
        if self.h.send(by, self.t, "mint", [self.h.addr(to), amount]).success:
            assert by == "alice"
            self.minted += amount

    @rule(frm=st.sampled_from(PEOPLE), to=st.sampled_from(PEOPLE), amount=st.integers(0, 10**6))
    def transfer(self, frm, to, amount):
        self.h.send(frm, self.t, "transfer", [self.h.addr(to), amount])

    @rule(
        owner=st.sampled_from(PEOPLE),
        spender=st.sampled_from(PEOPLE),
        to=st.sampled_from(PEOPLE),
        amount=st.integers(0, 10**6),
    )
    def approve_and_pull(self, owner, spender, to, amount):
        self.h.send(owner, self.t, "approve", [self.h.addr(spender), amount])
        self.h.send(
            spender, self.t, "transfer_from", [self.h.addr(owner), self.h.addr(to), amount // 2]
        )

    @invariant()
    def supply_is_the_sum_of_balances(self):
        balances = sum(
            self.h.call(self.t, "balance_of", [self.h.addr(p)]).return_values[0] for p in PEOPLE
        )
        assert balances == self.minted == self.h.call(self.t, "supply").return_values[0]


class EscrowTwinMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        args = encode_values(
            [ADDRESS, ADDRESS, U64], [self.h.addr("bob"), self.h.addr("carol"), 100]
        )
        self.e = self.h.deployed(ESCROW, init_args=args)
        self.start = sum(self.h.chain.balance(self.h.addr(p)) for p in ("alice", "bob"))

    @rule(
        who=st.sampled_from(PEOPLE),
        action=st.sampled_from(["deposit", "confirm_delivery", "refund", "dispute"]),
        value=st.integers(0, 10**18),
    )
    def act(self, who, action, value):
        self.h.send(who, self.e, action, value=value if action == "deposit" else 0, price=0)

    @rule(pay_seller=st.booleans())
    def resolve(self, pay_seller):
        self.h.send("carol", self.e, "resolve", [pay_seller], price=0)

    @rule()
    def wait(self):
        self.h.next_block(seconds=200)

    @invariant()
    def conserved(self):
        held = self.h.chain.balance(self.e)
        assert (
            sum(self.h.chain.balance(self.h.addr(p)) for p in ("alice", "bob")) + held == self.start
        )
        if self.h.call(self.e, "status").return_values[0] == 3:
            assert held == 0


class PoolTwinMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.p = self.h.deployed(
            POOL, init_args=encode_values([ADDRESS], [self.h.addr("dave")]), value=3 * 10**17
        )
        self.paid: set[int] = set()
        self.inflow = 3 * 10**17
        self.outflow = 0

    @rule(who=st.sampled_from(["bob", "carol"]))
    def join(self, who):
        if self.h.send(who, self.p, "join", [b"F" * 32], value=10**16, price=0).success:
            self.inflow += 10**16

    @rule(pid=st.integers(0, 4), minutes=st.integers(0, 300))
    def report(self, pid, minutes):
        self.h.send("dave", self.p, "report_delay", [pid, minutes], price=0)

    @rule(pid=st.integers(0, 4), who=st.sampled_from(["bob", "carol"]))
    def claim(self, pid, who):
        if self.h.send(who, self.p, "claim", [pid], price=0).success:
            assert pid not in self.paid
            self.paid.add(pid)
            self.outflow += 10**17

    @invariant()
    def conserved_and_covered(self):
        balance = self.h.chain.balance(self.p)
        assert balance == self.inflow - self.outflow
        assert balance >= self.h.call(self.p, "reserved_funds").return_values[0]


for machine in (TokenMachine, EscrowTwinMachine, PoolTwinMachine):
    case = machine.TestCase
    case.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
    globals()[f"Test{machine.__name__}"] = case

del case, machine


def test_token_approve_must_pass_through_zero():
    """The approve race: a spender watching an allowance change from 100 to
    50 could spend 100 first and 50 after. A non-zero allowance changes only
    through zero, so each step is one the owner sees settled."""
    h = Harness()
    t = h.deployed(TOKEN)
    h.send("alice", t, "mint", [h.addr("alice"), 1_000])
    assert h.send("alice", t, "approve", [h.addr("bob"), 100]).success
    r = h.send("alice", t, "approve", [h.addr("bob"), 50])
    assert r.revert_reason == "set the allowance to zero first"
    assert h.call(t, "allowance", [h.addr("alice"), h.addr("bob")]).return_values == (100,)
    assert h.send("alice", t, "approve", [h.addr("bob"), 0]).success
    assert h.send("alice", t, "approve", [h.addr("bob"), 50]).success
    assert h.call(t, "allowance", [h.addr("alice"), h.addr("bob")]).return_values == (50,)
