"""deed.testing on a running node: ``pytest --rpc URL`` (and ``DEED_TEST_RPC``).

Each test runs a small pytest session (pytester, in process) whose ``env``
is a real ``deed node --memory``: one mining a block per transaction, one
mining every 0.05 s (receipts come pending first), and one seen through a
proxy that answers -32601 for the development methods, as a node of a
network does: there the cheats fail with NotOnThisNode, saying why.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from node_support import NodeProcess

# deed.testing is loaded here, before pytester's in-process runs: each run
# unloads the modules it loaded, and a second copy of a class breaks
# isinstance and except.
from deed.node.rpc import METHODS
from deed.testing.access import Outgoing
from deed.testing.env import Env
from deed.testing.remote import NodeFailed, OverRpc
from deed.vm.chain import Transaction
from deed.vm.crypto import KeyPair
from deed.vm.errors import InvalidTransaction

pytest_plugins = ["pytester"]

VAULT = Path(__file__).parent / "vault.deed"
ETH = b"ETH".ljust(32, b"\0")

# The inner session: what works on every node.
ANYWHERE = f"""
import pytest
from deed.testing import Env, Reverted
from deed.vm.errors import InvalidTransaction

VAULT = {str(VAULT)!r}
ETH = {ETH!r}


def test_deploy_send_events_views_and_reverts(env):
    alice, bob = env.accounts[:2]
    assert alice.name == "alice" and env.account("bob") is bob
    assert env.balance(bob) == 10**24  # funded from the faucet
    keys = env.oracle_keys(3)
    v = env.deploy(VAULT, env.timestamp + 3600, keys)
    assert v.deposit(sender=bob, value=7) == 7
    receipt = env.last_receipt
    assert receipt.success and receipt.execution_gas > 0
    assert receipt.gas_used == receipt.execution_gas + receipt.intrinsic_gas
    here = Env()  # the same transaction in memory costs the same gas
    here.deploy(VAULT, here.timestamp + 3600, keys).deposit(sender=here.accounts[1], value=7)
    assert here.last_receipt.gas_used == receipt.gas_used
    assert [(e.name, e.args.who, e.args.amount) for e in receipt.events] == [
        ("Deposited", bob, 7)
    ]
    assert v.last_deposit() == {{"who": bob.address, "amount": 7}}  # a view: a struct
    assert v.status() == "Open"  # an enum, by name
    assert env.balance(v) == 7 and env.balance(bob) == 10**24 - 7
    with env.reverts("empty deposit"):
        v.deposit(sender=bob)
    with env.reverts("not allowed"):
        v.settle(b"", sender=bob)
    with pytest.raises(Reverted, match="empty deposit"):
        v.deposit.call()
    with pytest.raises(InvalidTransaction, match="insufficient_funds"):
        v.deposit(value=10**31, sender=bob)
    report = env.sign_report("PriceReport", {{"asset": ETH, "price": 1850}}, keys[:2])
    assert v.settle(report) == 1850
    assert [e.name for e in v.events()] == ["Deposited", "Settled"]
    assert v.events("Settled")[0].args.phase == "Closed"


def test_each_env_has_fresh_accounts(env):
    assert len({{a.address for a in env.accounts}}) == 10
    assert all(env.balance(a) == 10**24 for a in env.accounts)
    height = env.height
    env.deploy(VAULT, env.timestamp + 3600, env.oracle_keys(3))
    assert env.height > height
"""

# The inner session: the development methods.
DEV = f"""
import pytest
from deed.testing import NotOnThisNode

VAULT = {str(VAULT)!r}


def test_time_travel_deal_mine_and_anchors(env):
    alice, bob = env.accounts[:2]
    v = env.deploy(VAULT, env.timestamp + 100, env.oracle_keys(3))
    assert v.deposit(value=1) == 1
    env.mine(5)  # blocks faster than a second apart: the head's time runs ahead
    with env.anchor():
        before = env.timestamp
        env.time_travel(seconds=3600)
        assert before + 3600 <= env.timestamp <= before + 3601  # (the wall clock may tick)
        with env.reverts("TooLate"):  # a simulation sees the new time too
            v.deposit.call(value=1)
        with env.reverts("TooLate"):
            v.deposit(value=1)
    assert v.deposit(value=2) == 3  # undone: before the deadline again
    sid = env.snapshot()
    v.deposit(value=4)
    env.revert(sid)
    assert env.balance(v) == 3
    v.deposit(value=5)
    env.revert(sid)  # a snapshot stays usable
    assert env.balance(v) == 3
    height = env.height
    env.mine(3)
    assert env.height == height + 3
    env.warp(env.timestamp + 10_000)
    with env.reverts("TooLate"):
        v.deposit(value=1)
    with pytest.raises(ValueError, match="cannot warp back"):
        env.warp(env.timestamp - 100)
    env.deal(bob, 5)
    assert env.balance(bob) == 5
    with pytest.raises(NotOnThisNode, match="env.prank cannot work on the node at"):
        with env.prank(v):
            pass
"""

# The inner session on a node without the development methods.
NETWORK = f"""
import pytest
from deed.testing import NotOnThisNode

VAULT = {str(VAULT)!r}
NEEDS = "needs a development node \\\\(deed node\\\\); the node at .* is part of a network"


