"""The daily loop on the command line: a key's public key, amounts with
exponents and units, and the local chain's clock moved instead of waited for."""

import json

import pytest
from cli_support import ROOT, assert_sound, new_chain, run, write_source
from hypothesis import given
from hypothesis import strategies as st

from deed.cli.values import UNITS, parse_amount
from deed.vm.crypto import KeyPair

DEADLINE = """\
contract Vault:
    unlock: u64

    init(after: u64):
        self.unlock = block.timestamp + after

    @view
    pub is_open() -> bool:
        return block.timestamp >= self.unlock
"""


def test_keys_show_prints_the_address_and_the_public_key(tmp_path):
    local = new_chain(tmp_path, keys=("alice",))
    r = local.run("keys", "show", "alice", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    seed = bytes.fromhex((tmp_path / "keys" / "alice.key").read_text().strip())
    key = KeyPair(seed)
    assert shown == {
        "name": "alice",
        "address": "0x" + key.address.hex(),
        "public_key": "0x" + key.public_key.hex(),
    }
    r = local.run("keys", "show", "nobody")
    assert r.exit_code == 2 and "no key named nobody" in r.output


@pytest.mark.parametrize(
    "text, value",
    [
        ("5e18", 5 * 10**18),
        ("2.5e18", 25 * 10**17),
        ("2.5 ether", 25 * 10**17),
        ("3gwei", 3 * 10**9),
        ("7 wei", 7),
        ("1_000", 1000),
        ("0x10", 16),
        ("7.0", 7),
    ],
)
def test_amounts_take_exponents_and_units(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["1.5 wei", "1.5", "5 bananas", "ether", "1e999", "", "0x"])
def test_an_amount_that_is_not_whole_or_not_a_number_is_refused(text):
    assert parse_amount(text) is None


@given(st.integers(0, 10**30), st.sampled_from(sorted(UNITS)))
def test_an_amount_written_in_a_unit_is_exact(n, unit):
    base = 10 ** UNITS[unit]
    assert parse_amount(f"{n} {unit}") == n * base
    assert parse_amount(f"{n}e{UNITS[unit]}") == n * base


def test_transfer_takes_an_amount_in_units(tmp_path):
    local = new_chain(tmp_path)
    r = local.run("transfer", "@bob", "2.5ether", "--from", "alice")
    assert r.exit_code == 0, r.output
    bob = json.loads(local.run("balance", "@bob", "--json").output)
    assert int(bob["balance"]) == 1_000_000 * 10**18 + 25 * 10**17
    r = local.run("transfer", "@bob", "1.5 wei", "--from", "alice")
    assert r.exit_code == 2 and "whole number" in r.output


def test_time_advance_moves_the_local_clock_for_calls_and_transactions(tmp_path):
    local = new_chain(tmp_path)
    source = write_source(tmp_path, "vault.deed", DEADLINE)
    vault = local.deploy(source, "86400")
    assert json.loads(local.run("call", vault, "is_open", "--json").output)["return_values"] == [
        False
    ]
    r = local.run("time", "advance", "1day", "--json")
    assert r.exit_code == 0, r.output
    moved = json.loads(r.output)
    assert json.loads(local.run("call", vault, "is_open", "--json").output)["return_values"] == [
        True
    ]
    # later blocks follow the moved clock, never back
    assert local.run("transfer", "@bob", "1", "--from", "alice").exit_code == 0
    head = json.loads(local.run("chain", "info", "--json").output)
    assert head["height"] == moved["height"] + 1 and head["timestamp"] > moved["timestamp"]
    assert_sound(local.path)


@pytest.mark.parametrize("text", ["0", "soon", "-5", "3 fortnights"])
def test_time_advance_refuses_what_is_not_a_forward_duration(tmp_path, text):
    local = new_chain(tmp_path)
    r = local.run("time", "advance", "--", text)
    assert r.exit_code == 2 and ("duration" in r.output or "forward" in r.output)
    assert_sound(local.path)


def test_keys_fund_pays_from_the_local_faucet(tmp_path):
    local = new_chain(tmp_path)
    local.run("keys", "new", "carol")  # made after the chain: genesis did not fund it
    r = local.run("keys", "fund", "carol", "5ether", "--json")
    assert r.exit_code == 0, r.output
    carol = json.loads(local.run("balance", "@carol", "--json").output)
    assert int(carol["balance"]) == 5 * 10**18
    assert local.run("keys", "fund", "carol", "2**300").exit_code == 2
    r = local.run("keys", "fund", "carol", str(10**40))
    assert r.exit_code == 1 and "faucet" in r.output
    assert_sound(local.path)


@pytest.mark.parametrize(
    "args, kind, code",
    [
        (("balance", "@nobody"), "usage", 2),
        (("balance",), "usage", 2),
        (("receipt", "0x" + "00" * 32), "failure", 1),
        (("time", "advance", "soon"), "usage", 2),
    ],
)
def test_json_asks_for_errors_as_json_too(tmp_path, args, kind, code):
    local = new_chain(tmp_path)
    r = local.run(*args, "--json")
    assert r.exit_code == code
    error = json.loads(r.stdout)["error"]
    assert error["kind"] == kind and error["exit_code"] == code and error["message"]


def test_a_flight_delay_policy_from_the_command_line_alone(tmp_path):
    """Sell cover, move the clock past the departure, sign the oracles' report
    with `deed oracle sign` and claim: no script, no waiting."""
    local = new_chain(tmp_path, keys=("insurer", "traveller", "o1", "o2", "o3"))
    flight_delay = ROOT / "contracts" / "insurance" / "flight_delay.deed"
    signer_set = local.run("oracle", "set", "o1", "o2", "o3").output.strip()
    assert len(signer_set) == 2 + 3 * 64
    r = local.run(
        "deploy",
        flight_delay,
        signer_set,
        "2",
        "500",
        "3600",
        "--from",
        "insurer",
        "--value",
        "100ether",
    )
    assert r.exit_code == 0, r.output
    cover = r.output.split("contract ")[1].split()[0]
    now = json.loads(local.run("chain", "info", "--json").output)["timestamp"]
    departure = now + 7200
    premium = json.loads(local.run("call", cover, "premium_for", "1ether", "--json").output)
    r = local.run(
        "send",
        cover,
        "buy",
        "LH400",
        str(departure),
        "1ether",
        "--from",
        "traveller",
        "--value",
        str(premium["return_values"][0]),
    )
    assert r.exit_code == 0, r.output
    assert local.run("time", "advance", "3h").exit_code == 0
    sign = (
        "oracle",
        "sign",
        flight_delay,
        "DelayReport",
        "flight=LH400",
        f"departure={departure}",
        "delay_minutes=185",
        "--set",
        "o1,o2,o3",
    )
    too_few = local.run(*sign, "--signers", "o2").output.strip()
    assert local.run("send", cover, "claim", "0", too_few, "--from", "traveller").exit_code == 1
    report = local.run(*sign, "--signers", "o1,o3").output.strip()
    # the deployed contract's kept ABI lists its report types: no source needed
    at = ("--signers", "o1,o3", "--time", str(departure + 60))
    by_address = local.run("oracle", "sign", cover, *sign[3:], *at).output.strip()
    assert by_address == local.run(*sign, *at).output.strip()
    assert by_address.startswith("0x") and len(by_address) > 200
    unknown = local.run("oracle", "sign", "0x" + "ab" * 20, *sign[3:])
    assert unknown.exit_code == 2 and "no ABI kept" in unknown.output
    r = local.run("send", cover, "claim", "0", report, "--from", "traveller", "--json")
    assert r.exit_code == 0, r.output
    assert [e["event"] for e in json.loads(r.output)["events"]] == ["DelayRecorded", "PolicyPaid"]
    bad = local.run(*sign[:3], "NoSuchReport", "--set", "o1")
    assert bad.exit_code == 2 and "its reports: DelayReport" in bad.output
    assert local.run(*sign[:4], "flight=LH400", "--set", "o1").exit_code == 2  # fields missing
    assert local.run(*sign, "--signers", "o9").exit_code == 2
    assert_sound(local.path)


def test_every_command_takes_json():
    import click

    from deed.cli.main import main

    def commands(group: click.Group, prefix: str):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from commands(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", cmd

    missing = [n for n, c in commands(main, "") if not any(p.name == "as_json" for p in c.params)]
    assert missing == []


def test_json_output_of_setup_and_module_commands(tmp_path):
    local = new_chain(tmp_path)
    made = json.loads(local.run("keys", "new", "dora", "--json").output)
    assert made["name"] == "dora" and made["address"].startswith("0x")
    source = tmp_path / "c.dasm"
    source.write_text(".func f() -> I\n    CONST 1\n    RET\n.export f() -> u64 = f view\n")
    built = json.loads(run("asm", source, "--json").output)
    checked = json.loads(run("verify", built["module"], "--json").output)
    assert checked["ok"] and checked["exports"] == 1
    shown = json.loads(run("disasm", built["module"], "--json").output)
    assert shown["module_id"] == built["module_id"] and "RET" in shown["assembly"]


def test_negative_numbers_need_no_double_dash(tmp_path):
    local = new_chain(tmp_path)
    r = local.run("time", "advance", "-5")
    assert r.exit_code == 2 and "is not a duration" in r.output
