"""Executing calls: frames, the instructions that touch the host, and calls
between contracts.

A :class:`TxContext` lives for one transaction (or one read-only call); a
:class:`Frame` for one contract call. Translated code calls the frame's
methods for everything dynamic: storage, hashing, memory, events, value
transfer and cross-contract calls. Each method charges its gas first.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import sys
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import costs, crypto
from .codec import python_converter, values_decoder, values_encoder
from .errors import ConfigurationError, DecodeError, OutOfGas, Revert, VerificationError, revert
from .jit import native, tier
from .module import Export, Module
from .opcodes import GAS, LIMITS
from .oracle import decode_report
from .reference import reference_functions
from .state import (
    ACCOUNT,
    STORAGE,
    StateDB,
    account_key,
    document_key,
    registry_key,
    report_key,
)
from .translate import TRANSLATOR_VERSION, compile_module, functions_from_code
from .types import (
    ADDRESS_SIZE,
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_FIXED_BYTES,
    TAG_STRING,
    ValueType,
    type_range,
)
from .verifier import VerifiedModule, load


@dataclass
class LoadedModule:
    """A module ready to run: its functions on one engine, and its exports."""

    module: Module
    functions: list
    exports: dict[bytes, Export]
    init: Export | None
    size: int  # bytes of the encoded module: its weight in the cache
    translation_gas: int  # what deploying it pays for translation (costs.translation)
    event_types: tuple[tuple[ValueType, ...], ...]  # each event's field types, by index
    # made on first use, once per loaded module, so that a call or an event does
    # no type dispatch; not at load: a cold call pays translation gas for the
    # module's size, and must not build codecs for every export and event it has
    event_codecs: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # (encoder, to-host)
    codecs: dict[int, ExportCodec] = field(default_factory=dict)  # by export.function

    def codec(self, export: Export) -> ExportCodec:
        """The prepared codec of ``export`` (one of this module's; any other
        export, e.g. of an equal module loaded again, gets a new one)."""
        c = self.codecs.get(export.function)
        if c is None or c.export is not export:
            c = ExportCodec(export)
            if export.function not in self.codecs:
                self.codecs[export.function] = c
        return c

    def event_codec(self, index: int) -> tuple[Any, Any]:
        """Event ``index``'s (encoder, to-host converter)."""
        found = self.event_codecs.get(index)
        if found is None:
            types = self.event_types[index]
            found = self.event_codecs[index] = (values_encoder(types), python_converter(types))
        return found


class ExportCodec:
    """An export's argument and return codecs and type checks, specialised
    once for its types (:func:`deed.vm.codec.values_encoder` and friends):
    the same bytes, values and errors as the general functions, without
    dispatching on each type at every call."""

    __slots__ = ("export", "decode_args", "encode_returns", "returns_to_python", "checks")

    def __init__(self, export: Export) -> None:
        self.export = export
        self.decode_args = values_decoder(export.params)
        self.encode_returns = values_encoder(export.returns)
        self.returns_to_python = python_converter(export.returns)
        # (parameter checks, return checks): check_value of each type
        self.checks = (
            tuple(_value_check(t) for t in export.params),
            tuple(_value_check(t) for t in export.returns),
        )


class ArtifactStore(Protocol):
    """Node-local storage of prepared code (a state backend provides it).
    Never part of the state: a node may lose or rebuild it at any time."""

    def get_artifact(self, key: bytes) -> bytes | None: ...

    def put_artifact(self, key: bytes, data: bytes) -> None: ...


class Engine:
    """How one engine turns a verified module into callable functions.

    ``build`` also returns the module's *artifact*, a node-local persistent
    form that ``from_artifact`` turns back into the module and its functions,
    so that a module missing from the memory cache comes back at a cost
    linear in its size and far below verifying and translating it again
    (artifacts are the node's own: pickled and marshalled Python objects of
    this Python version, sealed with a checksum against damage)."""

    name = ""

    def build(self, vm: VerifiedModule) -> tuple[list, bytes | None]:
        raise NotImplementedError

    def from_artifact(self, data: bytes) -> tuple[Module, list]:
        raise NotImplementedError

    def begin_block(self) -> None:
        """A new block starts (engines with per-block budgets reset them)."""


