"""The hand-assembled twins of the anchor contracts behave like the Vyper ones
(the same checks as ../shared/anchors/test_contracts.py)."""

import pytest
from support import Harness, asm_module

from deed.vm.codec import encode_values
from deed.vm.types import ADDRESS, U64

ETHER = 10**18


def test_token_mint_transfer_and_checks():
    h = Harness()
    tok = h.deployed(asm_module("token"))
    assert h.send("alice", tok, "mint", [h.addr("bob"), 100]).success
    assert h.call(tok, "balance_of", [h.addr("bob")]).return_values == (100,)
    assert h.call(tok, "total_supply").return_values == (100,)
    assert h.send("bob", tok, "mint", [h.addr("bob"), 1]).revert_reason == "only owner"
    r = h.send("bob", tok, "transfer", [h.addr("carol"), 40])
    assert r.return_values == (True,)
    assert [(log.event, log.values[2]) for log in r.logs] == [("Transfer", 40)]
    assert h.call(tok, "balance_of", [h.addr("bob")]).return_values == (60,)
    assert (
        h.send("bob", tok, "transfer", [h.addr("carol"), 61]).revert_reason
        == "insufficient balance"
    )
    assert h.send("bob", tok, "transfer", [bytes(20), 1]).revert_reason == "transfer to zero"


def _escrow(h, timeout=3600):
    args = encode_values([ADDRESS, ADDRESS, U64], [h.addr("bob"), h.addr("carol"), timeout])
    return h.deployed(asm_module("escrow"), sender="alice", init_args=args)


def test_escrow_confirm_releases_to_seller():
    h = Harness()
    e = _escrow(h)
    assert h.send("bob", e, "deposit", value=ETHER).revert_reason == "only buyer"
    assert h.send("alice", e, "deposit", value=ETHER).success
    assert h.send("alice", e, "deposit", value=ETHER).revert_reason == "already funded"
    assert h.send("bob", e, "confirm_delivery").revert_reason == "only buyer"
    seller_before = h.chain.balance(h.addr("bob"))
    r = h.send("alice", e, "confirm_delivery")
    assert r.success and [log.event for log in r.logs] == ["Released"]
    assert h.chain.balance(h.addr("bob")) == seller_before + ETHER
    assert h.chain.balance(e) == 0
    assert h.send("alice", e, "confirm_delivery").revert_reason == "not funded"


def test_escrow_refund_only_after_deadline():
    h = Harness()
    e = _escrow(h, timeout=3600)
    h.send("alice", e, "deposit", value=ETHER)
    assert h.send("alice", e, "refund").revert_reason == "deadline not reached"
    h.next_block(seconds=3601)
    assert h.send("alice", e, "refund").success
    assert h.chain.balance(e) == 0


@pytest.mark.parametrize("pay_seller", [True, False])
def test_escrow_dispute_resolved_by_arbiter(pay_seller):
    h = Harness()
    e = _escrow(h)
    h.send("alice", e, "deposit", value=ETHER)
    assert h.send("dave", e, "dispute").revert_reason == "not a party"
    assert h.send("bob", e, "dispute").success
    assert h.send("alice", e, "resolve", [pay_seller]).revert_reason == "only arbiter"
    seller_before = h.chain.balance(h.addr("bob"))
    assert h.send("carol", e, "resolve", [pay_seller]).success
    assert h.chain.balance(h.addr("bob")) - seller_before == (ETHER if pay_seller else 0)
    assert h.call(e, "phase").return_values == (3,)


def test_escrow_checks_its_parties():
    h = Harness()
    bad = encode_values([ADDRESS, ADDRESS, U64], [h.addr("alice"), h.addr("carol"), 1])
    assert h.deploy(asm_module("escrow"), init_args=bad).revert_reason == "buyer is seller"


def test_insurance_pays_a_delayed_policy_once():
    h = Harness()
    pool = h.deployed(
        asm_module("insurance"),
        init_args=encode_values([ADDRESS], [h.addr("dave")]),
        value=ETHER // 10,
    )
    assert h.send("bob", pool, "join", [b"F" * 32], value=1).revert_reason == "wrong premium"
    r = h.send("bob", pool, "join", [b"F" * 32], value=10**16)
    assert r.return_values == (0,)
    # the pool holds 0.11 ether and has reserved 0.1: a second policy would over-commit
    assert (
        h.send("carol", pool, "join", [b"G" * 32], value=10**16).revert_reason == "pool exhausted"
    )
    assert h.send("bob", pool, "claim", [0]).revert_reason == "not reported"
    assert h.send("bob", pool, "report_delay", [0, 150]).revert_reason == "only oracle"
    assert h.send("dave", pool, "report_delay", [0, 150]).success
    assert h.send("dave", pool, "report_delay", [0, 150]).revert_reason == "already reported"
    before = h.chain.balance(h.addr("bob"))
    r = h.send("bob", pool, "claim", [0], price=0)
    assert r.success and h.chain.balance(h.addr("bob")) == before + 10**17
    assert h.send("bob", pool, "claim", [0]).revert_reason == "already paid"
    assert h.call(pool, "reserved").return_values == (0,)


def test_insurance_short_delay_releases_the_reserve():
    h = Harness()
    pool = h.deployed(
        asm_module("insurance"), init_args=encode_values([ADDRESS], [h.addr("dave")]), value=ETHER
    )
    h.send("bob", pool, "join", [b"F" * 32], value=10**16)
    h.send("dave", pool, "report_delay", [0, 30])
    assert h.call(pool, "reserved").return_values == (0,)
    assert h.send("bob", pool, "claim", [0]).revert_reason == "delay below threshold"


@pytest.mark.parametrize("fn, n", [("loop_sum", 1000), ("fib", 1000), ("keccak_chain", 50)])
def test_compute_kernels_match_python(fn, n):
    from Crypto.Hash import keccak

    h = Harness()
    c = h.deployed(asm_module("compute"))
    if fn == "loop_sum":
        expected = sum((i * i) % 1000003 for i in range(n))
    elif fn == "fib":
        a, b = 0, 1
        for _ in range(n):
            a, b = b, (a + b) % 2**64
        expected = a
    else:
        expected = keccak.new(data=b"anchor", digest_bits=256).digest()
        for _ in range(n):
            expected = keccak.new(data=expected, digest_bits=256).digest()
    assert h.call(c, fn, [n], gas_limit=10**9).return_values == (expected,)
