"""A hypothesis strategy for valid, varied assembly programs.

Programs have branches, bounded loops, values kept on the stack across basic
blocks (ternaries), stack shuffles, checked arithmetic of every width, storage,
events, hashing and requires: what the differential tests need to exercise
the fast engine's symbolic stack and gas segments."""

import random as _random
from dataclasses import dataclass, field

from hypothesis import strategies as st

from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, contract_address, deploy_data
from deed.vm.crypto import KeyPair
from deed.vm.errors import InvalidTransaction
from deed.vm.opcodes import GAS
from deed.vm.oracle import sign_report, signer_set
from deed.vm.state import REGISTRY_KEY_TAG
from deed.vm.types import int_type_text

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


# =========================================================================== every opcode
#
# Scenarios: two contracts and a few transactions that between them exercise
# every instruction of the VM. The main contract has several functions with
# parameters and returns (internal CALL), imports the callee's exports
# (XCALL with and without the try flag, to a callee that succeeds, reverts,
# raises a typed error, runs out of gas, refuses reentrancy or does not
# exist, with and without value), typed errors with fields, events, every
# environment instruction, byte strings, hashes, ed25519 with valid and
# invalid signatures, map keys of both kinds, bytes storage, value transfer,
# the document registry and signed oracle reports (valid, stale, from the
# future, badly signed, short of quorum, and reused).
#
# The generator draws through a ``Choices`` object, so the same code serves
# hypothesis (``scenarios()``) and a seeded ``random.Random``
# (``random_scenario(rng)``: the fuzzer and the coverage test).

SENDER = KeyPair.from_text("differential")
OTHER = KeyPair.from_text("differential-other")
CALLEE_ADDRESS = contract_address(SENDER.address, 0)
MAIN_ADDRESS = contract_address(SENDER.address, 1)
BLOCK_TIME = 100_000
ALL_TYPES = [int_type_text(code) for code in range(64)]  # every integer width, both signs
WIDE = ["u256", "i256", "u256", "i256", "u64", "i64", "u8", "i8", "u128", "i128"]

ED_KEY = KeyPair.from_text("differential-ed25519")
ED_MSG = b"deed differential message"
ED_SIG = ED_KEY.sign(ED_MSG)
ED_BAD_SIG = ED_SIG[:10] + bytes([ED_SIG[10] ^ 1]) + ED_SIG[11:]

ORACLE_KEYS = [KeyPair.from_text(f"differential-oracle-{i}") for i in range(3)]
SIGNERS = signer_set(ORACLE_KEYS)
_DATA = (123_456).to_bytes(8, "big")
REPORTS = {
    "valid2": sign_report(BLOCK_TIME - 5, _DATA, [(0, ORACLE_KEYS[0]), (2, ORACLE_KEYS[2])]),
    "valid1": sign_report(BLOCK_TIME - 1, b"\x00\x07", [(1, ORACLE_KEYS[1])]),
    "valid3": sign_report(
        BLOCK_TIME, b"deed", [(0, ORACLE_KEYS[0]), (1, ORACLE_KEYS[1]), (2, ORACLE_KEYS[2])]
    ),
    "stale": sign_report(BLOCK_TIME - 5_000, _DATA, [(0, ORACLE_KEYS[0]), (1, ORACLE_KEYS[1])]),
    "future": sign_report(BLOCK_TIME + 60, _DATA, [(0, ORACLE_KEYS[0]), (1, ORACLE_KEYS[1])]),
    "wrong_signer": sign_report(BLOCK_TIME - 2, _DATA, [(0, ORACLE_KEYS[1])]),
    "malformed": b"\x00" * 12,
}
_bad = bytearray(REPORTS["valid2"])
_bad[-1] ^= 0x40
REPORTS["bad_signature"] = bytes(_bad)

