"""A node of a Deed network: the JSON-RPC node (:mod:`deed.node`) whose
blocks come from the ordered log in etcd instead of its own miner.

Three loops run on the node's event loop, beside the RPC server, and every
call to etcd runs in a thread pool so the loop never waits on the network:

* the **submitter** puts accepted transactions in the log, in batches (one
  etcd transaction per batch); a sender's ``deed_sendTransaction`` answers
  once etcd has committed its transaction: that is the acknowledgement;
* the **follower** executes each ordered block, seals it (the state root is
  known, nothing is written), publishes the root, and commits the block only
  once a majority of the network's nodes published the same root; a node in
  the minority halts with its state at the last agreed block;
* the **cutter** campaigns for the block-cutter's lease and, while it holds
  it, cuts a block of pending transactions every ``block_time`` seconds.

The chain is still written by one thread only (the loop's): executing and
committing happen there, and a sealed block's changes are out of the
state's view while the node waits for agreement, so reads never see a block
that is not agreed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from deed.node import wire
from deed.node.service import DevOnly, NodeService, TransactionStatus
from deed.vm import crypto
from deed.vm.chain import Chain, SealedBlock, Transaction, check_form
from deed.vm.errors import DecodeError, InvalidTransaction
from deed.vm.opcodes import LIMITS
from deed.vm.sigcheck import ProcessChecker, RememberingChecker
from deed.vm.state import MemoryBackend

from .log import MAX_TXN_OPS, LogUnavailable, OrderingLog, Pending
from .ordered import MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS, NetworkGenesis, OrderedBlock

LEASE_TTL = 2  # seconds: a dead block-cutter is replaced after about this long
POLL = 0.01  # seconds between looks at the log for a new block or roots, while busy
IDLE_POLL = 0.1  # ... growing to this while nothing comes (an idle node costs little CPU)
SUBMIT_BATCH = MAX_TXN_OPS  # transactions put in the log in one etcd transaction, at most
MAX_NONCE_AHEAD = 64  # a transaction may wait for this many earlier ones of its sender
FUTURE_WAIT = 5.0  # seconds a transaction waits for the one before it before it is ordered anyway
ORDERED_HEAD = "network.ordered_head"  # meta: height and hash of the last ordered block applied
REFUSED = "network.refused:"  # meta prefix: a transaction a block skipped, and why


class NodeHalted(RuntimeError):
    """This node's state root differs from the network's agreed root (or the
    log is not one this node can follow): it stops, keeping its last agreed block."""


class NotAccepted(ConnectionError):
    """The ordering service could not take the transaction: it was not accepted."""


@dataclass(frozen=True)
class Refusal:
    """A transaction an ordered block held that every node skipped, and why."""

    height: int
    index: int
    reason: str  # InvalidTransaction's stable code, or "malformed"
    message: str

    def encode(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode()

    @staticmethod
    def decode(data: bytes) -> Refusal:
        return Refusal(**json.loads(data))


def genesis_header_hash(genesis: NetworkGenesis) -> bytes:
    """The hash of block 0 that every node of this network must have."""
    return (
        Chain(MemoryBackend(), genesis.chain_id).genesis(genesis.balances, genesis.timestamp).hash
    )


def tally(roots: dict[str, bytes], mine: bytes, genesis: NetworkGenesis) -> bool | None:
    """True: a majority of the network's nodes published ``mine``; False: a
    majority published another root, or every node published and none has a
    majority; None: not decided yet."""
    counted = {n: r for n, r in roots.items() if n in genesis.nodes}
    votes: dict[bytes, int] = {}
    for r in counted.values():
        votes[r] = votes.get(r, 0) + 1
    if votes.get(mine, 0) >= genesis.quorum:
        return True
    if any(v >= genesis.quorum for r, v in votes.items() if r != mine):
        return False
    if len(counted) == len(genesis.nodes):
        return False
    return None


@dataclass
class NetworkService(NodeService):
    log: OrderingLog | None = None
    node_id: str = ""
    genesis: NetworkGenesis | None = None
    proposer: bytes = bytes(20)  # where this node's blocks pay their fees

    def __post_init__(self) -> None:
        if self.log is None or self.genesis is None or not self.node_id:
            raise ValueError("a network node needs its log, genesis and node id")
        self.chain_id = self.genesis.chain_id
        super().__post_init__()
        if self.node_id not in self.genesis.nodes:
            raise NodeHalted(
                f"node {self.node_id!r} is not one of the network's nodes "
                f"({', '.join(self.genesis.nodes)})"
            )
        self.cutter_id = f"{self.node_id}:{os.getpid()}:{secrets.token_hex(4)}"
        self.is_cutter = False
        self.accepted: set[bytes] = set()  # acknowledged here, not yet in a block
        self.first_seen: dict[bytes, float] = {}  # the cutter's: when a held transaction arrived
        self.halted: str | None = None
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="etcd")
        # a block's signatures: those admitted here are not checked again, the
        # others in a worker process, ahead of execution (deed.vm.sigcheck)
        self.signatures = RememberingChecker(ProcessChecker())
        self.queue: asyncio.Queue[tuple[Transaction, asyncio.Future]] | None = None

    # -- genesis
    def ensure_genesis(self) -> None:
        """Build block 0 from the network's genesis (a new node), or check it."""
        expected = genesis_header_hash(self.genesis)
        if self.chain.head is None:
            self.chain.genesis(self.genesis.balances, self.genesis.timestamp)
        if self.chain.block_header(0).hash != expected:
            raise NodeHalted(
                "this node's chain was not started from the network's genesis "
                f"(block 0 is 0x{self.chain.block_header(0).hash.hex()}, the network's "
                f"0x{expected.hex()})"
            )

    def ordered_head(self) -> tuple[int, bytes]:
        """Height and hash of the last ordered block this node committed
        (height 0: none; the hash is then block 0's, the parent of block 1)."""
        stored = self.backend.get_meta(ORDERED_HEAD)
        if stored is None:
            return 0, self.chain.block_header(0).hash
        return int.from_bytes(stored[:8], "big"), stored[8:]

    # -- what a network node refuses
    def _development(self, what: str):
        raise DevOnly(f"{what} is a development method; a network node has none")

    def increase_time(self, seconds: int) -> int:
        self._development("deed_increaseTime")

    def set_next_timestamp(self, timestamp: int) -> int:
        self._development("deed_setNextBlockTimestamp")

    def mine(self, blocks: int = 1):
        self._development("deed_mine")

    def set_balance(self, address: bytes, amount: int):
        self._development("deed_setBalance")

    def snapshot(self) -> int:
        self._development("deed_snapshot")

    def revert(self, snapshot_id: int) -> bool:
        self._development("deed_revert")

    def now(self) -> int:
        self._development("deed_now")

    def settle(self):
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.signatures.close()

    # -- accepting transactions
    def admit(self, tx: Transaction) -> None:
        """Refuse what cannot succeed before it reaches the log (InvalidTransaction)."""
        if self.halted:
            raise InvalidTransaction("node_halted", f"this node has halted: {self.halted}")
        check_form(tx, self.chain_id)
        if tx.gas_limit > LIMITS.max_block_gas:
            raise InvalidTransaction("block_full", "the gas limit is over a block's")
        if self.chain.receipt(tx.hash) is not None or self.refusal(tx.hash) is not None:
            raise InvalidTransaction("known", "this transaction is in a block already")
        if not crypto.verify(tx.sender, tx.signing_payload(), tx.signature):
            raise InvalidTransaction("bad_signature", "the signature does not verify")
        self.signatures.remember(tx.hash)
        acc = self.chain.account(tx.sender_address)
        if tx.nonce < acc.nonce:
            raise InvalidTransaction(
                "bad_nonce", f"nonce {tx.nonce} is used; the account expects {acc.nonce}"
            )
        if tx.nonce > acc.nonce + MAX_NONCE_AHEAD:
            raise InvalidTransaction(
                "bad_nonce",
                f"nonce {tx.nonce} is more than {MAX_NONCE_AHEAD} ahead of the account's {acc.nonce}",
            )
        if acc.balance < tx.value + tx.gas_limit * tx.gas_price:
            raise InvalidTransaction(
                "insufficient_funds", "balance below value + gas limit x gas price"
            )

    def send(self, raw: bytes) -> asyncio.Future:
        """Check a signed transaction and queue it for the log: a future of
        its hash, set once etcd has it (NotAccepted if etcd could not take it)."""
        try:
            tx = Transaction.decode(raw)
        except DecodeError as exc:
            raise wire.WireError(f"not a transaction: {exc}") from None
        self.admit(tx)
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((tx, future))
        return future

    def status(self, tx_hash: bytes) -> TransactionStatus:
        found = self.chain.receipt(tx_hash)
        if found is not None:
            return TransactionStatus("committed", found.height, found.tx_index)
        refused = self.refusal(tx_hash)
        if refused is not None:
            return TransactionStatus(
                "rejected", refused.height, refused.index, refused.reason, refused.message
            )
        if tx_hash in self.accepted:
            return TransactionStatus("pending")
        return TransactionStatus("unknown")

    def refusal(self, tx_hash: bytes) -> Refusal | None:
        stored = self.backend.get_meta(REFUSED + tx_hash.hex())
        return None if stored is None else Refusal.decode(stored)

    def export_snapshot(self, dest: Path) -> int:
        """Copy the chain file to ``dest`` (SQLite's backup API): its state at
        the last agreed block, the height returned. Called on the loop, so
        between blocks (a sealed block is not in the file until agreed)."""
        copy = sqlite3.connect(dest)
        try:
            self.backend.db.backup(copy)
        finally:
            copy.close()
        return self.chain.head.height

    def describe(self) -> dict:
        return {
            "network": self.log.prefix.decode().split("/")[2],
            "node": self.node_id,
            "cutting": self.is_cutter,
            "halted": self.halted,
        }

    # -- the loops
    def background(self) -> list[Coroutine]:
        self.queue = asyncio.Queue()
        return [self._submitter(), self._follower(), self._cutter()]

    async def _io(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _submitter(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < SUBMIT_BATCH:
                batch.append(self.queue.get_nowait())
            try:
                await self._io(self.log.submit, [(tx.hash, tx.encode()) for tx, _ in batch])
            except LogUnavailable as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(NotAccepted(f"not accepted: {exc}"))
                continue
            for tx, future in batch:
                self.accepted.add(tx.hash)
                if not future.done():
                    future.set_result(tx.hash)

    async def _follower(self) -> None:
        idle = Backoff()
        while True:
            height, _ = self.ordered_head()
            try:
                blocks = await self._io(self.log.blocks, height + 1, 64)
            except LogUnavailable:
                await asyncio.sleep(0.2)
                continue
            if not blocks:
                await idle.wait()
                continue
            idle.reset()
            await self._follow_all(blocks)

    async def _follow_all(self, blocks: list[OrderedBlock]) -> None:
        """Apply consecutive blocks. A block whose root a majority published
        already (a node catching up) is committed without waiting, and this
        node's roots of such blocks are published together afterwards."""
        try:
            known = await self._io(self.log.roots_between, blocks[0].height, blocks[-1].height)
        except LogUnavailable:
            known = {}
        unpublished: list[tuple[int, bytes]] = []
        try:
            for block in blocks:
                sealed, refusals = self._execute_next(block)
                root = sealed.header.state_root
                if tally(known.get(block.height, {}), root, self.genesis) is True:
                    unpublished.append((block.height, root))
                else:
                    await self._publish(unpublished + [(block.height, root)])
                    unpublished = []
                    await self._agree(block, root)
                self._commit(block, sealed, refusals)
        finally:  # (once: a node stopping while etcd is away must not hang here)
            if unpublished:
                with contextlib.suppress(LogUnavailable):
                    await self._io(self.log.publish_roots, self.node_id, unpublished)

    async def _publish(self, roots: list[tuple[int, bytes]]) -> None:
        while True:
            try:
                await self._io(self.log.publish_roots, self.node_id, roots)
                return
            except LogUnavailable:
                await asyncio.sleep(0.2)

    def _execute_next(self, block: OrderedBlock) -> tuple[SealedBlock, dict[bytes, Refusal]]:
        height, parent = self.ordered_head()
        if block.height != height + 1 or block.parent != parent:
            self._halt(
                f"the log's block {block.height} does not follow this node's block {height} "
                "(the log was rewritten, or this node's chain is not the network's)"
            )
        return self._execute(block)

    async def _agree(self, block: OrderedBlock, root: bytes) -> None:
        """Wait until a majority published ``root`` for ``block`` (or halt)."""
        while True:
            try:
                verdict = tally(await self._io(self.log.roots, block.height), root, self.genesis)
            except LogUnavailable:
                verdict = None
                await asyncio.sleep(0.2)
            if verdict is True:
                break
            if verdict is False:
                roots = await self._io(self.log.roots, block.height)
                shown = ", ".join(f"{n}: 0x{r.hex()[:16]}" for n, r in sorted(roots.items()))
                self._halt(
                    f"block {block.height}: this node's state root 0x{root.hex()[:16]} is not "
                    f"the majority's ({shown}); the state is kept at block {block.height - 1}"
                )
            await asyncio.sleep(POLL)

    def _commit(
        self, block: OrderedBlock, sealed: SealedBlock, refusals: dict[bytes, Refusal]
    ) -> None:
        """Write an agreed block with this node's records of it, in one transaction."""
        meta = {ORDERED_HEAD: block.height.to_bytes(8, "big") + block.hash}
        for tx_hash, refusal in refusals.items():
            meta[REFUSED + tx_hash.hex()] = refusal.encode()
        self.chain.commit_sealed(sealed, meta)
        for r in sealed.receipts:
            self.accepted.discard(r.tx_hash)
        self.accepted.difference_update(refusals)

    def _execute(self, block: OrderedBlock) -> tuple[SealedBlock, dict[bytes, Refusal]]:
        """Run an ordered block's transactions; the invalid ones are skipped
        with their reason (every node skips the same ones)."""
        builder = self.chain.begin_block(block.timestamp, block.proposer)
        refusals: dict[bytes, Refusal] = {}
        decoded: list[tuple[int, Transaction]] = []
        for index, raw in enumerate(block.transactions):
            try:
                decoded.append((index, Transaction.decode(raw)))
            except DecodeError as exc:
                refusals[_raw_hash(raw)] = Refusal(block.height, index, "malformed", str(exc))
        results = builder.apply_all([tx for _, tx in decoded], self.signatures)
        for (index, tx), result in zip(decoded, results, strict=True):
            if isinstance(result, InvalidTransaction):
                refusals.setdefault(
                    tx.hash,
                    Refusal(
                        block.height,
                        index,
                        result.code,
                        str(result).removesuffix(f" [{result.code}]"),
                    ),
                )
        return builder.seal(), refusals

    def _halt(self, message: str) -> None:
        self.halted = message
        with contextlib.suppress(LogUnavailable):
            self.log.report_halt(self.node_id, message)
        raise NodeHalted(message)

    async def _cutter(self) -> None:
        lease = None
        keeper = None
        try:
            while True:
                if not self.is_cutter:
                    lease = await self._campaign()
                    if lease is None:
                        await asyncio.sleep(LEASE_TTL / 4)
                        continue
                    keeper = asyncio.create_task(self._keep(lease))
                    idle = Backoff(self.block_time, max(self.block_time, IDLE_POLL))
                await idle.wait()
                if self.is_cutter:
                    with contextlib.suppress(LogUnavailable):
                        if await self._cut():
                            idle.reset()
        finally:
            if keeper is not None:
                keeper.cancel()
            if lease is not None and self.is_cutter:
                with contextlib.suppress(Exception):
                    self.log.revoke(lease)  # hand over at once on a clean stop

    async def _campaign(self) -> int | None:
        try:
            lease = await self._io(self.log.grant_lease, LEASE_TTL)
            if await self._io(self.log.campaign, self.cutter_id, lease):
                self.is_cutter = True
                print(f"deed node {self.node_id}: cutting blocks", file=sys.stderr, flush=True)
                return lease
            await self._io(self.log.revoke, lease)
        except LogUnavailable:
            pass
        return None

    async def _keep(self, lease: int) -> None:
        """Refresh the lease; losing it, or etcd for half its TTL, ends the term.
        (A cutter that goes on anyway cannot write: a block's compare-and-swap
        requires the cutter key to hold its id.)"""
        last = time.monotonic()
        while self.is_cutter:
            await asyncio.sleep(LEASE_TTL / 4)
            try:
                if not await self._io(self.log.keep_alive, lease):
                    break
                last = time.monotonic()
            except LogUnavailable:
                if time.monotonic() - last > LEASE_TTL / 2:
                    break
        self.is_cutter = False

    async def _cut(self) -> bool:
        """Cut one block of pending transactions, if this node is up to date;
        False: nothing was waiting."""
        last = await self._io(self.log.last_block)
        height, parent = self.ordered_head()
        if (last.height if last else 0) != height:
            return True  # the follower has blocks to apply first
        pending = await self._io(self.log.pending, MAX_BLOCK_TRANSACTIONS)
        chosen, done = self._choose(pending)
        if done:
            for h in done:
                self.first_seen.pop(h, None)
            await self._io(self.log.remove_pending, done)
        if not chosen:
            return bool(pending)
        parent_time = last.timestamp if last else self.chain.block_header(0).timestamp
        block = OrderedBlock(
            height + 1,
            max(int(self.wall_clock()), parent_time),
            parent,
            self.proposer,
            tuple(p.raw for p in chosen),
        )
        if await self._io(self.log.append, block, self.cutter_id):
            included = [p.tx_hash for p in chosen]
            for h in included:
                self.first_seen.pop(h, None)
            await self._io(self.log.remove_pending, included)
        return True

    def _choose(self, pending: list[Pending]) -> tuple[list[Pending], list[bytes]]:
        """Which pending transactions go in the next block, in order, and which
        are done already (in a block: to delete). A transaction whose nonce
        is ahead of its sender's waits up to FUTURE_WAIT for the ones before."""
        now = time.monotonic()
        done, candidates = [], []
        for p in pending:
            if self.chain.receipt(p.tx_hash) is not None or self.refusal(p.tx_hash) is not None:
                done.append(p.tx_hash)
            else:
                candidates.append(p)
        by_sender: dict[bytes, list[tuple[int, Pending]]] = {}
        unreadable = []
        for p in candidates:
            try:
                tx = Transaction.decode(p.raw)
            except DecodeError:
                unreadable.append(p)  # ordered anyway: every node records why it is skipped
                continue
            by_sender.setdefault(tx.sender, []).append((tx.nonce, p))
        chosen = list(unreadable)
        for sender, txs in by_sender.items():
            expected = self.chain.nonce(crypto.address_of(sender))
            for nonce, p in sorted(txs, key=lambda t: (t[0], t[1].revision)):
                waited = now - self.first_seen.setdefault(p.tx_hash, now)
                if nonce <= expected or waited > FUTURE_WAIT:
                    chosen.append(p)
                    expected = max(expected, nonce + 1)
        chosen.sort(key=lambda p: p.revision)
        # the same sender's in nonce order, in the places its transactions hold
        return _fit(_nonce_ordered(chosen)), done


class Backoff:
    """Sleeps between looks at the log: ``fastest`` while something came in
    the last ``patience`` seconds, then doubling up to ``slowest`` (an idle
    node then costs little CPU; the first block after a pause waits at most
    ``slowest`` longer to be seen)."""

    def __init__(
        self, fastest: float = POLL, slowest: float = IDLE_POLL, patience: float = 1.0
    ) -> None:
        self.fastest, self.slowest, self.patience = fastest, slowest, patience
        self.reset()

    def reset(self) -> None:
        self.delay = self.fastest
        self.since = time.monotonic()

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        if time.monotonic() - self.since > self.patience:
            self.delay = min(self.slowest, self.delay * 2)


def _nonce_ordered(chosen: list[Pending]) -> list[Pending]:
    slots: dict[bytes, list[int]] = {}
    keyed: dict[bytes, list[tuple[int, int, Pending]]] = {}
    for i, p in enumerate(chosen):
        try:
            tx = Transaction.decode(p.raw)
        except DecodeError:
            continue
        slots.setdefault(tx.sender, []).append(i)
        keyed.setdefault(tx.sender, []).append((tx.nonce, p.revision, p))
    out = list(chosen)
    for sender, places in slots.items():
        for place, (_, _, p) in zip(
            places, sorted(keyed[sender], key=lambda t: t[:2]), strict=True
        ):
            out[place] = p
    return out


def _fit(chosen: list[Pending]) -> list[Pending]:
    """As many as fit in one ordered block (count, bytes and gas)."""
    out, size, gas = [], 0, 0
    for p in chosen[:MAX_BLOCK_TRANSACTIONS]:
        try:
            tx_gas = Transaction.decode(p.raw).gas_limit
        except DecodeError:
            tx_gas = 0
        if size + len(p.raw) > MAX_BLOCK_BYTES or gas + tx_gas > LIMITS.max_block_gas:
            break
        out.append(p)
        size += len(p.raw) + 8
        gas += tx_gas
    return out


def _raw_hash(raw: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(raw).digest()
