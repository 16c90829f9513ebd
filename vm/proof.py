"""State proofs: the state root's hashing and a proof verifier, standalone.

This module imports only ``hashlib`` and ``dataclasses`` so that a light
client can check a proof against a block header's state root without the VM.

The state root (version 2, spec/vm.md section 9) is the root of a binary
sparse Merkle tree of depth 256 over the entries' paths:

- path(key) = SHA-256(key), read most significant bit first;
- an empty subtree hashes to ``EMPTY`` = 32 zero bytes;
- a subtree holding exactly one entry hashes to its leaf,
  SHA-256(``0x00`` ‖ path(key) ‖ SHA-256(value)), whatever its depth;
- a subtree holding two or more entries hashes to
  SHA-256(``0x01`` ‖ left ‖ right).

The root is a function of the set of entries only. A proof for a key is the
list of sibling hashes from the root down to the first subtree, along the
key's path, that holds at most one entry, and what that subtree holds
(nothing, or one leaf: its path and value hash).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

EMPTY = bytes(32)
LEAF = b"\x00"
NODE = b"\x01"
PROOF_FORMAT = 1
_sha = hashlib.sha256


class ProofError(ValueError):
    """Proof bytes that do not decode to a proof."""


def key_path(key: bytes) -> bytes:
    return _sha(key).digest()


def value_hash(value: bytes) -> bytes:
    return _sha(value).digest()


def leaf_node_hash(path: bytes, vhash: bytes) -> bytes:
    return _sha(LEAF + path + vhash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(NODE + left + right).digest()


def bit(path: bytes, i: int) -> int:
    return (path[i >> 3] >> (7 - (i & 7))) & 1


@dataclass(frozen=True)
class StateProof:
    """Siblings root first (``EMPTY`` for an empty one) and the bottom
    subtree: ``leaf`` = (path, value hash) of its only entry, or None if empty."""

    siblings: tuple[bytes, ...]
    leaf: tuple[bytes, bytes] | None

    @property
    def value_hash(self) -> bytes | None:
        """The proven value's hash when this is an inclusion proof of its leaf."""
        return None if self.leaf is None else self.leaf[1]

    def encode(self) -> bytes:
        """``01`` ‖ kind (0 empty, 1 leaf) ‖ [path ‖ value hash] ‖ depth (2 bytes)
        ‖ bitmap of non-empty siblings (MSB first, zero-padded) ‖ those siblings."""
        depth = len(self.siblings)
        bitmap = bytearray((depth + 7) // 8)
        present = []
        for i, s in enumerate(self.siblings):
            if s != EMPTY:
                bitmap[i >> 3] |= 0x80 >> (i & 7)
                present.append(s)
        head = bytes([PROOF_FORMAT, 0 if self.leaf is None else 1])
        if self.leaf is not None:
            head += self.leaf[0] + self.leaf[1]
        return head + depth.to_bytes(2, "big") + bytes(bitmap) + b"".join(present)

    @staticmethod
    def decode(data: bytes) -> StateProof:
        """The proof ``data`` encodes; :class:`ProofError` unless canonical."""
        if len(data) < 4 or data[0] != PROOF_FORMAT or data[1] > 1:
            raise ProofError("not a state proof of format 1")
        pos = 2
        leaf = None
        if data[1] == 1:
            if len(data) < 68:
                raise ProofError("truncated leaf")
            leaf = (data[2:34], data[34:66])
            pos = 66
        depth = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if depth > 256:
            raise ProofError("a proof is at most 256 levels deep")
        bitmap = data[pos : pos + (depth + 7) // 8]
        pos += len(bitmap)
        if len(bitmap) != (depth + 7) // 8:
            raise ProofError("truncated bitmap")
        siblings = []
        for i in range(depth):
            if bitmap[i >> 3] & (0x80 >> (i & 7)):
                s = data[pos : pos + 32]
                if len(s) != 32 or s == EMPTY:
                    raise ProofError("truncated or non-canonical sibling")
                siblings.append(s)
                pos += 32
            else:
                siblings.append(EMPTY)
        if depth % 8 and bitmap[-1] & (0xFF >> (depth % 8)):
            raise ProofError("non-zero bitmap padding")
        if pos != len(data):
            raise ProofError("trailing bytes")
        return StateProof(tuple(siblings), leaf)


def verify(root: bytes, key: bytes, value: bytes | None, proof: StateProof | bytes) -> bool:
    """True iff ``proof`` shows that, under ``root``, ``key`` holds ``value``
    (None: ``key`` is absent). Never raises on bad proof bytes."""
    if isinstance(proof, bytes | bytearray):
        try:
            proof = StateProof.decode(bytes(proof))
        except ProofError:
            return False
    path = key_path(key)
    depth = len(proof.siblings)
    if depth > 256:
        return False
    if proof.leaf is None:
        if value is not None:
            return False
        h = EMPTY
    else:
        lpath, vhash = proof.leaf
        if len(lpath) != 32 or len(vhash) != 32:
            return False
        if value is not None:
            if lpath != path or vhash != value_hash(value):
                return False
        elif lpath == path or any(bit(lpath, i) != bit(path, i) for i in range(depth)):
            return False  # absence: another key's leaf, where this key's path leads
        h = leaf_node_hash(lpath, vhash)
    for i in range(depth - 1, -1, -1):
        s = proof.siblings[i]
        h = node_hash(s, h) if bit(path, i) else node_hash(h, s)
    return h == root
