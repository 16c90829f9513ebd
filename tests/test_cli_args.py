"""Arguments and options of the chain commands: every bad one is a usage error (exit 2)
that says what is wrong and what is expected, and changes nothing; every return type prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_support import (
    MULTI,
    ROOT,
    TYPES,
    LocalChain,
    assert_sound,
    new_chain,
    run,
    write_source,
)

from deed.cli.local import KeyStore

GOOD = ["7", "-3", "true", "@alice", "0x01020304", "0xabcd", "héllo", "5"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A chain with the all-types contract and the several-returns module deployed."""
    tmp = tmp_path_factory.mktemp("args")
    chain = new_chain(tmp / "home")
    types = chain.deploy(write_source(tmp, "types.deed", TYPES), "first")
    assert run("asm", write_source(tmp, "multi.dasm", MULTI)).exit_code == 0
    multi = chain.deploy(tmp / "multi.deedc")
    return chain, types, multi


def _with(i: int, text: str) -> list[str]:
    args = list(GOOD)
    args[i] = text
    return args


BAD_ARGUMENTS = [
    # (argument index in `set`, text, what the message says)
    (0, "256", "out of range; expected an integer from 0 to 255"),
    (0, "-1", "negative, and the type is unsigned"),
    (0, "seven", "not an integer"),
    (0, "1.5", "not an integer"),
    (0, "0x", "not an integer"),
    (0, "9" * 5000, "out of range"),
    (1, "32768", "out of range; expected an integer from -32768 to 32767"),
    (1, "-32769", "out of range"),
    (2, "maybe", "not a boolean; expected true or false"),
    (3, "0x" + "ab" * 19, "19 bytes, an address has 20"),
    (3, "0x" + "ab" * 21, "21 bytes, an address has 20"),
    (3, "0x" + "zz" * 20, "malformed hex"),
    (3, "0xabc", "malformed hex"),
    (3, "@nobody", "no key named nobody"),
    (3, "@../alice", "not a key name"),
    (4, "0x0102", "2 bytes, it has exactly 4"),
    (4, "0x0102030405", "5 bytes, it has exactly 4"),
    (4, "toolong", "7 bytes, it has exactly 4"),
    (5, "0x" + "00" * 9, "9 bytes, it holds at most 8"),
    (5, "nine byte", "9 bytes, it holds at most 8"),
    (5, "0x0g", "malformed hex"),
    (6, "x" * 17, "17 bytes in UTF-8, it holds at most 16"),
    (6, "é" * 9, "18 bytes in UTF-8, it holds at most 16"),
    (6, "bad \udcff byte", "not valid UTF-8 text"),
    (7, "-5", "negative, and the type is unsigned"),
    (7, str(2**256), "out of range; expected an integer from 0 to 2**256-1"),
]


@pytest.mark.parametrize("index,text,message", BAD_ARGUMENTS)
@pytest.mark.parametrize("command", ["send", "call"])
def test_a_bad_argument_is_a_usage_error_that_says_why(world, command, index, text, message):
    chain, types, _ = world
    height = assert_sound(chain.path)
    sender = ["--from", "alice"]
    r = chain.run(command, types, "set", *_with(index, text), *sender)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Usage: deed " + command in r.output
    assert assert_sound(chain.path) == height  # nothing mined


def test_the_good_arguments_are_accepted(world):
    chain, types, _ = world
    r = chain.run("send", types, "set", *GOOD, "--from", "alice")
    assert r.exit_code == 0, r.output
    r = chain.run("call", types, "get_s")
    assert r.output.strip() == "-3"


BAD_COMMAND_LINES = [
    (["set", *GOOD[:-1]], "set takes 8 argument(s) (u8, i16, bool, address, bytes4"),
    (["set", *GOOD, "1"], "got 9"),
    (["nope"], "has no function 'nope'; its functions: set, get_n"),
    (["init", "x"], "has no function 'init'"),
    (["get_n", "--value", "-1"], "'-1' is not a whole number from 0 to 2**256-1"),
    (["get_n", "--value", "1.5"], "is not a whole number"),
    (["get_n", "--value", str(2**256)], "is over 2**256-1"),
    (["get_n", "--gas", "lots"], "'lots' is not a whole number from 0 to 2**63-1"),
    (["get_n", "--gas", "-1"], "is not a whole number"),
    (["get_n", "--gas", "5"], "--gas is under the gas the transaction needs"),
    (["get_n", "--gas", str(2**62)], "--gas is over the block gas limit"),
    (["get_n", "--frm", "alice"], "No such option '--frm'"),
    (["get_n", "-x"], "No such option '-x'"),
]


