"""Values, receipts, logs and blocks as the node's JSON carries them.

One convention, the command line's ``--json``: integers are JSON numbers
(exact at any size: clients parse them as big integers), addresses, hashes
and bytes are ``0x`` hex, strings are text, booleans are booleans. Receipts
and call results also carry ``raw``, :meth:`deed.vm.chain.Receipt.stored`
in hex: the exact values, for clients that decode them with the contract's
types (the command line does).
"""

from __future__ import annotations

from collections.abc import Callable

from deed.vm.chain import BlockHeader, LogEntry, Receipt
from deed.vm.codec import decode_values, to_python_values
from deed.vm.execution import Log
from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    ValueType,
)


class WireError(ValueError):
    """A parameter that is not what its method takes (JSON-RPC -32602)."""


def hex_of(data: bytes | None) -> str | None:
    return None if data is None else "0x" + bytes(data).hex()


def to_json(v: object) -> object:
    """A host value without its type (event and error fields): by its Python kind."""
    return hex_of(v) if isinstance(v, bytes | bytearray) else v


def from_hex(value: object, what: str, size: int | None = None) -> bytes:
    """``0x``-prefixed hex (of exactly ``size`` bytes, if given)."""
    if not isinstance(value, str) or not value[:2].lower() == "0x":
        raise WireError(f"{what}: expected 0x-prefixed hex")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise WireError(f"{what}: {value[:80]!r} is not hex") from None
    if size is not None and len(data) != size:
        raise WireError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def natural(value: object, what: str, bound: int = 2**256 - 1) -> int:
    """A whole number from 0 to ``bound``: a JSON integer, a decimal or 0x-hex string."""
    if isinstance(value, bool):
        raise WireError(f"{what}: expected a whole number, got a boolean")
    if isinstance(value, str):
        try:
            value = int(value, 16) if value[:2].lower() == "0x" else int(value, 10)
        except ValueError:
            raise WireError(f"{what}: {value[:80]!r} is not a whole number") from None
    if not isinstance(value, int) or not 0 <= value <= bound:
        raise WireError(f"{what}: expected a whole number from 0 to {bound}")
    return value


def _integer(value: object, t: ValueType, what: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise WireError(f"{what}: {value[:80]!r} is not an integer") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"{what}: expected an integer")
    return value


def _boolean(value: object, t: ValueType, what: str) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"{what}: expected true or false")
    return value


def _address(value: object, t: ValueType, what: str) -> bytes:
    return from_hex(value, what, 20)


def _fixed(value: object, t: ValueType, what: str) -> bytes:
    return from_hex(value, what, t.param)


def _bytes(value: object, t: ValueType, what: str) -> bytes:
    return from_hex(value, what)


def _string(value: object, t: ValueType, what: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"{what}: expected a string")
    return value


# One JSON reader per VM type tag (the types of indexed event fields).
_READERS: dict[int, Callable[[object, ValueType, str], object]] = {
    TAG_UINT: _integer,
    TAG_INT: _integer,
    TAG_BOOL: _boolean,
    TAG_ADDRESS: _address,
    TAG_FIXED_BYTES: _fixed,
    TAG_BYTES: _bytes,
    TAG_STRING: _string,
}


def host_value(value: object, t: ValueType, what: str) -> object:
    """A JSON value as the host value of VM type ``t`` (ranges are checked by the codec)."""
    return _READERS[t.tag](value, t, what)


def header_json(h: BlockHeader, transactions: list[bytes] | None = None) -> dict:
    out = {
        "height": h.height,
        "hash": hex_of(h.hash),
        "parent_hash": hex_of(h.parent_hash),
        "timestamp": h.timestamp,
        "proposer": hex_of(h.proposer),
        "state_root": hex_of(h.state_root),
        "transactions_root": hex_of(h.transactions_root),
        "receipts_root": hex_of(h.receipts_root),
        "gas_used": h.gas_used,
        "raw": hex_of(h.encode()),
    }
    if transactions is not None:
        out["transactions"] = [hex_of(t) for t in transactions]
    return out


def receipt_json(r: Receipt) -> dict:
    """A receipt (or a read-only call's outcome) with decoded log values when it has them."""
    name, values = r.error if r.error else (None, ())
    return {
        "tx_hash": hex_of(r.tx_hash),
        "status": r.status,
        "gas_used": r.gas_used,
        "return_data": hex_of(r.return_data),
        "logs": [
            {
                "address": hex_of(log.address),
                "event": log.event,
                "data": hex_of(log.data),
                "values": [to_json(v) for v in log.values],
            }
            for log in r.logs
        ],
        "revert_reason": r.revert_reason,
        "error": None if name is None else {"name": name, "values": [to_json(v) for v in values]},
        "contract_address": hex_of(r.contract_address),
        "from": hex_of(r.sender),
        "to": hex_of(r.to),
        "raw": hex_of(r.stored()),
    }


def log_json(g: LogEntry) -> dict:
    return {
        "height": g.height,
        "tx_index": g.tx_index,
        "log_index": g.log_index,
        "tx_hash": hex_of(g.tx_hash),
        "address": hex_of(g.address),
        "event": g.event,
        "values": [to_json(v) for v in g.values],
    }


def event_values(module, event: str, data: bytes) -> tuple:
    """An event's values, decoded by the emitting module's event types (a
    client of a node gets them encoded); () if the module has no such event."""
    ev = next((e for e in (module.events if module else ()) if e.name == event), None)
    if ev is None:
        return ()
    types = tuple(f.type for f in ev.fields)
    return to_python_values(types, decode_values(types, data))


def with_decoded_logs(r: Receipt, module_at: Callable[[bytes], object]) -> Receipt:
    """``r`` with its logs' values decoded (``module_at``: an address's module)."""
    r.logs = [
        Log(g.address, g.event, event_values(module_at(g.address), g.event, g.data), g.data)
        for g in r.logs
    ]
    return r
