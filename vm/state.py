"""The state store: one interface, two backends, a journal and the state root.

Everything the chain keeps is one ordered key-value map of bytes:

=================  ==========================================  =============================
key                value                                       what
=================  ==========================================  =============================
``a`` + address    balance (32 bytes) nonce (8) code hash (0/32)  an account
``s`` + address    storage cell (see ``codec.encode_cell``)     a contract's storage entry
  + storage key
``c`` + code hash  module bytes                                deployed code
``d`` + registry   address of the registering contract         the document registry:
  key                                                           a key binds a document hash
                                                                to its registering signer
                                                                (:func:`registry_key`)
``o`` + address    ``01``                                      an oracle report the contract
  + report id                                                  has used
=================  ==========================================  =============================

A backend stores that map and a few named metadata values (the chain head),
and commits a batch of changes atomically. :class:`StateDB` sits on top: it
keeps the uncommitted changes of the current block, journals every write so
that nested checkpoints can be undone, and computes the state root.

The state root is the root of a sparse Merkle tree over the entries
(:mod:`deed.vm.proof` defines its hashing byte for byte: path = SHA-256(key),
leaf = SHA-256(0x00 || path || SHA-256(value)), node = SHA-256(0x01 || left ||
right), a one-entry subtree hashes to its leaf, an empty one to 32 zero
bytes). :mod:`deed.vm.smt` stores it in the backend as versioned 16-ary nodes
(a Jellyfish Merkle Tree), updated by each commit in the same atomic write as
the entries. It depends only on the entries, so it is the same for every
backend, run, process, hash seed and order of writes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from .codec import decode_cell, encode_cell
from .errors import StateError
from .proof import EMPTY, StateProof, key_path, leaf_node_hash, value_hash
from .smt import PendingUpdate, SparseMerkleTree, TreeBatch

ACCOUNT = b"a"
STORAGE = b"s"
CODE = b"c"
DOCUMENT = b"d"  # d ‖ registry key -> the contract that registered it
#: Domain tag of the document registry's keys (:func:`registry_key`).
REGISTRY_KEY_TAG = b"deed-docreg-v1"
REPORT = b"o"  # o ‖ contract ‖ report id -> used
#: The root of the empty state (state root version 2).
EMPTY_ROOT = EMPTY
#: How the state root is computed: stored with genesis, checked on opening.
#: 1 was the sorted binary Merkle tree over all entries; 2 the sparse tree.
STATE_ROOT_VERSION = 2
#: Versions of the state tree kept readable (for proofs) unless told otherwise.
KEEP_VERSIONS = 128


def account_key(address: bytes) -> bytes:
    return ACCOUNT + address


def storage_key(address: bytes, key: bytes) -> bytes:
    return STORAGE + address + key


def registry_key(origin: bytes, doc: bytes) -> bytes:
    """The document registry's key for the 32-byte document hash ``doc``
    registered by the account ``origin`` (the signer of the registering
    transaction): SHA-256(``"deed-docreg-v1"`` ‖ origin (20 bytes) ‖ doc).
    ``DOCREG doc`` registers under this key; ``DOCHOLDER`` reads by it."""
    if len(origin) != 20 or len(doc) != 32:
        raise ValueError("a registry key is made of a 20-byte address and a 32-byte hash")
    return hashlib.sha256(REGISTRY_KEY_TAG + origin + doc).digest()


def document_key(key: bytes) -> bytes:
    """The state entry of the registry key ``key`` (:func:`registry_key`)."""
    return DOCUMENT + key


def report_key(contract: bytes, report_id: bytes) -> bytes:
    return REPORT + contract + report_id


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Account:
    balance: int = 0
    nonce: int = 0
    code_hash: bytes = b""

    def encode(self) -> bytes:
        return self.balance.to_bytes(32, "big") + self.nonce.to_bytes(8, "big") + self.code_hash

    @staticmethod
    def decode(data: bytes) -> Account:
        return Account(
            int.from_bytes(data[:32], "big"), int.from_bytes(data[32:40], "big"), data[40:]
        )


EMPTY_ACCOUNT = Account()


def _is_empty(acc: Account) -> bool:
    """``acc == EMPTY_ACCOUNT`` (an empty account is not stored), written out."""
    return acc.__class__ is Account and acc.balance == 0 and acc.nonce == 0 and acc.code_hash == b""


@dataclass(frozen=True)
class IndexedReceipt:
    """A receipt as the node's receipt index keeps it, by transaction hash:
    written with its block, in the same atomic write, no part of the state.
    ``data`` is :meth:`deed.vm.chain.Receipt.stored`."""

    tx_hash: bytes
    height: int
    tx_index: int
    data: bytes


@dataclass(frozen=True)
class IndexedLog:
    """A log as the node's log index keeps it: derived from the receipts when
    a block is committed, in the same atomic write, and no part of the state
    or its root. ``topics`` are its indexed fields: (name, encoded value)."""

    height: int
    tx_index: int
    log_index: int
    tx_hash: bytes
    address: bytes
    event: str
    data: bytes
    topics: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class LogQuery:
    address: bytes | None = None
    event: str | None = None
    where: tuple[tuple[str, bytes], ...] = ()  # indexed field name, encoded value: all must match
    from_height: int = 0
    to_height: int | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if self.where and (self.address is None or self.event is None):
            raise ValueError("querying by field values needs the contract and the event")

    def matches(self, log: IndexedLog) -> bool:
        return (
            (self.address is None or log.address == self.address)
            and (self.event is None or log.event == self.event)
            and log.height >= self.from_height
            and (self.to_height is None or log.height <= self.to_height)
            and all(pair in log.topics for pair in self.where)
        )


class Backend(Protocol):
    """What a state backend provides. Both implementations keep keys sorted
    only where asked (``items``); the root does the sorting itself."""

    def get(self, key: bytes) -> bytes | None: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...

    def get_meta(self, name: str) -> bytes | None: ...

    def get_node(self, key: bytes) -> bytes | None: ...

    def get_nodes(self, keys: list[bytes]) -> dict[bytes, bytes]: ...

    def commit(
        self,
        writes: dict[bytes, bytes | None],
        meta: dict[str, bytes],
        logs: list[IndexedLog] | None = None,
        receipts: list[IndexedReceipt] | None = None,
        tree: TreeBatch | None = None,
    ) -> None: ...

    def get_artifact(self, key: bytes) -> bytes | None: ...

    def put_artifact(self, key: bytes, data: bytes) -> None: ...

    def close(self) -> None: ...


class MemoryBackend:
    """Everything in a dict: for tests, simulations and benchmarks."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.meta: dict[str, bytes] = {}
        self.artifacts: dict[bytes, bytes] = {}  # node-local prepared code, not state
        self.logs: list[IndexedLog] = []  # the log index, in chain order; not state
        self.receipts: dict[bytes, IndexedReceipt] = {}  # the receipt index; not state
        self.nodes: dict[bytes, bytes] = {}  # the state tree's nodes, by node key
        self.stale: dict[int, tuple[bytes, ...]] = {}  # node keys by the version they went stale

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return list(self.data.items())

    def get_meta(self, name: str) -> bytes | None:
        return self.meta.get(name)

    def get_node(self, key: bytes) -> bytes | None:
        return self.nodes.get(key)

    def get_nodes(self, keys: list[bytes]) -> dict[bytes, bytes]:
        nodes = self.nodes
        return {k: nodes[k] for k in keys if k in nodes}

    def commit(
        self,
        writes: dict[bytes, bytes | None],
        meta: dict[str, bytes],
        logs: list[IndexedLog] | None = None,
        receipts: list[IndexedReceipt] | None = None,
        tree: TreeBatch | None = None,
    ) -> None:
        for key, value in writes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
        self.meta.update(meta)
        if tree is not None:
            self.nodes.update(tree.nodes)
            # a new tuple, never extended in place: snapshots share these
            self.stale[tree.version] = self.stale.get(tree.version, ()) + tree.stale
            if tree.prune_upto is not None:
                for version in sorted(v for v in self.stale if v <= tree.prune_upto):
                    for key in self.stale.pop(version):
                        self.nodes.pop(key, None)
        self.logs.extend(logs or ())
        self.receipts.update((r.tx_hash, r) for r in receipts or ())

    def get_receipt(self, tx_hash: bytes) -> IndexedReceipt | None:
        return self.receipts.get(tx_hash)

    def query_logs(self, q: LogQuery) -> list[IndexedLog]:
        """Logs matching ``q``, in chain order (height, transaction, log)."""
        return [log for log in self.logs if q.matches(log)][: q.limit]

    def get_artifact(self, key: bytes) -> bytes | None:
        return self.artifacts.get(key)

    def put_artifact(self, key: bytes, data: bytes) -> None:
        self.artifacts[key] = data

    def close(self) -> None:
        pass


