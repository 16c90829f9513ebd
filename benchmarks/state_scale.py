"""The state tree at scale: commit of a 100-change block, the first block after
reopening, proof size and verification time, and RAM per entry.

Run: .venv/bin/python benchmarks/state_scale.py [entries ...]   (default 1000000)
     .venv/bin/python benchmarks/state_scale.py --pyevm 1000 10000 100000
       (and py-evm's commit of the same blocks, in the anchors' venv, then a
       table side by side; ../shared/anchors/run.sh makes that venv)

The state is built fast by committing entries straight through ``StateDB`` in
big batches into a SQLite file (a temporary directory), then runs
KEEP_VERSIONS + 10 blocks so that pruning is in its steady state. A "100-change
block" rewrites 100 existing account entries (50 transfers of native value);
a "100-transfer block" rewrites 200 (each transfer changes its sender's and
its receiver's account; a token transfer would change 3). RAM per entry
(``ram_bytes_per_entry``) is the growth of resident memory of a fresh process
that opens the chain, commits blocks and reads up to 200,000 entries, divided
by the entries: a node's caches (decoded values, ``StateDB.CACHE_BYTES``; tree
nodes; SQLite's pages) are bounded in bytes, not per entry, and all count.
``ram_with_build_bytes_per_entry`` is the same in the process that built the
state, which keeps what building it in batches of 100,000 left in Python's
allocator.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deed.vm.proof import verify
from deed.vm.state import KEEP_VERSIONS, SqliteBackend, StateDB

BATCH = 100_000
VALUE = bytes(40)


def entry_key(i: int) -> bytes:
    return b"a" + hashlib.sha256(i.to_bytes(8, "big")).digest()[:20]


def block_writes(
    n: int, rnd: random.Random, round_: int, changes: int = 100
) -> dict[bytes, bytes | None]:
    """``changes`` changed entries of the ``n`` present (two per transfer)."""
    return {entry_key(rnd.randrange(n)): round_.to_bytes(40, "big") for _ in range(changes)}


def commit_block(db: StateDB, writes: dict[bytes, bytes | None]) -> None:
    """What a block does with its state: its root, then its commit."""
    db.state_root(writes)
    db.commit(writes=writes)


def build(path: Path, n: int) -> StateDB:
    """A state of ``n`` account-like entries, committed in batches of BATCH
    keeping one tree version (each batch replaces most of the tree above the
    leaves: pruned at once), the file then compacted; then blocks run until
    pruning is in its steady state (each block deletes what one block staled
    KEEP_VERSIONS blocks earlier). Returns the StateDB, keeping the default
    number of versions."""
    db = StateDB(SqliteBackend(path), keep_versions=1)
    for start in range(0, n, BATCH):
        db.commit(writes={entry_key(i): VALUE for i in range(start, min(n, start + BATCH))})
    db.backend.db.execute("VACUUM")
    db.backend.close()
    db = StateDB(SqliteBackend(path))
    rnd = random.Random(-n)
    for r in range(KEEP_VERSIONS + 10):
        commit_block(db, block_writes(n, rnd, 10**6 + r))
    return db


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


NODE_RAM = """
import gc, random, sys
sys.path.insert(0, {here!r})
from state_scale import block_writes, commit_block, entry_key, rss
from deed.vm.state import SqliteBackend, StateDB
n, rounds = {n}, {rounds}
gc.collect()
before = rss()
db = StateDB(SqliteBackend({path!r}))
rnd = random.Random(n + 2)
for r in range(rounds):
    for changes in (100, 200):
        commit_block(db, block_writes(n, rnd, 3 * 10**6 + 2 * r + changes, changes))
for _ in range(min(n, 200_000)):  # what executing transactions reads
    db.read(entry_key(rnd.randrange(n)))
