"""A deployed contract as a Python object: its public functions as methods,
its events and typed errors with named fields.

``c.pay(5, sender=alice, value=10)`` encodes the arguments through the ABI
(:mod:`.values`). A view runs on the current state and returns its result; any
other function is sent as a transaction, mined, recorded (``env.last_receipt``
and the gas recorder) and returns its result too. A failure raises
:class:`Reverted`, which ``env.reverts(...)`` expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deed.vm.chain import CallResult, Receipt
from deed.vm.codec import encode_values

from .gas import RECORDER
from .values import ArgumentError, Fields, from_vm_values, named_fields, to_vm_values

if TYPE_CHECKING:
    from .env import Compiled, Env


@dataclass(frozen=True)
class Event:
    """One emitted event: ``ev.name``, ``ev.args.amount``, ``ev.address``."""

    name: str
    args: Fields
    address: bytes

    @classmethod
    def of(cls, name: str, args: dict, address: bytes) -> Event:
        return cls(name, Fields(args), address)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({fields})"


class Reverted(Exception):
    """A call or deployment failed: with a reason, a typed error, or out of gas."""

    def __init__(self, failure: Failure, function: str, result: Receipt | CallResult) -> None:
        self.failure = failure
        self.function = function
        self.result = result
        super().__init__(f"{function} {self.failure_text}")

    @property
    def reason(self) -> str | None:
        return self.failure.reason

    @property
    def error_name(self) -> str | None:
        return self.failure.error_name

    @property
    def error_fields(self) -> Fields:
        return self.failure.error_fields

    @property
    def failure_text(self) -> str:
        return str(self.failure)


@dataclass(frozen=True)
class Failure:
    """What made a call fail, its typed error's fields named through the ABI."""

    status: str
    reason: str | None
    error_name: str | None = None
    error_fields: Fields = field(default_factory=Fields)

    def __str__(self) -> str:
        if self.error_name is not None:
            fields = ", ".join(f"{k}={v!r}" for k, v in self.error_fields.items())
            return f"reverted with {self.error_name}({fields})"
        if self.status == "out_of_gas":
            return "ran out of gas"
        return f"reverted: {self.reason!r}"


def describe_failure(result: Receipt | CallResult, abi: dict | None) -> Failure:
    if result.error is None:
        return Failure(result.status, result.revert_reason)
    name, values = result.error
    entry = next((e for e in (abi or {}).get("errors", []) if e["name"] == name), None)
    return Failure(
        result.status, result.revert_reason, name, named_fields(entry and entry["fields"], values)
    )


def _plain(p: dict) -> bool:
    """A declared value the VM gives as Python wants it: no struct, list, enum or address."""
    return p.get("kind") is None and "members" not in p and p["type"] != "address"


class ContractFunction:
    """One public function of a deployed contract, called as a Python method."""

    def __init__(self, contract: Contract, entry: dict) -> None:
        self.contract = contract
        self.entry = entry
        self.name: str = entry["name"]
        self.is_view = entry.get("mutability") == "view"
        # results that are plain scalars come back as the VM gives them
        self._plain = all(_plain(p) for p in entry["outputs"])
        self._params = next(
            e.params for e in contract.compiled_exports if e.name == self.name and not e.is_init
        )

    def __repr__(self) -> str:
        return f"<{self.contract.name}.{self.name}>"

    def _calldata(self, args: Sequence[object]) -> tuple[list, bytes]:
        what = f"{self.contract.name}.{self.name}"
        flat = to_vm_values(what, self.entry["inputs"], args)
        try:
            data = bytes.fromhex(self.entry["selector"]) + encode_values(list(self._params), flat)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ArgumentError(f"{what}: {exc}") from None
        return flat, data

    def _result(self, values: Sequence[object]) -> object:
        out = values if self._plain else from_vm_values(self.entry["outputs"], values)
        if not out:
            return None
        return out[0] if len(out) == 1 else tuple(out)

    def __call__(self, *args: object, sender=None, value: int = 0, gas: int | None = None):
        """A view: its result on the current state. Otherwise: sent as a
        transaction (``env.last_receipt``), its result; Reverted if it fails."""
        if self.is_view:
            return self.call(*args, sender=sender, value=value)
        c = self.contract
        env = c.env
        _, data = self._calldata(args)
        receipt, intrinsic = env.send_tx(c.address, data, value, sender, gas)
        recorded = env.record_receipt(receipt, self.name, intrinsic)
        RECORDER.record(c.name, self.name, recorded.execution_gas)
        if not receipt.success:
            raise Reverted(describe_failure(receipt, c.abi), f"{c.name}.{self.name}", receipt)
        return self._result(receipt.return_values)

    def call(self, *args: object, sender=None, value: int = 0):
        """Run the function on the current state without keeping anything (a
        simulation, also of a function that is not a view); its result."""
        c = self.contract
        flat, _ = self._calldata(args)
        result = c.env.view(c.address, self.name, flat, sender, value)
        if not result.success:
            raise Reverted(describe_failure(result, c.abi), f"{c.name}.{self.name}", result)
        return self._result(result.return_values)


class Contract:
    """A contract deployed by an :class:`~deed.testing.env.Env`.

    Its public functions are attributes (``c.buy(...)``; ``c.functions`` by
    name when one is called like an attribute of this class), ``c.address`` and
    ``bytes(c)`` its address, ``c.abi`` its ABI, ``c.reports`` its report types."""

    def __init__(self, env: Env, address: bytes, compiled: Compiled) -> None:
        self.env = env
        self.address = address
        self.name = compiled.name
        self.abi = compiled.abi
        self.reports = compiled.reports
        self.compiled_exports = env.module_at(address).exports
        self.functions = {
            f["name"]: ContractFunction(self, f)
            for f in self.abi["functions"]
            if f["kind"] != "init"
        }
        self._events = {e["name"]: e["fields"] for e in self.abi.get("events", [])}
        env.contracts[address] = self

    def __getattr__(self, name: str) -> ContractFunction:
        functions = self.__dict__.get("functions", {})
        if name in functions:
            return functions[name]
        known = ", ".join(functions) or "none"
        raise AttributeError(f"{self.name} has no public function {name!r} (it has: {known})")

    def __bytes__(self) -> bytes:
        return self.address

    def __repr__(self) -> str:
        return f"<{self.name} at 0x{self.address.hex()}>"

    def event(self, name: str, values: Sequence[object]) -> Event:
        """One of this contract's events from its flat values."""
        return Event(name, named_fields(self._events.get(name), values), self.address)

    def events(self, name: str | None = None) -> list[Event]:
        """Every event this contract emitted so far (only ``name``, if given)."""
        return self.env.events_of(self.address, name)
