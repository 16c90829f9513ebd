"""Executing calls: frames, the instructions that touch the host, and calls
between contracts.

A :class:`TxContext` lives for one transaction (or one read-only call); a
:class:`Frame` for one contract call. Translated code calls the frame's
methods for everything dynamic: storage, hashing, memory, events, value
transfer and cross-contract calls. Each method charges its gas first.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from Crypto.Hash import keccak as _keccak

from . import crypto
from .codec import encode_values, to_python
from .errors import DecodeError, OutOfGas, Revert, VerificationError
from .module import Export, Module
from .opcodes import GAS, LIMITS
from .oracle import decode_report
from .reference import reference_functions
from .runtime import words
from .state import StateDB
from .translate import build_functions
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
    """A verified module with its translated functions, ready to run."""

    verified: VerifiedModule
    functions: list
    exports: dict[bytes, Export]
    init: Export | None

    @property
    def module(self) -> Module:
        return self.verified.module


class ModuleCache:
    """Verified and translated modules by code hash (bounded, least recently used out).

    ``engine`` is ``"translate"`` (the default, fast) or ``"reference"`` (one
    instruction at a time: the semantics the fast engine is tested against)."""

    def __init__(self, capacity: int = 256, engine: str = "translate") -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {sorted(ENGINES)}")
        self.capacity = capacity
        self.engine = engine
        self.entries: OrderedDict[bytes, LoadedModule] = OrderedDict()

    def get(self, code_hash: bytes, code: bytes) -> LoadedModule:
        hit = self.entries.get(code_hash)
        if hit is not None:
            self.entries.move_to_end(code_hash)
            return hit
        return self.put(code_hash, load(code))

    def cached(self, code_hash: bytes) -> LoadedModule | None:
        """The module with this hash if it was loaded before (and so verified)."""
        return self.entries.get(code_hash)

    def put(self, code_hash: bytes, verified: VerifiedModule) -> LoadedModule:
        """Prepare an already verified module (a deployment verifies it first)."""
        hit = self.entries.get(code_hash)
        if hit is not None:
            return hit
        loaded = prepare(verified, self.engine)
        self.entries[code_hash] = loaded
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
        return loaded


def prepare(vm: VerifiedModule, engine: str = "translate") -> LoadedModule:
    exports = {e.selector: e for e in vm.module.exports if not e.is_init}
    init = next((e for e in vm.module.exports if e.is_init), None)
    return LoadedModule(vm, ENGINES[engine](vm), exports, init)


ENGINES = {"translate": build_functions, "reference": reference_functions}


MODULES = ModuleCache()


@dataclass(frozen=True)
class Log:
    address: bytes
    event: str
    values: tuple
    data: bytes  # canonical encoding of the values


@dataclass
class TxContext:
    state: StateDB
    height: int
    timestamp: int
    origin: bytes
    modules: ModuleCache = MODULES
    frames: int = 0
    memory: int = 0
    logs: list[Log] = field(default_factory=list)
    call_stack: list[bytes] = field(default_factory=list)

    def allocate(self, g: int, n: int, charge: bool = True) -> int:
        """Account for a new byte value of n bytes: gas per word (unless the
        instruction's own cost covers it) and the memory cap."""
        if charge:
            g -= GAS.memory_per_word * ((n + 31) // 32)
            if g < 0:
                raise OutOfGas()
        if n > LIMITS.max_bytes_value:
            raise Revert(g, "byte value over the size limit")
        self.memory += n
        if self.memory > LIMITS.max_tx_memory:
            raise Revert(g, "transaction memory limit reached")
        return g


_TWO_256 = 1 << 256


class Frame:
    """One running contract call; translated code calls these methods."""

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
        g = self.tx.allocate(g, len(a) + len(b))
        return g, a + b

    def slice(self, g: int, data: bytes, start: int, length: int) -> tuple[int, bytes]:
        if start < 0 or length < 0 or start + length > len(data):
            raise Revert(g, "slice out of range")
        g = self.tx.allocate(g, length)
        return g, data[start : start + length]

    def int_to_bytes(self, g: int, value: int, width: int) -> tuple[int, bytes]:
        g = self.tx.allocate(g, width)
        try:
            return g, value.to_bytes(width, "big", signed=value < 0)
        except OverflowError:
            raise Revert(g, f"value does not fit {width} bytes") from None

    def _hash_gas(self, g: int, n: int, base: int) -> int:
        g -= base + GAS.hash_per_word * words(n)
        if g < 0:
            raise OutOfGas()
        return self.tx.allocate(g, 32)

    def sha256(self, g: int, data: bytes) -> tuple[int, bytes]:
        g = self._hash_gas(g, len(data), 0)
        return g, hashlib.sha256(data).digest()

    def keccak256(self, g: int, data: bytes) -> tuple[int, bytes]:
        g = self._hash_gas(g, len(data), 0)
        return g, _keccak.new(data=data, digest_bits=256).digest()

    def ed25519(self, g: int, pubkey: bytes, message: bytes, signature: bytes) -> tuple[int, int]:
        g -= GAS.signature_check + GAS.hash_per_word * words(len(message))
        if g < 0:
            raise OutOfGas()
        return g, int(crypto.verify(pubkey, message, signature))

    def mkey(self, g: int, base: bytes, key: int | bytes) -> tuple[int, bytes]:
        if isinstance(key, int):
            enc = (key % _TWO_256).to_bytes(32, "big")  # two's complement for negatives
        else:
            enc = len(key).to_bytes(4, "big") + key
        data = base + enc
        g = self._hash_gas(g, len(data), GAS.hash_base)
        return g, hashlib.sha256(data).digest()

    # -- storage
    def _key(self, g: int, key: bytes) -> None:
        if len(key) > 64:
            raise Revert(g, "storage key longer than 64 bytes")

    def sload(self, g: int, key: bytes) -> tuple[int, int]:
        g -= GAS.storage_read
        if g < 0:
            raise OutOfGas()
        self._key(g, key)
        value = self.state.sload(self.address, key)
        if value is None:
            return g, 0
        if value.__class__ is not int:
            raise Revert(g, "storage entry holds bytes, read as an integer")
        return g, value

    def sloadb(self, g: int, key: bytes, default: bytes) -> tuple[int, bytes]:
        g -= GAS.storage_read
        if g < 0:
            raise OutOfGas()
        self._key(g, key)
        value = self.state.sload(self.address, key)
        if value is None:
            return g, default
        if value.__class__ is not bytes:
            raise Revert(g, "storage entry holds an integer, read as bytes")
        return g, value

    def _store(self, g: int, key: bytes, value: int | bytes | None) -> int:
        state = self.state
        exists = state.sload(self.address, key) is not None
        g -= GAS.storage_new_slot if (value is not None and not exists) else GAS.storage_write
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise Revert(g, "state change in a view call")
        self._key(g, key)
        state.sstore(self.address, key, value)
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
        return g, self.state.balance(address)

    def selfbalance(self) -> int:
        return self.state.balance(self.address)

    def send(self, g: int, to: bytes, amount: int) -> int:
        g -= GAS.send
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise Revert(g, "value transfer in a view call")
        if len(to) != ADDRESS_SIZE:
            raise Revert(g, "send to a value that is not an address")
        if amount < 0 or not self.state.transfer(self.address, to, amount):
            raise Revert(g, "insufficient balance to send")
        return g

    # -- events and errors
    def emit(self, g: int, index: int, values: tuple) -> int:
        ev = self.loaded.module.events[index]
        types = [f.type for f in ev.fields]
        try:
            data = encode_values(types, values)
        except ValueError as exc:
            raise Revert(g, f"event {ev.name}: {exc}") from None
        g -= GAS.event_base + GAS.event_per_byte * len(data)
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise Revert(g, "event in a view call")
        g = self.tx.allocate(g, len(data), charge=False)
        shown = tuple(
            to_python(t, v) for t, v in zip(types, values, strict=True)
        )  # bools as bool, strings as str
        self.tx.logs.append(Log(self.address, ev.name, shown, data))
        return g

    def error(self, g: int, index: int, values: tuple) -> Revert:
        err = self.loaded.module.errors[index]
        return Revert(g, err.name, (err.name, values))

    # -- shared registries
    def docreg(self, g: int, doc: bytes) -> int:
        g -= GAS.storage_new_slot
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise Revert(g, "document registration in a view call")
        if len(doc) != 32:
            raise Revert(g, "a document hash has 32 bytes")
        if self.state.document_holder(doc) is not None:
            raise Revert(g, "document already registered")
        self.state.register_document(doc, self.address)
        return g

    def docholder(self, g: int, doc: bytes) -> tuple[int, bytes]:
        g -= GAS.storage_read
        if g < 0:
            raise OutOfGas()
        holder = self.state.document_holder(doc) if len(doc) == 32 else None
        return g, holder if holder is not None else bytes(ADDRESS_SIZE)

    def oracle(
        self, g: int, blob: bytes, signers: bytes, quorum: int, max_age: int
    ) -> tuple[int, bytes]:
        """Check a signed report against a signer set and a quorum, its age,
        and that this contract never used it; push its data."""
        g -= GAS.hash_per_word * words(len(blob)) + GAS.storage_read
        if g < 0:
            raise OutOfGas()
        try:
            report = decode_report(blob)
        except ValueError as exc:
            raise Revert(g, f"malformed oracle report: {exc}") from None
        n = len(signers) // 32
        if len(signers) % 32 or not 1 <= n <= LIMITS.max_oracle_signers:
            raise Revert(g, "a signer set is 1 to 16 keys of 32 bytes")
        if not 1 <= quorum <= n:
            raise Revert(g, "the quorum must be between 1 and the number of signers")
        if len(report.data) > LIMITS.max_report_data:
            raise Revert(g, "oracle report data over the size limit")
        if len(report.signatures) < quorum:
            raise Revert(g, "oracle quorum not reached")
        g -= GAS.oracle_signature * len(report.signatures)
        if g < 0:
            raise OutOfGas()
        digest = report.digest
        for index, signature in report.signatures:
            if index >= n or not crypto.verify(
                signers[32 * index : 32 * index + 32], digest, signature
            ):
                raise Revert(g, "bad oracle signature")
        now = self.tx.timestamp
        if report.timestamp > now:
            raise Revert(g, "oracle report from the future")
        if now - report.timestamp > max_age:
            raise Revert(g, "stale oracle report")
        if self.state.report_used(self.address, digest):
            raise Revert(g, "oracle report already used")
        g -= GAS.storage_new_slot
        if g < 0:
            raise OutOfGas()
        if self.static:
            raise Revert(g, "oracle report used in a view call")
        self.state.mark_report_used(self.address, digest)
        g = self.tx.allocate(g, len(report.data))
        return g, report.data

    # -- calls between contracts
    def xcall(self, g: int, index: int, flags: int, to: bytes, value: int, args: tuple) -> tuple:
        imp = self.loaded.module.imports[index]
        g -= GAS.call_external + (GAS.call_value if value else 0)
        if g < 0:
            raise OutOfGas()
        tx = self.tx
        frames, logs = tx.frames, len(tx.logs)
        try:
            if value and self.static:
                raise Revert(g, "value transfer in a view call")
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


def _check_all(g: int, types, values, what: str) -> None:
    for t, v in zip(types, values, strict=True):
        if not check_value(t, v):
            raise Revert(g, f"{what} does not fit its declared type {t}")


def load_contract(tx: TxContext, g: int, address: bytes) -> LoadedModule:
    acc = tx.state.account(address)
    if not acc.code_hash:
        raise Revert(g, "no contract at this address")
    code = tx.state.code(acc.code_hash)
    try:
        return tx.modules.get(acc.code_hash, code)
    except (DecodeError, VerificationError) as exc:  # only reachable if the store was tampered with
        raise Revert(g, f"stored code does not load: {exc}") from None


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
    loaded = load_contract(tx, g, to)
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
    decoded against the export's types already (transaction data)."""
    state = tx.state
    mark = state.checkpoint()
    logs = len(tx.logs)
    tx.call_stack.append(to)
    tx.frames += 1
    try:
        if len(args) != len(export.params):
            raise Revert(g, "wrong number of arguments")
        if not args_checked:
            _check_all(g, export.params, args, "an argument")
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
            _check_all(result[0], export.returns, result[1:], "a return value")
            return result
        return (result,)
    except Revert:
        state.revert_to(mark)
        del tx.logs[logs:]
        raise
    finally:
        tx.call_stack.pop()
        tx.frames -= 1
