"""py-evm's block commit on SQLite, for ``state_scale.py --pyevm``: the same
blocks as Deed's (100 and 200 changed accounts among N) on py-evm's state
(``AccountDB``: a hexary Patricia trie, incremental), to compare in one run.

Runs under the anchors' venv (py-evm is not a Deed dependency):

    /tmp/deed-anchors-venv/bin/python benchmarks/state_scale_pyevm.py 1000 10000 [--json PATH]

The trie's nodes live in one SQLite table (WAL, ``synchronous=NORMAL``, as
Deed's backend); a block's writes are one SQLite transaction. A block's
commit is ``make_state_root`` + ``persist`` + that transaction, the work
Deed's commit figure covers (the root, then the atomic write).
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

BUILD_BATCH = 10_000


class SqliteKV(BaseDB):
    """A key-value store on one SQLite table; writes wait in memory until
    :meth:`flush` commits them in one transaction."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-32768")  # Deed's backend's page cache
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
        )
        self.pending: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self.pending:
            value = self.pending[key]
            if value is None:
                raise KeyError(key)
            return value
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        self.pending[key] = None

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def flush(self) -> None:
        upserts = [(k, v) for k, v in self.pending.items() if v is not None]
        deletes = [(k,) for k, v in self.pending.items() if v is None]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", upserts)
        self.db.executemany("DELETE FROM kv WHERE key = ?", deletes)
        self.db.execute("COMMIT")
        self.pending.clear()

    def close(self) -> None:
        self.db.close()


def address(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()[:20]


def commit(state: AccountDB, kv: SqliteKV) -> bytes:
    state.persist()  # make_state_root, then the trie's nodes into kv
    kv.flush()
    return state.state_root


def measure(n: int, rounds: int = 64) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pyevm.db"
        kv = SqliteKV(path)
        state = AccountDB(AtomicDB(kv))
        t0 = time.perf_counter()
        for start in range(0, n, BUILD_BATCH):
            for i in range(start, min(n, start + BUILD_BATCH)):
                state.set_balance(address(i), 10**18)
            commit(state, kv)
        build_s = time.perf_counter() - t0
        rnd = random.Random(n)
        times: dict[int, list[float]] = {100: [], 200: []}
        written: dict[bytes, int] = {}
        for r in range(rounds):  # the two block sizes in turn, as state_scale.py
            for changes, samples in times.items():
                for _ in range(changes):
                    a, balance = address(rnd.randrange(n)), 2 * r + changes + rnd.randrange(10**6)
                    state.set_balance(a, balance)
                    written[a] = balance
                t = time.perf_counter()
                commit(state, kv)
                samples.append(time.perf_counter() - t)
        root = state.state_root
        kv.close()
        t = time.perf_counter()
        kv = SqliteKV(path)
        again = AccountDB(AtomicDB(kv), root)
        for _ in range(100):
            a = address(rnd.randrange(n))
            again.set_balance(a, 7)
            written[a] = 7
        commit(again, kv)
        reopen_s = time.perf_counter() - t
        checked = AccountDB(AtomicDB(kv), again.state_root)
        for a, balance in list(written.items())[-300:]:  # what was written reads back
            assert checked.get_balance(a) == balance, a.hex()
        kv.close()
    figures: dict[str, float | int] = {"entries": n, "build_s": build_s}
    for changes, samples in times.items():
        ms = sorted(x * 1000 for x in samples)
        name = "commit" if changes == 100 else "commit_100_transfers"
        figures[f"{name}_ms_median"] = statistics.median(ms)
        figures[f"{name}_ms_min"] = ms[0]
        figures[f"{name}_ms_mean"] = statistics.mean(ms)
        figures[f"{name}_ms_p90"] = ms[int(len(ms) * 0.9)]
        figures[f"{name}_ms_max"] = ms[-1]
    figures["reopen_first_block_ms"] = reopen_s * 1000
    return figures


def main(argv: list[str]) -> None:
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    results = []
    for n in [int(a) for a in argv] or [1_000, 10_000, 100_000]:
        result = measure(n)
        results.append(result)
        print(
            " ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
            ),
            flush=True,
        )
    if out is not None:
        out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
