"""The state tree: a Jellyfish-style sparse Merkle tree stored in the backend.

The hashes are those of :mod:`deed.vm.proof` (a binary sparse Merkle tree
over SHA-256 key paths, one-entry subtrees collapsed to their leaf). It is
stored, as in the Jellyfish Merkle Tree of Diem/Aptos, as 16-ary nodes: an
internal node covers four bits of the path and keeps, for each of its 16
children, the version it was written at and its hash, or, for a leaf, the
leaf itself; a leaf sits at the shortest nibble prefix of its path that no
other entry shares (it is a node of its own only as the root of a one-entry
tree), so updating an entry reads and writes no node for its leaf. A node's key is (version, nibble path): a commit writes new nodes
under its own version and never changes old ones, so the tree of every
version stays readable until its stale nodes are pruned. Every version has a
root node (a leaf, an internal node or a null node) at its empty path.

Updating k entries of N reads and writes O(k log16 N) nodes; nodes are read
lazily by key through a bounded cache, so reopening reads only the paths a
block touches.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Protocol

from .errors import StateError
from .proof import EMPTY, StateProof, key_path, leaf_node_hash, node_hash, value_hash

NULL_TAG, LEAF_TAG, INTERNAL_TAG = 2, 0, 1
HEX = "0123456789abcdef"
_NIBBLE = {c: i for i, c in enumerate(HEX)}  # a hex digit's value, without int(c, 16)
_HEX_PATH = itemgetter(0)


@dataclass(frozen=True, slots=True)
class Leaf:
    """The root node of a one-entry tree (every other leaf is in its parent)."""

    path: bytes
    vhash: bytes


@dataclass(frozen=True, slots=True)
class Internal:
    # per nibble: None, or a Child
    children: tuple[Child | None, ...]
    # the binary tree inside, kept for nodes of the top levels (see _full_levels):
    # the next update of the node rehashes only the changed children's paths
    levels: list[tuple[bytes, int]] | None = field(default=None, compare=False, repr=False)


class Null:
    """The root of the empty tree."""


NULL = Null()
Node = Leaf | Internal | Null
# A child: (version it was written at, hash, the leaf's path ‖ value hash if
# it is a leaf else None, its entry in the parent's encoding). Leaves live
# inside their parent; only a one-entry tree has a leaf as a node. The entry
# is kept so that a node is encoded by joining its children's, and a decoded
# leaf stays bytes (a deep node holds a dozen of them; a block changes one).
Child = tuple[int, bytes, bytes | None, bytes]


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

    def get_nodes(self, keys: list[bytes]) -> dict[bytes, bytes]: ...


def node_key(version: int, nibbles: str) -> bytes:
    """version (8 bytes) ‖ nibble count (1) ‖ nibbles packed two a byte, the
    last low nibble 0 when their count is odd (``nibbles``: a hex string)."""
    return version.to_bytes(8, "big") + _packed_nibbles(nibbles)


@lru_cache(maxsize=1 << 16)
def _packed_nibbles(nibbles: str) -> bytes:
    """The part of a node key after the version (a commit computes it for the
    same few top paths again and again)."""
    packed = bytes.fromhex(nibbles + "0" if len(nibbles) & 1 else nibbles)
    return bytes((len(nibbles),)) + packed


def encode_node(node: Node) -> bytes:
    if isinstance(node, Leaf):
        return b"\x00" + node.path + node.vhash
    if isinstance(node, Null):
        return b"\x02"
    present = leaves = 0
    parts = []
    bit = 1
    for c in node.children:
        if c is not None:
            present |= bit
            if c[2] is not None:
                leaves |= bit
            parts.append(c[3])
        bit <<= 1
    return b"\x01" + present.to_bytes(2, "big") + leaves.to_bytes(2, "big") + b"".join(parts)


def internal_child(version: int, hash_: bytes) -> Child:
    """An internal node's place in its parent: entry ``version (8) ‖ hash``."""
    return (version, hash_, None, version.to_bytes(8, "big") + hash_)


def leaf_child(version: int, path: bytes, vhash: bytes) -> Child:
    """A leaf in its parent: entry ``leaf hash ‖ path ‖ value hash``."""
    hash_ = leaf_node_hash(path, vhash)
    leaf = path + vhash
    return (version, hash_, leaf, hash_ + leaf)


