"""The chain host: accounts, transactions, blocks and receipts.

This is the API a node embeds (see the README for a runnable example)::

    chain = Chain(SqliteBackend("chain.db"), chain_id=1)
    chain.genesis({alice.address: 10**18})          # once, on an empty store
    block = chain.begin_block(timestamp=1_700_000_000, proposer=alice.address)
    receipt = block.apply(tx)                         # InvalidTransaction if it cannot be included
    header = block.commit()                           # atomic; header.state_root

A transaction that cannot be included (bad signature, wrong nonce or chain,
too little balance for its gas, gas limit under the intrinsic gas, too large)
raises :class:`InvalidTransaction` and changes nothing. One that is included
always gets a receipt; if it fails, its effects are undone and only the
sender's nonce and the fee for the gas used remain.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from . import costs, crypto
from .codec import (
    Reader,
    Writer,
    blob_bytes,
    decode_values,
    encode_values,
    to_python_values,
    uvarint_bytes,
    values_encoder,
)
from .errors import (
    DecodeError,
    InvalidTransaction,
    NodeError,
    OutOfGas,
    Revert,
    StateError,
    VerificationError,
)
from .execution import (
    MODULES,
    LoadedModule,
    Log,
    ModuleCache,
    TxContext,
    load_contract,
    run_export,
)
from .module import Export, decode_module, receive_export
from .opcodes import LIMITS, SCHEDULE_VERSION
from .state import (
    ACCOUNT,
    KEEP_VERSIONS,
    STATE_ROOT_VERSION,
    Account,
    Backend,
    IndexedLog,
    IndexedReceipt,
    LogQuery,
    StashedChanges,
    StateDB,
    StateProof,
    account_key,
    merkle_root,
)
from .types import ADDRESS_SIZE
from .verifier import verify

if TYPE_CHECKING:  # sigcheck imports this module
    from .sigcheck import SignatureChecker

_SIGNING_DOMAIN = b"deed-tx-v1"

STATUS_SUCCESS = "success"
STATUS_REVERTED = "reverted"
STATUS_OUT_OF_GAS = "out_of_gas"


# --------------------------------------------------------------------------- transactions


class _computed_once:
    """``functools.cached_property`` without the lock it takes in Python 3.11
    at each first access (a transaction's body and hash are computed once per
    transaction on the hot path): the value is kept in the instance's
    ``__dict__``, so later reads are plain attribute reads. A transaction is
    immutable: computing it twice in two threads gives the same value."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@dataclass(frozen=True)
class Transaction:
    """A signed request to call a contract, deploy one (``to`` is None) or move value."""

    chain_id: int
    nonce: int
    sender: bytes  # the ed25519 public key; the account is crypto.address_of(sender)
    to: bytes | None
    value: int
    gas_limit: int
    gas_price: int
    data: bytes = b""
    signature: bytes = b""

    def signing_payload(self) -> bytes:
        return _SIGNING_DOMAIN + self._body

    @_computed_once
    def _body(self) -> bytes:
        """The fields' encoding: encoded once, for the hash and the signature check."""
        uvarint = uvarint_bytes
        return b"".join(
            (
                uvarint(self.chain_id),
                uvarint(self.nonce),
                blob_bytes(self.sender),
                blob_bytes(self.to or b""),
                uvarint(self.value),
                uvarint(self.gas_limit),
                uvarint(self.gas_price),
                blob_bytes(self.data),
            )
        )

    def encode(self) -> bytes:
        return self._body + uvarint_bytes(len(self.signature)) + self.signature

    @staticmethod
    def decode(data: bytes) -> Transaction:
        r = Reader(data)
        big = 1 << 256
        tx = Transaction(
            chain_id=r.uvarint(1 << 32),
            nonce=r.uvarint(1 << 63),
            sender=r.blob(32),
            to=r.blob(ADDRESS_SIZE) or None,
            value=r.uvarint(big),
            gas_limit=r.uvarint(1 << 63),
            gas_price=r.uvarint(big),
            data=r.blob(LIMITS.max_tx_data),
            signature=r.blob(64),
        )
        r.expect_end()
        return tx

    @_computed_once
    def hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()

    @property
    def sender_address(self) -> bytes:
        return crypto.address_of(self.sender)

    def signed(self, key: crypto.KeyPair) -> Transaction:
        if key.public_key != self.sender:
            raise ValueError("the key does not belong to the transaction's sender")
        return replace(self, signature=key.sign(self.signing_payload()))


_blob = blob_bytes


@lru_cache(maxsize=1024)
def _name_blob(name: str) -> bytes:
    """A status's or an event's name as a blob: a few names, encoded once each."""
    return blob_bytes(name.encode())


