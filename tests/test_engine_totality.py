"""Totality of every engine on modules at the edges of what the verifier accepts.

Each case is a hand-built module (or a few) in one class of shapes that has
broken an engine: a function that is one basic block jumping to itself,
boolean and comparison operations nested hundreds deep in one block,
thousands of basic blocks in one function, very long runs of one
instruction, the maximum stack carried across many blocks, the maximum
number of locals, the largest integer constants, internal call chains to
``LIMITS.max_frames``, cross-contract chains to ``LIMITS.max_call_depth``
and the largest modules that ``load()`` accepts.

Every case is deployed and called on every engine of
``deed.vm.execution.ENGINES``. No Python exception may escape
``BlockBuilder.apply`` or ``Chain.call`` (only ``InvalidTransaction`` may,
and no case expects one), the outcomes (receipts, read-only results, state
roots, block header) of every engine must equal the reference engine's, and
the reference's outcome must be the one the case expects.

The determinism tests run cases under a deep Python call stack and a low
recursion limit: the receipts must not depend on where the host calls from.

Before issue 8's engine work the translating engine failed many of these
(SyntaxError from a self-jump or deep nesting, RecursionError and MemoryError
from thousands of blocks, outcomes that depended on the host's stack).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import traceback
from dataclasses import dataclass, field

import pytest

from deed.vm import costs
from deed.vm.chain import STATUS_OUT_OF_GAS, Chain, Transaction, contract_address, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.errors import DecodeError, InvalidTransaction, VerificationError
from deed.vm.execution import ENGINES, ModuleCache
from deed.vm.module import Export, Function, ImportDef, Module, selector
from deed.vm.opcodes import BY_NAME, GAS, LIMITS, encode_instruction
from deed.vm.state import Account, MemoryBackend
from deed.vm.types import BYTES, INT, U64, U256, ValueType, int_type_code
from deed.vm.verifier import load

SENDER = KeyPair.from_text("totality")


def _tight(gas: int) -> int:
    """A gas limit that leaves what ``gas`` left over schedule 1's 2,000 intrinsic
    gas: such calls run out of gas part of the way through."""
    return gas - 2_000 + GAS.tx_base


ENGINE_NAMES = ["reference"] + sorted(e for e in ENGINES if e != "reference")
U256_MAX = 2**256 - 1
T_U64 = int_type_code(False, 64)
T_U256 = int_type_code(False, 256)
T_I256 = int_type_code(True, 256)
MAX_BLOCKS = LIMITS.max_blocks
# DEED_TOTALITY_LONG=1: the 20,000-deep NOT chain too (today's translator
# takes about 25 s to fail on it, so CI runs 3,000)
LONG = os.environ.get("DEED_TOTALITY_LONG") == "1"
MANY_BLOCKS = MAX_BLOCKS


def ins(name: str, *args: int) -> bytes:
    return encode_instruction(BY_NAME[name], args)


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Call:
    target: int  # index into the case's deployed modules, or -1 - i for installed module i
    export: str
    args: tuple = ()
    gas: int = 2_000_000
    read_only: bool = False


@dataclass
class Case:
    modules: list[Module]  # deployed in this order by SENDER
    calls: list[Call]
    expect: list[tuple]  # per call: (status, return values) or (status, None) for any values
    installed: list[Module] = field(default_factory=list)  # written straight into the state


def _export(name: str, fn: int, params=(), returns=(), flags: int = 0) -> Export:
    return Export(name, selector(name, params), fn, flags, tuple(params), tuple(returns))


def _one_function(
    code: bytes,
    params=(),
    returns=(),
    local_kinds=(),
    constants=(),
    max_stack: int = LIMITS.max_stack,
    export_params=None,
    export_returns=None,
) -> Module:
    kinds = tuple(INT if t == "I" else BYTES for t in params)
    rkinds = tuple(INT if t == "I" else BYTES for t in returns)
    eparams = export_params or tuple(U256 for _ in params)
    ereturns = export_returns or tuple(U256 for _ in returns)
    return Module(
        constants=tuple(constants),
        functions=(Function("main", kinds, tuple(local_kinds), rkinds, max_stack, code),),
        exports=(_export("main", 0, eparams, ereturns),),
    )


def self_jump_counted() -> Case:
    """One basic block that jumps to itself; REQUIRE ends it after n rounds."""
    code = (
        ins("LOAD", 1)
        + ins("CONST", 0)
        + ins("ADD", T_U64)
        + ins("DUP", 0)
        + ins("STORE", 1)
        + ins("LOAD", 0)
        + ins("LE")
        + ins("REQUIRE", 1)
        + ins("JMP", 0)
    )
    m = _one_function(code, params="I", local_kinds=(INT,), constants=(1, b"done"))
    return Case(
        [m],
        [Call(0, "main", (100,)), Call(0, "main", (0,), read_only=True)],
        [("reverted", ()), ("reverted", ())],
    )


def unreachable_bad_immediates() -> Case:
    """Unreachable code is decoded but its immediates are never checked (a
    constant, a local, a function that do not exist): no engine may look at
    them (the fuzzer found the reference engine preparing them)."""
    code = (
        ins("CONST", 0)
        + ins("RET")
        + ins("CONST", 999)
        + ins("LOAD", 200)
        + ins("CALL", 77)
        + ins("SLOADB", 500)
        + ins("RET")
    )
    m = _one_function(code, returns="I", constants=(7,))
    return Case(
        [m],
        [Call(0, "main"), Call(0, "main", read_only=True)],
        [("success", (7,)), ("success", (7,))],
    )


def self_jump_overflow() -> Case:
    """One block jumping to itself, ended by a checked addition overflowing u8."""
    code = (
        ins("LOAD", 0)
        + ins("CONST", 0)
        + ins("ADD", int_type_code(False, 8))
        + ins("STORE", 0)
        + ins("JMP", 0)
    )
    m = _one_function(code, local_kinds=(INT,), constants=(1,))
    return Case([m], [Call(0, "main")], [("reverted", ())])


def self_jump_unbounded() -> Case:
    """``top: JMP top`` and a variant with work in the block: out of gas at any limit."""
    m = Module(
        constants=(1,),
        functions=(
            Function("spin", (), (), (), 0, ins("JMP", 0)),
            Function("busy", (), (), (), 1, ins("CONST", 0) + ins("POP") + ins("JMP", 0)),
        ),
        exports=(_export("spin", 0), _export("busy", 1)),
    )
    calls = [
        Call(0, "spin", gas=150_000),
        Call(0, "busy", gas=_tight(77_777)),
        Call(0, "spin", gas=_tight(40_000), read_only=True),
    ]
    return Case([m], calls, [(STATUS_OUT_OF_GAS, ())] * 3)


def _nested(kind: str, depth: int) -> tuple[bytes, tuple, int]:
    """Code that nests ``depth`` operations in one block, its constants and its result."""
    if kind == "not":
        return ins("CONST", 0) + ins("NOT") * depth, (1,), int(depth % 2 == 0)
    if kind == "compare":  # ((((7 > 3) > 3) > 3) ...)
        return ins("CONST", 0) + (ins("CONST", 1) + ins("GT")) * depth, (7, 3), int(depth == 1)
    body = b""
    value = 1
    if kind == "and_or":  # AND 1, OR 0, NOT, in turn
        for i in range(depth):
            if i % 3 == 0:
                body += ins("CONST", 0) + ins("AND")
            elif i % 3 == 1:
                body += ins("CONST", 1) + ins("OR")
            else:
                body += ins("NOT")
                value = 1 - value
        return ins("CONST", 0) + body, (1, 0), value
    if kind == "mixed":  # EQ, NE, LT, MAX, MIN, GE with 1, in turn
        ops = {
            "EQ": lambda v: int(v == 1),
            "NE": lambda v: int(v != 1),
            "LT": lambda v: int(v < 1),
            "MAX": lambda v: max(v, 1),
            "MIN": lambda v: min(v, 1),
            "GE": lambda v: int(v >= 1),
        }
        names = list(ops)
        for i in range(depth):
            op = names[i % len(names)]
            body += ins("CONST", 0) + ins(op)
            value = ops[op](value)
        return ins("CONST", 0) + body, (1,), value
    raise ValueError(kind)


def nested(kind: str, depth: int) -> Case:
    body, constants, value = _nested(kind, depth)
    m = _one_function(body + ins("RET"), returns="I", constants=constants, max_stack=2)
    return Case(
        [m],
        [
            Call(0, "main"),
            Call(0, "main", read_only=True),
            Call(0, "main", gas=_tight(2_000 + 2 * depth)),
        ],
        [("success", (value,)), ("success", (value,)), (None, None)],
    )


def many_blocks(n: int = MANY_BLOCKS, conditional: bool = False) -> Case:
    """About ``n`` basic blocks in one function, each counting itself in a
    local; ``conditional``: each unit is a JMPIF block and a JMP block."""
    count = ins("LOAD", 1) + ins("CONST", 0) + ins("ADD", T_U64) + ins("STORE", 1)
    units = n // 2 if conditional else n - 1
    exit_ = ins("LOAD", 0) + ins("JMPIF", 0) + ins("JMP", 0) if conditional else ins("JMP", 0)
    if (len(count) + len(exit_)) * units + 3 > LIMITS.max_code_size:
        count = b""  # a large block limit: blocks of only their jumps
    code = b""
    for _ in range(units):
        nxt = len(code) + len(count) + len(exit_)
        if conditional:
            code += count + ins("LOAD", 0) + ins("JMPIF", nxt) + ins("JMP", nxt)
        else:
            code += count + ins("JMP", nxt)
    code += ins("LOAD", 1) + ins("RET")
    m = _one_function(code, params="I", returns="I", local_kinds=(INT,), constants=(1,))
    expected = units if count else 0
    return Case(
        [m],
        [
            Call(0, "main", (1,)),
            Call(0, "main", (0,), read_only=True),
            Call(0, "main", (1,), gas=_tight(9_000)),
        ],
        [("success", (expected,)), ("success", (expected,)), (None, None)],
    )


def long_chain(kind: str) -> Case:
    if kind.startswith("not_"):
        n = int(kind[4:])
        code, value, constants = ins("CONST", 0) + ins("NOT") * n + ins("RET"), 1 - n % 2, (1,)
    elif kind == "dup_pop_10000":
        code = ins("CONST", 0) + (ins("DUP", 0) + ins("POP")) * 10_000 + ins("RET")
        value, constants = 5, (5,)
    elif kind == "swap_20000":
        code = ins("CONST", 0) + ins("CONST", 1) + ins("SWAP", 1) * 20_001 + ins("POP") + ins("RET")
        value, constants = 6, (5, 6)
    elif kind == "load_store_4000":
        code = ins("CONST", 0) + ins("STORE", 1)
        code += (ins("LOAD", 1) + ins("STORE", 0) + ins("LOAD", 0) + ins("STORE", 1)) * 4_000
        code += ins("LOAD", 0) + ins("RET")
        value, constants = 9, (9,)
    elif kind == "add_3000":
        code = ins("CONST", 0) + (ins("CONST", 0) + ins("ADD", T_U256)) * 3_000 + ins("RET")
        value, constants = 3 * 3_001, (3,)
    else:
        raise ValueError(kind)
    m = _one_function(code, params="", returns="I", local_kinds=(INT, INT), constants=constants)
    return Case(
        [m],
        [Call(0, "main", gas=5_000_000), Call(0, "main", gas=_tight(30_000))],
        [("success", (value,)), (None, None)],
    )


def max_stack_across_blocks(blocks: int = 400) -> Case:
    """The maximum stack (ints and bytes) carried through many blocks that
    shuffle it, then folded into one result."""
    depth = LIMITS.max_stack - 1  # one slot left for the DUP in each block
    kinds = ["I" if i % 2 == 0 else "B" for i in range(depth)]
    code = b"".join(ins("CONST", 0 if k == "I" else 1) for k in kinds)
    for _ in range(blocks):  # swap the top with the second value from the bottom: both bytes
        block = ins("DUP", 0) + ins("POP") + ins("SWAP", depth - 2)
        code += block + ins("JMP", len(code) + len(block) + 5)
    fold = b""
    if kinds[-1] == "B":
        fold += ins("LEN")
        kinds[-1] = "I"
    while len(kinds) > 1:
        fold += (ins("SWAP", 1) + ins("LEN") if kinds[-2] == "B" else b"") + ins("ADD", T_U256)
        kinds.pop()
        kinds[-1] = "I"
    m = _one_function(code + fold + ins("RET"), returns="I", constants=(7, b"abc"))
    n_int = (depth + 1) // 2
    value = 7 * n_int + 3 * (depth - n_int)
    return Case(
        [m],
        [
            Call(0, "main", gas=5_000_000),
            Call(0, "main", read_only=True),
            Call(0, "main", gas=_tight(9_999)),
        ],
        [("success", (value,)), ("success", (value,)), (None, None)],
    )


def max_locals() -> Case:
    """255 locals (parameters included), ints and bytes, each written and read."""
    n_params = 3
    local_kinds = tuple(INT if i % 3 else BYTES for i in range(LIMITS.max_locals - n_params))
    kinds = (INT,) * n_params + local_kinds
    code = b""
    for i, k in enumerate(kinds):
        if i >= n_params:
            code += ins("CONST", 0 if k == INT else 1) + ins("STORE", i)
    code += ins("CONST", 2)  # accumulator
    for i, k in enumerate(kinds):
        code += ins("LOAD", i) + (ins("LEN") if k == BYTES else b"") + ins("ADD", T_U256)
    code += ins("RET")
    m = _one_function(
        code, params="III", returns="I", local_kinds=local_kinds, constants=(5, b"xy", 0)
    )
    n_int = sum(1 for k in local_kinds if k == INT)
    n_bytes = len(local_kinds) - n_int
    value = 1 + 2 + 3 + 5 * n_int + 2 * n_bytes
    return Case(
        [m],
        [Call(0, "main", (1, 2, 3)), Call(0, "main", (1, 2, 3), gas=_tight(6_000))],
        [("success", (value,)), (None, None)],
    )


def large_constants() -> Case:
    """Integer constants of 256 bits in magnitude, in and out of every type."""
    consts = (U256_MAX, -U256_MAX, 2**255, -(2**255), 1, 2**255 - 1, 256, 0)
    bodies = {
        "overflow_add": ins("CONST", 0) + ins("CONST", 4) + ins("ADD", T_U256),
        "neg_cast": ins("CONST", 1) + ins("CAST", T_I256),
        "mul": ins("CONST", 0) + ins("CONST", 0) + ins("MUL", T_U256),
        "sub_to_zero": ins("CONST", 0) + ins("CONST", 0) + ins("SUB", T_U256),
        "min_i256": ins("CONST", 3),
        "xor": ins("CONST", 0) + ins("CONST", 5) + ins("BXOR", T_U256),
        "shr": ins("CONST", 0) + ins("CONST", 6) + ins("SHR", T_U256),
        "shl": ins("CONST", 4) + ins("CONST", 6) + ins("SHL", T_U256),
        "exp": ins("CONST", 5) + ins("CONST", 6) + ins("EXP", T_U256),
        "bnot": ins("CONST", 7) + ins("BNOT", T_U256),
        "compare": ins("CONST", 1) + ins("CONST", 0) + ins("LT"),
        "neg_of_min": ins("CONST", 3) + ins("NEG", T_I256),
    }
    functions, exports = [], []
    for i, (name, body) in enumerate(bodies.items()):
        ret_type = ValueType(2, 256) if name in ("min_i256",) else U256
        functions.append(Function(name, (), (), (INT,), 4, body + ins("RET")))
        exports.append(_export(name, i, (), (ret_type,)))
    m = Module(constants=consts, functions=tuple(functions), exports=tuple(exports))
    expect = {
        "overflow_add": ("reverted", ()),
        "neg_cast": ("reverted", ()),
        "mul": ("reverted", ()),
        "sub_to_zero": ("success", (0,)),
        "min_i256": ("success", (-(2**255),)),
        "xor": ("success", (2**255,)),
        "shr": ("success", (0,)),
        "shl": ("reverted", ()),
        "exp": ("reverted", ()),
        "bnot": ("success", (U256_MAX,)),
        "compare": ("success", (1,)),
        "neg_of_min": ("reverted", ()),
    }
    return Case([m], [Call(0, name) for name in bodies], [expect[name] for name in bodies])


def internal_chain(depth: int) -> Case:
    """f0 calls f1 ... calls f(depth-1); the export's frame counts too, so
    ``depth == LIMITS.max_frames`` is the deepest chain that may succeed."""
    functions = []
    for i in range(depth):
        if i < depth - 1:
            code = ins("LOAD", 0) + ins("CONST", 0) + ins("ADD", T_U64) + ins("CALL", i + 1)
        else:
            code = ins("LOAD", 0)
        functions.append(Function(f"f{i}", (INT,), (), (INT,), 3, code + ins("RET")))
    m = Module(
        constants=(1,),
        functions=tuple(functions),
        exports=(_export("main", 0, (U64,), (U64,)),),
    )
    ok = depth <= LIMITS.max_frames
    expect = ("success", (depth - 1,)) if ok else ("reverted", ())
    return Case(
        [m],
        [
            Call(0, "main", (0,)),
            Call(0, "main", (0,), read_only=True),
            Call(0, "main", (0,), _tight(5_000)),
        ],
        [expect, expect, (None, None)],
    )


HOP = ValueType(6, 20 * 40)  # bytes[800]: the addresses still to visit


def _hop_module(try_flag: int) -> Module:
    """hop(rest) -> u64: calls hop on the first address of ``rest`` with the
    others; returns how many calls after this one succeeded."""
    code = ins("LOAD", 0) + ins("LEN") + ins("JMPIF", 12) + ins("CONST", 0) + ins("RET")
    assert len(code) == 12
    code += ins("LOAD", 0) + ins("CONST", 0) + ins("CONST", 1) + ins("SLICE")  # to
    code += ins("CONST", 0)  # value
    code += ins("LOAD", 0) + ins("CONST", 1) + ins("LOAD", 0) + ins("LEN")
    code += ins("CONST", 1) + ins("SUB", T_U64) + ins("SLICE")  # the rest
    code += ins("XCALL", 0, try_flag)
    code += ins("ADD", T_U64) if try_flag else ins("CONST", 2) + ins("ADD", T_U64)
    code += ins("RET")
    return Module(
        constants=(0, 20, 1),
        functions=(Function("hop", (BYTES,), (), (INT,), 8, code),),
        exports=(_export("hop", 0, (HOP,), (U64,)),),
        imports=(ImportDef("hop", selector("hop", (HOP,)), (HOP,), (U64,)),),
    )


def xcall_chain(contracts: int, try_flag: int = 0) -> Case:
    """``contracts`` copies of one contract, each calling the next: that many
    contracts on the call stack (``LIMITS.max_call_depth`` may succeed)."""
    m = _hop_module(try_flag)
    addresses = [contract_address(SENDER.address, i) for i in range(contracts)]
    rest = b"".join(addresses[1:])
    ok = contracts <= LIMITS.max_call_depth
    if try_flag:  # the refused call counts 0 and the chain goes on
        expect = ("success", (min(contracts, LIMITS.max_call_depth) - 1,))
    else:
        expect = ("success", (contracts - 1,)) if ok else ("reverted", ())
    return Case(
        [m] * contracts,
        [
            Call(0, "hop", (rest,), gas=5_000_000),
            Call(0, "hop", (rest,), read_only=True),
            Call(0, "hop", (rest,), gas=_tight(12_000)),
        ],
        [expect, expect, (None, None)],
    )


def _filled_module(target_size: int, n_big: int, reachable: int) -> Module:
    """A main function that calls ``n_big`` functions, grown until the module
    encodes to just under ``target_size`` bytes. The first ``reachable`` of
    them run DUP/POP pairs through a third of their code; the rest, and the
    other functions, which return at once, carry the same pairs as
    unreachable code (decoded and verified, never translated: that keeps the
    case fast while the module is at the limit)."""
    unit = ins("DUP", 0) + ins("POP")

    def build(units: list[int]) -> Module:
        main = ins("LOAD", 0) + b"".join(ins("CALL", i + 1) for i in range(len(units)))
        functions = [Function("main", (INT,), (), (INT,), 2, main + ins("RET"))]
        for i, n in enumerate(units):
            if i < reachable:  # a third of it runs, the rest is unreachable
                code = ins("LOAD", 0) + unit * (n // 3) + ins("RET") + unit * (n - n // 3)
            else:
                code = ins("LOAD", 0) + ins("RET") + unit * n
            functions.append(Function(f"f{i}", (INT,), (), (INT,), 2, code))
        return Module(
            constants=(1,),
            functions=tuple(functions),
            exports=(_export("main", 0, (U64,), (U64,)),),
        )

    units = [(LIMITS.max_code_size - 3) // len(unit)] * n_big
    while (over := len(build(units).encode()) - target_size) > 0:
        units[-1] -= max(1, over // len(unit))
    while len(build(units[:-1] + [units[-1] + 1]).encode()) <= target_size:
        units[-1] += 1
    return build(units)


def largest_modules() -> Case:
    """The largest module a transaction can deploy, and the largest module
    ``load()`` accepts (too large for a transaction: written into the state
    directly, as a node restoring a snapshot would). The loadable one runs
    a run of 7,000 DUP/POP pairs."""
    overhead = 16  # deploy data: the module's length varint, no init arguments
    deployable = _filled_module(LIMITS.max_tx_data - overhead, n_big=2, reachable=0)
    loadable = _filled_module(LIMITS.max_module_size, n_big=4, reachable=1)
    assert len(deploy_data(deployable.encode())) <= LIMITS.max_tx_data
    assert len(loadable.encode()) > LIMITS.max_module_size - 8
    with pytest.raises(DecodeError):  # one byte more and load() refuses it
        load(loadable.encode() + b"\x00")
    return Case(
        [deployable],
        [
            Call(0, "main", (5,), gas=5_000_000),
            Call(-1, "main", (5,), gas=5_000_000),
            Call(-1, "main", (5,), read_only=True, gas=5_000_000),
            Call(-1, "main", (5,), gas=_tight(12_000)),
        ],
        [("success", (5,)), ("success", (5,)), ("success", (5,)), (STATUS_OUT_OF_GAS, ())],
        installed=[loadable],
    )


def many_functions() -> Case:
    """``LIMITS.max_functions`` functions, all called one after another."""
    n = LIMITS.max_functions
    main = ins("LOAD", 0)
    for i in range(1, n):
        main += ins("CALL", i)
    functions = [Function("main", (INT,), (), (INT,), 2, main + ins("RET"))]
    body = ins("LOAD", 0) + ins("CONST", 0) + ins("ADD", T_U64) + ins("RET")
    functions += [Function(f"f{i}", (INT,), (), (INT,), 2, body) for i in range(1, n)]
    m = Module(
        constants=(1,), functions=tuple(functions), exports=(_export("main", 0, (U64,), (U64,)),)
    )
    return Case(
        [m],
        [Call(0, "main", (0,)), Call(0, "main", (0,), gas=_tight(9_000))],
        [("success", (n - 1,)), (None, None)],
    )


CASES = {
    "unreachable_bad_immediates": unreachable_bad_immediates,
    "self_jump_counted": self_jump_counted,
    "self_jump_overflow": self_jump_overflow,
    "self_jump_unbounded": self_jump_unbounded,
    **{
        f"nested_{kind}_{depth}": (lambda kind=kind, depth=depth: nested(kind, depth))
        for kind in ("not", "compare", "and_or", "mixed")
        for depth in (200, 500, 2000)
    },
    f"many_blocks_{MANY_BLOCKS}": many_blocks,
    "many_blocks_conditional": lambda: many_blocks(MANY_BLOCKS // 2, conditional=True),
    "blocks_under_a_hundred": lambda: many_blocks(90),
    # without a block limit: 8,000 blocks (compile() runs out of memory today)
    **({"many_blocks_8000": lambda: many_blocks(8_000)} if MAX_BLOCKS is None else {}),
    **{
        f"long_chain_{kind}": (lambda kind=kind: long_chain(kind))
        for kind in (
            "not_20000" if LONG else "not_3000",
            "dup_pop_10000",
            "swap_20000",
            "load_store_4000",
            "add_3000",
        )
    },
    "max_stack_across_blocks": max_stack_across_blocks,
    "max_locals": max_locals,
    "large_constants": large_constants,
    "internal_chain_at_max_frames": lambda: internal_chain(LIMITS.max_frames),
    "internal_chain_over_max_frames": lambda: internal_chain(LIMITS.max_frames + 1),
    "xcall_chain_at_max_depth": lambda: xcall_chain(LIMITS.max_call_depth),
    "xcall_chain_over_max_depth": lambda: xcall_chain(LIMITS.max_call_depth + 1),
    "xcall_try_chain_over_max_depth": lambda: xcall_chain(LIMITS.max_call_depth + 1, 1),
    "largest_modules": largest_modules,
    "many_functions": many_functions,
}

# the cases today's VM fails, with the reason (issue 8)


# --------------------------------------------------------------------------- running


class HostException(AssertionError):
    """A Python exception other than InvalidTransaction escaped the host API."""


def _call_data(module: Module, name: str, args: tuple) -> bytes:
    export = next(e for e in module.exports if e.name == name and not e.is_init)
    return export.selector + encode_values(export.params, list(args))


def _outcome(r) -> tuple:
    return (
        r.status,
        r.gas_used,
        tuple(r.return_values),
        r.revert_reason,
        r.error,
        tuple((log.address, log.event, log.values, log.data) for log in r.logs),
    )


INSTALLED = [b"\xaa" * 19 + bytes([i]) for i in range(8)]


def observe(engine: str, case: Case) -> list:
    """Deploy and call everything on a fresh chain with one engine.
    Raises HostException if anything but InvalidTransaction escapes."""
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({SENDER.address: 10**30})
    block = chain.begin_block(1_000)
    for i, module in enumerate(case.installed):
        code = module.encode()
        code_hash = hashlib.sha256(code).digest()
        chain.state.set_code(code_hash, code)
        chain.state.set_account(INSTALLED[i], Account(0, 0, code_hash))
    out: list = []
    nonce = 0

    def apply(tx: Transaction):
        try:
            return block.apply(tx)
        except InvalidTransaction:
            raise
        except Exception as exc:
            raise HostException(
                f"{engine}: {type(exc).__name__} escaped BlockBuilder.apply: {exc}\n"
                + "".join(traceback.format_exception(exc)[-6:])
            ) from exc

    for module in case.modules:
        data = deploy_data(module.encode())
        gas = costs.intrinsic(len(data), True) + costs.translation(load(module.encode())) + 10**6
        r = apply(Transaction(1, nonce, SENDER.public_key, None, 0, gas, 1, data))
        nonce += 1
        assert r.success, f"{engine}: deployment failed: {r.revert_reason}"
        out.append(("deploy", r.gas_used, r.contract_address))
    for call in case.calls:
        if call.target >= 0:
            to, module = contract_address(SENDER.address, call.target), case.modules[call.target]
        else:
            to, module = INSTALLED[-1 - call.target], case.installed[-1 - call.target]
        if call.read_only:
            try:
                r = chain.call(to, call.export, list(call.args), gas_limit=call.gas)
            except Exception as exc:
                raise HostException(
                    f"{engine}: {type(exc).__name__} escaped Chain.call: {exc}\n"
                    + "".join(traceback.format_exception(exc)[-6:])
                ) from exc
        else:
            data = _call_data(module, call.export, call.args)
            r = apply(Transaction(1, nonce, SENDER.public_key, to, 0, call.gas, 1, data))
            nonce += 1
        out.append(_outcome(r) + (chain.state_root(),))
    out.append(block.commit())
    return out


def check_case(case: Case, engines=ENGINE_NAMES) -> dict[str, list]:
    results = {engine: observe(engine, case) for engine in engines}
    reference = results["reference"]
    for engine, got in results.items():
        for step, (a, b) in enumerate(zip(reference, got, strict=True)):
            assert b == a, f"{engine} differs from reference at step {step}: {b!r} != {a!r}"
    calls = reference[len(case.modules) : len(case.modules) + len(case.calls)]
    for i, ((status, values), got) in enumerate(zip(case.expect, calls, strict=True)):
        if status is not None:
            assert got[0] == status, f"call {i}: {got[0]} ({got[3]}), expected {status}"
        if values is not None:
            assert got[2] == values, f"call {i}: returned {got[2]}, expected {values}"
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_every_engine_is_total_and_agrees(name):
    case = CASES[name]()
    for module in case.modules + case.installed:
        load(module.encode())  # the verifier accepts every case
    check_case(case)


def test_one_block_over_the_block_limit_fails_verification():
    assert 5 * (MAX_BLOCKS + 2) <= LIMITS.max_code_size  # the jumps fit one function
    m = many_blocks(MAX_BLOCKS + 2).modules[0]
    with pytest.raises(VerificationError) as err:
        load(m.encode())
    assert err.value.rule == "limits"


# --------------------------------------------------------------------------- host stack


def _stack_depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def _at_depth(frames: int, fn):
    """Call fn with ``frames`` more Python frames on the stack."""
    if frames <= 0:
        return fn()
    return _at_depth(frames - 1, fn)


DEPTH_CASES = [
    "internal_chain_at_max_frames",
    "xcall_chain_at_max_depth",
    "nested_not_200",
    "many_blocks_conditional",
    "max_stack_across_blocks",
]


def _depth_params():
    return [
        pytest.param(name, where, id=f"{name}-{where}")
        for name in DEPTH_CASES
        for where in ("deep_stack", "low_limit")
    ]


@functools.cache
def _shallow(name: str) -> dict[str, list]:
    return check_case(CASES[name]())


@pytest.mark.parametrize("name,where", _depth_params())
def test_receipts_do_not_depend_on_the_host_stack(name, where):
    """The same case, called from 800 Python frames deep (under the default
    recursion limit of 1,000, or 100 frames above the 800 if the runner
    already uses more), or under a recursion limit only 100 frames above
    the caller, gives the same receipts as from a shallow stack, on every
    engine."""
    case = CASES[name]()
    shallow = _shallow(name)

    def again():
        return {engine: observe(engine, case) for engine in ENGINE_NAMES}

    old = sys.getrecursionlimit()
    if where == "deep_stack":  # under the default limit of 1,000 frames
        sys.setrecursionlimit(max(1_000, _stack_depth() + 800 + 100))
        try:
            deep = _at_depth(800, again)
        finally:
            sys.setrecursionlimit(old)
    else:
        sys.setrecursionlimit(_stack_depth() + 100)
        try:
            deep = again()
        finally:
            sys.setrecursionlimit(old)
    assert deep == shallow
