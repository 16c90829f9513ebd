"""contracts/bills/invoice.deed: every public function, its reverts and
events, and stateful tests: money is routed, never held, created or lost;
the tax parts add up to the tax on the whole; an invoice is reimbursed at
most once and issued once across all contracts, and only by its issuer: a
squatter who registers the document hash first, from their account or a
contract of their own, blocks nothing."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import Harness

from deed.compiler.driver import compile_file
from deed.vm.codec import encode_values
from deed.vm.state import registry_key
from deed.vm.types import ADDRESS, BYTES32, U64, U256

MODULE = compile_file("contracts/bills/invoice.deed").module
DOC = b"invoice 2026-0042".ljust(32, b"\0")
AMOUNT = 1_000_000
TAX_BPS = 1_900  # 19%
BILL = compile_file("contracts/bills/bill_of_exchange.deed").module


def registry_id(issuer: bytes, doc: bytes) -> bytes:
    """The registry key of the document ``doc`` registered by ``issuer``: what a
    financier computes from the document (its hash and the issuer it names)
    to find the one contract that may finance it (the VM's own function)."""
    return registry_key(issuer, doc)


def issue(
    h: Harness,
    doc=DOC,
    amount=AMOUNT,
    tax=TAX_BPS,
    due=None,
    payer="bob",
    token=bytes(20),
    issuer="alice",
):
    due = h.timestamp + 30 * 86400 if due is None else due
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U256, U64, ADDRESS],
        [h.addr(payer), h.addr("dave"), doc, amount, tax, due, token],
    )
    return h.deploy(MODULE, sender=issuer, init_args=args)


def draw_bill(h: Harness, doc=DOC, drawer="alice"):
    """A bill of exchange on ``doc``: the other kind of bill, same registry."""
    args = encode_values(
        [ADDRESS, ADDRESS, BYTES32, U256, U64],
        [h.addr("bob"), h.addr(drawer), doc, AMOUNT, h.timestamp + 86400],
    )
    return h.deploy(BILL, sender=drawer, init_args=args)


@pytest.fixture
def inv():
    h = Harness()
    r = issue(h)
    assert r.success and r.logs[0].event == "InvoiceIssued"
    return h, r.contract_address


def balances(h):
    return {n: h.chain.balance(h.addr(n)) for n in ("alice", "bob", "dave")}


def test_pay_in_parts_routes_tax_and_settles(inv):
    h, c = inv
    before = balances(h)
    r = h.send("bob", c, "pay", value=300_001, price=0)
    assert r.success and [(e.event, e.values[1:]) for e in r.logs] == [
        ("PaymentReceived", (300_001, 57_000, 699_999))
    ]
    assert h.call(c, "state").return_values == (1,)
    r = h.send("bob", c, "pay", value=699_999, price=0)
    assert [e.event for e in r.logs] == ["PaymentReceived", "InvoiceSettled"]
    after = balances(h)
    assert after["dave"] - before["dave"] == AMOUNT * TAX_BPS // 10_000  # the parts add up exactly
    assert after["alice"] - before["alice"] == AMOUNT - AMOUNT * TAX_BPS // 10_000
    assert h.chain.balance(c) == 0
    assert h.call(c, "outstanding").return_values == (0,)
    assert h.send("bob", c, "pay", value=1).revert_reason == "not payable"


def test_pay_reverts(inv):
    h, c = inv
    assert h.send("bob", c, "pay", value=0).revert_reason == "nothing paid"
    assert h.send("bob", c, "pay", value=AMOUNT + 1).revert_reason == "more than is owed"


def test_the_same_document_cannot_be_issued_twice(inv):
    h, c = inv
    assert issue(h).revert_reason == "document already registered"
    assert issue(h, payer="carol").revert_reason == "document already registered"
    assert draw_bill(h).revert_reason == "document already registered"  # nor drawn as a bill
    assert issue(h, doc=b"\x01" * 32).success
    assert h.call(c, "registry_id").return_values == (registry_id(h.addr("alice"), DOC),)
    assert h.chain.state.document_holder(registry_id(h.addr("alice"), DOC)) == c
    assert h.chain.state.document_holder(DOC) is None  # the bare hash is nobody's


