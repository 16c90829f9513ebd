"""The node's receipt index: every committed transaction's receipt is kept
with its block, atomically, on every backend, and read back after a restart
(`Chain.receipt`, `deed receipt`)."""

import json

from cli_support import ROOT, new_chain
from hypothesis import given
from hypothesis import strategies as st
from support import Harness

from deed.compiler.driver import compile_file, compile_source
from deed.vm.chain import Chain, Receipt
from deed.vm.execution import Log
from deed.vm.state import SqliteBackend

TOKEN = compile_file("contracts/token.deed").module
FAILING = compile_source(
    """contract Desk:
    error Refused(code: u8, who: address, note: string[8])
    pub refuse(code: u8):
        revert Refused(code, msg.sender, "no")
"""
).module

host_values = st.one_of(
    st.booleans(), st.integers(-(2**255), 2**256 - 1), st.binary(max_size=40), st.text(max_size=8)
)


@given(
    st.binary(min_size=32, max_size=32),
    st.sampled_from(["success", "reverted", "out_of_gas"]),
    st.integers(0, 2**63 - 1),
    st.binary(max_size=64),
    st.lists(
        st.tuples(
            st.binary(min_size=20, max_size=20),
            st.text("abcXYZ", min_size=1, max_size=8),
            st.binary(max_size=40),
        ),
        max_size=3,
    ),
    st.one_of(st.none(), st.text(max_size=20).filter(bool)),
    st.one_of(
        st.none(),
        st.tuples(
            st.text("ABCdef", min_size=1, max_size=8), st.lists(host_values, max_size=3).map(tuple)
        ),
    ),
    st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
)
def test_a_stored_receipt_reads_back_as_it_was(
    tx_hash, status, gas, data, logs, reason, error, created
):
    r = Receipt(
        tx_hash,
        status,
        gas,
        data,
        (),
        [Log(a, e, (), d) for a, e, d in logs],
        reason,
        error,
        created,
    )
    back = Receipt.from_stored(r.stored())
    assert back.encode() == r.encode()  # the canonical part, hashed into the receipts root
    assert (back.status, back.gas_used, back.return_data, back.revert_reason) == (
        status,
        gas,
        data,
        reason,
    )
    assert back.error == error and back.contract_address == created
    assert [(g.address, g.event, g.data) for g in back.logs] == logs


def test_receipts_are_kept_for_successes_reverts_and_typed_errors(tmp_path):
    h = Harness(backend=SqliteBackend(tmp_path / "chain.db"))
    token = h.deployed(TOKEN)
    desk = h.deployed(FAILING)
    minted = h.send("alice", token, "mint", [h.addr("bob"), 5])
    refused = h.send("bob", desk, "refuse", [7])
    short = h.send("carol", token, "transfer", [h.addr("alice"), 9])
    h.block.commit()
    reopened = Chain(SqliteBackend(tmp_path / "chain.db"))  # a restarted node
    got = reopened.receipt(minted.tx_hash)
    assert (
        got is not None
        and got.receipt.status == "success"
        and got.receipt.gas_used == minted.gas_used
    )
    assert [(g.event, g.values[2]) for g in got.receipt.logs] == [("Transfer", 5)]
    err = reopened.receipt(refused.tx_hash).receipt
    assert err.status == "reverted" and err.error == refused.error
    assert refused.error[0] == "Refused" and refused.error[1][:2] == (7, h.addr("bob"))
    assert reopened.receipt(short.tx_hash).receipt.revert_reason == "insufficient balance"
    assert reopened.receipt(bytes(32)) is None
    # in the order the block holds them
    # in the order the block holds them (after the two deployments)
    assert [reopened.receipt(r.tx_hash).tx_index for r in (minted, refused, short)] == [2, 3, 4]


def test_an_abandoned_block_leaves_no_receipt():
    h = Harness()
    token = h.deployed(TOKEN)
    h.block.commit()
    h.block = h.chain.begin_block(h.timestamp + 10)
    r = h.send("alice", token, "mint", [h.addr("bob"), 5])
    h.block.abandon()
    assert h.chain.receipt(r.tx_hash) is None


def test_deed_receipt_reads_a_past_transaction(tmp_path):
    local = new_chain(tmp_path)
    token = local.deploy(ROOT / "contracts" / "token.deed")
    sent = json.loads(
        local.run("send", token, "mint", "@bob", "5", "--from", "alice", "--json").output
    )
    r = local.run("receipt", sent["tx_hash"], "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["status"] == "success" and shown["gas_used"] == sent["gas_used"]
    assert shown["events"] == sent["events"] and shown["tx_hash"] == sent["tx_hash"]
    text = local.run("receipt", sent["tx_hash"]).output
    assert "success" in text and "event Transfer(" in text
    # a reverted send reports in JSON (no result to show) and its receipt is kept
    failed = local.run("send", token, "transfer", "@alice", "99", "--from", "bob", "--json")
    assert failed.exit_code == 1
    kept = json.loads(local.run("receipt", json.loads(failed.output)["tx_hash"], "--json").output)
    assert kept["status"] == "reverted" and kept["revert_reason"] == "insufficient balance"
    assert local.run("receipt", "0x1234").exit_code == 2
    missing = local.run("receipt", "0x" + "00" * 32)
    assert missing.exit_code == 1 and "no transaction" in missing.output
