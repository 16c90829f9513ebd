"""Signatures and key pairs: the one module that knows how ed25519 is done.

ed25519 is checked with libsodium through PyNaCl (about 60-80 us a check on
this machine, against about 520 us for pycryptodome's pure implementation),
which is what lets a node check thousands of signed transactions a second.
"""

from __future__ import annotations

import hashlib

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import CryptoError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid ed25519 signature of ``message``.

    Never raises: malformed keys and signatures are simply invalid."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (CryptoError, ValueError, TypeError):
        return False
    return True


class KeyPair:
    """An ed25519 key pair from a 32-byte seed (keep the seed secret)."""

    def __init__(self, seed: bytes):
        if len(seed) != 32:
            raise ValueError("an ed25519 seed has 32 bytes")
        self.seed = bytes(seed)
        self.public_key, self._secret = crypto_sign_seed_keypair(self.seed)

    @classmethod
    def from_text(cls, text: str) -> KeyPair:
        """A deterministic key pair for tests and demos: seed = SHA-256(text)."""
        return cls(hashlib.sha256(text.encode()).digest())

    def sign(self, message: bytes) -> bytes:
        return crypto_sign(message, self._secret)[:SIGNATURE_SIZE]

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)


_ADDRESSES: dict[bytes, bytes] = {}  # public key -> address: a node sees the same senders often
_ADDRESS_CACHE_SIZE = 65_536


def address_of(public_key: bytes) -> bytes:
    """An account's address: the last 20 bytes of SHA-256 of its public key."""
    key = bytes(public_key)
    found = _ADDRESSES.get(key)
    if found is None:
        found = hashlib.sha256(key).digest()[-20:]
        if len(_ADDRESSES) >= _ADDRESS_CACHE_SIZE:
            _ADDRESSES.clear()  # bounded: a burst of new keys costs one re-hash each
        _ADDRESSES[key] = found
    return found


def _keccak_backend():
    """Keccak-256 (the original padding, not SHA3-256): safe-pysha3's C
    binding where it is installed (about 1 us a call), else pycryptodome's
    (about 6 us, mostly building its hash object in Python). Both are the
    same function; a test compares them."""
    try:
        from sha3 import keccak_256  # safe-pysha3

        return lambda data: keccak_256(data).digest()
    except ImportError:  # a Python without its wheel: the portable one
        from Crypto.Hash import keccak

        return lambda data: keccak.new(data=data, digest_bits=256).digest()


keccak256 = _keccak_backend()
