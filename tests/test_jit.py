"""The native tier (deed.vm.jit): same receipts as the reference engine,
compiled when it should be, never when it should not, and nothing but a
slower run when native code cannot be had."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jit_programs import ARGS, HOST_LOOPS, MAIN, pure_programs
from test_differential import run

from deed.compiler.driver import compile_file
from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.errors import NodeError
from deed.vm.execution import ENGINES, ModuleCache
from deed.vm.jit import native, tier
from deed.vm.jit.lower import Status, has_loop, lower, unsupported
from deed.vm.opcodes import GAS
from deed.vm.state import MemoryBackend
from deed.vm.verifier import load, verify

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = os.environ.get("DEED_DIFFERENTIAL_EXAMPLES")
KEY = KeyPair.from_text("jit")
needs_llvm = pytest.mark.skipif(not native.available(), reason="llvmlite is not installed")


@pytest.fixture(scope="module")
def compute_bytes() -> bytes:
    return compile_file(ROOT / "contracts" / "compute.deed").bytecode


def _chain(engine: str) -> Chain:
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({KEY.address: 10**30})
    return chain


def _deploy(chain: Chain, code: bytes):
    block = chain.begin_block(50)
    r = block.apply(Transaction(1, 0, KEY.public_key, None, 0, 10**7, 1, deploy_data(code)))
    assert r.success, r.revert_reason
    return block, r.contract_address


def _call(chain, block, address, nonce, fn, args, gas):
    data = chain.encode_call(address, fn, args)
    r = block.apply(Transaction(1, nonce, KEY.public_key, address, 0, gas, 1, data))
    return (r.status, r.gas_used, r.return_values, r.revert_reason)


def _helper_index(text: str) -> int:
    return [f.name for f in assemble(text).functions].index("helper")


# ---------------------------------------------------------------- lowering


def test_compute_kernels_are_lowered_and_hashing_goes_through_the_host(compute_bytes):
    vm = load(compute_bytes)
    names = [f.name for f in vm.module.functions]
    assert unsupported(vm, names.index("loop_sum")) is None
    assert unsupported(vm, names.index("fib")) is None
    assert has_loop(vm.functions[names.index("loop_sum")])
    lowered = lower(vm, names.index("loop_sum"))
    assert "llvm.smul.with.overflow.i128" in lowered.ir and "ret i32 3" in lowered.ir
    assert lowered.sites == ()  # pure: never calls back
    keccak = lower(vm, names.index("keccak_chain"))
    assert "KECCAK256" in [site.op for site in keccak.sites]
    assert "call i32 %host(" in keccak.ir


def test_a_constant_over_128_bits_keeps_a_function_translated():
    text = """
.func main() -> I
    CONST 340282366920938463463374607431768211456
    RET