@pytest.mark.parametrize("words,message", BAD_COMMAND_LINES)
def test_bad_send_command_lines_are_usage_errors(world, words, message):
    chain, types, _ = world
    height = assert_sound(chain.path)
    r = chain.run("send", types, *words, "--from", "alice")
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert assert_sound(chain.path) == height


@pytest.mark.parametrize(
    "address,message",
    [
        ("0x1234", "2 bytes, an address has 20"),
        ("0x" + "12" * 20, "no contract at 0x" + "12" * 20),
        ("hello", "malformed hex"),
        ("@nobody", "no key named nobody"),
    ],
)
@pytest.mark.parametrize("command", ["send", "call"])
def test_a_bad_contract_address_is_a_usage_error(world, command, address, message):
    chain, _, _ = world
    r = chain.run(command, address, "get_n", "--from", "alice")
    assert r.exit_code == 2 and message in r.output, r.output


@pytest.mark.parametrize(
    "sender,message",
    [
        ("nobody", "no key named nobody: create it with `deed keys new nobody`"),
        ("../etc/passwd", "is not a key name"),
        ("x" * 65, "is not a key name"),
        ("", "is not a key name"),
    ],
)
@pytest.mark.parametrize("command", ["send", "call"])
def test_an_unknown_or_malformed_key_name_is_a_usage_error(world, command, sender, message):
    chain, types, _ = world
    r = chain.run(command, types, "get_n", "--from", sender)
    assert r.exit_code == 2 and message in r.output, r.output


def test_a_damaged_key_file_is_a_usage_error(tmp_path):
    chain = LocalChain(tmp_path / "home")
    chain.run("keys", "new", "alice")
    (chain.home / "keys" / "alice.key").write_text("0123")
    for command in (("keys", "list"), ("balance", "@alice"), ("chain", "init")):
        r = chain.run(*command)
        assert r.exit_code == 2 and "alice.key is damaged" in r.output, r.output


def test_keys_new_refuses_a_name_twice_and_bad_names(tmp_path):
    chain = LocalChain(tmp_path / "home")
    assert chain.run("keys", "new", "alice").exit_code == 0
    seed = (chain.home / "keys" / "alice.key").read_text()
    r = chain.run("keys", "new", "alice")
    assert r.exit_code == 2 and "exists already" in r.output
    assert (chain.home / "keys" / "alice.key").read_text() == seed
    for name in ("-x", "a/b", "é", "x" * 65):
        r = run("keys", "new", "--home", chain.home, "--", name)
        assert r.exit_code == 2 and "is not a key name" in r.output, (name, r.output)
    assert KeyStore(chain.home).names() == ["alice"]


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "init takes 1 argument(s) (string[16]), got 0"),
        (["x" * 17], "17 bytes in UTF-8, it holds at most 16"),
        (["ok", "--value", "-1"], "is not a whole number"),
        (["ok", "--gas", "1"], "--gas is under the gas"),
        (["ok", "--from", "nobody"], "no key named nobody"),
    ],
)
def test_bad_deploy_arguments_are_usage_errors(world, tmp_path, args, message):
    chain, _, _ = world
    height = assert_sound(chain.path)
    source = write_source(tmp_path, "types.deed", TYPES)
    sender = [] if "--from" in args else ["--from", "alice"]
    r = chain.run("deploy", source, *args, *sender)
    assert r.exit_code == 2 and message in r.output, r.output
    assert assert_sound(chain.path) == height


# --------------------------------------------------------------------------- files


def test_missing_files_and_directories_are_usage_errors(world, tmp_path):
    chain, _, _ = world
    for command in ("compile", "asm", "disasm", "verify", "analyze"):
        r = run(command, tmp_path / "missing.deed")
        assert r.exit_code == 2 and "does not exist" in r.output, (command, r.output)
        r = run(command, tmp_path)
        assert r.exit_code == 2 and "is a directory" in r.output, (command, r.output)
    r = chain.run("deploy", tmp_path / "missing.deed", "--from", "alice")
    assert r.exit_code == 2 and "does not exist" in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_a_usage_error(tmp_path):
    source = write_source(tmp_path, "secret.deed", TYPES)
    source.chmod(0)
    r = run("compile", source)
    assert r.exit_code == 2 and "not readable" in r.output


