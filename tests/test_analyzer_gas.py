"""Worst-case gas bounds: never below what calls measure (hypothesis drives
random calls, senders and values through real transactions), and on the
standard contracts within 2x of the worst measured."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import values_of
from support import Harness

from deed.analyzer.context import Context
from deed.analyzer.gas import GasAnalysis
from deed.compiler.driver import compile_file
from deed.vm import costs
from deed.vm.chain import intrinsic_gas
from deed.vm.codec import encode_values
from deed.vm.opcodes import LIMITS
from deed.vm.types import ADDRESS, U64
from deed.vm.verifier import verify

ROOT = Path(__file__).parent.parent
ETHER = 10**18
PEOPLE = ["alice", "bob", "carol", "dave"]


def bounds(name: str) -> dict[str, int]:
    out = compile_file(Path("contracts") / f"{name}.deed")
    return {n: b.bound for n, b in GasAnalysis(Context(out)).all().items()}, out.module


def deploy(h: Harness, name: str, module):
    init = {
        "token": (b"", 0),
        "escrow": (
            encode_values([ADDRESS, ADDRESS, U64], [h.addr("bob"), h.addr("carol"), 100]),
            0,
        ),
        "insurance": (encode_values([ADDRESS], [h.addr("carol")]), ETHER),
        "compute": (b"", 0),
    }[name]
    tx = h.tx(
        "alice",
        None,
        __import__("deed.vm.chain", fromlist=["deploy_data"]).deploy_data(module.encode(), init[0]),
        init[1],
    )
    r = h.block.apply(tx)
    assert r.success, r.revert_reason
    return r.contract_address, r.gas_used - intrinsic_gas(tx)


def measure(h: Harness, addr, export, args, sender: str, value: int) -> tuple[str, int]:
    if h.block.gas_used + 45_000_000 > LIMITS.max_block_gas:
        h.next_block(seconds=1)
    tx = h.tx(
        sender,
        addr,
        export.selector + encode_values(list(export.params), list(args)),
        value,
        gas=45_000_000,  # keccak_chain at its bound
    )
    r = h.block.apply(tx)
    return r.status, r.gas_used - intrinsic_gas(tx)


CONTRACTS = ["token", "escrow", "insurance", "compute"]


@pytest.mark.parametrize("name", CONTRACTS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_bound_is_never_below_measured_gas(name, data):
    bound, module = bounds(name)
    h = Harness()
    addr, init_gas = deploy(h, name, module)
    # a deployment pays for translating the module, then runs init (if any)
    assert init_gas <= bound.get("init", costs.translation(verify(module)))
    exports = [e for e in module.exports if not e.is_init]
    for _ in range(data.draw(st.integers(1, 12))):
        e = data.draw(st.sampled_from(exports))
        args = []
        for t in e.params:
            if t == ADDRESS:
                args.append(h.addr(data.draw(st.sampled_from(PEOPLE))))
            elif name == "compute":
                args.append(data.draw(st.integers(0, 300)))
            else:
                args.append(
                    data.draw(
                        st.one_of(st.integers(0, 3), values_of(t))
                        if t.kind == "I" and t.tag != 3
                        else values_of(t)
                    )
                )
        value = data.draw(st.sampled_from([0, 10**16, ETHER])) if e.payable else 0
        status, used = measure(h, addr, e, args, data.draw(st.sampled_from(PEOPLE)), value)
        assert used <= bound[e.name], (e.name, status, used, bound[e.name])


def stories(name: str, h: Harness) -> list[list[tuple]]:
    """Call sequences that take each function down its costliest path;
    ("wait", seconds) moves to a later block."""
    a = h.addr
    return {
        "token": [
            [
                ("mint", [a("bob"), 1000], "alice", 0),
                ("transfer", [a("dave"), 10], "bob", 0),
                ("balance_of", [a("bob")], "bob", 0),
                ("supply", [], "bob", 0),
                ("approve", [a("carol"), 500], "bob", 0),
                ("transfer_from", [a("bob"), a("carol"), 100], "carol", 0),
                ("allowance", [a("bob"), a("carol")], "bob", 0),
            ]
        ],
        "escrow": [
            [
                ("deposit", [], "alice", ETHER),
                ("dispute", [], "bob", 0),
                ("resolve", [True], "carol", 0),
                ("status", [], "bob", 0),
            ],
            [("deposit", [], "alice", ETHER), ("confirm_delivery", [], "alice", 0)],
            [("deposit", [], "alice", ETHER), ("wait", 200), ("refund", [], "alice", 0)],
        ],
        "insurance": [
            [
                ("fund", [], "dave", ETHER),
                ("join", [b"F" * 32], "bob", 10**16),
                ("report_delay", [0, 150], "carol", 0),
                ("claim", [0], "bob", 0),
                ("join", [b"G" * 32], "dave", 10**16),
                ("report_delay", [1, 30], "carol", 0),
                ("reserved_funds", [], "bob", 0),
            ]
        ],
        "compute": [
            [
                ("loop_sum", [100_000], "bob", 0),
                ("fib", [100_000], "bob", 0),
                ("keccak_chain", [50_000], "bob", 0),
            ]
        ],
    }[name]


@pytest.mark.parametrize("name", CONTRACTS)
def test_bound_is_within_twice_the_worst_measured(name):
    bound, module = bounds(name)
    by_name = {e.name: e for e in module.exports}
    worst: dict[str, int] = {}
    for index in range(len(stories(name, Harness()))):
        h = Harness()
        addr, init_gas = deploy(h, name, module)
        if "init" in bound:
            worst["init"] = max(worst.get("init", 0), init_gas)
        for step in stories(name, h)[index]:
            if step[0] == "wait":
                h.next_block(seconds=step[1])
                continue
            fn, args, sender, value = step
            status, used = measure(h, addr, by_name[fn], args, sender, value)
            assert status == "success", (fn, status)
            worst[fn] = max(worst.get(fn, 0), used)
    public = {e.name for e in module.exports}
    assert public <= set(worst), f"no story measures {sorted(public - set(worst))}"
    for fn, measured in worst.items():
        assert measured <= bound[fn] <= 2 * measured, (fn, measured, bound[fn])
