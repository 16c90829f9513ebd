"""The state tree (deed.vm.smt) and its proofs (deed.vm.proof): the stored,
incremental tree gives the root of the definition in spec/vm.md, proofs of
present and absent keys verify and nothing else does, and pruning bounds
the stored nodes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deed.vm.errors import StateError
from deed.vm.proof import (
    EMPTY,
    StateProof,
    bit,
    key_path,
    leaf_node_hash,
    node_hash,
    value_hash,
    verify,
)
from deed.vm.state import MemoryBackend, SqliteBackend, StateDB


def reference_root(entries: dict[bytes, bytes]) -> bytes:
    """The root straight from its definition: no nodes, no versions."""
    leaves = sorted((key_path(k), value_hash(v)) for k, v in entries.items())

    def subtree(items: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not items:
            return EMPTY
        if len(items) == 1:
            return leaf_node_hash(*items[0])
        left = [i for i in items if not bit(i[0], depth)]
        right = [i for i in items if bit(i[0], depth)]
        return node_hash(subtree(left, depth + 1), subtree(right, depth + 1))

    return subtree(leaves, 0)


keys = st.binary(min_size=1, max_size=6)
values = st.binary(min_size=0, max_size=8)
blocks = st.lists(st.dictionaries(keys, st.none() | values, max_size=12), min_size=1, max_size=6)


def apply(model: dict[bytes, bytes], writes: dict[bytes, bytes | None]) -> None:
    for k, v in writes.items():
        if v is None:
            model.pop(k, None)
        else:
            model[k] = v


def test_the_empty_root_and_a_one_entry_root_follow_the_definition():
    db = StateDB(MemoryBackend())
    assert db.state_root() == EMPTY == bytes(32)
    db.commit(writes={b"k": b"v"})
    assert db.state_root() == leaf_node_hash(key_path(b"k"), value_hash(b"v"))


@settings(max_examples=40, deadline=None)
@given(blocks)
def test_the_incremental_root_is_the_defined_root(blocks):
    db = StateDB(MemoryBackend())
    plain = StateDB(MemoryBackend())  # no node keeps its inner hashes: all rehashed
    plain.tree.TOP_DEPTH = -1
    model: dict[bytes, bytes] = {}
    for writes in blocks:
        apply(model, writes)
        root = db.state_root(writes)  # prepared, then reused by commit
        db.commit(writes=writes)
        plain.commit(writes=writes)
        assert root == db.state_root() == plain.state_root() == reference_root(model)


@settings(max_examples=25, deadline=None)
@given(blocks, st.randoms(use_true_random=False))
def test_the_root_does_not_depend_on_the_order_of_writes(blocks, rnd):
    a, b = StateDB(MemoryBackend()), StateDB(MemoryBackend())
    for writes in blocks:
        items = list(writes.items())
        rnd.shuffle(items)
        a.commit(writes=writes)
        b.commit(writes=dict(items))
    assert a.state_root() == b.state_root()


def test_reopening_sqlite_reads_the_root_from_the_stored_tree(tmp_path):
    db = StateDB(SqliteBackend(tmp_path / "s.db"))
    model = {}
    for i in range(5):
        writes = {f"k{j}".encode(): f"{i}-{j}".encode() for j in range(i * 7, i * 7 + 30)}
        apply(model, writes)
        db.commit(writes=writes)
    db.backend.close()
    again = StateDB(SqliteBackend(tmp_path / "s.db"))
    assert again.version == 4 and again.state_root() == reference_root(model)
    again.commit(writes={b"k3": None, b"new": b"1"})
    apply(model, {b"k3": None, b"new": b"1"})
    assert again.state_root() == reference_root(model)


def test_a_failed_commit_leaves_tree_and_state_in_step(tmp_path):
    backend = SqliteBackend(tmp_path / "s.db")
    db = StateDB(backend)
    db.commit(writes={b"ca": b"1", b"cb": b"2"})
    root = db.state_root()

    class Broken:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if sql.startswith("INSERT OR REPLACE INTO stale_nodes"):  # after state and nodes
                raise OSError("disk gone")
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)

    backend.db = Broken(backend.db)
    db.write(b"ca", b"changed")
    with pytest.raises(OSError):
        db.commit()
    fresh = StateDB(SqliteBackend(tmp_path / "s.db"))
    assert fresh.state_root() == root and fresh.backend.get(b"ca") == b"1"


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(keys, values, min_size=0, max_size=20), st.lists(keys, max_size=5))
def test_proofs_of_present_and_absent_keys_verify(entries, absent):
    db = StateDB(MemoryBackend())
    db.commit(writes=dict(entries))
    root = db.state_root()
    for key, value in entries.items():
        proof = db.prove(key)
        assert verify(root, key, value, proof)
        assert verify(root, key, value, proof.encode())
        assert StateProof.decode(proof.encode()) == proof
        assert not verify(root, key, None, proof)
        assert not verify(root, key, value + b"x", proof)
    for key in absent:
        if key not in entries:
            proof = db.prove(key)
            assert verify(root, key, None, proof.encode())
            assert not verify(root, key, b"", proof)
            for other in list(entries)[:3]:  # another key, present: its absence is false
                assert not verify(root, other, None, proof)


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(keys, values, min_size=1, max_size=20),
    keys,
    st.data(),
)
def test_any_change_to_a_proof_or_its_inputs_fails(entries, extra, data):
    db = StateDB(MemoryBackend())
    db.commit(writes=dict(entries))
    root = db.state_root()
    key = data.draw(st.sampled_from(sorted(entries)))
    value = entries[key]
    for k, v in ((key, value), (extra, entries.get(extra))):
        encoded = db.prove(k).encode()
        i = data.draw(st.integers(0, len(encoded) - 1))
        flipped = bytearray(encoded)
        flipped[i] ^= data.draw(st.integers(1, 255))
        assert not verify(root, k, v, bytes(flipped))
        assert not verify(root, k, v, encoded[:i])
        assert not verify(root, k, v, encoded + b"\x00")
        j = data.draw(st.integers(0, 31))
        assert not verify(root[:j] + bytes([root[j] ^ 1]) + root[j + 1 :], k, v, encoded)
    proof = db.prove(key)
    assert not verify(root, key, value + b"\x00", proof)
    for other in entries:
        if other != key:
            assert not verify(root, other, value, proof)
            assert not verify(root, other, entries[other], proof)


def test_old_versions_stay_provable_and_pruning_bounds_the_nodes(tmp_path):
    for backend in (MemoryBackend(), SqliteBackend(tmp_path / "p.db")):
        db = StateDB(backend, keep_versions=4)
        db.PRUNE_EVERY = 8
        roots, counts = [], []
        for i in range(80):  # the same 50 keys rewritten every version
            db.commit(writes={f"k{j}".encode(): f"{i}.{j}".encode() for j in range(50)})
            roots.append(db.state_root())
            counts.append(node_count(backend))
        # without pruning the count would grow with every version
        assert max(counts[40:]) <= max(counts[:40]) < 2 * counts[11]
        assert counts[-1] < counts[7] * 2  # pruned at 72: kept 69 to 72, then 73 to 79
        for version in range(76, 80):
            proof = db.prove(b"k7", version)
            assert verify(roots[version], b"k7", f"{version}.7".encode(), proof)
        with pytest.raises(StateError, match="pruned"):
            db.prove(b"k7", 75)
        with pytest.raises(StateError, match="no state version"):
            db.prove(b"k7", 80)


def test_without_pruning_every_version_stays_provable():
    db = StateDB(MemoryBackend(), keep_versions=None)
    roots = []
    for i in range(20):
        db.commit(writes={b"k": str(i).encode(), str(i).encode(): b"x"})
        roots.append(db.state_root())
    for version in range(20):
        assert verify(roots[version], b"k", str(version).encode(), db.prove(b"k", version))
        assert verify(
            roots[version], b"19", None if version < 19 else b"x", db.prove(b"19", version)
        )


def node_count(backend) -> int:
    if isinstance(backend, MemoryBackend):
        return len(backend.nodes)
    return backend.db.execute("SELECT COUNT(*) FROM tree_nodes").fetchone()[0]


def test_the_verifier_imports_without_the_vm():
    code = (
        "import sys, deed.vm.proof\n"
        "bad = [m for m in sys.modules if m.startswith('deed.') and m not in"
        " ('deed.vm', 'deed.vm.proof')]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_deeper_tree_follows_the_definition_through_inserts_and_deletes():
    """Thousands of entries: leaves four and five nibbles deep, below the
    levels whose nodes keep their inner hashes."""
    db = StateDB(MemoryBackend())
    model: dict[bytes, bytes] = {}
    for block in range(4):
        writes: dict[bytes, bytes | None] = {
            i.to_bytes(4, "big"): bytes([block]) for i in range(block * 1000, block * 1000 + 2000)
        }
        writes.update({i.to_bytes(4, "big"): None for i in range(0, block * 900, 3)})
        apply(model, writes)
        db.commit(writes=writes)
        assert db.state_root() == reference_root(model)
    key = (3100).to_bytes(4, "big")
    assert verify(db.state_root(), key, model[key], db.prove(key))


def test_the_spec_test_vectors():
    """spec/vm.md section 9 quotes these: a change to the definition shows here."""
    db = StateDB(MemoryBackend())
    db.commit(writes={b"a": b"1"})
    assert db.state_root().hex() == (
        "565388d4bc00257133f799d9366ac97f6e949c18acc53d17457f8859ba0f08d3"
    )
    db.commit(writes={b"b": b"2", b"c": b""})
    root = db.state_root()
    assert root == reference_root({b"a": b"1", b"b": b"2", b"c": b""})
    assert root.hex() == "5b2a708d00e40c86ca85da5d814d28201b2e9c64ecea74be56b46c5c77dd4ad3"


def test_the_empty_state_proves_absence_only():
    db = StateDB(MemoryBackend())
    db.commit()  # version 0: no entries
    proof = db.prove(b"x")
    assert proof == StateProof((), None)
    assert verify(EMPTY, b"x", None, proof) and not verify(EMPTY, b"x", b"", proof)
