"""A running node as an env's chain: ``pytest --rpc URL`` (or ``DEED_TEST_RPC``).

The node is either a development node (``deed node``: it has the ``deed_now``,
``deed_increaseTime``, ``deed_setNextBlockTimestamp``, ``deed_mine``,
``deed_setBalance``, ``deed_snapshot`` and ``deed_revert`` methods) or a node
of a network, whose blocks are ordered elsewhere and which has none of them.
Which one is asked once, when the env is made (``deed_now``): the cheats
then use the development methods, or raise :class:`NotOnThisNode` saying
what they need, before anything is sent.

What works on both: transactions signed by the env's accounts (fresh keys,
funded from the faucet key that a local chain's and a network's genesis
fund), views, balances, receipts with events and gas, logs, and ``deal``
upward (a faucet transfer). A transaction is waited for until a block holds
it: a node that mines at an interval, or a network, answers ``pending``
first; one the network refused inside a block raises InvalidTransaction
with the network's reason, as a refused send does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from deed.cli.local import faucet_key
from deed.node import wire
from deed.node.client import RpcClient, RpcError, Unreachable
from deed.vm.chain import STATUS_SUCCESS, CallResult, Receipt, Transaction, intrinsic_gas
from deed.vm.codec import decode_values, encode_values, to_python_values
from deed.vm.crypto import KeyPair
from deed.vm.errors import DecodeError, InvalidTransaction
from deed.vm.module import Export, decode_module

from .access import EmittedLog, NotOnThisNode, Outgoing, Sent

ACCOUNT_FUNDS = 10**24  # what each fresh account gets from the faucet
RECEIPT_WAIT = 60.0  # seconds a transaction may stay pending before the env gives up
POLL = 0.02  # seconds between two looks for a pending transaction's receipt
NONCE_RETRIES = 8  # another sender from the faucet (a parallel run) took the nonce
MAX_LOGS = 10_000  # deed_getLogs' page
MAX_MINE = 10_000  # deed_mine's most blocks per call
TRANSFER_GAS = 100_000
# what a node without development methods answers for them
ABSENT = (-32601, -32002)


class NodeFailed(RuntimeError):
    """The node cannot be reached, or answered an error that is no outcome of
    the test's transaction (its message says which)."""


def fresh_key() -> KeyPair:
    """A new random key: an account no earlier run on the node has used."""
    return KeyPair(secrets.token_bytes(32))


