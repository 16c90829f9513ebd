"""deed node: the JSON-RPC methods, in process (no HTTP), then a real node over
HTTP: the command line through --rpc, restarts, and concurrent senders."""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path

import pytest
from cli_support import new_chain, run, write_source
from node_support import NodeProcess

from deed.cli.local import KeyStore
from deed.node import rpc
from deed.node.client import RpcClient, RpcError
from deed.node.service import NodeService
from deed.vm.chain import Chain, Transaction
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.state import SqliteBackend
from deed.vm.types import U256

ROOT = Path(__file__).parent.parent

COUNTER = """\
contract Counter:
    total: uint
    event Bumped(indexed who: address, by: uint)
    error TooMuch(asked: uint, limit: uint)

    pub bump(by: uint) -> uint:
        if by > 1000:
            revert TooMuch(by, 1000)
        self.total += by
        emit Bumped(msg.sender, by)
        return self.total

    @view
    pub get() -> uint:
        return self.total
"""

ALICE, BOB = KeyPair.from_text("node-alice"), KeyPair.from_text("node-bob")
FUNDS = 10**24
START = 1_800_000_000


def _compiled():
    from deed.compiler.driver import compile_source

    return compile_source(COUNTER)


class Rpc:
    """The dispatcher of a node in memory, called as a client would."""

    def __init__(self, node: NodeService):
        self.node = node

    def raw(self, payload: object) -> object:
        out = rpc.dispatch(self.node, json.dumps(payload).encode())
        return None if out is None else json.loads(out)

    def __call__(self, method: str, *params: object, **named: object) -> object:
        request = {"jsonrpc": "2.0", "id": 7, "method": method}
        request["params"] = dict(named) if named else list(params)
        response = self.raw(request)
        assert response["id"] == 7 and response["jsonrpc"] == "2.0"
        if "error" in response:
            e = response["error"]
            raise RpcError(e["code"], e["message"], e.get("data"))
        return response["result"]


def _node(block_time: float | None = None) -> Rpc:
    backend = SqliteBackend(":memory:")
    Chain(backend).genesis({ALICE.address: FUNDS, BOB.address: FUNDS}, START)
    clock = [START + 10.0]
    node = NodeService(backend, block_time=block_time, wall_clock=lambda: clock[0])
    node.test_clock = clock  # type: ignore[attr-defined]
    return Rpc(node)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _tx(call: Rpc, key: KeyPair, to: bytes | None, data: bytes = b"", value: int = 0) -> str:
    nonce = call("deed_getNonce", _hex(key.address))
    tx = Transaction(1, nonce, key.public_key, to, value, 2_000_000, 1, data).signed(key)
    return _hex(tx.encode())


def _deploy(call: Rpc) -> bytes:
    from deed.vm.chain import deploy_data

    out = _compiled()
    sent = call("deed_sendTransaction", _tx(call, ALICE, None, deploy_data(out.module.encode())))
    assert sent["status"] == "success", sent
    address = bytes.fromhex(sent["contract_address"][2:])
    assert call("deed_putAbi", _hex(address), out.abi) is True
    return address


def _bump(call: Rpc, address: bytes, by: int, key: KeyPair = BOB) -> dict:
    module = call.node.chain.module_at(address)
    export = next(e for e in module.exports if e.name == "bump")
    data = export.selector + encode_values([U256], [by])
    return call("deed_sendTransaction", _tx(call, key, address, data))


# --------------------------------------------------------------------------- JSON-RPC 2.0


