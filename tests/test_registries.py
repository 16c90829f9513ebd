"""The registries every contract shares: documents registered once per
signer, in the signer's name only, and signed oracle reports checked
(signers, quorum, freshness) and used once."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Harness

from deed.vm import costs
from deed.vm.crypto import KeyPair
from deed.vm.execution import ENGINES, ModuleCache
from deed.vm.opcodes import GAS, LIMITS
from deed.vm.oracle import (
    Report,
    decode_report,
    encode_report,
    report_digest,
    sign_report,
    signer_set,
)
from deed.vm.state import DOCUMENT, REGISTRY_KEY_TAG, registry_key

PROBE = """
.import register(bytes32)
.func reg(B)
    LOAD 0
    DOCREG
    RET
.func holder(B) -> B
    LOAD 0
    DOCHOLDER
    RET
.func read(B B I I) -> B
    LOAD 0
    LOAD 1
    LOAD 2
    LOAD 3
    ORACLE
    RET
.func reg_then_fail(B)
    LOAD 0
    DOCREG
    CONST "changed my mind"
    REVERT
.export register(bytes32) = reg
.export holder(bytes32) -> address = holder view
.export register_in_view(bytes32) = reg view
.export read(bytes[2000],bytes[512],u8,u64) -> bytes[1024] = read
.export read_in_view(bytes[2000],bytes[512],u8,u64) -> bytes[1024] = read view
.func relay(B B)
    LOAD 0
    CONST 0
    LOAD 1
    XCALL register
    RET