def test_a_squatter_who_registers_the_hash_first_blocks_nothing():
    """The attack, step by step: carol learns the hash of alice's invoice
    (she is shown the document, or sees alice's deployment waiting for a
    block) and issues an invoice on it from her own account first."""
    h = Harness()
    squat = issue(h, issuer="carol")
    assert squat.success  # carol may issue what she likes from her account...
    squatted = squat.contract_address
    assert h.call(squatted, "issuer").return_values == (h.addr("carol"),)
    assert h.call(squatted, "registry_id").return_values == (registry_id(h.addr("carol"), DOC),)
    assert draw_bill(h, drawer="carol").revert_reason == "document already registered"
    # ...but she took carol's id for the document, not alice's: alice issues it
    real = issue(h)
    assert real.success, real.revert_reason
    alice_id = registry_id(h.addr("alice"), DOC)
    assert h.chain.state.document_holder(alice_id) == real.contract_address
    # a financier who reads the document (it names alice) finds alice's
    # invoice; carol's names another issuer, so it is not this document
    assert h.call(real.contract_address, "issuer").return_values == (h.addr("alice"),)
    # and still nobody, alice included, issues the document a second time
    assert issue(h).revert_reason == "document already registered"
    assert draw_bill(h).revert_reason == "document already registered"


SQUATTER = """
contract Squatter:
    event Squatted(key: bytes32)

    init(doc: bytes32):
        register_document(doc)
        emit Squatted(document_key(tx.origin, doc))

    pub squat(doc: bytes32):
        register_document(doc)

    @view
    pub key_of(issuer: address, doc: bytes32) -> bytes32:
        return document_key(issuer, doc)
"""


def test_a_squatter_registering_from_a_contract_of_their_own_blocks_nothing():
    """The attack that the registry once let through: carol knows alice and
    the document hash (she watches alice's deployment waiting for a block)
    and registers the hash first, from a small contract of her own, at its
    deployment and again in a later call. The VM records both in carol's
    name, under carol's key: alice's key stays free and alice issues."""
    from deed.compiler.driver import compile_source

    h = Harness()
    module = compile_source(SQUATTER).module
    r = h.deploy(module, sender="carol", init_args=encode_values([BYTES32], [DOC]))
    assert r.success, r.revert_reason
    squatter = r.contract_address
    carol_key, alice_key = registry_id(h.addr("carol"), DOC), registry_id(h.addr("alice"), DOC)
    assert r.logs[0].values == (carol_key,)  # the language's document_key is the VM's key
    assert h.call(squatter, "key_of", [h.addr("alice"), DOC]).return_values == (alice_key,)
    assert h.chain.state.document_holder(carol_key) == squatter
    assert h.chain.state.document_holder(alice_key) is None
    # carol's later calls, whatever hash they pass, register in carol's name too
    assert h.send("carol", squatter, "squat", [DOC]).revert_reason == (
        "document already registered"
    )
    assert h.send("carol", squatter, "squat", [alice_key]).success  # the key itself, as a hash
    assert h.chain.state.document_holder(alice_key) is None
    # alice issues her invoice, whose registry key is hers
    real = issue(h)
    assert real.success, real.revert_reason
    assert h.call(real.contract_address, "registry_id").return_values == (alice_key,)
    assert h.chain.state.document_holder(alice_key) == real.contract_address
    # the only way to alice's key is a transaction alice signs: if alice
    # herself calls the squatter, it registers in her name, and only once
    assert h.send("alice", squatter, "squat", [DOC]).revert_reason == (
        "document already registered"
    )
    assert issue(h).revert_reason == "document already registered"


def test_overdue_after_the_due_date(inv):
    h, c = inv
    assert h.call(c, "overdue").return_values == (False,)
    h.next_block(seconds=31 * 86400)
    assert h.call(c, "overdue").return_values == (True,)
    h.send("bob", c, "pay", value=AMOUNT)
    assert h.call(c, "overdue").return_values == (False,)


