"""Canonical packing, off-chain: what a contract's ``encode(...)`` and
``signed_by(...)`` compute, for clients and tests.

``encode(a, b, ...)`` in Deed is the VM's value encoding (spec/vm.md, the
one :mod:`deed.vm.codec` implements) of each argument, concatenated:

- integers of every width and enums: 32 bytes, big-endian, two's complement;
- ``bool``: 1 byte, 0 or 1;
- ``address``: its 20 bytes; ``bytesN``: its N bytes;
- ``bytes[N]`` and ``string[N]``: a 4-byte big-endian length, then the bytes
  (a string's UTF-8).

Every type has a fixed width or says its own length, so reading the types
in order splits the bytes back into the values: two different tuples of the
same types never encode to the same bytes.

A message that ``signed_by(account, key, nonce, payload, signature)``
accepts is ``encode(MESSAGE_DOMAIN, chain_id, contract, nonce, payload)``
with the domain as 15 raw bytes, the chain id and the nonce as integers (32
bytes each), the contract's address and the payload as ``bytes[N]``;
:func:`signed_message` builds it and :func:`sign_message` signs it.

This module does not import the compiler (the VM never does).
"""

from __future__ import annotations

from collections.abc import Sequence

from .codec import encode_values
from .crypto import KeyPair, address_of
from .types import ValueType

__all__ = [
    "MESSAGE_DOMAIN",
    "address_of",
    "encode",
    "sign_message",
    "signed_message",
]

#: The first bytes of every message ``signed_by`` checks: unlike a
#: transaction's signing payload (``deed-tx-v1``...) and an oracle report's
#: digest (32 bytes), so a signature for one is never valid as the other.
MESSAGE_DOMAIN = b"deed-message-v1"


def encode(types: Sequence[ValueType], values: Sequence[object]) -> bytes:
    """The canonical packing of ``values`` of the VM types ``types`` (the
    bytes a contract's ``encode(...)`` gives). Integers must fit their type,
    bytes their size; strings may be ``str`` (encoded as UTF-8) or bytes."""
    if len(types) != len(values):
        raise ValueError(f"{len(types)} types for {len(values)} values")
    return encode_values(list(types), list(values))


def signed_message(chain_id: int, contract: bytes, nonce: int, payload: bytes | str) -> bytes:
    """The message ``signed_by`` checks in ``contract`` on chain ``chain_id``
    for ``nonce`` and ``payload``."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if len(contract) != 20:
        raise ValueError(f"a contract address has 20 bytes, got {len(contract)}")
    return (
        MESSAGE_DOMAIN
        + chain_id.to_bytes(32, "big")
        + bytes(contract)
        + nonce.to_bytes(32, "big")
        + len(payload).to_bytes(4, "big")
        + bytes(payload)
    )


def sign_message(
    key: KeyPair, chain_id: int, contract: bytes, nonce: int, payload: bytes | str
) -> bytes:
    """The 64-byte signature ``signed_by(key's account, key, nonce, payload, ·)``
    accepts in ``contract`` on chain ``chain_id``."""
    return key.sign(signed_message(chain_id, contract, nonce, payload))