.export main() -> u256 = main view
"""
    vm = verify(assemble(text))
    assert "does not fit 128 bits" in unsupported(vm, 0)


@settings(max_examples=30, deadline=None)
@given(pure_programs())
def test_generated_helpers_are_always_lowered(text):
    vm = verify(assemble(text))
    assert unsupported(vm, _helper_index(text)) is None


# ---------------------------------------------------------------- sameness


@needs_llvm
@settings(max_examples=int(EXAMPLES or "120"), deadline=None)
@given(
    pure_programs(),
    st.lists(
        st.one_of(st.sampled_from(ARGS), st.integers(-(2**255), 2**255 - 1)), min_size=3, max_size=3
    ),
    st.one_of(st.just(10**7), st.integers(GAS.tx_base + 1_000, GAS.tx_base + 90_000)),
)
def test_jit_matches_reference_on_generated_programs(text, call_args, gas):
    """Receipts (status, gas, reason, events) and state roots, at any gas limit."""
    data = assemble(text).encode()
    expected = run("reference", data, call_args, gas)
    assert run("jit", data, call_args, gas) == expected
    assert run("tiered", data, call_args, gas) == expected


@needs_llvm
@pytest.mark.parametrize("fn", ["loop_sum", "fib"])
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_kernels_match_reference_to_the_unit_of_gas(compute_bytes, fn, n):
    """Enough gas, and gas limits that run out at many points of the loop."""
    full = None
    for gas in [2 * 10**7] + [GAS.tx_base + 3_000 + k * 997 for k in range(12)]:
        outcomes = {}
        for engine in ("reference", "jit"):
            chain = _chain(engine)
            block, address = _deploy(chain, compute_bytes)
            outcomes[engine] = _call(chain, block, address, 1, fn, [n], gas)
        assert outcomes["jit"] == outcomes["reference"], (fn, n, gas)
        full = full or outcomes["jit"]
    assert full[0] == "success"  # the first limit is plenty


@needs_llvm
def test_kernels_run_natively(compute_bytes):
    before = tier.STATS.compiled
    chain = _chain("jit")
    block, address = _deploy(chain, compute_bytes)
    assert _call(chain, block, address, 1, "loop_sum", [1000], 2 * 10**7)[2] == (332_833_500,)
    loaded = next(iter(chain.modules.entries.values()))
    entry = loaded.functions[[f.name for f in loaded.module.functions].index("loop_sum")]
    assert entry.__qualname__.startswith("Slot.native_entry")
    assert tier.STATS.compiled >= before  # compiled now or earlier in this process


@needs_llvm
def test_values_beyond_128_bits_deopt_to_the_same_result():
    text = ".func helper(I I I) -> I\n    LOAD 0\n    LOAD 1\n    MUL i256\n    RET\n" + MAIN
    data = assemble(text).encode()
    deopts = tier.STATS.deopts
    for args in ([3, 5, 0], [2**100, 2**100, 0], [2**200, 2**60, 0], [-(2**127), -1, 0]):
        assert run("jit", data, args, 10**6) == run("reference", data, args, 10**6)
    assert tier.STATS.deopts >= deopts + 2


# ---------------------------------------------------------------- tiering


def _loaded(chain: Chain):
    return next(iter(chain.modules.entries.values()))


@needs_llvm
def test_tiered_compiles_a_function_once_it_is_hot(compute_bytes, monkeypatch):
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(tier, "HOT_GAS_BASE", 50_000)
    monkeypatch.setattr(tier, "HOT_GAS_PER_INSTRUCTION", 0)
    monkeypatch.setattr(tier, "HOT_GAS_PER_BLOCK_SQUARED", 0)
    chain = _chain("tiered")
    block, address = _deploy(chain, compute_bytes)
    loaded = _loaded(chain)
    index = [f.name for f in loaded.module.functions].index("loop_sum")
    assert loaded.functions[index].__qualname__.startswith("Slot.counting_entry")
    nonce = 1
    while loaded.functions[index].__qualname__.startswith("Slot.counting_entry"):
        assert _call(chain, block, address, nonce, "loop_sum", [100], 10**7)[0] == "success"
        nonce += 1
        assert nonce < 100, "never compiled"
    assert loaded.functions[index].__qualname__.startswith("Slot.native_entry")
    # a function without a loop is never a candidate on the tiered engine
    assert nonce > 2  # not compiled at the first call


@needs_llvm
def test_tiered_respects_the_block_budget(compute_bytes, monkeypatch):
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(tier, "HOT_GAS_BASE", 0)
    monkeypatch.setattr(ENGINES["tiered"], "budget", tier.Budget(per_block=0, left=0))
    chain = _chain("tiered")
    block, address = _deploy(chain, compute_bytes)
    for nonce in range(1, 4):
        assert _call(chain, block, address, nonce, "loop_sum", [50], 10**7)[0] == "success"
    loaded = _loaded(chain)
    index = [f.name for f in loaded.module.functions].index("loop_sum")
    assert loaded.functions[index].__qualname__.startswith("Slot.counting_entry")


@needs_llvm
def test_a_failed_compile_leaves_the_function_translated(compute_bytes, monkeypatch):
    def broken(lowered):
        raise RuntimeError("LLVM ERROR: simulated")

    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(native, "compile_function", broken)
    chain = _chain("jit")
    block, address = _deploy(chain, compute_bytes)
    got = _call(chain, block, address, 1, "fib", [90], 10**7)
    ref = _chain("reference")
    rblock, raddress = _deploy(ref, compute_bytes)
    assert got == _call(ref, rblock, raddress, 1, "fib", [90], 10**7)
    loaded = _loaded(chain)
    index = [f.name for f in loaded.module.functions].index("fib")
    assert loaded.functions[index].__name__ == f"f{index}"  # the translated function


# ---------------------------------------------------------------- shadow mode


@needs_llvm
def test_shadow_mode_stops_at_the_first_difference(compute_bytes, monkeypatch):
    monkeypatch.setenv("DEED_JIT_SHADOW", "1")
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    chain = _chain("jit")
    block, address = _deploy(chain, compute_bytes)
    assert _call(chain, block, address, 1, "loop_sum", [10], 10**7)[0] == "success"  # agree: fine

    real_call = native.NativeFunction.__call__

    def off_by_one(self, call, g, args):
        status, left, detail = real_call(self, call, g, args)
        return status, left, tuple(v + 1 for v in detail) if status is Status.OK else detail

    monkeypatch.setattr(native.NativeFunction, "__call__", off_by_one)
    data = chain.encode_call(address, "loop_sum", [10])
    with pytest.raises(NodeError, match="DEED_JIT_SHADOW: native code of 'loop_sum'"):
        block.apply(Transaction(1, 2, KEY.public_key, address, 0, 10**7, 1, data))


# ---------------------------------------------------------------- without llvmlite


def _deed(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from deed.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_llvmlite_the_jit_engine_is_a_clean_configuration_error():
    r = subprocess.run(
        [sys.executable, "-c", "from deed.cli.main import main; main()", "chain", "info"],
        env={**os.environ, "DEED_ENGINE": "jit", "DEED_NO_LLVM": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "the jit engine needs llvmlite" in r.stderr
    assert "Traceback" not in r.stderr


def test_without_llvmlite_the_default_engine_runs_everything(compute_bytes, monkeypatch):
    monkeypatch.setenv("DEED_NO_LLVM", "1")
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    chain = _chain("tiered")
    block, address = _deploy(chain, compute_bytes)
    assert _call(chain, block, address, 1, "loop_sum", [1000], 2 * 10**7)[2] == (332_833_500,)
    loaded = _loaded(chain)
    assert all(f.__qualname__.startswith("f") for f in loaded.functions)  # all translated


def test_disasm_jit_prints_the_ir(tmp_path, compute_bytes):
    path = tmp_path / "compute.deedc"
    path.write_bytes(compute_bytes)
    r = _deed("disasm", "--jit", str(path))
    assert r.returncode == 0, r.stderr
    assert "; function 0 loop_sum: native" in r.stdout
    assert "define i32 @deed_f0(" in r.stdout
    assert "keccak_chain: native" in r.stdout and "call i32 %host(" in r.stdout


# ---------------------------------------------------------------- host sites

_EFFECTS_THEN_WIDE = """
.event Noted(amount: u256)