#: How long a connection waits for a lock another holds (sqlite3's default, 5 s).
BUSY_TIMEOUT_MS = 5000


class WalCheckpointer:
    """Copies a SQLite file's write-ahead log into the file on a thread of its
    own, with a connection of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses its
    threshold: at a million state entries every third or fourth block paid
    tens of milliseconds for it (a commit's mean was twice its median, its
    99th percentile ten times). A passive checkpoint neither blocks nor waits
    for the writer or readers, and sqlite3 releases the GIL while it runs, so
    here it overlaps the blocks that follow. The thread is woken once about
    ``WAKE_BYTES`` of rows were committed since it last ran (SQLite's own
    threshold is 1,000 pages, 4 MiB).

    The log starts over only when a write begins with every frame copied,
    which blocks written back to back seldom allow while the thread is at
    work: when the log file passes ``FALLBACK_BYTES``, the committing
    connection checkpoints itself (if the thread is at that moment, at a
    later commit; past four times that, it waits for the thread), so that
    its next write starts the log over; ``JOURNAL_LIMIT`` then truncates the
    file. Measured at 10^6 entries, blocks back to back: a commit's mean
    fell by about a fifth, its median did not move."""

    WAKE_BYTES = 1 * 2**20
    FALLBACK_BYTES = 64 * 2**20
    JOURNAL_LIMIT = 16 * 2**20

    def __init__(self, path: str) -> None:
        self.path = path
        self.wal_path = path + "-wal"
        self._written = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def committed(self, db: sqlite3.Connection, written: int) -> None:
        """After a commit of ``written`` bytes of rows (about)."""
        self._written += written
        if self._written < self.WAKE_BYTES:
            return
        self._written = 0
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"wal-checkpoint {self.path}", daemon=True
            )
            self._thread.start()
        self._wake.set()
        try:
            size = os.stat(self.wal_path).st_size
        except OSError:
            size = 0
        try:  # the block is committed: a checkpoint that fails is retried, never raised
            if size > 4 * self.FALLBACK_BYTES:  # far behind: wait for the thread's pass
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            elif size > self.FALLBACK_BYTES:  # not waiting: if the thread is at work, later
                db.execute("PRAGMA busy_timeout=0")
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.Error:
            pass

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return  # the committing connection's fallback checkpoints instead
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # busy or closing: a later commit wakes it again
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (the log is checkpointed when the last connection closes)."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class SqliteBackend:
    """The embedded default: one SQLite file. A block is one SQLite transaction,
    so it is committed whole or not at all, even if the process dies."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self.checkpointer: WalCheckpointer | None = None
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self.db.execute("PRAGMA synchronous=NORMAL")
            if mode == "wal":  # (an in-memory database keeps its own journal)
                self.db.execute("PRAGMA wal_autocheckpoint=0")
                self.db.execute(f"PRAGMA journal_size_limit={WalCheckpointer.JOURNAL_LIMIT}")
                self.checkpointer = WalCheckpointer(self.path)
            # 32 MiB of pages: the state tree's upper levels stay in memory
            self.db.execute("PRAGMA cache_size=-32768")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
            )
            # the state tree (deed.vm.smt): nodes by (version, nibble path), and
            # the nodes each version made stale, for pruning
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS tree_nodes (key BLOB PRIMARY KEY, data BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS stale_nodes (stale_since INTEGER PRIMARY KEY,"
                " keys BLOB NOT NULL)"  # the node keys, each after its length (a byte)
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS artifacts (key BLOB PRIMARY KEY, data BLOB NOT NULL)"
            )
            # the log index: node-local, written with each block, not state
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS logs (height INTEGER NOT NULL, tx_index INTEGER NOT NULL,"
                " log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL, address BLOB NOT NULL,"
                " event TEXT NOT NULL, data BLOB NOT NULL,"
                " PRIMARY KEY (height, tx_index, log_index)) WITHOUT ROWID"
            )
            self.db.execute(
                "CREATE INDEX IF NOT EXISTS logs_by_event ON logs (address, event, height)"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS receipts (tx_hash BLOB PRIMARY KEY,"
                " height INTEGER NOT NULL, tx_index INTEGER NOT NULL, data BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS log_topics (address BLOB NOT NULL, event TEXT NOT NULL,"
                " field TEXT NOT NULL, value BLOB NOT NULL, height INTEGER NOT NULL,"
                " tx_index INTEGER NOT NULL, log_index INTEGER NOT NULL,"
                " PRIMARY KEY (address, event, field, value, height, tx_index, log_index))"
                " WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state database {self.path}: {exc}") from exc

    def get(self, key: bytes) -> bytes | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self.db.execute("SELECT key, value FROM state").fetchall())

    def get_meta(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def get_node(self, key: bytes) -> bytes | None:
        row = self.db.execute("SELECT data FROM tree_nodes WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def get_nodes(self, keys: list[bytes]) -> dict[bytes, bytes]:
        """The stored nodes among ``keys``, in a few queries (at most 500 keys each)."""
        found: dict[bytes, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.db.execute(
                    f"SELECT key, data FROM tree_nodes WHERE key IN ({marks})", chunk
                ).fetchall()
            )
        return found

    def commit(
        self,
        writes: dict[bytes, bytes | None],
        meta: dict[str, bytes],
        logs: list[IndexedLog] | None = None,
        receipts: list[IndexedReceipt] | None = None,
        tree: TreeBatch | None = None,
    ) -> None:
        upserts = [(k, v) for k, v in writes.items() if v is not None]
        deletes = [(k,) for k, v in writes.items() if v is None]
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", upserts)
            self.db.executemany("DELETE FROM state WHERE key = ?", deletes)
            self.db.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", list(meta.items())
            )
            if logs:
                self._index_logs(logs)
            if receipts:
                self.db.executemany(
                    "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?)",
                    [(r.tx_hash, r.height, r.tx_index, r.data) for r in receipts],
                )
            if tree is not None:
                self._write_tree(tree)
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if self.checkpointer is not None:
            written = sum(len(k) + len(v) for k, v in upserts) + 64 * len(deletes)
            if tree is not None:
                written += sum(len(k) + len(v) for k, v in tree.nodes.items())
            if receipts:
                written += sum(len(r.data) for r in receipts)
            self.checkpointer.committed(self.db, written)

    def _write_tree(self, tree: TreeBatch) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO tree_nodes (key, data) VALUES (?, ?)", list(tree.nodes.items())
        )
        row = self.db.execute(
            "SELECT keys FROM stale_nodes WHERE stale_since = ?", (tree.version,)
        ).fetchone()
        packed = (row[0] if row else b"") + b"".join(bytes((len(k),)) + k for k in tree.stale)
        self.db.execute("INSERT OR REPLACE INTO stale_nodes VALUES (?, ?)", (tree.version, packed))
        if tree.prune_upto is not None:
            rows = self.db.execute(
                "SELECT keys FROM stale_nodes WHERE stale_since <= ?", (tree.prune_upto,)
            ).fetchall()
            # in key order: the deletes walk the table's pages once, in order
            stale = sorted(k for r in rows for k in _unpack(r[0]))
            self.db.executemany("DELETE FROM tree_nodes WHERE key = ?", [(k,) for k in stale])
            self.db.execute("DELETE FROM stale_nodes WHERE stale_since <= ?", (tree.prune_upto,))

    def get_receipt(self, tx_hash: bytes) -> IndexedReceipt | None:
        row = self.db.execute(
            "SELECT height, tx_index, data FROM receipts WHERE tx_hash = ?", (tx_hash,)
        ).fetchone()
        return None if row is None else IndexedReceipt(tx_hash, row[0], row[1], row[2])

    def _index_logs(self, logs: list[IndexedLog]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (g.height, g.tx_index, g.log_index, g.tx_hash, g.address, g.event, g.data)
                for g in logs
            ],
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO log_topics VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (g.address, g.event, name, value, g.height, g.tx_index, g.log_index)
                for g in logs
                for name, value in g.topics
            ],
        )

    def query_logs(self, q: LogQuery) -> list[IndexedLog]:
        """Logs matching ``q``, in chain order (height, transaction, log). With
        field values, the search starts from the first one's topic rows (their
        key begins with contract, event, field and value)."""
        columns = "l.height, l.tx_index, l.log_index, l.tx_hash, l.address, l.event, l.data"
        cond: list[str] = ["l.height >= ?"]
        args: list[object] = [q.from_height]
        if q.where:
            name, value = q.where[0]
            source = (
                "log_topics t JOIN logs l ON l.height = t.height AND l.tx_index = t.tx_index"
                " AND l.log_index = t.log_index"
            )
            cond += ["t.address = ?", "t.event = ?", "t.field = ?", "t.value = ?"]
            args += [q.address, q.event, name, value]
        else:
            source = "logs l"
        if q.to_height is not None:
            cond.append("l.height <= ?")
            args.append(q.to_height)
        if q.address is not None:
            cond.append("l.address = ?")
            args.append(q.address)
        if q.event is not None:
            cond.append("l.event = ?")
            args.append(q.event)
        for name, value in q.where[1:]:
            cond.append(
                "EXISTS (SELECT 1 FROM log_topics u WHERE u.address = l.address"
                " AND u.event = l.event AND u.field = ? AND u.value = ? AND u.height = l.height"
                " AND u.tx_index = l.tx_index AND u.log_index = l.log_index)"
            )
            args += [name, value]
        sql = (
            f"SELECT {columns} FROM {source} WHERE {' AND '.join(cond)}"
            " ORDER BY l.height, l.tx_index, l.log_index LIMIT ?"
        )
        args.append(q.limit)
        return [IndexedLog(*row) for row in self.db.execute(sql, args).fetchall()]

    def get_artifact(self, key: bytes) -> bytes | None:
        row = self.db.execute("SELECT data FROM artifacts WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put_artifact(self, key: bytes, data: bytes) -> None:
        """Prepared code of a module: node-local (never part of the state or its root)."""
        if self.db.in_transaction:
            self.db.execute(
                "INSERT OR REPLACE INTO artifacts (key, data) VALUES (?, ?)", (key, data)
            )
            return
        try:
            self.db.execute(
                "INSERT OR REPLACE INTO artifacts (key, data) VALUES (?, ?)", (key, data)
            )
        except sqlite3.OperationalError:
            pass  # busy or read-only: the artifact is rebuilt when next needed

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.db.close()


def _unpack(packed: bytes) -> Iterator[bytes]:
    """The node keys of a ``stale_nodes`` row: each a length byte, then the key."""
    pos = 0
    while pos < len(packed):
        n = packed[pos]
        yield packed[pos + 1 : pos + 1 + n]
        pos += 1 + n


def _decode(key: bytes, data: bytes | None) -> object:
    if data is None:
        return None
    prefix = key[:1]
    if prefix == ACCOUNT:
        return Account.decode(data)
    if prefix == STORAGE:
        return decode_cell(data)
    return data


def _weight(key: bytes, value: object) -> int:
    """Approximate memory of a cached entry: its key, its value's bytes, and overhead."""
    return 100 + len(key) + (len(value) if value.__class__ is bytes else 48)  # type: ignore[arg-type]