.export reg_then_fail(bytes32) = reg_then_fail
.export relay(address,bytes32) = relay
"""

DOC = b"\x42" * 32
ORACLES = [KeyPair.from_text(f"oracle {i}") for i in range(3)]
SIGNERS = signer_set(ORACLES)


@pytest.fixture
def two():
    h = Harness()
    return h, h.deployed(PROBE), h.deployed(PROBE)


def key(h, who, doc=DOC):
    return registry_key(h.addr(who), doc)


def test_registry_key_is_the_tagged_hash_of_signer_and_document():
    import hashlib

    origin = b"\x05" * 20
    assert registry_key(origin, DOC) == hashlib.sha256(b"deed-docreg-v1" + origin + DOC).digest()
    assert REGISTRY_KEY_TAG == b"deed-docreg-v1"
    with pytest.raises(ValueError):
        registry_key(origin[:19], DOC)
    with pytest.raises(ValueError):
        registry_key(origin, DOC[:31])


def test_a_document_is_registered_once_per_signer_across_contracts(two):
    h, a, b = two
    assert h.call(a, "holder", [key(h, "alice")]).return_values == (bytes(20),)
    assert h.send("alice", a, "register", [DOC]).success
    assert h.call(b, "holder", [key(h, "alice")]).return_values == (a,)
    assert h.call(b, "holder", [DOC]).return_values == (bytes(20),)  # the bare hash is no key
    # the signer's key is taken, through this contract or any other
    assert h.send("alice", a, "register", [DOC]).revert_reason == "document already registered"
    assert h.send("alice", b, "register", [DOC]).revert_reason == "document already registered"
    # another signer registers the same hash under their own key: nobody is blocked
    assert h.send("bob", b, "register", [DOC]).success
    assert h.call(a, "holder", [key(h, "bob")]).return_values == (b,)
    assert h.call(a, "holder", [key(h, "alice")]).return_values == (a,)


def test_only_the_contract_the_transaction_calls_registers(two):
    """A contract called by another contract cannot register in the signer's
    name: the signer named the outer contract, not the inner one."""
    h, a, b = two
    r = h.send("alice", a, "relay", [b, DOC])
    assert r.revert_reason == "a document is registered only by the contract the transaction calls"
    assert h.chain.state.document_holder(key(h, "alice")) is None
    assert h.send("alice", b, "register", [DOC]).success


def test_registration_is_undone_with_its_call(two):
    h, a, b = two
    assert h.send("alice", a, "reg_then_fail", [DOC]).status == "reverted"
    assert h.call(a, "holder", [key(h, "alice")]).return_values == (bytes(20),)
    assert h.send("alice", b, "register", [DOC]).success
    assert (
        h.send("alice", a, "register_in_view", [b"\x01" * 32]).revert_reason
        == "document registration in a view call"
    )
    assert h.send("alice", a, "register", [b"\x01" * 32]).success


def test_holder_of_a_value_that_is_not_a_key_is_the_zero_address():
    h = Harness()
    a = h.deployed(PROBE.replace("holder(bytes32)", "holder(bytes[40])"))
    assert h.call(a, "holder", [b"\x01" * 31]).return_values == (bytes(20),)
    assert h.call(a, "holder", [b""]).return_values == (bytes(20),)


SIGNERS_OF_DOCS = ("alice", "bob", "carol")
DOC_POOL = (DOC, b"\x43" * 32, bytes(32))
ENGINE_NAMES = ["reference"] + sorted(e for e in ENGINES if e != "reference")

# one step: (signer, contract index, document index, how)
steps = st.lists(
    st.tuples(
        st.sampled_from(SIGNERS_OF_DOCS),
        st.integers(0, 2),
        st.integers(0, len(DOC_POOL) - 1),
        st.sampled_from(["register", "reg_then_fail", "relay", "register_in_view"]),
    ),
    min_size=1,
    max_size=10,
)


def _run_registry(engine: str, plan) -> list:
    """Run ``plan`` on a fresh chain with ``engine``; check the registry
    against a model after every step; return every observable outcome."""
    h = Harness(modules=ModuleCache(engine=engine))
    contracts = [h.deployed(PROBE) for _ in range(3)]
    model: dict[bytes, bytes] = {}  # registry key -> holder
    seen = []
    for signer, ci, di, how in plan:
        doc, contract = DOC_POOL[di], contracts[ci]
        args = [contracts[(ci + 1) % 3], doc] if how == "relay" else [doc]
        r = h.send(signer, contract, how, args)
        k = registry_key(h.addr(signer), doc)
        if how == "register":
            assert r.success == (k not in model), r.revert_reason
            if r.success:
                model[k] = contract
            else:
                assert r.revert_reason == "document already registered"
        else:
            assert r.status == "reverted"  # failing, nested and view registrations leave nothing
        # every entry is one the model made: under its own signer's key, held by
        # the contract that signer called; nothing else in anyone's name
        entries = {
            key[1:]: value for key, value in h.chain.state.entries().items() if key[:1] == DOCUMENT
        }
        assert entries == model
        holders = [h.call(contracts[0], "holder", [kk]).return_values for kk in model]
        seen.append((r.status, r.gas_used, r.revert_reason, holders, h.chain.state.state_root()))
    seen.append(h.next_block())
    return seen


@settings(max_examples=25, deadline=None)
@given(steps)
def test_registry_entries_are_bound_to_their_signer_on_every_engine(plan):
    """Random signers, contracts, documents and ways to register: an entry is
    only ever created under the signer's own key, by the contract the
    transaction calls; the same (signer, document) is never registered twice;
    reverting, nested and view calls leave no entry; and every engine gives
    the same receipts, gas, holders, state roots and block header."""
    outcomes = {engine: _run_registry(engine, plan) for engine in ENGINE_NAMES}
    for engine in ENGINE_NAMES[1:]:
        assert outcomes[engine] == outcomes["reference"], engine


def report(data=b"LH454:150", age=10, signers=(0, 1), now=None):
    return sign_report(now - age, data, [(i, ORACLES[i]) for i in signers])


def test_a_valid_report_gives_its_data_once_per_contract(two):
    h, a, b = two
    r = report(now=h.timestamp)
    res = h.send("alice", a, "read", [r, SIGNERS, 2, 60])
    assert res.success and res.return_values == (b"LH454:150",)
    assert (
        h.send("alice", a, "read", [r, SIGNERS, 2, 60]).revert_reason
        == "oracle report already used"
    )
    assert h.send("alice", b, "read", [r, SIGNERS, 2, 60]).success  # another contract may use it


@pytest.mark.parametrize(
    "make, quorum, max_age, reason",
    [
        (lambda now: report(signers=(0,), now=now), 2, 60, "oracle quorum not reached"),
        (lambda now: report(age=120, now=now), 2, 60, "stale oracle report"),
        (lambda now: report(age=-5, now=now), 2, 60, "oracle report from the future"),
        (
            lambda now: report(now=now)[:-1],
            2,
            60,
            "malformed oracle report: signatures do not fill the report",
        ),
        (lambda now: report(now=now).replace(b"150", b"151"), 2, 60, "bad oracle signature"),
        (
            lambda now: sign_report(
                now, b"x", [(0, ORACLES[0]), (1, KeyPair.from_text("intruder"))]
            ),
            2,
            60,
            "bad oracle signature",
        ),
        (
            lambda now: report(now=now),
            4,
            60,
            "the quorum must be between 1 and the number of signers",
        ),
        (
            lambda now: report(now=now),
            0,
            60,
            "the quorum must be between 1 and the number of signers",
        ),
    ],
)
def test_bad_reports_revert_with_a_reason(two, make, quorum, max_age, reason):
    h, a, _ = two
    r = h.send("alice", a, "read", [make(h.timestamp), SIGNERS, quorum, max_age])
    assert r.status == "reverted" and r.revert_reason == reason


def test_signature_order_and_repeats_are_canonical():
    now = 1000
    digest = report_digest(now, b"d")
    sigs = ((1, ORACLES[1].sign(digest)), (1, ORACLES[1].sign(digest)))
    with pytest.raises(ValueError, match="strictly increasing"):
        decode_report(encode_report(Report(now, b"d", sigs)))


def test_report_in_a_view_is_refused(two):
    h, a, _ = two
    res = h.call(a, "read_in_view", [report(now=h.timestamp), SIGNERS, 2, 60])
    assert res.revert_reason == "oracle report used in a view call"


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(0, 2), min_size=1), st.integers(1, 3), st.binary(max_size=64))
def test_any_quorum_of_valid_signers_is_accepted(chosen, quorum, data):
    h = Harness()
    a = h.deployed(PROBE)
    r = sign_report(h.timestamp, data, [(i, ORACLES[i]) for i in chosen])
    res = h.send("alice", a, "read", [r, SIGNERS, quorum, 0])
    if len(chosen) >= quorum:
        assert res.success and res.return_values == (data,)
    else:
        assert res.revert_reason == "oracle quorum not reached"


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300))
def test_malformed_reports_revert_cleanly(blob):
    h = Harness()
    a = h.deployed(PROBE)
    res = h.send("alice", a, "read", [blob, SIGNERS, 1, 10**6])
    assert res.status == "reverted"


def test_oracle_gas_is_its_table_cost():
    h = Harness()
    a = h.deployed(PROBE)
    r = report(now=h.timestamp)
    res = h.call(a, "read", [r, SIGNERS, 2, 60])
    words = (len(r) + 31) // 32
    expected = (
        h.load_gas(a)
        + 2 * 4
        + 5
        + 2
        + GAS.hash_per_word * words
        + GAS.storage_read
        + 2 * GAS.oracle_signature
        + GAS.storage_new_slot
        + GAS.memory_per_word
        + GAS.cold_access  # the report's used-flag, first read in the call
        + costs.boundary(len(res.return_values[0]))  # the returned bytes are checked
        + costs.return_data(4 + len(res.return_values[0]))  # and kept: length and data
    )
    assert res.gas_used == expected
    assert LIMITS.max_oracle_signers == 16
