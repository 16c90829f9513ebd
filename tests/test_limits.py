"""Limits that hold whatever the gas limit: memory, frames, value sizes."""

from support import Harness

from deed.vm.opcodes import LIMITS

DOUBLER = """
.func grow(I) -> I
.locals B I
    CONST 0x0000000000000000000000000000000000000000000000000000000000000000
    STORE 1
loop:
    LOAD 2
    LOAD 0
    LT
    JMPIFNOT done
    LOAD 1
    LOAD 1
    CONCAT
    STORE 1
    LOAD 2
    CONST 1
    ADD u64
    STORE 2
    JMP loop
done:
    LOAD 1
    LEN
    RET
.export grow(u64) -> u64 = grow
"""


def test_byte_values_cannot_outgrow_their_limit():
    h = Harness()
    addr = h.deployed(DOUBLER)
    assert h.call(addr, "grow", [3]).return_values == (256,)
    r = h.call(addr, "grow", [40], gas_limit=10**12)
    assert r.status == "reverted" and "limit" in r.revert_reason


def test_memory_of_a_transaction_is_capped():
    h = Harness()
    # many values of the maximum size: under the per-value limit, over the per-transaction cap
    text = DOUBLER.replace(
        "LOAD 1\n    LOAD 1\n    CONCAT\n    STORE 1",
        "LOAD 1\n    LOAD 1\n    CONCAT\n    DUP 0\n    LEN\n    CONST 40000\n    LT\n    JMPIF keep\n    POP\n    LOAD 1\nkeep:\n    STORE 1",
    )
    addr = h.deployed(text)
    r = h.call(addr, "grow", [10_000], gas_limit=10**12)
    assert r.status == "reverted" and r.revert_reason == "transaction memory limit reached"


def test_internal_call_frames_are_bounded():
    n = LIMITS.max_frames + 5
    funcs = [f".func f{i}()\n    CALL f{i + 1}\n    RET" for i in range(n)] + [
        f".func f{n}()\n    RET"
    ]
    h = Harness()
    addr = h.deployed("\n".join(funcs) + "\n.export go() = f0\n.export short() = f60\n")
    r = h.send("alice", addr, "go")
    assert r.status == "reverted" and r.revert_reason == "too many call frames"
    assert h.send("alice", addr, "short").success