.func bump(I) -> I
    CONST 0x01
    LOAD 0
    SSTORE
    LOAD 0
    EMIT Noted
    CONST 0x01
    SLOAD
    LOAD 0
    MUL u256
    RET

.export bump(u256) -> u256 = bump
"""


def _outcomes(engine: str, code: bytes, calls: list[tuple[str, list, int]]) -> tuple:
    """Every receipt (status, gas, results, reason, error, logs) and the block's state root."""
    chain = _chain(engine)
    block, address = _deploy(chain, code)
    receipts = []
    for nonce, (fn, args, gas) in enumerate(calls, start=1):
        data = chain.encode_call(address, fn, args)
        r = block.apply(Transaction(1, nonce, KEY.public_key, address, 0, gas, 1, data))
        receipts.append((r.status, r.gas_used, r.return_values, r.revert_reason, r.error, r.logs))
    return receipts, block.commit().state_root


@needs_llvm
@pytest.mark.parametrize("arg", [3, 2**64 + 5, 2**100])
def test_a_deopt_after_effects_undoes_them_and_reruns(arg, monkeypatch):
    """Storage written, an event emitted, then a product beyond i128: the native
    run is undone (writes, event, memory, warm entries) and the translating
    engine's run is the only one anybody sees."""
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    code = assemble(_EFFECTS_THEN_WIDE).encode()
    calls = [("bump", [arg], gas) for gas in (10**6, 60_000, 30_000)]
    before = tier.STATS.deopts
    assert _outcomes("jit", code, calls) == _outcomes("reference", code, calls)
    assert (tier.STATS.deopts > before) == (arg * arg > 2**127)


