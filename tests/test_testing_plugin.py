"""deed.testing, the pytest plugin for contract authors: the ``env`` fixture
on tests/vault.deed (a deadline, an owner, an oracle report, a typed error,
an enum, a struct and a list), and the example in spec/testing.md runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deed.testing import RECORDER, Env, Reverted
from deed.testing.values import ArgumentError
from deed.vm.errors import InvalidTransaction

ROOT = Path(__file__).parent.parent
VAULT = ROOT / "tests" / "vault.deed"
ETH = b"ETH".ljust(32, b"\0")


@pytest.fixture
def vault(env):
    keys = env.oracle_keys(3)
    return env.deploy(VAULT, env.timestamp + 100, keys), keys


def test_the_plugin_is_registered_and_cheap_to_load():
    """Installing Deed registers the plugin; loading it loads no VM or compiler."""
    from importlib.metadata import entry_points

    assert "deed.testing.plugin" in {ep.value for ep in entry_points(group="pytest11")}
    code = "import sys, deed.testing.plugin; print(sorted(m for m in sys.modules if m.startswith('deed')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['deed', 'deed.testing', 'deed.testing.plugin']"


def test_the_plugin_gives_a_fresh_env_with_funded_named_accounts(env):
    assert isinstance(env, Env) and env.height == 1  # the block after genesis
    alice, bob = env.accounts[:2]
    assert (alice.name, bob.name) == ("alice", "bob") and env.account("bob") is bob
    assert env.balance(alice) == env.balance(bob.address) > 0
    env.deal(bob, 5)
    assert env.balance(bob) == 5
    with pytest.raises(KeyError, match="no account 'zed'"):
        env.account("zed")


def test_calls_results_and_receipts(env, vault):
    v, _ = vault
    alice, bob = env.accounts[:2]
    assert v.deposit(sender=bob, value=7) == 7  # a transaction returns its result
    assert env.last_receipt.success and env.last_receipt.gas_used > 0
    assert v.last_deposit() == {"who": bob.address, "amount": 7}  # a struct: by field
    assert v.last_deposit().who == bob  # an address result equals the account
    assert v.weigh({"who": bob, "amount": 2}, [1, 2, 3]) == 12  # struct as dict, a list
    assert v.weigh((alice, 5), []) == 0  # struct as tuple
    assert v.status() == "Open"  # enums by name
    assert v.is_phase("Open") and v.is_phase(0) and not v.is_phase("Closed")
    assert env.balance(v) == 7 and bytes(v) == v.address


def test_events_with_named_fields(env, vault):
    v, _ = vault
    bob, carol = env.accounts[1:3]
    v.deposit(sender=bob, value=3)
    (ev,) = env.last_receipt.events
    assert ev.name == "Deposited" and ev.args.who == bob and ev.args.amount == 3
    v.deposit(sender=carol, value=4)
    assert [(e.name, e.args.amount) for e in v.events()] == [("Deposited", 3), ("Deposited", 4)]
    assert v.events("Settled") == []


def test_reverts_with_a_reason_and_with_a_typed_error(env, vault):
    v, _ = vault
    with env.reverts("empty deposit"):
        v.deposit(value=0)
    env.warp(env.timestamp + 101)
    with env.reverts("TooLate", deadline=1_100, now=1_101):
        v.deposit(value=1)
    with env.reverts():  # any failure
        v.deposit(value=1)
    with pytest.raises(Reverted) as caught:
        v.deposit(value=1)
    assert caught.value.error_name == "TooLate" and caught.value.error_fields.now == 1_101


def test_reverts_says_what_happened_instead(env, vault):
    v, _ = vault
    with pytest.raises(AssertionError, match=r"expected a revert 'nope', but it succeeded"):
        with env.reverts("nope"):
            v.deposit(value=1)
    with pytest.raises(AssertionError, match=r"Vault.deposit reverted: 'empty deposit'"):
        with env.reverts("not allowed"):
            v.deposit(value=0)
    env.warp(env.timestamp + 500)
    with pytest.raises(AssertionError, match=r"reverted with TooLate\(deadline=1100, now=1500\)"):
        with env.reverts("TooLate", now=1):
            v.deposit(value=1)


def test_warp_time_travel_and_mine(env, vault):
    v, _ = vault
    start, height = env.timestamp, env.height  # the deployment's block, still open
    env.time_travel(seconds=100)
    assert env.height == height + 1  # a new time is a new block
    assert v.deposit(value=1) == 1  # at the deadline: still open
    assert v.deposit.call(value=5) == 6 and env.balance(v) == 1  # a simulation: nothing kept
    env.warp(env.timestamp + 1)
    assert (env.timestamp, env.height) == (start + 101, height + 2)  # the deposit's block is past
    env.mine(3)
    assert env.height == height + 5
    with env.reverts("TooLate"):
        v.deposit(value=1)
    env.time_travel(seconds=10, blocks=2)  # the failed deposit's block is past, then two more
    assert (env.timestamp, env.height) == (start + 111, height + 8)
    with pytest.raises(ValueError, match="cannot warp back"):
        env.warp(start)


def test_prank_sends_as_any_address(env, vault):
    v, keys = vault
    alice, bob = env.accounts[:2]
    report = env.sign_report("PriceReport", {"asset": ETH, "price": 9}, keys[:2])
    with env.reverts("not allowed"):
        v.settle(report, sender=bob)
    stranger = b"\x42" * 20  # no key, no funds: gas is free by default
    with env.prank(stranger):
        with env.reverts("not allowed"):
            v.settle(report)
    with env.prank(alice.address):
        assert v.settle(report) == 9
    assert env.last_receipt.events[0].args == {"phase": "Closed", "price": 9}


def test_oracle_reports(env, vault):
    v, keys = vault
    assert bytes(keys) == b"".join(k.public_key for k in keys) and len(bytes(keys)) == 96
    one = env.sign_report(v.reports["PriceReport"], [ETH, 1], keys[2:])
    with env.reverts("oracle quorum not reached"):
        v.settle(one)
    env.time_travel(seconds=5_000)
    stale = env.sign_report("PriceReport", [ETH, 1], keys[1:], timestamp=env.timestamp - 3601)
    with env.reverts("stale oracle report"):
        v.settle(stale)
    with pytest.raises(ArgumentError, match="missing: price"):
        env.sign_report("PriceReport", {"asset": ETH}, keys)
    with pytest.raises(ArgumentError, match="a report's timestamp"):
        env.sign_report("PriceReport", [ETH, 1], keys, timestamp=-1)
    assert v.settle(env.sign_report("PriceReport", [ETH, 2], [keys[0], keys[2]])) == 2


def test_anchor_and_snapshots_undo_everything(env, vault):
    v, _ = vault
    bob = env.accounts[1]
    v.deposit(sender=bob, value=1)
    before = (env.balance(bob), env.timestamp, len(v.events()))
    with env.anchor():
        v.deposit(sender=bob, value=5)
        env.time_travel(seconds=50, blocks=2)
        assert env.balance(v) == 6
    assert (env.balance(bob), env.timestamp, len(v.events())) == before
    sid = env.snapshot()
    v.deposit(sender=bob, value=2)
    env.revert(sid)
    assert env.balance(v) == 1 and v.deposit(sender=bob, value=2) == 3


def test_revert_after_more_blocks_than_the_state_tree_keeps(env, vault):
    """The snapshot holds the state tree too: blocks after it prune its old
    nodes, and the restored chain still computes roots and proofs."""
    from deed.vm.proof import verify
    from deed.vm.state import account_key

    v, _ = vault
    bob = env.accounts[1]
    sid = env.snapshot()
    env.chain.state.keep_versions = 2
    env.chain.state.PRUNE_EVERY = 1
    v.deposit(sender=bob, value=5)
    env.mine(4)
    env.revert(sid)
    assert v.deposit(sender=bob, value=2) == 2
    env.mine()
    chain = env.chain
    key = account_key(bob.address)
    proof = chain.prove(key)
    assert verify(chain.head.state_root, key, chain.backend.get(key), proof)


def test_every_transaction_is_recorded_for_the_gas_report(env, vault):
    v, _ = vault
    start = len(RECORDER.entries)
    v.deposit(value=1)
    with env.reverts("empty deposit"):
        v.deposit(value=0)
    v.status()  # a view: not a transaction
    entries = RECORDER.entries[start:]
    assert [(e.contract, e.function) for e in entries] == [("Vault", "deposit")] * 2
    last = env.last_receipt
    assert 0 < entries[-1].gas == last.execution_gas == last.gas_used - last.intrinsic_gas
    assert last.intrinsic_gas > 0 and entries[0].gas > entries[-1].gas  # the deposit stored more


def test_bad_arguments_are_clear_errors(env, vault):
    v, _ = vault
    with pytest.raises(ArgumentError, match="'Nope' is not a member of Phase"):
        v.is_phase("Nope")
    with pytest.raises(ArgumentError, match="a Deposit has the fields who, amount; missing"):
        v.weigh({"who": env.accounts[0]}, [])
    with pytest.raises(ArgumentError, match=r"takes 0 argument\(s\)"):
        v.deposit(1)
    with pytest.raises(AttributeError, match="no public function 'withdraw'"):
        _ = v.withdraw
    with pytest.raises(InvalidTransaction, match="insufficient_funds"):  # the chain refuses it
        v.deposit(value=10**31, sender=env.accounts[1])
    assert v.deposit(value=1) == 1  # and nothing changed
    with pytest.raises(FileNotFoundError, match="cannot read the contract"):
        env.deploy("no/such.deed")
    with env.reverts("empty deposit"):  # the deploy itself is fine; init runs
        env.deploy(VAULT, 10**6, b"").deposit(value=0)


def _doc_example() -> str:
    text = (ROOT / "spec" / "testing.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_example_in_spec_testing_md_runs(monkeypatch):
    monkeypatch.chdir(ROOT)  # the example names its contract from the repository's root
    namespace: dict = {}
    exec(compile(_doc_example(), "spec/testing.md", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test(Env())


TAGGED = """
contract Tagged:
    tag: bytes32

    pub set(tag: bytes32):
        self.tag = tag

    @view
    pub get() -> bytes32:
        return self.tag
"""


def test_text_for_a_fixed_bytes_parameter_is_padded_as_on_the_command_line(env):
    c = env.deploy(TAGGED)
    c.set("PKG-1042")
    assert c.get() == b"PKG-1042".ljust(32, b"\0")
    with pytest.raises(ArgumentError, match="over 32"):
        c.set("x" * 33)
