"""The chain host: transaction validity, receipts, calls between contracts,
reentrancy, nested rollback, read-only calls."""

from dataclasses import replace

import pytest
from support import FUNDS, Harness, asm_module

from deed.vm.chain import Transaction, contract_address, deploy_data, intrinsic_gas
from deed.vm.errors import InvalidTransaction, StateError
from deed.vm.opcodes import LIMITS

K = "0x" + "00" * 31 + "01"

COUNTER = f"""
.event Bumped(by: u256, total: u256)
.error TooBig(n: u256, limit: u256)
.func bump(I) -> I
.locals I
    LOAD 0
    CONST 1000
    GT
    JMPIFNOT ok
    LOAD 0
    CONST 1000
    RAISE TooBig
ok:
    CONST {K}
    SLOAD
    LOAD 0
    ADD u256
    STORE 1
    CONST {K}
    LOAD 1
    SSTORE
    LOAD 0
    LOAD 1
    EMIT Bumped
    LOAD 1
    RET
.func fail()
    CONST {K}
    CONST 99
    SSTORE
    CONST 1
    CONST 1
    EMIT Bumped
    CONST "nope"
    REVERT
.func total() -> I
    CONST {K}
    SLOAD
    RET
.func write_in_view() -> I
    CONST {K}
    CONST 5
    SSTORE
    CONST 5
    RET
.func take() -> I
    CALLVALUE
    RET
.func call_back(B)
    LOAD 0
    CONST 0
    XCALL poke
    RET
.import poke()
.export bump(u256) -> u256 = bump
.export fail() = fail
.export total() -> u256 = total view
.export write_in_view() -> u256 = write_in_view view
.export take() -> u256 = take payable
.export call_back(address) = call_back
"""

CALLER = f"""
.import bump(u256) -> u256
.import fail()
.import call_back(address)
.func call_bump(B I) -> I
    LOAD 0
    CONST 0
    LOAD 1
    XCALL bump
    RET
.func write_then_try_fail(B) -> I
    CONST {K}
    CONST 7
    SSTORE
    LOAD 0
    CONST 0
    XCALL fail try
    RET
.func write_then_fail(B)
    CONST {K}
    CONST 7
    SSTORE
    LOAD 0
    CONST 0
    XCALL fail
    RET
.func reenter(B)
    LOAD 0
    CONST 0
    SELF
    XCALL call_back
    RET
.func poke()
    RET
.func pay_bump(B I) -> I
    LOAD 0
    LOAD 1
    CONST 1
    XCALL bump
    RET
.func mine() -> I
    CONST {K}
    SLOAD
    RET
.export call_bump(address,u256) -> u256 = call_bump
.export write_then_try_fail(address) -> bool = write_then_try_fail
.export write_then_fail(address) = write_then_fail
.export reenter(address) = reenter
.export poke() = poke
.export pay_bump(address,u256) -> u256 = pay_bump payable
.export mine() -> u256 = mine view
"""


@pytest.fixture
def h():
    return Harness()


@pytest.fixture
def pair(h):
    return h, h.deployed(COUNTER), h.deployed(CALLER)


# --------------------------------------------------------------------------- validity


def test_forged_signature_is_rejected_and_changes_nothing(h):
    tok = h.deployed(asm_module("token"))
    root = h.chain.state_root()
    tx = h.tx("alice", tok, h.chain.encode_call(tok, "mint", [h.addr("bob"), 5]))
    forged = replace(tx, value=1)  # signed for value 0
    with pytest.raises(InvalidTransaction) as info:
        h.block.apply(forged)
    assert info.value.code == "bad_signature"
    other = replace(tx, sender=h.keys["bob"].public_key)
    with pytest.raises(InvalidTransaction, match="signature"):
        h.block.apply(other)
    assert h.chain.state_root() == root


def test_replayed_transaction_is_rejected(h):
    tx = h.tx("alice", h.addr("bob"), value=5)
    assert h.block.apply(tx).success
    root = h.chain.state_root()
    with pytest.raises(InvalidTransaction) as info:
        h.block.apply(tx)
    assert info.value.code == "bad_nonce"
    h.next_block()
    with pytest.raises(InvalidTransaction, match="nonce"):
        h.block.apply(tx)
    assert h.chain.state_root() == root