def test_an_output_path_that_cannot_be_written_is_a_usage_error(tmp_path):
    source = write_source(tmp_path, "types.deed", TYPES)
    (tmp_path / "file").write_text("")
    r = run("compile", source, "-o", tmp_path / "file" / "out.deedc")
    assert r.exit_code == 2 and "Not a directory" in r.output


@pytest.mark.parametrize("command", ["compile", "analyze", "asm"])
def test_a_source_that_is_not_utf8_fails_cleanly(tmp_path, command):
    # the file's content is judged by the compiler or assembler: exit 1, like a syntax error
    source = tmp_path / "latin1.deed"
    source.write_bytes("contract Caf\xe9:\n    x: u8\n".encode("latin-1"))
    r = run(command, source)
    assert r.exit_code == 1 and "not a UTF-8 text file" in r.output, r.output


def test_a_non_utf8_source_is_refused_by_deploy_before_the_chain(world, tmp_path):
    chain, _, _ = world
    height = assert_sound(chain.path)
    source = tmp_path / "latin1.deed"
    source.write_bytes(b"contract \xff:\n")
    r = chain.run("deploy", source, "--from", "alice")
    assert r.exit_code == 1 and "not a UTF-8 text file" in r.output
    assert assert_sound(chain.path) == height


# --------------------------------------------------------------------------- output


@pytest.fixture(scope="module")
def filled(world):
    chain, types, multi = world
    who = "0x" + KeyStore(chain.home).address("bob").hex()
    args = ["200", "-300", "true", who, "0xdeadbeef", "0x00ff", "a, b é", str(2**256 - 1)]
    r = chain.run("send", types, "set", *args, "--from", "alice")
    assert r.exit_code == 0, r.output
    return chain, types, multi, args


GETTERS = [
    # getter, printed, JSON value; each as the command line takes it back
    ("get_n", "200", 200),
    ("get_s", "-300", -300),
    ("get_flag", "true", True),
    ("get_tag", "0xdeadbeef", "0xdeadbeef"),
    ("get_blob", "0x00ff", "0x00ff"),
    ("get_name", "a, b é", "a, b é"),
    ("get_big", str(2**256 - 1), 2**256 - 1),
]


