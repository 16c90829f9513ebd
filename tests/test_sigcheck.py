"""Signatures checked ahead of execution (in a worker process) change nothing:
the same receipts, refusals, order and state root as checking one by one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deed.vm.chain import Chain, Transaction
from deed.vm.crypto import KeyPair
from deed.vm.errors import InvalidTransaction
from deed.vm.sigcheck import ProcessChecker, RememberingChecker, SerialChecker
from deed.vm.state import MemoryBackend

KEYS = [KeyPair.from_text(f"sigcheck {i}") for i in range(4)]


@pytest.fixture(scope="module")
def worker():
    with ProcessChecker(chunk=3) as checker:  # small chunks: several per block
        yield checker


# one transaction: who sends, to whom, how much, and how its signature is spoilt
transaction = st.tuples(
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 10**6),
    st.sampled_from(["good", "good", "good", "flipped", "short", "other-key"]),
)


def _block(specs) -> list[Transaction]:
    nonces = [0] * len(KEYS)
    out = []
    for sender, receiver, value, spoil in specs:
        key = KEYS[sender]
        tx = Transaction(
            1, nonces[sender], key.public_key, KEYS[receiver].address, value, 30_000, 1
        )
        signed = tx.signed(key)
        if spoil == "flipped":
            sig = bytearray(signed.signature)
            sig[5] ^= 1
            signed = replace(signed, signature=bytes(sig))
        elif spoil == "short":
            signed = replace(signed, signature=signed.signature[:10])
        elif spoil == "other-key":
            stranger = KEYS[(sender + 1) % 4]
            signed = replace(tx, signature=stranger.sign(tx.signing_payload()))
        else:
            nonces[sender] += 1
        out.append(signed)
    return out


def _outcome(txs, checker, one_by_one: bool = False):
    chain = Chain(MemoryBackend())
    chain.genesis({k.address: 10**9 for k in KEYS})
    block = chain.begin_block(10)
    if one_by_one:
        results = []
        for tx in txs:
            try:
                results.append(block.apply(tx))
            except InvalidTransaction as exc:
                results.append(exc)
    else:
        results = block.apply_all(txs, checker)
    header = block.commit()
    shown = [
        ("refused", r.code) if isinstance(r, InvalidTransaction) else ("receipt", r.encode())
        for r in results
    ]
    return shown, header.state_root


@settings(max_examples=30, deadline=None)
@given(st.lists(transaction, max_size=12))
def test_checking_ahead_gives_the_same_block(worker, specs):
    txs = _block(specs)
    expected = _outcome(txs, None, one_by_one=True)
    assert _outcome(txs, SerialChecker()) == expected
    assert _outcome(txs, worker) == expected
    assert _outcome(txs, None) == expected


def test_a_dead_worker_is_replaced_by_checking_in_process(worker):
    txs = _block([(0, 1, 5, "good"), (1, 2, 6, "flipped"), (2, 3, 7, "good")] * 3)
    expected = _outcome(txs, None, one_by_one=True)
    worker._start().kill()  # the worker dies between blocks
    worker._worker.wait()
    assert _outcome(txs, worker) == expected
    assert _outcome(txs, worker) == expected  # and the next block starts a new one


def test_a_large_block_streams_verdicts_within_its_chunks():
    """40 transactions: chunks of 16 and 24, answered 16 verdicts at a time."""
    specs = [(i % 4, (i + 1) % 4, i, "flipped" if i % 7 == 3 else "good") for i in range(40)]
    txs = _block(specs)
    with ProcessChecker() as checker:
        assert _outcome(txs, checker) == _outcome(txs, None, one_by_one=True)


# a worker that answers the first five signatures of its first chunk, then dies
PARTIAL_WORKER = """
import struct, sys
from deed.vm import crypto
inp, out = sys.stdin.buffer, sys.stdout.buffer
count = struct.unpack(">I", inp.read(4))[0]
for _ in range(min(count, 5)):
    key_sig = inp.read(100)
    payload = inp.read(struct.unpack(">I", key_sig[96:])[0])
    out.write(bytes([crypto.verify(key_sig[:32], payload, key_sig[32:96])]))
    out.flush()
"""


def test_a_worker_that_dies_within_a_chunk_is_made_up_in_process(monkeypatch):
    import subprocess
    import sys

    def partial_worker(self):
        if self._worker is None or self._worker.poll() is not None:
            self._worker = subprocess.Popen(
                [sys.executable, "-c", PARTIAL_WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._worker

    monkeypatch.setattr(ProcessChecker, "_start", partial_worker)
    txs = _block([(0, 1, 5, "good"), (1, 2, 6, "flipped"), (2, 3, 7, "good")] * 4)
    with ProcessChecker() as checker:
        assert _outcome(txs, checker) == _outcome(txs, None, one_by_one=True)


class _Counting:
    """A serial checker that records what it was asked."""

    def __init__(self):
        self.asked: list[bytes] = []

    def verdicts(self, txs):
        self.asked += [tx.hash for tx in txs]
        return SerialChecker().verdicts(txs)


@settings(max_examples=30, deadline=None)
@given(st.lists(transaction, max_size=12), st.data())
def test_remembered_signatures_are_not_checked_again(specs, data):
    """A network node remembers the signatures it verified at admission: the
    block comes out the same, and only the others are checked."""
    txs = _block(specs)
    inner = _Counting()
    checker = RememberingChecker(inner)
    valid = [tx for tx, ok in zip(txs, SerialChecker().verdicts(txs), strict=True) if ok]
    remembered = (
        data.draw(st.lists(st.sampled_from(valid), unique_by=lambda t: t.hash)) if valid else []
    )
    for tx in remembered:
        checker.remember(tx.hash)
    assert _outcome(txs, checker) == _outcome(txs, None, one_by_one=True)
    known = {tx.hash for tx in remembered}
    assert inner.asked == [tx.hash for tx in txs if tx.hash not in known]


def test_remembered_signatures_are_bounded():
    txs = _block([(0, 1, v, "good") for v in range(5)])
    inner = _Counting()
    checker = RememberingChecker(inner, capacity=3)
    for tx in txs:
        checker.remember(tx.hash)
    assert list(checker.verdicts(txs)) == [True] * 5
    assert inner.asked == [txs[0].hash, txs[1].hash]  # the oldest two were forgotten
