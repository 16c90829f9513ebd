"""Checking a block's transaction signatures, in process or in a worker process.

ed25519 verification is about half the cost of a signed transaction. A
:class:`ProcessChecker` hands a block's signatures to one worker process
(``python -m deed.vm.sigcheck``, started once) in chunks, all at once, and
the node applies the transactions in order while the worker verifies the
chunks ahead of it: on two cores the two run side by side. The verdicts are
the same pure function of each transaction as :func:`deed.vm.crypto.verify`,
used at the same point of the same checks (``BlockBuilder.apply_all``), so
the receipts, their order and every state root are the same as checking in
process (:class:`SerialChecker`, for tests and single-core nodes); a test
compares the two. If the worker dies, the rest is verified in process and a
new worker is started for the next block: a node never stops for it.

The pipe protocol: a chunk is ``u32 count`` then, per signature, the 32-byte
public key, the 64-byte signature (shorter ones are padded and flagged
invalid in process), ``u32 length`` and the signed payload; the answer is
one byte per signature, 1 for valid, written as the worker goes, every
``STREAM`` signatures (the caller applies each transaction as soon as its
own verdict is in, not when its whole chunk is: waiting for chunks of 256
had cost the caller a quarter of its time).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol

from . import crypto

if TYPE_CHECKING:
    from .chain import Transaction

#: Signatures per message to the worker: large enough to amortise the pipe.
CHUNK = 256
#: The first message of a block is this small, and each next one twice the
#: last (up to CHUNK): execution starts after a few signatures are checked,
#: not after CHUNK of them (about 17 ms of waiting a block on this machine).
FIRST_CHUNK = 16
#: The worker writes its verdicts every this many signatures (about 1 ms).
STREAM = 16
_U32 = struct.Struct(">I")


class SignatureChecker(Protocol):
    def verdicts(self, txs: Sequence[Transaction]) -> Iterator[bool]:
        """Whether each transaction's signature verifies, in order."""
        ...


class SerialChecker:
    """Verify in this process, one transaction at a time."""

    def verdicts(self, txs: Sequence[Transaction]) -> Iterator[bool]:
        for tx in txs:
            yield _verify(tx)

    def close(self) -> None:
        pass


class RememberingChecker:
    """Trusts the signatures this node has verified already (at admission,
    :meth:`remember`) and hands the rest to ``inner``. A transaction's hash
    covers its signature and everything it signs, and verification is a pure
    function of those bytes, so a remembered verdict is the one ``inner``
    would give: a network node that admitted a transaction does not check
    its signature again when the transaction's block runs. Bounded: the
    oldest hashes are forgotten first (they are then verified again)."""

    def __init__(self, inner: SignatureChecker, capacity: int = 65_536) -> None:
        self.inner = inner
        self.capacity = capacity
        self._valid: dict[bytes, None] = {}  # insertion-ordered: the oldest first

    def remember(self, tx_hash: bytes) -> None:
        """``tx_hash``'s signature verified."""
        valid = self._valid
        valid[tx_hash] = None
        if len(valid) > self.capacity:
            del valid[next(iter(valid))]

    def verdicts(self, txs: Sequence[Transaction]) -> Iterator[bool]:
        known = [tx.hash in self._valid for tx in txs]
        answers = self.inner.verdicts([tx for tx, k in zip(txs, known, strict=True) if not k])
        for k in known:
            yield True if k else next(answers)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def _verify(tx: Transaction) -> bool:
    return crypto.verify(tx.sender, tx.signing_payload(), tx.signature)


def _well_formed(tx: Transaction) -> bool:
    """What the pipe carries as is; anything else is judged in process."""
    return len(tx.sender) == crypto.PUBLIC_KEY_SIZE and len(tx.signature) == crypto.SIGNATURE_SIZE


def _chunk_bytes(txs: Sequence[Transaction]) -> bytes:
    parts = [_U32.pack(len(txs))]
    for tx in txs:
        payload = tx.signing_payload()
        parts += (tx.sender, tx.signature, _U32.pack(len(payload)), payload)
    return b"".join(parts)


class ProcessChecker:
    """Verify in one worker process, pipelined with the caller's execution."""

    def __init__(self, chunk: int = CHUNK):
        self.chunk = chunk
        self._worker: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._worker is None or self._worker.poll() is not None:
            self._worker = subprocess.Popen(
                [sys.executable, "-m", "deed.vm.sigcheck"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._worker

    def verdicts(self, txs: Sequence[Transaction]) -> Iterator[bool]:
        sent = [tx for tx in txs if _well_formed(tx)]
        chunks = []
        start, size = 0, min(FIRST_CHUNK, self.chunk)
        while start < len(sent):
            chunks.append(sent[start : start + size])
            start += size
            size = min(2 * size, self.chunk)
        answers = self._ask(chunks)
        for tx in txs:
            yield next(answers) if _well_formed(tx) else False

    def _ask(self, chunks: list[list[Transaction]]) -> Iterator[bool]:
        try:
            worker = self._start()
            writer = threading.Thread(target=_send, args=(worker.stdin, chunks), daemon=True)
            writer.start()
        except OSError:
            worker = None
        for index, chunk in enumerate(chunks):
            done = 0
            while done < len(chunk):
                answer = _read_some(worker.stdout, len(chunk) - done) if worker else None
                if not answer:  # the worker is gone: the rest in process
                    self.close()
                    yield from map(_verify, chunk[done:])
                    for rest in chunks[index + 1 :]:
                        yield from map(_verify, rest)
                    return
                done += len(answer)
                yield from (b == 1 for b in answer)

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            try:
                worker.stdin.close()
            except OSError:
                pass
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            worker.stdout.close()

    def __enter__(self) -> ProcessChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send(pipe: BinaryIO, chunks: list[list[Transaction]]) -> None:
    try:
        for chunk in chunks:
            pipe.write(_chunk_bytes(chunk))
            pipe.flush()
    except (OSError, ValueError):
        pass  # the worker is gone; the reader finds out and verifies in process


def _read_some(pipe: BinaryIO, n: int) -> bytes | None:
    """Between 1 and ``n`` bytes, as soon as any are there (None: the pipe is closed)."""
    try:
        return pipe.read1(n) or None  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return None


def _read_exactly(pipe: BinaryIO, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            more = pipe.read(n - len(data))
        except (OSError, ValueError):
            return None
        if not more:
            return None
        data += more
    return data


def _serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The worker: answer chunks until its input closes."""
    while True:
        head = _read_exactly(inp, 4)
        if head is None:
            return
        verdicts = bytearray()
        for _ in range(_U32.unpack(head)[0]):
            key_sig = _read_exactly(inp, crypto.PUBLIC_KEY_SIZE + crypto.SIGNATURE_SIZE + 4)
            if key_sig is None:
                return
            key, sig = key_sig[:32], key_sig[32:96]
            payload = _read_exactly(inp, _U32.unpack(key_sig[96:])[0]) or b""
            verdicts.append(1 if crypto.verify(key, payload, sig) else 0)
            if len(verdicts) == STREAM:
                out.write(bytes(verdicts))
                out.flush()
                verdicts.clear()
        if verdicts:
            out.write(bytes(verdicts))
            out.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
