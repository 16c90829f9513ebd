#!/usr/bin/env python3
"""A standing fuzzer for module loading and the execution engines.

    python benchmarks/fuzz_modules.py --cases N --seed S [--engines translate,reference]
                                      [--out DIR] [--time-budget SECONDS] [--resume]
    python benchmarks/fuzz_modules.py --replay DIR/some-class/case-123.json

Seed corpus: the compiled standard contracts (``contracts/**/*.deed``), their
assembly twins (``contracts/asm/*.dasm``) and generated every-opcode
programs (``tests/program_gen.py``). Each case takes one corpus module and
applies a few mutations: byte-wise (bit flips, byte insert, delete and
duplicate, splices between corpus modules, varints rewritten near limits)
or structure-aware (decode, change the dataclasses, re-encode: random
well-typed instruction streams, wrong kinds, counts at and over every limit
of ``LIMITS``, deep nesting, many blocks, self-jumps, long runs, huge
constants, wrong selectors).

For each case, ``deed.vm.verifier.load`` must accept the bytes or raise
``DecodeError``/``VerificationError``. An accepted module is deployed on a
fresh chain per engine (its init export called with generated arguments; if
the deployment fails, or the module is too large for a transaction, the code
is written into the state directly) and every export is called with
generated call data at two gas limits, and read-only through ``Chain.call``.
Anything but a receipt or ``InvalidTransaction`` escaping ``apply`` (or
anything escaping ``Chain.call``) is a *host exception*; any difference
between an engine's outcomes (receipts, return values, events, errors, state
roots, block header) and the baseline engine's (``reference`` when it is one
of the engines) is a *divergence*. Failures are grouped into classes; the
first reproducer of each class is saved under ``--out`` (the module bytes
and the exact transactions, replayable with ``--replay``).

Every case is a pure function of (seed, case index), so a campaign is
deterministic and ``--resume`` continues one from ``DIR/progress.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import random
import re
import resource
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import program_gen  # noqa: E402

from deed.vm.asm import assemble  # noqa: E402
from deed.vm.chain import Chain, Transaction, contract_address, deploy_data  # noqa: E402
from deed.vm.codec import decode_values, encode_values  # noqa: E402
from deed.vm.crypto import KeyPair  # noqa: E402
from deed.vm.errors import DecodeError, InvalidTransaction, VerificationError  # noqa: E402
from deed.vm.execution import ENGINES, ModuleCache  # noqa: E402
from deed.vm.module import (  # noqa: E402
    ErrorDef,
    EventDef,
    Export,
    Field,
    Function,
    ImportDef,
    Module,
    decode_module,
    encode_module,
    selector,
)
from deed.vm.opcodes import BY_NAME, JUMPS, LIMITS, OPCODES, encode_instruction  # noqa: E402
from deed.vm.state import Account, MemoryBackend  # noqa: E402
from deed.vm.types import (  # noqa: E402
    ADDRESS,
    BOOL,
    BYTES,
    INT,
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_BYTES,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_STRING,
    TAG_UINT,
    U256,
    ValueType,
    type_range,
)
from deed.vm.verifier import decode_code, load  # noqa: E402

SENDER = KeyPair.from_text("fuzz-sender")
BLOCK_TIME = program_gen.BLOCK_TIME
INSTALL_AT = b"\xfe" * 20  # where code goes when it cannot be deployed
MAX_EXPORTS_CALLED = 6
CALL_GAS = 300_000
DEPLOY_GAS = 3_000_000
SLOW_CASE = 1.0  # seconds


# =========================================================================== corpus


@functools.cache
def build_corpus() -> list[tuple[str, bytes]]:
    """The seed modules: compiled contracts, assembly twins, generated programs."""
    from deed.compiler.driver import compile_file

    items: list[tuple[str, bytes]] = []
    for path in sorted((ROOT / "contracts").rglob("*.deed")):
        items.append((f"deed:{path.relative_to(ROOT)}", compile_file(path).bytecode))
    for path in sorted((ROOT / "contracts" / "asm").glob("*.dasm")):
        items.append((f"asm:{path.name}", assemble(path.read_text()).encode()))
    rng = random.Random("fuzz-corpus")
    items.append(("gen:callee", assemble(program_gen.CALLEE).encode()))
    for k in range(12):
        items.append((f"gen:{k}", assemble(program_gen.random_scenario(rng).main).encode()))
    return items


# =========================================================================== mutations

INTERESTING_VARINTS = sorted(
    {0, 1, 2, 15, 16, 17, 63, 64, 127, 128, 255, 256, 1 << 14, (1 << 16) - 1, 1 << 16, 1 << 20}
    | {v + d for v in dataclasses.astuple(LIMITS) for d in (-1, 0, 1) if v + d >= 0}
)
EDGE_INTS = [0, 1, -1, 2**255, -(2**255), 2**256 - 1, -(2**256 - 1), 2**64, 2**63 - 1, 255, 256]


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ins(name: str, *args: int) -> bytes:
    return encode_instruction(BY_NAME[name], args)


# -- byte-wise


def m_bitflip(rng, data, corpus):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def m_byte_set(rng, data, corpus):
    b = bytearray(data)
    i = rng.randrange(len(b))
    b[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    return bytes(b)


def m_insert(rng, data, corpus):
    i = rng.randrange(len(data) + 1)
    return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[i:]


def m_delete(rng, data, corpus):
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 16) :]


def m_duplicate(rng, data, corpus):
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 64))
    return data[:j] + data[i:j] * rng.randint(1, 4) + data[j:]


def m_splice(rng, data, corpus):
    other = rng.choice(corpus)[1]
    i, j = rng.randrange(len(data)), rng.randrange(len(other))
    return data[:i] + other[j:]


def m_varint(rng, data, corpus):
    """Overwrite a varint-looking spot with a value near a limit."""
    i = rng.randrange(6, len(data)) if len(data) > 6 else 0
    old = 1
    while i + old - 1 < len(data) and data[i + old - 1] & 0x80:
        old += 1
    return data[:i] + uvarint(rng.choice(INTERESTING_VARINTS)) + data[i + old :]


BYTE_MUTATIONS = [m_bitflip, m_byte_set, m_insert, m_delete, m_duplicate, m_splice, m_varint]


# -- code helpers


def relocate_insert(code: bytes, at: int, snippet: bytes) -> bytes:
    """Insert ``snippet`` (whose jumps are relative to its own start) before
    the instruction at offset ``at``, moving jump targets at or after it."""
    out = bytearray()
    for instr in decode_code(code):
        raw = code[instr.offset : instr.offset + instr.op.size]
        if instr.offset == at:
            out += relocate(snippet, at)
        if instr.name in JUMPS and instr.args[0] >= at:
            raw = ins(instr.name, instr.args[0] + len(snippet))
        out += raw
    if at >= len(code):
        out += relocate(snippet, at)
    return bytes(out)


def relocate(snippet: bytes, base: int) -> bytes:
    out = bytearray()
    for instr in decode_code(snippet):
        if instr.name in JUMPS:
            out += ins(instr.name, instr.args[0] + base)
        else:
            out += snippet[instr.offset : instr.offset + instr.op.size]
    return bytes(out)


def _int_const(consts: list, value: int = 1) -> int:
    for i, c in enumerate(consts):
        if isinstance(c, int) and not isinstance(c, bool) and c == value:
            return i
    consts.append(value)
    return len(consts) - 1


def _bytes_const(consts: list, value: bytes = b"fuzz") -> int:
    for i, c in enumerate(consts):
        if isinstance(c, bytes) and c == value:
            return i
    consts.append(value)
    return len(consts) - 1


def export_type(kind: str, rng=None) -> ValueType:
    if kind == INT:
        return U256 if rng is None else rng.choice([U256, ValueType(TAG_INT, 256), U256, BOOL])
    return (
        ValueType(TAG_BYTES, 64)
        if rng is None
        else rng.choice([ValueType(TAG_BYTES, 64), ADDRESS, ValueType(TAG_FIXED_BYTES, 32)])
    )


def _export_for(fn_index: int, f: Function, name: str, rng=None, flags: int = 0) -> Export:
    params = tuple(export_type(k, rng) for k in f.params)
    returns = tuple(export_type(k, rng) for k in f.returns)
    return Export(name, selector(name, params), fn_index, flags, params, returns)


class RandomCode:
    """Random instruction streams that are well typed by construction
    (stack kinds tracked, jumps backward to points with the same stack), so
    many of them pass the verifier and run."""

    def __init__(self, rng: random.Random, m: Module, consts: list, fn_index: int, f: Function):
        self.rng, self.m, self.consts, self.fn_index, self.f = rng, m, consts, fn_index, f
        self.locals = f.params + f.locals

    def generate(self, length: int) -> bytes:
        stack: list[str] = []
        code = bytearray()
        seen: dict[tuple, list[int]] = {}  # stack kinds -> offsets where they held
        max_stack = self.f.max_stack
        attempts = 0
        while len(code) < length and attempts < 20 * length:
            attempts += 1
            seen.setdefault(tuple(stack), []).append(len(code))
            piece = self.step(stack, max_stack, seen, len(code))
            if piece is None:
                continue
            code += piece
            if len(code) > LIMITS.max_code_size - 64:
                break
        code += self.finish(stack)
        return bytes(code)

    def finish(self, stack: list[str]) -> bytes:
        rng = self.rng
        out = bytearray()
        if rng.random() < 0.15:  # end in a revert instead
            out += b"".join(ins("POP") for _ in stack)
            return bytes(out + ins("CONST", _bytes_const(self.consts, b"fuzz")) + ins("REVERT"))
        out += b"".join(ins("POP") for _ in stack)
        for kind in self.f.returns:
            out += self.push(kind)
        return bytes(out + ins("RET"))

    def push(self, kind: str) -> bytes:
        rng = self.rng
        here = [i for i, k in enumerate(self.locals) if k == kind]
        if here and rng.random() < 0.5:
            return ins("LOAD", rng.choice(here))
        if kind == INT:
            return ins("CONST", _int_const(self.consts, rng.choice(EDGE_INTS + [1, 2, 3, 7])))
        return ins("CONST", _bytes_const(self.consts, rng.choice([b"", b"\x01" * 20, b"fuzz"])))

    def step(self, stack: list[str], max_stack: int, seen, pos: int) -> bytes | None:
        rng = self.rng
        m = self.m
        roll = rng.random()
        if len(stack) < 2 or roll < 0.25:  # push something
            if len(stack) >= max_stack:
                if not stack:
                    return None
                stack.pop()
                return ins("POP")
            kind = rng.choice([INT, INT, BYTES])
            stack.append(kind)
            return self.push(kind)
        if roll < 0.30 and stack:  # a backward jump to a point with this stack
            cond = stack[-1] == INT and rng.random() < 0.7
            after = tuple(stack[:-1]) if cond else tuple(stack)
            targets = seen.get(after)
            if targets:
                if cond:
                    stack.pop()
                    name = rng.choice(["JMPIF", "JMPIFNOT"])
                    return ins(name, rng.choice(targets))
                if rng.random() < 0.2:
                    return ins("JMP", rng.choice(targets))
            return None
        op = rng.choice(OPCODES)
        name = op.name
        if name in ("JMP", "JMPIF", "JMPIFNOT", "RET", "CONST", "LOAD", "REVERT"):
            return None
        if name == "DUP":
            if len(stack) >= max_stack:
                return None
            n = rng.randrange(len(stack))
            stack.append(stack[-1 - n])
            return ins("DUP", n)
        if name == "SWAP":
            n = rng.randint(1, len(stack) - 1)
            stack[-1], stack[-1 - n] = stack[-1 - n], stack[-1]
            return ins("SWAP", n)
        if name == "STORE":
            here = [i for i, k in enumerate(self.locals) if k == stack[-1]]
            if not here:
                return None
            stack.pop()
            return ins("STORE", rng.choice(here))
        if name == "CALL":
            options = [
                i
                for i in range(self.fn_index + 1, len(m.functions))
                if _ends_with(stack, m.functions[i].params)
            ]
            if not options:
                return None
            i = rng.choice(options)
            callee = m.functions[i]
            if not self._apply(stack, callee.params, callee.returns, max_stack):
                return None
            return ins("CALL", i)
        if name in ("EMIT", "RAISE"):
            table = m.events if name == "EMIT" else m.errors
            options = [
                i for i, d in enumerate(table) if _ends_with(stack, [f.type.kind for f in d.fields])
            ]
            if not options:
                return None
            i = rng.choice(options)
            kinds = [f.type.kind for f in table[i].fields]
            if not self._apply(stack, kinds, (), max_stack):
                return None
            return ins(name, i)
        if name == "XCALL":
            options = [
                i
                for i, imp in enumerate(m.imports)
                if _ends_with(stack, [BYTES, INT] + [t.kind for t in imp.params])
            ]
            if not options:
                return None
            i = rng.choice(options)
            imp = m.imports[i]
            flag = rng.randint(0, 1)
            pushes = ([INT] if flag else []) + [t.kind for t in imp.returns]
            if not self._apply(
                stack, [BYTES, INT] + [t.kind for t in imp.params], pushes, max_stack
            ):
                return None
            return ins("XCALL", i, flag)
        # fixed stack effects
        pops = op.pops
        if "A" in pops:
            kind = stack[-1]
            pops = pops.replace("A", kind)
        if not _ends_with(stack, list(pops)):
            return None
        if not self._apply(stack, list(pops), list(op.pushes), max_stack):
            return None
        args = []
        for imm in op.immediates:
            if imm == "t":
                args.append(rng.randrange(64))
            elif name == "I2B":
                args.append(rng.randint(1, 32))
            elif name in ("REQUIRE", "SLOADB", "SSTOREB"):
                args.append(_bytes_const(self.consts, rng.choice([b"", b"fuzz", b"\xff\xfe"])))
            else:
                args.append(0)
        return ins(name, *args)

    @staticmethod
    def _apply(stack, pops, pushes, max_stack) -> bool:
        if len(stack) - len(pops) + len(pushes) > max_stack:
            return False
        del stack[len(stack) - len(pops) :]
        stack.extend(pushes)
        return True


def _ends_with(stack: list[str], kinds) -> bool:
    kinds = list(kinds)
    return len(stack) >= len(kinds) and (not kinds or stack[-len(kinds) :] == kinds)


# -- structure-aware: each takes and returns a Module (and may raise ValueError)


def _replace_fn(m: Module, i: int, **kw) -> Module:
    fns = list(m.functions)
    fns[i] = dataclasses.replace(fns[i], **kw)
    return dataclasses.replace(m, functions=tuple(fns))


def _code_point(rng, code: bytes) -> int:
    """An instruction boundary of ``code`` (its start if it does not decode)."""
    try:
        instrs = decode_code(code)
    except VerificationError:
        return 0
    return rng.choice(instrs).offset if instrs else 0


def s_random_code(rng, m: Module) -> Module:
    if not m.functions:
        return m
    i = rng.randrange(len(m.functions))
    consts = list(m.constants)
    f = m.functions[i]
    if rng.random() < 0.5:
        f = dataclasses.replace(f, max_stack=rng.choice([f.max_stack, 16, 64, 255]))
    code = RandomCode(rng, m, consts, i, f).generate(rng.choice([8, 40, 200, 1000, 5000]))
    m = dataclasses.replace(m, constants=tuple(consts))
    return _replace_fn(m, i, code=code, max_stack=f.max_stack)


def s_new_exported_function(rng, m: Module) -> Module:
    """A new function of random well-typed code, exported with types of its kinds."""
    consts = list(m.constants)
    params = tuple(rng.choice([INT, INT, BYTES]) for _ in range(rng.randint(0, 3)))
    returns = tuple(rng.choice([INT, BYTES]) for _ in range(rng.randint(0, 2)))
    local_kinds = tuple(rng.choice([INT, BYTES]) for _ in range(rng.randint(0, 4)))
    f = Function(
        f"fz{len(m.functions)}", params, local_kinds, returns, rng.choice([8, 32, 255]), b""
    )
    i = len(m.functions)
    m = dataclasses.replace(m, functions=m.functions + (f,))
    code = RandomCode(rng, m, consts, i, f).generate(rng.choice([20, 100, 600]))
    m = dataclasses.replace(m, constants=tuple(consts))
    m = _replace_fn(m, i, code=code)
    export = _export_for(i, m.functions[i], f"fz{i}", rng, rng.choice([0, 0, 1, 2]))
    return dataclasses.replace(m, exports=m.exports + (export,))


def s_export_all(rng, m: Module) -> Module:
    """Export every function (so code that no export reaches gets called)."""
    exports = list(m.exports)
    named = {e.function for e in exports}
    for i, f in enumerate(m.functions):
        if i not in named and len(exports) < LIMITS.max_exports:
            exports.append(_export_for(i, f, f"x{i}"))
    return dataclasses.replace(m, exports=tuple(exports))


def s_wrong_kinds(rng, m: Module) -> Module:
    if not m.functions:
        return m
    i = rng.randrange(len(m.functions))
    f = m.functions[i]
    field_name = rng.choice(["params", "locals", "returns"])
    kinds = list(getattr(f, field_name))
    flip = {INT: BYTES, BYTES: INT}
    if kinds and rng.random() < 0.7:
        j = rng.randrange(len(kinds))
        kinds[j] = flip[kinds[j]]
    else:
        kinds.append(rng.choice([INT, BYTES]))
    return _replace_fn(m, i, **{field_name: tuple(kinds)})


def s_limit_counts(rng, m: Module) -> Module:
    """One count or size at, just under or just over its limit."""
    d = rng.choice([-1, 0, 0, 1])
    what = rng.choice(
        [
            "constants",
            "constant_bytes",
            "functions",
            "locals",
            "params",
            "returns",
            "max_stack",
            "exports",
            "events",
            "errors",
            "imports",
            "fields",
            "name",
            "code_size",
        ]
    )
    if what == "constants":
        n = LIMITS.max_constants + d - len(m.constants)
        return dataclasses.replace(
            m, constants=m.constants + tuple(10**6 + k for k in range(max(n, 0)))
        )
    if what == "constant_bytes":
        return dataclasses.replace(
            m, constants=m.constants + (b"\xab" * (LIMITS.max_constant_bytes + d),)
        )
    if what == "functions":
        n = LIMITS.max_functions + d - len(m.functions)
        extra = tuple(Function(f"t{k}", (), (), (), 0, ins("RET")) for k in range(max(n, 0)))
        return dataclasses.replace(m, functions=m.functions + extra)
    if what == "exports":
        m = s_export_all(rng, m)
        n = LIMITS.max_exports + d - len(m.exports)
        if n > 0:
            m = dataclasses.replace(
                m, functions=m.functions + (Function("e", (), (), (), 0, ins("RET")),)
            )
            fi = len(m.functions) - 1
            extra = tuple(Export(f"e{k}", selector(f"e{k}", ()), fi, 0, (), ()) for k in range(n))
            m = dataclasses.replace(m, exports=m.exports + extra)
        return m
    if what in ("events", "errors", "imports"):
        limit = getattr(LIMITS, f"max_{what}")
        n = limit + d - len(getattr(m, what))
        if what == "imports":
            extra = tuple(
                ImportDef(f"i{k}", selector(f"i{k}", (U256,)), (U256,), (U256,))
                for k in range(max(n, 0))
            )
        else:
            cls = EventDef if what == "events" else ErrorDef
            extra = tuple(cls(f"d{k}", (Field("a", U256),)) for k in range(max(n, 0)))
        return dataclasses.replace(m, **{what: getattr(m, what) + extra})
    if what == "fields":
        fields = tuple(Field(f"f{k}", U256) for k in range(LIMITS.max_fields + d))
        return dataclasses.replace(m, events=m.events + (EventDef("wide", fields),))
    if what == "name":
        n = LIMITS.max_name + d
        return dataclasses.replace(m, events=m.events + (EventDef("n" * n, ()),))
    if not m.functions:
        return m
    i = rng.randrange(len(m.functions))
    f = m.functions[i]
    if what == "locals":
        n = LIMITS.max_locals + d - len(f.params)
        return _replace_fn(m, i, locals=tuple(rng.choice([INT, BYTES]) for _ in range(max(n, 0))))
    if what == "params":
        return _replace_fn(m, i, params=(INT,) * (LIMITS.max_params + d))
    if what == "returns":
        return _replace_fn(m, i, returns=(INT,) * (LIMITS.max_returns + d))
    if what == "max_stack":
        return _replace_fn(m, i, max_stack=LIMITS.max_stack + d)
    # code size: unreachable padding after the code (every byte a valid POP)
    n = LIMITS.max_code_size + d - len(f.code)
    return _replace_fn(m, i, code=f.code + ins("POP") * max(n, 0))


def _insert_snippet(rng, m: Module, snippet: bytes, extra_stack: int) -> Module:
    if not m.functions:
        return m
    i = rng.randrange(len(m.functions))
    f = m.functions[i]
    try:
        code = relocate_insert(f.code, _code_point(rng, f.code), snippet)
    except VerificationError:
        return m
    return _replace_fn(m, i, code=code, max_stack=min(LIMITS.max_stack, f.max_stack + extra_stack))


def _depth(rng) -> int:
    # today's translator is quadratic in the depth (20,000 NOTs: about 25 s)
    return rng.choice([50, 150, 250, 400, 600, 1200]) if rng.random() < 0.995 else 20_000


def s_deep_nesting(rng, m: Module) -> Module:
    consts = list(m.constants)
    one = _int_const(consts, rng.choice([0, 1, 7]))
    two = _int_const(consts, 3)
    n = _depth(rng)
    kind = rng.choice(["not", "compare", "and", "or", "eq"])
    if kind == "not":
        body = ins("NOT") * n
    else:
        op = {"compare": "LT", "and": "AND", "or": "OR", "eq": "EQ"}[kind]
        body = (ins("CONST", two) + ins(op)) * n
    nest = ins("CONST", one) + body
    # the value must be used, or an engine may drop the whole expression
    if rng.random() < 0.5:
        snippet = nest + ins("JMPIF", len(nest) + 5)  # either way: the next instruction
    else:
        snippet = nest + ins("DUP", 0) + ins("POP") + ins("POP")
    m = dataclasses.replace(m, constants=tuple(consts))
    return _insert_snippet(rng, m, snippet, 2)


def s_many_blocks(rng, m: Module) -> Module:
    n = rng.choice([100, 1000, 2500, 3500, 8000])
    snippet = b"".join(ins("JMP", 5 * (k + 1)) for k in range(n))
    return _insert_snippet(rng, m, snippet, 0)


def s_long_run(rng, m: Module) -> Module:
    consts = list(m.constants)
    one = _int_const(consts, 1)
    n = rng.choice([1000, 3000, 5000, 15000]) if rng.random() < 0.9 else 1000
    unit = rng.choice([ins("DUP", 0) + ins("POP"), ins("SWAP", 1) + ins("SWAP", 1)])
    snippet = ins("CONST", one) + ins("CONST", one) + unit * n + ins("POP") + ins("POP")
    m = dataclasses.replace(m, constants=tuple(consts))
    return _insert_snippet(rng, m, snippet, 3)


def s_self_jump(rng, m: Module) -> Module:
    """A function that is one block jumping to itself, exported; sometimes
    bounded by a counter and a REQUIRE, sometimes not at all."""
    consts = list(m.constants)
    one = _int_const(consts, 1)
    lim = _int_const(consts, rng.choice([3, 100, 5000]))
    msg = _bytes_const(consts, b"loop done")
    if rng.random() < 0.5:
        code = ins("JMP", 0)
        local_kinds: tuple = ()
    else:
        code = (
            ins("LOAD", 0)
            + ins("CONST", one)
            + ins("ADD", 7)  # u64
            + ins("DUP", 0)
            + ins("STORE", 0)
            + ins("CONST", lim)
            + ins("LT")
            + ins("REQUIRE", msg)
            + ins("JMP", 0)
        )
        local_kinds = (INT,)
    f = Function(f"spin{len(m.functions)}", (), local_kinds, (), 2, code)
    i = len(m.functions)
    export = Export(f.name, selector(f.name, ()), i, 0, (), ())
    return dataclasses.replace(
        m, constants=tuple(consts), functions=m.functions + (f,), exports=m.exports + (export,)
    )


def s_huge_constants(rng, m: Module) -> Module:
    consts = list(m.constants)
    if not consts:
        return dataclasses.replace(m, constants=(2**256 - 1,))
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(consts))
        if isinstance(consts[k], int):
            consts[k] = rng.choice(EDGE_INTS + [2**256, -(2**256)])
        else:
            consts[k] = bytes(rng.choice([0, 0xFF])) * rng.choice([0, 32, 64, 65, 4096])
    return dataclasses.replace(m, constants=tuple(consts))


def s_wrong_selector(rng, m: Module) -> Module:
    if not m.exports:
        return m
    exports = list(m.exports)
    k = rng.randrange(len(exports))
    e = exports[k]
    choice = rng.random()
    if choice < 0.3:
        e = dataclasses.replace(e, selector=bytes(4))
    elif choice < 0.6 and len(exports) > 1:
        other = exports[(k + 1) % len(exports)]
        e = dataclasses.replace(e, selector=other.selector)
    elif choice < 0.8:
        e = dataclasses.replace(e, name=e.name + "x")
    else:
        e = dataclasses.replace(e, flags=rng.choice([3, 4, 5, 6, 7, 8, 255]))
    exports[k] = e
    return dataclasses.replace(m, exports=tuple(exports))


def s_code_immediates(rng, m: Module) -> Module:
    """Change one immediate of one instruction to a random or edge value."""
    if not m.functions:
        return m
    i = rng.randrange(len(m.functions))
    code = m.functions[i].code
    try:
        instrs = [x for x in decode_code(code) if x.op.immediates]
    except VerificationError:
        return m
    if not instrs:
        return m
    x = rng.choice(instrs)
    b = bytearray(code)
    pos = x.offset + 1 + rng.randrange(x.op.size - 1)
    b[pos] = rng.choice([0, 1, 0xFF, 0x3F, 0x40, rng.randrange(256)])
    return _replace_fn(m, i, code=bytes(b))


STRUCT_MUTATIONS = [
    s_random_code,
    s_random_code,
    s_new_exported_function,
    s_new_exported_function,
    s_export_all,
    s_wrong_kinds,
    s_limit_counts,
    s_deep_nesting,
    s_many_blocks,
    s_long_run,
    s_self_jump,
    s_huge_constants,
    s_wrong_selector,
    s_code_immediates,
]


def mutate(rng: random.Random, corpus) -> tuple[str, list[str], bytes]:
    """One case: a corpus module and the mutations applied to it."""
    name, data = rng.choice(corpus)
    applied: list[str] = []
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        if rng.random() < 0.6:
            try:
                m = decode_module(data)
            except DecodeError:
                m = None
            if m is not None:
                mut = rng.choice(STRUCT_MUTATIONS)
                try:
                    data = encode_module(dataclasses.replace(mut(rng, m), _encoded=None))
                    applied.append(mut.__name__)
                    continue
                except (ValueError, OverflowError, KeyError):  # not encodable: skip it
                    applied.append(mut.__name__ + "!")
                    continue
        mut = rng.choice(BYTE_MUTATIONS)
        if data:
            data = mut(rng, data, corpus)
            applied.append(mut.__name__)
    return name, applied, data


# =========================================================================== running


def random_value(rng: random.Random, t: ValueType, addresses: list[bytes]):
    if t.tag in (TAG_UINT, TAG_INT, TAG_BOOL):
        lo, hi = type_range(t)
        return rng.choice(
            [v for v in (lo, hi, 0, 0, 1, 2, 100, rng.randint(lo, hi)) if lo <= v <= hi]
        )
    if t.tag == TAG_ADDRESS:
        return rng.choice(addresses)
    if t.tag == TAG_FIXED_BYTES:
        return bytes(rng.randrange(256) for _ in range(t.param))
    n = rng.choice([0, 1, 20, 32, min(t.param, 64), min(t.param, rng.randint(0, 300))])
    if t.tag == TAG_STRING:
        return "".join(rng.choice("deed fuzz") for _ in range(min(n, t.param)))
    return bytes(rng.randrange(256) for _ in range(min(n, t.param)))


def call_data(rng: random.Random, export: Export, addresses) -> bytes:
    if rng.random() < 0.08:  # undecodable arguments
        return export.selector + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    values = [random_value(rng, t, addresses) for t in export.params]
    return export.selector + encode_values(export.params, values)


def make_plan(rng: random.Random, data: bytes) -> dict:
    """The transactions of an accepted module: a pure function of the rng."""
    m = decode_module(data)
    target = contract_address(SENDER.address, 0)
    addresses = [target, SENDER.address, bytes(20), INSTALL_AT]
    init = next((e for e in m.exports if e.is_init), None)
    init_args = b""
    if init is not None:
        init_args = call_data(rng, init, addresses)[4:]
    plan = {
        "module": data.hex(),
        "init_args": init_args.hex(),
        "init_value": rng.choice([0, 0, 1_000]) if init is not None and init.payable else 0,
        "calls": [],
    }
    exports = [e for e in m.exports if not e.is_init][:MAX_EXPORTS_CALLED]
    for e in exports:
        for gas in (CALL_GAS, rng.randint(2_000, 40_000)):
            plan["calls"].append(
                {
                    "data": call_data(rng, e, addresses).hex(),
                    "gas": gas,
                    "value": rng.choice([0, 0, 0, 7]) if e.payable else 0,
                    "read_only": False,
                }
            )
    for e in exports[:2]:
        plan["calls"].append(
            {"data": call_data(rng, e, addresses).hex(), "gas": CALL_GAS, "read_only": True}
        )
    return plan


class HostException(Exception):
    def __init__(self, where: str, exc: BaseException):
        self.where = where
        self.exc = exc
        self.text = "".join(traceback.format_exception(exc))
        super().__init__(f"{type(exc).__name__} escaped {where}: {exc}")


def _outcome(r) -> tuple:
    return (
        r.status,
        r.gas_used,
        tuple(r.return_values),
        getattr(r, "return_data", None),
        r.revert_reason,
        r.error,
        tuple((log.address, log.event, log.values, log.data) for log in r.logs),
        getattr(r, "contract_address", None),
    )


def run_plan(engine: str, plan: dict) -> tuple[list, int]:
    """Run a plan on a fresh chain; returns (outcomes, calls made).
    Raises HostException when anything but a receipt escapes the host API."""
    data = bytes.fromhex(plan["module"])
    chain = Chain(MemoryBackend(), check_signatures=False, modules=ModuleCache(engine=engine))
    chain.genesis({SENDER.address: 10**30})
    block = chain.begin_block(BLOCK_TIME)
    out: list = []
    nonce = 0
    calls = 0

    def apply(tx):
        nonlocal nonce
        try:
            r = block.apply(tx)
        except InvalidTransaction as exc:
            out.append(("invalid", exc.code))
            return None
        except Exception as exc:
            raise HostException("BlockBuilder.apply", exc) from exc
        nonce += 1
        out.append(_outcome(r) + (chain.state_root(),))
        return r

    target = contract_address(SENDER.address, 0)
    deploy = deploy_data(data, bytes.fromhex(plan["init_args"]))
    r = None
    if len(deploy) <= LIMITS.max_tx_data:
        r = apply(
            Transaction(
                1,
                nonce,
                SENDER.public_key,
                None,
                plan["init_value"],
                DEPLOY_GAS + 60 * len(deploy),
                1,
                deploy,
            )
        )
    if r is None or not r.success:  # install the code as it is, without init
        target = INSTALL_AT
        code_hash = hashlib.sha256(data).digest()
        chain.state.set_code(code_hash, data)
        chain.state.set_account(target, Account(0, 0, code_hash))
        out.append(("installed", chain.state_root()))
    m = decode_module(data)
    by_selector = {e.selector: e for e in m.exports}
    for call in plan["calls"]:
        cd = bytes.fromhex(call["data"])
        calls += 1
        if call["read_only"]:
            export = by_selector[cd[:4]]
            try:
                args = decode_values(export.params, cd[4:])
            except DecodeError:
                continue
            try:
                res = chain.call(target, export.name, list(args), gas_limit=call["gas"])
            except (ValueError, DecodeError):  # host values the API itself refuses
                out.append(("call-refused",))
                continue
            except Exception as exc:
                raise HostException("Chain.call", exc) from exc
            out.append(_outcome(res) + (chain.state_root(),))
        else:
            apply(
                Transaction(1, nonce, SENDER.public_key, target, call["value"], call["gas"], 1, cd)
            )
    try:
        out.append(block.commit())
    except Exception as exc:
        raise HostException("BlockBuilder.commit", exc) from exc
    return out, calls


# =========================================================================== campaign


_NUMBERS = re.compile(r"0x[0-9a-f]+|\b[0-9a-f]{16,}\b|\d+")


def failure_class(kind: str, where: str, exc_or_text: str) -> str:
    """A stable name for a class of failures: numbers, ids and offsets removed."""
    text = _NUMBERS.sub("N", exc_or_text.splitlines()[0] if exc_or_text else "")
    return f"{kind}: {where}: {text}"[:160]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout()


@dataclasses.dataclass
class Report:
    seed: int
    engines: list[str]
    cases: int = 0
    accepted: int = 0
    rejected: Counter = dataclasses.field(default_factory=Counter)
    calls: int = 0
    host_exceptions: int = 0
    divergences: int = 0
    timeouts: int = 0
    classes: dict = dataclasses.field(default_factory=dict)  # class -> {count, first case, ...}
    mutations: Counter = dataclasses.field(default_factory=Counter)
    slowest: tuple = (0.0, -1, "")
    slow_cases: list = dataclasses.field(default_factory=list)  # (seconds, case, what)
    elapsed: float = 0.0
    next_case: int = 0

    def record(self, kind: str, cls: str, case: int, detail: dict, out: Path | None) -> None:
        if kind == "host exception":
            self.host_exceptions += 1
        elif kind == "divergence":
            self.divergences += 1
        else:
            self.timeouts += 1
        entry = self.classes.setdefault(cls, {"kind": kind, "count": 0, "first_case": case})
        entry["count"] += 1
        if entry["count"] == 1:
            entry["detail"] = detail
            if out is not None:
                d = out / slug(cls)
                d.mkdir(parents=True, exist_ok=True)
                (d / f"case-{case}.json").write_text(json.dumps(detail, indent=1, default=repr))
                (d / f"case-{case}.bin").write_bytes(bytes.fromhex(detail["plan"]["module"]))
                entry["reproducer"] = str(d / f"case-{case}.json")

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["rejected"] = dict(self.rejected)
        d["mutations"] = dict(self.mutations)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Report:
        r = cls(d["seed"], d["engines"])
        for k, v in d.items():
            if k in ("rejected", "mutations"):
                v = Counter(v)
            elif k == "slowest":
                v = tuple(v)
            setattr(r, k, v)
        return r


def run_case(
    index: int, seed: int, corpus, engines: list[str], report: Report, out: Path | None
) -> None:
    rng = random.Random(f"{seed}:{index}")
    base, applied, data = mutate(rng, corpus)
    report.mutations.update(a.rstrip("!") for a in applied)
    detail = {"seed": seed, "case": index, "base": base, "mutations": applied}
    try:
        load(data)
    except (DecodeError, VerificationError) as exc:
        rule = getattr(exc, "rule", "decode")
        report.rejected[rule] += 1
        return
    except Exception as exc:  # load() promises DecodeError or VerificationError only
        detail.update(
            plan={"module": data.hex()}, traceback="".join(traceback.format_exception(exc))
        )
        cls = failure_class("host exception", "load", f"{type(exc).__name__}: {exc}")
        report.record("host exception", cls, index, detail, out)
        return
    report.accepted += 1
    plan = make_plan(rng, data)
    detail["plan"] = plan
    results = {}
    for engine in engines:
        try:
            results[engine], calls = run_plan(engine, plan)
            report.calls += calls
        except HostException as exc:
            cls = failure_class(
                "host exception", f"{engine} {exc.where}", f"{type(exc.exc).__name__}: {exc.exc}"
            )
            report.record(
                "host exception",
                cls,
                index,
                {**detail, "engine": engine, "traceback": exc.text},
                out,
            )
            return
    baseline = "reference" if "reference" in results else engines[0]
    for engine in engines:
        a, b = results[baseline], results[engine]
        if a != b:
            step = next(
                (k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            x = a[step] if step < len(a) else None
            y = b[step] if step < len(b) else None
            field = "length"
            if isinstance(x, tuple) and isinstance(y, tuple) and len(x) == len(y):
                names = [
                    "status",
                    "gas",
                    "values",
                    "data",
                    "reason",
                    "error",
                    "logs",
                    "contract",
                    "root",
                ]
                field = next(
                    (names[k] if k < len(names) else str(k) for k in range(len(x)) if x[k] != y[k]),
                    "?",
                )
            cls = failure_class("divergence", f"{engine} vs {baseline}", f"{field} differs")
            report.record(
                "divergence",
                cls,
                index,
                {**detail, "engine": engine, "step": step, "expected": x, "got": y},
                out,
            )


def campaign(
    cases: int,
    seed: int,
    engines: list[str] | None = None,
    out: Path | None = None,
    time_budget: float | None = None,
    resume: bool = False,
    case_timeout: float = 120.0,
    progress=None,
) -> Report:
    engines = engines or ["reference"] + sorted(e for e in ENGINES if e != "reference")
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"unknown engine {e!r}; choose from {sorted(ENGINES)}")
    report = Report(seed, engines)
    if out:
        out.mkdir(parents=True, exist_ok=True)
    state = out / "progress.json" if out else None
    if resume and state and state.exists():
        saved = Report.from_json(json.loads(state.read_text()))
        if saved.seed != seed or saved.engines != engines:
            raise SystemExit("--resume: the saved campaign has another seed or engines")
        report = saved
    corpus = build_corpus()
    start = time.perf_counter()
    elapsed_before = report.elapsed
    use_alarm = hasattr(signal, "setitimer") and case_timeout > 0
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
    try:
        index = report.next_case
        while index < cases:
            if time_budget is not None and time.perf_counter() - start > time_budget:
                break
            t0 = time.perf_counter()
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, case_timeout)
            try:
                run_case(index, seed, corpus, engines, report, out)
            except CaseTimeout:
                report.record(
                    "timeout",
                    "timeout: case over the time limit",
                    index,
                    {"seed": seed, "case": index, "plan": {"module": ""}},
                    None,
                )
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            dt = time.perf_counter() - t0
            report.cases += 1
            if dt > report.slowest[0]:
                report.slowest = (dt, index, _describe(index, seed, corpus))
            if dt > SLOW_CASE:
                report.slow_cases.append((round(dt, 2), index, _describe(index, seed, corpus)))
            index += 1
            report.next_case = index
            if progress and index % progress == 0:
                print(
                    f"  case {index}: {report.cases} run, {report.accepted} accepted, "
                    f"{report.host_exceptions} host exceptions, {report.divergences} divergences",
                    file=sys.stderr,
                )
            if state and index % 50 == 0:
                report.elapsed = elapsed_before + time.perf_counter() - start
                state.write_text(json.dumps(report.to_json(), default=repr))
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, old)
    report.elapsed = elapsed_before + time.perf_counter() - start
    if state:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps(report.to_json(), default=repr))
    return report


def _describe(index: int, seed: int, corpus) -> str:
    rng = random.Random(f"{seed}:{index}")
    base, applied, data = mutate(rng, corpus)
    return f"{base} + {', '.join(applied)} ({len(data)} bytes)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def summary(report: Report) -> str:
    lines = [
        f"seed {report.seed}, engines {','.join(report.engines)}",
        f"cases run          {report.cases}",
        f"modules accepted   {report.accepted}  (rejected: "
        + ", ".join(f"{k} {v}" for k, v in report.rejected.most_common())
        + ")",
        f"calls made         {report.calls}",
        f"host exceptions    {report.host_exceptions}",
        f"divergences        {report.divergences}",
        f"timeouts           {report.timeouts}",
        f"slowest case       {report.slowest[0]:.2f} s: case {report.slowest[1]}: {report.slowest[2]}",
        f"cases over {SLOW_CASE:g} s    {len(report.slow_cases)}",
        f"peak memory (RSS)  {peak_rss_mb():.0f} MB",
        f"elapsed            {report.elapsed:.1f} s, "
        f"{report.cases / report.elapsed if report.elapsed else 0:.1f} cases/s",
    ]
    for dt, i, what in sorted(report.slow_cases, reverse=True)[:5]:
        lines.append(f"  slow: {dt:.2f} s case {i}: {what}")
    if report.classes:
        lines.append("failure classes (count, first case, reproducer):")
        for cls, e in sorted(report.classes.items(), key=lambda kv: -kv[1]["count"]):
            lines.append(f"  {e['count']:5d}  case {e['first_case']:6d}  {cls}")
            if e.get("reproducer"):
                lines.append(f"         {e['reproducer']}")
        shown = 0
        for cls, e in report.classes.items():
            tb = e.get("detail", {}).get("traceback")
            if tb and shown < 3:
                shown += 1
                lines.append(f"--- first traceback of {cls}")
                lines.extend("    " + ln for ln in tb.rstrip().splitlines()[-8:])
    return "\n".join(lines)


def replay(path: Path, engines: list[str]) -> int:
    detail = json.loads(path.read_text())
    plan = detail["plan"]
    print(
        f"case {detail.get('case')} of seed {detail.get('seed')}: {detail.get('base')} "
        f"+ {detail.get('mutations')}"
    )
    try:
        load(bytes.fromhex(plan["module"]))
    except (DecodeError, VerificationError) as exc:
        print(f"load() rejects it: {exc}")
        return 0
    results = {}
    for engine in engines:
        try:
            results[engine] = run_plan(engine, plan)[0]
            print(f"{engine}: {len(results[engine])} outcomes")
        except HostException as exc:
            print(f"{engine}: HOST EXCEPTION\n{exc.text}")
            return 1
    values = list(results.values())
    if any(v != values[0] for v in values):
        print("DIVERGENCE")
        for engine, v in results.items():
            print(engine, v)
        return 1
    print("all engines agree")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engines", default=None, help="comma-separated (default: every engine)")
    p.add_argument("--out", type=Path, default=None, help="reproducers and progress.json")
    p.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--case-timeout", type=float, default=120.0, help="seconds before a case is cut off"
    )
    p.add_argument("--resume", action="store_true", help="continue the campaign saved in --out")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--progress", type=int, default=0, help="print a line every N cases")
    p.add_argument("--replay", type=Path, default=None, help="re-run one saved reproducer")
    args = p.parse_args(argv)
    engines = args.engines.split(",") if args.engines else None
    if args.replay:
        return replay(
            args.replay, engines or ["reference"] + sorted(e for e in ENGINES if e != "reference")
        )
    report = campaign(
        args.cases,
        args.seed,
        engines,
        args.out,
        args.time_budget,
        args.resume,
        args.case_timeout,
        args.progress,
    )
    if args.json:
        d = report.to_json()
        d["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(d, indent=1, default=repr))
    else:
        print(summary(report))
    return 1 if report.host_exceptions or report.divergences else 0


if __name__ == "__main__":
    sys.exit(main())