def test_cancel_only_by_the_issuer_before_any_payment(inv):
    h, c = inv
    assert h.send("bob", c, "cancel").revert_reason == "not allowed"
    r = h.send("alice", c, "cancel")
    assert r.success and r.logs[0].event == "InvoiceCancelled"
    assert h.call(c, "outstanding").return_values == (0,)
    assert h.send("bob", c, "pay", value=1).revert_reason == "not payable"
    h2 = Harness()
    c2 = issue(h2).contract_address
    h2.send("bob", c2, "pay", value=10)
    assert h2.send("alice", c2, "cancel").revert_reason == "payments received: cannot cancel"


def test_reimbursed_at_most_once(inv):
    h, c = inv
    assert h.send("carol", c, "reimburse", value=AMOUNT).revert_reason == "not paid"
    h.send("bob", c, "pay", value=AMOUNT)
    assert h.send("carol", c, "reimburse", value=5).revert_reason == "reimburse the whole amount"
    before = h.chain.balance(h.addr("bob"))
    r = h.send("carol", c, "reimburse", value=AMOUNT)
    assert r.success and [(e.event, e.values[2]) for e in r.logs] == [("Reimbursed", AMOUNT)]
    assert h.chain.balance(h.addr("bob")) == before + AMOUNT
    assert h.call(c, "is_reimbursed").return_values == (True,)
    assert h.send("carol", c, "reimburse", value=AMOUNT).revert_reason == "already reimbursed"


def test_paid_in_tokens_with_the_same_routing():
    h = Harness()
    token = h.deployed(compile_file("contracts/token.deed").module, sender="carol")
    h.send("carol", token, "mint", [h.addr("bob"), 5 * AMOUNT])
    c = issue(h, token=token).contract_address
    assert h.send("bob", c, "pay_in_tokens", [AMOUNT]).revert_reason == "allowance too small"
    assert h.send("bob", token, "approve", [c, AMOUNT]).logs[0].event == "Approval"
    assert h.send("alice", c, "pay_in_tokens", [AMOUNT]).revert_reason == "not allowed"
    r = h.send("bob", c, "pay_in_tokens", [AMOUNT])
    assert r.success, r.revert_reason
    assert [e.event for e in r.logs] == [
        "PaymentReceived",
        "InvoiceSettled",
        "Transfer",
        "Transfer",
    ]
    balance = lambda who: h.call(token, "balance_of", [h.addr(who)]).return_values[0]  # noqa: E731
    assert balance("dave") == AMOUNT * TAX_BPS // 10_000 and balance("alice") == AMOUNT - balance(
        "dave"
    )
    assert h.call(token, "allowance", [h.addr("bob"), c]).return_values == (0,)
    native_only = issue(h, doc=b"\x05" * 32).contract_address
    assert (
        h.send("bob", native_only, "pay_in_tokens", [1]).revert_reason
        == "this invoice takes no token"
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(amount=0), "nothing to invoice"),
        (dict(tax=10_001), "tax above 100%"),
    ],
)
def test_init_checks(change, reason):
    h = Harness()
    assert issue(h, **change).revert_reason == reason


class InvoiceMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness()
        self.c = issue(self.h, amount=10_000, tax=2_500).contract_address
        self.paid = 0
        self.reimbursements = 0
        self.start = balances(self.h)

    @rule(amount=st.integers(0, 12_000))
    def pay(self, amount):
        if self.h.send("bob", self.c, "pay", value=amount, price=0).success:
            self.paid += amount

    @precondition(lambda self: self.paid == 10_000)
    @rule()
    def reimburse(self):
        if self.h.send("carol", self.c, "reimburse", value=10_000, price=0).success:
            self.reimbursements += 1

    @rule()
    def cancel(self):
        self.h.send("alice", self.c, "cancel", price=0)

    @invariant()
    def money_is_routed_not_held(self):
        assert self.h.chain.balance(self.c) == 0
        now = balances(self.h)
        tax = now["dave"] - self.start["dave"]
        issuer = now["alice"] - self.start["alice"]
        assert tax + issuer == self.paid, "money created or lost"
        assert tax == self.paid * 2_500 // 10_000, "tax parts do not add up"
        assert self.reimbursements <= 1, "reimbursed twice"