@pytest.mark.parametrize(
    "change, code",
    [
        (dict(chain_id=2), "wrong_chain"),
        (dict(nonce=5), "bad_nonce"),
        (dict(gas_limit=100), "intrinsic_gas"),
        (dict(value=FUNDS), "insufficient_funds"),
        (dict(gas_price=FUNDS), "insufficient_funds"),
        (dict(data=bytes(LIMITS.max_tx_data + 1)), "too_large"),
        (dict(gas_limit=LIMITS.max_block_gas + 1), "block_full"),
        (dict(to=b"\x01"), "bad_recipient"),
    ],
)
def test_invalid_transactions_are_rejected_cleanly(h, change, code):
    key = h.keys["alice"]
    tx = replace(Transaction(1, 0, key.public_key, h.addr("bob"), 1, 100_000, 1), **change).signed(
        key
    )
    root = h.chain.state_root()
    with pytest.raises(InvalidTransaction) as info:
        h.block.apply(tx)
    assert info.value.code == code
    assert h.chain.state_root() == root


def test_fee_goes_from_sender_to_proposer():
    h = Harness()
    h.block.abandon()
    proposer = bytes([9]) * 20
    h.block = h.chain.begin_block(h.timestamp, proposer=proposer)
    r = h.block.apply(h.tx("alice", h.addr("bob"), value=100, price=3))
    assert r.success and r.gas_used == intrinsic_gas(h.tx("alice", h.addr("bob")))
    assert h.chain.balance(proposer) == r.gas_used * 3
    assert h.chain.balance(h.addr("alice")) == FUNDS - 100 - r.gas_used * 3
    assert h.chain.balance(h.addr("bob")) == FUNDS + 100


# --------------------------------------------------------------------------- deployment


def test_deployment_address_is_deterministic_and_runs_init(h):
    r = h.deploy(asm_module("token"))
    assert r.contract_address == contract_address(h.addr("alice"), 0)
    assert h.chain.account(r.contract_address).code_hash == asm_module("token").module_id
    # init stored the owner: only alice can mint
    assert (
        h.send("bob", r.contract_address, "mint", [h.addr("bob"), 1]).revert_reason == "only owner"
    )


def test_invalid_module_gives_a_failed_receipt_with_fee(h):
    r = h.block.apply(h.tx("alice", None, deploy_data(b"DEED\x00\x01\xff")))
    assert r.status == "reverted" and r.revert_reason.startswith("invalid module")
    assert h.chain.nonce(h.addr("alice")) == 1
    r = h.deploy(".func f()\n    POP\n    RET")
    assert "stack underflow" in r.revert_reason


# --------------------------------------------------------------------------- receipts


def test_receipt_has_return_values_events_and_typed_errors(pair):
    h, counter, _ = pair
    r = h.send("alice", counter, "bump", [5])
    assert r.success and r.return_values == (5,)
    assert [(log.event, log.values) for log in r.logs] == [("Bumped", (5, 5))]
    r = h.send("alice", counter, "bump", [5000])
    assert r.status == "reverted" and r.error == ("TooBig", (5000, 1000)) and r.logs == []
    assert h.call(counter, "total").return_values == (5,)


def test_bad_call_data_reverts(pair):
    h, counter, _ = pair
    sel = h.chain.export(counter, "bump").selector
    r = h.block.apply(h.tx("alice", counter, sel + b"\x01"))
    assert r.status == "reverted" and "bad call data" in r.revert_reason
    r = h.block.apply(h.tx("alice", counter, b"\xde\xad\xbe\xef"))
    assert "no function" in r.revert_reason


def test_read_only_call_changes_nothing(pair):
    h, counter, _ = pair
    root = h.chain.state_root()
    res = h.call(counter, "bump", [3])
    assert res.success and res.return_values == (3,)
    assert h.chain.state_root() == root
    assert h.call(counter, "total").return_values == (0,)


def test_view_cannot_write_and_only_payable_takes_value(pair):
    h, counter, _ = pair
    assert h.send("alice", counter, "write_in_view").revert_reason == "state change in a view call"
    assert "does not accept value" in h.send("alice", counter, "bump", [1], value=5).revert_reason
    r = h.send("alice", counter, "take", value=5)
    assert r.return_values == (5,) and h.chain.balance(counter) == 5


# --------------------------------------------------------------------------- calls between contracts


def test_cross_contract_call_returns_values(pair):
    h, counter, caller = pair
    assert h.send("alice", caller, "call_bump", [counter, 4]).return_values == (4,)
    assert h.call(counter, "total").return_values == (4,)