class ReferenceEngine(Engine):
    """The verified module is the artifact (no need to decode and verify again)."""

    name = "reference"

    def build(self, vm: VerifiedModule) -> tuple[list, bytes | None]:
        return reference_functions(vm), pickle.dumps(vm, protocol=5)

    def from_artifact(self, data: bytes) -> tuple[Module, list]:
        vm = pickle.loads(data)
        return vm.module, reference_functions(vm)


class TranslateEngine(Engine):
    """Python source per function, compiled once; the code object (and the
    decoded module, which is cheaper to unpickle than to decode) is the artifact."""

    name = "translate"

    def build(self, vm: VerifiedModule) -> tuple[list, bytes | None]:
        code = compile_module(vm)
        artifact = pickle.dumps((vm.module, marshal.dumps(code)), protocol=5)
        return functions_from_code(code, vm.module), artifact

    def from_artifact(self, data: bytes) -> tuple[Module, list]:
        module, code = pickle.loads(data)
        return module, functions_from_code(marshal.loads(code), module)


class NativeTierEngine(Engine):
    """The translating engine's functions, with functions run as native code
    (:mod:`deed.vm.jit`): ``jit`` compiles them at their first call,
    ``tiered`` (the default) hot loops only. The artifact is the
    translating engine's plus the list of native candidates; native code is
    kept in memory only (:data:`deed.vm.jit.tier.NATIVE_CACHE`)."""

    def __init__(self, name: str, eager: bool):
        self.name = name
        self.eager = eager
        self.budget = tier.Budget()

    def build(self, vm: VerifiedModule) -> tuple[list, bytes | None]:
        code = compile_module(vm)
        found = tier.candidates(vm)
        artifact = pickle.dumps((vm.module, marshal.dumps(code), found), protocol=5)
        functions = functions_from_code(code, vm.module)
        return self._attach(tier.LazyVerified(vm.module, vm), found, functions), artifact

    def from_artifact(self, data: bytes) -> tuple[Module, list]:
        module, code, found = pickle.loads(data)
        functions = functions_from_code(marshal.loads(code), module)
        return module, self._attach(tier.LazyVerified(module), found, functions)

    def _attach(self, lazy, found, functions: list) -> list:
        if self.eager:
            native.require()  # DEED_ENGINE=jit without llvmlite is a configuration error
        return tier.attach(lazy, found, functions, self.eager, self.budget)

    def begin_block(self) -> None:
        self.budget.begin_block()


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        NativeTierEngine("tiered", eager=False),
        *([NativeTierEngine("jit", eager=True)] if native.available() else []),
        TranslateEngine(),
        ReferenceEngine(),
    )
}
#: Nodes run tiered: translated code, hot loops compiled natively (plain
#: translation when llvmlite is not installed).
DEFAULT_ENGINE = "tiered"


def engine_from_environment() -> str:
    """The engine named by ``DEED_ENGINE`` (the test suite and the CLI read it)."""
    name = os.environ.get("DEED_ENGINE", "").strip() or DEFAULT_ENGINE
    if name == "jit":
        native.require()  # explains how to install llvmlite
    if name not in ENGINES:
        raise ConfigurationError(
            f"DEED_ENGINE={name!r} is not an engine; choose from {', '.join(sorted(ENGINES))}"
        )
    return name


def _artifact_key(engine: str, code_hash: bytes) -> bytes:
    native = isinstance(ENGINES.get(engine), NativeTierEngine)  # its artifact holds candidates
    version = f"{TRANSLATOR_VERSION}.{tier.ARTIFACT_VERSION}" if native else TRANSLATOR_VERSION
    tag = f"{engine}:{version}:{sys.implementation.cache_tag}:".encode()
    return tag + code_hash


def _seal(translation_gas: int, data: bytes) -> bytes:
    body = translation_gas.to_bytes(8, "big") + data
    return zlib.crc32(body).to_bytes(4, "big") + body


