"""The node: one chain, one writer, a mining policy, a development clock and
snapshots. No HTTP here (:mod:`.server` serves it; tests drive it directly).

Single writer by construction: the server calls these methods from one
thread (its event loop), one request at a time, and the node holds the chain
file's writer lock (``CHAIN.lock``, the one ``deed send`` takes) for its whole
life, so no other process writes the file meanwhile. Readers (``deed call``
on the file) still read it, in WAL mode, without waiting.

Mining: with no block time, every accepted transaction is mined at once in a
block of its own, and its receipt is there when ``send`` returns. With a
block time, accepted transactions go into an open block (applied at once, so
an invalid one is refused at once, with the reason), and a timer commits the
open block, or an empty one, every ``block_time`` seconds. Read-only calls
and nonces see the open block; receipts, logs and blocks only what is
committed. A node that stops commits its open block first; one killed loses
the open block's transactions (their senders see no receipt and may send
them again: the nonce is unchanged).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from deed.cli.local import CLOCK_OFFSET, clock_offset
from deed.vm.chain import (
    BlockBuilder,
    BlockHeader,
    Chain,
    LogEntry,
    Receipt,
    StoredReceipt,
    Transaction,
)
from deed.vm.codec import decode_values, encode_values, to_python_values
from deed.vm.errors import DecodeError, StateError
from deed.vm.proof import StateProof
from deed.vm.state import Account, SqliteBackend, account_key, storage_key

from . import wire

MAX_LOGS = 10_000  # most logs one query returns


class NotFound(LookupError):
    """What a method was asked for is not on this chain (JSON-RPC -32001)."""


class DevOnly(ValueError):
    """A development method refused (JSON-RPC -32002): for example a time in the past."""


@dataclass(frozen=True)
class TransactionStatus:
    """Where a transaction is: committed (with its block), pending in the open
    block, or unknown to this node."""

    state: str  # "committed" | "pending" | "unknown" | "rejected" (a network's block skipped it)
    height: int | None = None
    tx_index: int | None = None
    reason: str | None = None  # rejected: the stable code (bad_nonce, ...)
    message: str | None = None


@dataclass
class AbiStore:
    """Contracts' ABIs kept beside the chain (the command line keeps them in
    ``CHAIN.abis/``, :mod:`deed.cli.abis`); ``read`` and ``write`` are where."""

    read: Callable[[bytes], dict | None]
    write: Callable[[bytes, dict], None]

    @staticmethod
    def in_memory() -> AbiStore:
        kept: dict[bytes, dict] = {}
        return AbiStore(kept.get, kept.__setitem__)


@dataclass
class NodeService:
    backend: SqliteBackend
    abis: AbiStore = field(default_factory=AbiStore.in_memory)
    block_time: float | None = None  # None: a block per transaction
    chain_id: int = 1
    wall_clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.chain = Chain(self.backend, self.chain_id)
        self.open: BlockBuilder | None = None
        self.next_timestamp: int | None = None
        self.snapshots: dict[int, sqlite3.Connection] = {}
        self._snapshot_ids = 0
        self.backend.db.execute(
            "CREATE INDEX IF NOT EXISTS receipts_by_height ON receipts (height, tx_index)"
        )

    # -- the clock
    def clock_offset(self) -> int:
        return clock_offset(self.chain)

    def now(self) -> int:
        """The chain's clock: the wall clock plus every advance, never before
        the head block; ``set_next_timestamp`` fixes the next block's exactly."""
        if self.next_timestamp is not None:
            return self.next_timestamp
        return max(int(self.wall_clock()) + self.clock_offset(), self.chain.head.timestamp + 1)

    def _set_offset(self, offset: int) -> None:
        self.backend.commit({}, {CLOCK_OFFSET: offset.to_bytes(32, "big", signed=True)})

    def increase_time(self, seconds: int) -> int:
        """Move the clock ``seconds`` on (kept across restarts); the new time.
        Exactly ``seconds`` later than :meth:`now` was, even when blocks came
        faster than one a second and the clock was held at the head's time."""
        self.settle()
        self._set_offset(self.now() + seconds - int(self.wall_clock()))
        if self.next_timestamp is not None:
            self.next_timestamp += seconds
        return self.now()

    def set_next_timestamp(self, timestamp: int) -> int:
        """The next block is at ``timestamp`` exactly, and the clock goes on from there."""
        self.settle()
        if timestamp <= self.chain.head.timestamp:
            raise DevOnly(
                f"the next block's time must be after the head's ({self.chain.head.timestamp})"
            )
        self._set_offset(timestamp - int(self.wall_clock()))
        self.next_timestamp = timestamp
        return timestamp

    def describe(self) -> dict:
        """What ``GET /`` adds about this node (a network node: its name and role)."""
        return {}

    def background(self) -> list[Coroutine]:
        """What runs beside the server: the block timer, when mining at an interval."""
        return [self._mine_every(self.block_time)] if self.block_time else []

    async def _mine_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.tick()

    # -- blocks
    def _begin(self) -> BlockBuilder:
        block = self.chain.begin_block(self.now())
        self.next_timestamp = None
        return block

    def settle(self) -> BlockHeader | None:
        """Commit the open block, if there is one (before anything that moves
        the clock, the state or the snapshots)."""
        if self.open is None:
            return None
        block, self.open = self.open, None
        return block.commit()

    def mine(self, blocks: int = 1) -> BlockHeader:
        """Mine ``blocks`` blocks: the open one first, if any, then empty ones."""
        header = self.settle()
        for _ in range(blocks - (header is not None)):
            header = self._begin().commit()
        return header if header is not None else self.chain.head

    def tick(self) -> BlockHeader:
        """What the block timer does every ``block_time``: mine one block."""
        return self.mine(1)

    # -- transactions
    def send(self, raw: bytes) -> Receipt:
        """Accept a signed transaction (:meth:`Transaction.encode`): its receipt
        (final when mining per transaction; pending in the open block otherwise),
        or InvalidTransaction with nothing changed."""
        try:
            tx = Transaction.decode(raw)
        except DecodeError as exc:
            raise wire.WireError(f"not a transaction: {exc}") from None
        if self.block_time is not None:
            if self.open is None:
                self.open = self._begin()
            return self.open.apply(tx)
        timestamp = self.now()
        receipt = self.chain.apply_alone(tx, timestamp)
        self.next_timestamp = None  # used by this block
        return receipt

    def status(self, tx_hash: bytes) -> TransactionStatus:
        found = self.chain.receipt(tx_hash)
        if found is not None:
            return TransactionStatus("committed", found.height, found.tx_index)
        if self.open is not None and tx_hash in self.open.tx_hashes:
            return TransactionStatus("pending")
        return TransactionStatus("unknown")

    def receipt(self, tx_hash: bytes) -> StoredReceipt | None:
        return self.chain.receipt(tx_hash)

    # -- reading
    def account(self, address: bytes) -> Account:
        return self.chain.account(address)

    def code(self, address: bytes) -> bytes | None:
        acc = self.chain.account(address)
        return self.chain.state.code(acc.code_hash) if acc.code_hash else None

    def block(self, height: int | None) -> tuple[BlockHeader, list[bytes]]:
        """A committed block's header and its transactions' hashes (the head: None)."""
        header = self.chain.head if height is None else self.chain.block_header(height)
        if header is None:
            raise NotFound(f"no block {height}: the head is {self.chain.head.height}")
        rows = self.backend.db.execute(
            "SELECT tx_hash FROM receipts WHERE height = ? ORDER BY tx_index", (header.height,)
        ).fetchall()
        return header, [r[0] for r in rows]

    def call(self, to: bytes, data: bytes, sender: bytes, value: int, gas_limit: int) -> Receipt:
        """Run a call (selector and arguments, as in a transaction) read-only:
        its outcome as a receipt with no hash, nothing kept."""
        module = self.chain.module_at(to)
        if module is None:
            raise NotFound(f"no contract at 0x{to.hex()}")
        export = next((e for e in module.exports if not e.is_init and e.selector == data[:4]), None)
        if export is None or len(data) < 4:
            raise wire.WireError("data: no function of the contract has this selector")
        try:
            args = to_python_values(export.params, decode_values(export.params, data[4:]))
        except DecodeError as exc:
            raise wire.WireError(f"data: bad arguments for {export.name}: {exc}") from None
        res = self.chain.call(to, export.name, args, sender, value, gas_limit)
        returned = encode_values(export.returns, list(res.return_values)) if res.success else b""
        return Receipt(
            bytes(32),
            res.status,
            res.gas_used,
            returned,
            res.return_values,
            res.logs,
            res.revert_reason,
            res.error,
        )

    def logs(
        self,
        address: bytes | None,
        event: str | None,
        where: dict[str, object],
        from_height: int,
        to_height: int | None,
        limit: int,
    ) -> list[tuple[LogEntry, bytes]]:
        """Committed logs in chain order, each with its encoded data; ``where``
        holds JSON values of indexed fields (read by the fields' types)."""
        host: dict[str, object] = {}
        if where:
            if address is None or event is None:
                raise wire.WireError("where: needs the address and the event")
            fields = self._event_fields(address, event)
            for name, value in where.items():
                if name not in fields:
                    raise wire.WireError(f"where: {event} has no field {name!r}")
                host[name] = wire.host_value(value, fields[name], f"where.{name}")
        try:
            found = self.chain.logs(address, event, host, from_height, to_height, limit)
        except ValueError as exc:
            raise wire.WireError(str(exc)) from None
        out = []
        for g in found:
            types = list(self._event_fields(g.address, g.event).values())
            out.append((g, encode_values(types, list(g.values))))
        return out

    def _event_fields(self, address: bytes, event: str) -> dict:
        module = self.chain.module_at(address)
        if module is None:
            raise NotFound(f"no contract at 0x{address.hex()}")
        for e in module.events:
            if e.name == event:
                return {f.name: f.type for f in e.fields}
        raise NotFound(f"the contract has no event {event!r}")

    def prove(
        self, address: bytes, storage: bytes | None, height: int | None
    ) -> tuple[BlockHeader, bytes, bytes | None, StateProof]:
        """A committed block, the state key of an account (or of one of its
        storage entries), the entry's value at the head (None: absent, or an
        older block: the proof carries its hash) and the proof against that
        block's state root."""
        key = account_key(address) if storage is None else storage_key(address, storage)
        header = self.chain.head if height is None else self.chain.block_header(height)
        if header is None:
            raise NotFound(f"no block {height}: the head is {self.chain.head.height}")
        try:
            proof = self.chain.prove(key, header.height)
        except StateError as exc:
            raise NotFound(str(exc)) from None
        value = self.backend.get(key) if header.height == self.chain.head.height else None
        return header, key, value, proof

    # -- development
    def set_balance(self, address: bytes, amount: int) -> BlockHeader:
        """Set a balance, in a block of its own (the state root covers it)."""
        self.settle()
        block = self._begin()
        state = self.chain.state
        acc = state.account(address)
        state.set_account(address, Account(amount, acc.nonce, acc.code_hash))
        return block.commit()

    def snapshot(self) -> int:
        """An id to ``revert`` to: the whole chain file (state, receipts, logs,
        clock) copied with SQLite's backup API."""
        self.settle()
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        self.backend.db.backup(copy)
        self._snapshot_ids += 1
        self.snapshots[self._snapshot_ids] = copy
        return self._snapshot_ids

    def revert(self, snapshot_id: int) -> bool:
        """Back to snapshot ``snapshot_id``; it and later snapshots are used up
        (as in anvil and hardhat). False: no such snapshot."""
        copy = self.snapshots.get(snapshot_id)
        if copy is None:
            return False
        if self.open is not None:
            self.open.abandon()
            self.open = None
        copy.backup(self.backend.db)
        for sid in [s for s in self.snapshots if s >= snapshot_id]:
            self.snapshots.pop(sid).close()
        self.chain = Chain(self.backend, self.chain_id)  # fresh caches over the restored file
        self.next_timestamp = None
        return True

    def close(self) -> None:
        self.settle()
        for copy in self.snapshots.values():
            copy.close()
        self.snapshots.clear()
