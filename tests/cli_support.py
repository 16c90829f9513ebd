"""Helpers for the command-line tests: a local chain with keys and contracts, and
checks that a chain file is sound (what every CLI test asserts after bad input)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from deed.cli.main import main
from deed.vm.chain import Chain
from deed.vm.state import SqliteBackend

ROOT = Path(__file__).parent.parent

COUNTER = """\
contract Counter:
    count: u64

    pub bump(by: u64) -> u64:
        self.count += by
        return self.count

    @view
    pub total() -> u64:
        return self.count
"""

# One parameter and one getter of every value type.
TYPES = """\
contract Types:
    n: u8
    s: i16
    flag: bool
    who: address
    tag: bytes4
    blob: bytes[8]
    name: string[16]
    big: u256

    init(name: string[16]):
        self.name = name

    pub set(n: u8, s: i16, flag: bool, who: address, tag: bytes4, blob: bytes[8], name: string[16], big: u256):
        self.n = n
        self.s = s
        self.flag = flag
        self.who = who
        self.tag = tag
        self.blob = blob
        self.name = name
        self.big = big

    @view
    pub get_n() -> u8:
        return self.n

    @view
    pub get_s() -> i16:
        return self.s

    @view
    pub get_flag() -> bool:
        return self.flag

    @view
    pub get_who() -> address:
        return self.who

    @view
    pub get_tag() -> bytes4:
        return self.tag

    @view
    pub get_blob() -> bytes[8]:
        return self.blob

    @view
    pub get_name() -> string[16]:
        return self.name

    @view
    pub get_big() -> u256:
        return self.big

    pub fail(why: string[16]):
        revert why
"""

# Several return values: the language returns one, a module may return more.
MULTI = """\
.func pair() -> I B B I
    CONST 42
    CONST "a, b"
    CONST 0x0102
    CONST -5
    RET
.export pair() -> u8, string[16], bytes[4], i16 = pair view
"""


def run(*args, env: dict | None = None):
    """Invoke the CLI in-process; fail the test on a traceback or an unexpected exception."""
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, prog_name="deed")
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def deed_process(*args, home: Path, env: dict | None = None) -> subprocess.Popen:
    """The real `deed` in a process of its own (for concurrency)."""
    return subprocess.Popen(
        [sys.executable, "-m", "deed.cli.main", *map(str, args), "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


@dataclass
class LocalChain:
    """A key store and chain in ``home``, with helpers bound to them."""

    home: Path

    @property
    def path(self) -> Path:
        return self.home / "chain.db"

    def run(self, *args, env: dict | None = None):
        """A command with this home (through DEED_HOME, so it works after `--` too)."""
        return run(*args, env={"DEED_HOME": str(self.home), **(env or {})})

    def deploy(self, source: Path, *args: str, sender: str = "alice") -> str:
        r = self.run("deploy", source, *args, "--from", sender)
        assert r.exit_code == 0, r.output
        return re.search(r"contract (0x[0-9a-f]{40})", r.output).group(1)

    def open(self) -> Chain:
        return Chain(SqliteBackend(self.path))


def new_chain(home: Path, keys: tuple[str, ...] = ("alice", "bob")) -> LocalChain:
    local = LocalChain(home)
    for name in keys:
        assert local.run("keys", "new", name).exit_code == 0
    assert local.run("chain", "init").exit_code == 0
    return local


def write_source(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def assert_sound(path: Path) -> int:
    """The chain file passes SQLite's integrity check, every block links to its parent
    and the state root of the head matches the state; returns the head's height."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    backend = SqliteBackend(path)
    try:
        chain = Chain(backend)
        head = chain.head
        assert head is not None
        assert chain.state_root() == head.state_root
        child = head
        for height in range(head.height - 1, -1, -1):
            parent = chain.block_header(height)
            assert parent is not None and child.parent_hash == parent.hash
            child = parent
        return head.height
    finally:
        backend.close()
