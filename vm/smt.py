"""The state tree: a Jellyfish-style sparse Merkle tree stored in the backend.

The hashes are those of :mod:`deed.vm.proof` (a binary sparse Merkle tree
over SHA-256 key paths, one-entry subtrees collapsed to their leaf). It is
stored, as in the Jellyfish Merkle Tree of Diem/Aptos, as 16-ary nodes: an
internal node covers four bits of the path and keeps, for each of its 16
children, the version it was written at, its hash and whether it is a leaf;
a leaf sits at the shortest nibble prefix of its path that no other entry
shares. A node's key is (version, nibble path): a commit writes new nodes
under its own version and never changes old ones, so the tree of every
version stays readable until its stale nodes are pruned. Every version has a
root node (a leaf, an internal node or a null node) at its empty path.

Updating k entries of N reads and writes O(k log16 N) nodes; nodes are read
lazily by key through a bounded cache, so reopening reads only the paths a
block touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Protocol

from .errors import StateError
from .proof import EMPTY, StateProof, key_path, leaf_node_hash, node_hash, value_hash

PENDING = -1  # the version of a child written by the update being prepared
NULL_TAG, LEAF_TAG, INTERNAL_TAG = 2, 0, 1


@dataclass(frozen=True, slots=True)
class Leaf:
    path: bytes
    vhash: bytes


@dataclass(frozen=True, slots=True)
class Internal:
    # per nibble: None, or (version, hash, is a leaf)
    children: tuple[tuple[int, bytes, bool] | None, ...]


class Null:
    """The root of the empty tree."""


NULL = Null()
Node = Leaf | Internal | Null
Child = tuple[int, bytes, bool]


@dataclass(frozen=True)
class TreeBatch:
    """A commit's tree changes, written in the same transaction as its state:
    ``nodes`` by node key, the node keys made ``stale`` at ``version``, and
    every node stale since ``prune_upto`` or earlier to delete (None: none)."""

    version: int
    nodes: dict[bytes, bytes]
    stale: tuple[bytes, ...]
    prune_upto: int | None = None


class NodeStore(Protocol):
    def get_node(self, key: bytes) -> bytes | None: ...


def node_key(version: int, nibbles: bytes) -> bytes:
    """version (8 bytes) ‖ nibble count (1) ‖ nibbles packed two a byte."""
    packed = bytes(
        (nibbles[i] << 4) | (nibbles[i + 1] if i + 1 < len(nibbles) else 0)
        for i in range(0, len(nibbles), 2)
    )
    return version.to_bytes(8, "big") + bytes([len(nibbles)]) + packed


def nibble(path: bytes, depth: int) -> int:
    b = path[depth >> 1]
    return b & 15 if depth & 1 else b >> 4


def encode_node(node: Node, version: int) -> bytes:
    if isinstance(node, Leaf):
        return b"\x00" + node.path + node.vhash
    if isinstance(node, Null):
        return b"\x02"
    present = leaves = 0
    parts = []
    for i, c in enumerate(node.children):
        if c is not None:
            present |= 1 << i
            leaves |= c[2] << i
            parts.append((version if c[0] == PENDING else c[0]).to_bytes(8, "big") + c[1])
    return b"\x01" + present.to_bytes(2, "big") + leaves.to_bytes(2, "big") + b"".join(parts)


def decode_node(data: bytes) -> Node:
    tag = data[0]
    if tag == LEAF_TAG:
        return Leaf(data[1:33], data[33:65])
    if tag == NULL_TAG:
        return NULL
    present = int.from_bytes(data[1:3], "big")
    leaves = int.from_bytes(data[3:5], "big")
    children: list[Child | None] = [None] * 16
    pos = 5
    for i in range(16):
        if present >> i & 1:
            children[i] = (
                int.from_bytes(data[pos : pos + 8], "big"),
                data[pos + 8 : pos + 40],
                bool(leaves >> i & 1),
            )
            pos += 40
    return Internal(tuple(children))


def _levels(children: tuple[Child | None, ...]) -> list[list[tuple[bytes, int]]]:
    """The binary tree inside a 16-ary node, leaves first: (hash, kind) with
    kind 0 empty, 1 one leaf, 2 two or more entries."""
    level = [(EMPTY, 0) if c is None else (c[1], 1 if c[2] else 2) for c in children]
    levels = [level]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            (lh, lk), (rh, rk) = level[i], level[i + 1]
            if lk == 0 and rk < 2:
                nxt.append((rh, rk))
            elif rk == 0 and lk < 2:
                nxt.append((lh, lk))
            else:
                nxt.append((node_hash(lh, rh), 2))
        levels.append(nxt)
        level = nxt
    return levels


def node_hash_of(node: Node) -> bytes:
    if isinstance(node, Leaf):
        return leaf_node_hash(node.path, node.vhash)
    if isinstance(node, Null):
        return EMPTY
    return _levels(node.children)[-1][0][0]


@dataclass
class PendingUpdate:
    """A prepared, uncommitted update: its root and the nodes it writes, by
    nibble path, with children it writes at version ``PENDING``."""

    base: int  # the version it was prepared on (-1: the empty store)
    root: bytes
    nodes: dict[bytes, Node]
    stale: set[bytes]

    def batch(self, version: int, prune_upto: int | None) -> tuple[TreeBatch, dict[bytes, Node]]:
        """The batch to write at ``version``, and the nodes as stored (decoded)."""
        final: dict[bytes, Node] = {}
        encoded: dict[bytes, bytes] = {}
        for nib in sorted(self.nodes):
            node = self.nodes[nib]
            if isinstance(node, Internal):
                node = Internal(
                    tuple(
                        (version, c[1], c[2]) if c is not None and c[0] == PENDING else c
                        for c in node.children
                    )
                )
            key = node_key(version, nib)
            final[key] = node
            encoded[key] = encode_node(node, version)
        return TreeBatch(version, encoded, tuple(sorted(self.stale)), prune_upto), final


class SparseMerkleTree:
    """Reads and updates the stored tree; keeps at most ``cache_nodes`` nodes decoded."""

    def __init__(self, store: NodeStore, version: int, cache_nodes: int = 8192) -> None:
        self.store = store
        self.version = version  # the newest committed version (-1: none)
        self.cache_nodes = cache_nodes
        self._cache: dict[bytes, Node] = {}
        self._root: tuple[int, bytes] | None = None  # (version, root hash)

    # -- reading
    def load(self, key: bytes) -> Node:
        node = self._cache.get(key)
        if node is not None:
            return node
        data = self.store.get_node(key)
        if data is None:
            raise StateError(f"state tree node {key.hex()} is missing")
        node = decode_node(data)
        self._keep(key, node)
        return node

    def _keep(self, key: bytes, node: Node) -> None:
        cache = self._cache
        cache[key] = node
        if len(cache) > self.cache_nodes:
            for old in list(cache)[: len(cache) - self.cache_nodes // 2]:
                del cache[old]  # the oldest half: the newest commits' nodes stay

    def root_hash(self) -> bytes:
        if self.version < 0:
            return EMPTY
        if self._root is None or self._root[0] != self.version:
            self._root = (self.version, node_hash_of(self.load(node_key(self.version, b""))))
        return self._root[1]

    # -- updating
    def prepare(self, writes: dict[bytes, bytes | None]) -> PendingUpdate:
        """The update that applies ``writes`` (key -> value, None: delete) to
        the newest version; nothing is written until it is committed."""
        changes = sorted(
            (key_path(k), None if v is None else value_hash(v)) for k, v in writes.items()
        )
        up = PendingUpdate(self.version, EMPTY, {}, set())
        root: Child | None = None
        if self.version >= 0:
            rkey = node_key(self.version, b"")
            up.stale.add(rkey)
            node = self.load(rkey)
            if not isinstance(node, Null):
                root = (self.version, self.root_hash(), isinstance(node, Leaf))
        new = self._update(root, b"", 0, changes, up) if changes else root
        if new is None:
            up.nodes[b""] = NULL
        elif new[0] != PENDING:  # unchanged: its root node is copied to the new version
            up.nodes[b""] = self.load(node_key(new[0], b""))
        up.root = EMPTY if new is None else new[1]
        return up

    def applied(self, update: PendingUpdate, batch: TreeBatch, nodes: dict[bytes, Node]) -> None:
        """After the batch is committed: the new version and its nodes, cached."""
        self.version = batch.version
        self._root = (batch.version, update.root)
        for key, node in nodes.items():
            self._keep(key, node)

    def _put(self, up: PendingUpdate, nib: bytes, node: Node) -> Child:
        up.nodes[nib] = node
        return (PENDING, node_hash_of(node), isinstance(node, Leaf))

    def _update(
        self,
        ref: Child | None,
        nib: bytes,
        depth: int,
        changes: list[tuple[bytes, bytes | None]],
        up: PendingUpdate,
    ) -> Child | None:
        if ref is None:
            return self._build(nib, depth, [c for c in changes if c[1] is not None], up)
        key = node_key(ref[0], nib)
        node = self.load(key)
        if isinstance(node, Leaf):
            entries = {node.path: node.vhash}
            for path, vhash in changes:
                if vhash is None:
                    entries.pop(path, None)
                else:
                    entries[path] = vhash
            items = sorted(entries.items())
            if items == [(node.path, node.vhash)]:
                return ref
            up.stale.add(key)
            return self._build(nib, depth, items, up)
        assert isinstance(node, Internal)
        up.stale.add(key)
        children = list(node.children)
        for n, group in groupby(changes, lambda c: nibble(c[0], depth)):
            children[n] = self._update(children[n], nib + bytes([n]), depth + 1, list(group), up)
        live = [i for i in range(16) if children[i] is not None]
        if not live:
            return None
        only = children[live[0]]
        if len(live) == 1 and only is not None and only[2]:  # one leaf left: it moves up
            below = nib + bytes([live[0]])
            if only[0] == PENDING:
                leaf = up.nodes.pop(below)
            else:
                old = node_key(only[0], below)
                leaf = self.load(old)
                up.stale.add(old)
            return self._put(up, nib, leaf)
        return self._put(up, nib, Internal(tuple(children)))

    def _build(
        self, nib: bytes, depth: int, items: list[tuple[bytes, bytes | None]], up: PendingUpdate
    ) -> Child | None:
        if not items:
            return None
        if len(items) == 1:
            path, vhash = items[0]
            assert vhash is not None
            return self._put(up, nib, Leaf(path, vhash))
        children: list[Child | None] = [None] * 16
        for n, group in groupby(items, lambda c: nibble(c[0], depth)):
            children[n] = self._build(nib + bytes([n]), depth + 1, list(group), up)
        return self._put(up, nib, Internal(tuple(children)))

    # -- proofs
    def prove(self, version: int, key: bytes) -> StateProof:
        """The proof of ``key``'s entry, or of its absence, at ``version``."""
        path = key_path(key)
        siblings: list[bytes] = []
        nib = b""
        node = self.load(node_key(version, b""))
        while isinstance(node, Internal):
            n = nibble(path, len(nib))
            levels = _levels(node.children)
            for j in range(4):
                size = 3 - j  # the level below: groups of 2**size children
                ours = n >> size
                siblings.append(levels[size][ours ^ 1][0])
                kind = levels[size][ours][1]
                if kind == 0:
                    return StateProof(tuple(siblings), None)
                if kind == 1:
                    lo = ours << size
                    i = next(i for i in range(lo, lo + (1 << size)) if node.children[i] is not None)
                    child = node.children[i]
                    assert child is not None
                    node = self.load(node_key(child[0], nib + bytes([i])))
                    assert isinstance(node, Leaf)
                    return StateProof(tuple(siblings), (node.path, node.vhash))
            child = node.children[n]
            assert child is not None
            nib += bytes([n])
            node = self.load(node_key(child[0], nib))
        if isinstance(node, Leaf):
            return StateProof(tuple(siblings), (node.path, node.vhash))
        return StateProof(tuple(siblings), None)
