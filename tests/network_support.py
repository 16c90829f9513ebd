"""A devnet under load, for the network's fault tests and benchmarks.

:class:`Load` sends signed transfers from its own keys, each sender in a
thread of its own, to the live nodes in turn. A transfer counts as
acknowledged once a node answered with its hash; until then the same signed
bytes (same hash) go to the next node, so a node that dies mid-answer never
makes a sender skip or double a nonce. :func:`audit` then checks what the
issue asks: every acknowledged transaction is in exactly one block or
rejected with a reason, and every node has the same blocks and state roots.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from deed.network.devnet import Devnet
from deed.node.client import RpcClient, RpcError, Unreachable
from deed.vm.chain import Transaction
from deed.vm.crypto import KeyPair

SINK = KeyPair.from_text("network-test-sink").address
GAS = 100_000


def sender_keys(count: int, label: str = "load") -> list[KeyPair]:
    return [KeyPair.from_text(f"network-{label}-{i}") for i in range(count)]


@dataclass
class Load:
    """Senders that keep sending transfers to ``urls()`` until stopped."""

    keys: list[KeyPair]
    urls: Callable[[], list[str]]  # the nodes to send to now
    chain_id: int = 1
    pause: float = 0.005  # between one sender's transactions
    acknowledged: dict[bytes, str] = field(default_factory=dict)  # tx hash -> node URL
    refused: dict[bytes, str] = field(
        default_factory=dict
    )  # tx hash -> reason (never acknowledged)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for i, key in enumerate(self.keys):
            t = threading.Thread(target=self._run, args=(i, key), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self, index: int, key: KeyPair) -> None:
        turn = itertools.count(index)
        nonce = 0
        clients: dict[str, RpcClient] = {}
        while not self._stop.is_set():
            tx = Transaction(self.chain_id, nonce, key.public_key, SINK, 1, GAS, 0).signed(key)
            raw = "0x" + tx.encode().hex()
            while not self._stop.is_set():
                urls = self.urls()
                if not urls:
                    time.sleep(0.05)
                    continue
                url = urls[next(turn) % len(urls)]
                client = clients.setdefault(url, RpcClient(url, timeout=10))
                try:
                    client.call("deed_sendTransaction", raw)
                except (Unreachable, OSError):
                    clients.pop(url).close()
                    time.sleep(0.05)
                    continue
                except RpcError as exc:
                    reason = (exc.data or {}).get("reason") if isinstance(exc.data, dict) else None
                    if reason in ("known", "bad_nonce") and self._known(tx.hash):
                        break  # a node took it before it failed to answer
                    if exc.code == -32003 or reason == "node_halted":
                        time.sleep(0.05)
                        continue
                    with self._lock:
                        self.refused[tx.hash] = reason or str(exc.code)
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.acknowledged[tx.hash] = url
                break
            nonce += 1
            time.sleep(self.pause)
        for c in clients.values():
            c.close()

    def _known(self, tx_hash: bytes) -> bool:
        with self._lock:
            return tx_hash in self.acknowledged


def rpc(url: str, method: str, *params: object, timeout: float = 10) -> object:
    with RpcClient(url, timeout=timeout) as client:
        return client.call(method, *params)


def height(url: str) -> int | None:
    try:
        return rpc(url, "deed_blockNumber", timeout=2)
    except (Unreachable, OSError, RpcError):
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took; AssertionError naming ``what`` after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout:g} s")


def settle(net: Devnet, load: Load, timeout: float = 60) -> int:
    """Wait until every acknowledged transaction has an outcome on every node
    and the nodes are at one height; that height."""
    urls = [m.rpc_url for m in net.members]
    settled: dict[str, set[bytes]] = {u: set() for u in urls}  # each asked once settled

    def outcome_everywhere() -> bool:
        heights = {height(u) for u in urls}
        if len(heights) != 1 or None in heights:
            return False
        for u in urls:
            with RpcClient(u) as client:
                for h in [h for h in load.acknowledged if h not in settled[u]]:
                    state = client.call("deed_getTransactionStatus", "0x" + h.hex())["status"]
                    if state in ("pending", "unknown"):
                        return False
                    settled[u].add(h)
        return {height(u) for u in urls} == heights

    wait_until(outcome_everywhere, timeout, "every acknowledged transaction settled on every node")
    return height(urls[0])


@dataclass(frozen=True)
class Audit:
    submitted: int  # acknowledged by a node
    committed: int  # in a block, with a receipt
    rejected: int  # skipped by a block, with a reason
    lost: int  # acknowledged, in no block and not rejected (must be 0)
    heights: int
    reasons: dict[str, int]


def audit(net: Devnet, load: Load) -> Audit:
    """Check every node against every other and against what was acknowledged."""
    urls = [m.rpc_url for m in net.members]
    top = settle(net, load)
    headers = {}
    for u in urls:
        with RpcClient(u) as client:
            headers[u] = [client.call("deed_getBlock", h) for h in range(top + 1)]
    first = headers[urls[0]]
    for u in urls[1:]:
        for a, b in zip(first, headers[u], strict=True):
            assert a == b, f"{u} differs from {urls[0]} at height {a['height']}"
    seen: dict[str, int] = {}
    for block in first:
        for h in block["transactions"]:
            seen[h] = seen.get(h, 0) + 1
    doubled = [h for h, n in seen.items() if n > 1]
    assert not doubled, f"transactions in more than one block: {doubled[:3]}"
    committed = rejected = lost = 0
    reasons: dict[str, int] = {}
    with RpcClient(urls[0]) as client:
        for h in load.acknowledged:
            status = client.call("deed_getTransactionStatus", "0x" + h.hex())
            if status["status"] == "committed":
                committed += 1
                assert seen.get("0x" + h.hex()) == 1
            elif status["status"] == "rejected":
                rejected += 1
                reasons[status["reason"]] = reasons.get(status["reason"], 0) + 1
            else:
                lost += 1
    return Audit(len(load.acknowledged), committed, rejected, lost, top, reasons)
