"""Random command lines through the CLI: never a traceback, always exit 0, 1 or 2, and the
chain file stays sound; typed arguments are accepted exactly when they fit their types."""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
from cli_support import MULTI, ROOT, TYPES, assert_sound, new_chain, run, write_source
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deed.cli.main import main


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    chain = new_chain(tmp / "home")
    types = chain.deploy(write_source(tmp, "types.deed", TYPES), "first")
    assert run("asm", write_source(tmp, "multi.dasm", MULTI)).exit_code == 0
    multi = chain.deploy(tmp / "multi.deedc")
    (tmp / "latin1.deed").write_bytes(b"contract Caf\xe9:\n    x: u8\n")
    (tmp / "junk.deedc").write_bytes(b"DEED\x00\x01garbage")
    (tmp / "junk.db").write_bytes(b"not a database at all")
    (tmp / "empty.db").write_bytes(b"")
    db = sqlite3.connect(tmp / "other.db")
    db.execute("CREATE TABLE t (x)")
    db.close()
    (tmp / "dir").mkdir()
    files = [
        tmp / name
        for name in (
            "types.deed",
            "latin1.deed",
            "multi.dasm",
            "multi.deedc",
            "junk.deedc",
            "junk.db",
            "empty.db",
            "other.db",
            "dir",
            "missing.deed",
        )
    ]
    return chain, types, multi, tmp, files


OPTIONS = [
    "--from",
    "--value",
    "--gas",
    "--json",
    "--chain",
    "--contract",
    "-o",
    "--abi",
    "--ir",
    "--asm",
    "--fail-on",
    "--print",
    "--sarif",
    "--",
    "-",
    "-h",
    "-1",
    "-x",
    "--nope",
]
WORDS = [
    "alice",
    "bob",
    "@alice",
    "@bob",
    "@nobody",
    "@",
    "set",
    "get_name",
    "get_who",
    "fail",
    "pair",
    "init",
    "0",
    "-0",
    "1",
    "-1",
    "255",
    "256",
    "0x",
    "0x0",
    "0x00",
    "0xdeadbeef",
    "0x" + "ab" * 20,
    "0x" + "ab" * 21,
    "true",
    "maybe",
    "1e3",
    "1_000",
    "Types",
    "high",
    "summary",
    "é",
    "\x00",
    "",
    str(2**256),
    "9" * 400,
]
SOURCE = (ROOT / "contracts" / "token.deed").read_bytes()
ASSEMBLY = (ROOT / "contracts" / "asm" / "token.dasm").read_bytes()
FUNCTIONS = ["set", "get_n", "get_name", "get_who", "get_blob", "fail", "pair", "init", "nope"]


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """A file's bytes with a few bytes changed, cut or inserted."""
    edits = st.lists(
        st.tuples(st.integers(0, max(len(data) - 1, 0)), st.binary(max_size=3)), max_size=4
    )

    def apply(changes) -> bytes:
        out = bytearray(data)
        for at, junk in changes:
            out[at : at + len(junk) or at + 1] = junk
        return bytes(out)

    return st.one_of(edits.map(apply), st.binary(max_size=64))


def files(world) -> st.SearchStrategy[str]:
    return st.sampled_from([str(f) for f in world[4]])


def tokens(world) -> st.SearchStrategy[str]:
    _, types, multi, _, _ = world
    return st.one_of(
        st.sampled_from(WORDS + OPTIONS + FUNCTIONS + [types, multi]),
        files(world),
        st.text(max_size=12),
        st.integers(-(2**260), 2**260).map(str),
        st.binary(max_size=24).map(lambda b: "0x" + b.hex()),
    )


def command_lines(world) -> st.SearchStrategy[list[str]]:
    """Mostly well-shaped command lines (so they get past the parser) with junk in them."""
    _, types, multi, tmp, _ = world
    junk = tokens(world)
    some = st.lists(junk, max_size=5)
    contract = st.one_of(st.sampled_from([types, multi]), junk)
    function = st.one_of(st.sampled_from(FUNCTIONS), junk)
    key = st.one_of(st.sampled_from(["alice", "bob"]), junk)
    a_file = st.one_of(
        files(world), st.just(str(tmp / "fuzz.deed")), st.just(str(tmp / "fuzz.deedc"))
    )
    options = st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["--from"]), key),
            st.tuples(st.sampled_from(["--value", "--gas"]), junk),
            st.tuples(
                st.sampled_from(["--chain", "-o", "--contract"]), st.one_of(files(world), junk)
            ),
            st.tuples(st.sampled_from(["--json", "--abi", "--ir", "--asm", "--gas", "--sarif"])),
        ),
        max_size=3,
    ).map(lambda pairs: [w for pair in pairs for w in pair])

    def line(*parts):
        return st.tuples(*parts, options).map(
            lambda t: [w for p in t for w in ([p] if isinstance(p, str) else p)]
        )

    return st.one_of(
        line(st.just("call"), contract, function, some),
        line(st.just("send"), contract, function, some, st.just(["--from"]), key),
        line(st.just("deploy"), a_file, some, st.just(["--from"]), key),
        line(st.just("balance"), st.one_of(st.sampled_from(["@alice", types]), junk)),
        line(st.sampled_from(["compile", "asm", "disasm", "verify", "analyze"]), a_file),
        line(st.just("keys"), st.sampled_from(["new", "list"]), some),
        line(st.just("chain"), st.sampled_from(["init", "info"]), some),
        st.lists(junk, max_size=8),
    )


