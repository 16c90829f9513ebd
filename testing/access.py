"""What an :class:`~deed.testing.env.Env` needs of a chain, wherever it is.

Two implementations: :class:`~deed.testing.inprocess.InProcess`, a chain in
memory that the test owns (every cheat works), and
:class:`~deed.testing.remote.OverRpc`, a running node reached over JSON-RPC
(``pytest --rpc URL``), where only what the node offers works. ``Env``
writes deploy, contract calls, expected reverts, events and the gas record
once, against this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deed.vm.chain import CallResult, Receipt
from deed.vm.crypto import KeyPair


class NotOnThisNode(Exception):
    """The test asked for something the chain it runs on cannot do (a cheat
    of the in-memory chain or of a development node, on a node that has none)."""


@dataclass(frozen=True)
class Outgoing:
    """One transaction to send: from ``sender`` (signed with ``key``; None:
    impersonated, which only an in-memory chain can do)."""

    sender: bytes
    key: KeyPair | None
    to: bytes | None
    value: int
    gas: int
    gas_price: int
    data: bytes


@dataclass(frozen=True)
class Sent:
    """A transaction's receipt (its log values decoded) and its intrinsic gas:
    the part of ``gas_used`` that carrying it cost, before any execution."""

    receipt: Receipt
    intrinsic_gas: int


@dataclass(frozen=True)
class EmittedLog:
    """One committed or pending event of a contract, its values decoded."""

    address: bytes
    event: str
    values: tuple


class ChainAccess(Protocol):
    where: str  # for messages: "an in-memory chain", a node's URL
    impersonates: bool  # sends as an address without its key (prank)

    def timestamp(self) -> int:
        """The time a transaction sent now runs at."""
        ...

    def height(self) -> int:
        """The height of the block a transaction sent now goes into."""
        ...

    def balance(self, address: bytes) -> int: ...
    def deal(self, address: bytes, amount: int) -> None: ...
    def send(self, tx: Outgoing) -> Sent: ...
    def call(self, to: bytes, name: str, flat: list, sender: bytes, value: int) -> CallResult: ...
    def module_at(self, address: bytes): ...
    def logs(self, address: bytes, event: str | None) -> list[EmittedLog]: ...
    def warp(self, timestamp: int) -> None: ...
    def advance(self, seconds: int) -> None: ...
    def mine(self, blocks: int) -> None: ...
    def snapshot(self) -> int: ...
    def revert(self, snapshot_id: int, keep: bool = True) -> None:
        """Back to ``snapshot_id``; ``keep``: it stays usable, else it and every
        later snapshot are dropped (an anchor is done with them)."""
        ...

    def close(self) -> None:
        """Let go of what the chain holds (a connection)."""
        ...
