"""Atomic transactions: a fault at any host call while a transaction runs
undoes everything it did (nonce and fee included), is reported as a
NodeError naming the transaction, and leaves the block builder usable.

Faults are injected at every call of every host entry point the VM uses
(frame methods, state reads and writes, the backend, signatures, the module
cache and its artifacts), one call at a time, in a deployment and in a call
that touches storage, events, hashing, value and another contract."""

from __future__ import annotations

import pytest
from support import Harness

from deed.vm import crypto
from deed.vm.asm import assemble
from deed.vm.chain import deploy_data
from deed.vm.errors import NodeError
from deed.vm.execution import Frame, ModuleCache
from deed.vm.state import MemoryBackend, StateDB

CALLEE = """
.func ping(I) -> I
    LOAD 0
    CONST 1
    ADD u64
    RET
.export ping(u64) -> u64 = ping
"""

KITCHEN = """
.event Done(n: u64)
.import ping(u64) -> u64
.func init()
    RET
.func go(B) -> I
.locals I
    CONST 0x0000000000000000000000000000000000000000000000000000000000000001
    CONST 5
    MKEY
    DUP 0
    SLOAD
    CONST 1
    ADD u64
    SSTORE
    CONST "hello"
    SHA256
    POP
    LOAD 0
    CONST 0
    CONST 41
    XCALL ping
    STORE 1
    LOAD 1
    EMIT Done
    CONST 0x0000000000000000000000000000000000000007
    CONST 1
    SEND
    CALLER
    BALANCE
    POP
    LOAD 1
    RET
.export init() = init payable init
.export go(address) -> u64 = go payable
"""

# (owner, attribute) of every host entry point a transaction goes through
HOST_CALLS = [
    *(
        (Frame, name)
        for name in ("sha256", "mkey", "sload", "sstore", "emit", "send", "balance", "xcall")
    ),
    *((StateDB, name) for name in ("read", "write", "account", "set_account", "checkpoint")),
    (MemoryBackend, "get"),
    (ModuleCache, "get"),
    (ModuleCache, "put"),
    (MemoryBackend, "get_artifact"),
    (MemoryBackend, "put_artifact"),
]


class Injected(Exception):
    """The fault this test injects."""


def _fault_at(monkeypatch, owner, name: str, when: int, counter: list[int]) -> None:
    """Make call number ``when`` of owner.name raise (0: only count the calls)."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        counter[0] += 1
        if counter[0] == when:
            raise Injected(f"{owner.__name__}.{name} call {when}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def _setup():
    h = Harness(check_signatures=True)
    h.chain.modules = ModuleCache()  # a cold cache: loading goes through the store
    callee = h.deployed(CALLEE)
    kitchen = h.deployed(KITCHEN, value=10)
    h.next_block()
    return h, callee, kitchen


def _scenarios(h, callee, kitchen):
    """The transactions to break: a call touching every kind of host work, and
    a deployment of a module no node has seen (verified, translated, stored)."""
    call = h.tx("bob", kitchen, h.chain.encode_call(kitchen, "go", [callee]), value=3)
    fresh = CALLEE.replace("CONST 1", "CONST 2")
    deploy = h.tx("carol", None, deploy_data(assemble(fresh).encode()))
    return {"call": call, "deploy": deploy}


def _snapshot(h):
    state = h.chain.state
    return (dict(state.dirty), len(state.journal), state.state_root(), h.block.gas_used)


def _cold(h) -> None:
    """Forget what the node caches, so every run goes through the backend and the store."""
    h.chain.state.cache.clear()
    h.chain.state.cache_bytes = 0
    h.chain.modules.entries.clear()
    h.chain.modules.held_bytes = 0


def _count_calls(monkeypatch, h, tx, owner, name) -> tuple[int, object]:
    """How often a clean run of ``tx`` calls owner.name, and its receipt."""
    counter = [0]
    _cold(h)
    with monkeypatch.context() as m:
        _fault_at(m, owner, name, 0, counter)
        receipt = h.block.apply(tx)
    h.block.abandon()
    h.block = h.chain.begin_block(h.timestamp + 5)
    return counter[0], receipt


@pytest.mark.parametrize("scenario", ["call", "deploy"])
def test_a_fault_at_any_host_call_undoes_the_transaction(monkeypatch, scenario):
    h, callee, kitchen = _setup()
    tx = _scenarios(h, callee, kitchen)[scenario]
    faults = 0
    for owner, name in HOST_CALLS:
        calls, clean = _count_calls(monkeypatch, h, tx, owner, name)
        assert clean.status == "success", clean.revert_reason
        for when in range(1, calls + 1):
            before = _snapshot(h)
            counter = [0]
            _cold(h)
            with monkeypatch.context() as m:
                _fault_at(m, owner, name, when, counter)
                with pytest.raises(NodeError) as info:
                    h.block.apply(tx)
            assert info.value.tx_hash == tx.hash
            assert isinstance(info.value.cause, Injected), info.value.cause
            assert _snapshot(h) == before, f"{owner.__name__}.{name}: state changed (call {when})"
            # the builder is still usable: the same transaction now goes through
            again = h.block.apply(tx)
            assert (again.status, again.gas_used) == (clean.status, clean.gas_used)
            h.block.abandon()
            h.block = h.chain.begin_block(h.timestamp + 5)
            faults += 1
    assert faults > 20  # the scenario really went through the host


def test_every_listed_host_call_is_reached_by_some_scenario(monkeypatch):
    """The list above is not decoration: each entry point runs in a scenario."""
    h, callee, kitchen = _setup()
    txs = _scenarios(h, callee, kitchen)
    unreached = [
        f"{owner.__name__}.{name}"
        for owner, name in HOST_CALLS
        if not any(_count_calls(monkeypatch, h, tx, owner, name)[0] for tx in txs.values())
    ]
    assert unreached == [], unreached


def test_a_fault_in_signature_checking_changes_nothing(monkeypatch):
    h, callee, kitchen = _setup()
    tx = _scenarios(h, callee, kitchen)["call"]
    before = _snapshot(h)

    def broken(*args):
        raise Injected("libsodium")

    monkeypatch.setattr(crypto, "verify", broken)
    with pytest.raises(NodeError):
        h.block.apply(tx)
    assert _snapshot(h) == before


def test_keyboard_interrupt_is_passed_on_after_undoing(monkeypatch):
    h, callee, kitchen = _setup()
    tx = _scenarios(h, callee, kitchen)["call"]
    before = _snapshot(h)
    original = Frame.sstore

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(Frame, "sstore", interrupted)
    with pytest.raises(KeyboardInterrupt):
        h.block.apply(tx)
    assert _snapshot(h) == before
    monkeypatch.setattr(Frame, "sstore", original)
    assert h.block.apply(tx).success
