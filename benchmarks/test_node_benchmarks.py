"""deed node: how long it takes to start, and sends per second over HTTP.

Run: .venv/bin/python -m pytest benchmarks/test_node_benchmarks.py --benchmark-only

- start: `deed node --memory --port 0` from process start to "listening"
  (a fresh Python process: imports, genesis, the HTTP server);
- sends, one client: 200 signed value transfers, one after another, each
  mined in a block of its own (the default), on one keep-alive connection;
- sends, ten clients: ten threads, each with its own key and connection,
  20 transfers each (200 in all), concurrently;
each with a block per transaction (the default) and with `--block-time 0.05`
(a round ends when its last transaction's block is committed).
The node runs in a process of its own with a file chain (SQLite, WAL) as
`deed node` does by default; the clients sign before timing. Each benchmark
stores its rate (transactions per second at the median) in extra_info.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from node_support import NodeProcess  # noqa: E402

from deed.node.client import RpcClient  # noqa: E402
from deed.vm.chain import Transaction  # noqa: E402
from deed.vm.crypto import KeyPair  # noqa: E402

SENDS = 200
CLIENTS = 10
SINK = KeyPair.from_text("bench-sink").address


@pytest.fixture(scope="module", params=[None, "0.05"], ids=["block-per-tx", "block-time-0.05s"])
def node(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("node")
    interval = ("--block-time", request.param) if request.param else ()
    with NodeProcess(home, "--chain", str(home / "chain.db"), *interval) as running:
        running.interval = request.param
        yield running


class Senders:
    """Keys with balances on the node and their next nonces (signing is not timed)."""

    def __init__(self, url: str, count: int):
        self.url = url
        self.keys = [KeyPair.from_text(f"bench-node-{count}-{i}") for i in range(count)]
        self.nonces = [0] * count
        with RpcClient(url) as client:
            for k in self.keys:
                client.call("deed_setBalance", "0x" + k.address.hex(), 10**24)
            client.call("deed_mine")

    def signed(self, per_key: int) -> list[list[str]]:
        out = []
        for i, k in enumerate(self.keys):
            batch = []
            for _ in range(per_key):
                tx = Transaction(1, self.nonces[i], k.public_key, SINK, 1, 100_000, 1)
                batch.append("0x" + tx.signed(k).encode().hex())
                self.nonces[i] += 1
            out.append(batch)
        return out


def _send_all(url: str, raws: list[str]) -> None:
    """Send each and wait for the last one's block (at once when mining per transaction)."""
    with RpcClient(url) as client:
        for raw in raws:
            sent = client.call("deed_sendTransaction", raw)
            assert sent["status"] == "success"
        while client.call("deed_getReceipt", sent["tx_hash"]) is None:
            time.sleep(0.005)


def test_node_start(benchmark, tmp_path):
    def start() -> None:
        NodeProcess(tmp_path, "--memory").start().stop()

    benchmark.pedantic(start, rounds=5, iterations=1)
    benchmark.extra_info["start_ms"] = benchmark.stats.stats.median * 1000


def test_node_sends_one_client(benchmark, node):
    senders = Senders(node.url, 1)

    def setup():
        return (node.url, senders.signed(SENDS)[0]), {}

    benchmark.pedantic(_send_all, setup=setup, rounds=5, iterations=1)
    benchmark.extra_info["tx_per_s"] = SENDS / benchmark.stats.stats.median


def test_node_sends_ten_clients(benchmark, node):
    senders = Senders(node.url, CLIENTS)

    def concurrently(batches: list[list[str]]) -> None:
        threads = [threading.Thread(target=_send_all, args=(node.url, b)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def setup():
        return (senders.signed(SENDS // CLIENTS),), {}

    benchmark.pedantic(concurrently, setup=setup, rounds=5, iterations=1)
    benchmark.extra_info["tx_per_s"] = SENDS / benchmark.stats.stats.median
