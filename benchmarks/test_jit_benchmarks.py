"""The native tier: compute kernels per engine, and compile latency.

    .venv/bin/python -m pytest benchmarks/test_jit_benchmarks.py --benchmark-only

- ``test_kernel_per_engine``: loop_sum(100000) and fib(100000) (gas metering
  on) as read-only calls on the translating engine, the tiered engine (the
  node default; the function is hot after the warm-up call) and the eager
  ``jit`` engine. Compare with ``../shared/anchors/run.sh --only compute``
  (pyrevm and C) in the same session.
- ``test_compile_latency``: compiling every function the JIT accepts in the
  standard contracts and the kernels; the median and worst per function are
  in ``extra_info`` (and printed with ``-s``).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from deed.compiler.driver import compile_file
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
