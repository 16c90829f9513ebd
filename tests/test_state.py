"""The state store: both backends agree, checkpoints nest, blocks commit
atomically, and the state root is the same everywhere."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from support import Harness, asm_module

from deed.vm.state import EMPTY_ROOT, MemoryBackend, SqliteBackend, StateDB, WalCheckpointer

keys = st.binary(min_size=1, max_size=3).map(lambda k: b"s" + bytes(20) + k)
cells = st.one_of(st.none(), st.integers(-(2**70), 2**70).filter(bool), st.binary(max_size=5))


class CheckpointMachine(RuleBasedStateMachine):
    """StateDB against a model: a stack of dict snapshots."""

    def __init__(self):
        super().__init__()
        self.db = StateDB(MemoryBackend())
        self.model = {}
        self.marks = []  # (journal mark, model snapshot)

    @rule(key=keys, value=cells)
    def write(self, key, value):
        self.db.write(key, value)
        self.model[key] = value

    @rule()
    def checkpoint(self):
        self.marks.append((self.db.checkpoint(), dict(self.model)))

    @precondition(lambda self: self.marks)
    @rule()
    def revert(self):
        mark, snapshot = self.marks.pop()
        self.db.revert_to(mark)
        self.model = snapshot

    @precondition(lambda self: self.marks)
    @rule()
    def keep(self):
        self.marks.pop()  # success of an inner call: its writes stay in the outer one

    @rule()
    def commit(self):
        self.db.commit()
        self.marks.clear()

    @invariant()
    def reads_match(self):
        for key, value in self.model.items():
            assert self.db.read(key) == value


TestCheckpoints = CheckpointMachine.TestCase
TestCheckpoints.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


@given(st.lists(st.tuples(keys, cells), max_size=30), st.integers(1, 4))
def test_state_root_is_the_same_for_both_backends(tmp_path_factory, writes, blocks):
    path = tmp_path_factory.mktemp("db") / "state.db"
    dbs = [StateDB(MemoryBackend()), StateDB(SqliteBackend(path))]
    chunk = max(1, len(writes) // blocks)
    for i in range(0, len(writes), chunk):
        for db in dbs:
            for k, v in writes[i : i + chunk]:
                db.write(k, v)
            db.commit()
    assert dbs[0].state_root() == dbs[1].state_root()
    assert dbs[0].entries() == dbs[1].entries()
    # the root depends only on the entries: a fresh reader computes the same
    assert StateDB(SqliteBackend(path)).state_root() == dbs[0].state_root()
    dbs[1].backend.close()


def test_empty_state_has_the_empty_root():
    assert StateDB(MemoryBackend()).state_root() == EMPTY_ROOT


def test_root_changes_with_any_entry_and_not_with_order():
    a, b = StateDB(MemoryBackend()), StateDB(MemoryBackend())
    a.write(b"s1", 1)
    a.write(b"s2", 2)
    b.write(b"s2", 2)
    b.write(b"s1", 1)
    assert a.state_root() == b.state_root()
    b.write(b"s1", 3)
    assert a.state_root() != b.state_root()


class _FailingConnection:
    """Passes everything to SQLite but fails on the first DELETE: a crash mid-block."""

    def __init__(self, db):
        self.db = db

    def executemany(self, sql, rows):
        if sql.startswith("DELETE"):
            raise OSError("disk gone")
        return self.db.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_a_block_that_fails_halfway_through_its_commit_leaves_nothing(tmp_path):
    backend = SqliteBackend(tmp_path / "s.db")
    db = StateDB(backend)
    db.write(b"s1", 1)
    db.commit({"head": b"one"})
    db.write(b"s2", 2)  # an upsert, written before the failure
    db.write(b"s1", None)  # a delete, where the failure strikes
    backend.db = _FailingConnection(backend.db)
    with pytest.raises(OSError):
        db.commit({"head": b"two"})
    fresh = SqliteBackend(tmp_path / "s.db")
    assert fresh.get(b"s1") is not None and fresh.get(b"s2") is None
    assert fresh.get_meta("head") == b"one"


SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from support import Harness, asm_module
    from deed.vm.state import SqliteBackend, MemoryBackend
    h = Harness(backend={backend})
    tok = h.deployed(asm_module("token"))
    for i, name in enumerate(["bob", "carol", "dave"]):
        assert h.send("alice", tok, "mint", [h.addr(name), 10 + i]).success
    h.send("bob", tok, "transfer", [h.addr("carol"), 3])
    print(h.next_block().state_root.hex(), h.chain.prove(b"a" + h.addr("bob")).encode().hex())
    """
)


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_state_root_is_the_same_across_processes_and_hash_seeds(seed, tmp_path):
    tests = os.path.dirname(__file__)
    roots = set()
    for backend in ("MemoryBackend()", f"SqliteBackend({str(tmp_path / 'c.db')!r})"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(tests=tests, backend=backend)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        roots.add(out.stdout.strip())
        (tmp_path / "c.db").unlink(missing_ok=True)
    # and in this process
    h = Harness()
    tok = h.deployed(asm_module("token"))
    for i, name in enumerate(["bob", "carol", "dave"]):
        h.send("alice", tok, "mint", [h.addr(name), 10 + i])
    h.send("bob", tok, "transfer", [h.addr("carol"), 3])
    root = h.next_block().state_root.hex()
    roots.add(f"{root} {h.chain.prove(b'a' + h.addr('bob')).encode().hex()}")
    assert len(roots) == 1  # the root and a proof, byte for byte


def test_sqlite_chain_survives_a_restart(tmp_path):
    path = tmp_path / "chain.db"
    h = Harness(backend=SqliteBackend(path))
    tok = h.deployed(asm_module("token"))
    h.send("alice", tok, "mint", [h.addr("bob"), 42])
    header = h.next_block()
    h.block.abandon()
    h.chain.backend.close()
    from deed.vm.chain import Chain

    again = Chain(SqliteBackend(path))
    assert again.head == header
    assert again.call(tok, "balance_of", [h.addr("bob")]).return_values == (42,)
    assert again.state_root() == header.state_root


def _commit_blocks(db: StateDB, blocks: int, start: int = 0) -> None:
    """Blocks of 50 fresh 1 KiB entries each."""
    for b in range(start, start + blocks):
        for i in range(50):
            db.write(b"c" + b.to_bytes(4, "big") + i.to_bytes(2, "big"), bytes(1024))
        db.commit()


def _checkpoint_threads(path) -> list:
    return [t for t in threading.enumerate() if t.name == f"wal-checkpoint {path}"]


def test_the_write_ahead_log_is_checkpointed_off_the_committing_thread(tmp_path):
    """The committing connection never checkpoints (its automatic checkpoint
    is off): the thread copies the log into the file (which grows only by
    checkpoints) while blocks commit, and stops on close()."""
    path = tmp_path / "s.db"
    backend = SqliteBackend(path)
    assert backend.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    db = StateDB(backend)
    _commit_blocks(db, 100)  # about 5 MB of rows, a log of about 35 MB (below FALLBACK_BYTES)
    assert _checkpoint_threads(path)
    deadline = time.monotonic() + 30
    while path.stat().st_size < 4 * 2**20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= 4 * 2**20
    backend.close()
    assert not _checkpoint_threads(path)
    again = StateDB(SqliteBackend(path))
    assert again.read(b"c" + (99).to_bytes(4, "big") + (49).to_bytes(2, "big")) == bytes(1024)
    again.backend.close()


def test_a_checkpoint_thread_that_falls_behind_is_made_up_by_the_committer(tmp_path, monkeypatch):
    monkeypatch.setattr(WalCheckpointer, "_run", lambda self: None)  # a thread that never works
    monkeypatch.setattr(WalCheckpointer, "FALLBACK_BYTES", 1024 * 1024)
    monkeypatch.setattr(WalCheckpointer, "JOURNAL_LIMIT", 256 * 1024)
    path = tmp_path / "s.db"
    backend = SqliteBackend(path)
    db = StateDB(backend)
    sizes = []
    for start in range(0, 400, 20):
        _commit_blocks(db, 20, start)
        sizes.append((tmp_path / "s.db-wal").stat().st_size)
    # without the fallback the log would pass 20 MB: it stays within a few MB
    assert max(sizes) < 8 * 1024 * 1024
    backend.close()