@pytest.mark.parametrize("getter,printed,as_json", GETTERS)
def test_call_prints_every_return_type(filled, getter, printed, as_json):
    chain, types, _, _ = filled
    r = chain.run("call", types, getter)
    assert r.exit_code == 0 and r.output == printed + "\n", r.output
    r = chain.run("call", types, getter, "--json")
    assert json.loads(r.output)["return_values"] == [as_json]
    r = chain.run("send", types, getter, "--from", "alice", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["return_values"] == [as_json]


def test_call_prints_an_address_and_it_round_trips(filled):
    chain, types, _, args = filled
    r = chain.run("call", types, "get_who")
    assert r.output.strip() == args[3]
    # what call printed is taken back as an argument
    printed = [chain.run("call", types, g).output.strip() for g, _, _ in GETTERS]
    r = chain.run("send", types, "set", *printed[:3], args[3], *printed[3:], "--from", "alice")
    assert r.exit_code == 0, r.output
    assert [chain.run("call", types, g).output.strip() for g, _, _ in GETTERS] == printed


def test_several_return_values(filled):
    chain, _, multi, _ = filled
    r = chain.run("call", multi, "pair")
    assert r.exit_code == 0 and r.output == "42\na, b\n0x0102\n-5\n"
    r = chain.run("call", multi, "pair", "--json")
    assert json.loads(r.output)["return_values"] == [42, "a, b", "0x0102", -5]
    r = chain.run("send", multi, "pair", "--from", "alice")
    assert r.exit_code == 0 and 'returned 42, "a, b", 0x0102, -5' in r.output


def test_a_revert_is_exit_1_with_its_reason(filled):
    chain, types, _, _ = filled
    height = assert_sound(chain.path)
    r = chain.run("call", types, "fail", "no, never")
    assert r.exit_code == 1 and "reverted: no, never" in r.output
    r = chain.run("send", types, "fail", "no, never", "--from", "alice")
    assert r.exit_code == 1 and "reverted: no, never" in r.output
    assert assert_sound(chain.path) == height + 1  # a failed transaction is still mined
    r = chain.run("send", types, "fail", "x", "--from", "alice", "--json")
    assert r.exit_code == 1 and json.loads(r.output)["revert_reason"] == "x"


def test_insufficient_funds_is_a_failure_not_a_usage_error(filled):
    chain, types, _, _ = filled
    r = chain.run("send", types, "get_n", "--from", "alice", "--value", str(2**255))
    assert r.exit_code == 1 and "insufficient_funds" in r.output


def test_balance_and_chain_info(world):
    chain, _, _ = world
    r = chain.run("balance", "@bob", "--json")
    assert r.exit_code == 0 and json.loads(r.output) == {"balance": 10**24, "nonce": 0}
    r = chain.run("chain", "info", "--json")
    info = json.loads(r.output)
    assert info["height"] == assert_sound(chain.path) and info["state_root"].startswith("0x")
    r = chain.run("balance", "0x12")
    assert r.exit_code == 2 and "1 bytes, an address has 20" in r.output


def test_readme_documents_the_exit_codes():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Command line") :]
    for words in ("exit 2", "exit 1", "DEED_LOCK_TIMEOUT", "@keyname", "flock"):
        assert words in section


# --------------------------------------------------------------------------- vm and compiler causes
# Exceptions that vm/ lets through, caught at the CLI boundary (root causes reported to vm/).

BAD_ASSEMBLY = [
    (".func f() -> I\n.maxstack x\n    CONST 1\n    RET\n", "cannot assemble"),  # asm.py int()
    (".func f() -> I\n    CONST 1\n    RET\n.export f() -> u8 = #x view\n", "cannot assemble"),
    (".func f() -> I\n.code 5\n", "cannot assemble"),  # an int as code: TypeError in verify
]


@pytest.mark.parametrize("text,message", BAD_ASSEMBLY)
def test_assembly_the_assembler_chokes_on_fails_cleanly(tmp_path, text, message):
    r = run("asm", write_source(tmp_path, "bad.dasm", text))
    assert r.exit_code == 1 and message in r.output, r.output


def test_disasm_of_a_module_with_an_unknown_type_tag_fails_cleanly(tmp_path):
    # decodes (decode_module does not check type tags) but disassemble cannot name tag 0x48
    module = "44454544000100010166014900014901030500440101662ae662110002014808010108000000"
    (tmp_path / "tag.deedc").write_text(module)
    r = run("disasm", tmp_path / "tag.deedc")
    assert r.exit_code == 1 and "unknown type tag 72" in r.output, r.output
    r = run("verify", tmp_path / "tag.deedc")
    assert r.exit_code == 1 and "unknown type" in r.output


def test_paths_with_a_nul_byte_are_usage_errors(world):
    chain, _, _ = world
    for words in (("compile", "a\x00b"), ("call", "0x" + "11" * 20, "f", "--chain", "a\x00b")):
        r = chain.run(*words)
        assert r.exit_code == 2 and "contains a NUL byte" in r.output, r.output


def test_deploy_refuses_a_module_that_does_not_verify_before_the_chain(world, tmp_path):
    chain, _, _ = world
    height = assert_sound(chain.path)
    module = "44454544000100010166014900014901030500440101662ae662110002014808010108000000"
    (tmp_path / "tag.deedc").write_text(module)
    r = chain.run("deploy", tmp_path / "tag.deedc", "--from", "alice")
    assert r.exit_code == 1 and "unknown type" in r.output, r.output
    assert assert_sound(chain.path) == height  # nothing mined, no gas paid


def test_an_unknown_engine_is_a_usage_error():
    """DEED_ENGINE is read when the VM is imported: a fresh process sees it."""

    env = {**os.environ, "DEED_ENGINE": "bogus"}
    run = subprocess.run(
        [sys.executable, "-c", "from deed.cli.main import main; main()", "chain", "info"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "DEED_ENGINE='bogus' is not an engine" in run.stderr
    assert "Traceback" not in run.stderr