gc.collect()
print((rss() - before) / n)
"""


def node_ram(path: Path, n: int, rounds: int) -> float:
    """Resident memory per entry of a node that opens the chain, commits
    ``rounds`` blocks of each size and reads up to 200,000 entries, in a
    fresh process (the process that built the state holds what building it
    left behind in Python's allocator)."""
    code = NODE_RAM.format(here=str(Path(__file__).parent), n=n, rounds=rounds, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def measure(n: int, rounds: int = 64) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        gc.collect()
        before = rss()
        t0 = time.perf_counter()
        db = build(path, n)
        build_s = time.perf_counter() - t0
        rnd = random.Random(n)
        times: dict[int, list[float]] = {100: [], 200: []}
        for r in range(rounds):  # the two block sizes in turn: the same machine weather
            for changes, samples in times.items():
                writes = block_writes(n, rnd, 2 * r + changes, changes)
                t = time.perf_counter()
                commit_block(db, writes)
                samples.append(time.perf_counter() - t)
        db.backend.close()
        del db
        gc.collect()
        t = time.perf_counter()
        again = StateDB(SqliteBackend(path))
        commit_block(again, block_writes(n, rnd, rounds + 1))
        reopen_s = time.perf_counter() - t
        for r in range(rounds):
            commit_block(again, block_writes(n, rnd, rounds + 2 + r))
        gc.collect()
        ram_with_build = (rss() - before) / n
        key = entry_key(7)
        proof = again.prove(key).encode()
        root = again.state_root()
        value = again.backend.get(key)
        t = time.perf_counter()
        for _ in range(1000):
            assert verify(root, key, value, proof)
        verify_us = (time.perf_counter() - t) * 1000
        again.backend.close()
        ram = node_ram(path, n, rounds)
    figures: dict[str, float | int] = {"entries": n, "build_s": build_s}
    for changes, samples in times.items():
        ms = sorted(x * 1000 for x in samples)
        name = "commit" if changes == 100 else "commit_100_transfers"
        figures[f"{name}_ms_median"] = statistics.median(ms)
        figures[f"{name}_ms_min"] = ms[0]  # the floor, on a machine shared with others
        # the mean and p90 count the blocks that prune (every 16th)
        figures[f"{name}_ms_mean"] = statistics.mean(ms)
        figures[f"{name}_ms_p90"] = ms[int(len(ms) * 0.9)]
        figures[f"{name}_ms_max"] = ms[-1]
    return figures | {
        "reopen_first_block_ms": reopen_s * 1000,
        "ram_bytes_per_entry": ram,  # a node reopening the chain (node_ram)
        "ram_with_build_bytes_per_entry": ram_with_build,
        "proof_bytes": len(proof),
        "verify_us": verify_us,
    }


PYEVM_SCRIPT = Path(__file__).with_name("state_scale_pyevm.py")
DEFAULT_ANCHORS_VENV = Path(tempfile.gettempdir()) / "deed-anchors-venv"


def run_pyevm(sizes: list[int], venv: Path) -> list[dict]:
    """py-evm's figures for ``sizes`` (state_scale_pyevm.py in the anchors' venv)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pyevm.json"
        subprocess.run(
            [str(venv / "bin" / "python"), str(PYEVM_SCRIPT), *map(str, sizes), "--json", str(out)],
            check=True,
        )
        return json.loads(out.read_text())


def side_by_side(deed: list[dict], pyevm: list[dict]) -> str:
    """A markdown table: Deed's and py-evm's commit, median and mean, per block size."""
    rows = [
        "| entries | block | Deed median | Deed mean | py-evm median | py-evm mean "
        "| py-evm / Deed (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for ours, theirs in zip(deed, pyevm, strict=True):
        for name, label in (("commit", "100 changes"), ("commit_100_transfers", "100 transfers")):
            d, p = ours[f"{name}_ms_median"], theirs[f"{name}_ms_median"]
            rows.append(
                f"| {ours['entries']:,} | {label} | {d:.1f} ms | {ours[f'{name}_ms_mean']:.1f} ms "
                f"| {p:.1f} ms | {theirs[f'{name}_ms_mean']:.1f} ms | {p / d:.1f}x |"
            )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("entries", nargs="*", type=int, default=[1_000_000])
    parser.add_argument(
        "--pyevm",
        action="store_true",
        help="also run py-evm's commit on the same sizes (benchmarks/state_scale_pyevm.py)",
    )
    parser.add_argument(
        "--anchors-venv",
        type=Path,
        default=Path(os.environ.get("ANCHORS_VENV", DEFAULT_ANCHORS_VENV)),
        help="the venv with py-evm (../shared/anchors/run.sh makes it)",
    )
    args = parser.parse_args(argv)
    if args.pyevm and not (args.anchors_venv / "bin" / "python").exists():
        print(
            f"no anchors venv at {args.anchors_venv}: ../shared/anchors/run.sh creates it "
            "(or pass --anchors-venv PATH)",
            file=sys.stderr,
        )
        return 2
    results = []
    for n in args.entries:
        result = measure(n)
        results.append(result)
        print(
            "deed "
            + " ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
            ),
            flush=True,
        )
    if args.pyevm:
        print(side_by_side(results, run_pyevm(args.entries, args.anchors_venv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
