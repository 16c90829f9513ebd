"""A Deed network against one deed node: transfers per second end to end,
and each transfer's latency from submission to commit.

Run: .venv/bin/python -m pytest benchmarks/test_network_benchmarks.py --benchmark-only

One workload, three targets, in the same run:

- ``devnet-3``: `Devnet` with 3 etcd members (one Raft cluster) and 3
  `deed node --etcd` processes, `block_time` 0.05 s, on 127.0.0.1;
- ``devnet-1``: the same with 1 etcd member and 1 network node (the cost of
  etcd and of the network node's loops, without agreement between nodes);
- ``node``: one `deed node --block-time 0.05` (the single-node miner, file
  chain as `deed node` does by default; no etcd).

A round: 300 signed value transfers (1 unit each, to one sink address) from
10 sender keys, sent concurrently by 10 client threads, thread i with key i
and its own keep-alive connection to node i mod n (devnet-3: 4, 3 and 3
threads on the three nodes), its 30 transfers in nonce order, one after
another without waiting for their commit. The timed part begins before the
threads start and ends when every transaction's receipt is visible
(`deed_getReceipt` not null) on the node it was sent to. Signing happens
before the timed part. After each round, outside the timed part, the
benchmark checks that every receipt is visible and `success` on every node
and that all nodes have the same state root at the same final height.

Latency, per transaction: from the start of its `deed_sendTransaction` call
to the moment its sending thread sees its receipt on that node. Each thread
looks for the receipt of its oldest uncommitted transaction (and then the
next ones) after each send and, once all its transactions are sent, every
5 ms: latencies are under the full burst of 300 and resolved to one send
call or 5 ms. The acknowledgement time (the `deed_sendTransaction` call:
for a network node, until etcd has committed the transaction) is kept too.

extra_info, for each target: ``tx_per_s`` (300 / the median round),
``latency_median_ms``, ``latency_p99_ms``, ``ack_median_ms`` and
``ack_p99_ms`` (over all transactions of all timed rounds); the same
figures are printed (pytest -s shows them).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from node_support import NodeProcess  # noqa: E402

from deed.network.devnet import Devnet  # noqa: E402
from deed.node.client import RpcClient  # noqa: E402
from deed.vm.chain import Transaction  # noqa: E402
from deed.vm.crypto import KeyPair  # noqa: E402

SENDS = 300
CLIENTS = 10
BLOCK_TIME = 0.05
POLL = 0.005  # seconds between looks for a receipt, once a thread has sent everything
ROUND_TIMEOUT = 60.0  # seconds: a transaction without a receipt by then fails the round
ROUNDS = 5
ONE_IN_FLIGHT = 100  # transfers per round when each client has one uncommitted at a time
ROUNDS_ONE_IN_FLIGHT = 3
SINK = KeyPair.from_text("bench-network-sink").address
KEYS = [KeyPair.from_text(f"bench-network-{i}") for i in range(CLIENTS)]


@dataclass
class Target:
    """Where the clients send: the RPC URLs (thread i uses urls[i % len(urls)])."""

    name: str
    urls: list[str]
    logs: list[Path] = field(default_factory=list)
    nonces: list[int] = field(default_factory=lambda: [0] * CLIENTS)

    def signed(self, per_key: int) -> list[list[tuple[bytes, str]]]:
        """Each key's next ``per_key`` transfers: (hash, raw hex), signed now."""
        out = []
        for i, k in enumerate(KEYS):
            batch = []
            for _ in range(per_key):
                tx = Transaction(1, self.nonces[i], k.public_key, SINK, 1, 100_000, 1).signed(k)
                batch.append((tx.hash, "0x" + tx.encode().hex()))
                self.nonces[i] += 1
            out.append(batch)
        return out


