"""The Deed network (deed.network, spec/network.md): the ordered log's
encodings, the root majority rule, and a real 3-node devnet (three etcd
members, three `deed node --etcd` processes on 127.0.0.1) under load while
etcd members, the block-cutter and followers are killed, restarted and cut
off. Nothing acknowledged may be lost or applied twice, and every node must
hold the same blocks and state roots.

The devnet tests run in the suite's default pass only (DEED_ENGINE unset or
``translate``): they test the ordering, which is the same on every engine,
and take about a minute; the engines' equality is shown by every other test.
Figures (election time, catch-up per 1,000 blocks, counts) are printed and,
with DEED_NETWORK_FIGURES=PATH, written there as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from network_support import GAS, SINK, Load, audit, height, rpc, sender_keys, wait_until

from deed.cli.local import FAUCET_FUNDS, faucet_key
from deed.network.devnet import Devnet
from deed.network.log import OrderingLog
from deed.network.ordered import NetworkGenesis, OrderedBlock
from deed.network.service import tally
from deed.vm.chain import Transaction
from deed.vm.state import Account, account_key

ENGINE = os.environ.get("DEED_ENGINE", "translate")
devnet_only_once = pytest.mark.skipif(
    ENGINE != "translate", reason="the devnet tests run in the default engine's pass"
)
FIGURES: dict[str, object] = {}
KEYS = {
    "sends": 0,
    "rejected": 1,
    "faults": slice(2, 8),
    "catch_up": slice(8, 12),
    "halt": 12,
    "snapshot": slice(13, 16),
}


# --------------------------------------------------------------------------- encodings


@given(
    st.integers(1, 2**40),
    st.integers(0, 2**40),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=20, max_size=20),
    st.lists(st.binary(max_size=300), max_size=20),
)
def test_an_ordered_block_encodes_and_decodes_to_itself(height_, ts, parent, proposer, txs):
    block = OrderedBlock(height_, ts, parent, proposer, tuple(txs))
    assert OrderedBlock.decode(block.encode()) == block
    assert OrderedBlock.decode(block.encode()).hash == block.hash


@given(st.binary(max_size=200))
def test_a_malformed_ordered_block_is_a_decode_error(data):
    from deed.vm.errors import DecodeError

    try:
        block = OrderedBlock.decode(data)
    except DecodeError:
        return
    assert block.encode() == data  # what decodes is canonical


def test_the_genesis_record_is_canonical():
    g = NetworkGenesis(7, 1_700_000_000, {b"\x02" * 20: 5, b"\x01" * 20: 10**30}, ("a", "b", "c"))
    assert NetworkGenesis.decode(g.encode()) == g
    assert g.quorum == 2
    assert NetworkGenesis(7, 1, {}, ("a", "b", "c", "d")).quorum == 3


# --------------------------------------------------------------------------- the majority rule

GENESIS = NetworkGenesis(1, 0, {}, ("n1", "n2", "n3"))
A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


@pytest.mark.parametrize(
    "roots, mine, verdict",
    [
        ({"n1": A}, A, None),  # alone: wait
        ({"n1": A, "n2": A}, A, True),  # a majority with me
        ({"n1": A, "n2": B}, A, None),  # one each: wait for the third
        ({"n1": A, "n2": B, "n3": B}, A, False),  # the majority is another root
        ({"n1": A, "n2": B, "n3": C}, A, False),  # every node published, no majority
        ({"n1": A, "x9": A}, A, None),  # a node not in the genesis does not count
    ],
)
def test_a_block_is_agreed_by_a_majority_of_the_genesis_nodes(roots, mine, verdict):
    assert tally(roots, mine, GENESIS) is verdict


# --------------------------------------------------------------------------- a real devnet


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    """One devnet for the module's tests, in file order (the last one halts
    a node); each test sends from keys of its own (``KEYS``)."""
    keys = sender_keys(16)
    net = Devnet.plan(tmp_path_factory.mktemp("devnet") / "net", 3, block_time=0.05)
    funds = {k.address: 10**30 for k in keys} | {faucet_key().address: FAUCET_FUNDS}
    net.up(net.genesis_for(funds))
    net.keys = keys
    try:
        yield net
    finally:
        for m in net.members:  # a frozen etcd member would not stop
            if m.etcd_pid:
                with _suppress():
                    os.kill(m.etcd_pid, signal.SIGCONT)
        net.down()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is ProcessLookupError


def _live_urls(net: Devnet, down: set[str]):
    return lambda: [m.rpc_url for m in net.members if m.name not in down]


def _cutter(net: Devnet) -> str | None:
    for m in net.members:
        try:
            found = OrderingLog(m.etcd_url, net.network).cutter()
        except ConnectionError:
            continue
        return None if found is None else found.split(":")[0]
    return None


def _member(net: Devnet, name: str):
    return next(m for m in net.members if m.name == name)


def _caught_up(net: Devnet, name: str, timeout: float = 60) -> float:
    others = [m.rpc_url for m in net.members if m.name != name]
    me = _member(net, name).rpc_url

    def level() -> bool:
        mine = height(me)
        return mine is not None and mine >= max(height(u) or 0 for u in others)

    return wait_until(level, timeout, f"{name} caught up")


@devnet_only_once
def test_sends_on_any_node_are_ordered_once_and_agreed_by_all(devnet):
    key = devnet.keys[KEYS["sends"]]
    urls = [m.rpc_url for m in devnet.members]
    hashes = []
    for nonce, url in enumerate(urls * 2):
        tx = Transaction(1, nonce, key.public_key, SINK, 5, GAS, 1).signed(key)
        out = rpc(url, "deed_sendTransaction", "0x" + tx.encode().hex())
        assert out == {"tx_hash": "0x" + tx.hash.hex(), "pending": True}
        hashes.append(tx.hash)
    for url in urls:
        wait_until(
            lambda url=url: rpc(url, "deed_getReceipt", "0x" + hashes[-1].hex()) is not None,
            20,
            "the last receipt",
        )
        assert rpc(url, "deed_getBalance", "0x" + SINK.hex()) == 30
    tops = {rpc(u, "deed_getBlock", "latest")["state_root"] for u in urls}
    assert len(tops) == 1
    # refused before the log: a used nonce, a bad signature; development methods
    tx = Transaction(1, 0, key.public_key, SINK, 5, GAS, 1).signed(key)
    with pytest.raises(Exception, match="known|bad_nonce"):
        rpc(urls[1], "deed_sendTransaction", "0x" + tx.encode().hex())
    forged = Transaction(1, 6, key.public_key, SINK, 5, GAS, 1, b"", bytes(64))
    with pytest.raises(Exception, match="bad_signature"):
        rpc(urls[2], "deed_sendTransaction", "0x" + forged.encode().hex())
    with pytest.raises(Exception, match="development method"):
        rpc(urls[0], "deed_mine")


@devnet_only_once
def test_a_transaction_that_reaches_the_log_invalid_is_rejected_by_every_node(devnet):
    """Two transactions with one nonce, sent to two nodes at once: both pass
    each node's check, both reach the log, one runs and the other is skipped
    by every node with the same recorded reason."""
    key = devnet.keys[KEYS["rejected"]]
    a = Transaction(1, 0, key.public_key, SINK, 1, GAS, 1).signed(key)
    b = Transaction(1, 0, key.public_key, SINK, 2, GAS, 1).signed(key)
    log = OrderingLog(devnet.members[0].etcd_url, devnet.network)
    log.submit([(a.hash, a.encode()), (b.hash, b.encode())])  # as two nodes would
    urls = [m.rpc_url for m in devnet.members]
    outcomes = []
    for url in urls:
        wait_until(
            lambda url=url: all(
                rpc(url, "deed_getTransactionStatus", "0x" + t.hash.hex())["status"]
                in ("committed", "rejected")
                for t in (a, b)
            ),
            20,
            "both outcomes",
        )
        outcomes.append(
            [rpc(url, "deed_getTransactionStatus", "0x" + t.hash.hex()) for t in (a, b)]
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]
    states = sorted(s["status"] for s in outcomes[0])
    assert states == ["committed", "rejected"]
    rejected = next(s for s in outcomes[0] if s["status"] == "rejected")
    assert rejected["reason"] == "bad_nonce"


CONTRACT_TEST = '''
import pytest
from deed.testing import NotOnThisNode

SOURCE = """
contract Jar:
    event Put(indexed who: address, amount: uint)

    total: uint

    @payable
    pub put() -> uint:
        require(msg.value > 0, "empty")
        self.total += msg.value
        emit Put(msg.sender, msg.value)
        return self.total