def decode_node(data: bytes) -> Node:
    tag = data[0]
    if tag == LEAF_TAG:
        return Leaf(data[1:33], data[33:65])
    if tag == NULL_TAG:
        return NULL
    present = data[1] << 8 | data[2]
    leaves = data[3] << 8 | data[4]
    children: list[Child | None] = [None] * 16
    pos = 5
    for i in range(16):
        if present >> i & 1:
            if leaves >> i & 1:  # hash (32) ‖ path (32) ‖ value hash (32)
                end = pos + 96
                entry = data[pos:end]
                children[i] = (0, entry[:32], entry[32:], entry)
            else:  # version (8) ‖ hash (32)
                end = pos + 40
                entry = data[pos:end]
                children[i] = (int.from_bytes(entry[:8], "big"), entry[8:], None, entry)
            pos = end
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


def _internal_hash(children: tuple[Child | None, ...]) -> bytes:
    """The top of :func:`_levels`, computed in place (a commit's hot loop)."""
    hs = [EMPTY if c is None else c[1] for c in children]
    ks = [0 if c is None else 1 if c[2] else 2 for c in children]
    sha = hashlib.sha256
    n = 16
    while n > 1:
        for j in range(n >> 1):
            i = j << 1
            lk, rk = ks[i], ks[i + 1]
            if lk == 0 and rk < 2:
                hs[j], ks[j] = hs[i + 1], rk
            elif rk == 0 and lk < 2:
                hs[j], ks[j] = hs[i], lk
            else:
                hs[j], ks[j] = sha(b"\x01" + hs[i] + hs[i + 1]).digest(), 2
        n >>= 1
    return hs[0]


_OFFSETS = (0, 16, 24, 28, 30)  # where each level of a node's binary tree starts


def _slot(c: Child | None) -> tuple[bytes, int]:
    return (EMPTY, 0) if c is None else (c[1], 1 if c[2] else 2)


def _full_levels(children: tuple[Child | None, ...]) -> list[tuple[bytes, int]]:
    """All 31 (hash, kind) of a node's binary tree, level by level (_OFFSETS)."""
    lv = [_slot(c) for c in children] + [(EMPTY, 0)] * 15
    _rehash(lv, range(8), range(4), range(2), range(1))
    return lv


def _updated_levels(
    old: list[tuple[bytes, int]], children: tuple[Child | None, ...], changed: list[int]
) -> list[tuple[bytes, int]]:
    """``old`` with the ``changed`` children's paths rehashed: 4 hashes a child, not 15."""
    lv = old.copy()
    for i in changed:
        c = children[i]
        lv[i] = (EMPTY, 0) if c is None else (c[1], 1 if c[2] else 2)  # _slot
    if len(changed) == 1:  # the common case below the root: one path up
        i = changed[0]
        _rehash(lv, (i >> 1,), (i >> 2,), (i >> 3,), (0,))
        return lv
    one = {i >> 1 for i in changed}
    two = {i >> 1 for i in one}
    three = {i >> 1 for i in two}
    _rehash(lv, one, two, three, (0,))
    return lv


def _rehash(lv: list[tuple[bytes, int]], *touched_by_level) -> None:
    """Recompute, level by level, the ``touched`` slots of a node's binary
    tree from the two below each: an empty side and a leaf (or nothing)
    carries the other up, anything else is hashed (the hot loop of a
    commit's top levels)."""
    sha = hashlib.sha256
    for level, touched in enumerate(touched_by_level, 1):
        below, base = _OFFSETS[level - 1], _OFFSETS[level]
        for j in touched:
            lh, lk = left = lv[below + 2 * j]
            rh, rk = right = lv[below + 2 * j + 1]
            if lk == 0 and rk < 2:
                lv[base + j] = right
            elif rk == 0 and lk < 2:
                lv[base + j] = left
            else:
                lv[base + j] = (sha(b"\x01" + lh + rh).digest(), 2)


def node_hash_of(node: Node) -> bytes:
    if isinstance(node, Leaf):
        return leaf_node_hash(node.path, node.vhash)
    if isinstance(node, Null):
        return EMPTY
    if node.levels is not None:
        return node.levels[30][0]
    return _internal_hash(node.children)


@dataclass
class PendingUpdate:
    """A prepared, uncommitted update to write at ``version``: its root, the
    nodes it writes by nibble path and the node keys it makes stale."""

    base: int  # the version it was prepared on (-1: the empty store)
    version: int
    root: bytes
    nodes: dict[str, Node]
    stale: set[bytes]

    def batch(self, prune_upto: int | None) -> tuple[TreeBatch, dict[bytes, Node]]:
        """The batch to write, and its nodes by node key (decoded)."""
        version = self.version
        final = {node_key(version, nib): node for nib, node in self.nodes.items()}
        encoded = {key: encode_node(final[key]) for key in sorted(final)}
        return TreeBatch(version, encoded, tuple(sorted(self.stale)), prune_upto), final


Change = tuple[str, bytes, bytes | None]  # path in hex, path, value hash (None: delete)