def deploy_data(module_bytes: bytes, init_args: bytes = b"") -> bytes:
    """Data of a deployment transaction: the module, then the encoded init arguments."""
    w = Writer()
    w.blob(module_bytes)
    w.raw(init_args)
    return w.getvalue()


def contract_address(deployer: bytes, nonce: int) -> bytes:
    """Deterministic address of a contract deployed by ``deployer`` at ``nonce``."""
    return hashlib.sha256(b"deed-contract" + deployer + nonce.to_bytes(8, "big")).digest()[-20:]


def intrinsic_gas(tx: Transaction) -> int:
    return costs.intrinsic(len(tx.data), tx.to is None)


#: Python frames one transaction can use at most: every VM frame (internal or
#: external call) takes at most six on the slowest engine, plus host calls.
_PYTHON_FRAMES_NEEDED = LIMITS.max_frames * 6 + 100


def check_form(tx: Transaction, chain_id: int) -> int:
    """Check what a transaction says of itself (chain, field sizes, intrinsic
    gas), before any state: its intrinsic gas, or InvalidTransaction. A block
    checks it first; a node of a network checks it before ordering."""
    if tx.chain_id != chain_id:
        raise InvalidTransaction(
            "wrong_chain", f"transaction for chain {tx.chain_id}, this is chain {chain_id}"
        )
    if len(tx.sender) != crypto.PUBLIC_KEY_SIZE:
        raise InvalidTransaction("bad_sender", "the sender must be a 32-byte ed25519 public key")
    if tx.to is not None and len(tx.to) != ADDRESS_SIZE:
        raise InvalidTransaction("bad_recipient", "a recipient address has 20 bytes")
    if len(tx.data) > LIMITS.max_tx_data:
        raise InvalidTransaction("too_large", f"transaction data over {LIMITS.max_tx_data} bytes")
    if min(tx.value, tx.gas_limit, tx.gas_price, tx.nonce) < 0:
        raise InvalidTransaction("negative", "negative value, gas or nonce")
    intrinsic = intrinsic_gas(tx)
    if tx.gas_limit < intrinsic:
        raise InvalidTransaction(
            "intrinsic_gas", f"gas limit {tx.gas_limit} is under the intrinsic gas {intrinsic}"
        )
    return intrinsic


def _ensure_stack_headroom() -> None:
    """Make the outcome independent of how deep the host's own stack is: a
    transaction never meets Python's recursion limit, whoever calls it."""
    limit = sys.getrecursionlimit()
    probe = limit - _PYTHON_FRAMES_NEEDED
    if probe > 0:
        try:
            sys._getframe(probe)
        except ValueError:
            return  # the stack is shallower than that: room enough
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    if depth + _PYTHON_FRAMES_NEEDED > limit:
        sys.setrecursionlimit(depth + _PYTHON_FRAMES_NEEDED)


# --------------------------------------------------------------------------- receipts and blocks


@dataclass
class Receipt:
    tx_hash: bytes
    status: str
    gas_used: int
    return_data: bytes = b""
    return_values: tuple = ()
    logs: list[Log] = field(default_factory=list)
    revert_reason: str | None = None
    error: tuple | None = None  # (error name, field values) for typed errors
    contract_address: bytes | None = None
    # who sent it and to whom (None: a deployment): kept in the node's index, not hashed
    sender: bytes | None = None
    to: bytes | None = None

    @property
    def success(self) -> bool:
        return self.status == STATUS_SUCCESS

    def encode(self) -> bytes:
        """The receipt's canonical encoding (hashed into the receipts root)."""
        logs = self.logs
        parts = [
            _blob(self.tx_hash),
            _name_blob(self.status),
            uvarint_bytes(self.gas_used),
            _blob(self.return_data),
            uvarint_bytes(len(logs)),
        ]
        for log in logs:
            parts += (_blob(log.address), _name_blob(log.event), _blob(log.data))
        parts += (_blob((self.revert_reason or "").encode()), _blob(self.contract_address or b""))
        return b"".join(parts)

    def stored(self, encoded: bytes | None = None) -> bytes:
        """What the node's receipt index keeps: the canonical encoding (``encoded``,
        when the caller has it already), then a typed error's name and field
        values, the sender's address and the recipient (node-local, not hashed)."""
        parts = [_blob(self.encode() if encoded is None else encoded)]
        if self.error:
            name, values = self.error
            parts += (_blob(name.encode()), uvarint_bytes(len(values)))
            for v in values:
                tag, raw = _host_value(v)
                parts.append(_blob(tag + raw))
        else:
            parts.append(b"\x00\x00")  # no error: an empty name, no values
        parts += (_blob(self.sender or b""), _blob(self.to or b""))
        return b"".join(parts)

    @staticmethod
    def from_stored(data: bytes) -> Receipt:
        """A receipt read back from the index; its logs carry their encoded
        data (``Chain.receipt`` decodes their values with the event's types)."""
        r = Reader(data)
        body = Reader(r.blob(1 << 32))
        receipt = Receipt(
            body.blob(32),
            body.blob(64).decode(),
            body.uvarint(1 << 63),
            body.blob(1 << 32),
        )
        for _ in range(body.uvarint(1 << 32)):
            address, event, log_data = (
                body.blob(20),
                body.blob(1 << 16).decode(),
                body.blob(1 << 32),
            )
            receipt.logs.append(Log(address, event, (), log_data))
        receipt.revert_reason = body.blob(1 << 32).decode() or None
        receipt.contract_address = body.blob(20) or None
        body.expect_end()
        name = r.blob(1 << 16).decode()
        values = tuple(_host_from(r.blob(1 << 32)) for _ in range(r.uvarint(1 << 16)))
        receipt.error = (name, values) if name else None
        if r.remaining():  # an index written before receipts named their parties has none
            receipt.sender = r.blob(ADDRESS_SIZE) or None
            receipt.to = r.blob(ADDRESS_SIZE) or None
        r.expect_end()
        return receipt


