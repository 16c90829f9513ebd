"""Memory: what one transaction can make a node hold is bounded by its gas.

spec/vm.md ("Memory") states the bounds this file checks, with transactions
built to hold as much as they can per gas:

- a receipt (events, return data, a typed error's fields, the revert reason)
  holds at most ``RECEIPT_BYTES_PER_GAS`` bytes per gas used, plus
  ``RECEIPT_BYTES_BASE``;
- while it runs, a transaction holds at most ``max_tx_memory`` bytes of byte
  values plus its frames (``TRANSIENT_BOUND`` in all);
- the node's caches stay under their byte budgets whatever transactions read.
"""

from __future__ import annotations

import sys
import tracemalloc

import pytest
from support import Harness

from deed.vm.execution import ModuleCache
from deed.vm.opcodes import LIMITS
from deed.vm.state import MemoryBackend, StateDB

RECEIPT_BYTES_PER_GAS = 1
RECEIPT_BYTES_BASE = 4_096
TRANSIENT_BOUND = 2 * LIMITS.max_tx_memory + 8 * 2**20


def deep_size(obj, seen=None) -> int:
    """Bytes an object holds, following containers and dataclass fields."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(x, seen) for x in obj)
    elif hasattr(obj, "__dict__"):
        size += deep_size(vars(obj), seen)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, s, None), seen) for s in obj.__slots__)
    return size


_DOUBLE = "    LOAD 1\n    LOAD 1\n    CONCAT\n    STORE 1\n"
BIG = "    CONST 0x" + "61" * 64 + "\n    STORE 1\n" + _DOUBLE * 10  # 65,536 bytes in local 1

HOARDERS = {
    # as many events as the gas buys, each as small as it can be
    "many small events": """
.event E()
.func main(I)
.locals I
top:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done
    EMIT E
    LOAD 1
    CONST 1
    ADD u64
    STORE 1
    JMP top
done:
    RET
.export main(u64) = main
""",
    # events of the largest strings
    "large events": f"""
.event E(s: string[65536])
.func main(I)
.locals I B
{BIG}top:
    LOAD 2
    LOAD 0
    LT
    JMPIFNOT done
    LOAD 1
    EMIT E
    LOAD 2
    CONST 1
    ADD u64
    STORE 2
    JMP top
done:
    RET
.export main(u64) = main
""".replace(".locals I B\n", ".locals B I\n"),
    # the largest return value
    "large return": f"""
.func main(I) -> B
.locals B
{BIG}    LOAD 1
    RET
.export main(u64) -> string[65536] = main
""",
    # a typed error with the largest fields
    "large typed error": f"""
.error Big(a: string[65536], b: string[65536])
.func main(I)
.locals B
{BIG}    LOAD 1
    LOAD 1
    RAISE Big
.export main(u64) = main
""",
}


@pytest.mark.parametrize("name", sorted(HOARDERS))
def test_a_receipt_holds_at_most_its_bound(name):
    h = Harness()
    addr = h.deployed(HOARDERS[name])
    for n in (1, 50, 400):
        r = h.send("alice", addr, "main", [n], gas=40_000_000)
        assert r.status in ("success", "reverted"), r.revert_reason
        held = deep_size(r)
        assert held <= RECEIPT_BYTES_PER_GAS * r.gas_used + RECEIPT_BYTES_BASE, (
            name,
            n,
            held,
            r.gas_used,
        )
        h.next_block()


@pytest.mark.parametrize("name", sorted(HOARDERS))
def test_a_transaction_holds_at_most_the_transient_bound_while_it_runs(name):
    h = Harness()
    addr = h.deployed(HOARDERS[name])
    tx = h.tx("alice", addr, h.chain.encode_call(addr, "main", [400]), gas=40_000_000)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        h.block.apply(tx)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= TRANSIENT_BOUND, (name, peak)


def test_the_transaction_memory_cap_holds_whatever_the_gas():
    """A transaction creating byte values without end reverts at the cap."""
    h = Harness()
    text = """
.func main()
.locals B
    CONST 0x61
    STORE 0
top:
    LOAD 0
    LOAD 0
    CONCAT
    DUP 0
    LEN
    CONST 60000
    LT
    JMPIF keep
    POP
    CONST 0x61
keep:
    STORE 0
    JMP top
.export main() = main
"""
    addr = h.deployed(text)
    r = h.send("alice", addr, "main", gas=40_000_000)
    assert r.status == "reverted" and r.revert_reason == "transaction memory limit reached"


def test_the_state_read_cache_stays_under_its_budget():
    """Reads of entries that do not exist (any address's balance) are cached,
    but the cache never holds more than its budget."""
    state = StateDB(MemoryBackend())
    budget = 200_000
    state.CACHE_BYTES = budget
    for i in range(20_000):
        state.balance(i.to_bytes(20, "big"))
    assert state.cache_bytes <= budget
    assert 0 < len(state.cache) < 20_000


def test_the_module_cache_stays_under_its_budget():
    h = Harness()
    modules = ModuleCache(capacity_bytes=200)
    h.chain.modules = modules
    for i in range(12):
        addr = h.deployed(f".func f() -> I\n    CONST {i}\n    RET\n.export f() -> u64 = f\n")
        assert h.call(addr, "f").return_values == (i,)
    assert modules.held_bytes <= 200 + max(e.size for e in modules.entries.values())
    assert len(modules.entries) < 12