def _call_chain(depth: int) -> str:
    """f0 calls f1 ... calls f{depth-1}, which stores and hashes: every frame native."""
    lines = [".event Deep(level: u256)"]
    for k in range(depth - 1):
        lines += [
            f".func f{k}(I) -> I",
            "    LOAD 0",
            "    CONST 1",
            "    ADD u64",
            f"    CALL f{k + 1}",
            "    RET",
        ]
    lines += [
        f".func f{depth - 1}(I) -> I",
        "    CONST 0x07",
        "    LOAD 0",
        "    SSTORE",
        "    LOAD 0",
        "    EMIT Deep",
        "    LOAD 0",
        "    RET",
    ]
    lines.append(".export run(u64) -> u64 = f0")
    return "\n".join(lines) + "\n"


@needs_llvm
@pytest.mark.parametrize("depth", [2, 64, 65])
def test_internal_calls_through_the_host_count_frames_like_every_engine(depth, monkeypatch):
    """64 functions deep (the export's frame and 63 internal calls) fit the frame
    limit; 65 revert with 'too many call frames', on native code as on the reference."""
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    code = assemble(_call_chain(depth)).encode()
    calls = [("run", [5], 10**7), ("run", [5], 21_500)]
    jit = _outcomes("jit", code, calls)
    assert jit == _outcomes("reference", code, calls)
    first = jit[0][0]
    if depth <= 64:
        assert first[0] == "success" and first[2] == (5 + depth - 1,)
    else:
        assert first[3] == "too many call frames"


def test_every_instruction_is_lowered_or_handled_by_the_host():
    from deed.vm.jit.host import HANDLERS
    from deed.vm.jit.lower import LOWERINGS
    from deed.vm.opcodes import OPCODES

    for op in OPCODES:
        assert op.name in LOWERINGS or op.name in HANDLERS, op.name


@needs_llvm
def test_tiered_drops_back_a_loop_that_mostly_calls_the_host(monkeypatch):
    """A loop that writes storage at every turn is faster on the translating
    engine (each host crossing costs more than the instructions around it):
    the tiered engine drops it back after a few native runs; a loop that
    mostly computes stays native. Results and gas are the reference's throughout."""
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(tier, "HOST_BOUND", type(tier.HOST_BOUND)())
    monkeypatch.setattr(tier, "HOT_GAS_BASE", 0)
    monkeypatch.setattr(tier, "HOT_GAS_PER_INSTRUCTION", 0)
    monkeypatch.setattr(tier, "HOT_GAS_PER_BLOCK_SQUARED", 0)
    code = assemble(HOST_LOOPS).encode()
    calls = [(fn, [300], 10**7) for _ in range(8) for fn in ("store_every_turn", "store_every_256")]
    assert _outcomes("tiered", code, calls) == _outcomes("reference", code, calls)
    chain = _chain("tiered")
    block, address = _deploy(chain, code)
    for nonce, (fn, args, gas) in enumerate(calls, start=1):
        assert _call(chain, block, address, nonce, fn, args, gas)[0] == "success"
    loaded = _loaded(chain)
    names = [f.name for f in loaded.module.functions]
    assert loaded.functions[names.index("store_every_turn")].__qualname__.startswith(
        "f"
    )  # translated
    assert loaded.functions[names.index("store_every_256")].__qualname__.startswith("Slot.native")
    assert (loaded.module.module_id, names.index("store_every_turn")) in tier.HOST_BOUND


