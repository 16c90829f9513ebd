"""The node's JSON-RPC 2.0 methods (one registry: the server dispatches
through it and ``spec/node.md`` is generated from it) and the dispatcher.

A method is a function of the node and its named parameters, registered
with :func:`method`; each parameter says how its JSON value is read, so a
bad one is refused (-32602) before the node does anything. Errors:

===========  ===================================================================
code         meaning
===========  ===================================================================
-32700       the body is not JSON
-32600       not a JSON-RPC 2.0 request (or an empty batch)
-32601       no such method
-32602       bad parameters (missing, unknown, malformed, out of range)
-32603       the node failed (its storage, the VM); nothing was kept; see its log
-32000       the transaction was refused: ``data.reason`` is its stable code
             (``bad_nonce``, ``insufficient_funds``, ``bad_signature``, ...)
-32001       not found (no contract, event or block by that name)
-32002       a development method refused (a time in the past, or a network node)
-32003       a network node could not put the transaction in the ordered log
             (etcd unreachable): it was not accepted; send it again
===========  ===================================================================
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from deed.vm.errors import InvalidTransaction, NodeError, StateError

from . import wire
from .service import DevOnly, NodeService, NotFound

PARSE_ERROR, INVALID_REQUEST, NO_METHOD, BAD_PARAMS, INTERNAL = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)
TX_REFUSED, NOT_FOUND, DEV_REFUSED, UNAVAILABLE = -32000, -32001, -32002, -32003
MAX_BATCH = 1000  # requests in one batch
_REQUIRED = object()


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: object = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # as the spec shows it
    read: Callable[[object, str], object]
    default: object = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[Param, ...]
    result: str
    summary: str
    handler: Callable[..., object]
    development: bool


METHODS: dict[str, Method] = {}


def method(name: str, *params: Param, result: str, development: bool = False):
    """Register a JSON-RPC method; its docstring is its line in the spec."""

    def register(fn: Callable[..., object]) -> Callable[..., object]:
        summary = " ".join((fn.__doc__ or "").split())
        METHODS[name] = Method(name, params, result, summary, fn, development)
        return fn

    return register


# --------------------------------------------------------------------------- parameter readers


def _address(v: object, what: str) -> bytes:
    return wire.from_hex(v, what, 20)


def _hash(v: object, what: str) -> bytes:
    return wire.from_hex(v, what, 32)


def _data(v: object, what: str) -> bytes:
    return wire.from_hex(v, what)


def _uint(bound: int) -> Callable[[object, str], int]:
    return lambda v, what: wire.natural(v, what, bound)


def _height(v: object, what: str) -> int | None:
    return None if v == "latest" else wire.natural(v, what, 2**63 - 1)


def _text(v: object, what: str) -> str:
    if not isinstance(v, str):
        raise wire.WireError(f"{what}: expected a string")
    return v


def _object(v: object, what: str) -> dict:
    if not isinstance(v, dict):
        raise wire.WireError(f"{what}: expected a JSON object")
    return v


def _optional(read: Callable[[object, str], object]) -> Callable[[object, str], object]:
    return lambda v, what: None if v is None else read(v, what)


U63, U256 = _uint(2**63 - 1), _uint(2**256 - 1)


# --------------------------------------------------------------------------- methods


@method("deed_chainId", result="integer")
def chain_id(node: NodeService) -> int:
    """The chain id transactions must be signed for."""
    return node.chain_id


@method("deed_blockNumber", result="integer")
def block_number(node: NodeService) -> int:
    """The height of the head block."""
    return node.chain.head.height


@method(
    "deed_getBlock",
    Param("height", 'integer or "latest"', _height, "latest"),
    result="block",
)
def get_block(node: NodeService, height: int | None) -> dict:
    """A committed block: header fields, `raw` (the encoded header) and its transactions' hashes."""
    header, txs = node.block(height)
    return wire.header_json(header, txs)


@method("deed_getBalance", Param("address", "address", _address), result="integer")
def get_balance(node: NodeService, address: bytes) -> int:
    """The balance of an account (the open block's, when mining at an interval)."""
    return node.account(address).balance


@method("deed_getNonce", Param("address", "address", _address), result="integer")
def get_nonce(node: NodeService, address: bytes) -> int:
    """The nonce the account's next transaction must carry (the open block counted)."""
    return node.account(address).nonce


@method("deed_getCode", Param("address", "address", _address), result="hex or null")
def get_code(node: NodeService, address: bytes) -> str | None:
    """The module deployed at an address, as bytes (null: no contract)."""
    return wire.hex_of(node.code(address))


@method("deed_getAbi", Param("address", "address", _address), result="object or null")
def get_abi(node: NodeService, address: bytes) -> dict | None:
    """The ABI kept for a contract at deployment (null: none kept)."""
    return node.abis.read(address)


