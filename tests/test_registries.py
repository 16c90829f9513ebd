"""The registries every contract shares: documents registered once, and
signed oracle reports checked (signers, quorum, freshness) and used once."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Harness

from deed.vm import costs
from deed.vm.crypto import KeyPair
from deed.vm.opcodes import GAS, LIMITS
from deed.vm.oracle import (
    Report,
    decode_report,
    encode_report,
    report_digest,
    sign_report,
    signer_set,
)

PROBE = """
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
.export reg_then_fail(bytes32) = reg_then_fail
"""

DOC = b"\x42" * 32
ORACLES = [KeyPair.from_text(f"oracle {i}") for i in range(3)]
SIGNERS = signer_set(ORACLES)


@pytest.fixture
def two():
    h = Harness()
    return h, h.deployed(PROBE), h.deployed(PROBE)


def test_a_document_is_registered_once_across_contracts(two):
    h, a, b = two
    assert h.call(a, "holder", [DOC]).return_values == (bytes(20),)
    assert h.send("alice", a, "register", [DOC]).success
    assert h.call(b, "holder", [DOC]).return_values == (a,)
    assert h.send("alice", a, "register", [DOC]).revert_reason == "document already registered"
    assert h.send("bob", b, "register", [DOC]).revert_reason == "document already registered"


def test_registration_is_undone_with_its_call(two):
    h, a, b = two
    assert h.send("alice", a, "reg_then_fail", [DOC]).status == "reverted"
    assert h.call(a, "holder", [DOC]).return_values == (bytes(20),)
    assert h.send("alice", b, "register", [DOC]).success
    assert (
        h.send("alice", a, "register_in_view", [b"\x01" * 32]).revert_reason
        == "document registration in a view call"
    )


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