def _unseal(blob: bytes) -> tuple[int, bytes] | None:
    body = blob[4:]
    if blob[:4] != zlib.crc32(body).to_bytes(4, "big") or len(body) < 8:
        return None
    return int.from_bytes(body[:8], "big"), body[8:]


class ModuleCache:
    """Modules ready to run, by code hash: bounded by the bytes of the modules
    it holds (least recently used out), backed by a node's artifact store.

    The cache and the store are node-local and never change results or gas:
    every transaction pays for the first use of each module's code
    (:func:`deed.vm.costs.code_load`) whether or not it was cached."""

    def __init__(self, capacity_bytes: int = 8 * 2**20, engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {sorted(ENGINES)}")
        self.capacity_bytes = capacity_bytes
        self.engine = engine
        self.entries: OrderedDict[bytes, LoadedModule] = OrderedDict()
        self.held_bytes = 0

    def get(
        self, code_hash: bytes, code: bytes, store: ArtifactStore | None = None
    ) -> LoadedModule:
        """The module with this hash and code (stored code, verified when deployed).

        Raises only DecodeError or VerificationError, for code that does not load."""
        hit = self.entries.get(code_hash)
        if hit is not None:
            self.entries.move_to_end(code_hash)
            return hit
        loaded = self._from_store(code_hash, code, store)
        if loaded is None:
            return self.put(code_hash, load(code), store)
        return self._keep(code_hash, loaded)

    def begin_block(self) -> None:
        ENGINES[self.engine].begin_block()

    def cached(self, code_hash: bytes) -> LoadedModule | None:
        """The module with this hash if it was loaded before (and so verified)."""
        hit = self.entries.get(code_hash)
        if hit is not None:
            self.entries.move_to_end(code_hash)
        return hit

    def put(
        self, code_hash: bytes, verified: VerifiedModule, store: ArtifactStore | None = None
    ) -> LoadedModule:
        """Prepare an already verified module (a deployment verifies it first)."""
        hit = self.entries.get(code_hash)
        if hit is not None:
            return hit
        functions, artifact = ENGINES[self.engine].build(verified)
        gas = costs.translation(verified)
        if artifact is not None and store is not None:
            store.put_artifact(_artifact_key(self.engine, code_hash), _seal(gas, artifact))
        module = verified.module
        return self._keep(code_hash, _loaded(module, functions, len(module.encode()), gas))

    def _from_store(
        self, code_hash: bytes, code: bytes, store: ArtifactStore | None
    ) -> LoadedModule | None:
        if store is None:
            return None
        blob = store.get_artifact(_artifact_key(self.engine, code_hash))
        unsealed = _unseal(blob) if blob else None
        if unsealed is None:
            return None
        gas, data = unsealed
        try:
            module, functions = ENGINES[self.engine].from_artifact(data)
        except Exception:  # noqa: BLE001 - a stale or damaged artifact: rebuild it
            return None
        if module.encode() != code:
            return None
        return _loaded(module, functions, len(code), gas)

    def _keep(self, code_hash: bytes, loaded: LoadedModule) -> LoadedModule:
        self.entries[code_hash] = loaded
        self.held_bytes += loaded.size
        while self.held_bytes > self.capacity_bytes and len(self.entries) > 1:
            _, old = self.entries.popitem(last=False)
            self.held_bytes -= old.size
        return loaded


def _loaded(module: Module, functions: list, size: int, translation_gas: int) -> LoadedModule:
    exports = {e.selector: e for e in module.exports if not e.is_init}
    init = next((e for e in module.exports if e.is_init), None)
    event_types = tuple(tuple(f.type for f in ev.fields) for ev in module.events)
    return LoadedModule(module, functions, exports, init, size, translation_gas, event_types)


MODULES = ModuleCache(engine=engine_from_environment())


@dataclass(frozen=True)
class Log:
    address: bytes
    event: str
    values: tuple
    data: bytes  # canonical encoding of the values


class TxContext:
    """What one transaction (or read-only call) carries through its calls.
    A slotted class: it is made once per transaction and read all the time."""

    __slots__ = (
        "state",
        "height",
        "timestamp",
        "origin",
        "modules",
        "frames",
        "memory",
        "logs",
        "call_stack",
        "code_used",
        "accessed",
        "chain_id",
    )

    def __init__(
        self,
        state: StateDB,
        height: int,
        timestamp: int,
        origin: bytes,
        modules: ModuleCache = MODULES,
        accessed: dict[bytes, None] | None = None,
        chain_id: int = 1,
    ):
        self.state = state
        self.chain_id = chain_id  # CHAINID
        self.height = height
        self.timestamp = timestamp
        self.origin = origin
        self.modules = modules
        self.frames = 0
        self.memory = 0  # bytes of byte values created (max_tx_memory)
        self.logs: list[Log] = []
        self.call_stack: list[bytes] = []
        # modules paid for in this transaction, kept for its rest whatever the
        # node's cache evicts: a transaction pays once per module, loads it once
        self.code_used: dict[bytes, LoadedModule] = {}
        # state entries paid for in this transaction (cold_access): later accesses are
        # warm. A dict used as an ordered set: what a call added can be undone in
        # the order it was added (a native run that deopts, deed.vm.jit.host.Undo)
        self.accessed: dict[bytes, None] = {} if accessed is None else accessed

    def access(self, g: int, key: bytes) -> int:
        """Charge the first access to a state entry in this transaction
        (GAS.cold_access, priced for a read from disk); later ones are warm.
        Gas never depends on what a node has cached, only on the transaction."""
        if key not in self.accessed:
            self.accessed[key] = None
            g -= GAS.cold_access
            if g < 0:
                raise OutOfGas()
        return g

    def allocate(self, g: int, n: int, charge: bool = True) -> int:
        """Account for a new byte value of n bytes: gas per word (unless the
        instruction's own cost covers it) and the memory caps."""
        if charge:
            g -= costs.memory(n)
            if g < 0:
                raise OutOfGas()
        self.hold(g, n)
        return g

    def hold(self, g: int, n: int) -> None:
        """Count a new byte value of n bytes against the memory caps (paid for already)."""
        memory = self.memory + n
        if n > _MAX_VALUE or memory > _MAX_TX_MEMORY:
            raise Revert(
                g,
                "byte value over the size limit"
                if n > _MAX_VALUE
                else "transaction memory limit reached",
            )
        self.memory = memory


_TWO_256 = 1 << 256
_STORAGE = STORAGE
_ACCOUNT = ACCOUNT
_COLD = GAS.cold_access
_READ = GAS.storage_read
_sha256 = hashlib.sha256
_MAX_VALUE = LIMITS.max_bytes_value
_I2B_MEMORY = costs.memory(32)
_MAX_TX_MEMORY = LIMITS.max_tx_memory
_DOCREG = costs.document_registration()


class Frame:
    """One running contract call; every engine calls these methods for the
    instructions that touch the host.

    Each method is called with the gas left after the instruction's static
    cost, which may be negative (engines charge a run of instructions at
    once): it charges its own cost and raises OutOfGas before doing anything
    observable, and its reverts go through :func:`deed.vm.errors.revert`."""

    __slots__ = ("tx", "state", "address", "caller", "value", "static", "loaded")

    def __init__(
        self,
        tx: TxContext,
        loaded: LoadedModule,
        address: bytes,
        caller: bytes,
        value: int,
        static: bool,
    ):
        self.tx = tx
        self.state = tx.state
        self.loaded = loaded
        self.address = address
        self.caller = caller
        self.value = value
        self.static = static

    # -- bytes
    def concat(self, g: int, a: bytes, b: bytes) -> tuple[int, bytes]:
        n = len(a) + len(b)
        g -= costs.memory(n)
        if g < 0:
            raise OutOfGas()
        self.tx.hold(g, n)
        return g, a + b

    def slice(self, g: int, data: bytes, start: int, length: int) -> tuple[int, bytes]:
        if start < 0 or length < 0 or start + length > len(data):
            raise revert(g, "slice out of range")
        g -= costs.memory(length)
        if g < 0:
            raise OutOfGas()
        self.tx.hold(g, length)
        return g, data[start : start + length]

    def int_to_bytes(self, g: int, value: int, width: int) -> tuple[int, bytes]:
        g -= _I2B_MEMORY  # width <= 32: one word
        if g < 0:
            raise OutOfGas()
        tx = self.tx
        tx.memory += width
        if tx.memory > _MAX_TX_MEMORY:
            tx.memory -= width
            raise Revert(g, "transaction memory limit reached")
        try:
            return g, value.to_bytes(width, "big", signed=value < 0)
        except OverflowError:
            raise Revert(g, f"value does not fit {width} bytes") from None

    def _digest(self, g: int, cost: int) -> int:
        """Charge a hash (its cost includes the 32-byte digest's memory)."""
        g -= cost
        if g < 0:
            raise OutOfGas()
        tx = self.tx
        tx.memory += 32
        if tx.memory > _MAX_TX_MEMORY:
            tx.memory -= 32
            raise Revert(g, "transaction memory limit reached")
        return g

    def sha256(self, g: int, data: bytes) -> tuple[int, bytes]:
        g = self._digest(g, costs.hashing(len(data)))
        return g, _sha256(data).digest()

    def keccak256(self, g: int, data: bytes) -> tuple[int, bytes]:
        g = self._digest(g, costs.hashing(len(data), keccak=True))
        return g, crypto.keccak256(data)

    def ed25519(self, g: int, pubkey: bytes, message: bytes, signature: bytes) -> tuple[int, int]:
        g -= costs.signature(len(message))
        if g < 0:
            raise OutOfGas()
        return g, int(crypto.verify(pubkey, message, signature))

    def mkey(self, g: int, base: bytes, key: int | bytes) -> tuple[int, bytes]:
        if isinstance(key, int):
            enc = (key % _TWO_256).to_bytes(32, "big")  # two's complement for negatives
        else:
            enc = len(key).to_bytes(4, "big") + key
        data = base + enc
        g = self._digest(g, costs.map_key(len(data)))
        return g, _sha256(data).digest()

    # -- storage (the hottest host paths: the entry's key is built once, and
    # the cold-access check is written out rather than called)
    def _entry(self, g: int, key: bytes) -> tuple[int, bytes]:
        """The state key of this contract's storage ``key``, first access charged."""
        if len(key) > 64:
            raise revert(g, "storage key longer than 64 bytes")
        entry = _STORAGE + self.address + key
        accessed = self.tx.accessed
        if entry not in accessed:
            accessed[entry] = None
            g -= _COLD
            if g < 0:
                raise OutOfGas()
        return g, entry

    def sload(self, g: int, key: bytes) -> tuple[int, int]:
        g -= _READ
        if g < 0:
            raise OutOfGas()
        g, entry = self._entry(g, key)
        value = self.state.read(entry)
        if value is None:
            return g, 0
        if value.__class__ is not int:
            raise revert(g, "storage entry holds bytes, read as an integer")
        return g, value

    def sloadb(self, g: int, key: bytes, default: bytes) -> tuple[int, bytes]:
        g -= _READ
        if g < 0:
            raise OutOfGas()
        g, entry = self._entry(g, key)
        value = self.state.read(entry)
        if value is None:
            return g, default
        if value.__class__ is not bytes:
            raise revert(g, "storage entry holds an integer, read as bytes")
        g -= costs.storage_read(len(value)) - _READ  # per word of what was read
        if g < 0:
            raise OutOfGas()
        return g, value

    def _store(self, g: int, key: bytes, value: int | bytes | None) -> int:
        if g < 0:
            raise OutOfGas()
        g, entry = self._entry(g, key)
        state = self.state
        exists = state.read(entry) is not None
        size = len(value) if value.__class__ is bytes else 0  # type: ignore[arg-type]
        g -= costs.storage_write(value is not None and not exists, size)
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise revert(g, "state change in a view call")
        state.write(entry, value)
        return g

    def sstore(self, g: int, key: bytes, value: int) -> int:
        return self._store(g, key, None if value == 0 else value)

    def sstoreb(self, g: int, key: bytes, value: bytes, default: bytes) -> int:
        return self._store(g, key, None if value == default else value)

    # -- accounts and value
    def balance(self, g: int, address: bytes) -> tuple[int, int]:
        g -= GAS.account_read
        if g < 0:
            raise OutOfGas()
        if len(address) != ADDRESS_SIZE:
            raise revert(g, "balance of a value that is not an address")
        g = self.tx.access(g, account_key(address))
        return g, self.state.balance(address)

    def selfbalance(self) -> int:
        return self.state.balance(self.address)

    def send(self, g: int, to: bytes, amount: int) -> int:
        g -= GAS.send
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise revert(g, "value transfer in a view call")
        if len(to) != ADDRESS_SIZE:
            raise revert(g, "send to a value that is not an address")
        g = self.tx.access(g, account_key(to))
        if amount < 0 or not self.state.transfer(self.address, to, amount):
            raise revert(g, "insufficient balance to send")
        return g

    # -- events and errors
    def emit(self, g: int, index: int, values: tuple) -> int:
        loaded = self.loaded
        ev = loaded.module.events[index]
        encode, to_python = loaded.event_codec(index)
        try:
            data = encode(values)
        except ValueError as exc:
            raise revert(g, f"event {ev.name}: {exc}") from None
        g -= costs.event(len(data))
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise revert(g, "event in a view call")
        self.tx.hold(g, len(data))  # allocate(charge=False): the event cost paid for it
        shown = to_python(values)  # bools as bool, strings as str
        self.tx.logs.append(Log(self.address, ev.name, shown, data))
        return g

    def error(self, g: int, index: int, values: tuple) -> Exception:
        """The revert of a typed error; its fields stay in the receipt, so they
        are paid for like return data (bytes as they are, integers as 32)."""
        err = self.loaded.module.errors[index]
        g -= costs.return_data(sum(len(v) if v.__class__ is bytes else 32 for v in values))
        return revert(g, err.name, (err.name, values))

    # -- shared registries
    def docreg(self, g: int, doc: bytes) -> int:
        """Register ``doc`` in the name of the transaction's signer: under
        :func:`registry_key` (origin, doc), held by this contract. Only the
        contract the transaction calls (or deploys) registers, so an entry in
        a signer's name is made by a contract that the signer named."""
        g -= _DOCREG
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise revert(g, "document registration in a view call")
        if len(doc) != 32:
            raise revert(g, "a document hash has 32 bytes")
        tx = self.tx
        if len(tx.call_stack) != 1:
            raise revert(g, "a document is registered only by the contract the transaction calls")
        key = registry_key(tx.origin, doc)
        g = tx.access(g, document_key(key))
        if self.state.document_holder(key) is not None:
            raise revert(g, "document already registered")
        self.state.register_document(key, self.address)
        return g

    def docholder(self, g: int, key: bytes) -> tuple[int, bytes]:
        """The contract holding the registry key ``key`` (zero address if none)."""
        g -= GAS.storage_read
        if g < 0:
            raise OutOfGas()
        if len(key) != 32:
            return g, bytes(ADDRESS_SIZE)
        g = self.tx.access(g, document_key(key))
        holder = self.state.document_holder(key)
        return g, holder if holder is not None else bytes(ADDRESS_SIZE)

    def oracle(
        self, g: int, blob: bytes, signers: bytes, quorum: int, max_age: int
    ) -> tuple[int, bytes]:
        """Check a signed report against a signer set and a quorum, its age,
        and that this contract never used it; push its data."""
        g -= costs.oracle_check(len(blob))
        if g < 0:
            raise OutOfGas()
        try:
            report = decode_report(blob)
        except ValueError as exc:
            raise revert(g, f"malformed oracle report: {exc}") from None
        n = len(signers) // 32
        if len(signers) % 32 or not 1 <= n <= LIMITS.max_oracle_signers:
            raise revert(g, "a signer set is 1 to 16 keys of 32 bytes")
        if not 1 <= quorum <= n:
            raise revert(g, "the quorum must be between 1 and the number of signers")
        if len(report.data) > LIMITS.max_report_data:
            raise revert(g, "oracle report data over the size limit")
        if len(report.signatures) < quorum:
            raise revert(g, "oracle quorum not reached")
        g -= costs.oracle_signatures(len(report.signatures))
        if g < 0:
            raise OutOfGas()
        digest = report.digest
        for index, signature in report.signatures:
            if index >= n or not crypto.verify(
                signers[32 * index : 32 * index + 32], digest, signature
            ):
                raise revert(g, "bad oracle signature")
        now = self.tx.timestamp
        if report.timestamp > now:
            raise revert(g, "oracle report from the future")
        if now - report.timestamp > max_age:
            raise revert(g, "stale oracle report")
        g = self.tx.access(g, report_key(self.address, digest))
        if self.state.report_used(self.address, digest):
            raise revert(g, "oracle report already used")
        g -= costs.oracle_use(len(report.data))
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise revert(g, "oracle report used in a view call")
        self.state.mark_report_used(self.address, digest)
        g = self.tx.allocate(g, len(report.data), charge=False)  # oracle_use includes the memory
        return g, report.data

    # -- calls between contracts
    def xcall(self, g: int, index: int, flags: int, to: bytes, value: int, args: tuple) -> tuple:
        imp = self.loaded.module.imports[index]
        g -= costs.external_call(bool(value))
        if g < 0:
            raise OutOfGas()
        tx = self.tx
        frames, logs = tx.frames, len(tx.logs)
        try:
            if value and self.static:
                raise revert(g, "value transfer in a view call")
            result = call_contract(
                tx,
                g,
                self.address,
                to,
                value,
                imp.selector,
                args,
                self.static,
                imp.params,
                imp.returns,
            )
        except Revert as exc:
            if not flags & 1:
                raise
            tx.frames = frames
            del tx.logs[logs:]
            return (exc.gas, 0) + tuple(_default(t) for t in imp.returns)
        if flags & 1:
            return (result[0], 1) + result[1:]
        return result


def _default(t: ValueType) -> int | bytes:
    if t.kind == "I":
        return 0
    if t.tag == TAG_ADDRESS:
        return bytes(ADDRESS_SIZE)
    if t.tag == TAG_FIXED_BYTES:
        return bytes(t.param)
    return b""


def check_value(t: ValueType, v: int | bytes) -> bool:
    """True when a VM value is a valid value of type t (run at call boundaries)."""
    if t.kind == "I":
        lo, hi = type_range(t) if t.tag != TAG_BOOL else (0, 1)
        return v.__class__ in (int, bool) and lo <= v <= hi
    if v.__class__ is not bytes:
        return False
    if t.tag == TAG_ADDRESS:
        return len(v) == ADDRESS_SIZE
    if t.tag == TAG_FIXED_BYTES:
        return len(v) == t.param
    if len(v) > t.param:
        return False
    if t.tag == TAG_STRING:
        try:
            v.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _value_check(t: ValueType):
    """``check_value(t, ·)`` as one function, the common types written out."""
    if t.kind == "I":
        lo, hi = type_range(t) if t.tag != TAG_BOOL else (0, 1)
        return lambda v: v.__class__ in (int, bool) and lo <= v <= hi
    if t.tag == TAG_ADDRESS:
        return lambda v: v.__class__ is bytes and len(v) == ADDRESS_SIZE
    return lambda v: check_value(t, v)


def _check_all(g: int, types, values, what: str, checks) -> int:
    """Check values crossing a call boundary against their declared types;
    returns the gas left after paying for the bytes checked and copied.
    ``checks``: the types' prepared checks (:class:`ExportCodec`)."""
    n = 0
    for v in values:
        if v.__class__ is bytes:
            n += len(v)
    if n:
        g -= costs.boundary(n)
        if g < 0:
            raise OutOfGas()
    for check, t, v in zip(checks, types, values, strict=True):
        if not check(v):
            raise Revert(g, f"{what} does not fit its declared type {t}")
    return g


def load_contract(tx: TxContext, g: int, address: bytes) -> tuple[int, LoadedModule]:
    """The code at ``address``, ready to run, and the gas left after paying for
    its first use in this transaction (:func:`deed.vm.costs.code_load`)."""
    entry = _ACCOUNT + address
    accessed = tx.accessed
    if entry not in accessed:
        accessed[entry] = None
        g -= _COLD
        if g < 0:
            raise OutOfGas()
    acc = tx.state.account(address)
    if not acc.code_hash:
        raise Revert(g, "no contract at this address")
    code_hash = acc.code_hash
    loaded = tx.code_used.get(code_hash)
    if loaded is not None:
        return g, loaded
    loaded = tx.modules.cached(code_hash)
    if loaded is None:  # not in the node's memory: the code from the state
        code = tx.state.code(code_hash)
        size = len(code)
    else:
        size = loaded.size
    g -= costs.code_load(size)  # charged whatever the node had cached
    if g < 0:
        raise OutOfGas()
    if loaded is None:
        try:
            loaded = tx.modules.get(code_hash, code, tx.state.backend)
        except (DecodeError, VerificationError) as exc:  # only if the store was tampered with
            raise Revert(g, f"stored code does not load: {exc}") from None
    tx.code_used[code_hash] = loaded
    return g, loaded


def call_contract(
    tx: TxContext,
    g: int,
    caller: bytes,
    to: bytes,
    value: int,
    sel: bytes,
    args: tuple,
    static: bool,
    param_types=None,
    return_types=None,
) -> tuple:
    """Call the export with selector ``sel`` of the contract at ``to``.

    Returns ``(gas left, *return values)``. On revert, undoes this call's
    writes and logs and re-raises. The callee's declared types must equal the
    caller's expectation when given (cross-contract calls)."""
    if len(to) != ADDRESS_SIZE:
        raise Revert(g, "call to a value that is not an address")
    if to in tx.call_stack:
        raise Revert(g, "reentrant call refused: the contract is already on the call stack")
    if len(tx.call_stack) >= LIMITS.max_call_depth:
        raise Revert(g, "call depth limit reached")
    if tx.frames + 1 > LIMITS.max_frames:
        raise Revert(g, "too many call frames")
    g, loaded = load_contract(tx, g, to)
    export = loaded.exports.get(sel)
    if export is None:
        raise Revert(g, "the contract has no function with this selector")
    if param_types is not None and (
        tuple(param_types) != export.params or tuple(return_types) != export.returns
    ):
        raise Revert(g, f"the callee's {export.name} has other parameter or return types")
    return run_export(tx, g, loaded, export, caller, to, value, args, static)


def run_export(
    tx: TxContext,
    g: int,
    loaded: LoadedModule,
    export: Export,
    caller: bytes,
    to: bytes,
    value: int,
    args: tuple,
    static: bool,
    args_checked: bool = False,
) -> tuple:
    """Run an export in a new frame; ``args_checked`` when the arguments were
    decoded against the export's types already (transaction data, whose bytes
    the intrinsic gas paid for)."""
    state = tx.state
    mark = state.checkpoint()
    logs = len(tx.logs)
    tx.call_stack.append(to)
    tx.frames += 1
    try:
        if len(args) != len(export.params):
            raise Revert(g, "wrong number of arguments")
        if not args_checked:
            g = _check_all(g, export.params, args, "an argument", loaded.codec(export).checks[0])
        if value:
            if not export.payable:
                raise Revert(g, f"{export.name} does not accept value")
            if static:
                raise Revert(g, "value transfer in a view call")
            if value < 0 or not state.transfer(caller, to, value):
                raise Revert(g, "insufficient balance for the value sent")
        frame = Frame(tx, loaded, to, caller, value, static or export.view)
        result = loaded.functions[export.function](frame, g, *args)
        if export.returns:
            checks = loaded.codec(export).checks[1]
            g = _check_all(result[0], export.returns, result[1:], "a return value", checks)
            return (g, *result[1:])
        return (result,)
    except Revert:
        state.revert_to(mark)
        del tx.logs[logs:]
        raise
    finally:
        tx.call_stack.pop()
        tx.frames -= 1