class OverRpc:
    """The node at ``url``, through :class:`~deed.node.client.RpcClient`."""

    impersonates = False

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        try:
            self.client = RpcClient(url, timeout)
        except ValueError as exc:
            raise NodeFailed(f"--rpc: {exc}") from None
        self.where = f"the node at {self.client.url}"
        self.chain_id: int = self._rpc("deed_chainId")
        self.development = self._has_development_methods()
        self._modules: dict[bytes, object] = {}
        self._snapshots: list[int | None] = []  # env ids to the node's (None: used up)
        self._clock_moved = False  # since the head block: a view must see the new time

    def _has_development_methods(self) -> bool:
        try:
            self.client.call("deed_now")
        except RpcError as exc:
            if exc.code in ABSENT:
                return False
            raise NodeFailed(f"{self.where} answered deed_now: {exc.message}") from None
        except Unreachable as exc:
            raise NodeFailed(str(exc)) from None
        return True

    def close(self) -> None:
        self.client.close()

    # -- talking to the node
    def _rpc(self, method: str, *params: object) -> object:
        """``method``'s result; a refused transaction as InvalidTransaction
        (as the in-memory chain raises it), anything else as NodeFailed."""
        try:
            return self.client.call(method, *params)
        except Unreachable as exc:
            raise NodeFailed(f"{exc} (is `deed node` running there?)") from None
        except RpcError as exc:
            if exc.code == -32000 and isinstance(exc.data, dict):
                raise InvalidTransaction(str(exc.data.get("reason")), exc.message) from None
            raise NodeFailed(f"{self.where} answered {method}: {exc.message}") from None

    def _dev(self, what: str, method: str, *params: object) -> object:
        """A development method, for the cheat ``what``: NotOnThisNode on a
        node of a network; a refusal (a time in the past) as ValueError."""
        if not self.development:
            raise NotOnThisNode(
                f"{what} needs a development node (deed node); {self.where} is part of a"
                f" network (it has no {method})"
            )
        try:
            return self.client.call(method, *params)
        except Unreachable as exc:
            raise NodeFailed(f"{exc} (is `deed node` running there?)") from None
        except RpcError as exc:
            if exc.code == -32601:
                raise NotOnThisNode(f"{what} needs {method}, which {self.where} lacks") from None
            if exc.code in (-32002, -32602):
                raise ValueError(f"{what}: {exc.message}") from None
            raise NodeFailed(f"{self.where} answered {method}: {exc.message}") from None

    # -- time and blocks
    def timestamp(self) -> int:
        """A development node's clock (the next block's time); on a network,
        the head block's time (the next block is later)."""
        if self.development:
            return self._rpc("deed_now")
        return self._rpc("deed_getBlock", "latest")["timestamp"]

    def height(self) -> int:
        return self._rpc("deed_blockNumber") + 1

    def warp(self, timestamp: int) -> None:
        now = self._dev("env.warp", "deed_now")
        if timestamp < now:
            raise ValueError(
                f"cannot warp back to {timestamp} from {now}"
                " (use env.anchor() or env.revert() to go back)"
            )
        self._dev("env.warp", "deed_setNextBlockTimestamp", timestamp)
        self._clock_moved = True

    def advance(self, seconds: int) -> None:
        """The clock ``seconds`` on from ``env.timestamp``, exactly. Not
        ``deed_increaseTime``: it moves the wall-clock offset, and the node's
        clock is never before the head's time plus one, so after blocks that
        came faster than a second apart it would move the clock by less."""
        if seconds < 0:
            raise ValueError(f"cannot travel back {-seconds} seconds (use env.anchor())")
        now = self._dev("env.time_travel", "deed_now")
        self._dev("env.time_travel", "deed_setNextBlockTimestamp", now + seconds)
        self._clock_moved = True

    def mine(self, blocks: int) -> None:
        self._clock_moved = False
        while blocks > 0:
            self._dev("env.mine", "deed_mine", min(blocks, MAX_MINE))
            blocks -= MAX_MINE

    # -- accounts
    def balance(self, address: bytes) -> int:
        return self._rpc("deed_getBalance", _hex(address))

    def deal(self, address: bytes, amount: int) -> None:
        """A development node sets the balance; on a network the faucet can
        only give, so a balance goes up by a transfer and never down."""
        if self.development:
            self._dev("env.deal", "deed_setBalance", _hex(address), amount)
            self._clock_moved = False  # in a block of its own, at the node's time
            return
        has = self.balance(address)
        if amount < has:
            raise NotOnThisNode(
                f"env.deal lowering a balance (0x{address.hex()} has {has}, asked {amount})"
                f" needs a development node (deed node); {self.where} is part of a network,"
                " where the env can only give from the faucet"
            )
        if amount > has:
            self.fund({address: amount - has})

    def fund(self, gifts: dict[bytes, int]) -> None:
        """Transfer each address its amount from the faucet: all sent, then
        all waited for (a node mining at an interval puts them in one block)."""
        faucet = faucet_key()
        hashes = []
        nonce = None  # then counted here: a network's node may not count pending ones
        try:
            for address, amount in gifts.items():
                out = Outgoing(faucet.address, faucet, address, amount, TRANSFER_GAS, 0, b"")
                tx = self._submit(out, nonce)
                hashes.append(tx.hash)
                nonce = tx.nonce + 1
            receipts = [self._settled(h) for h in hashes]
        except InvalidTransaction as exc:
            hint = ""
            if exc.code == "insufficient_funds":
                hint = ": its genesis must fund deed.cli.local.faucet_key()"
            raise NodeFailed(
                f"{self.where} refused a transfer from the faucet"
                f" 0x{faucet.address.hex()} ({exc}){hint}"
            ) from None
        failed = next((r for r in receipts if not r.success), None)
        if failed is not None:
            raise NodeFailed(f"a transfer from the faucet failed: {failed.revert_reason}")

    # -- transactions and views
    def send(self, out: Outgoing) -> Sent:
        """Send and wait until a block holds it: its receipt, decoded."""
        tx = self._submit(out)
        receipt = self._settled(tx.hash)
        self._clock_moved = False  # its block is at the new time
        receipt.return_values = self._returned(out, receipt)
        return Sent(receipt, intrinsic_gas(tx))

    def _transaction(self, out: Outgoing, nonce: int) -> Transaction:
        assert out.key is not None  # Env never sends without a key here
        return Transaction(
            self.chain_id,
            nonce,
            out.key.public_key,
            out.to,
            out.value,
            out.gas,
            out.gas_price,
            out.data,
        ).signed(out.key)

    def _submit(self, out: Outgoing, nonce: int | None = None) -> Transaction:
        """Sign with ``nonce`` (None: the sender's next, as the node counts it)
        and send: the transaction sent. Signed again with the node's count when
        another sender from the same key (a parallel run) took the nonce."""
        for attempt in range(NONCE_RETRIES):
            if nonce is None:
                nonce = self._rpc("deed_getNonce", _hex(out.sender))
            tx = self._transaction(out, nonce)
            try:
                self._rpc("deed_sendTransaction", _hex(tx.encode()))
                return tx
            except InvalidTransaction as exc:
                if exc.code != "bad_nonce" or attempt == NONCE_RETRIES - 1:
                    raise
                nonce = None
        raise AssertionError("unreachable")

    def _settled(self, tx_hash: bytes) -> Receipt:
        """The receipt once a block holds the transaction; InvalidTransaction if
        the network refused it inside a block."""
        deadline = time.monotonic() + RECEIPT_WAIT
        while True:
            found = self._rpc("deed_getReceipt", _hex(tx_hash))
            if found is not None:
                return self._decoded(Receipt.from_stored(_bytes(found["raw"])))
            status = self._rpc("deed_getTransactionStatus", _hex(tx_hash))
            if status.get("status") == "rejected":
                reason = str(status.get("reason"))
                raise InvalidTransaction(reason, status.get("message") or reason)
            if time.monotonic() > deadline:
                raise NodeFailed(
                    f"{self.where} accepted 0x{tx_hash.hex()} but no block holds it"
                    f" after {RECEIPT_WAIT:g} s"
                )
            time.sleep(POLL)

    def _returned(self, out: Outgoing, receipt: Receipt) -> tuple:
        """The called function's results, from the receipt's return data."""
        if out.to is None or not receipt.success:
            return ()
        export = self._function(out.to, lambda e: e.selector == out.data[:4])
        if export is None:
            return ()
        return to_python_values(export.returns, decode_values(export.returns, receipt.return_data))

    def _function(self, address: bytes, wanted: Callable[[Export], bool]) -> Export | None:
        """The public function of the contract at ``address`` that is ``wanted``."""
        module = self.module_at(address)
        exports = module.exports if module is not None else ()
        return next((e for e in exports if not e.is_init and wanted(e)), None)

    def call(self, to: bytes, name: str, flat: list, sender: bytes, value: int) -> CallResult:
        """Run ``name`` on the head block. A node runs a call at the head's
        time, so after a warp a block is mined first, as a transaction would."""
        if self._clock_moved:
            self.mine(1)
        export = self._function(to, lambda e: e.name == name)
        if export is None:
            raise NodeFailed(
                f"{self.where} has no contract with a function {name!r} at 0x{to.hex()}"
            )
        data = export.selector + encode_values(list(export.params), flat)
        out = self._rpc("deed_call", _hex(to), _hex(data), _hex(sender), value)
        r = self._decoded(Receipt.from_stored(_bytes(out["raw"])))
        returned = ()
        if r.status == STATUS_SUCCESS:
            returned = to_python_values(
                export.returns, decode_values(export.returns, r.return_data)
            )
        return CallResult(r.status, r.gas_used, returned, r.logs, r.revert_reason, r.error)

    def module_at(self, address: bytes):
        """The module at ``address`` (kept once read; a revert forgets them all)."""
        if address not in self._modules:
            code = self._rpc("deed_getCode", _hex(address))
            try:
                self._modules[address] = None if code is None else decode_module(_bytes(code))
            except DecodeError as exc:
                raise NodeFailed(
                    f"{self.where} sent a module that does not decode: {exc}"
                ) from None
        return self._modules[address]

    # -- logs
    def logs(self, address: bytes, event: str | None) -> list[EmittedLog]:
        """Every committed log of ``address`` (of ``event``), page by page."""
        out: list[EmittedLog] = []
        seen: tuple[int, int, int] = (-1, -1, -1)
        start = 0
        while True:
            page = self._rpc("deed_getLogs", _hex(address), event, {}, start, None, MAX_LOGS)
            for g in page:
                place = (g["height"], g["tx_index"], g["log_index"])
                if place > seen:
                    seen = place
                    values = self._values(address, g["event"], _bytes(g["data"]))
                    out.append(EmittedLog(address, g["event"], values))
            if len(page) < MAX_LOGS or start == page[-1]["height"]:
                return out
            start = page[-1]["height"]

    def _decoded(self, r: Receipt) -> Receipt:
        return wire.with_decoded_logs(r, self.module_at)

    def _values(self, address: bytes, event: str, data: bytes) -> tuple:
        return wire.event_values(self.module_at(address), event, data)

    # -- snapshots
    def snapshot(self) -> int:
        self._snapshots.append(self._dev("env.snapshot", "deed_snapshot"))
        return len(self._snapshots) - 1

    def revert(self, snapshot_id: int, keep: bool = True) -> None:
        """Back to ``snapshot_id``. The node uses a snapshot up with every
        later one; kept, it is taken again at once, so it stays usable (the
        later ones cannot: the state they saved is gone from the node)."""
        if not 0 <= snapshot_id < len(self._snapshots):
            raise ValueError(f"no snapshot {snapshot_id}")
        node_id = self._snapshots[snapshot_id]
        if node_id is None:
            raise ValueError(
                f"snapshot {snapshot_id} is gone: reverting to an earlier one used it up"
                " (a node keeps no snapshot taken after the one it goes back to)"
            )
        if not self._dev("env.revert", "deed_revert", node_id):
            raise NodeFailed(f"{self.where} no longer has its snapshot {node_id}")
        self._modules.clear()  # an address may hold another contract now
        self._clock_moved = False
        later = len(self._snapshots) - snapshot_id - 1
        if keep:
            self._snapshots[snapshot_id + 1 :] = [None] * later
            self._snapshots[snapshot_id] = self._dev("env.revert", "deed_snapshot")
        else:
            del self._snapshots[snapshot_id:]


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])