def test_protocol_errors_have_their_codes():
    call = _node()
    assert json.loads(rpc.dispatch(call.node, b"{not json"))["error"]["code"] == -32700
    assert call.raw({"id": 1, "method": "deed_chainId"})["error"]["code"] == -32600
    assert call.raw([])["error"]["code"] == -32600
    with pytest.raises(RpcError) as exc:
        call("deed_noSuchMethod")
    assert exc.value.code == -32601
    for bad in (("deed_getBalance",), ("deed_getBalance", "0x12"), ("deed_getBalance", 5)):
        with pytest.raises(RpcError) as exc:
            call(*bad)
        assert exc.value.code == -32602, bad
    with pytest.raises(RpcError) as exc:
        call("deed_getBalance", address=_hex(ALICE.address), extra=1)
    assert exc.value.code == -32602 and "extra" in exc.value.message


def test_batches_notifications_and_named_parameters():
    call = _node()
    batch = call.raw(
        [
            {"jsonrpc": "2.0", "id": "a", "method": "deed_chainId"},
            {"jsonrpc": "2.0", "method": "deed_mine"},  # a notification: done, not answered
            {"jsonrpc": "2.0", "id": 2, "method": "deed_blockNumber"},
            {"jsonrpc": "2.0", "id": 3, "method": "nope"},
        ]
    )
    assert [r["id"] for r in batch] == ["a", 2, 3]
    assert batch[0]["result"] == 1 and batch[1]["result"] == 1  # the notification mined
    assert batch[2]["error"]["code"] == -32601
    assert call.raw({"jsonrpc": "2.0", "method": "deed_chainId"}) is None
    assert call("deed_getBalance", address=_hex(ALICE.address)) == FUNDS


# --------------------------------------------------------------------------- chain methods


def test_send_call_receipt_block_and_logs():
    call = _node()
    address = _deploy(call)
    sent = _bump(call, address, 5)
    assert sent["status"] == "success" and sent["pending"] is False
    assert sent["logs"][0]["event"] == "Bumped"
    assert sent["logs"][0]["values"] == [_hex(BOB.address), 5]
    found = call("deed_getReceipt", sent["tx_hash"])
    assert found["height"] == 2 and found["tx_index"] == 0 and found["raw"] == sent["raw"]
    assert (found["from"], found["to"]) == (_hex(BOB.address), _hex(address))
    assert call("deed_getTransactionStatus", sent["tx_hash"])["status"] == "committed"
    block = call("deed_getBlock", 2)
    assert block["transactions"] == [sent["tx_hash"]]
    assert call("deed_getBlock")["height"] == 2
    # a read-only call: the result, nothing kept
    module = call.node.chain.module_at(address)
    get = next(e for e in module.exports if e.name == "get")
    out = call("deed_call", _hex(address), _hex(get.selector))
    assert out["status"] == "success" and int(out["return_data"][2:], 16) == 5
    bump = next(e for e in module.exports if e.name == "bump")
    data = _hex(bump.selector + encode_values([U256], [2]))
    assert call("deed_call", _hex(address), data, _hex(ALICE.address))["status"] == "success"
    assert call("deed_blockNumber") == 2
    # a typed error comes back with its fields
    refused = call("deed_call", _hex(address), _hex(bump.selector + encode_values([U256], [5000])))
    assert refused["status"] == "reverted"
    assert refused["error"] == {"name": "TooMuch", "values": [5000, 1000]}
    # logs by an indexed field
    _bump(call, address, 7, ALICE)
    mine = call("deed_getLogs", _hex(address), "Bumped", {"who": _hex(ALICE.address)})
    assert [g["values"][1] for g in mine] == [7]
    every = call("deed_getLogs", address=_hex(address))
    assert [g["values"][1] for g in every] == [5, 7]
    assert call("deed_getCode", _hex(address)).startswith("0x")
    assert call("deed_getCode", _hex(bytes(20))) is None
    assert call("deed_getAbi", _hex(address))["contract"] == "Counter"