@settings(max_examples=150)
@given(data=st.data())
def test_random_command_lines_never_crash(world, data):
    chain, _, _, tmp, _ = world
    (tmp / "fuzz.deed").write_bytes(data.draw(mutated(SOURCE)))
    (tmp / "fuzz.deedc").write_bytes(data.draw(mutated((tmp / "multi.deedc").read_bytes())))
    (tmp / "fuzz.dasm").write_bytes(data.draw(mutated(ASSEMBLY)))
    words = data.draw(command_lines(world))
    with contextlib.chdir(tmp):  # relative outputs (-o, .deedc) land in the sandbox
        result = CliRunner().invoke(
            main, words, env={"DEED_HOME": str(chain.home)}, prog_name="deed"
        )
    shown = f"deed {words!r}\n{result.output}"
    assert result.exit_code in (0, 1, 2), shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.output and "internal error" not in result.output, shown
    assert_sound(chain.path)


# --------------------------------------------------------------------------- typed arguments
# Each strategy draws (text, fits, what the getter then prints); `fits` is computed from the
# type's definition here, not by the CLI's parser.


NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]*|[0-9_]+)")


def _int_text(n: int) -> st.SearchStrategy[str]:
    sign = "-" if n < 0 else ""
    return st.sampled_from([str(n), f"{sign}0x{abs(n):x}", f"{sign}{abs(n):_}"])


def integers(lo: int, hi: int):
    wide = st.one_of(st.integers(lo, hi), st.integers(lo - 2**20, hi + 2**20), st.integers())
    numbers = wide.flatmap(lambda n: _int_text(n).map(lambda t: (t, lo <= n <= hi, str(n))))
    junk = st.text(max_size=6).filter(lambda t: not NUMBER.fullmatch(t.strip()))
    return st.one_of(numbers, junk.map(lambda t: (t, False, "")))


def booleans():
    good = st.sampled_from([("true", "true"), ("false", "false"), ("1", "true"), ("0", "false")])
    bad = st.text(max_size=6).filter(lambda t: t.strip().lower() not in ("true", "false", "1", "0"))
    return st.one_of(good.map(lambda g: (g[0], True, g[1])), bad.map(lambda t: (t, False, "")))


def hex_bytes(fits):
    return st.binary(max_size=24).map(lambda b: ("0x" + b.hex(), fits(b), "0x" + b.hex()))


def _not_hex(t: str) -> bool:
    return t[:2] not in ("0x", "0X")


def fixed_bytes(n: int):
    text = st.text(max_size=n + 2).filter(_not_hex)
    padded = text.map(lambda t: (t, len(t.encode()) <= n, "0x" + t.encode().ljust(n, b"\0").hex()))
    return st.one_of(hex_bytes(lambda b: len(b) == n), padded)


def bounded_bytes(n: int):
    text = st.text(max_size=n + 2).filter(_not_hex)
    as_text = text.map(lambda t: (t, len(t.encode()) <= n, "0x" + t.encode().hex()))
    return st.one_of(hex_bytes(lambda b: len(b) <= n), as_text)


def strings(n: int):
    return st.text(max_size=n + 4).map(lambda t: (t, len(t.encode()) <= n, t))


SET = [  # the parameters of Types.set and the getter of each
    (integers(0, 255), "get_n"),
    (integers(-(2**15), 2**15 - 1), "get_s"),
    (booleans(), "get_flag"),
    (hex_bytes(lambda b: len(b) == 20), "get_who"),
    (fixed_bytes(4), "get_tag"),
    (bounded_bytes(8), "get_blob"),
    (strings(16), "get_name"),
    (integers(0, 2**256 - 1), "get_big"),
]


@settings(max_examples=60)
@given(st.tuples(*(s for s, _ in SET)))
def test_typed_arguments_are_accepted_exactly_when_they_fit(world, drawn):
    chain, types, _, _, _ = world
    height = assert_sound(chain.path)
    texts = [text for text, _, _ in drawn]
    r = chain.run("send", types, "set", "--from", "alice", "--", *texts)
    assert "Traceback" not in r.output
    if all(fits for _, fits, _ in drawn):
        assert r.exit_code == 0, (texts, r.output)
        printed = [chain.run("call", types, getter).output for _, getter in SET]
        assert printed == [shown + "\n" for _, _, shown in drawn]
    else:
        assert r.exit_code == 2, (texts, r.output)
        assert "is not a valid" in r.output
        assert assert_sound(chain.path) == height
