"""The local chain and key store behind ``deed deploy``, ``call``, ``send`` and ``keys``.

A local chain is one SQLite file (default ``.deed/chain.db``); keys are
ed25519 seeds in ``.deed/keys/NAME.key`` (hex, readable only by the user).
Every transaction is mined into its own block.

Concurrency: every command that writes the chain holds an exclusive
``fcntl.flock`` on ``CHAIN.lock`` (beside the chain file) from before it
reads the head and the sender's nonce until its block is committed, so
concurrent commands are serialised and none is lost. A lock file rather
than SQLite's own locking because the VM's ``SqliteBackend`` opens its own
``BEGIN IMMEDIATE`` at commit: the read (head, nonce, state) -> execute ->
commit cycle spans several SQLite transactions, and only a lock around the
whole cycle makes it atomic without changing the VM. Readers take no lock:
they read inside one SQLite read transaction (the file is in WAL mode), so
they never wait for a writer and see each block whole or not at all.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deed.vm.chain import BlockHeader, Chain, Receipt, Transaction
from deed.vm.crypto import KeyPair
from deed.vm.errors import DecodeError, NodeError, StateError
from deed.vm.state import SqliteBackend

from .errors import ChainFileError, Failure, UsageError

DEV_FUNDS = 1_000_000 * 10**18
# The local chain's faucet: a key derived from a fixed text, funded at
# genesis, that `deed keys fund` signs transfers with. Anyone can derive it:
# it exists only on local development chains, never on a network.
FAUCET_FUNDS = 10**12 * 10**18


def faucet_key() -> KeyPair:
    return KeyPair.from_text("deed-local-faucet")


SQLITE_MAGIC = b"SQLite format 3\x00"
CHAIN_TABLES = frozenset({"state", "meta"})
LOCK_TIMEOUT = 60.0  # seconds a writer waits for the lock (DEED_LOCK_TIMEOUT overrides)
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SEED = re.compile(r"[0-9a-fA-F]{64}")


class KeyStore:
    """ed25519 seeds in HOME/keys, one file a key."""

    def __init__(self, home: Path):
        self.dir = home / "keys"

    def path(self, name: str) -> Path:
        if not _KEY_NAME.fullmatch(name):
            raise UsageError(
                f"{name!r} is not a key name: 1 to 64 ASCII letters, digits, - and _, "
                "starting with a letter or digit"
            )
        return self.dir / f"{name}.key"

    def create(self, name: str) -> KeyPair:
        """A new key; O_EXCL so two commands creating one name cannot both succeed."""
        path = self.path(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        seed = os.urandom(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(f"key {name} exists already ({path})") from None
        with os.fdopen(fd, "w") as f:
            f.write(seed.hex() + "\n")
        return KeyPair(seed)

    def load(self, name: str) -> KeyPair:
        path = self.path(name)
        if not path.exists():
            raise UsageError(f"no key named {name}: create it with `deed keys new {name}`")
        text = path.read_bytes().decode("ascii", "replace").strip()
        if not _SEED.fullmatch(text):
            raise UsageError(f"key file {path} is damaged: it should hold 64 hex digits")
        return KeyPair(bytes.fromhex(text))

    def address(self, name: str) -> bytes:
        """The address of key ``name`` (what ``@name`` means in an argument)."""
        return self.load(name).address

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("*.key") if _KEY_NAME.fullmatch(p.stem))


# --------------------------------------------------------------------------- the chain file


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def node_file(path: Path) -> Path:
    """Where a running ``deed node`` serving ``path`` says so: ``{"url", "pid"}``."""
    return path.with_name(path.name + ".node")


def serving_node(path: Path) -> str | None:
    """The URL of the live ``deed node`` serving ``path``, if one is."""
    try:
        found = json.loads(node_file(path).read_text())
        os.kill(int(found["pid"]), 0)
        return str(found["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def exclusive(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the chain's writer lock (the kernel drops it if the process dies)."""
    if timeout is None:
        timeout = _lock_timeout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                url = serving_node(path)
                if url is not None:
                    raise Failure(
                        f"a deed node serves {path} at {url}: send through it with "
                        f"--rpc {url} (or set DEED_RPC={url})"
                    ) from None
                if time.monotonic() > deadline:
                    raise Failure(
                        f"{path} is busy: another deed command held its lock for {timeout:g} s"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)


def _lock_timeout() -> float:
    text = os.environ.get("DEED_LOCK_TIMEOUT", "")
    try:
        return max(0.0, float(text)) if text else LOCK_TIMEOUT
    except ValueError:
        raise UsageError(f"DEED_LOCK_TIMEOUT={text!r} is not a number of seconds") from None