@dataclass(frozen=True)
class StoredReceipt:
    """A committed transaction's receipt and where it landed."""

    height: int
    tx_index: int
    receipt: Receipt


def _host_value(v: object) -> tuple[bytes, bytes]:
    """A typed error's field value, tagged (it is kept without its types)."""
    if isinstance(v, bool):
        return b"t", b"\x01" if v else b"\x00"
    if isinstance(v, int):
        return b"i", str(v).encode()
    if isinstance(v, str):
        return b"s", v.encode()
    return b"b", bytes(v)


def _host_from(raw: bytes) -> object:
    tag, body = raw[:1], raw[1:]
    if tag == b"t":
        return body == b"\x01"
    if tag == b"i":
        return int(body.decode())
    if tag == b"s":
        return body.decode()
    return body


@dataclass(frozen=True)
class BlockHeader:
    height: int
    timestamp: int
    parent_hash: bytes
    proposer: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    gas_used: int

    def encode(self) -> bytes:
        w = Writer()
        w.uvarint(self.height)
        w.uvarint(self.timestamp)
        for b in (
            self.parent_hash,
            self.proposer,
            self.state_root,
            self.transactions_root,
            self.receipts_root,
        ):
            w.blob(b)
        w.uvarint(self.gas_used)
        return w.getvalue()

    @staticmethod
    def decode(data: bytes) -> BlockHeader:
        r = Reader(data)
        h = BlockHeader(
            r.uvarint(1 << 63),
            r.uvarint(1 << 63),
            r.blob(32),
            r.blob(20),
            r.blob(32),
            r.blob(32),
            r.blob(32),
            r.uvarint(1 << 63),
        )
        r.expect_end()
        return h

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


@dataclass(frozen=True)
class LogEntry:
    """A committed log, from the node's log index (``Chain.logs``)."""

    height: int
    tx_index: int
    log_index: int
    tx_hash: bytes
    address: bytes
    event: str
    values: tuple


@dataclass(frozen=True)
class CallResult:
    """Outcome of a read-only call: nothing it did is kept."""

    status: str
    gas_used: int
    return_values: tuple = ()
    logs: list[Log] = field(default_factory=list)
    revert_reason: str | None = None
    error: tuple | None = None

    @property
    def success(self) -> bool:
        return self.status == STATUS_SUCCESS


# --------------------------------------------------------------------------- the chain