def test_refused_transactions_say_why_and_change_nothing():
    call = _node()
    raw = _tx(call, ALICE, BOB.address, value=5)
    call("deed_sendTransaction", raw)
    with pytest.raises(RpcError) as exc:
        call("deed_sendTransaction", raw)  # the same nonce again
    assert exc.value.code == -32000 and exc.value.data == {"reason": "bad_nonce"}
    poor = KeyPair.from_text("node-poor")
    with pytest.raises(RpcError) as exc:
        call("deed_sendTransaction", _tx(call, poor, BOB.address, value=1))
    assert exc.value.data == {"reason": "insufficient_funds"}
    with pytest.raises(RpcError) as exc:
        call("deed_sendTransaction", "0x0102")
    assert exc.value.code == -32602
    assert call("deed_blockNumber") == 1
    assert call("deed_getBalance", _hex(BOB.address)) == FUNDS + 5


def test_unknown_things_are_not_found():
    call = _node()
    for method, params in (
        ("deed_getBlock", [9]),
        ("deed_call", [_hex(bytes(20)), "0x00000000"]),
        ("deed_putAbi", [_hex(bytes(20)), {}]),
    ):
        with pytest.raises(RpcError) as exc:
            call(method, *params)
        assert exc.value.code == -32001, method
    assert call("deed_getReceipt", _hex(bytes(32))) is None
    assert call("deed_getTransactionStatus", _hex(bytes(32)))["status"] == "unknown"


# --------------------------------------------------------------------------- development methods


def test_clock_methods_move_the_next_block():
    call = _node()
    assert call("deed_now") == START + 10
    assert call("deed_increaseTime", 3600) == START + 3610
    assert call("deed_mine")["timestamp"] == START + 3610
    assert call("deed_setNextBlockTimestamp", START + 90_000) == START + 90_000
    assert call("deed_mine", 2)["height"] == 3
    assert call.node.chain.block_header(2).timestamp == START + 90_000
    with pytest.raises(RpcError) as exc:
        call("deed_setNextBlockTimestamp", START)
    assert exc.value.code == -32002
    call.node.test_clock[0] += 5  # the wall clock moves: the chain's clock with it
    assert call("deed_now") == START + 90_005


def test_increase_time_moves_the_clock_by_exactly_its_seconds_after_fast_blocks():
    """Blocks faster than one a second hold the clock at head + 1, ahead of
    the wall clock: an advance still counts from the clock, not the wall."""
    call = _node()
    call("deed_mine", 30)  # 30 blocks within the same wall-clock second
    before = call("deed_now")
    assert before == START + 10 + 30
    assert call("deed_increaseTime", 3601) == before + 3601
    assert call("deed_mine")["timestamp"] == before + 3601


def test_set_balance_snapshot_and_revert():
    call = _node()
    carol = _hex(KeyPair.from_text("node-carol").address)
    first = call("deed_snapshot")
    block = call("deed_setBalance", carol, 123)
    assert call("deed_getBalance", carol) == 123 and block["height"] == 1
    second = call("deed_snapshot")
    call("deed_sendTransaction", _tx(call, ALICE, BOB.address, value=9))
    assert call("deed_revert", second) is True
    assert call("deed_getBalance", _hex(BOB.address)) == FUNDS
    assert call("deed_getBalance", carol) == 123
    assert call("deed_revert", second) is False  # used up
    assert call("deed_revert", first) is True
    assert call("deed_getBalance", carol) == 0 and call("deed_blockNumber") == 0


def test_interval_mining_holds_transactions_in_an_open_block():
    call = _node(block_time=1.0)
    address = _deploy(call)
    assert call("deed_blockNumber") == 0  # pending, not mined
    sent = _bump(call, address, 4)  # valid against the open block: it sees the deployment
    assert sent["pending"] is True
    assert call("deed_getTransactionStatus", sent["tx_hash"])["status"] == "pending"
    assert call("deed_getReceipt", sent["tx_hash"]) is None
    assert call("deed_getNonce", _hex(BOB.address)) == 1  # the open block counts
    call.node.tick()  # the block timer
    assert call("deed_getTransactionStatus", sent["tx_hash"]) == {
        "status": "committed",
        "height": 1,
        "tx_index": 1,
    }
    call.node.tick()  # nothing pending: an empty block
    assert call("deed_blockNumber") == 2