def _groups(changes: list[Change], nib: str):
    """The changes (sorted, all under the nibble path ``nib``) grouped by their
    next nibble: (hex digit, its changes), in order."""
    if len(changes) == 1:  # below the top levels, nearly every node on a path
        return ((changes[0][0][len(nib)], changes),)
    return _grouped(changes, nib)


def _grouped(changes: list[Change], nib: str):
    """:func:`_groups` of several changes: each group's end is found by
    bisection (hex digits sort below "g"), not by testing every change."""
    d = len(nib)
    i, total = 0, len(changes)
    while i < total:
        ch = changes[i][0][d]
        j = i + 1
        if j < total and changes[j][0][d] == ch:
            j = bisect_left(changes, nib + ch + "g", j, total, key=_HEX_PATH)
        yield ch, changes[i:j]
        i = j


class SparseMerkleTree:
    """Reads and updates the stored tree; keeps internal nodes decoded, at most
    ``cache_nodes`` of the top ``TOP_DEPTH`` + 1 levels (every block passes
    through them: 4,369 nodes hold all of them) and a quarter as many of the
    levels below (a deeper node, leaves inside, is big and seldom read again)."""

    TOP_DEPTH = 3

    def __init__(self, store: NodeStore, version: int, cache_nodes: int = 8192) -> None:
        self.store = store
        self.version = version  # the newest committed version (-1: none)
        self.cache_nodes = cache_nodes
        self._cache: dict[bytes, Node] = {}  # deeper nodes
        self._top: dict[bytes, Node] = {}  # nodes at most TOP_DEPTH nibbles deep
        self._fetched: dict[bytes, Node] = {}  # read ahead for the update being prepared
        self._root: tuple[int, bytes] | None = None  # (version, root hash)

    # -- reading
    def _cached(self, key: bytes) -> Node | None:
        return (self._top if key[8] <= self.TOP_DEPTH else self._cache).get(key)

    def load(self, key: bytes) -> Node:
        node = self._cached(key) or self._fetched.get(key)
        if node is not None:
            return node
        data = self.store.get_node(key)
        if data is None:
            raise StateError(f"state tree node {key.hex()} is missing")
        node = decode_node(data)
        if not isinstance(node, Leaf):
            self._keep(key, node)
        return node

    def _keep(self, key: bytes, node: Node) -> None:
        top = key[8] <= self.TOP_DEPTH
        cache = self._top if top else self._cache
        cache[key] = node
        bound = self.cache_nodes if top else self.cache_nodes // 4
        if len(cache) > bound:
            for old in list(cache)[: len(cache) - bound // 2]:
                del cache[old]  # the oldest half: the newest commits' nodes stay

    def _read_ahead(self, root: Child, changes: list[Change]) -> None:
        """Fetch, one query a level, every stored node the changes' paths pass
        through (a read per node would cost more than the rest of a commit)."""
        frontier = [(root[0], "", changes)]
        while frontier:
            keys = [node_key(v, nib) for v, nib, _ in frontier]
            missing = [k for k in keys if self._cached(k) is None and k not in self._fetched]
            if missing:
                for k, data in self.store.get_nodes(missing).items():
                    node = self._fetched[k] = decode_node(data)
                    if not isinstance(node, Leaf):
                        self._keep(k, node)
            below = []
            for (_, nib, group), key in zip(frontier, keys, strict=True):
                node = self.load(key)
                if isinstance(node, Internal):
                    for ch, part in _groups(group, nib):
                        child = node.children[_NIBBLE[ch]]
                        if child is not None and child[2] is None:  # a leaf is in its parent
                            below.append((child[0], nib + ch, part))
            frontier = below

    def root_hash(self) -> bytes:
        if self.version < 0:
            return EMPTY
        if self._root is None or self._root[0] != self.version:
            self._root = (self.version, node_hash_of(self.load(node_key(self.version, ""))))
        return self._root[1]

    # -- updating
    def prepare(self, writes: dict[bytes, bytes | None], version: int) -> PendingUpdate:
        """The update that applies ``writes`` (key -> value, None: delete) to
        the newest version, to be written as ``version``; nothing is written
        until it is committed."""
        changes: list[Change] = []
        for k, v in writes.items():
            path = key_path(k)
            changes.append((path.hex(), path, None if v is None else value_hash(v)))
        changes.sort()
        up = PendingUpdate(self.version, version, EMPTY, {}, set())
        root: Child | None = None
        if self.version >= 0:
            rkey = node_key(self.version, "")
            up.stale.add(rkey)
            node = self.load(rkey)
            if isinstance(node, Leaf):
                root = leaf_child(self.version, node.path, node.vhash)
            elif isinstance(node, Internal):
                root = internal_child(self.version, self.root_hash())
        try:
            if root is not None and changes:
                self._read_ahead(root, changes)
            new = self._update(root, "", changes, up) if changes else root
            if new is None:
                up.nodes[""] = NULL
            elif new[2] is not None:  # one entry: its leaf is the root node
                up.nodes[""] = Leaf(new[2][:32], new[2][32:])
            elif new[0] != version:  # unchanged: its root node is copied to the new version
                up.nodes[""] = self.load(node_key(new[0], ""))
        finally:
            self._fetched = {}
        up.root = EMPTY if new is None else new[1]
        return up

    def applied(self, update: PendingUpdate, nodes: dict[bytes, Node]) -> None:
        """After the update is committed: the new version and its nodes, cached."""
        self.version = update.version
        self._root = (update.version, update.root)
        for key in update.stale:  # replaced: only old versions' proofs read them again
            (self._top if key[8] <= self.TOP_DEPTH else self._cache).pop(key, None)
        for key, node in nodes.items():
            if not isinstance(node, Leaf):
                self._keep(key, node)

    @staticmethod
    def _put(up: PendingUpdate, nib: str, node: Internal) -> Child:
        up.nodes[nib] = node
        return internal_child(up.version, node_hash_of(node))

    def _update(
        self, ref: Child | None, nib: str, changes: list[Change], up: PendingUpdate
    ) -> Child | None:
        if ref is None:
            return self._build(nib, [c for c in changes if c[2] is not None], up)
        leaf = ref[2]
        if leaf is not None:  # a leaf child: stored in its parent (the root node, if alone)
            lpath, lvhash = leaf[:32], leaf[32:]
            if len(changes) == 1 and changes[0][1] == lpath:  # the common case: this entry
                vhash = changes[0][2]
                if vhash is None:
                    return None
                if vhash == lvhash:
                    return ref
                return leaf_child(up.version, lpath, vhash)
            entries = {lpath: lvhash}
            for _, path, vhash in changes:
                if vhash is None:
                    entries.pop(path, None)
                else:
                    entries[path] = vhash
            if entries == {lpath: lvhash}:
                return ref
            return self._build(nib, sorted((p.hex(), p, h) for p, h in entries.items()), up)
        key = node_key(ref[0], nib)
        node = self.load(key)
        assert isinstance(node, Internal)
        up.stale.add(key)
        children = list(node.children)
        changed = []
        for ch, group in _groups(changes, nib):
            n = _NIBBLE[ch]
            children[n] = self._update(children[n], nib + ch, group, up)
            changed.append(n)
        empty = children.count(None)  # counted in C: most nodes keep many children
        if empty == 16:
            return None
        if empty == 15:
            only = next(c for c in children if c is not None)
            if only[2] is not None:
                return only  # one leaf left: it moves up, into this node's parent
        return self._put(up, nib, self._internal(nib, tuple(children), node, changed))

    def _internal(
        self,
        nib: str,
        children: tuple[Child | None, ...],
        old: Internal | None = None,
        changed: list[int] | None = None,
    ) -> Internal:
        """A new internal node; one of the cached top levels keeps its binary
        tree, updated from ``old``'s when that has one."""
        if len(nib) > self.TOP_DEPTH:
            return Internal(children)
        if old is not None and old.levels is not None and changed is not None:
            return Internal(children, _updated_levels(old.levels, children, changed))
        return Internal(children, _full_levels(children))

    def _build(self, nib: str, items: list[Change], up: PendingUpdate) -> Child | None:
        if not items:
            return None
        if len(items) == 1:
            _, path, vhash = items[0]
            assert vhash is not None
            return leaf_child(up.version, path, vhash)
        children: list[Child | None] = [None] * 16
        for ch, group in _groups(items, nib):
            children[_NIBBLE[ch]] = self._build(nib + ch, group, up)
        return self._put(up, nib, self._internal(nib, tuple(children)))

    # -- proofs
    def prove(self, version: int, key: bytes) -> StateProof:
        """The proof of ``key``'s entry, or of its absence, at ``version``."""
        path = key_path(key)
        hexpath = path.hex()
        siblings: list[bytes] = []
        nib = ""
        node = self.load(node_key(version, ""))
        while isinstance(node, Internal):
            n = int(hexpath[len(nib)], 16)
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
                    assert child is not None and child[2] is not None
                    return StateProof(tuple(siblings), (child[2][:32], child[2][32:]))
            child = node.children[n]
            assert child is not None
            nib += HEX[n]
            node = self.load(node_key(child[0], nib))
        if isinstance(node, Leaf):
            return StateProof(tuple(siblings), (node.path, node.vhash))
        return StateProof(tuple(siblings), None)
