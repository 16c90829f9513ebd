"""The native tier: compute kernels per engine, and compile latency.

    .venv/bin/python -m pytest benchmarks/test_jit_benchmarks.py --benchmark-only

- ``test_kernel_per_engine``: loop_sum(100000) and fib(100000) (gas metering
  on) as read-only calls on the translating engine, the tiered engine (the
  node default; the function is hot after the warm-up call) and the eager
  ``jit`` engine. Compare with ``../shared/anchors/run.sh --only compute``
  (pyrevm and C) in the same session.
- ``test_host_loops_per_engine``: two loops that call the host, on the
  translating and the tiered engine: ``store_every_turn`` writes storage at
  every turn (the tiered engine finds it host-bound and keeps it translated:
  it must not be slower), ``store_every_256`` mostly computes (native).
- ``test_compile_latency``: compiling every function the JIT accepts in the
  standard contracts and the kernels; the median and worst per function are
  in ``extra_info`` (and printed with ``-s``).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jit_programs import HOST_LOOPS  # noqa: E402

from deed.compiler.driver import compile_file
from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.execution import ModuleCache
from deed.vm.jit import native
from deed.vm.jit.lower import lower, unsupported
from deed.vm.state import MemoryBackend
from deed.vm.verifier import load

ROOT = Path(__file__).resolve().parents[1]
OWNER = KeyPair.from_text("jit-bench")
pytestmark = pytest.mark.skipif(not native.available(), reason="llvmlite is not installed")
EXPECTED = {"loop_sum": 49804517413, "fib": 2754320626097736315}


def _compute_chain(engine: str):
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({OWNER.address: 10**24})
    block = chain.begin_block(1)
    code = compile_file(ROOT / "contracts" / "compute.deed").bytecode
    r = block.apply(Transaction(1, 0, OWNER.public_key, None, 0, 10**7, 1, deploy_data(code)))
    block.commit()
    return chain, r.contract_address


@pytest.mark.parametrize("engine", ["translate", "tiered", "jit"])
@pytest.mark.parametrize("fn", ["loop_sum", "fib"])
def test_kernel_per_engine(benchmark, engine, fn):
    benchmark.group = f"jit kernels: {fn}(100000)"
    chain, addr = _compute_chain(engine)
    result = benchmark.pedantic(
        chain.call,
        args=(addr, fn, [100_000]),
        kwargs={"gas_limit": 10**9},
        rounds=20,
        warmup_rounds=2,
    )
    assert result.success and result.return_values == (EXPECTED[fn],)
    benchmark.extra_info["gas_used"] = result.gas_used


@pytest.mark.parametrize("engine", ["translate", "tiered"])
@pytest.mark.parametrize("fn, n", [("store_every_turn", 2_000), ("store_every_256", 50_000)])
def test_host_loops_per_engine(benchmark, engine, fn, n):
    """One transaction per round, each in its own block (committed untimed)."""
    benchmark.group = f"jit host loops: {fn}({n})"
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({OWNER.address: 10**24})
    block = chain.begin_block(1)
    code = assemble(HOST_LOOPS).encode()
    r = block.apply(Transaction(1, 0, OWNER.public_key, None, 0, 10**7, 1, deploy_data(code)))
    block.commit()
    address = r.contract_address
    data = chain.encode_call(address, fn, [n])
    round_ = {"nonce": 1, "block": None, "receipt": None}

    def next_transaction():
        if round_["block"] is not None:
            round_["block"].commit()
        round_["block"] = chain.begin_block(1 + round_["nonce"])
        tx = Transaction(1, round_["nonce"], OWNER.public_key, address, 0, 4 * 10**7, 1, data)
        round_["nonce"] += 1
        return (tx,), {}

    def apply(tx):
        round_["receipt"] = round_["block"].apply(tx)

    benchmark.pedantic(apply, setup=next_transaction, rounds=15, warmup_rounds=3)
    receipt = round_["receipt"]
    assert receipt.success, receipt.revert_reason
    benchmark.extra_info["gas_used"] = receipt.gas_used


def _lowerable():
    for path in sorted((ROOT / "contracts").rglob("*.deed")):
        vm = load(compile_file(path).bytecode)
        for index, f in enumerate(vm.module.functions):
            if unsupported(vm, index) is None:
                yield f"{path.stem}.{f.name}", lower(vm, index)


def test_compile_latency(benchmark):
    functions = list(_lowerable())
    assert any(name == "compute.loop_sum" for name, _ in functions)
    seconds = {}

    def compile_all():
        for name, lowered in functions:
            started = time.perf_counter()
            native.compile_function(lowered)
            seconds[name] = time.perf_counter() - started

    benchmark.pedantic(compile_all, rounds=3, warmup_rounds=1)
    values = sorted(seconds.values())
    worst = max(seconds, key=seconds.__getitem__)
    benchmark.extra_info.update(
        functions=len(functions),
        median_ms=round(statistics.median(values) * 1e3, 2),
        worst_ms=round(values[-1] * 1e3, 2),
        worst_function=worst,
    )
    print(
        f"\ncompile latency over {len(functions)} functions: median "
        f"{statistics.median(values) * 1e3:.2f} ms, worst {values[-1] * 1e3:.2f} ms ({worst})"
    )
