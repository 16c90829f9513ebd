"""The local chain and key store behind ``deed deploy``, ``call``, ``send`` and ``keys``.

A local chain is one SQLite file (default ``.deed/chain.db``); keys are
ed25519 seeds in ``.deed/keys/NAME.key`` (hex, readable only by the user).
Every transaction is mined into its own block.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from deed.vm.chain import Chain, Receipt, Transaction
from deed.vm.codec import to_python
from deed.vm.crypto import KeyPair
from deed.vm.state import SqliteBackend
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

from .errors import UsageError

DEV_FUNDS = 1_000_000 * 10**18


class KeyStore:
    def __init__(self, home: Path):
        self.dir = home / "keys"

    def path(self, name: str) -> Path:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"a key name is letters, digits, - and _: {name!r}")
        return self.dir / f"{name}.key"

    def create(self, name: str) -> KeyPair:
        path = self.path(name)
        if path.exists():
            raise UsageError(f"key {name} exists already ({path})")
        self.dir.mkdir(parents=True, exist_ok=True)
        seed = os.urandom(32)
        path.write_text(seed.hex() + "\n")
        path.chmod(0o600)
        return KeyPair(seed)

    def load(self, name: str) -> KeyPair:
        path = self.path(name)
        if not path.exists():
            raise UsageError(f"no key named {name}: create it with `deed keys new {name}`")
        return KeyPair(bytes.fromhex(path.read_text().strip()))

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.key")) if self.dir.exists() else []


def open_chain(path: Path, create: bool = False) -> Chain:
    if not path.exists() and not create:
        raise UsageError(f"no chain at {path}: create it with `deed chain init`")
    path.parent.mkdir(parents=True, exist_ok=True)
    return Chain(SqliteBackend(path))


def mine(chain: Chain, tx: Transaction, proposer: bytes) -> Receipt:
    """Apply one transaction in a new block (timestamp: now, never before the parent)."""
    timestamp = max(int(time.time()), chain.head.timestamp + 1)
    block = chain.begin_block(timestamp, proposer)
    try:
        receipt = block.apply(tx)
    except BaseException:
        block.abandon()
        raise
    block.commit()
    return receipt


def parse_arg(text: str, t: ValueType, keys: KeyStore) -> object:
    """A command-line argument as a value of type ``t``."""
    try:
        if t.tag in (TAG_UINT, TAG_INT):
            return int(text.replace("_", ""), 0)
        if t.tag == TAG_BOOL:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if t.tag == TAG_ADDRESS:
            if text.startswith("@"):
                return keys.load(text[1:]).address
            return parse_hex(text)
        if t.tag in (TAG_FIXED_BYTES, TAG_BYTES):
            if not text.startswith("0x"):
                data = text.encode()
                return data.ljust(t.param, b"\0") if t.tag == TAG_FIXED_BYTES else data
            return parse_hex(text)
        if t.tag == TAG_STRING:
            return text
    except ValueError:
        pass
    raise UsageError(f"{text!r} is not a {t}")


def parse_hex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def show_value(t: ValueType, v) -> object:
    v = to_python(t, v)
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return v
