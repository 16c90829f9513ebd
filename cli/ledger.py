"""Where a command's chain is: the local chain file, or a running ``deed node``.

``--rpc URL`` (or ``DEED_RPC``) sends every command to a node over JSON-RPC
(:mod:`deed.node.rpc`); otherwise commands open the chain file directly,
writers under its lock (:mod:`.local`). Both are a :class:`Ledger`, so each
command is written once. The node's clock and ABIs are the chain file's: a
node serving a file and commands on that file agree on both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from deed.node import wire
from deed.vm.chain import (
    STATUS_SUCCESS,
    BlockHeader,
    CallResult,
    Chain,
    LogEntry,
    Receipt,
    StoredReceipt,
    Transaction,
)
from deed.vm.codec import decode_values, encode_values, to_python_values
from deed.vm.crypto import KeyPair
from deed.vm.errors import DecodeError, InvalidTransaction
from deed.vm.module import decode_module
from deed.vm.state import Account

from .abis import Abis, save
from .errors import Failure, UsageError

RECEIPT_WAIT = 120.0  # seconds a send waits for its block when the node mines at an interval
NONCE_RETRIES = 8
READ_RETRIES = 20
T = TypeVar("T")  # another command sending from the same key took the nonce: sign again


class Ledger(Protocol):
    where: str  # for messages: the file or the node's URL
    abis: Abis

    def head(self) -> BlockHeader: ...
    def account(self, address: bytes) -> Account: ...
    def module_at(self, address: bytes): ...
    def call(self, to: bytes, export, values: list, sender: bytes) -> CallResult: ...
    def submit(
        self, key: KeyPair, to: bytes | None, data: bytes, value: int, gas: int
    ) -> Receipt: ...
    def receipt(self, tx_hash: bytes) -> StoredReceipt | None: ...
    def logs(
        self,
        address: bytes,
        event: str | None,
        where: dict,
        first: int,
        last: int | None,
        limit: int,
    ) -> list[LogEntry]: ...
    def now(self) -> int: ...
    def advance(self, seconds: int) -> BlockHeader: ...
    def keep_abi(self, address: bytes, abi: dict) -> None: ...


def open_ledger(chain_file: Path, rpc: str | None) -> Ledger:
    return RpcLedger(rpc) if rpc else FileLedger(chain_file)


# --------------------------------------------------------------------------- the chain file


class FileLedger:
    """The local chain file: reads in one SQLite read transaction each, writes under the lock."""

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        self.abis = Abis(path)
        self._modules: dict[bytes, object] = {}

    def _read(self, read: Callable[[Chain], T]) -> T:
        """``read`` in one read transaction of the file; once more after a moment
        when SQLite reports the file busy (a writer's checkpoint, rarely)."""
        from .local import reading

        for attempt in range(READ_RETRIES):
            try:
                with reading(self.path) as c:
                    return read(c)
            except Failure as exc:
                if " busy" not in str(exc) or attempt == READ_RETRIES - 1:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")

    def head(self) -> BlockHeader:
        return self._read(lambda c: c.head)

    def account(self, address: bytes) -> Account:
        return self._read(lambda c: c.account(address))

    def module_at(self, address: bytes):
        found = self._modules.get(address)
        if found is None:  # deployed code never changes: kept once found
            found = self._read(lambda c: c.module_at(address))
            if found is not None:
                self._modules[address] = found
        return found

    def call(self, to: bytes, export, values: list, sender: bytes) -> CallResult:
        return self._read(lambda c: c.call(to, export.name, values, sender=sender))

    def submit(self, key: KeyPair, to: bytes | None, data: bytes, value: int, gas: int) -> Receipt:
        from .local import mine, writing

        with writing(self.path) as c:
            nonce = c.nonce(key.address)
            tx = Transaction(c.chain_id, nonce, key.public_key, to, value, gas, 1, data).signed(key)
            return mine(c, tx, key.address)

    def receipt(self, tx_hash: bytes) -> StoredReceipt | None:
        return self._read(lambda c: c.receipt(tx_hash))

    def logs(self, address, event, where, first, last, limit) -> list[LogEntry]:
        return self._read(lambda c: c.logs(address, event, where, first, last, limit))

    def now(self) -> int:
        from .local import local_now

        return self._read(local_now)

    def advance(self, seconds: int) -> BlockHeader:
        from .local import advance_clock, writing

        with writing(self.path) as c:
            return advance_clock(c, seconds, bytes(20))

    def keep_abi(self, address: bytes, abi: dict) -> None:
        save(self.path, address, abi)


# --------------------------------------------------------------------------- a node


class RpcLedger:
    """A running ``deed node``, over JSON-RPC."""

    def __init__(self, url: str):
        from deed.node.client import RpcClient

        try:
            self.client = RpcClient(url)
        except ValueError as exc:
            raise UsageError(f"--rpc: {exc}") from None
        self.where = self.client.url
        self.abis = Abis(self._abi)
        self._modules: dict[bytes, object] = {}

    def _rpc(self, method: str, *params: object) -> object:
        from deed.node.client import RpcError, Unreachable

        try:
            return self.client.call(method, *params)
        except Unreachable as exc:
            raise Failure(f"{exc} (is `deed node` running there?)") from None
        except RpcError as exc:
            if exc.code == -32000 and isinstance(exc.data, dict):
                raise InvalidTransaction(str(exc.data.get("reason")), exc.message) from None
            if exc.code == -32602:
                raise UsageError(f"{self.where}: {exc.message}") from None
            raise Failure(f"{self.where}: {exc.message}") from None

    def _abi(self, address: bytes) -> dict | None:
        found = self._rpc("deed_getAbi", _hex(address))
        return found if isinstance(found, dict) else None

    def head(self) -> BlockHeader:
        return BlockHeader.decode(_bytes(self._rpc("deed_getBlock")["raw"]))

    def account(self, address: bytes) -> Account:
        balance = self._rpc("deed_getBalance", _hex(address))
        nonce = self._rpc("deed_getNonce", _hex(address))
        return Account(balance, nonce)

    def module_at(self, address: bytes):
        if address not in self._modules:
            code = self._rpc("deed_getCode", _hex(address))
            try:
                self._modules[address] = None if code is None else decode_module(_bytes(code))
            except DecodeError as exc:
                raise Failure(f"{self.where} sent a module that does not decode: {exc}") from None
        return self._modules[address]

    def call(self, to: bytes, export, values: list, sender: bytes) -> CallResult:
        data = export.selector + encode_values(list(export.params), values)
        out = self._rpc("deed_call", _hex(to), _hex(data), _hex(sender))
        r = Receipt.from_stored(_bytes(out["raw"]))
        returned = ()
        if r.status == STATUS_SUCCESS:
            returned = to_python_values(
                export.returns, decode_values(export.returns, r.return_data)
            )
        return CallResult(r.status, r.gas_used, returned, [], r.revert_reason, r.error)

    def submit(self, key: KeyPair, to: bytes | None, data: bytes, value: int, gas: int) -> Receipt:
        chain_id = self._rpc("deed_chainId")
        for attempt in range(NONCE_RETRIES):
            nonce = self._rpc("deed_getNonce", _hex(key.address))
            tx = Transaction(chain_id, nonce, key.public_key, to, value, gas, 1, data).signed(key)
            try:
                sent = self._rpc("deed_sendTransaction", _hex(tx.encode()))
                break
            except InvalidTransaction as exc:
                if exc.code != "bad_nonce" or attempt == NONCE_RETRIES - 1:
                    raise
        if sent.get("pending"):
            found = self._wait(tx.hash)
            return found.receipt
        return self._decoded(Receipt.from_stored(_bytes(sent["raw"])))

    def _wait(self, tx_hash: bytes) -> StoredReceipt:
        deadline = time.monotonic() + RECEIPT_WAIT
        while time.monotonic() < deadline:
            found = self.receipt(tx_hash)
            if found is not None:
                return found
            status = self._rpc("deed_getTransactionStatus", _hex(tx_hash))
            if status["status"] == "rejected":  # a network's block skipped it
                raise InvalidTransaction(status["reason"], status["message"])
            time.sleep(0.05)
        raise Failure(
            f"{self.where} accepted 0x{tx_hash.hex()} but mined no block in {RECEIPT_WAIT:g} s"
        )

    def _decoded(self, r: Receipt) -> Receipt:
        return wire.with_decoded_logs(r, self.module_at)

    def _values(self, address: bytes, event: str, data: bytes) -> tuple:
        return wire.event_values(self.module_at(address), event, data)

    def receipt(self, tx_hash: bytes) -> StoredReceipt | None:
        out = self._rpc("deed_getReceipt", _hex(tx_hash))
        if out is None:
            return None
        r = self._decoded(Receipt.from_stored(_bytes(out["raw"])))
        return StoredReceipt(out["height"], out["tx_index"], r)

    def logs(self, address, event, where, first, last, limit) -> list[LogEntry]:
        json_where = {k: _hex(v) if isinstance(v, bytes) else v for k, v in (where or {}).items()}
        rows = self._rpc("deed_getLogs", _hex(address), event, json_where, first, last, limit)
        return [
            LogEntry(
                g["height"],
                g["tx_index"],
                g["log_index"],
                _bytes(g["tx_hash"]),
                _bytes(g["address"]),
                g["event"],
                self._values(_bytes(g["address"]), g["event"], _bytes(g["data"])),
            )
            for g in rows
        ]

    def now(self) -> int:
        """The node's clock; a network node has none of its own (deed_now is a
        development method): the wall clock, never before the head block."""
        from deed.node.client import RpcError

        try:
            return self.client.call("deed_now")
        except RpcError as exc:
            if exc.code != -32002:
                return self._rpc("deed_now")  # reported as any other refusal
        return max(int(time.time()), self.head().timestamp)

    def advance(self, seconds: int) -> BlockHeader:
        self._rpc("deed_increaseTime", seconds)
        return BlockHeader.decode(_bytes(self._rpc("deed_mine", 1)["raw"]))

    def keep_abi(self, address: bytes, abi: dict) -> None:
        try:
            self._rpc("deed_putAbi", _hex(address), abi)
        except (UsageError, Failure):
            pass  # only a convenience, as beside a chain file: --abi still works


def _hex(data: bytes | None) -> str | None:
    return None if data is None else "0x" + data.hex()


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])