class Chain:
    """A chain over one state backend. Not thread-safe: one writer at a time."""

    def __init__(
        self,
        backend: Backend,
        chain_id: int = 1,
        check_signatures: bool = True,
        modules: ModuleCache | None = None,
        keep_versions: int | None = KEEP_VERSIONS,
    ):
        """``keep_versions``: how many recent blocks' state trees stay provable
        (older stale tree nodes are pruned as blocks commit; None keeps all)."""
        self.backend = backend
        self.chain_id = chain_id
        self.check_signatures = check_signatures
        self.state = StateDB(backend, keep_versions)
        self.modules = modules or MODULES
        self._building: BlockBuilder | None = None
        head = backend.get_meta("head")
        self.head: BlockHeader | None = BlockHeader.decode(head) if head else None
        if self.head is not None:
            schedule = backend.get_meta("gas_schedule")
            version = int(schedule) if schedule else 1
            if version != SCHEDULE_VERSION:
                raise StateError(
                    f"this chain was built under gas schedule {version}; this VM runs "
                    f"schedule {SCHEDULE_VERSION} and would not reproduce its history"
                )
            stored = backend.get_meta("state_root_version")
            roots = int(stored) if stored else 1
            if roots != STATE_ROOT_VERSION:
                raise StateError(
                    f"this chain's state roots are of version {roots}; this VM computes "
                    f"version {STATE_ROOT_VERSION} and cannot open it (chains are not migrated)"
                )

    # -- genesis and reading
    def genesis(self, balances: dict[bytes, int], timestamp: int = 0) -> BlockHeader:
        """Create block 0 with these balances. Only on an empty store."""
        if self.head is not None:
            raise StateError("the chain already has a genesis block")
        for address, amount in sorted(balances.items()):
            self.state.add_balance(address, amount)
        header = BlockHeader(
            0,
            timestamp,
            bytes(32),
            bytes(20),
            self.state.state_root(),
            merkle_root([]),
            merkle_root([]),
            0,
        )
        self._commit(header)
        return header

    def account(self, address: bytes) -> Account:
        return self.state.account(address)

    def balance(self, address: bytes) -> int:
        return self.state.balance(address)

    def nonce(self, address: bytes) -> int:
        return self.state.account(address).nonce

    def state_root(self) -> bytes:
        return self.state.state_root()

    def prove(self, key: bytes, height: int | None = None) -> StateProof:
        """Proof of the state entry ``key`` (or of its absence) against the
        state root of block ``height`` (the head by default), while that
        block's state tree is kept; check it with :func:`deed.vm.proof.verify`."""
        if self.head is None:
            raise StateError("no genesis block: nothing to prove")
        height = self.head.height if height is None else height
        if not 0 <= height <= self.head.height:
            raise StateError(f"no block at height {height} (the head is {self.head.height})")
        return self.state.prove(key, height)

    def module_at(self, address: bytes):
        """The verified module deployed at ``address`` (None if it holds no code)."""
        acc = self.state.account(address)
        if not acc.code_hash:
            return None
        return self.modules.get(acc.code_hash, self.state.code(acc.code_hash), self.backend).module

    def export(self, address: bytes, name: str) -> Export:
        module = self.module_at(address)
        if module is None:
            raise ValueError("no contract at this address")
        for e in module.exports:
            if e.name == name and not e.is_init:
                return e
        raise ValueError(f"the contract has no function {name!r}")

    def encode_call(self, address: bytes, name: str, args: list | tuple = ()) -> bytes:
        """Call data for ``name(args)`` of the contract at ``address``, from its export table."""
        e = self.export(address, name)
        return e.selector + encode_values(e.params, list(args))

    # -- blocks
    def begin_block(self, timestamp: int, proposer: bytes = bytes(20)) -> BlockBuilder:
        if self.head is None:
            raise StateError("no genesis block: call genesis() first")
        if self._building is not None:
            raise StateError("a block is already being built")
        if timestamp < self.head.timestamp:
            raise StateError("a block's timestamp cannot be before its parent's")
        self.modules.begin_block()
        self._building = BlockBuilder(self, self.head.height + 1, timestamp, proposer)
        return self._building

    def commit_sealed(self, sealed: SealedBlock, meta: dict[str, bytes] | None = None) -> None:
        """Write a block made by :meth:`BlockBuilder.seal` (with ``meta``, as
        :meth:`BlockBuilder.commit`); it must still extend the head."""
        if self._building is not None:
            raise StateError("a block is being built: commit or abandon it first")
        if self.head is None or sealed.header.parent_hash != self.head.hash:
            raise StateError("the sealed block does not extend this chain's head")
        self.state.restore(sealed.changes)
        self._commit(sealed.header, sealed.writes, sealed.logs, sealed.indexed_receipts, meta)

    def _commit(
        self,
        header: BlockHeader,
        writes: dict[bytes, bytes | None] | None = None,
        logs: list[IndexedLog] | None = None,
        receipts: list[IndexedReceipt] | None = None,
        extra_meta: dict[str, bytes] | None = None,
    ) -> None:
        encoded = header.encode()
        meta = dict(extra_meta or {})
        meta |= {"head": encoded, f"block:{header.height}": encoded}
        if header.height == 0:
            meta["gas_schedule"] = str(SCHEDULE_VERSION).encode()
            meta["state_root_version"] = str(STATE_ROOT_VERSION).encode()
        self.state.commit(meta, writes, logs, receipts, version=header.height)
        self.head = header

    def apply_alone(self, tx: Transaction, timestamp: int, proposer: bytes = bytes(20)) -> Receipt:
        """Mine ``tx`` in a block of its own (a development node's way): its
        receipt, or InvalidTransaction with the block abandoned and nothing kept."""
        block = self.begin_block(timestamp, proposer)
        try:
            receipt = block.apply(tx)
        except BaseException:
            block.abandon()
            raise
        block.commit()
        return receipt

    # -- the receipt index
    def receipt(self, tx_hash: bytes) -> StoredReceipt | None:
        """The receipt of a committed transaction (None: not in any block this
        node committed), with its logs' values decoded."""
        get = getattr(self.backend, "get_receipt", None)
        if get is None:
            raise StateError("this state backend keeps no receipt index")
        row = get(tx_hash)
        if row is None:
            return None
        receipt = Receipt.from_stored(row.data)
        receipt.logs = [self._decoded_log(log) for log in receipt.logs]
        return StoredReceipt(row.height, row.tx_index, receipt)

    def _decoded_log(self, log: Log) -> Log:
        types = tuple(f.type for f in self._event_def(log.address, log.event).fields)
        return Log(
            log.address,
            log.event,
            to_python_values(types, decode_values(types, log.data)),
            log.data,
        )

    # -- the log index
    def logs(
        self,
        address: bytes | None = None,
        event: str | None = None,
        where: dict[str, object] | None = None,
        from_height: int = 0,
        to_height: int | None = None,
        limit: int = 1000,
    ) -> list[LogEntry]:
        """Committed logs, in chain order, by contract, event and the values of
        indexed fields (``where``: field name to host value; it needs the
        contract and the event, and every field named must be indexed)."""
        pairs: list[tuple[str, bytes]] = []
        if where:
            if address is None or event is None:
                raise ValueError("querying by field values needs the contract and the event")
            fields = {f.name: f for f in self._event_def(address, event).fields}
            for name, value in where.items():
                f = fields.get(name)
                if f is None or not f.indexed:
                    indexed = ", ".join(n for n, g in fields.items() if g.indexed) or "none"
                    raise ValueError(
                        f"{event} has no indexed field {name!r} (its indexed fields: {indexed})"
                    )
                pairs.append((name, encode_values((f.type,), [value])))
        q = LogQuery(address, event, tuple(pairs), from_height, to_height, limit)
        query = getattr(self.backend, "query_logs", None)
        if query is None:
            raise StateError("this state backend keeps no log index")
        return [self._log_entry(g) for g in query(q)]

    def _event_def(self, address: bytes, event: str):
        module = self.module_at(address)
        if module is None:
            raise ValueError("no contract at this address")
        for e in module.events:
            if e.name == event:
                return e
        raise ValueError(f"the contract has no event {event!r}")

    def _log_entry(self, g: IndexedLog) -> LogEntry:
        types = tuple(f.type for f in self._event_def(g.address, g.event).fields)
        values = to_python_values(types, decode_values(types, g.data))
        return LogEntry(g.height, g.tx_index, g.log_index, g.tx_hash, g.address, g.event, values)

    def _indexed_logs(self, height: int, receipts: list[Receipt]) -> list[IndexedLog]:
        """A block's logs for the index, with the values of their indexed fields
        (which fields: the event table of the emitting module)."""
        out = []
        # each (contract, event name)'s field count and indexed fields (position,
        # name, encoder), looked up once a block: the state does not change
        # while the block is committed
        events: dict[tuple[bytes, str], tuple[int, tuple]] = {}
        for tx_index, r in enumerate(receipts):
            for log_index, log in enumerate(r.logs):
                which = (log.address, log.event)
                ev = events.get(which)
                if ev is None:
                    fields = self._event_def(log.address, log.event).fields
                    indexed = tuple(
                        (i, f.name, values_encoder((f.type,)))
                        for i, f in enumerate(fields)
                        if f.indexed
                    )
                    ev = events[which] = (len(fields), indexed)
                count, indexed = ev
                values = log.values
                if len(values) != count:  # never from the VM (emit checks the count)
                    raise ValueError(f"a {log.event} log has {len(values)} values, not {count}")
                topics = tuple((name, encode((values[i],))) for i, name, encode in indexed)
                out.append(
                    IndexedLog(
                        height,
                        tx_index,
                        log_index,
                        r.tx_hash,
                        log.address,
                        log.event,
                        log.data,
                        topics,
                    )
                )
        return out

    def block_header(self, height: int) -> BlockHeader | None:
        data = self.backend.get_meta(f"block:{height}")
        return BlockHeader.decode(data) if data else None

    # -- read-only calls
    def call(
        self,
        to: bytes,
        name: str,
        args: list | tuple = (),
        sender: bytes = bytes(20),
        value: int = 0,
        gas_limit: int = 10_000_000,
    ) -> CallResult:
        """Run ``name(args)`` on the current state and undo everything it did."""
        export = self.export(to, name)
        # host values (str, bool) into VM values, checked against the export's types
        args = decode_values(export.params, encode_values(export.params, list(args)))
        height = self.head.height + 1 if self.head else 0
        timestamp = (
            self._building.timestamp
            if self._building
            else (self.head.timestamp if self.head else 0)
        )
        state = self.state
        mark = state.checkpoint()
        # as a transaction's envelope: the sender and the contract are accessed already
        tx = TxContext(
            state,
            height,
            timestamp,
            sender,
            self.modules,
            dict.fromkeys((ACCOUNT + sender, ACCOUNT + to)),
            self.chain_id,
        )
        _ensure_stack_headroom()
        try:
            if value:
                state.add_balance(sender, value)  # a simulation may send value it does not have
            gas, loaded = load_contract(tx, gas_limit, to)
            gas, _, values = run_top_level(tx, gas, loaded, export, sender, to, value, args)
            return CallResult(STATUS_SUCCESS, gas_limit - gas, values, list(tx.logs))
        except Revert as exc:
            return CallResult(STATUS_REVERTED, gas_limit - exc.gas, (), [], exc.message, exc.error)
        except OutOfGas:
            return CallResult(STATUS_OUT_OF_GAS, gas_limit)
        except Exception as exc:
            raise NodeError(None, exc) from exc
        finally:
            state.revert_to(mark)