def test_the_spec_table_is_generated_from_the_registry():
    from deed.node import docs

    text = (ROOT / "spec" / "node.md").read_text()
    assert docs.render(text) == text, "run: python -m deed.node.docs spec/node.md"
    for name in rpc.METHODS:
        assert f"`{name}`" in text


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def project(tmp_path):
    chain = new_chain(tmp_path / "home")
    return chain, write_source(tmp_path, "counter.deed", COUNTER)


def test_the_command_line_through_a_node_and_a_restart(project):
    chain, source = project
    with NodeProcess(chain.home) as node:
        url = node.url
        r = chain.run("deploy", source, "--from", "alice", "--rpc", url)
        assert r.exit_code == 0, r.output
        address = re.search(r"contract (0x[0-9a-f]{40})", r.output).group(1)
        r = chain.run("send", address, "bump", "5", "--from", "bob", "--rpc", url, "--json")
        assert r.exit_code == 0, r.output
        sent = json.loads(r.output)
        bob = "0x" + KeyStore(chain.home).address("bob").hex()
        assert sent["events"][0]["args"] == {"who": bob, "by": 5}
        tx_hash = sent["tx_hash"]
        assert chain.run("call", address, "get", env={"DEED_RPC": url}).output.strip() == "5"
        r = chain.run("send", address, "bump", "5000", "--from", "bob", "--rpc", url)
        assert r.exit_code == 1 and "TooMuch(asked=5000, limit=1000)" in r.output
        refused_hash = re.search(r"tx (0x[0-9a-f]{64})", r.output).group(1)
        # a command writing the file directly is sent to the node instead of waiting
        r = chain.run("transfer", "@alice", "1", "--from", "bob")
        assert r.exit_code == 1 and f"--rpc {url}" in r.output
        # reading the file directly still works while the node runs
        assert chain.run("call", address, "get").output.strip() == "5"
        assert node.stop() == 0
    with NodeProcess(chain.home) as node:  # the receipt and logs outlive the process
        r = chain.run("receipt", tx_hash, "--rpc", node.url)
        assert r.exit_code == 0 and "event Bumped(who=0x" in r.output and "by=5" in r.output
        assert f"from {_bob(chain)} to {address}" in r.output
        r = chain.run("receipt", refused_hash, "--rpc", node.url)
        assert r.exit_code == 0 and "TooMuch(asked=5000, limit=1000)" in r.output, r.output
        r = chain.run("logs", address, "Bumped", "--where", "who=@bob", "--rpc", node.url)
        assert "by=5" in r.output
        node.stop(signal.SIGKILL)  # killed: what it committed is still there
    with NodeProcess(chain.home) as node:
        with RpcClient(node.url) as client:
            assert client.call("deed_getReceipt", tx_hash)["status"] == "success"