@method(
    "deed_putAbi",
    Param("address", "address", _address),
    Param("abi", "object", _object),
    result="true",
)
def put_abi(node: NodeService, address: bytes, abi: dict) -> bool:
    """Keep a contract's ABI (`deed deploy` sends it); it must list exactly the contract's functions."""
    from deed.cli.abis import matches

    module = node.chain.module_at(address)
    if module is None:
        raise NotFound(f"no contract at 0x{address.hex()}")
    if not matches(abi, module):
        raise wire.WireError("abi: it does not list the contract's functions")
    node.abis.write(address, abi)
    return True


@method("deed_sendTransaction", Param("raw", "hex", _data), result="receipt")
def send_transaction(node: NodeService, raw: bytes) -> dict | Awaitable[dict]:
    """Accept a signed transaction (`Transaction.encode()`): its receipt, mined at once (or pending in the open block when mining at an interval), or error -32000 with the reason. A network node answers `{"tx_hash", "pending": true}` once the ordered log holds it; the receipt follows when its block is agreed."""
    sent = node.send(raw)
    if inspect.isawaitable(sent):
        return _acknowledged(sent)
    out = wire.receipt_json(sent)
    out["pending"] = node.block_time is not None
    return out


async def _acknowledged(sent: Awaitable[bytes]) -> dict:
    return {"tx_hash": wire.hex_of(await sent), "pending": True}


@method(
    "deed_call",
    Param("to", "address", _address),
    Param("data", "hex", _data),
    Param("from", "address", _optional(_address), None),
    Param("value", "integer", U256, 0),
    Param("gas", "integer", U63, 10_000_000),
    result="call result",
)
def call(
    node: NodeService, to: bytes, data: bytes, value: int, gas: int, **named: bytes | None
) -> dict:
    """Run a function read-only (`data`: selector and arguments, as a transaction's): status, gas, `return_data`, logs, revert reason or typed error, and `raw`; nothing is kept."""
    sender = named.get("from") or bytes(20)
    out = wire.receipt_json(node.call(to, data, sender, value, gas))
    del out["tx_hash"], out["contract_address"], out["from"], out["to"]
    return out


@method("deed_getReceipt", Param("tx_hash", "hash", _hash), result="receipt or null")
def get_receipt(node: NodeService, tx_hash: bytes) -> dict | None:
    """The receipt of a committed transaction, with its block height and index (null: not committed); kept across restarts."""
    found = node.receipt(tx_hash)
    if found is None:
        return None
    out = wire.receipt_json(found.receipt)
    out.update(height=found.height, tx_index=found.tx_index)
    return out


@method("deed_getTransactionStatus", Param("tx_hash", "hash", _hash), result="status")
def get_status(node: NodeService, tx_hash: bytes) -> dict:
    """Where a transaction is: `committed` (with height and index), `pending` (in the open block, or accepted by a network node and not yet in an agreed block), `rejected` (a network's block skipped it: height, index, `reason` code and `message`), or `unknown`."""
    s = node.status(tx_hash)
    out = {"status": s.state, "height": s.height, "tx_index": s.tx_index}
    if s.state == "rejected":
        out |= {"reason": s.reason, "message": s.message}
    return out


@method(
    "deed_getLogs",
    Param("address", "address or null", _optional(_address), None),
    Param("event", "string or null", _optional(_text), None),
    Param("where", "object", _object, {}),
    Param("from_height", "integer", U63, 0),
    Param("to_height", "integer or null", _optional(U63), None),
    Param("limit", "integer", _uint(10_000), 1000),
    result="[log]",
)
def get_logs(
    node: NodeService,
    address: bytes | None,
    event: str | None,
    where: dict,
    from_height: int,
    to_height: int | None,
    limit: int,
) -> list[dict]:
    """Committed logs in chain order, by contract, event and the values of indexed fields (`where`: field name to value; needs the address and the event)."""
    out = []
    for entry, data in node.logs(address, event, where, from_height, to_height, limit):
        shown = wire.log_json(entry)
        shown["data"] = wire.hex_of(data)
        out.append(shown)
    return out


@method(
    "deed_getProof",
    Param("address", "address", _address),
    Param("storage_key", "hex or null", _optional(_data), None),
    Param("height", 'integer or "latest"', _height, "latest"),
    result="proof",
)
def get_proof(node: NodeService, address: bytes, storage_key: bytes | None, height) -> dict:
    """A proof of an account (or of one of its storage entries, by raw storage key), present or absent, against a block's state root: `key` (the state key), `value` (at the head; null if absent or at an older block), `value_hash` (null if absent), `proof`; check it with `deed.vm.proof.verify(state_root, key, value, proof)`."""
    from deed.vm.proof import key_path

    header, key, value, proof = node.prove(address, storage_key, height)
    mine = proof.leaf is not None and proof.leaf[0] == key_path(key)  # not another key's leaf
    return {
        "height": header.height,
        "state_root": wire.hex_of(header.state_root),
        "key": wire.hex_of(key),
        "value": wire.hex_of(value),
        "value_hash": wire.hex_of(proof.value_hash) if mine else None,
        "proof": wire.hex_of(proof.encode()),
    }


