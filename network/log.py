"""The ordered log in etcd (Raft): pending transactions, ordered blocks, the
block-cutter's election and the nodes' published state roots.

Client: etcd3gw, OpenStack's client for etcd v3's JSON gateway (the commit
that added it says why). Every call here is one HTTP request to the node's
own etcd member; one client per thread, since a requests session is not
meant to be shared between threads.

Keys, under ``/deed/<network>/`` (spec/network.md, "The ordered log"):

==========================  ===========================================================
``genesis``                 the network's genesis record (created once, never changed)
``block/<height:020d>``     an ordered block; created only if absent, only by the
                            holder of ``cutter``: never two blocks at one height
``pending/<tx hash>``       a transaction a node accepted, until a block includes it
``cutter``                  the block-cutter's id, under its lease (the election)
``root/<height>/<node>``    the state root a node computed for a block
``halted/<node>``           why a node stopped (its root differed from the majority's)
``nodes/<node>``            where the node serves JSON-RPC and snapshots (its URL)
==========================  ===========================================================
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import etcd3gw
from etcd3gw import exceptions as etcd_errors

from .ordered import NetworkGenesis, OrderedBlock

REQUEST_TIMEOUT = 5.0  # seconds, each request to etcd
MAX_TXN_OPS = 100  # etcd's default limit is 128 operations in one transaction


class LogUnavailable(ConnectionError):
    """The node's etcd member cannot be reached, or refused (no quorum, timeout)."""


@dataclass(frozen=True)
class Pending:
    tx_hash: bytes
    raw: bytes
    revision: int  # etcd's create revision: the order in which the log took it


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _prefix_end(prefix: bytes) -> bytes:
    return prefix[:-1] + bytes((prefix[-1] + 1,))