def test_ten_concurrent_senders_lose_nothing(tmp_path):
    keys = [KeyPair.from_text(f"sender-{i}") for i in range(10)]
    home = tmp_path / "home"
    with NodeProcess(home, "--memory") as node:
        with RpcClient(node.url) as client:
            for k in keys:
                client.call("deed_setBalance", _hex(k.address), 10**20)
            sink = KeyPair.from_text("sink").address
        sends = 15
        failures: list[str] = []
        hashes: list[str] = []

        def sender(key: KeyPair) -> None:
            with RpcClient(node.url) as client:
                for nonce in range(sends):
                    tx = Transaction(1, nonce, key.public_key, sink, 1 + nonce, 100_000, 1)
                    try:
                        out = client.call("deed_sendTransaction", _hex(tx.signed(key).encode()))
                        hashes.append(out["tx_hash"])
                    except Exception as exc:  # noqa: BLE001 (collected and reported)
                        failures.append(repr(exc))

        threads = [threading.Thread(target=sender, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures[:3]
        with RpcClient(node.url) as client:
            assert len(hashes) == len(keys) * sends
            assert all(client.call("deed_getReceipt", h)["status"] == "success" for h in hashes)
            assert client.call("deed_getBalance", _hex(sink)) == len(keys) * sum(
                range(1, sends + 1)
            )
            assert all(client.call("deed_getNonce", _hex(k.address)) == sends for k in keys)


def test_node_refuses_a_busy_chain_and_bad_options(project, tmp_path):
    chain, _ = project
    with NodeProcess(chain.home):
        second = NodeProcess(chain.home)
        with pytest.raises(AssertionError, match="in use"):
            second.start()
    r = run("node", "--memory", "--chain", str(tmp_path / "x.db"))
    assert r.exit_code == 2
    r = chain.run("balance", "@alice", "--rpc", "http://127.0.0.1:1")
    assert r.exit_code == 1 and "no node answers" in r.output


def test_logs_of_every_contract_and_by_option(project):
    chain, source = project
    first = chain.deploy(source)
    second = chain.deploy(source)
    for address, by in ((first, "3"), (second, "4")):
        assert chain.run("send", address, "bump", by, "--from", "bob").exit_code == 0
    r = chain.run("logs", "--event", "Bumped")
    lines = r.output.splitlines()
    assert r.exit_code == 0 and len(lines) == 2, r.output
    assert lines[0].endswith(f"{first} Bumped(who={_bob(chain)}, by=3)")
    assert lines[1].endswith(f"{second} Bumped(who={_bob(chain)}, by=4)")
    rows = json.loads(chain.run("logs", "--address", second, "--json").output)
    assert [(g["address"], g["args"]["by"]) for g in rows] == [(second, 4)]
    assert chain.run("logs", "--event", "Bumped", "--where", "by=3").exit_code == 2


def _bob(chain) -> str:
    return "0x" + KeyStore(chain.home).address("bob").hex()


def test_proofs_of_accounts_and_storage_verify_against_the_block_root():
    from deed.vm.proof import verify

    call = _node()
    address = _deploy(call)
    _bump(call, address, 5)
    head = call("deed_getBlock")
    out = call("deed_getProof", _hex(BOB.address))
    assert out["height"] == head["height"] and out["state_root"] == head["state_root"]
    root, key = bytes.fromhex(out["state_root"][2:]), bytes.fromhex(out["key"][2:])
    value, proof = bytes.fromhex(out["value"][2:]), bytes.fromhex(out["proof"][2:])
    assert verify(root, key, value, proof)
    assert not verify(root, key, value + b"\x00", proof)
    # a storage entry of the contract: the counter's only cell
    cells = [k for k, _ in call.node.backend.items() if k[:1] == b"s" and k[1:21] == address]
    assert len(cells) == 1
    entry = call("deed_getProof", _hex(address), _hex(cells[0][21:]))
    assert verify(
        root,
        cells[0],
        bytes.fromhex(entry["value"][2:]),
        entry["proof"][2:] and bytes.fromhex(entry["proof"][2:]),
    )
    # an absent account, and the same account at an older block
    nobody = call("deed_getProof", _hex(KeyPair.from_text("node-nobody").address))
    assert (
        nobody["value"] is None
        and nobody["value_hash"] is None
        and verify(root, bytes.fromhex(nobody["key"][2:]), None, bytes.fromhex(nobody["proof"][2:]))
    )
    old = call("deed_getProof", _hex(BOB.address), None, 1)
    older_root = bytes.fromhex(call("deed_getBlock", 1)["state_root"][2:])
    assert old["value"] is None and old["value_hash"] is not None
    assert verify(older_root, key, None, bytes.fromhex(old["proof"][2:])) is False  # bob exists
    with pytest.raises(RpcError) as exc:
        call("deed_getProof", _hex(BOB.address), None, 99)
    assert exc.value.code == -32001
