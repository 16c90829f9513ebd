"""The load-time verifier: each rule rejects what it must, and no mutation of a
real module reaches the host as anything but a clean error or a receipt."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import asm_module

from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.errors import DecodeError, VerificationError
from deed.vm.module import Function, Module
from deed.vm.state import MemoryBackend
from deed.vm.verifier import load, verify

REJECTED = [
    ("stack", ".func f()\n    POP\n    RET"),  # underflow
    ("stack", ".func f() -> I\n    CONST 1\n    CONST 2\n    RET"),  # wrong return count
    ("stack", ".func f() -> I\n    CONST 0x01\n    RET"),  # wrong return kind
    ("stack", ".func f()\n    CONST 1\n    CONST 0x01\n    ADD u8\n    RET"),  # kind mismatch
    ("stack", ".func f()\n    CONST 1\n    CONST 0x01\n    EQ\n    RET"),  # EQ of two kinds
    ("stack", ".func f()\n    CONST 1"),  # falls off the end
    (
        "stack",
        ".func f()\n    CONST 1\n    JMPIF a\n    CONST 1\na:\n    RET",
    ),  # heights differ at a join
    (
        "stack",
        ".func f()\n.maxstack 1\n    CONST 1\n    CONST 1\n    POP\n    POP\n    RET",
    ),  # over declared max
    ("immediate", ".func f()\n    LOAD 3\n    RET"),
    ("immediate", ".func f()\n    CONST #9\n    POP\n    RET"),
    ("immediate", ".func f()\n    CALL #4\n    RET"),
    ("immediate", ".func f()\n    EMIT #0\n    RET"),
    ("immediate", ".func f()\n    CONST 1\n    I2B 33\n    POP\n    RET"),
    ("types", ".func f()\n    CONST 1\n    REQUIRE #0\n    RET"),  # a reason must be bytes
    ("call", ".func f()\n    CALL g\n    RET\n.func g()\n    CALL f\n    RET"),  # recursion
    ("call", ".func f()\n    CALL f\n    RET"),
    ("stack", ".func f()\n    CONST 0x01\n    CALL g\n    RET\n.func g(I)\n    RET"),  # arity kinds
    ("export", ".func f()\n    RET\n.export g(u8) = f"),  # kinds differ
    ("export", ".func f()\n    RET\n.export f() = f init\n.export g() = f init"),
]


@pytest.mark.parametrize("rule, text", REJECTED)
def test_rule_rejects(rule, text):
    with pytest.raises(VerificationError) as info:
        verify(assemble(text))
    assert info.value.rule == rule
    assert f"[{rule}]" in str(info.value)


def test_error_names_function_and_offset():
    with pytest.raises(VerificationError) as info:
        verify(
            assemble(
                ".func ok()\n    RET\n.func bad()\n    CONST 1\n    CONST 1\n    POP\n    POP\n    POP\n    RET"
            )
        )
    assert info.value.function == 1 and info.value.offset == 8
    assert str(info.value).startswith("function 1 offset 8: POP: stack underflow")


@pytest.mark.parametrize(
    "code, rule",
    [
        (b"\xff", "opcode"),  # unknown opcode
        (b"\x01\x00", "opcode"),  # CONST cut off
        (b"\x40\x00\x00\x00\x02\x44", "jump"),  # into the middle of JMP
        (b"\x40\x00\x00\x01\x00", "jump"),  # outside the function
        (b"\x10\x40\x44", "immediate"),  # integer type code 64 does not exist
    ],
)
def test_raw_code_rules(code, rule):
    module = Module(functions=(Function("f", (), (), (), 4, code),))
    with pytest.raises(VerificationError) as info:
        verify(module)
    assert info.value.rule == rule


def test_selector_must_be_the_hash_of_the_signature():
    m = assemble(".func f()\n    RET\n.export f() = f")
    e = m.exports[0]
    forged = Module(
        m.constants,
        m.functions,
        (type(e)(e.name, b"\x00\x00\x00\x00", e.function, e.flags, e.params, e.returns),),
    )
    with pytest.raises(VerificationError, match="selector"):
        verify(forged)


def test_unreachable_code_is_allowed_but_not_run():
    vm = verify(assemble(".func f()\n    RET\n    CONST 1\n    RET"))
    f = vm.functions[0]
    assert not f.reachable(1) and f.reachable(0)
    assert len(f.blocks) == 1 and f.costs[1] == 0


def test_blocks_are_identified():
    vm = verify(asm_module("compute"))
    loop_sum = vm.functions[0]
    assert [(b.start, b.end, b.successors) for b in loop_sum.blocks] == [
        (0, 4, (2, 1)),
        (4, 17, (0,)),
        (17, 19, ()),
    ]


# --------------------------------------------------------------------------- mutation


TOKEN = asm_module("token").encode()
COMPUTE = asm_module("compute").encode()
HOST_SAFE = (DecodeError, VerificationError)


def mutate(data: bytes, draw) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[pos : pos + draw(st.integers(1, 4))]
    return bytes(data)


@settings(max_examples=300)
@given(st.sampled_from([TOKEN, COMPUTE]), st.data())
def test_mutated_modules_are_rejected_cleanly_or_run_cleanly(original, data):
    mutated = mutate(original, data.draw)
    try:
        vm = load(mutated)
    except HOST_SAFE:
        return
    # Accepted: deploy it and call every export with arbitrary arguments.
    key = KeyPair.from_text("fuzzer")
    chain = Chain(MemoryBackend())
    chain.genesis({key.address: 10**20})
    block = chain.begin_block(10)
    receipt = block.apply(
        Transaction(1, 0, key.public_key, None, 0, 3_000_000, 1, deploy_data(mutated)).signed(key)
    )
    assert receipt.status in ("success", "reverted", "out_of_gas")
    if not receipt.success:
        return
    for e in vm.module.exports:
        if e.is_init:
            continue
        args = data.draw(st.binary(max_size=80))
        nonce = chain.nonce(key.address)
        tx = Transaction(
            1, nonce, key.public_key, receipt.contract_address, 0, 200_000, 1, e.selector + args
        ).signed(key)
        r = block.apply(tx)
        assert r.status in ("success", "reverted", "out_of_gas")
