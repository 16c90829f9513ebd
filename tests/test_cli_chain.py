"""The local chain under concurrent commands, and chain files that are missing, foreign or damaged."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time

import pytest
from cli_support import (
    COUNTER,
    LocalChain,
    assert_sound,
    deed_process,
    new_chain,
    run,
    write_source,
)

from deed.cli import local
from deed.cli.local import DEV_FUNDS

KEYS = ("k0", "k1", "k2", "k3")


@pytest.fixture
def counter(tmp_path) -> tuple[LocalChain, str]:
    chain = new_chain(tmp_path / "home", KEYS)
    return chain, chain.deploy(write_source(tmp_path, "counter.deed", COUNTER), sender="k0")


def test_concurrent_sends_all_land_exactly_once(counter):
    chain, address = counter
    # 10 processes at once; two or three per key, so they race for each nonce
    increments = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    procs = [
        deed_process("send", address, "bump", by, "--from", KEYS[i % 4], home=chain.home)
        for i, by in enumerate(increments)
    ]
    outputs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, out, err in outputs:
        assert code == 0, out + err
        assert "Traceback" not in err
    # every bump returned the running total after it: in some serial order, each seen once
    returned = sorted(int(re.search(r"returned (\d+)", out).group(1)) for _, out, _ in outputs)
    assert sorted(b - a for a, b in zip([0, *returned], returned, strict=False)) == increments
    assert chain.run("call", address, "total").output.strip() == str(sum(increments))
    assert assert_sound(chain.path) == 1 + len(increments)  # the deploy, then a block a send
    c = chain.open()
    try:
        nonces = [c.nonce(_address(chain, k)) for k in KEYS]
        assert nonces == [4, 3, 2, 2]  # k0 deployed too
        # each sender proposed its own block, so its fees came back: no value was lost
        assert all(c.balance(_address(chain, k)) == DEV_FUNDS for k in KEYS)
    finally:
        c.backend.close()


def _address(chain: LocalChain, name: str) -> bytes:
    return local.KeyStore(chain.home).address(name)


def test_concurrent_deploys_and_sends_from_one_key(counter, tmp_path):
    chain, address = counter
    source = tmp_path / "counter.deed"
    procs = [deed_process("deploy", source, "--from", "k1", home=chain.home) for _ in range(3)]
    procs += [
        deed_process("send", address, "bump", 1, "--from", "k1", home=chain.home) for _ in range(3)
    ]
    outputs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in outputs), outputs
    deployed = {re.search(r"contract (0x[0-9a-f]{40})", out).group(1) for _, out, _ in outputs[:3]}
    assert len(deployed) == 3  # three nonces, three addresses
    assert chain.run("call", address, "total").output.strip() == "3"
    assert chain.run("balance", "@k1").output.strip().endswith("nonce 6")
    assert assert_sound(chain.path) == 1 + 6


def test_readers_do_not_wait_for_a_writer(counter):
    chain, address = counter
    fd = os.open(local.lock_path(chain.path), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer holds the lock
        start = time.monotonic()
        r = chain.run("call", address, "total")
        assert r.exit_code == 0 and r.output.strip() == "0"
        assert chain.run("balance", "@k0").exit_code == 0
        assert chain.run("chain", "info").exit_code == 0
        assert time.monotonic() - start < 5
        # a second writer waits, and gives up cleanly (exit 1) when told to wait only briefly
        r = chain.run("send", address, "bump", 1, "--from", "k1", env={"DEED_LOCK_TIMEOUT": "0.2"})
        assert r.exit_code == 1 and "is busy" in r.output
    finally:
        os.close(fd)
    assert chain.run("send", address, "bump", 1, "--from", "k1").exit_code == 0


def test_a_reader_sees_one_snapshot_while_a_writer_commits(counter):
    chain, address = counter
    to = bytes.fromhex(address[2:])
    with local.reading(chain.path) as c:  # reads the head (block 1: count 0)...
        writer = deed_process("send", address, "bump", 5, "--from", "k1", home=chain.home)
        assert writer.wait(timeout=60) == 0, writer.communicate()  # not blocked by the reader
        # ...and the state read after the writer committed is still block 1's, never a mix
        assert c.head.height == 1
        assert c.call(to, "total").return_values == (0,)
    assert chain.run("call", address, "total").output.strip() == "5"


def test_concurrent_chain_init_creates_one_chain(tmp_path):
    home = tmp_path / "home"
    LocalChain(home).run("keys", "new", "alice")
    procs = [deed_process("chain", "init", home=home) for _ in range(4)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 2, 2, 2]
    assert assert_sound(home / "chain.db") == 0


# --------------------------------------------------------------------------- chain files


READERS = (("call", "0x" + "11" * 20, "total"), ("balance", "@alice"), ("chain", "info"))
WRITERS = (("send", "0x" + "11" * 20, "total", "--from", "alice"),)


def _chain_commands(tmp_path):
    source = write_source(tmp_path, "counter.deed", COUNTER)
    return [*READERS, *WRITERS, ("deploy", source, "--from", "alice")]


def test_a_missing_chain_is_a_usage_error(tmp_path):
    chain = LocalChain(tmp_path / "home")
    chain.run("keys", "new", "alice")
    for command in _chain_commands(tmp_path):
        r = chain.run(*command)
        assert r.exit_code == 2, (command, r.output)
        assert "no chain at" in r.output and "deed chain init" in r.output
    assert not chain.path.exists() and not local.lock_path(chain.path).exists()


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "not an SQLite database"),
        (b"garbage, not a database" * 100, "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "damaged"),
    ],
)
def test_a_file_that_is_not_a_chain_is_a_usage_error_and_is_left_alone(tmp_path, content, message):
    chain = LocalChain(tmp_path / "home")
    chain.run("keys", "new", "alice")
    chain.path.write_bytes(content)
    for command in _chain_commands(tmp_path):
        r = chain.run(*command)
        assert r.exit_code == 2, (command, r.output)
        assert message in r.output
    assert chain.path.read_bytes() == content
    assert not local.lock_path(chain.path).exists()  # nothing written beside it either


def test_another_sqlite_database_is_refused_and_not_written(tmp_path):
    chain = LocalChain(tmp_path / "home")
    chain.run("keys", "new", "alice")
    db = sqlite3.connect(chain.path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
    db.commit()
    db.close()
    for command in _chain_commands(tmp_path):
        r = chain.run(*command)
        assert r.exit_code == 2 and "SQLite file without its tables" in r.output
    db = sqlite3.connect(chain.path)
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["invoices"]
    db.close()


def _damage(path, sql: str, *params) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def test_a_chain_without_genesis_or_with_a_garbage_head_is_refused(counter):
    chain, address = counter
    _damage(chain.path, "UPDATE meta SET value = ? WHERE name = 'head'", b"\x01garbage")
    r = chain.run("call", address, "total")
    assert r.exit_code == 2 and "head block does not decode" in r.output
    _damage(chain.path, "DELETE FROM meta WHERE name = 'head'")
    r = chain.run("send", address, "bump", 1, "--from", "k0")
    assert r.exit_code == 2 and "no genesis block" in r.output


def test_garbage_in_the_state_is_reported_as_damage(counter):
    chain, address = counter
    assert chain.run("send", address, "bump", 3, "--from", "k0").exit_code == 0
    # every storage cell garbage: reading any of them fails to decode
    _damage(chain.path, "UPDATE state SET value = x'07ff' WHERE substr(key, 1, 1) = x'73'")
    r = chain.run("call", address, "total")
    assert r.exit_code == 2 and "is damaged" in r.output, r.output


def test_damaged_pages_are_reported_as_damage(counter):
    chain, _ = counter
    _damage(chain.path, "PRAGMA journal_mode=DELETE")
    data = bytearray(chain.path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the schema's
    chain.path.write_bytes(bytes(data))
    for command in (("balance", "@k0"), ("send", "0x" + "11" * 20, "f", "--from", "k0")):
        r = chain.run(*command)
        assert r.exit_code == 2 and "is damaged" in r.output, r.output


def test_chain_init_refuses_an_existing_file(tmp_path):
    chain = new_chain(tmp_path / "home")
    before = chain.path.read_bytes()
    r = chain.run("chain", "init")
    assert r.exit_code == 2 and "exists already" in r.output
    assert chain.path.read_bytes() == before


def test_chain_init_with_a_damaged_key_leaves_no_file(tmp_path):
    chain = LocalChain(tmp_path / "home")
    chain.run("keys", "new", "alice")
    (chain.home / "keys" / "bob.key").write_text("not a seed\n")
    r = chain.run("chain", "init")
    assert r.exit_code == 2 and "bob.key is damaged" in r.output
    assert not chain.path.exists()


def test_demo_replaces_a_chain_but_never_another_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    r = run("demo", "--chain", notes)
    assert r.exit_code == 2 and "not a Deed chain" in r.output
    assert notes.read_text() == "my notes"
