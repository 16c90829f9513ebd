"""Generated programs whose helper function the JIT compiles.

``main`` (an export) passes its three arguments to ``helper``, a pure integer
function made of every instruction :mod:`deed.vm.jit.lower` supports
(checked arithmetic of every width, division, shifts, comparisons, logic,
casts, requires, branches, values kept on the stack across blocks and
bounded loops), and stores what it returns, so the receipt and the state
root show the helper's result and gas. Constants stay inside 128 bits (so
the helper is lowered); arguments and intermediate results do not, which
exercises the deopt path."""

from __future__ import annotations

import random

from hypothesis import strategies as st

TYPES = ["u8", "u16", "u64", "u128", "u256", "i8", "i64", "i128", "i256"]
TYPED_BINARY = ["ADD", "SUB", "MUL", "DIV", "MOD", "BAND", "BOR", "BXOR", "SHL", "SHR"]
UNTYPED_BINARY = ["LT", "GT", "LE", "GE", "EQ", "NE", "AND", "OR", "MIN", "MAX"]
UNARY = ["NOT", "NEG", "CAST", "BNOT"]
LOCALS = range(0, 6)  # 0..2 parameters, 3..5 locals
COUNTERS = [6, 7]
CONSTS = [0, 1, 2, 3, 7, 64, 127, 128, 255, -1, -128, 1000, 1000003, 2**63, 2**64, 2**126]
CONSTS += [-(2**63), 2**127 - 1, -(2**127)]
ARGS = [0, 1, -1, 5, 2**63, 2**64 - 1, 2**127 - 1, 2**127, -(2**127) - 1, 2**255 - 1, -(2**255)]

HEADER = ".func helper(I I I) -> I\n.locals I I I I I\n"
MAIN = """.func main(I I I)
    CONST 0x00
    LOAD 0
    LOAD 1
    LOAD 2
    CALL helper
    SSTORE
    RET
.export main(i256,i256,i256) = main
"""


class _Gen:
    def __init__(self, pick):
        self.pick = pick  # pick(options) -> one of them
        self.labels = 0
        self.lines: list[str] = []

    def label(self) -> str:
        self.labels += 1
        return f"L{self.labels}"

    def out(self, *lines: str) -> None:
        self.lines.extend(lines)

    def expr(self, depth: int) -> None:
        p = self.pick
        choice = p(range(8) if depth > 0 else range(2))
        if choice == 0:
            self.out(f"LOAD {p(LOCALS)}")
        elif choice == 1:
            self.out(f"CONST {p(CONSTS)}")
        elif choice == 2:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(f"{p(TYPED_BINARY)} {p(TYPES)}")
        elif choice == 3:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(p(UNTYPED_BINARY))
        elif choice == 4:
            self.expr(depth - 1)
            op = p(UNARY)
            self.out(op if op == "NOT" else f"{op} {p(TYPES)}")
        elif choice == 5:  # ternary: a value stays on the stack across blocks
            end = self.label()
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(f"JMPIFNOT {end}", "POP")
            self.expr(depth - 1)
            self.out(f"{end}:")
        elif choice == 6:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out("SWAP 1", "DUP 1", "SWAP 2", "POP", f"SUB {p(TYPES)}")
        else:
            self.expr(depth - 1)
            self.out("DUP 0", f"{p(TYPED_BINARY)} {p(TYPES)}")

    def stmt(self, depth: int, loop_level: int) -> None:
        p = self.pick
        choice = p(range(5) if depth > 0 else range(2))
        if choice == 0:
            self.expr(2)
            self.out(f"STORE {p(LOCALS)}")
        elif choice == 1:
            self.expr(1)
            self.out('REQUIRE "required"')
        elif choice in (2, 3):
            other, end = self.label(), self.label()
            self.expr(2)
            self.out(f"JMPIFNOT {other}")
            self.block(depth - 1, loop_level)
            self.out(f"JMP {end}", f"{other}:")
            self.block(depth - 1, loop_level)
            self.out(f"{end}:")
        elif loop_level < len(COUNTERS):
            c = COUNTERS[loop_level]
            top, end = self.label(), self.label()
            self.out("CONST 0", f"STORE {c}", f"{top}:", f"LOAD {c}")
            self.out(f"CONST {p(range(0, 7))}", "LT", f"JMPIFNOT {end}")
            self.block(depth - 1, loop_level + 1)
            self.out(f"LOAD {c}", "CONST 1", "ADD u64", f"STORE {c}", f"JMP {top}", f"{end}:")

    def block(self, depth: int, loop_level: int) -> None:
        for _ in range(self.pick(range(1, 4))):
            self.stmt(depth, loop_level)


def _text(gen: _Gen) -> str:
    body = "".join(f"    {ln}\n" if not ln.endswith(":") else f"{ln}\n" for ln in gen.lines)
    result = "    LOAD 3\n    LOAD 4\n    BXOR i256\n    LOAD 5\n    BXOR i256\n    RET\n"
    return HEADER + body + result + MAIN


@st.composite
def pure_programs(draw) -> str:
    gen = _Gen(lambda options: draw(st.sampled_from(list(options))))
    gen.block(2, 0)
    return _text(gen)


def random_pure_program(rng: random.Random) -> str:
    gen = _Gen(lambda options: rng.choice(list(options)))
    gen.block(2, 0)
    return _text(gen)


#: Two loops that call the host: ``store_every_turn`` writes storage at every
#: turn (host-bound: the native engines send it back to the translating
#: engine), ``store_every_256`` mostly computes (native). Used by test_jit and
#: benchmarks/test_jit_benchmarks.
HOST_LOOPS = """
.func store_every_turn(I) -> I
.locals I
loop:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done
    CONST 0x02
    LOAD 1
    MKEY
    LOAD 1
    SSTORE
    LOAD 1
    CONST 1
    ADD u256
    STORE 1
    JMP loop
done:
    LOAD 1
    RET

.func store_every_256(I) -> I
.locals I I
loop:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done
    LOAD 2
    LOAD 1
    LOAD 1
    MUL u256
    CONST 1000003
    MOD u256
    ADD u256
    STORE 2
    LOAD 1
    CONST 255
    BAND u256
    JMPIF skip
    CONST 0x03
    LOAD 2
    SSTORE
skip:
    LOAD 1
    CONST 1
    ADD u256
    STORE 1
    JMP loop
done:
    LOAD 2
    RET

.export store_every_turn(u256) -> u256 = store_every_turn
.export store_every_256(u256) -> u256 = store_every_256
"""