"""


def test_jar_on_the_network(env):
    bob = env.accounts[1]
    jar = env.deploy(SOURCE)
    assert jar.put(sender=bob, value=10) == 10
    assert env.last_receipt.events[0].args.who == bob
    with env.reverts("empty"):
        jar.put(sender=bob)
    with pytest.raises(NotOnThisNode, match="part of a network"):
        env.time_travel(seconds=10)
'''


@devnet_only_once
def test_deed_testing_runs_a_contracts_tests_on_a_network_node(devnet, tmp_path):
    import subprocess
    import sys

    (tmp_path / "test_jar.py").write_text(CONTRACT_TEST)
    url = devnet.members[1].rpc_url
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rpc", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


@devnet_only_once
def test_faults_under_load_lose_nothing_and_the_nodes_agree(devnet):
    net = devnet
    down: set[str] = set()
    load = Load(net.keys[KEYS["faults"]], _live_urls(net, down)).start()
    try:
        time.sleep(1.5)
        # 1. kill -9 the etcd member of a node that is not cutting, then restart it
        cutter = _cutter(net)
        victim = next(m for m in net.members if m.name != cutter)
        net.kill(victim.etcd_pid)
        down.add(victim.name)  # its node cannot reach the log: senders use the others
        time.sleep(2)
        net.start_etcd(victim)
        down.discard(victim.name)
        FIGURES["etcd_member_restart_catch_up_s"] = round(_caught_up(net, victim.name), 3)

        # 2. kill -9 the block-cutter: another node takes over after its lease
        cutter = _cutter(net)
        assert cutter is not None
        old = _member(net, cutter)
        killed = time.monotonic()
        net.kill(old.node_pid)
        down.add(old.name)
        wait_until(lambda: _cutter(net) not in (None, cutter), 15, "a new block-cutter")
        FIGURES["new_cutter_elected_s"] = round(time.monotonic() - killed, 3)
        before = height(_live_urls(net, down)()[0])
        wait_until(
            lambda: (height(_live_urls(net, down)()[0]) or 0) > before,
            10,
            "a block by the new cutter",
        )
        FIGURES["first_block_after_cutter_killed_s"] = round(time.monotonic() - killed, 3)
        net.start_node(old)
        net.wait_node(old)
        down.discard(old.name)
        FIGURES["cutter_restart_catch_up_s"] = round(_caught_up(net, old.name), 3)

        # 3. kill -9 a follower; restart it
        follower = next(m for m in net.members if m.name != _cutter(net))
        net.kill(follower.node_pid)
        down.add(follower.name)
        time.sleep(2)
        net.start_node(follower)
        net.wait_node(follower)
        down.discard(follower.name)
        FIGURES["follower_restart_catch_up_s"] = round(_caught_up(net, follower.name), 3)

        # 4. partition a node: its etcd member stops answering (frozen), then returns
        cut_off = next(m for m in net.members if m.name != _cutter(net))
        os.kill(cut_off.etcd_pid, signal.SIGSTOP)
        down.add(cut_off.name)
        time.sleep(3)
        os.kill(cut_off.etcd_pid, signal.SIGCONT)
        down.discard(cut_off.name)
        FIGURES["partitioned_node_catch_up_s"] = round(_caught_up(net, cut_off.name), 3)
        time.sleep(1)
    finally:
        load.stop()
    result = audit(net, load)
    FIGURES["faults"] = result.__dict__
    _report()
    assert result.lost == 0, result
    assert result.submitted > 50 and result.committed > 50, result
    assert set(result.reasons) <= {"bad_nonce"}, result


@devnet_only_once
def test_a_restarted_node_catches_up_from_the_log(devnet):
    net = devnet
    late = net.members[2]
    stopped_at = height(late.rpc_url)
    net.kill(late.node_pid, signal.SIGTERM)
    down = {late.name}
    load = Load(net.keys[KEYS["catch_up"]], _live_urls(net, down), pause=0.0).start()
    try:
        live = net.members[0].rpc_url
        start = height(live)
        wait_until(lambda: height(live) >= start + 100, 90, "100 blocks")
    finally:
        load.stop()
    net.start_node(late)
    net.wait_node(late)
    blocks = height(live) - stopped_at
    took = _caught_up(net, late.name, timeout=120)
    FIGURES["catch_up"] = {
        "blocks": blocks,
        "seconds": round(took, 3),
        "seconds_per_1000_blocks": round(took / blocks * 1000, 2),
    }
    _report()
    assert audit(net, load).lost == 0


@devnet_only_once
def test_a_node_far_behind_starts_from_a_verified_snapshot(devnet):
    net = devnet
    late = net.members[1]
    net.kill(late.node_pid, signal.SIGTERM)
    down = {late.name}
    load = Load(net.keys[KEYS["snapshot"]], _live_urls(net, down), pause=0.0).start()
    try:
        live = net.members[0].rpc_url
        start = height(live)
        wait_until(lambda: height(live) >= start + 30, 90, "30 blocks")
    finally:
        load.stop()
    for suffix in ("", "-wal", "-shm"):  # its file is lost: it must come back from a peer
        (net.directory / late.name / f"chain.db{suffix}").unlink(missing_ok=True)
    net.start_node(late, "--snapshot-after", "20")
    net.wait_node(late)
    took = _caught_up(net, late.name)
    said = (net.directory / f"{late.name}-node.log").read_text()
    assert "loaded a snapshot at height" in said, said[-2000:]
    FIGURES["snapshot_catch_up_s"] = round(took, 3)
    _report()
    assert audit(net, load).lost == 0  # every node, the restored one too, has every block


@devnet_only_once
def test_a_tampered_snapshot_is_refused(devnet, tmp_path):
    from deed.network.snapshot import SnapshotRefused, fetch, verify

    log = OrderingLog(devnet.members[0].etcd_url, devnet.network)
    genesis = log.genesis()
    copy = tmp_path / "copy.db"
    fetch(devnet.members[0].rpc_url, copy)
    assert verify(copy, log, genesis).height >= 1
    db = sqlite3.connect(copy)
    key, value = db.execute(
        "SELECT key, value FROM state WHERE key = ?", (account_key(SINK),)
    ).fetchone()
    acc = Account.decode(value)
    db.execute(
        "UPDATE state SET value = ? WHERE key = ?",
        (Account(acc.balance + 1, acc.nonce, acc.code_hash).encode(), key),
    )
    db.commit()
    db.close()
    with pytest.raises(SnapshotRefused, match="do not hash to the agreed state root"):
        verify(copy, log, genesis)


@devnet_only_once
def test_a_node_whose_state_differs_halts_at_the_last_agreed_block(devnet):
    """Corrupt one node's copy of a balance while it is stopped: the next
    block that touches it gives that node another root. It halts with a
    clear error and its state stays at the block before; the others go on."""
    net = devnet
    key = net.keys[KEYS["halt"]]
    odd = net.members[2]
    net.kill(odd.node_pid, signal.SIGTERM)
    db = sqlite3.connect(net.directory / odd.name / "chain.db")
    k = account_key(key.address)
    acc = Account.decode(db.execute("SELECT value FROM state WHERE key = ?", (k,)).fetchone()[0])
    db.execute(
        "UPDATE state SET value = ? WHERE key = ?",
        (Account(acc.balance + 1, acc.nonce, acc.code_hash).encode(), k),
    )
    db.commit()
    db.close()
    net.start_node(odd)
    net.wait_node(odd)
    agreed = height(odd.rpc_url)
    tx = Transaction(1, 0, key.public_key, SINK, 1, GAS, 1).signed(key)
    rpc(net.members[0].rpc_url, "deed_sendTransaction", "0x" + tx.encode().hex())
    log_file = net.directory / f"{odd.name}-node.log"
    wait_until(lambda: "halted" in log_file.read_text(), 20, "the odd node halts")
    assert "is not the majority's" in log_file.read_text()
    db = sqlite3.connect(net.directory / odd.name / "chain.db")
    head_blocks = db.execute("SELECT COUNT(*) FROM meta WHERE name LIKE 'block:%'").fetchone()[0]
    db.close()
    assert head_blocks - 1 == agreed  # nothing of the disagreed block was kept
    for m in net.members[:2]:
        wait_until(
            lambda m=m: rpc(m.rpc_url, "deed_getReceipt", "0x" + tx.hash.hex()),
            20,
            "the others commit",
        )
    halted = OrderingLog(net.members[0].etcd_url, net.network).halted()
    assert odd.name in halted


def _report() -> None:
    print("\nnetwork figures:", json.dumps(FIGURES, indent=1))
    target = os.environ.get("DEED_NETWORK_FIGURES")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=1) + "\n")


@devnet_only_once
def test_deed_devnet_starts_shows_and_stops_a_network(tmp_path):
    from click.testing import CliRunner

    from deed.cli.main import main

    runner = CliRunner()
    where = ["--dir", str(tmp_path / "net"), "--home", str(tmp_path / "home")]
    started = runner.invoke(main, ["devnet", "--nodes", "1", "--json", *where])
    try:
        assert started.exit_code == 0, started.output
        shown = json.loads(started.output)
        assert [n["node"] for n in shown["nodes"]] == ["n1"]
        url = shown["nodes"][0]["rpc"]
        assert rpc(url, "deed_blockNumber") == 0
        again = runner.invoke(main, ["devnet", "--nodes", "1", *where])
        assert again.exit_code == 1 and "runs already" in again.output
        status = runner.invoke(main, ["devnet", "status", "--json", *where])
        assert json.loads(status.output)["nodes"][0]["height"] == 0
    finally:
        stopped = runner.invoke(main, ["devnet", "down", *where])
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    assert height(url) is None
    refused = runner.invoke(main, ["devnet", "--nodes", "1", *where])
    assert refused.exit_code == 1 and "--fresh" in refused.output