# -- development methods (a local node's clock, balances and snapshots)


@method("deed_now", result="integer", development=True)
def now(node: NodeService) -> int:
    """The node's clock: the time the next block gets."""
    return node.now()


@method(
    "deed_increaseTime",
    Param("seconds", "integer", U63),
    result="integer",
    development=True,
)
def increase_time(node: NodeService, seconds: int) -> int:
    """Move the clock on by `seconds` (kept across restarts): the new time. Mines nothing."""
    return node.increase_time(seconds)


@method(
    "deed_setNextBlockTimestamp",
    Param("timestamp", "integer", _uint(2**64 - 1)),
    result="integer",
    development=True,
)
def set_next_block_timestamp(node: NodeService, timestamp: int) -> int:
    """The next block's time, exactly (after the head's); the clock goes on from it."""
    return node.set_next_timestamp(timestamp)


@method("deed_mine", Param("blocks", "integer", _uint(10_000), 1), result="block", development=True)
def mine(node: NodeService, blocks: int) -> dict:
    """Mine `blocks` blocks now (the open block first): the new head."""
    if blocks < 1:
        raise wire.WireError("blocks: at least 1")
    header = node.mine(blocks)
    return wire.header_json(header)


@method(
    "deed_setBalance",
    Param("address", "address", _address),
    Param("amount", "integer", U256),
    result="block",
    development=True,
)
def set_balance(node: NodeService, address: bytes, amount: int) -> dict:
    """Set an account's balance, in a block of its own: that block."""
    return wire.header_json(node.set_balance(address, amount))


@method("deed_snapshot", result="integer", development=True)
def snapshot(node: NodeService) -> int:
    """Take a snapshot of the whole chain (state, receipts, logs, clock): its id."""
    return node.snapshot()


@method("deed_revert", Param("id", "integer", U63), result="boolean", development=True)
def revert(node: NodeService, id: int) -> bool:  # noqa: A002 (the parameter's name on the wire)
    """Back to snapshot `id`, which is used up with every later one; false if there is none."""
    return node.revert(id)


# --------------------------------------------------------------------------- the dispatcher


def _bind(m: Method, params: object) -> dict:
    if params is None:
        params = []
    if isinstance(params, list):
        if len(params) > len(m.params):
            raise RpcError(
                BAD_PARAMS, f"{m.name} takes {len(m.params)} parameter(s), got {len(params)}"
            )
        given = {p.name: v for p, v in zip(m.params, params, strict=False)}
    elif isinstance(params, dict):
        names = {p.name for p in m.params}
        unknown = sorted(set(params) - names)
        if unknown:
            raise RpcError(BAD_PARAMS, f"{m.name} has no parameter {unknown[0]!r}")
        given = params
    else:
        raise RpcError(INVALID_REQUEST, "params must be an array or an object")
    bound = {}
    for p in m.params:
        if p.name in given:
            bound[p.name] = p.read(given[p.name], p.name)
        elif p.required:
            raise RpcError(BAD_PARAMS, f"{m.name} needs {p.name!r}")
        else:  # a default is the JSON value the spec shows, read like a given one
            bound[p.name] = None if p.default is None else p.read(p.default, p.name)
    return bound


def _invoke(node: NodeService, name: object, params: object) -> object:
    m = METHODS.get(name) if isinstance(name, str) else None
    if m is None:
        raise RpcError(NO_METHOD, f"no method {name!r}")
    with _mapped_errors():
        return m.handler(node, **_bind(m, params))


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """The node's exceptions as JSON-RPC errors."""
    try:
        yield
    except wire.WireError as exc:
        raise RpcError(BAD_PARAMS, str(exc)) from None
    except InvalidTransaction as exc:
        raise RpcError(TX_REFUSED, f"transaction refused: {exc}", {"reason": exc.code}) from None
    except NotFound as exc:
        raise RpcError(NOT_FOUND, str(exc)) from None
    except (DevOnly, StateError) as exc:
        raise RpcError(DEV_REFUSED, str(exc)) from None
    except NodeError as exc:
        traceback.print_exception(exc.cause, file=sys.stderr)
        raise RpcError(INTERNAL, f"the node failed; nothing was kept: {exc.cause!r}") from None
    except ConnectionError as exc:  # a network node's ordering service (NotAccepted)
        raise RpcError(UNAVAILABLE, str(exc)) from None