class OrderingLog:
    """One network's keys in one etcd cluster, through one member's endpoint."""

    def __init__(self, endpoint: str, network: str = "deed") -> None:
        host, _, port = endpoint.removeprefix("http://").rstrip("/").rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"an etcd endpoint is http://HOST:PORT, not {endpoint!r}")
        self.endpoint = endpoint
        self.host, self.port = host, int(port)
        self.prefix = f"/deed/{network}/".encode()
        self._local = threading.local()

    # -- plumbing
    @property
    def _client(self) -> etcd3gw.Etcd3Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = etcd3gw.Etcd3Client(
                host=self.host, port=self.port, timeout=REQUEST_TIMEOUT, api_path="/v3/"
            )
            self._local.client = client
        return client

    def _key(self, name: str) -> bytes:
        return self.prefix + name.encode()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except etcd_errors.Etcd3Exception as exc:
            raise LogUnavailable(
                f"etcd at {self.endpoint}: {exc.__class__.__name__} {exc}"
            ) from None

    def _txn(self, compare: list[dict], success: list[dict]) -> bool:
        out = self._call(
            self._client.transaction, {"compare": compare, "success": success, "failure": []}
        )
        return bool(out.get("succeeded"))

    def _range(self, start: bytes, end: bytes, limit: int = 0, **sort) -> list[dict]:
        payload = {"key": _b64(start), "range_end": _b64(end), "limit": limit} | sort
        out = self._call(self._client.post, self._client.get_url("/kv/range"), json=payload)
        return out.get("kvs", [])

    @staticmethod
    def _put(key: bytes, value: bytes, lease: int | None = None) -> dict:
        put = {"key": _b64(key), "value": _b64(value)}
        if lease is not None:
            put["lease"] = lease
        return {"request_put": put}

    def _create_if_absent(self, key: bytes) -> dict:
        return {"key": _b64(key), "result": "EQUAL", "target": "CREATE", "create_revision": 0}

    def _get(self, key: bytes) -> bytes | None:
        found = self._range(key, key + b"\0")
        return _unb64(found[0].get("value", "")) if found else None

    def health(self) -> int:
        """The cluster's revision, through this member (LogUnavailable if it cannot serve)."""
        return int(self._call(self._client.status)["header"]["revision"])

    # -- genesis
    def genesis(self, proposed: NetworkGenesis | None = None) -> NetworkGenesis | None:
        """The network's genesis; ``proposed`` is stored if there is none yet."""
        key = self._key("genesis")
        if proposed is not None:
            self._txn([self._create_if_absent(key)], [self._put(key, proposed.encode())])
        stored = self._get(key)
        return None if stored is None else NetworkGenesis.decode(stored)

    # -- transactions waiting for a block
    def submit(self, txs: Iterable[tuple[bytes, bytes]]) -> None:
        """Put accepted transactions (hash, encoded) in the log: done when
        this returns (etcd committed them through Raft)."""
        ops = [self._put(self._key(f"pending/{h.hex()}"), raw) for h, raw in txs]
        for i in range(0, len(ops), MAX_TXN_OPS):
            self._txn([], ops[i : i + MAX_TXN_OPS])

    def pending(self, limit: int) -> list[Pending]:
        """Waiting transactions, oldest first (by the revision that created them)."""
        start = self._key("pending/")
        kvs = self._range(start, _prefix_end(start), limit, sort_order=1, sort_target=2)
        out = []
        for kv in kvs:
            name = _unb64(kv["key"])[len(start) :].decode()
            out.append(
                Pending(
                    bytes.fromhex(name), _unb64(kv.get("value", "")), int(kv["create_revision"])
                )
            )
        return out

    def remove_pending(self, hashes: Iterable[bytes]) -> None:
        ops = [
            {"request_delete_range": {"key": _b64(self._key(f"pending/{h.hex()}"))}} for h in hashes
        ]
        for i in range(0, len(ops), MAX_TXN_OPS):
            self._txn([], ops[i : i + MAX_TXN_OPS])

    # -- ordered blocks
    def _block_key(self, height: int) -> bytes:
        return self._key(f"block/{height:020d}")

    def blocks(self, first: int, limit: int) -> list[OrderedBlock]:
        """Ordered blocks from height ``first`` on, at most ``limit``, in order."""
        start = self._key("block/")
        kvs = self._range(self._block_key(first), _prefix_end(start), limit)
        return [OrderedBlock.decode(_unb64(kv.get("value", ""))) for kv in kvs]

    def last_block(self) -> OrderedBlock | None:
        start = self._key("block/")
        kvs = self._range(start, _prefix_end(start), 1, sort_order=2, sort_target=0)
        return OrderedBlock.decode(_unb64(kvs[0].get("value", ""))) if kvs else None

    def append(self, block: OrderedBlock, cutter_id: str) -> bool:
        """Write ``block`` if its height is free and ``cutter_id`` still holds
        the election (one compare-and-swap): False if either is not so."""
        compare = [
            self._create_if_absent(self._block_key(block.height)),
            {
                "key": _b64(self._key("cutter")),
                "result": "EQUAL",
                "target": "VALUE",
                "value": _b64(cutter_id),
            },
        ]
        return self._txn(compare, [self._put(self._block_key(block.height), block.encode())])

    # -- the block-cutter's election
    def grant_lease(self, ttl: int) -> int:
        out = self._call(self._client.post, self._client.get_url("/lease/grant"), json={"TTL": ttl})
        return int(out["ID"])

    def keep_alive(self, lease: int) -> bool:
        """Refresh the lease: False if it has expired (the election is lost)."""
        out = self._call(
            self._client.post, self._client.get_url("/lease/keepalive"), json={"ID": lease}
        )
        return int(out.get("result", {}).get("TTL", -1)) > 0

    def revoke(self, lease: int) -> None:
        self._call(self._client.post, self._client.get_url("/kv/lease/revoke"), json={"ID": lease})

    def campaign(self, cutter_id: str, lease: int) -> bool:
        """Become the block-cutter if there is none (the key dies with the lease)."""
        key = self._key("cutter")
        return self._txn([self._create_if_absent(key)], [self._put(key, cutter_id.encode(), lease)])

    def cutter(self) -> str | None:
        found = self._get(self._key("cutter"))
        return None if found is None else found.decode()

    # -- state roots
    def _root_prefix(self, height: int) -> bytes:
        return self._key(f"root/{height:020d}/")

    def publish_root(self, height: int, node: str, root: bytes) -> None:
        self.publish_roots(node, [(height, root)])

    def publish_roots(self, node: str, roots: list[tuple[int, bytes]]) -> None:
        """Publish ``node``'s roots of several heights (in as few requests as etcd allows)."""
        ops = [self._put(self._root_prefix(h) + node.encode(), root) for h, root in roots]
        for i in range(0, len(ops), MAX_TXN_OPS):
            self._txn([], ops[i : i + MAX_TXN_OPS])

    def roots_between(self, first: int, last: int) -> dict[int, dict[str, bytes]]:
        """The roots published for heights ``first`` to ``last``, by height and node."""
        start, end = self._root_prefix(first), _prefix_end(self._root_prefix(last))
        base = len(self._key("root/"))
        out: dict[int, dict[str, bytes]] = {}
        for kv in self._range(start, end):
            name = _unb64(kv["key"])[base:].decode()
            height, _, node = name.partition("/")
            out.setdefault(int(height), {})[node] = _unb64(kv.get("value", ""))
        return out

    def roots(self, height: int) -> dict[str, bytes]:
        """The state roots nodes published for ``height``, by node."""
        start = self._root_prefix(height)
        kvs = self._range(start, _prefix_end(start))
        return {_unb64(kv["key"])[len(start) :].decode(): _unb64(kv.get("value", "")) for kv in kvs}

    # -- where the nodes serve
    def announce(self, node: str, url: str) -> None:
        """Say where ``node`` serves JSON-RPC and its snapshots."""
        self._txn([], [self._put(self._key(f"nodes/{node}"), url.encode())])

    def peers(self) -> dict[str, str]:
        """Each node's announced URL, by name."""
        start = self._key("nodes/")
        kvs = self._range(start, _prefix_end(start))
        return {
            _unb64(kv["key"])[len(start) :].decode(): _unb64(kv.get("value", "")).decode()
            for kv in kvs
        }

    def report_halt(self, node: str, reason: str) -> None:
        self._txn([], [self._put(self._key(f"halted/{node}"), reason.encode())])

    def halted(self) -> dict[str, str]:
        start = self._key("halted/")
        kvs = self._range(start, _prefix_end(start))
        return {
            _unb64(kv["key"])[len(start) :].decode(): _unb64(kv.get("value", "")).decode()
            for kv in kvs
        }