def run_top_level(
    ctx: TxContext,
    gas: int,
    loaded,
    export: Export,
    sender: bytes,
    to: bytes,
    value: int,
    args: tuple,
) -> tuple[int, bytes, tuple]:
    """Run an export as a transaction does (a read-only call the same way, so
    its gas is the transaction's less the intrinsic gas): the arguments were
    decoded against the export's types already; the encoded return data is
    paid for, as the receipt keeps it. Returns (gas left, data, host values)."""
    result = run_export(ctx, gas, loaded, export, sender, to, value, args, False, True)
    codec = loaded.codec(export)
    values = result[1:]
    data = codec.encode_returns(values)
    gas = result[0] - costs.return_data(len(data))
    if gas < 0:
        raise OutOfGas()
    return gas, data, codec.returns_to_python(values)


class BlockBuilder:
    """Applies transactions to a block in progress; ``commit`` makes it final."""

    def __init__(self, chain: Chain, height: int, timestamp: int, proposer: bytes):
        self.chain = chain
        self.height = height
        self.timestamp = timestamp
        self.proposer = proposer
        self.receipts: list[Receipt] = []
        self.tx_hashes: list[bytes] = []
        self.gas_used = 0
        self.closed = False
        # the caller (frame, recursion limit) whose stack headroom was checked last:
        # a node applies a block's transactions from one loop, so this checks once
        self._checked_caller: tuple | None = None
        # the signature verdict of the transaction being applied, when apply_all
        # had it checked ahead (in a worker process); None: check it here
        self._verdict: bool | None = None

    def _headroom(self) -> None:
        caller = (sys._getframe(2), sys.getrecursionlimit())
        if caller != self._checked_caller:
            _ensure_stack_headroom()
            self._checked_caller = (caller[0], sys.getrecursionlimit())

    def apply(self, tx: Transaction) -> Receipt:
        """Include ``tx``: a receipt, or InvalidTransaction with nothing changed.

        Atomic: if anything but the transaction's own outcome goes wrong (a
        fault of the node, its storage or the VM), everything it did is
        undone, nonce and fee included, NodeError names it, and this block
        stays usable."""
        if self.closed:
            raise StateError("this block is already committed or abandoned")
        try:
            sender, intrinsic, acc = self._validate(tx)
        except InvalidTransaction:
            raise
        except Exception as exc:  # reading the state failed: nothing was written
            raise NodeError(tx.hash, exc) from exc
        state = self.chain.state
        before = None
        try:
            self._headroom()
            before = state.checkpoint()
            receipt = self._execute(tx, sender, intrinsic, acc)
        except BaseException as exc:
            if before is not None:
                state.revert_to(before)
            if isinstance(exc, Exception):
                raise NodeError(tx.hash, exc) from exc
            raise  # KeyboardInterrupt, SystemExit: undone, and passed on
        self.gas_used += receipt.gas_used
        self.receipts.append(receipt)
        self.tx_hashes.append(receipt.tx_hash)
        return receipt

    def apply_all(
        self, txs: Sequence[Transaction], checker: SignatureChecker | None = None
    ) -> list[Receipt | InvalidTransaction]:
        """Apply ``txs`` in order: each one's receipt, or the InvalidTransaction
        that refused it (nothing changed for that one). ``checker`` verifies
        the signatures (:mod:`deed.vm.sigcheck`: a worker process runs ahead of
        execution); the outcome is the same as ``apply`` one by one."""
        out: list[Receipt | InvalidTransaction] = []
        if checker is None or not self.chain.check_signatures:
            verdicts: Iterable[bool | None] = itertools.repeat(None)
        else:
            verdicts = checker.verdicts(txs)
        for tx, verdict in zip(txs, verdicts, strict=False):  # repeat() is endless
            self._verdict = verdict
            try:
                out.append(self.apply(tx))
            except InvalidTransaction as exc:
                out.append(exc)
            finally:
                self._verdict = None
        return out

    def _execute(self, tx: Transaction, sender: bytes, intrinsic: int, acc: Account) -> Receipt:
        """Buy the gas, run the transaction, refund and pay the proposer
        (``acc``: the sender's account, as ``_validate`` read it)."""
        chain = self.chain
        state = chain.state
        to = tx.to
        # Nonce and the gas purchase stay even if the transaction fails.
        state.set_account(
            sender, Account(acc.balance - tx.gas_limit * tx.gas_price, acc.nonce + 1, acc.code_hash)
        )
        mark = state.checkpoint()
        # the envelope read these already (its intrinsic gas paid for them)
        accessed = dict.fromkeys((ACCOUNT + sender, ACCOUNT + self.proposer))
        if to is not None:
            accessed[ACCOUNT + to] = None
        ctx = TxContext(
            state, self.height, self.timestamp, sender, chain.modules, accessed, chain.chain_id
        )
        receipt = Receipt(tx.hash, STATUS_SUCCESS, 0, sender=sender, to=to)
        gas = tx.gas_limit - intrinsic
        try:
            if to is None:
                gas = self._deploy(ctx, gas, tx, sender, acc.nonce, receipt)
            else:
                gas = self._call(ctx, gas, tx, sender, receipt)
            receipt.logs = ctx.logs
            receipt.gas_used = tx.gas_limit - gas
        except Revert as exc:
            state.revert_to(mark)
            receipt.status = STATUS_REVERTED
            receipt.revert_reason = exc.message
            receipt.error = exc.error
            receipt.gas_used = tx.gas_limit - exc.gas
            receipt.contract_address = None
            receipt.return_data, receipt.return_values = b"", ()
        except OutOfGas:
            state.revert_to(mark)
            receipt.status = STATUS_OUT_OF_GAS
            receipt.revert_reason = "out of gas"
            receipt.gas_used = tx.gas_limit
            receipt.contract_address = None
            receipt.return_data, receipt.return_values = b"", ()
        refund = (tx.gas_limit - receipt.gas_used) * tx.gas_price
        if refund:
            state.add_balance(sender, refund)
        fee = receipt.gas_used * tx.gas_price
        if fee:
            state.add_balance(self.proposer, fee)
        return receipt

    def _validate(self, tx: Transaction) -> tuple[bytes, int, Account]:
        """The sender's address, the intrinsic gas and the sender's account,
        or InvalidTransaction."""
        chain = self.chain
        intrinsic = check_form(tx, chain.chain_id)
        if self.gas_used + tx.gas_limit > LIMITS.max_block_gas:
            raise InvalidTransaction("block_full", "the block has no room for this gas limit")
        sender = self._sender(tx)
        acc = chain.state.account(sender)
        if tx.nonce != acc.nonce:
            raise InvalidTransaction(
                "bad_nonce", f"nonce {tx.nonce}, the account expects {acc.nonce}"
            )
        if acc.balance < tx.value + tx.gas_limit * tx.gas_price:
            raise InvalidTransaction(
                "insufficient_funds", "balance below value + gas limit x gas price"
            )
        return sender, intrinsic, acc

    def _sender(self, tx: Transaction) -> bytes:
        """The sender's address, from a verified signature (the one step a
        test chain may replace to send as an address without its key)."""
        if self.chain.check_signatures:
            ok = self._verdict
            if ok is None:
                ok = crypto.verify(tx.sender, tx.signing_payload(), tx.signature)
            if not ok:
                raise InvalidTransaction("bad_signature", "the signature does not verify")
        return crypto.address_of(tx.sender)

    def _deploy(
        self, ctx: TxContext, gas: int, tx: Transaction, sender: bytes, nonce: int, receipt: Receipt
    ) -> int:
        state = ctx.state
        r = Reader(tx.data)
        try:
            code = r.blob(LIMITS.max_module_size)
        except DecodeError as exc:
            raise Revert(gas, f"invalid module: {exc}") from None
        code_hash = hashlib.sha256(code).digest()
        loaded = ctx.modules.cached(code_hash)
        if loaded is None:  # not seen before: decode and verify these exact bytes
            try:
                verified = verify(decode_module(code))
            except (DecodeError, VerificationError) as exc:
                raise Revert(gas, f"invalid module: {exc}") from None
            gas -= costs.translation(verified)  # before the node does the work
            if gas < 0:
                raise OutOfGas()
            loaded = ctx.modules.put(code_hash, verified, state.backend)
        else:  # a node that has it already charges the same
            gas -= loaded.translation_gas
            if gas < 0:
                raise OutOfGas()
        ctx.code_used[code_hash] = loaded  # the deployment paid for loading it
        address = contract_address(sender, nonce)
        ctx.accessed[account_key(address)] = None  # the deployment paid for creating it
        if state.account(address).code_hash:
            raise Revert(gas, "a contract already exists at the new address")
        state.set_code(code_hash, code)
        acc = state.account(address)
        state.set_account(address, Account(acc.balance, acc.nonce, code_hash))
        init = loaded.init
        init_data = tx.data[r.pos :]
        if init is None:
            if init_data or tx.value:
                raise Revert(gas, "the module has no init function to take arguments or value")
        else:
            args = self._decode_args(gas, init, init_data, loaded)
            result = run_export(
                ctx, gas, loaded, init, sender, address, tx.value, args, False, True
            )
            gas = result[0]
        receipt.contract_address = address
        return gas

    def _call(
        self, ctx: TxContext, gas: int, tx: Transaction, sender: bytes, receipt: Receipt
    ) -> int:
        state = ctx.state
        acc = state.account(tx.to)
        if not acc.code_hash:
            if tx.data:
                raise Revert(gas, "call data sent to an account without code")
            if not state.transfer(sender, tx.to, tx.value):
                raise Revert(gas, "insufficient balance for the value sent")
            return gas
        gas, loaded = load_contract(ctx, gas, tx.to)
        if not tx.data:  # a plain transfer: the contract's receive(), if it has one
            export = receive_export(loaded.exports)
            if export is None:
                raise Revert(gas, "the contract takes no plain transfers: it has no receive()")
        else:
            export = loaded.exports.get(tx.data[:4])
        if export is None:
            raise Revert(gas, "the contract has no function with this selector")
        args = self._decode_args(gas, export, tx.data[4:], loaded)
        gas, receipt.return_data, receipt.return_values = run_top_level(
            ctx, gas, loaded, export, sender, tx.to, tx.value, args
        )
        return gas

    @staticmethod
    def _decode_args(gas: int, export: Export, data: bytes, loaded: LoadedModule) -> tuple:
        try:
            return loaded.codec(export).decode_args(data)
        except DecodeError as exc:
            raise Revert(gas, f"bad call data for {export.name}: {exc}") from None

    def commit(self, meta: dict[str, bytes] | None = None) -> BlockHeader:
        """Finish the block: compute its roots and write it atomically (with
        ``meta``: the node's own records, kept in the same transaction)."""
        header, writes, logs, receipts = self._finish()
        self.chain._commit(header, writes, logs, receipts, meta)
        self._close()
        return header

    def seal(self) -> SealedBlock:
        """Finish the block but write nothing yet: its header (state root
        included) and its changes, out of the state's view, for
        :meth:`Chain.commit_sealed`. A node of a network seals a block,
        compares its root with the other nodes' and only then commits it."""
        header, writes, logs, receipts = self._finish()
        changes = self.chain.state.stash()
        sealed = SealedBlock(header, tuple(self.receipts), writes, logs, receipts, changes)
        self._close()
        return sealed

    def _finish(
        self,
    ) -> tuple[BlockHeader, dict[bytes, bytes | None], list[IndexedLog], list[IndexedReceipt]]:
        """The block's header, state writes, indexed logs and receipts."""
        if self.closed:
            raise StateError("this block is already committed or abandoned")
        chain = self.chain
        writes = chain.state.pending_writes()  # encoded once: for the root and for the store
        encoded = [r.encode() for r in self.receipts]  # for the receipts root and the index
        header = BlockHeader(
            height=self.height,
            timestamp=self.timestamp,
            parent_hash=chain.head.hash,
            proposer=self.proposer,
            state_root=chain.state.state_root(writes),
            transactions_root=merkle_root(self.tx_hashes),
            receipts_root=merkle_root([hashlib.sha256(e).digest() for e in encoded]),
            gas_used=self.gas_used,
        )
        receipts = [
            IndexedReceipt(r.tx_hash, self.height, i, r.stored(e))
            for i, (r, e) in enumerate(zip(self.receipts, encoded, strict=True))
        ]
        return header, writes, chain._indexed_logs(self.height, self.receipts), receipts

    def _close(self) -> None:
        self.closed = True
        self._checked_caller = None
        self.chain._building = None

    def abandon(self) -> None:
        """Drop the block and everything applied to it."""
        self.chain.state.discard()
        self._close()


@dataclass(frozen=True)
class SealedBlock:
    """An executed block, header computed, not written: its changes are out
    of the state's view until :meth:`Chain.commit_sealed` writes them (or
    the block is dropped by simply forgetting it)."""

    header: BlockHeader
    receipts: tuple[Receipt, ...]
    writes: dict[bytes, bytes | None]
    logs: list[IndexedLog]
    indexed_receipts: list[IndexedReceipt]
    changes: StashedChanges