def leaf_hash(key: bytes, value: bytes) -> bytes:
    """The state tree's leaf of the entry ``key`` = ``value``."""
    return leaf_node_hash(key_path(key), value_hash(value))


def merkle_root(leaves: list[bytes]) -> bytes:
    """Binary Merkle root of leaf hashes in order; an odd node is carried up
    (the transactions and receipts roots; no longer the state root)."""
    if not leaves:
        return hashlib.sha256(b"deed-empty-state").digest()
    level = leaves
    sha = hashlib.sha256
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@dataclass(frozen=True)
class StashedChanges:
    """A block's uncommitted changes, out of the state's view (:meth:`StateDB.stash`)."""

    dirty: dict[bytes, object]
    journal: list[tuple[bytes, object]]
    prepared: tuple[object, object]


class StateDB:
    """Journaled view of the state for executing a block.

    ``checkpoint()`` returns a mark; ``revert_to(mark)`` undoes every write
    after it, so nested calls each undo only their own changes. ``commit()``
    writes the block's changes to the backend in one atomic batch.
    """

    #: Bytes of committed values kept decoded in memory (oldest out first).
    CACHE_BYTES = 64 * 2**20
    #: Stale tree nodes are deleted at every this many versions, all at once:
    #: a page holding several of them is then written once.
    PRUNE_EVERY = 16

    def __init__(self, backend: Backend, keep_versions: int | None = KEEP_VERSIONS) -> None:
        if keep_versions is not None and keep_versions < 1:
            raise ValueError("keep_versions must be at least 1 (or None: keep every version)")
        self.backend = backend
        self.cache: dict[bytes, object] = {}  # committed values, decoded (None = absent)
        self.cache_bytes = 0
        self.dirty: dict[bytes, object] = {}  # this block's values (None = deleted)
        self.journal: list[tuple[bytes, object]] = []
        self.keep_versions = keep_versions
        version = backend.get_meta("state_tree_version")
        self.tree = SparseMerkleTree(backend, int(version) if version else -1)
        # (the writes the last state_root() saw, its prepared update): commit reuses it
        self._prepared: tuple[object, PendingUpdate | None] = (None, None)

    # -- raw access
    def read(self, key: bytes) -> object:
        dirty = self.dirty
        if key in dirty:
            return dirty[key]
        cache = self.cache
        if key in cache:
            return cache[key]
        value = _decode(key, self.backend.get(key))
        cache[key] = value  # not cached yet (checked above): no old weight to take off
        self.cache_bytes += (
            100 + len(key) + (len(value) if value.__class__ is bytes else 48)
        )  # _weight
        if self.cache_bytes > self.CACHE_BYTES:
            self._shrink()
        return value

    def _shrink(self) -> None:
        """Drop the oldest cached entries until the cache is under its budget."""
        cache = self.cache
        while self.cache_bytes > self.CACHE_BYTES and cache:
            oldest = next(iter(cache))
            self.cache_bytes -= _weight(oldest, cache.pop(oldest))

    def write(self, key: bytes, value: object) -> None:
        self.journal.append((key, self.dirty.get(key, _MISSING)))
        self.dirty[key] = value

    def checkpoint(self) -> int:
        return len(self.journal)

    def revert_to(self, mark: int) -> None:
        journal = self.journal
        dirty = self.dirty
        while len(journal) > mark:
            key, old = journal.pop()
            if old is _MISSING:
                del dirty[key]
            else:
                dirty[key] = old

    # -- accounts (every transaction reads and writes a few: the key is built
    # once and the empty-account test is written out, not a dataclass __eq__)
    def account(self, address: bytes) -> Account:
        acc = self.read(ACCOUNT + address)
        return EMPTY_ACCOUNT if acc is None else acc  # type: ignore[return-value]

    def set_account(self, address: bytes, acc: Account) -> None:
        self.write(ACCOUNT + address, None if _is_empty(acc) else acc)

    def balance(self, address: bytes) -> int:
        return self.account(address).balance

    def add_balance(self, address: bytes, amount: int) -> None:
        key = ACCOUNT + address
        acc = self.read(key)
        if acc is None:
            acc = EMPTY_ACCOUNT
        new = Account(acc.balance + amount, acc.nonce, acc.code_hash)  # type: ignore[attr-defined]
        self.write(key, None if _is_empty(new) else new)

    def transfer(self, sender: bytes, receiver: bytes, amount: int) -> bool:
        """Move native value; False (and no change) if the sender has too little."""
        if amount == 0:
            return True
        src = self.account(sender)
        if amount < 0 or src.balance < amount:
            return False
        self.set_account(sender, Account(src.balance - amount, src.nonce, src.code_hash))
        self.add_balance(receiver, amount)
        return True

    # -- code
    def code(self, code_hash: bytes) -> bytes | None:
        return self.read(CODE + code_hash)  # type: ignore[return-value]

    def set_code(self, code_hash: bytes, code: bytes) -> None:
        self.write(CODE + code_hash, code)

    # -- storage
    def sload(self, address: bytes, key: bytes) -> int | bytes | None:
        return self.read(STORAGE + address + key)  # type: ignore[return-value]

    def sstore(self, address: bytes, key: bytes, value: int | bytes | None) -> None:
        self.write(STORAGE + address + key, value)

    # -- shared registries
    def document_holder(self, key: bytes) -> bytes | None:
        """The contract holding the registry key ``key`` (:func:`registry_key`)."""
        return self.read(DOCUMENT + key)  # type: ignore[return-value]

    def register_document(self, key: bytes, holder: bytes) -> None:
        self.write(DOCUMENT + key, holder)

    def report_used(self, contract: bytes, report_id: bytes) -> bool:
        return self.read(REPORT + contract + report_id) is not None

    def mark_report_used(self, contract: bytes, report_id: bytes) -> None:
        self.write(REPORT + contract + report_id, b"\x01")

    # -- blocks
    def has_changes(self) -> bool:
        return bool(self.dirty)

    def discard(self) -> None:
        self.dirty.clear()
        self.journal.clear()
        self._prepared = (None, None)

    def stash(self) -> StashedChanges:
        """Take this block's changes out of view (reads see the committed
        state again) to :meth:`restore` and commit later: a node of a network
        holds a block it executed until the others agree on its root."""
        stashed = StashedChanges(self.dirty, self.journal, self._prepared)
        self.dirty, self.journal, self._prepared = {}, [], (None, None)
        return stashed

    def restore(self, stashed: StashedChanges) -> None:
        """Bring back changes taken out by :meth:`stash` (none may be pending)."""
        if self.dirty:
            raise StateError("cannot restore stashed changes over pending ones")
        self.dirty, self.journal, self._prepared = stashed.dirty, stashed.journal, stashed.prepared

    def pending_writes(self) -> dict[bytes, bytes | None]:
        """This block's changes, encoded (None: deleted): accounts and storage
        cells by their encodings, code and registry entries as they are."""
        out: dict[bytes, bytes | None] = {}
        for k, v in self.dirty.items():
            if v is None:
                out[k] = None
                continue
            prefix = k[:1]
            if prefix == ACCOUNT:
                out[k] = v.encode()  # type: ignore[attr-defined]
            elif prefix == STORAGE:
                out[k] = encode_cell(v)  # type: ignore[arg-type]
            else:
                out[k] = v  # type: ignore[assignment]
        return out

    def state_root(self, writes: dict[bytes, bytes | None] | None = None) -> bytes:
        """Root of the state including this block's uncommitted changes
        (``writes``: :meth:`pending_writes`, when the caller has them already).
        Nothing is written; ``commit`` of the same ``writes`` reuses the work."""
        changed = self.pending_writes() if writes is None else writes
        if not changed:
            return self.tree.root_hash()
        update = self.tree.prepare(changed, self.tree.version + 1)
        self._prepared = (changed, update)
        return update.root

    @property
    def version(self) -> int:
        """The state tree's newest committed version (-1: nothing committed)."""
        return self.tree.version

    def oldest_version(self) -> int:
        """The oldest version whose tree is still kept (not pruned)."""
        if self.keep_versions is None:
            return 0
        return max(0, self.tree.version - self.keep_versions + 1)

    def prove(self, key: bytes, version: int | None = None) -> StateProof:
        """Proof of ``key``'s committed entry, or of its absence, against the
        root of ``version`` (the newest by default)."""
        version = self.tree.version if version is None else version
        if not 0 <= version <= self.tree.version:
            raise StateError(f"no state version {version} (the newest is {self.tree.version})")
        if version < self.oldest_version():
            raise StateError(
                f"the state tree of version {version} is pruned: this node keeps the last "
                f"{self.keep_versions} versions (from {self.oldest_version()})"
            )
        return self.tree.prove(version, key)

    def commit(
        self,
        meta: dict[str, bytes] | None = None,
        writes: dict[bytes, bytes | None] | None = None,
        logs: list[IndexedLog] | None = None,
        receipts: list[IndexedReceipt] | None = None,
        version: int | None = None,
    ) -> None:
        """Write this block's changes, its state tree nodes and ``meta``
        atomically, then start afresh (``writes``: :meth:`pending_writes`, when
        the caller has them already; ``logs`` and ``receipts``: the block's, for
        the node's indexes; ``version``: the tree version to write, by default
        the next one; a chain passes the block height)."""
        writes = self.pending_writes() if writes is None else writes
        tree = self.tree
        version = tree.version + 1 if version is None else version
        if version <= tree.version:
            raise StateError(f"state version {version} is not after {tree.version}")
        seen, update = self._prepared
        if (
            seen is not writes
            or update is None
            or update.base != tree.version
            or update.version != version
        ):
            update = tree.prepare(writes, version)
        keep = self.keep_versions
        prune_upto = None
        if keep is not None and version % self.PRUNE_EVERY == 0:
            prune_upto = version - keep + 1
        batch, nodes = update.batch(prune_upto)
        meta = dict(meta or {})
        meta["state_tree_version"] = str(version).encode()
        self.backend.commit(writes, meta, logs or [], receipts or [], tree=batch)
        tree.applied(update, nodes)
        self._cache_written(writes)
        self.discard()

    def _cache_written(self, writes: dict[bytes, bytes | None]) -> None:
        """After a commit: keep the block's values decoded; the cache stays
        under CACHE_BYTES whatever the transactions read (a BALANCE of any
        address included). Written out: a block writes thousands of entries."""
        dirty, cache, budget = self.dirty, self.cache, self.CACHE_BYTES
        held = self.cache_bytes
        for k in writes:
            old = cache.pop(k, _MISSING)
            if old is not _MISSING:
                held -= 100 + len(k) + (len(old) if old.__class__ is bytes else 48)  # _weight
            if k not in dirty:  # written by the caller alone: forget what the cache held
                continue
            value = cache[k] = dirty[k]
            held += 100 + len(k) + (len(value) if value.__class__ is bytes else 48)  # type: ignore[arg-type]
            if held > budget:
                self.cache_bytes = held
                self._shrink()
                held = self.cache_bytes
        self.cache_bytes = held

    def entries(self) -> dict[bytes, bytes]:
        """Every committed and pending entry, encoded (for tests and tools)."""
        merged = dict(self.backend.items())
        for k, v in self.pending_writes().items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        return merged
