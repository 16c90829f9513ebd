"""A hypothesis strategy for valid, varied assembly programs.

Programs have branches, bounded loops, values kept on the stack across basic
blocks (ternaries), stack shuffles, checked arithmetic of every width, storage,
events, hashing and requires: what the differential tests need to exercise
the fast engine's symbolic stack and gas segments."""

from hypothesis import strategies as st

TYPES = ["u8", "u16", "u64", "u256", "i8", "i64", "i256"]
TYPED_BINARY = ["ADD", "SUB", "MUL", "DIV", "MOD", "EXP", "BAND", "BOR", "BXOR", "SHL", "SHR"]
UNTYPED_BINARY = ["LT", "GT", "LE", "GE", "EQ", "NE", "AND", "OR", "MIN", "MAX"]
INT_LOCALS = range(0, 6)  # 0..2 parameters, 3..5 locals
BYTES_LOCAL = 6
COUNTERS = [7, 8, 9]
KEYS = ["0x" + "00" * 31 + f"{i:02x}" for i in range(4)]
CONSTS = [
    0,
    1,
    2,
    3,
    7,
    255,
    256,
    -1,
    -128,
    1000,
    2**63,
    2**64 - 1,
    2**255 - 1,
    -(2**255),
    2**256 - 1,
]

PRELUDE = """.event Ev(a: i256)
.func main(I I I)
.locals I I I B I I I
"""
EPILOGUE = "".join(
    f"    CONST {KEYS[i % 4]}\n    LOAD {i}\n    MKEY\n    LOAD {i}\n    SSTORE\n"
    for i in INT_LOCALS
)
EPILOGUE += f"    CONST {KEYS[0]}\n    LOAD {BYTES_LOCAL}\n    SSTOREB 0x\n    RET\n.export main(i256,i256,i256) = main\n"


class _Gen:
    def __init__(self, draw):
        self.draw = draw
        self.labels = 0
        self.lines = []

    def label(self):
        self.labels += 1
        return f"L{self.labels}"

    def out(self, *lines):
        self.lines.extend(lines)

    def expr(self, depth):
        d = self.draw
        choice = d(st.integers(0, 9 if depth > 0 else 2))
        if choice == 0:
            self.out(f"LOAD {d(st.sampled_from(INT_LOCALS))}")
        elif choice == 1:
            self.out(f"CONST {d(st.sampled_from(CONSTS))}")
        elif choice == 2:
            self.out(f"CONST {d(st.sampled_from(KEYS))}", "SLOAD")
        elif choice == 3:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(f"{d(st.sampled_from(TYPED_BINARY))} {d(st.sampled_from(TYPES))}")
        elif choice == 4:
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(d(st.sampled_from(UNTYPED_BINARY)))
        elif choice == 5:
            self.expr(depth - 1)
            op = d(st.sampled_from(["NOT", "NEG", "CAST", "BNOT"]))
            self.out(op if op == "NOT" else f"{op} {d(st.sampled_from(TYPES))}")
        elif choice == 6:  # ternary: a value stays on the stack across blocks
            end = self.label()
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out(f"JMPIFNOT {end}", "POP")
            self.expr(depth - 1)
            self.out(f"{end}:")
        elif choice == 7:  # shuffles
            self.expr(depth - 1)
            self.expr(depth - 1)
            self.out("SWAP 1", "DUP 1", "SWAP 2", "POP", f"SUB {d(st.sampled_from(TYPES))}")
        elif choice == 8:
            self.expr(depth - 1)
            self.out("DUP 0", f"{d(st.sampled_from(TYPED_BINARY))} {d(st.sampled_from(TYPES))}")
        else:
            self.out(f"LOAD {BYTES_LOCAL}", "LEN")

    def stmt(self, depth, loop_level):
        d = self.draw
        choice = d(st.integers(0, 7 if depth > 0 else 4))
        if choice == 0:
            self.expr(2)
            self.out(f"STORE {d(st.sampled_from(INT_LOCALS))}")
        elif choice == 1:
            self.out(f"CONST {d(st.sampled_from(KEYS))}")
            self.expr(2)
            self.out("SSTORE")
        elif choice == 2:
            self.expr(1)
            self.out('REQUIRE "required"')
        elif choice == 3:
            self.expr(1)
            self.out("CAST i256", "EMIT Ev")
        elif choice == 4:
            self.out(f"LOAD {BYTES_LOCAL}")
            self.expr(1)
            self.out("CAST u256", "I2B 32", "CONCAT", "SHA256", f"STORE {BYTES_LOCAL}")
        elif choice in (5, 6):
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
            self.out(
                "CONST 0",
                f"STORE {c}",
                f"{top}:",
                f"LOAD {c}",
                f"CONST {d(st.integers(0, 6))}",
                "LT",
                f"JMPIFNOT {end}",
            )
            self.block(depth - 1, loop_level + 1)
            self.out(f"LOAD {c}", "CONST 1", "ADD u64", f"STORE {c}", f"JMP {top}", f"{end}:")

    def block(self, depth, loop_level):
        for _ in range(self.draw(st.integers(1, 3))):
            self.stmt(depth, loop_level)


@st.composite
def programs(draw):
    gen = _Gen(draw)
    gen.block(2, 0)
    return (
        PRELUDE
        + "".join(f"    {ln}\n" if not ln.endswith(":") else f"{ln}\n" for ln in gen.lines)
        + EPILOGUE
    )
