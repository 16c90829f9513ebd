"""Signed oracle reports: what an oracle signs and how a report travels.

A report is ``timestamp (8 bytes) ‖ data length (2) ‖ data ‖ count (1) ‖
count × (signer index (1) ‖ ed25519 signature (64))``, all big-endian, with
signer indexes strictly increasing. Each signer signs
SHA-256("deed-oracle-report-v1" ‖ timestamp ‖ data); that digest is also the
report's id, which a contract can use only once (``ORACLE``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .crypto import KeyPair

DOMAIN = b"deed-oracle-report-v1"


@dataclass(frozen=True)
class Report:
    timestamp: int
    data: bytes
    signatures: tuple[tuple[int, bytes], ...]  # (signer index, signature)

    @property
    def digest(self) -> bytes:
        return report_digest(self.timestamp, self.data)


def report_digest(timestamp: int, data: bytes) -> bytes:
    return hashlib.sha256(DOMAIN + timestamp.to_bytes(8, "big") + data).digest()


def encode_report(report: Report) -> bytes:
    out = bytearray(report.timestamp.to_bytes(8, "big"))
    out += len(report.data).to_bytes(2, "big") + report.data
    out.append(len(report.signatures))
    for index, sig in report.signatures:
        out.append(index)
        out += sig
    return bytes(out)


def decode_report(blob: bytes) -> Report:
    """Parse a report; ValueError for anything not in the canonical form."""
    if len(blob) < 11:
        raise ValueError("report too short")
    timestamp = int.from_bytes(blob[:8], "big")
    n = int.from_bytes(blob[8:10], "big")
    data = blob[10 : 10 + n]
    pos = 10 + n
    if len(data) != n or pos >= len(blob):
        raise ValueError("report data cut off")
    count = blob[pos]
    pos += 1
    if len(blob) != pos + 65 * count:
        raise ValueError("signatures do not fill the report")
    sigs = []
    for i in range(count):
        chunk = blob[pos + 65 * i : pos + 65 * (i + 1)]
        sigs.append((chunk[0], chunk[1:]))
    indexes = [i for i, _ in sigs]
    if any(b <= a for a, b in zip(indexes, indexes[1:], strict=False)):
        raise ValueError("signer indexes must be strictly increasing")
    return Report(timestamp, data, tuple(sigs))


def sign_report(timestamp: int, data: bytes, signers: list[tuple[int, KeyPair]]) -> bytes:
    """A report signed by the given (index in the signer set, key) pairs."""
    digest = report_digest(timestamp, data)
    sigs = tuple((index, key.sign(digest)) for index, key in sorted(signers, key=lambda s: s[0]))
    return encode_report(Report(timestamp, data, sigs))


def signer_set(keys: list[KeyPair]) -> bytes:
    """The bytes a contract declares as its signer set: the public keys in order."""
    return b"".join(k.public_key for k in keys)