INT_CONSTS = CONSTS + [
    4,
    5,
    8,
    31,
    32,
    64,
    127,
    128,
    -2,
    -(2**63),
    2**128,
    2**200 + 12345,
    2**255,
    3**161,
    -(2**256 - 1),
    BLOCK_TIME,
]
SMALL = [0, 1, 2, 3, 4, 5, 7, 8, 16, 20, 31, 32, 33]
BYTES_CONSTS = [
    b"",
    b"\x00",
    b"\x80",
    b"deed",
    b"\xff\xfe\xfd",  # not UTF-8: a revert reason must survive it
    b"\x01" * 8,
    b"\x80" + b"\x00" * 7,
    bytes(range(32)),
    bytes(range(33)),
    b"\xff" * 64,
    b"\x00" * 32,
    "h\u00e9llo".encode(),
]
ADDRESSES = [
    CALLEE_ADDRESS,
    MAIN_ADDRESS,
    SENDER.address,
    OTHER.address,
    bytes(20),
    b"\x01" * 19,  # not an address
]
MAP_BASES = [b"\x00" * 31 + bytes([0x40 + i]) for i in range(3)]
BYTES_KEYS = [b"\x00" * 31 + bytes([0x20 + i]) for i in range(3)]
DOCS = [bytes([0xD0 + i]) * 32 for i in range(3)]
REASONS = ["required", "no", "h\u00e9", ""]


def _lit(v: int | bytes) -> str:
    return str(v) if isinstance(v, int) else "0x" + v.hex()


