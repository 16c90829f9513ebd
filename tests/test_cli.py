"""The command line: clean errors, exit codes, and the README's example."""

import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from deed.cli.main import main

ROOT = Path(__file__).parent.parent


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_asm_disasm_verify_round_trip(tmp_path):
    out = tmp_path / "token.deedc"
    r = run("asm", ROOT / "contracts" / "asm" / "token.dasm", "-o", out)
    assert r.exit_code == 0 and "module id" in r.output
    r = run("verify", out)
    assert r.exit_code == 0 and "ok (5 functions" in r.output
    r = run("disasm", out)
    assert r.exit_code == 0 and ".export transfer(address,u256) -> bool = transfer" in r.output
    # the disassembly assembles back to the same module
    (tmp_path / "again.dasm").write_text(r.output)
    assert run("asm", tmp_path / "again.dasm", "-o", tmp_path / "again.deedc").exit_code == 0
    assert (tmp_path / "again.deedc").read_bytes() == out.read_bytes()
    # a hex file works as well
    (tmp_path / "token.hex").write_text("0x" + out.read_bytes().hex())
    assert run("verify", tmp_path / "token.hex").exit_code == 0


def test_bad_input_gives_a_clean_error_and_exit_1(tmp_path):
    bad = tmp_path / "bad.deedc"
    bad.write_bytes(b"DEED\x00\x01\x00\x01\x00\x00\x00\x00\x00\x02\x50\x44\x00\x00\x00\x00")
    r = run("verify", bad)
    assert r.exit_code == 1 and r.output.startswith("error: ") and "Traceback" not in r.output
    junk = tmp_path / "junk.deedc"
    junk.write_bytes(b"\x00\x01garbage")
    r = run("disasm", junk)
    assert r.exit_code == 1 and "not a Deed module" in r.output
    src = tmp_path / "x.dasm"
    src.write_text(".func f()\n    POP\n    RET\n")
    r = run("asm", src)
    assert r.exit_code == 1 and "stack underflow" in r.output


def test_usage_errors_exit_2():
    assert run("disasm").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_every_command_has_help_with_an_example():
    for cmd in ("asm", "disasm", "verify", "demo", "compile", "deploy", "call", "send", "analyze"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Example: deed " + cmd in r.output
    for group, sub in (("keys", "new"), ("keys", "list"), ("chain", "init")):
        r = CliRunner().invoke(main, [group, sub, "--help"])
        assert r.exit_code == 0 and f"Example: deed {group}" in r.output


def test_demo_runs_the_story_on_sqlite(tmp_path):
    r = run("demo", "--chain", tmp_path / "demo.db")
    assert r.exit_code == 0, r.output
    assert "PolicyPaid(0" in r.output and "(policy not active)" in r.output
    assert "InvoiceSettled" in r.output and "(already reimbursed)" in r.output
    assert "BillDiscounted" in r.output and "BillEndorsed" in r.output and "BillPaid" in r.output
    assert "Released(" in r.output and "True)" in r.output
    assert re.search(r"head: block 6, state root [0-9a-f]{64}", r.output)
    assert "invoice 0, bill 0, escrow 0" in r.output


def test_readme_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    assert "rejected: insufficient_funds" in out.stdout and "(500,)" in out.stdout


def test_compile_writes_module_and_abi(tmp_path):
    out = tmp_path / "escrow.deedc"
    r = run("compile", ROOT / "contracts" / "escrow.deed", "-o", out)
    assert r.exit_code == 0, r.output
    abi = __import__("json").loads((tmp_path / "escrow.abi.json").read_text())
    assert {f["name"] for f in abi["functions"]} >= {
        "init",
        "deposit",
        "confirm_delivery",
        "status",
    }
    assert run("verify", out).exit_code == 0
    r = run("compile", ROOT / "contracts" / "escrow.deed", "-o", out, "--ir")
    assert "function confirm_delivery() -> nothing [pub]" in r.output
    r = run("compile", ROOT / "contracts" / "escrow.deed", "-o", out, "--json")
    data = __import__("json").loads(r.output)
    assert data["ok"] and data["size"] == out.stat().st_size


def test_compile_errors_exit_1_with_diagnostics(tmp_path):
    src = tmp_path / "bad.deed"
    src.write_text("contract C:\n    pub f() -> u8:\n        return 300\n")
    r = run("compile", src)
    assert r.exit_code == 1
    assert "bad.deed:3:16: error[E0206]: 300 does not fit u8" in r.output and "^^^" in r.output
    r = run("compile", src, "--json")
    assert r.exit_code == 1 and '"code": "E0206"' in r.output


def test_local_chain_keys_deploy_send_call(tmp_path):
    home = ["--home", tmp_path / "home"]
    assert run("keys", "new", "alice", *home).exit_code == 0
    assert run("keys", "new", "bob", *home).exit_code == 0
    assert run("keys", "new", "alice", *home).exit_code == 2  # exists already
    assert run("chain", "init", *home).exit_code == 0
    r = run("deploy", ROOT / "contracts" / "token.deed", "--from", "alice", *home)
    assert r.exit_code == 0, r.output
    token = re.search(r"contract (0x[0-9a-f]{40})", r.output).group(1)
    r = run("send", token, "mint", "@bob", "500", "--from", "alice", *home)
    assert r.exit_code == 0 and "event Transfer" in r.output
    r = run("send", token, "mint", "@bob", "1", "--from", "bob", *home)
    assert r.exit_code == 1 and "only owner" in r.output
    r = run("call", token, "balance_of", "@bob", *home)
    assert r.exit_code == 0 and r.output.strip() == "500"
    r = run("call", token, "balance_of", "@bob", "--json", *home)
    assert '"return_values": [\n    500\n  ]' in r.output
    assert run("call", token, "balance_of", *home).exit_code == 2  # missing argument
    assert run("call", token, "nope", *home).exit_code == 2
    assert (
        run("send", token, "mint", "@carol", "1", "--from", "alice", *home).exit_code == 2
    )  # no such key
