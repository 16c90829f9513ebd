"""A chain in memory that one test owns: the default ``env``.

Transactions go into one open block at the env's clock; the block is
committed when the clock moves, when blocks are mined, when it is full and
before a snapshot (committing a block per transaction would cost a state
root each). A snapshot is then a copy of the in-memory store, and ``revert``
puts the copy back under a new :class:`~deed.vm.chain.Chain`. Views run on
the state as it is, at the env's time: they see what a transaction sent now
would see.

Transactions of the env's accounts are signed with their keys and the chain
checks signatures as any node does. A transaction with no key (``prank``, or
``sender=`` an address the test has no key of) is impersonated: the one
block that carries it checks its nonce, gas and balance as usual (every
check of ``BlockBuilder._validate``) but takes the sender from the test
instead of from a signature: it replaces only ``BlockBuilder._sender`` for
that transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from deed.vm.chain import BlockBuilder, CallResult, Chain, Transaction, intrinsic_gas
from deed.vm.opcodes import LIMITS
from deed.vm.state import MemoryBackend

from .access import EmittedLog, Outgoing, Sent

START_TIME = 1_000  # the clock when a test starts


@dataclass(frozen=True)
class _Snapshot:
    data: dict
    meta: dict
    logs: int
    timestamp: int
    nodes: dict  # the state tree: its nodes and stale-node index
    stale: dict


class InProcess:
    """A fresh chain whose genesis gives ``balances``; every cheat works."""

    where = "an in-memory chain"
    impersonates = True

    def __init__(self, balances: dict[bytes, int], start_time: int = START_TIME) -> None:
        self.backend = MemoryBackend()
        self.chain = Chain(self.backend)
        self.chain.genesis(balances)
        self.now = start_time
        self._snapshots: list[_Snapshot] = []
        self._open: BlockBuilder | None = None  # the block transactions go into

    # -- time and blocks
    def timestamp(self) -> int:
        return self.now

    def height(self) -> int:
        stale = self._open is not None and self._open.timestamp != self.now
        return self.chain.head.height + 1 + stale

    def warp(self, timestamp: int) -> None:
        """Later transactions (and views) run at ``timestamp``, in a new block:
        the one in progress keeps its time."""
        if timestamp < self.now:
            raise ValueError(
                f"cannot warp back to {timestamp} from {self.now}"
                " (use env.anchor() or env.revert() to go back)"
            )
        self.now = timestamp

    def advance(self, seconds: int) -> None:
        self.warp(self.now + seconds)

    def mine(self, blocks: int) -> None:
        """Mine ``blocks`` blocks at the clock's time (the one in progress, if
        it is at that time, is the first)."""
        if self._open is not None and self._open.timestamp != self.now:
            self._commit()  # a block of the past: ``height`` counts it already
        for _ in range(blocks):
            if self._open is None:
                self._open = self.chain.begin_block(self.now)
            self._commit()

    def _block(self) -> BlockBuilder:
        """The block to send in: the open one if it is at the clock's time,
        else a new one (the open one is committed first)."""
        if self._open is not None and self._open.timestamp != self.now:
            self._commit()
        if self._open is None:
            self._open = self.chain.begin_block(self.now)
        return self._open

    def _commit(self) -> None:
        if self._open is not None:
            self._open.commit()
            self._open = None

    # -- accounts
    def balance(self, address: bytes) -> int:
        return self.chain.balance(address)

    def deal(self, address: bytes, amount: int) -> None:
        self._block()  # written into the open block, as a transaction's effects are
        self.chain.state.add_balance(address, amount - self.chain.balance(address))

    # -- transactions and views
    def send(self, out: Outgoing) -> Sent:
        """Send in the open block (a new one when it is full). Raises
        InvalidTransaction (nothing changed) when the chain refuses it."""
        nonce = self.chain.nonce(out.sender)
        public = out.key.public_key if out.key else _stand_in_key(out.sender)
        tx = Transaction(
            self.chain.chain_id, nonce, public, out.to, out.value, out.gas, out.gas_price, out.data
        )
        block = self._block()
        if block.gas_used + out.gas > LIMITS.max_block_gas:  # full: the next block
            self.mine(1)
            block = self._block()
        if out.key is not None:
            return Sent(block.apply(tx.signed(out.key)), intrinsic_gas(tx))
        block._sender = lambda _tx: out.sender  # type: ignore[method-assign]
        try:
            return Sent(block.apply(tx), intrinsic_gas(tx))
        finally:
            del block._sender  # back to the signature

    def call(self, to: bytes, name: str, flat: list, sender: bytes, value: int) -> CallResult:
        self._block()  # the call runs at the open block's height and time
        return self.chain.call(to, name, flat, sender=sender, value=value)

    def module_at(self, address: bytes):
        return self.chain.module_at(address)

    def logs(self, address: bytes, event: str | None) -> list[EmittedLog]:
        """The committed logs of ``address``, then those of the block in progress."""
        committed = self.chain.logs(address=address, event=event, limit=10**9)
        pending = [
            log
            for r in (self._open.receipts if self._open is not None else ())
            for log in r.logs
            if log.address == address and (event is None or log.event == event)
        ]
        return [EmittedLog(g.address, g.event, tuple(g.values)) for g in committed] + [
            EmittedLog(g.address, g.event, tuple(g.values)) for g in pending
        ]

    # -- snapshots
    def snapshot(self) -> int:
        self._commit()
        b = self.backend
        self._snapshots.append(
            _Snapshot(
                dict(b.data), dict(b.meta), len(b.logs), self.now, dict(b.nodes), dict(b.stale)
            )
        )
        return len(self._snapshots) - 1

    def revert(self, snapshot_id: int, keep: bool = True) -> None:
        """Back to ``snapshot_id``; kept, it stays usable (so do later ones)."""
        if not 0 <= snapshot_id < len(self._snapshots):
            raise ValueError(f"no snapshot {snapshot_id}")
        s = self._snapshots[snapshot_id]
        if self._open is not None:
            self._open.abandon()
            self._open = None
        b = self.backend
        b.data, b.meta = dict(s.data), dict(s.meta)
        b.nodes, b.stale = dict(s.nodes), dict(s.stale)
        del b.logs[s.logs :]
        self.now = s.timestamp
        self.chain = Chain(b)  # fresh caches over the restored store
        if not keep:
            del self._snapshots[snapshot_id:]

    def close(self) -> None:
        pass  # nothing held: the chain is garbage once the env is


def _stand_in_key(address: bytes) -> bytes:
    """The 32 bytes a transaction of an impersonated ``address`` names as its
    sender's key: never checked (the replaced ``BlockBuilder._sender`` gives the address instead)."""
    return b"deed-testing-prank\0\0" + address[:12]