class Choices:
    """The decisions of a generator: hypothesis draws or a seeded Random."""

    def int(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def chance(self, percent: int) -> bool:
        return self.int(0, 99) < percent


class DrawChoices(Choices):
    def __init__(self, draw):
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


class RandomChoices(Choices):
    def __init__(self, rng: _random.Random):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


CALLEE = f"""; the second contract: succeeds, reverts, raises, runs out of gas, refuses reentrancy
.event Pinged(who: address, x: i256, value: u256)
.error Nope(code: u64, who: address)
.import poke()

.func init()
    RET

.func ping(I) -> I
    LOAD 0
    CONST 4
    MOD i256
    DUP 0
    JMPIF notzero
    POP
    CONST "ping says no"
    REVERT
notzero:
    CONST 1
    EQ
    JMPIFNOT ok
    CONST 7
    CALLER
    RAISE Nope
ok:
    CONST {_lit(BYTES_KEYS[0])}
    LOAD 0
    SSTORE
    CALLER
    LOAD 0
    CALLVALUE
    EMIT Pinged
    LOAD 0
    CONST 2
    MUL i256
    RET

.func pay() -> I
    CALLVALUE
    SELFBALANCE
    ADD u256
    RET

.func echo(B) -> B
    LOAD 0
    SELF
    CONCAT
    RET

.func back() -> I
    CALLER
    CONST 0
    XCALL poke try
    RET

.func burn(I)
.locals I
top:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done
    CONST 0x00
    SHA256
    POP
    LOAD 1
    CONST 1
    ADD u64
    STORE 1
    JMP top
done:
    RET

.func peek() -> I
    CONST {_lit(BYTES_KEYS[0])}
    SLOAD
    RET

.export init() = init payable init
.export ping(i256) -> i256 = ping payable
.export pay() -> u256 = pay payable
.export echo(bytes[64]) -> bytes[64] = echo
.export back() -> bool = back
.export burn(u64) = burn
.export peek() -> i256 = peek view
"""

MAIN_HEADER = """.event Ev(a: i256)
.event Ev2(who: address, n: u8, data: bytes[64], flag: bool)
.error Bad(code: u64, who: address, note: bytes[32])
.error Plain()
.import ping(i256) -> i256
.import pay() -> u256
.import echo(bytes[64]) -> bytes[64]
.import back() -> bool
.import burn(u64)
.import peek() -> i256
.import missing(u8) -> u8
"""
MAIN_EXPORTS = """
.export init() = init payable init
.export main(i256,i256,i256,bytes[64]) -> i256,bytes32 = run
.export pay(i256,i256,i256,bytes[64]) -> i256,bytes32 = run payable
.export look(i256,i256,i256,bytes[64]) -> i256,bytes32 = run view
.export poke() = poke
"""
MAIN_ENTRY_POINTS = ["main", "pay", "look"]
# the export's parameters and the run function's locals: 0-2 and 4-6 integers,
# 3 and 7-8 bytes, 9-11 loop counters
RUN_PARAMS = ("I", "I", "I", "B")
RUN_LOCALS = ("I", "I", "I", "B", "B", "I", "I", "I")


@dataclass
class _Fn:
    name: str
    params: tuple[str, ...]
    returns: tuple[str, ...]
    locals: tuple[str, ...] = ()
    lines: list[str] = field(default_factory=list)

    @property
    def all_locals(self) -> tuple[str, ...]:
        return self.params + self.locals


class _ScenarioGen:
    """Draws the main contract of a scenario. Every expression pushes one
    value of its kind; every statement leaves the stack as it found it."""

    def __init__(self, c: Choices):
        self.c = c
        self.labels = 0
        self.fn: _Fn | None = None
        self.callable: list[_Fn] = []

    # -- plumbing
    def label(self) -> str:
        self.labels += 1
        return f"L{self.labels}"

    def out(self, *lines: str) -> None:
        self.fn.lines.extend(lines)

    def locals_of(self, kind: str) -> list[int]:
        all_locals = self.fn.all_locals
        n = len(all_locals) - (3 if self.fn.name == "run" else 2)
        return [i for i in range(n) if all_locals[i] == kind]

    def counters(self) -> list[int]:
        n = len(self.fn.all_locals)
        return list(range(n - (3 if self.fn.name == "run" else 2), n))

    def ty(self) -> str:
        return self.c.pick(ALL_TYPES) if self.c.chance(30) else self.c.pick(WIDE)

    def const_int(self) -> str:
        return f"CONST {self.c.pick(INT_CONSTS if self.c.chance(50) else SMALL)}"

    def likely(self, depth: int) -> None:
        """A condition that mostly holds (REQUIRE), but not always."""
        self.iexpr(depth)
        if self.c.chance(75):
            self.out("DUP 0", self.c.pick(["EQ", "GE", "LE"]))

    def unlikely(self, depth: int) -> None:
        """A condition that mostly fails (raising a typed error, reverting)."""
        self.iexpr(depth)
        if self.c.chance(75):
            self.out("CONST 12345", "EQ")

    # -- expressions of each kind
    def expr(self, kind: str, depth: int) -> None:
        (self.iexpr if kind == "I" else self.bexpr)(depth)

    def iexpr(self, depth: int) -> None:
        c = self.c
        choice = c.int(0, 20 if depth > 0 else 1)
        if choice == 0:
            self.out(f"LOAD {c.pick(self.locals_of('I'))}")
        elif choice == 1:
            self.out(self.const_int())
        elif choice == 2:
            self.storage_key(depth - 1)
            self.out("SLOAD")
        elif choice == 3:
            self.iexpr(depth - 1)
            self.iexpr(depth - 1)
            op = c.pick(TYPED_BINARY)
            self.out(f"{op} {self.ty()}")
        elif choice == 4:
            kind = "B" if c.chance(15) else "I"
            self.expr(kind, depth - 1)
            self.expr(kind, depth - 1)
            self.out(c.pick(["EQ", "NE"]) if kind == "B" else c.pick(UNTYPED_BINARY))
        elif choice == 5:
            self.iexpr(depth - 1)
            op = c.pick(["NOT", "NEG", "CAST", "BNOT"])
            self.out(op if op == "NOT" else f"{op} {self.ty()}")
        elif choice == 6:  # ternary: a value stays on the stack across blocks
            end = self.label()
            self.iexpr(depth - 1)
            self.iexpr(depth - 1)
            self.out(f"{c.pick(['JMPIFNOT', 'JMPIF'])} {end}", "POP")
            self.iexpr(depth - 1)
            self.out(f"{end}:")
        elif choice == 7:  # shuffles
            self.iexpr(depth - 1)
            self.iexpr(depth - 1)
            self.out("SWAP 1", "DUP 1", "SWAP 2", "POP", f"SUB {self.ty()}")
        elif choice == 8:
            self.iexpr(depth - 1)
            self.out("DUP 0", f"{c.pick(TYPED_BINARY)} {self.ty()}")
        elif choice == 9:
            self.bexpr(depth - 1)
            self.out("LEN")
        elif choice == 10:
            self.bexpr(depth - 1)
            self.index_expr(depth - 1)
            self.out("BYTEAT")
        elif choice == 11:
            self.bexpr(depth - 1)
            self.out(f"B2I {self.ty()}")
        elif choice == 12:
            self.out(c.pick(["CALLVALUE", "SELFBALANCE", "HEIGHT", "TIMESTAMP", "CHAINID"]))
        elif choice == 13:
            self.address_expr()
            self.out("BALANCE")
        elif choice == 14:
            self.ed25519()
        elif choice == 15:
            self.call("I", depth)
        elif choice == 16:
            self.xcall_expr("I", depth)
        elif choice == 17:
            self.oracle()
            self.out(f"B2I {c.pick(['u64', 'u16', 'i64', 'u256', 'i256'])}")
        elif choice == 18:
            self.registry_key_expr(depth - 1)
            self.out("DOCHOLDER", "SELF", "EQ")
        elif choice == 19:
            self.iexpr(depth - 1)
            self.iexpr(depth - 1)
            self.out(f"{c.pick(['SHL', 'SHR', 'EXP'])} {self.ty()}")
        else:
            self.iexpr(depth - 1)
            self.iexpr(depth - 1)
            self.out(c.pick(["MIN", "MAX"]))

    def bexpr(self, depth: int) -> None:
        c = self.c
        choice = c.int(0, 12 if depth > 0 else 1)
        if choice == 0:
            self.out(f"LOAD {c.pick(self.locals_of('B'))}")
        elif choice == 1:
            self.out(f"CONST {_lit(c.pick(BYTES_CONSTS))}")
        elif choice == 2:
            self.bexpr(depth - 1)
            self.bexpr(depth - 1)
            self.out("CONCAT")
        elif choice == 3:
            self.bexpr(depth - 1)
            self.index_expr(depth - 1)
            self.index_expr(depth - 1)
            self.out("SLICE")
        elif choice == 4:
            self.iexpr(depth - 1)
            self.out(f"I2B {c.int(1, 32)}")
        elif choice == 5:
            self.bexpr(depth - 1)
            self.out(c.pick(["SHA256", "KECCAK256"]))
        elif choice == 6:
            self.map_key(depth - 1)
        elif choice == 7:
            self.out(c.pick(["CALLER", "SELF", "ORIGIN"]))
        elif choice == 8:
            self.out(
                f"CONST {_lit(c.pick(BYTES_KEYS))}",
                f"SLOADB {_lit(c.pick([b'', b'default']))}",
            )
        elif choice == 9:
            self.registry_key_expr(depth - 1)
            self.out("DOCHOLDER")
        elif choice == 10:
            self.oracle()
        elif choice == 11:
            self.call("B", depth)
        else:
            self.xcall_expr("B", depth)

    def index_expr(self, depth: int) -> None:
        if self.c.chance(80):
            self.out(f"CONST {self.c.pick([0, 0, 1, 2, 3, 8, 20, 32])}")
        else:
            self.iexpr(depth)

    def address_expr(self) -> None:
        if self.c.chance(80):
            self.out(f"CONST {_lit(self.c.pick(ADDRESSES))}")
        else:
            self.out(self.c.pick(["CALLER", "SELF", "ORIGIN"]))

    def map_key(self, depth: int) -> None:
        """MKEY with an integer or a bytes key."""
        self.out(f"CONST {_lit(self.c.pick(MAP_BASES))}")
        if self.c.chance(50):
            self.iexpr(depth)
        else:
            self.bexpr(depth)
        self.out("MKEY")

    def storage_key(self, depth: int) -> None:
        if self.c.chance(60):
            self.out(f"CONST {KEYS[self.c.int(0, 3)]}")
        else:
            self.map_key(depth)

    def doc_expr(self, depth: int) -> None:
        roll = self.c.int(0, 9)
        if roll < 3:
            self.out(f"CONST {_lit(self.c.pick(DOCS))}")
        elif roll < 7:  # differs from call to call
            self.out(f"LOAD {self.c.pick(self.locals_of('I'))}", "I2B 32", "SHA256")
        else:
            self.bexpr(depth)
            self.out("SHA256" if self.c.chance(80) else "KECCAK256")

    def registry_key_expr(self, depth: int) -> None:
        """What DOCHOLDER reads: mostly the registry key of a document under the
        signer or another account (deed.vm.state.registry_key, built in code),
        so that the registrations of earlier calls are found."""
        if self.c.chance(30):
            self.doc_expr(depth)
            return
        self.out(f"CONST {_lit(REGISTRY_KEY_TAG)}")
        if self.c.chance(75):
            self.out("ORIGIN")
        else:
            self.address_expr()
        self.out("CONCAT")
        if self.c.chance(70):
            self.out(f"CONST {_lit(self.c.pick(DOCS))}")
        else:
            self.doc_expr(depth)
        self.out("CONCAT", "SHA256")

    def ed25519(self) -> None:
        c = self.c
        key = ED_KEY.public_key if c.chance(85) else c.pick([OTHER.public_key, b"\x01" * 31])
        msg = ED_MSG if c.chance(80) else b"another message"
        sig = c.pick([ED_SIG, ED_SIG, ED_BAD_SIG, ED_SIG[:63]])
        self.out(f"CONST {_lit(key)}", f"CONST {_lit(msg)}", f"CONST {_lit(sig)}", "ED25519")

    def oracle(self) -> None:
        c = self.c
        if c.chance(60):  # a good report, unless this contract used it already
            name, quorum = c.pick([("valid1", 1), ("valid2", 2), ("valid2", 1), ("valid3", 3)])
            report, signers, max_age = REPORTS[name], SIGNERS, 100
        else:
            report = REPORTS[c.pick(sorted(REPORTS))]
            signers = SIGNERS if c.chance(90) else SIGNERS[:40]
            quorum = c.pick([1, 1, 2, 2, 3, 0, 4])
            max_age = c.pick([10, 100, 10_000])
        self.out(
            f"CONST {_lit(report)}",
            f"CONST {_lit(signers)}",
            f"CONST {quorum}",
            f"CONST {max_age}",
            "ORACLE",
        )

    def call(self, want: str, depth: int) -> None:
        """Call a later function, keep its results in locals, push a value of kind ``want``."""
        if not self.callable:
            self.expr(want, 0)
            return
        callee = self.c.pick(self.callable)
        for kind in callee.params:
            self.expr(kind, max(depth - 2, 0))
        self.out(f"CALL {callee.name}")
        for kind in reversed(callee.returns):
            self.out(f"STORE {self.c.pick(self.locals_of(kind))}")
        self.out(f"LOAD {self.c.pick(self.locals_of(want))}")

    def xcall_target(self) -> None:
        roll = self.c.int(0, 19)
        if roll < 16:
            self.out(f"CONST {_lit(CALLEE_ADDRESS)}")
        elif roll == 16:
            self.out("SELF")  # reentrant: refused
        elif roll == 17:
            self.out("CALLER")  # an account without code
        else:
            self.out(f"CONST {_lit(self.c.pick(ADDRESSES))}")

    def xcall_value(self) -> None:
        self.out(f"CONST {self.c.pick([0, 0, 0, 0, 1, 5, 100])}")

    def xcall_expr(self, want: str, depth: int) -> None:
        c = self.c
        try_ = c.chance(60)
        self.xcall_target()
        self.xcall_value()
        if want == "I":
            name = c.pick(["ping", "ping", "pay", "back", "peek", "missing"])
            if name == "ping":
                self.iexpr(max(depth - 2, 0))
            elif name == "missing":
                self.out("CONST 3")
        else:
            name = "echo"
            self.bexpr(max(depth - 2, 0))
        self.out(f"XCALL {name}{' try' if try_ else ''}")
        if try_:  # ok flag under the result: keep one of them
            if c.chance(50):
                self.out(f"STORE {c.pick(self.locals_of(want))}")  # the result
                if want == "B":
                    self.out("POP", f"LOAD {c.pick(self.locals_of('B'))}")
            else:
                self.out("SWAP 1", "POP")

    # -- statements
    def stmt(self, depth: int, loop_level: int) -> None:
        c = self.c
        choice = c.int(0, 15 if depth > 0 else 11)
        if choice == 0:
            self.iexpr(2)
            self.out(f"STORE {c.pick(self.locals_of('I'))}")
        elif choice == 1:
            self.bexpr(2)
            self.out(f"STORE {c.pick(self.locals_of('B'))}")
        elif choice == 2:
            self.storage_key(1)
            self.iexpr(2)
            self.out("SSTORE")
        elif choice == 3:
            self.out(f"CONST {_lit(c.pick(BYTES_KEYS))}")
            self.bexpr(2)
            self.out(f"SSTOREB {_lit(c.pick([b'', b'default']))}")
        elif choice == 4:
            self.likely(1)
            self.out(f"REQUIRE {_lit(c.pick(REASONS).encode())}")
        elif choice == 5:
            if c.chance(50):
                self.iexpr(1)
                self.out("CAST i256", "EMIT Ev")
            else:
                self.address_expr()
                self.iexpr(1)
                self.bexpr(1)
                self.iexpr(0)
                self.out("EMIT Ev2")
        elif choice == 6:
            self.address_expr()
            self.out(f"CONST {c.pick([0, 1, 7, 50, 10**9])}" if c.chance(80) else "CALLVALUE")
            self.out("SEND")
        elif choice == 7:
            if c.chance(50):  # a document that DOCHOLDER's keys name often
                self.out(f"CONST {_lit(c.pick(DOCS))}")
            else:
                self.doc_expr(1)
            self.out("DOCREG")
        elif choice == 8:  # a typed error, raised when a condition holds
            skip = self.label()
            self.unlikely(1)
            self.out(f"JMPIFNOT {skip}")
            if c.chance(70):
                self.iexpr(0)
                self.address_expr()
                self.bexpr(1)
                self.out("RAISE Bad")
            else:
                self.out("RAISE Plain")
            self.out(f"{skip}:")
        elif choice == 9:
            skip = self.label()
            self.unlikely(1)
            self.out(f"JMPIFNOT {skip}")
            self.bexpr(1)
            self.out("REVERT", f"{skip}:")
        elif choice == 10:
            self.xcall_stmt()
        elif choice == 11:
            if self.callable:
                callee = c.pick(self.callable)
                for kind in callee.params:
                    self.expr(kind, 1)
                self.out(f"CALL {callee.name}")
                for _ in callee.returns:
                    self.out("POP")
        elif choice in (12, 13):
            other, end = self.label(), self.label()
            self.iexpr(2)
            self.out(f"JMPIFNOT {other}")
            self.block(depth - 1, loop_level)
            self.out(f"JMP {end}", f"{other}:")
            self.block(depth - 1, loop_level)
            self.out(f"{end}:")
        elif choice == 14:
            skip = self.label()
            self.unlikely(1)
            self.out(f"JMPIFNOT {skip}")
            self.ret()
            self.out(f"{skip}:")
        else:
            counters = self.counters()
            if loop_level < len(counters):
                cnt = counters[loop_level]
                top, end = self.label(), self.label()
                self.out(
                    "CONST 0",
                    f"STORE {cnt}",
                    f"{top}:",
                    f"LOAD {cnt}",
                    f"CONST {c.int(0, 5)}",
                    "LT",
                    f"JMPIFNOT {end}",
                )
                self.block(depth - 1, loop_level + 1)
                self.out(
                    f"LOAD {cnt}", "CONST 1", "ADD u64", f"STORE {cnt}", f"JMP {top}", f"{end}:"
                )

    def xcall_stmt(self) -> None:
        c = self.c
        try_ = c.chance(60)
        name = c.pick(["ping", "pay", "echo", "back", "burn", "peek", "missing"])
        self.xcall_target()
        self.xcall_value()
        if name == "ping":
            self.iexpr(1)
        elif name == "echo":
            self.bexpr(1)
        elif name == "burn":
            self.out(f"CONST {c.pick([0, 1, 3, 40, 2000, -1])}")
        elif name == "missing":
            self.out("CONST 9")
        self.out(f"XCALL {name}{' try' if try_ else ''}")
        results = {"burn": 0}.get(name, 1) + (1 if try_ else 0)
        self.out(*["POP"] * results)

    def block(self, depth: int, loop_level: int) -> None:
        for _ in range(self.c.int(1, 3)):
            self.stmt(depth, loop_level)

    def ret(self) -> None:
        if self.fn.name == "run":
            self.out("LOAD 4", "LOAD 7", "SHA256")
        else:
            for kind in self.fn.returns:
                self.expr(kind, 1)
        self.out("RET")

    def sections(self) -> None:
        """The body of ``run``: a switch on its second argument between
        independent sections, so that one that reverts does not hide the
        others from the other calls of the scenario."""
        n = self.c.int(2, 4)
        labels = [self.label() for _ in range(n)]
        end = self.label()
        for k, lab in enumerate(labels):
            self.out("LOAD 1", f"CONST {k}", "EQ", f"JMPIF {lab}")
        self.block(1, 0)
        self.out(f"JMP {end}")
        for lab in labels:
            self.out(f"{lab}:")
            for _ in range(self.c.int(1, 3)):
                self.stmt(2, 0)
            self.out(f"JMP {end}")
        self.out(f"{end}:")

    # -- the module
    def module(self) -> str:
        c = self.c
        helpers = []
        for i in range(c.int(1, 3)):
            params = tuple(c.pick("IIB") for _ in range(c.int(0, 3)))
            returns = tuple(c.pick("IIB") for _ in range(c.int(0, 2)))
            helpers.append(_Fn(f"h{i}", params, returns, ("I", "I", "B", "B", "I", "I")))
        run = _Fn("run", RUN_PARAMS, RUN_RETURNS, RUN_LOCALS)
        order = [run] + helpers  # each function calls only the ones after it
        for i, fn in enumerate(order):
            self.fn = fn
            self.callable = order[i + 1 :]
            if fn is run:
                self.sections()
            else:
                self.block(1, 0)
            if fn is run:
                # keep every integer local and the bytes locals in storage
                for j, local in enumerate(self.locals_of("I")):
                    self.out(f"CONST {KEYS[j % 4]}", f"LOAD {local}", "MKEY", f"LOAD {local}")
                    self.out("SSTORE")
                self.out(f"CONST {_lit(BYTES_KEYS[1])}", "LOAD 7", "SSTOREB 0x")
            self.ret()
        text = [MAIN_HEADER]
        text.append(f".func init()\n    CONST {KEYS[3]}\n    CALLVALUE\n    SSTORE\n    RET\n")
        text.append(".func poke()\n    RET\n")
        for fn in order:
            rets = f" -> {' '.join(fn.returns)}" if fn.returns else ""
            text.append(f".func {fn.name}({' '.join(fn.params)}){rets}")
            text.append(f".locals {' '.join(fn.locals)}")
            text.extend(ln if ln.endswith(":") else f"    {ln}" for ln in fn.lines)
        text.append(MAIN_EXPORTS)
        return "\n".join(text) + "\n"


# run's RET pushes (LOAD 4, LOAD 7 SHA256); the function returns I B
RUN_RETURNS = ("I", "B")


@dataclass(frozen=True)
class Call:
    """One transaction of a scenario (``read_only``: ``Chain.call`` instead)."""

    export: str
    args: tuple
    value: int = 0
    gas: int = 10**7
    sender: str = "sender"
    read_only: bool = False


@dataclass(frozen=True)
class Scenario:
    callee: str  # assembly of the contract deployed first
    main: str  # assembly of the contract deployed second
    calls: tuple[Call, ...]


def _draw_calls(c: Choices) -> tuple[Call, ...]:
    calls = []
    for _ in range(c.int(2, 4)):
        export = c.pick(["main", "main", "main", "pay", "pay", "look"])
        args = (
            c.pick(INT_CONSTS[:14]) if c.chance(70) else c.int(-(2**255), 2**255 - 1),
            c.int(0, 3) if c.chance(85) else c.pick([4, 5, -1, 255, 2**64, -(2**255)]),
            c.int(-(2**64), 2**64),
            c.pick([b"", b"\x01", b"payload", bytes(range(32)), b"\xee" * 64]),
        )
        if args[0] >= 2**255:
            args = (args[0] - 2**255,) + args[1:]
        value = c.pick([0, 0, 5, 1_000]) if export == "pay" else (3 if c.chance(8) else 0)
        roll = c.int(0, 9)
        low = GAS.tx_base + 1_000  # just over the intrinsic gas: out of gas at any point
        gas = (
            10**7
            if roll < 4
            else c.int(low, low + 60_000)
            if roll < 7
            else c.int(60_000, 1_500_000)
        )
        sender = "other" if c.chance(20) else "sender"
        calls.append(Call(export, args, value, gas, sender, read_only=c.chance(15)))
    return tuple(calls)


def draw_scenario(c: Choices) -> Scenario:
    return Scenario(CALLEE, _ScenarioGen(c).module(), _draw_calls(c))


@st.composite
def _drawn_scenarios(draw):
    return draw_scenario(DrawChoices(draw))


def scenarios():
    """Half drawn choice by choice (hypothesis shrinks them), half from a
    seeded Random (uniform choices: hypothesis leans to small ones, which
    leaves some instructions rare)."""
    return st.one_of(_drawn_scenarios(), st.integers(0, 2**32).map(_seeded))


def _seeded(seed: int) -> Scenario:
    return random_scenario(_random.Random(seed))


def random_scenario(rng: _random.Random) -> Scenario:
    return draw_scenario(RandomChoices(rng))


# --------------------------------------------------------------------------- running one


def receipt_outcome(r) -> tuple:
    """Everything observable about a receipt or a read-only call result."""
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


def run_scenario(engine: str, scenario: Scenario, modules=None) -> list:
    """Deploy the two contracts and run the calls on a fresh chain with one
    engine. Returns the observable outcome of every step, state roots and
    the committed block's header included."""
    from deed.vm.execution import ModuleCache
    from deed.vm.state import MemoryBackend

    keys = {"sender": SENDER, "other": OTHER}
    chain = Chain(
        MemoryBackend(),
        check_signatures=False,
        modules=modules if modules is not None else ModuleCache(engine=engine),
    )
    chain.genesis({SENDER.address: 10**30, OTHER.address: 10**30})
    block = chain.begin_block(BLOCK_TIME, OTHER.address)
    nonces = {"sender": 0, "other": 0}
    outcomes = []

    def send(sender: str, to, value: int, gas: int, data: bytes):
        key = keys[sender]
        tx = Transaction(1, nonces[sender], key.public_key, to, value, gas, 1, data)
        nonces[sender] += 1
        try:
            r = block.apply(tx)
        except InvalidTransaction as exc:  # e.g. a gas limit under the intrinsic gas
            nonces[sender] -= 1
            outcomes.append(("invalid", exc.code, chain.state_root()))
            return None
        outcomes.append(receipt_outcome(r) + (chain.state_root(),))
        return r

    for text, value in ((scenario.callee, 1_000), (scenario.main, 10**6)):
        module = assemble(text)
        r = send("sender", None, value, 10**7, deploy_data(module.encode()))
        if r is None or not r.success:
            raise AssertionError(f"deployment failed on {engine}: {r.revert_reason}")
    for call in scenario.calls:
        if call.read_only:
            r = chain.call(
                MAIN_ADDRESS,
                call.export,
                list(call.args),
                sender=keys[call.sender].address,
                value=call.value,
                gas_limit=call.gas,
            )
            outcomes.append(receipt_outcome(r) + (chain.state_root(),))
        else:
            data = chain.encode_call(MAIN_ADDRESS, call.export, list(call.args))
            send(call.sender, MAIN_ADDRESS, call.value, call.gas, data)
    header = block.commit()
    outcomes.append(header)
    return outcomes
