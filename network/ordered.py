"""What the ordering service holds: the network's genesis and its ordered
blocks (height, timestamp, parent, proposer, transactions), each encoded
canonically so that every node reads the same bytes and hashes them the same
way (spec/network.md, "The ordered log").

An ordered block is not a Deed block: it carries no state root (the
block-cutter does not wait for execution). Each node executes it into the
Deed block of the same height, whose header holds the state root the nodes
then compare.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from deed.vm.codec import Reader, Writer
from deed.vm.errors import DecodeError
from deed.vm.opcodes import LIMITS

MAX_BLOCK_TRANSACTIONS = 2_000  # in one ordered block
MAX_BLOCK_BYTES = 1 << 20  # etcd refuses requests over 1.5 MiB by default
_MAX_TX_BYTES = LIMITS.max_tx_data + 512


@dataclass(frozen=True)
class OrderedBlock:
    """One entry of the ordered log: what every node executes at ``height``."""

    height: int
    timestamp: int  # seconds; never before the parent's
    parent: bytes  # hash of the ordered block before (height 1: the genesis block's hash)
    proposer: bytes  # 20 bytes: the block-cutter's fee address
    transactions: tuple[bytes, ...]  # encoded transactions, in execution order

    def encode(self) -> bytes:
        w = Writer()
        w.uvarint(self.height)
        w.uvarint(self.timestamp)
        w.blob(self.parent)
        w.blob(self.proposer)
        w.uvarint(len(self.transactions))
        for raw in self.transactions:
            w.blob(raw)
        return w.getvalue()

    @staticmethod
    def decode(data: bytes) -> OrderedBlock:
        """The block, or DecodeError (the log holds something no node wrote)."""
        r = Reader(data)
        height = r.uvarint(1 << 63)
        timestamp = r.uvarint(1 << 63)
        parent = r.blob(32)
        proposer = r.blob(20)
        count = r.uvarint(MAX_BLOCK_TRANSACTIONS)
        transactions = tuple(r.blob(_MAX_TX_BYTES) for _ in range(count))
        r.expect_end()
        if len(parent) != 32 or len(proposer) != 20:
            raise DecodeError("an ordered block's parent has 32 bytes and its proposer 20")
        return OrderedBlock(height, timestamp, parent, proposer, transactions)

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


@dataclass(frozen=True)
class NetworkGenesis:
    """How the network starts: its chain id, genesis time, the balances of
    block 0 and the nodes whose state roots count (a majority must agree)."""

    chain_id: int
    timestamp: int
    balances: dict[bytes, int]
    nodes: tuple[str, ...]

    @property
    def quorum(self) -> int:
        """How many nodes must publish the same root for a block to be agreed."""
        return len(self.nodes) // 2 + 1

    def encode(self) -> bytes:
        """Canonical JSON (sorted keys and balances): stored once in the log."""
        shown = {
            "chain_id": self.chain_id,
            "timestamp": self.timestamp,
            "balances": {f"0x{a.hex()}": str(v) for a, v in sorted(self.balances.items())},
            "nodes": list(self.nodes),
        }
        return json.dumps(shown, sort_keys=True, separators=(",", ":")).encode()

    @staticmethod
    def decode(data: bytes) -> NetworkGenesis:
        try:
            shown = json.loads(data)
            balances = {bytes.fromhex(a[2:]): int(v) for a, v in shown["balances"].items()}
            genesis = NetworkGenesis(
                int(shown["chain_id"]),
                int(shown["timestamp"]),
                balances,
                tuple(str(n) for n in shown["nodes"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DecodeError(f"the network's genesis record is malformed: {exc}") from None
        if not genesis.nodes or any(len(a) != 20 for a in balances):
            raise DecodeError("the network's genesis record names no nodes or a bad address")
        return genesis