@needs_llvm
def test_tiered_drops_back_a_function_called_often_for_little_work(compute_bytes, monkeypatch):
    """Entering native code costs about a host crossing: loop_sum(0), called
    again and again, does almost nothing natively and goes back to the
    translating engine after ENTRY_ALLOWANCE calls."""
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(tier, "HOST_BOUND", type(tier.HOST_BOUND)())
    monkeypatch.setattr(tier, "HOT_GAS_BASE", 0)
    monkeypatch.setattr(tier, "HOT_GAS_PER_INSTRUCTION", 0)
    monkeypatch.setattr(tier, "HOT_GAS_PER_BLOCK_SQUARED", 0)
    monkeypatch.setattr(tier, "ENTRY_ALLOWANCE", 4)
    chain = _chain("tiered")
    block, address = _deploy(chain, compute_bytes)
    loaded = _loaded(chain)
    index = [f.name for f in loaded.module.functions].index("loop_sum")
    outcomes = [_call(chain, block, address, n, "loop_sum", [0], 10**6) for n in range(1, 12)]
    assert len(set(outcomes)) == 1 and outcomes[0][0] == "success"
    assert loaded.functions[index].__qualname__.startswith("f")  # translated again
    assert (loaded.module.module_id, index) in tier.HOST_BOUND


def test_a_function_with_too_many_blocks_stays_translated():
    """LLVM's optimiser is quadratic in the blocks of a function: the cap keeps
    one compile under about half a second."""
    from deed.vm.jit.lower import MAX_NATIVE_BLOCKS

    n = MAX_NATIVE_BLOCKS + 1
    lines = [".func main(I) -> I"]
    for k in range(n):
        lines += [f"b{k}:", f"    JMP b{k + 1}"]
    lines += [f"b{n}:", "    LOAD 0", "    RET", ".export main(u64) -> u64 = main"]
    vm = verify(assemble("\n".join(lines) + "\n"))
    assert "basic blocks" in unsupported(vm, 0)
    assert tier.compile_estimate_us(n, n) > tier.compile_estimate_us(n, 10)
    assert tier.hot_threshold(n, n) > tier.hot_threshold(n, 10)


@needs_llvm
def test_native_code_let_go_by_the_cache_is_compiled_again(compute_bytes, monkeypatch):
    """The native cache bounds the JIT's memory: a slot whose code was evicted
    counts again (the eager engine compiles it again at its next call)."""
    monkeypatch.setattr(tier, "NATIVE_CACHE", type(tier.NATIVE_CACHE)())
    monkeypatch.setattr(tier, "NATIVE_CACHE_SIZE", 1)
    chain = _chain("jit")
    block, address = _deploy(chain, compute_bytes)
    first = _call(chain, block, address, 1, "loop_sum", [50], 10**7)
    assert _call(chain, block, address, 2, "fib", [50], 10**7)[0] == "success"  # evicts loop_sum
    assert len(tier.NATIVE_CACHE) == 1
    again = _call(chain, block, address, 3, "loop_sum", [50], 10**7)
    assert again == first and first[0] == "success"
    loaded = _loaded(chain)
    index = [f.name for f in loaded.module.functions].index("loop_sum")
    assert loaded.functions[index].__qualname__.startswith("Slot.native_entry")