def _error(code: int, message: str, data: object = None) -> dict:
    error: dict = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return error


def _malformed(request: object) -> dict | None:
    """The error response to a request that is not a JSON-RPC 2.0 request (None: it is one)."""
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
        return {
            "jsonrpc": "2.0",
            "id": None,
            "error": _error(INVALID_REQUEST, "not a JSON-RPC 2.0 request"),
        }
    rid = request.get("id")
    if "id" in request and not (
        rid is None or isinstance(rid, str | int) and not isinstance(rid, bool)
    ):
        return {
            "jsonrpc": "2.0",
            "id": None,
            "error": _error(INVALID_REQUEST, "id must be a string, a number or null"),
        }
    return None


def _one(node: NodeService, request: object) -> dict | None:
    """One request's response (None for a notification)."""
    bad = _malformed(request)
    if bad is not None:
        return bad
    return _respond(request, lambda: _invoke(node, request["method"], request.get("params")))


def _start(node: NodeService, request: object) -> dict | None | Awaitable[dict | None]:
    """Run one request's method now: its response, or (a result still to
    come) an awaitable of it. A batch's methods all run, in order, before
    any result is awaited, as in :func:`dispatch`."""
    bad = _malformed(request)
    if bad is not None:
        return bad
    try:
        result = _invoke(node, request["method"], request.get("params"))
    except Exception as exc:  # answered by _respond, as on the synchronous path
        return _respond(request, _raiser(exc))
    if inspect.isawaitable(result):
        return _finish(request, result)
    return _respond(request, lambda: result)


async def _finish(request: dict, result: Awaitable[object]) -> dict | None:
    try:
        with _mapped_errors():
            value = await result
    except Exception as exc:
        return _respond(request, _raiser(exc))
    return _respond(request, lambda: value)


def _raiser(exc: BaseException) -> Callable[[], object]:
    def again() -> object:
        raise exc

    return again


def _respond(request: dict, run: Callable[[], object]) -> dict | None:
    notification = "id" not in request
    rid = request.get("id")
    try:
        result = run()
        response = {"jsonrpc": "2.0", "id": rid, "result": result}
    except RpcError as exc:
        response = {"jsonrpc": "2.0", "id": rid, "error": _error(exc.code, exc.message, exc.data)}
    except Exception as exc:  # a bug of the node: reported, the node goes on
        traceback.print_exc(file=sys.stderr)
        response = {
            "jsonrpc": "2.0",
            "id": rid,
            "error": _error(INTERNAL, f"internal error: {exc!r}"),
        }
    return None if notification else response


def _parse(body: bytes) -> tuple[object, bytes | None]:
    """The request (or batch) in ``body``, or the error response to send instead."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        error = {"jsonrpc": "2.0", "id": None, "error": _error(PARSE_ERROR, "not JSON")}
        return None, _encode(error)
    if isinstance(payload, list) and (not payload or len(payload) > MAX_BATCH):
        error = _error(INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests")
        return None, _encode({"jsonrpc": "2.0", "id": None, "error": error})
    return payload, None


def _answer(payload: object, responses: list[dict | None]) -> bytes | None:
    kept = [r for r in responses if r is not None]
    if isinstance(payload, list):
        return _encode(kept) if kept else None
    return _encode(kept[0]) if kept else None


def dispatch(node: NodeService, body: bytes) -> bytes | None:
    """A JSON-RPC 2.0 body (one request or a batch) to the response body
    (None: only notifications, nothing to answer)."""
    payload, error = _parse(body)
    if error is not None:
        return error
    requests = payload if isinstance(payload, list) else [payload]
    return _answer(payload, [_one(node, q) for q in requests])


async def dispatch_async(node: NodeService, body: bytes) -> bytes | None:
    """As :func:`dispatch`, for the server: a request whose result is still
    to come is awaited (the requests of a batch are answered in order)."""
    payload, error = _parse(body)
    if error is not None:
        return error
    requests = payload if isinstance(payload, list) else [payload]
    started = [_start(node, q) for q in requests]
    return _answer(payload, [await r if inspect.isawaitable(r) else r for r in started])


def _encode(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------- the spec table


def methods_table() -> str:
    """The methods as a Markdown table (spec/node.md between its markers)."""
    rows = ["| method | parameters | result | what it does |", "|---|---|---|---|"]
    for m in METHODS.values():
        params = ", ".join(
            f"`{p.name}`: {p.type}" + ("" if p.required else f" = `{json.dumps(p.default)}`")
            for p in m.params
        )
        name = f"`{m.name}`" + (" (dev)" if m.development else "")
        rows.append(f"| {name} | {params or '-'} | {m.result} | {m.summary} |")
    return "\n".join(rows)