def test_what_a_network_node_does_and_refuses(env):
    bob = env.accounts[1]
    v = env.deploy(VAULT, env.timestamp + 3600, env.oracle_keys(3))
    assert v.deposit(sender=bob, value=3) == 3 and env.balance(v) == 3
    assert env.timestamp > 0 and env.height > 1
    env.deal(bob, env.balance(bob) + 10)  # up: a transfer from the faucet
    assert env.balance(bob) == 10**24 - 3 + 10
    with pytest.raises(NotOnThisNode, match="env.deal lowering a balance .* " + NEEDS):
        env.deal(bob, 0)
    with pytest.raises(NotOnThisNode, match="env.warp " + NEEDS):
        env.warp(env.timestamp + 10)
    with pytest.raises(NotOnThisNode, match="env.time_travel " + NEEDS):
        env.time_travel(seconds=10)
    with pytest.raises(NotOnThisNode, match="env.mine " + NEEDS):
        env.mine()
    with pytest.raises(NotOnThisNode, match="env.snapshot " + NEEDS):
        env.snapshot()
    with pytest.raises(NotOnThisNode, match="env.snapshot " + NEEDS):
        with env.anchor():
            pass
    with pytest.raises(NotOnThisNode, match="env.prank cannot work"):
        with env.prank(bob):
            pass
    with pytest.raises(NotOnThisNode, match="has no key for it"):
        v.deposit(sender=b"\\x01" * 20, value=1)
    with pytest.raises(NotOnThisNode, match="env.chain is the in-memory chain's"):
        env.chain
"""


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with NodeProcess(tmp_path_factory.mktemp("home"), "--memory") as node:
        yield node


def _passed(result: pytest.RunResult, n: int) -> None:
    result.assert_outcomes(passed=n)


def test_a_session_on_a_development_node(pytester: pytest.Pytester, dev_node: NodeProcess):
    pytester.makepyfile(test_anywhere=ANYWHERE, test_dev=DEV)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--rpc", dev_node.url, "--deed-gas-report"
    )
    _passed(result, 3)
    result.stdout.fnmatch_lines(
        ["*deed gas report*", "*Vault contract*", "*| deposit *", "*| settle *"]
    )


def test_deed_test_rpc_names_the_node_and_the_option_wins(
    pytester: pytest.Pytester, dev_node: NodeProcess, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(
        test_where="def test_where(env):\n    assert env.access.where.endswith(env.access.client.url)\n"
    )
    monkeypatch.setenv("DEED_TEST_RPC", dev_node.url)
    _passed(pytester.runpytest("-p", "no:cacheprovider"), 1)
    monkeypatch.setenv("DEED_TEST_RPC", "http://127.0.0.1:1")  # nothing there
    _passed(pytester.runpytest("-p", "no:cacheprovider", "--rpc", dev_node.url), 1)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NodeFailed: no node answers at http://127.0.0.1:1*"])


def test_a_node_that_mines_at_an_interval(pytester: pytest.Pytester, tmp_path: Path):
    pytester.makepyfile(test_anywhere=ANYWHERE)
    with NodeProcess(tmp_path / "home", "--memory", "--block-time", "0.05") as node:
        _passed(pytester.runpytest("-p", "no:cacheprovider", "--rpc", node.url), 2)


class _NetworkProxy:
    """A node of a network, as far as the env can tell: every request goes
    to a real development node, but the development methods answer -32601."""

    HIDDEN = frozenset(name for name, m in METHODS.items() if m.development)

    def __init__(self, upstream: str) -> None:
        answer, forward = self.answer, self._forward

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one answer, two writes: no 40 ms wait

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                own = answer(request["method"], request.get("params") or [])
                if own is None:
                    out = forward(body)
                else:
                    out = json.dumps({"jsonrpc": "2.0", "id": request["id"], **own}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.upstream = upstream
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, method: str, params: list) -> dict | None:
        """The proxy's own answer ({"result": ...} or {"error": ...}); None: the node's."""
        if method in self.HIDDEN:
            return {"error": {"code": -32601, "message": f"no method {method!r}"}}
        return None

    def _forward(self, body: bytes) -> bytes:
        request = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def __enter__(self) -> _NetworkProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _RefusingNetwork(_NetworkProxy):
    """A network that accepts every transaction as pending, then refuses it
    inside a block (nothing reaches the node behind)."""

    def answer(self, method: str, params: list) -> dict | None:
        if method == "deed_sendTransaction":
            tx_hash = "0x" + Transaction.decode(bytes.fromhex(params[0][2:])).hash.hex()
            return {"result": {"pending": True, "tx_hash": tx_hash}}
        if method == "deed_getReceipt":
            return {"result": None}
        if method == "deed_getTransactionStatus":
            refused = {"status": "rejected", "reason": "bad_nonce", "message": "nonce 0, expects 1"}
            return {"result": refused}
        return super().answer(method, params)


def test_a_node_without_development_methods(pytester: pytest.Pytester, dev_node: NodeProcess):
    assert "deed_setBalance" in _NetworkProxy.HIDDEN and "deed_call" not in _NetworkProxy.HIDDEN
    pytester.makepyfile(test_anywhere=ANYWHERE, test_network_like_node=NETWORK)
    with _NetworkProxy(dev_node.url) as proxy:
        _passed(pytester.runpytest("-p", "no:cacheprovider", "--rpc", proxy.url), 3)


def test_a_transaction_the_network_refused_in_a_block(dev_node: NodeProcess):
    """Refused after "pending": InvalidTransaction with the network's reason,
    as a refused send; the faucet's own transfers: NodeFailed, saying why."""
    key = KeyPair.from_text("refused")
    with _RefusingNetwork(dev_node.url) as proxy:
        with pytest.raises(NodeFailed, match=r"refused a transfer from the faucet .*bad_nonce"):
            Env.over_rpc(proxy.url)
        node = OverRpc(proxy.url)
        out = Outgoing(key.address, key, bytes(20), 1, 100_000, 0, b"")
        with pytest.raises(InvalidTransaction, match="nonce 0, expects 1") as refused:
            node.send(out)
        assert refused.value.code == "bad_nonce"
        node.close()