def test_failed_inner_call_undoes_only_its_own_changes(pair):
    h, counter, caller = pair
    r = h.send("alice", caller, "write_then_try_fail", [counter])
    assert r.success and r.return_values == (False,)
    assert r.logs == []  # the callee's event was undone with it
    assert h.call(caller, "mine").return_values == (7,)  # the caller's write stays
    assert h.call(counter, "total").return_values == (0,)  # the callee's write is gone


def test_failed_inner_call_without_try_undoes_everything(pair):
    h, counter, caller = pair
    r = h.send("alice", caller, "write_then_fail", [counter])
    assert r.status == "reverted" and r.revert_reason == "nope"
    assert h.call(caller, "mine").return_values == (0,)


def test_reentrancy_is_refused(pair):
    h, counter, caller = pair
    r = h.send("alice", caller, "reenter", [counter])
    assert r.status == "reverted" and "reentrant call refused" in r.revert_reason


def test_value_sent_with_a_call_is_rolled_back_on_failure(pair):
    h, counter, caller = pair
    # bump is not payable: the value cannot be accepted, the whole call fails
    r = h.send("alice", caller, "pay_bump", [counter, 1], value=10)
    assert r.status == "reverted"
    assert h.chain.balance(caller) == 0 and h.chain.balance(counter) == 0


def test_call_depth_is_bounded(h):
    # a chain of contracts each calling the next: the depth limit stops it cleanly
    text = """
.import hop(u8) -> u8
.func hop(I) -> I
    LOAD 0
    CONST 0
    EQ
    JMPIFNOT deeper
    CONST 0
    RET
deeper:
    CONST 0x%s
    CONST 0
    LOAD 0
    CONST 1
    SUB u8
    XCALL hop
    RET
.export hop(u8) -> u8 = hop
"""
    # deploy N contracts where contract i calls contract i+1 (addresses are predictable)
    n = LIMITS.max_call_depth + 2
    nonce = h.chain.nonce(h.addr("alice"))
    addrs = [contract_address(h.addr("alice"), nonce + i) for i in range(n + 1)]
    for i in range(n):
        h.deployed(text % addrs[i + 1].hex())
    ok = h.send("alice", addrs[0], "hop", [LIMITS.max_call_depth - 1])
    assert ok.success, ok.revert_reason
    deep = h.send("alice", addrs[0], "hop", [LIMITS.max_call_depth])
    assert deep.status == "reverted" and "depth" in deep.revert_reason


def test_block_rules(h):
    with pytest.raises(StateError):
        h.chain.begin_block(h.timestamp)  # one block at a time
    header = h.next_block()
    assert header.height == 1 and h.chain.head == header
    assert h.chain.block_header(1) == header
    h.block.abandon()
    with pytest.raises(StateError, match="before its parent"):
        h.chain.begin_block(h.timestamp - 100)


def test_proofs_of_accounts_against_block_headers_survive_a_restart(tmp_path):
    from deed.vm.chain import Chain
    from deed.vm.proof import verify
    from deed.vm.state import SqliteBackend, account_key

    h = Harness(backend=SqliteBackend(tmp_path / "c.db"))
    key = account_key(h.addr("bob"))
    headers = []
    for amount in (1, 2, 3):
        h.block.apply(h.tx("alice", h.addr("bob"), value=amount))
        headers.append(h.next_block())
    h.block.abandon()
    h.chain.backend.close()
    chain = Chain(SqliteBackend(tmp_path / "c.db"), keep_versions=2)
    assert chain.state_root() == headers[-1].state_root
    value = chain.backend.get(key)
    assert verify(headers[-1].state_root, key, value, chain.prove(key).encode())
    older = chain.prove(key, headers[-2].height)
    assert not verify(headers[-2].state_root, key, value, older)  # bob had 3 less then
    assert verify(
        headers[-2].state_root, b"nobody", None, chain.prove(b"nobody", headers[-2].height)
    )
    with pytest.raises(StateError, match="pruned"):
        chain.prove(key, headers[0].height)
    with pytest.raises(StateError, match="no block at height"):
        chain.prove(key, headers[-1].height + 1)


def test_a_chain_with_state_roots_of_another_version_is_refused():
    from deed.vm.chain import Chain

    h = Harness()
    h.block.abandon()
    backend = h.chain.backend
    assert backend.get_meta("state_root_version") == b"2"
    Chain(backend)  # opens
    del backend.meta["state_root_version"]  # as a chain written before version 2
    with pytest.raises(StateError, match="state roots are of version 1"):
        Chain(backend)