@pytest.fixture(scope="module", params=["devnet-3", "devnet-1", "node"])
def target(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(request.param)
    if request.param == "node":
        with NodeProcess(
            home, "--chain", str(home / "chain.db"), "--block-time", str(BLOCK_TIME)
        ) as node:
            with RpcClient(node.url) as client:
                for k in KEYS:
                    client.call("deed_setBalance", "0x" + k.address.hex(), 10**30)
                client.call("deed_mine")
            yield Target("node", [node.url])
        return
    net = Devnet.plan(home, int(request.param[-1]), block_time=BLOCK_TIME)
    try:
        net.up(net.genesis_for({k.address: 10**30 for k in KEYS}))
        yield Target(
            request.param,
            [m.rpc_url for m in net.members],
            [home / f"{m.name}-node.log" for m in net.members],
        )
    finally:
        net.down()


class Client(threading.Thread):
    """Sends one key's transfers to one node and waits until all are committed
    there: all at once (``in_flight`` None) or at most ``in_flight`` uncommitted."""

    def __init__(self, url: str, batch: list[tuple[bytes, str]], in_flight: int | None):
        super().__init__()
        self.url, self.batch, self.in_flight = url, batch, in_flight
        self.latencies: list[float] = []
        self.acks: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with RpcClient(self.url) as client:
                self._run(client)
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _run(self, client: RpcClient) -> None:
        outstanding: deque[tuple[str, float]] = deque()
        deadline = time.monotonic() + ROUND_TIMEOUT

        def drain() -> None:
            while outstanding and client.call("deed_getReceipt", outstanding[0][0]) is not None:
                _, began = outstanding.popleft()
                self.latencies.append(time.perf_counter() - began)

        def wait(until: int) -> None:
            """Poll every POLL seconds until at most ``until`` are uncommitted."""
            while True:
                drain()
                if len(outstanding) <= until:
                    return
                if time.monotonic() > deadline:
                    statuses = [
                        (h, client.call("deed_getTransactionStatus", h)) for h, _ in outstanding
                    ]
                    raise AssertionError(
                        f"{len(outstanding)} transactions without a receipt on {self.url} "
                        f"after {ROUND_TIMEOUT:g} s: {statuses[:5]}"
                    )
                time.sleep(POLL)

        for tx_hash, raw in self.batch:
            if self.in_flight is not None:
                wait(self.in_flight - 1)
            began = time.perf_counter()
            sent = client.call("deed_sendTransaction", raw)
            self.acks.append(time.perf_counter() - began)
            assert sent["tx_hash"] == "0x" + tx_hash.hex(), sent
            outstanding.append((sent["tx_hash"], began))
            drain()
        wait(0)


def _verify(target: Target, batches: list[list[tuple[bytes, str]]]) -> int:
    """Every receipt on every node, a success; the same state root at the same
    height on every node (which is returned)."""
    hashes = ["0x" + h.hex() for batch in batches for h, _ in batch]
    clients = [RpcClient(u) for u in target.urls]
    try:
        heights = [c.call("deed_blockNumber") for c in clients]
        deadline = time.monotonic() + 10
        while len(set(heights)) > 1:  # another node may still be committing the last block
            assert time.monotonic() < deadline, f"{target.name}: heights stay {heights}"
            time.sleep(0.02)
            heights = [c.call("deed_blockNumber") for c in clients]
        roots = {c.url: c.call("deed_getBlock", heights[0])["state_root"] for c in clients}
        assert len(set(roots.values())) == 1, (
            f"{target.name}: roots differ at {heights[0]}: {roots}"
        )
        for c in clients:
            for h in hashes:
                receipt = c.call("deed_getReceipt", h)
                assert receipt is not None, f"{target.name}: no receipt for {h} on {c.url}"
                assert receipt["status"] == "success", receipt
        return heights[0]
    finally:
        for c in clients:
            c.close()


def _log_tails(target: Target) -> str:
    return "\n".join(
        f"--- {p.name}:\n{p.read_text(errors='replace')[-1500:]}" for p in target.logs if p.exists()
    )


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _run(benchmark, target: Target, per_key: int, in_flight: int | None, rounds: int) -> dict:
    """``rounds`` timed rounds (after one warm-up round) of ``per_key``
    transfers per client; each round checked after it, outside the timing."""
    latencies: list[float] = []
    acks: list[float] = []
    blocks: list[int] = []
    last: list[tuple[int, list]] = []

    def check() -> None:
        start, batches = last.pop()
        blocks.append(_verify(target, batches) - start)

    def setup():
        if last:
            check()
        with RpcClient(target.urls[0]) as client:
            height = client.call("deed_blockNumber")
        batches = target.signed(per_key)
        last.append((height, batches))
        return (batches,), {}

    def timed(batches) -> None:
        clients = [
            Client(target.urls[i % len(target.urls)], b, in_flight) for i, b in enumerate(batches)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        for c in clients:
            if c.error is not None:
                raise AssertionError(f"{target.name}: {c.error}\n{_log_tails(target)}")
        latencies.extend(x for c in clients for x in c.latencies)
        acks.extend(x for c in clients for x in c.acks)

    benchmark.pedantic(timed, setup=setup, rounds=rounds, warmup_rounds=1, iterations=1)
    check()
    sends = per_key * CLIENTS
    lat, acks, blocks = latencies[sends:], acks[sends:], blocks[1:]  # not the warm-up round's
    assert len(lat) == sends * rounds
    info = {
        "tx_per_s": sends / benchmark.stats.stats.median,
        "latency_median_ms": statistics.median(lat) * 1000,
        "latency_p99_ms": _p99(lat) * 1000,
        "ack_median_ms": statistics.median(acks) * 1000,
        "ack_p99_ms": _p99(acks) * 1000,
        "blocks_per_round": statistics.median(blocks),
    }
    benchmark.extra_info.update(info)
    shown = ", ".join(f"{k} {v:.1f}" for k, v in info.items())
    print(f"\n{benchmark.name}: {shown}")
    return info


def test_network_burst(benchmark, target):
    """300 transfers, each client sending its 30 without waiting."""
    _run(benchmark, target, SENDS // CLIENTS, None, ROUNDS)


def test_network_one_in_flight(benchmark, target):
    """100 transfers, each client waiting for a receipt before its next send."""
    _run(benchmark, target, ONE_IN_FLIGHT // CLIENTS, 1, ROUNDS_ONE_IN_FLIGHT)
