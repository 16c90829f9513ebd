"""State tree benchmarks (deed.vm.smt): commit of a block of 100 changes and
of 100 transfers (200 changes) at 10^3,
10^4 and 10^5 entries, the first block after reopening, proof size and
verification time. The 10^6 case is ``benchmarks/state_scale.py``.

Run: .venv/bin/python -m pytest benchmarks/test_state_benchmarks.py --benchmark-only
"""

from __future__ import annotations

import itertools
import random

import pytest
from state_scale import block_writes, build, commit_block, entry_key

from deed.vm.proof import verify
from deed.vm.state import SqliteBackend, StateDB

SIZES = [1_000, 10_000, 100_000]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}_entries")
def built(request, tmp_path_factory):
    n = request.param
    path = tmp_path_factory.mktemp(f"state{n}") / "state.db"
    db = build(path, n)
    return n, path, db


@pytest.mark.parametrize(
    "changes", [100, 200], ids=["100_changes", "100_transfers"]
)  # a transfer changes two accounts
def test_commit_of_a_block(benchmark, built, changes):
    n, _, db = built
    rnd = random.Random(n + changes)
    rounds = itertools.count(changes * 1000)
    benchmark.pedantic(
        commit_block,
        setup=lambda: ((db, block_writes(n, rnd, next(rounds), changes)), {}),
        rounds=30,
    )
    benchmark.extra_info["entries"] = n
    benchmark.extra_info["changed_entries"] = changes


def test_proof_size_and_verification(benchmark, built):
    n, _, db = built
    key = entry_key(n // 2)
    value = db.backend.get(key)
    root = db.state_root()
    proof = db.prove(key).encode()
    assert benchmark(verify, root, key, value, proof)
    benchmark.extra_info["proof_bytes"] = len(proof)
    benchmark.extra_info["absent_proof_bytes"] = len(db.prove(b"absent").encode())


def test_first_block_after_reopening(benchmark, built):
    n, path, db = built
    rnd = random.Random(n + 1)
    rounds = itertools.count(10_000)

    def reopen():
        again = StateDB(SqliteBackend(path))
        return (again, block_writes(n, rnd, next(rounds))), {}

    db.backend.close()  # the last test of each size: the fixture's StateDB is done
    benchmark.pedantic(commit_block, setup=reopen, rounds=10)
    benchmark.extra_info["entries"] = n