TestInvoiceInvariants = InvoiceMachine.TestCase
TestInvoiceInvariants.settings = settings(max_examples=20, stateful_step_count=12, deadline=None)


REFUSING_TOKEN = """
contract RefusingToken:
    pub transfer_from(holder: address, to: address, amount: uint) -> bool:
        return amount == 0
"""


def test_a_token_that_refuses_the_transfer_reverts_the_payment():
    from deed.compiler.driver import compile_source

    h = Harness()
    token = h.deployed(compile_source(REFUSING_TOKEN).module)
    c = issue(h, token=token).contract_address
    assert h.send("bob", c, "pay_in_tokens", [AMOUNT]).revert_reason == "tax transfer failed"
    c2 = issue(h, doc=b"\x06" * 32, tax=0, token=token).contract_address
    assert h.send("bob", c2, "pay_in_tokens", [AMOUNT]).revert_reason == "transfer failed"
    assert h.call(c2, "outstanding").return_values == (AMOUNT,)  # nothing booked


ISSUERS = ("alice", "bob", "carol")
DOCS = tuple(bytes([i]) * 32 for i in range(1, 4))


class IssuanceMachine(RuleBasedStateMachine):
    """Anyone issues invoices and draws bills on a few document hashes, in
    any order, and the invoices are paid. Invariants: the registry holds one
    contract at most per (issuer, document), the one that issuer deployed;
    what others registered never blocks an issuer; payments reach the issuer
    of the invoice paid."""

    def __init__(self):
        super().__init__()
        self.h = Harness(names=(*ISSUERS, "dave", "erin"))
        self.registered: dict[tuple[str, bytes], bytes] = {}
        self.invoices: list[tuple[bytes, str]] = []

    @rule(issuer=st.sampled_from(ISSUERS), doc=st.sampled_from(DOCS), as_bill=st.booleans())
    def register(self, issuer, doc, as_bill):
        r = draw_bill(self.h, doc, drawer=issuer) if as_bill else issue(self.h, doc, issuer=issuer)
        fresh = (issuer, doc) not in self.registered
        assert r.success == fresh, r.revert_reason
        if not fresh:
            assert r.revert_reason == "document already registered"
            return
        self.registered[issuer, doc] = r.contract_address
        if not as_bill:
            self.invoices.append((r.contract_address, issuer))

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), value=st.integers(1, AMOUNT))
    def pay(self, data, value):
        contract, issuer = data.draw(st.sampled_from(self.invoices))
        before = {n: self.h.chain.balance(self.h.addr(n)) for n in (issuer, "dave")}
        r = self.h.send("erin", contract, "pay", value=value, price=0)
        if not r.success:
            return
        tax = r.logs[0].values[2]
        assert self.h.chain.balance(self.h.addr(issuer)) - before[issuer] == value - tax
        assert self.h.chain.balance(self.h.addr("dave")) - before["dave"] == tax

    @invariant()
    def one_contract_per_document_and_issuer(self):
        state = self.h.chain.state
        for issuer in ISSUERS:
            for doc in DOCS:
                holder = state.document_holder(registry_id(self.h.addr(issuer), doc))
                assert holder == self.registered.get((issuer, doc))
                if holder is not None:  # the issuer's own contract, naming them
                    ident = self.h.call(holder, "registry_id").return_values[0]
                    assert ident == registry_id(self.h.addr(issuer), doc)
                    getter = "issuer" if (holder, issuer) in self.invoices else "drawer"
                    assert self.h.call(holder, getter).return_values == (self.h.addr(issuer),)
        for doc in DOCS:
            assert state.document_holder(doc) is None


TestIssuance = IssuanceMachine.TestCase
TestIssuance.settings = settings(max_examples=20, stateful_step_count=12, deadline=None)
