"""Every engine against the reference interpreter.

``test_fast_engine_matches_reference``: on generated single-function
programs, with any arguments and any gas limit, the translating engine and
the reference give the same receipt (status, gas, revert reason, events) and
the same state root.

``test_every_engine_matches_reference_on_every_opcode``: generated
scenarios (two contracts, several functions, every instruction; see
``program_gen.Scenario``) run on a fresh chain with each engine of
``deed.vm.execution.ENGINES``: every receipt (status, gas used, return
values and data, revert reason, typed error, events), every state root, each
read-only call and the committed block header must equal the reference's.
Gas limits are drawn so that transactions run out of gas at arbitrary points.

``test_generated_scenarios_*``: the generator covers every opcode of
``deed.vm.opcodes.OPCODES``, statically (reachable code) and dynamically
(instructions the reference engine executes), so a new opcode fails them
until the generator learns it.

``DEED_DIFFERENTIAL_EXAMPLES`` raises the number of examples for long runs.
"""

import os
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from program_gen import CONSTS, programs, random_scenario, run_scenario, scenarios

from deed.vm import reference
from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.execution import ENGINES, ModuleCache
from deed.vm.opcodes import GAS, OPCODES
from deed.vm.state import MemoryBackend
from deed.vm.verifier import verify

KEY = KeyPair.from_text("differential")
EXAMPLES = os.environ.get("DEED_DIFFERENTIAL_EXAMPLES")
OTHER_ENGINES = sorted(e for e in ENGINES if e != "reference")
ALL_OPCODES = {op.name for op in OPCODES}
COVERAGE_SEEDS = range(150)

args = st.lists(
    st.one_of(
        st.sampled_from([c for c in CONSTS if c < 2**255]), st.integers(-(2**255), 2**255 - 1)
    ),
    min_size=3,
    max_size=3,
)


def run(engine: str, module_bytes: bytes, call_args, gas: int):
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({KEY.address: 10**30})
    block = chain.begin_block(50)
    deployed = block.apply(
        Transaction(1, 0, KEY.public_key, None, 0, 10**7, 1, deploy_data(module_bytes))
    )
    assert deployed.success, deployed.revert_reason
    data = chain.encode_call(deployed.contract_address, "main", call_args)
    r = block.apply(Transaction(1, 1, KEY.public_key, deployed.contract_address, 0, gas, 1, data))
    logs = [(log.event, log.values) for log in r.logs]
    return (r.status, r.gas_used, r.revert_reason, logs, chain.state_root())


@settings(max_examples=int(EXAMPLES or "250"))
@given(
    programs(),
    args,
    st.one_of(st.just(10**7), st.integers(GAS.tx_base + 1_000, GAS.tx_base + 70_000)),
)
def test_fast_engine_matches_reference(text, call_args, gas):
    module = assemble(text)
    verify(module)
    data = module.encode()
    assert run("translate", data, call_args, gas) == run("reference", data, call_args, gas)


@pytest.mark.parametrize("engine", OTHER_ENGINES)
@settings(max_examples=int(EXAMPLES or "100"))
@given(scenario=scenarios())
def test_every_engine_matches_reference_on_every_opcode(engine, scenario):
    expected = run_scenario("reference", scenario)
    got = run_scenario(engine, scenario)
    for step, (a, b) in enumerate(zip(expected, got, strict=True)):
        assert b == a, f"step {step}: {engine} differs from reference"


@pytest.mark.skipif("jit" not in ENGINES, reason="llvmlite is not installed")
@settings(max_examples=int(EXAMPLES or "25"))
@given(scenario=scenarios())
def test_reference_translate_and_jit_agree_on_every_opcode(scenario):
    """The same scenario on the three engines (the campaign before a release
    runs this with DEED_DIFFERENTIAL_EXAMPLES=10000 under two hypothesis seeds)."""
    expected = run_scenario("reference", scenario)
    for engine in ("translate", "jit"):
        got = run_scenario(engine, scenario)
        for step, (a, b) in enumerate(zip(expected, got, strict=True)):
            assert b == a, f"step {step}: {engine} differs from reference"


def _reachable_opcodes(text: str) -> set[str]:
    vm = verify(assemble(text))
    return {
        vf.instrs[i].name for vf in vm.functions for b in vf.blocks for i in range(b.start, b.end)
    }


def test_generated_scenarios_use_every_opcode():
    used: set[str] = set()
    for seed in COVERAGE_SEEDS:
        s = random_scenario(random.Random(seed))
        used |= _reachable_opcodes(s.callee) | _reachable_opcodes(s.main)
    assert used == ALL_OPCODES, f"never generated: {sorted(ALL_OPCODES - used)}"


def test_generated_scenarios_execute_every_opcode(monkeypatch):
    """The reference engine runs every opcode (its handlers are counted; a fresh
    module cache makes it prepare functions with the counting handlers)."""
    executed: Counter = Counter()

    def counting(name, handler):
        def run(state, args):
            executed[name] += 1
            return handler(state, args)

        return run

    for name, handler in list(reference.HANDLERS.items()):
        monkeypatch.setitem(reference.HANDLERS, name, counting(name, handler))
    for seed in COVERAGE_SEEDS:
        run_scenario(
            "reference", random_scenario(random.Random(seed)), ModuleCache(engine="reference")
        )
    assert set(executed) == ALL_OPCODES, f"never executed: {sorted(ALL_OPCODES - set(executed))}"