def check_chain_file(path: Path) -> None:
    """Refuse (exit 2) a file that is not a Deed chain before SQLite or the VM touch it.

    Opened read-only: SqliteBackend creates its tables when they are missing,
    which would write into any other SQLite file named by mistake."""
    if not path.exists():
        raise ChainFileError(f"no chain at {path}: create it with `deed chain init`")
    if not path.is_file():
        raise ChainFileError(f"{path} is not a file")
    with path.open("rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise ChainFileError(f"{path} is not a Deed chain: not an SQLite database")
    try:
        db = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if not CHAIN_TABLES <= tables:
                raise ChainFileError(
                    f"{path} is not a Deed chain: an SQLite file without its tables"
                )
            head = db.execute("SELECT value FROM meta WHERE name = 'head'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ChainFileError(f"{path} is damaged: {exc}") from None
    if head is None:
        raise ChainFileError(f"{path} has no genesis block: create a chain with `deed chain init`")
    try:
        BlockHeader.decode(head[0])
    except (DecodeError, TypeError, ValueError):
        raise ChainFileError(f"{path} is damaged: its head block does not decode") from None


# SQLite errors that are about the moment (exit 1) or the file's permissions (exit 2);
# any other is damage.
_SQLITE_TROUBLE: tuple[tuple[str, type[Exception], str], ...] = (
    ("locked", Failure, "busy"),
    ("busy", Failure, "busy"),
    ("disk is full", Failure, "cannot be written"),
    ("disk i/o", Failure, "cannot be read or written"),
    ("readonly", ChainFileError, "cannot be written"),
    ("unable to open", ChainFileError, "cannot be opened"),
)


@contextmanager
def chain_errors(path: Path) -> Iterator[None]:
    """Errors of the chain file met while working, as clean errors that name it.
    The VM reports a storage fault met inside a transaction as a NodeError
    (the transaction undone); its cause says what the file did."""
    try:
        yield
    except NodeError as exc:
        if not isinstance(exc.cause, sqlite3.DatabaseError | DecodeError | StateError):
            raise
        with chain_errors(path):
            raise exc.cause from None
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        for needle, kind, what in _SQLITE_TROUBLE:
            if needle in text:
                raise kind(f"{path} {what}: {exc}") from None
        raise ChainFileError(f"{path} is damaged: {exc}") from None
    except (DecodeError, StateError) as exc:
        raise ChainFileError(f"{path} is damaged: {exc}") from None


@contextmanager
def _opened(path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(path)
    try:
        yield backend
    finally:
        backend.close()


@contextmanager
def reading(path: Path) -> Iterator[Chain]:
    """The chain for reads: one SQLite read transaction, no lock, so a block a
    writer commits meanwhile is seen whole or not at all and readers never wait."""
    check_chain_file(path)
    with chain_errors(path), _opened(path) as backend:
        backend.db.execute("BEGIN")  # deferred: the snapshot starts at the first read
        yield Chain(backend)


@contextmanager
def writing(path: Path) -> Iterator[Chain]:
    """The chain for one read-modify-write (head, nonce, block, commit), under the lock."""
    check_chain_file(path)  # no lock file beside a file that is not a chain
    with exclusive(path):
        check_chain_file(path)  # again: it may have changed while we waited
        with chain_errors(path), _opened(path) as backend:
            yield Chain(backend)


@contextmanager
def creating(path: Path) -> Iterator[Chain]:
    """A new, empty chain file under the lock (removed again if genesis fails)."""
    with exclusive(path):
        if path.exists():
            raise UsageError(f"{path} exists already")
        try:
            with chain_errors(path), _opened(path) as backend:
                yield Chain(backend)
        except BaseException:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            raise


CLOCK_OFFSET = "deed-cli.clock-offset"  # meta entry: seconds `deed time advance` added


def clock_offset(chain: Chain) -> int:
    raw = chain.backend.get_meta(CLOCK_OFFSET)
    return int.from_bytes(raw, "big", signed=True) if raw else 0  # a node may set it back


def local_now(chain: Chain) -> int:
    """The local chain's clock: the wall clock plus every advance so far,
    never before the head block."""
    return max(int(time.time()) + clock_offset(chain), chain.head.timestamp + 1)


def advance_clock(chain: Chain, seconds: int, proposer: bytes) -> BlockHeader:
    """Move the local chain's clock forward and mine an empty block at the new
    time, so that calls (which run at the head's time) see it at once."""
    offset = clock_offset(chain) + seconds
    chain.backend.commit({}, {CLOCK_OFFSET: offset.to_bytes(32, "big", signed=True)})
    block = chain.begin_block(local_now(chain), proposer)
    return block.commit()


def mine(chain: Chain, tx: Transaction, proposer: bytes) -> Receipt:
    """Apply one transaction in a new block (at the local clock: the wall
    clock plus every `deed time advance`, never before the parent)."""
    return chain.apply_alone(tx, local_now(chain), proposer)
