"""Catching up from a state snapshot: a node far behind the log (or new)
copies another node's chain file instead of replaying every block, and
checks it against what the network agreed before using it.

What a node serves (``GET /snapshot``): a consistent copy of its chain file
at its last agreed block, made with SQLite's backup API between blocks.

What the receiver checks (:func:`verify`), against etcd and the genesis:

1. block 0 is the network's genesis block;
2. the copy's last ordered block (height and hash) is the log's block at
   that height;
3. a majority of the network's nodes published, for that height, the state
   root the copy's head block holds;
4. the copy's state entries hash to that root, recomputed from the entries
   alone (not from the copy's stored tree);
5. the copy's stored tree proves a sample of present and absent keys against
   that root (:func:`deed.vm.proof.verify`): the tree the node will build on
   is the agreed one.

The receipts and logs of earlier blocks come with the copy as the serving
node kept them; only the block headers' chain up to the agreed head and the
state are checked.
"""

from __future__ import annotations

import os
import random
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deed.vm.chain import Chain
from deed.vm.errors import DeedVMError
from deed.vm.proof import verify as verify_proof
from deed.vm.smt import SparseMerkleTree
from deed.vm.state import MemoryBackend, SqliteBackend

from .log import OrderingLog
from .ordered import NetworkGenesis
from .service import ORDERED_HEAD, genesis_header_hash, tally

SAMPLE_PRESENT = 64  # stored-tree proofs checked of keys in the state
SAMPLE_ABSENT = 16  # ... and of keys not in it
FETCH_TIMEOUT = 120.0


class SnapshotRefused(ValueError):
    """A snapshot that is not the network's agreed state (the message says which check failed)."""


@dataclass(frozen=True)
class Snapshot:
    height: int
    entries: int
    source: str


def fetch(url: str, dest: Path) -> None:
    """Copy the node at ``url``'s snapshot to ``dest`` (OSError if it cannot)."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/snapshot", timeout=FETCH_TIMEOUT) as r:
        with open(dest, "wb") as out:
            while chunk := r.read(1 << 20):
                out.write(chunk)


def verify(path: Path, log: OrderingLog, genesis: NetworkGenesis, source: str = "") -> Snapshot:
    """Check a snapshot file (the module docstring's five checks): what it holds,
    or SnapshotRefused."""
    backend = SqliteBackend(path)
    try:
        return _verify(backend, log, genesis, source)
    except DeedVMError as exc:
        raise SnapshotRefused(f"not a chain this VM can open: {exc}") from None
    finally:
        backend.close()


def _verify(
    backend: SqliteBackend, log: OrderingLog, genesis: NetworkGenesis, source: str
) -> Snapshot:
    chain = Chain(backend, genesis.chain_id)
    head = chain.head
    if head is None or chain.block_header(0).hash != genesis_header_hash(genesis):
        raise SnapshotRefused("its block 0 is not the network's genesis block")
    ordered = backend.get_meta(ORDERED_HEAD)
    if ordered is None or int.from_bytes(ordered[:8], "big") != head.height:
        raise SnapshotRefused("it does not record the ordered block its head executed")
    logged = log.blocks(head.height, 1)
    if not logged or logged[0].height != head.height or logged[0].hash != ordered[8:]:
        raise SnapshotRefused(f"its block {head.height} is not the log's")
    if tally(log.roots(head.height), head.state_root, genesis) is not True:
        raise SnapshotRefused(
            f"the network's nodes did not agree on its state root at block {head.height}"
        )
    entries = dict(backend.items())
    fresh = SparseMerkleTree(MemoryBackend(), -1)
    if fresh.prepare(entries, 0).root != head.state_root:
        raise SnapshotRefused("its state entries do not hash to the agreed state root")
    rnd = random.Random(head.state_root)
    for key in rnd.sample(sorted(entries), min(SAMPLE_PRESENT, len(entries))):
        if not verify_proof(head.state_root, key, entries[key], chain.prove(key)):
            raise SnapshotRefused(f"its stored tree does not prove key 0x{key.hex()}")
    for _ in range(SAMPLE_ABSENT):
        key = rnd.randbytes(33)
        if key not in entries and not verify_proof(head.state_root, key, None, chain.prove(key)):
            raise SnapshotRefused("its stored tree does not prove an absent key")
    return Snapshot(head.height, len(entries), source)


def local_height(path: Path) -> int:
    """The last ordered block a chain file applied (0: none, or no file)."""
    if not path.exists():
        return 0
    backend = SqliteBackend(path)
    try:
        stored = backend.get_meta(ORDERED_HEAD)
    finally:
        backend.close()
    return 0 if stored is None else int.from_bytes(stored[:8], "big")


def catch_up(
    path: Path, log: OrderingLog, genesis: NetworkGenesis, me: str, after: int, say
) -> Snapshot | None:
    """If ``path`` is more than ``after`` blocks behind the log, replace it
    with a verified snapshot from another node; None: not needed, or no node
    gave one that checks (the node then replays the log; ``say`` tells why)."""
    last = log.last_block()
    behind = (last.height if last else 0) - local_height(path)
    if after <= 0 or behind <= after:
        return None
    download = path.with_name(path.name + ".snapshot")
    for name, url in sorted(log.peers().items()):
        if name == me:
            continue
        try:
            fetch(url, download)
            got = verify(download, log, genesis, name)
        except (OSError, SnapshotRefused) as exc:
            say(f"snapshot from node {name} ({url}) not used: {exc}")
            download.unlink(missing_ok=True)
            continue
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        os.replace(download, path)
        for left in (Path(f"{download}-wal"), Path(f"{download}-shm")):
            left.unlink(missing_ok=True)  # (empty: closing the checked copy checkpointed it)
        say(
            f"loaded a snapshot at height {got.height} from node {name} ({got.entries} state "
            "entries; block, agreed root, entries and stored tree checked)"
        )
        return got
    say(f"{behind} blocks behind and no node gave a snapshot that checks: replaying the log")
    return None
