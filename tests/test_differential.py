"""The fast engine against the reference interpreter: on generated programs,
with any arguments and any gas limit, both give the same receipt (status, gas,
revert reason, events) and the same state root."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from program_gen import CONSTS, programs

from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.execution import ModuleCache
from deed.vm.state import MemoryBackend
from deed.vm.verifier import verify

KEY = KeyPair.from_text("differential")
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


@settings(max_examples=int(os.environ.get("DEED_DIFFERENTIAL_EXAMPLES", "250")))
@given(programs(), args, st.one_of(st.just(10**7), st.integers(11_000, 80_000)))
def test_fast_engine_matches_reference(text, call_args, gas):
    module = assemble(text)
    verify(module)
    data = module.encode()
    assert run("translate", data, call_args, gas) == run("reference", data, call_args, gas)
