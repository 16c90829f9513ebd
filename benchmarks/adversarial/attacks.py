"""Adversarial programs: the worst work per gas we know how to buy, one per
instruction class, builtin and host path, beside the plain-instruction loop.

Each attack is a transaction (with what it needs deployed and stored first)
that spends about ``TARGET_GAS`` gas; :func:`measure` times applying it and
committing its block on a node (SQLite backend, one engine) and reports
nanoseconds of wall time per gas. ``spec/vm.md`` lists the figures, the goal
being that no attack exceeds 4 times the plain loop's ns/gas on its engine.

Used by ``test_adversarial.py`` (pytest-benchmark) and ``report.py`` (the
table for the spec). Attacks are data: a name, the path they stress, and a
builder; adding one is adding an entry to :data:`ATTACKS`.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deed.vm.asm import assemble
from deed.vm.chain import Chain, Transaction, deploy_data, intrinsic_gas
from deed.vm.crypto import KeyPair
from deed.vm.execution import ModuleCache
from deed.vm.opcodes import LIMITS
from deed.vm.oracle import sign_report, signer_set
from deed.vm.state import SqliteBackend

TARGET_GAS = 4_000_000
ATTACKER = KeyPair.from_text("attacker")
FUNDS = 10**30
KEY0 = "0x" + "00" * 32


# --------------------------------------------------------------------------- programs


def loop_module(
    body: str,
    *,
    locals_: str = "",
    prelude: str = "",
    header: str = "",
    functions: str = "",
    n_param: bool = True,
) -> str:
    """``main(n)`` runs ``body`` n times (or forever when ``n_param`` is False:
    the transaction then ends out of gas)."""
    locs = "I" + (" " + locals_ if locals_ else "")
    if n_param:
        loop = f"""
top:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done
{body}
    LOAD 1
    CONST 1
    ADD u64
    STORE 1
    JMP top
done:
    RET
.export main(u64) = main
"""
        return f"{header}\n{functions}\n.func main(I)\n.locals {locs}\n{prelude}{loop}"
    return f"""{header}
{functions}
.func main()
.locals {locs}
{prelude}top:
{body}
    JMP top
.export main() = main
"""


def repeat(lines: str, times: int) -> str:
    return "".join(lines for _ in range(times))


# --------------------------------------------------------------------------- attacks


@dataclass
class Prepared:
    """A chain ready for the attack, and the transactions to time (one block)."""

    chain: Chain
    txs: list[Transaction]
    directory: tempfile.TemporaryDirectory
    expect: str = "any"  # "success", "out_of_gas" or "any", for every transaction


@dataclass(frozen=True)
class Attack:
    name: str
    path: str  # the instruction, builtin or host path it stresses
    setup: Callable[[str], Prepared]
    notes: str = ""


@dataclass
class Node:
    """A fresh node: a SQLite chain with a funded attacker, on one engine."""

    engine: str
    cache_bytes: int = 8 * 2**20
    directory: tempfile.TemporaryDirectory = field(default_factory=tempfile.TemporaryDirectory)

    def __post_init__(self):
        self.chain = Chain(
            SqliteBackend(Path(self.directory.name) / "chain.db"),
            check_signatures=True,
            modules=ModuleCache(self.cache_bytes, engine=self.engine),
        )
        self.chain.genesis({ATTACKER.address: FUNDS})
        self.block = self.chain.begin_block(1_000)
        self.time = 1_000

    def tx(self, to, data: bytes, gas: int = 10**7, value: int = 0) -> Transaction:
        nonce = self.chain.nonce(ATTACKER.address)
        return Transaction(1, nonce, ATTACKER.public_key, to, value, gas, 1, data).signed(ATTACKER)

    def deploy(self, text_or_bytes, init: bytes = b"", value: int = 0) -> bytes:
        code = (
            text_or_bytes if isinstance(text_or_bytes, bytes) else assemble(text_or_bytes).encode()
        )
        self._room()
        r = self.block.apply(self.tx(None, deploy_data(code, init), gas=4 * 10**7, value=value))
        assert r.success, r.revert_reason
        return r.contract_address

    def _room(self) -> None:
        """Start a new block when this one has no room for a large setup transaction."""
        if self.block.gas_used + 4 * 10**7 > LIMITS.max_block_gas:
            self.block.commit()
            self.time += 10
            self.block = self.chain.begin_block(self.time)

    def send(self, to: bytes, name: str, args=(), value: int = 0) -> None:
        self._room()
        r = self.block.apply(
            self.tx(to, self.chain.encode_call(to, name, list(args)), gas=4 * 10**7, value=value)
        )
        assert r.success, r.revert_reason

    def finish_setup(self) -> None:
        self.block.commit()
        self.time += 10
        self.block = None

    def prepared(self, tx: Transaction, expect: str = "any") -> Prepared:
        self.finish_setup()
        return Prepared(self.chain, [tx], self.directory, expect)


def bounded(engine: str, text: str, setup=None, **node_kw) -> Prepared:
    """An attack whose main(n) runs n iterations: n is fitted to TARGET_GAS."""
    node = Node(engine, **node_kw)
    addr = node.deploy(text)
    if setup:
        setup(node, addr)
    node.finish_setup()
    n = _fit_iterations(node.chain, addr)
    data = node.chain.encode_call(addr, "main", [n])
    tx = Transaction(
        1, node.chain.nonce(ATTACKER.address), ATTACKER.public_key, addr, 0, 2 * TARGET_GAS, 1, data
    ).signed(ATTACKER)
    return Prepared(node.chain, [tx], node.directory, "success")


def unbounded(
    engine: str, text: str, setup=None, expect: str = "out_of_gas", **node_kw
) -> Prepared:
    """An attack that loops until it runs out of TARGET_GAS (or, with
    ``expect="any"``, until a per-transaction limit stops it)."""
    node = Node(engine, **node_kw)
    addr = node.deploy(text)
    if setup:
        setup(node, addr)
    return node.prepared(node.tx(addr, node.chain.encode_call(addr, "main"), TARGET_GAS), expect)


def _fit_iterations(chain: Chain, addr: bytes) -> int:
    g1 = chain.call(addr, "main", [1], gas_limit=10**9).gas_used
    g3 = chain.call(addr, "main", [3], gas_limit=10**9).gas_used
    per = max(1, (g3 - g1) // 2)
    return max(1, (TARGET_GAS - (g1 - per)) // per)


def loop_attack(name: str, path: str, body: str, notes: str = "", **module_kw) -> Attack:
    """An endless loop of ``body``; attacks with notes may stop at a limit first."""
    text = loop_module(body, n_param=False, **module_kw)
    expect = "any" if notes else "out_of_gas"
    return Attack(name, path, lambda engine: unbounded(engine, text, expect=expect), notes)


# -- the plain loop: what every other attack is compared with

PLAIN = loop_module(
    """    LOAD 2
    LOAD 1
    LOAD 1
    MUL u256
    CONST 1000003
    MOD u256
    ADD u256
    STORE 2
""",
    locals_="I",
)


#: A function with a loop (a tiered candidate) that returns at once for n = 0.
SPIN = """
.func spin(I) -> I
.locals I
again:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT out
    LOAD 1
    CONST 1
    ADD u64
    STORE 1
    JMP again
out:
    LOAD 1
    RET
"""


def _plain(engine: str) -> Prepared:
    return bounded(engine, PLAIN)


# -- control flow


def _pingpong_module() -> str:
    """A function with the most blocks the verifier allows, jumping between
    the two blocks that sit deepest in the engines' dispatch."""
    blocks = LIMITS.max_blocks - 8
    lines = [".func main()", ".locals I", "    JMP b0"]
    for i in range(blocks):
        lines.append(f"b{i}:")
        lines.append(f"    JMP b{blocks - 1 - i if i in (0, blocks - 1) else i + 1}")
    return "\n".join(lines) + "\n.export main() = main\n"


def _fallthrough_module() -> str:
    """A loop of tiny blocks entered by falling through: each is a jump target
    (an unreachable-looking conditional jump lands on every one)."""
    n = 200
    lines = [".func main()", ".locals I", "    CONST 0", "    JMPIF top"]
    lines += [f"    CONST 0\n    JMPIF f{i}" for i in range(n)]
    lines.append("top:")
    for i in range(n):
        lines.append(f"f{i}:")
        lines.append("    LOAD 0\n    POP")
    lines.append("    JMP top")
    return "\n".join(lines) + "\n.export main() = main\n"


# -- calls


CALLEE = """
.func ping()
    RET
.export ping() = ping
"""

REVERTER = """
.func fail()
    CONST "no"
    REVERT
.export fail() = fail
"""


def _xcall_module(import_: str, call: str) -> str:
    return loop_module(
        f"""    LOAD 2
    CONST 0
{call}
""",
        locals_="B",
        header=f".import {import_}",
        prelude="    CONST "
        + KEY0
        + "\n    SLOADB 0x0000000000000000000000000000000000000000\n    STORE 2\n",
    )


def _with_target(callee_text: str):
    def setup(node: Node, addr: bytes) -> None:
        target = node.deploy(callee_text)
        node.send(addr, "set_target", [target])

    return setup


def _xcall(engine: str, callee: str, import_: str, call: str) -> Prepared:
    text = _xcall_module(import_, call) + SET_TARGET
    return bounded(engine, text, _with_target(callee))


SET_TARGET = """
.func set_target(B)
    CONST 0x0000000000000000000000000000000000000000000000000000000000000000
    LOAD 0
    SSTOREB 0x0000000000000000000000000000000000000000
    RET
.export set_target(address) = set_target
"""


def _cold_modules(engine: str) -> Prepared:
    """Transactions that each call 8 different modules, on a node whose module
    cache holds one: every first use in a transaction loads the callee from
    the node's artifacts (the most a transaction can make a node load)."""
    count = 8
    node = Node(engine, cache_bytes=1)
    callees = []
    for i in range(count):
        # large modules (many functions and exports), each different
        funcs = "".join(
            f".func g{j}()\n    CONST {i * 1000 + j}\n    POP\n    RET\n" for j in range(200)
        )
        text = CALLEE + funcs + "".join(f".export g{j}() = g{j}\n" for j in range(200))
        callees.append(node.deploy(text))
    caller = loop_module(
        """    LOAD 1
    CONST 0x0000000000000000000000000000000000000000000000000000000000000001
    SWAP 1
    MKEY
    SLOADB 0x0000000000000000000000000000000000000000
    CONST 0
    XCALL ping
""",
        header=".import ping()",
        functions=""".func set(I B)
    CONST 0x0000000000000000000000000000000000000000000000000000000000000001
    LOAD 0
    MKEY
    LOAD 1
    SSTOREB 0x0000000000000000000000000000000000000000
    RET
.export set(u64,address) = set
""",
    )
    addr = node.deploy(caller)
    for i, c in enumerate(callees):
        node.send(addr, "set", [i, c])
    node.finish_setup()
    data = node.chain.encode_call(addr, "main", [count])
    per_tx = node.chain.call(addr, "main", [count], gas_limit=10**8).gas_used + 20_000
    nonce = node.chain.nonce(ATTACKER.address)
    txs = [
        Transaction(1, nonce + k, ATTACKER.public_key, addr, 0, per_tx + 50_000, 1, data).signed(
            ATTACKER
        )
        for k in range(max(1, TARGET_GAS // per_tx))
    ]
    return Prepared(node.chain, txs, node.directory, "success")


# -- storage


def _sstore_new(engine: str) -> Prepared:
    return bounded(
        engine,
        loop_module(
            """    CONST 0x0000000000000000000000000000000000000000000000000000000000000005
    LOAD 1
    MKEY
    CONST 1
    SSTORE
"""
        ),
    )


def _sstoreb_large(engine: str) -> Prepared:
    return bounded(
        engine,
        loop_module(
            """    CONST 0x0000000000000000000000000000000000000000000000000000000000000005
    LOAD 1
    MKEY
    LOAD 2
    SSTOREB 0x
""",
            locals_="B",
            prelude=_big_bytes_prelude(2, LIMITS.max_bytes_value),
        ),
    )


def _big_bytes_prelude(local: int, size: int, fill: str = "ab") -> str:
    """Build a byte value of ``size`` bytes (of byte ``fill``) into a local by doubling."""
    lines = ["    CONST 0x" + fill * 64, f"    STORE {local}"]
    length = 64
    while length * 2 <= size:
        lines += [f"    LOAD {local}", f"    LOAD {local}", "    CONCAT", f"    STORE {local}"]
        length *= 2
    return "\n".join(lines) + "\n"


def _sload_missing(engine: str) -> Prepared:
    return bounded(
        engine,
        loop_module(
            """    CONST 0x0000000000000000000000000000000000000000000000000000000000000009
    LOAD 1
    MKEY
    SLOAD
    POP
"""
        ),
    )


def _stored_values(count: int, size: int):
    def setup(node: Node, addr: bytes) -> None:
        node.send(addr, "fill", [count])

    return setup


FILL_BYTES = """
.func fill(I)
.locals I B
{prelude}top2:
    LOAD 1
    LOAD 0
    LT
    JMPIFNOT done2
    CONST 0x0000000000000000000000000000000000000000000000000000000000000007
    LOAD 1
    MKEY
    LOAD 2
    SSTOREB 0x
    LOAD 1
    CONST 1
    ADD u64
    STORE 1
    JMP top2
done2:
    RET
.export fill(u64) = fill
"""


def _sloadb_large(engine: str) -> Prepared:
    size = 16_384
    text = loop_module(
        """    CONST 0x0000000000000000000000000000000000000000000000000000000000000007
    LOAD 1
    CONST 8
    MOD u64
    MKEY
    SLOADB 0x
    POP
"""
    ) + FILL_BYTES.format(prelude=_big_bytes_prelude(2, size))
    return bounded(engine, text, _stored_values(8, size))


def _balance_cold(engine: str) -> Prepared:
    return bounded(
        engine,
        loop_module(
            """    LOAD 1
    I2B 20
    BALANCE
    POP
"""
        ),
    )


# -- signatures and oracle reports


def _ed25519(engine: str) -> Prepared:
    key = KeyPair.from_text("signer")
    msg = b"m" * 32
    sig = key.sign(msg)
    return bounded(
        engine,
        loop_module(
            f"""    CONST 0x{key.public_key.hex()}
    CONST 0x{msg.hex()}
    CONST 0x{sig.hex()}
    ED25519
    POP
"""
        ),
    )


def _oracle(engine: str) -> Prepared:
    """A report with the most signatures, checked again and again: after its
    first use the check still verifies every signature, then reverts as a
    reused report, which the caller's try-call absorbs."""
    keys = [KeyPair.from_text(f"oracle {i}") for i in range(LIMITS.max_oracle_signers)]
    blob = sign_report(500, b"d" * 32, list(enumerate(keys)))
    checker = f"""
.func check()
    CONST 0x{blob.hex()}
    CONST 0x{signer_set(keys).hex()}
    CONST {len(keys)}
    CONST 1000000
    ORACLE
    POP
    RET
.export check() = check
"""
    return _xcall(engine, checker, "check()", "    XCALL check try\n    POP")


# -- transactions, deployments, return data


def _signed_transfers(engine: str) -> Prepared:
    """The transaction envelope alone: signed value transfers of 1 unit to new
    accounts (signature check, nonce, fee, receipt), as many as TARGET_GAS buys."""
    node = Node(engine)
    node.finish_setup()
    count = 0
    txs = []
    nonce = node.chain.nonce(ATTACKER.address)
    gas = 0
    while gas < TARGET_GAS:
        to = hashlib.sha256(count.to_bytes(8, "big")).digest()[:20]
        tx = Transaction(1, nonce + count, ATTACKER.public_key, to, 1, 100_000, 1).signed(ATTACKER)
        txs.append(tx)
        gas += intrinsic_gas(tx)
        count += 1
    return Prepared(node.chain, txs, node.directory, "success")


def _reverting_calls(engine: str) -> Prepared:
    """Signed calls that revert at once: envelope, code load and the revert path."""
    node = Node(engine)
    addr = node.deploy(REVERTER)
    node.finish_setup()
    data = node.chain.encode_call(addr, "fail")
    nonce = node.chain.nonce(ATTACKER.address)
    txs = []
    gas = 0
    while gas < TARGET_GAS:
        tx = Transaction(1, nonce + len(txs), ATTACKER.public_key, addr, 0, 100_000, 1, data)
        txs.append(tx.signed(ATTACKER))
        gas += 20_000
    return Prepared(node.chain, txs, node.directory, "reverted")


def _dense_module(kind: str, size: int) -> bytes:
    """A module of about ``size`` bytes of the code that costs most to verify
    and translate per byte of its kind."""
    bodies = {
        "hash chain": ("    CONST 0x00\n", "    SHA256\n", "    POP\n", 1),
        "not chain": ("    CONST 1\n", "    NOT\n", "    POP\n", 1),
        "compare chain": ("    CONST 1\n", "    CONST 1\n    LT\n", "    POP\n", 4),
        "calls": ("", "    CALL f0\n", "", 3),
        "functions": ("", "", "", 0),
        "arithmetic": ("    CONST 1\n", "    CONST 1\n    ADD u256\n", "    POP\n", 5),
        "branches": ("", "    CONST 0\n    JMPIF L{i}\nL{i}:\n", "", 6),
        "stores": (
            "    CONST 0x" + "00" * 32 + "\n",
            "    DUP 0\n    CONST 1\n    SSTORE\n",
            "    POP\n",
            6,
        ),
    }
    head, unit, tail, unit_size = bodies[kind]
    if kind == "functions":  # the most functions (each with the most locals) in the size
        count = size // 290  # a function with 255 locals takes about 290 bytes
        per = "".join(
            f".func f{i}()\n.locals {' '.join('I' * 255)}\n    RET\n" for i in range(count)
        )
        return assemble(per + ".export f0() = f0\n").encode()
    if kind == "calls":  # one callee, called from long straight-line functions
        body = "".join(unit for _ in range(size // unit_size))
        return assemble(
            f".func f0()\n    RET\n.func f1()\n{body}    RET\n.export f1() = f1\n"
        ).encode()
    per_function = min(LIMITS.max_code_size, (LIMITS.max_blocks - 2) * unit_size) - 64
    functions = []
    total = 0
    f = 0
    while total < size:
        n = max(1, min(per_function, size - total) // unit_size)
        body = "".join(unit.format(i=i) for i in range(n))
        functions.append(f".func f{f}()\n{head}{body}{tail}    RET\n")
        total += n * unit_size
        f += 1
    text = "".join(functions) + ".export f0() = f0\n"
    return assemble(text).encode()


def _deploy(kind: str):
    def setup(engine: str) -> Prepared:
        node = Node(engine)
        node.finish_setup()
        module = _dense_module(kind, 20_000)
        tx = Transaction(
            1,
            node.chain.nonce(ATTACKER.address),
            ATTACKER.public_key,
            None,
            0,
            LIMITS.max_block_gas,
            1,
            deploy_data(module),
        ).signed(ATTACKER)
        return Prepared(node.chain, [tx], node.directory, "success")

    return setup


RETURNER = """
.func big() -> B
.locals B
{prelude}    LOAD 0
    RET
.export big() -> bytes[65536] = big
"""


def _return_data(engine: str) -> Prepared:
    """Transactions returning the largest byte value (kept in their receipts)."""
    node = Node(engine)
    addr = node.deploy(RETURNER.format(prelude=_big_bytes_prelude(0, LIMITS.max_bytes_value)))
    node.finish_setup()
    data = node.chain.encode_call(addr, "big")
    nonce = node.chain.nonce(ATTACKER.address)
    txs = []
    gas = 0
    while gas < TARGET_GAS:
        txs.append(
            Transaction(
                1, nonce + len(txs), ATTACKER.public_key, addr, 0, 2_000_000, 1, data
            ).signed(ATTACKER)
        )
        gas += 560_000
    return Prepared(node.chain, txs, node.directory, "success")


STRING_SINK = """
.func take(B)
    RET
.export take(string[65536]) = take
"""


def _big_arguments(engine: str) -> Prepared:
    """XCALLs passing a 64 KiB string (checked as UTF-8 at the boundary)."""
    text = _xcall_module("take(string[65536])", "    LOAD 3\n    XCALL take").replace(
        ".locals I B", ".locals I B B"
    )
    text = text.replace(
        "top:",
        _big_bytes_prelude(3, LIMITS.max_bytes_value, fill="61") + "top:",
        1,
    )
    return bounded(engine, text + SET_TARGET, _with_target(STRING_SINK))


ATTACKS: list[Attack] = [
    Attack("plain loop", "the denominator: checked arithmetic in a loop", _plain),
    loop_attack("jump to self", "JMP, one block", ""),
    Attack(
        "jump across dispatch",
        f"JMP between the farthest of {LIMITS.max_blocks - 8} blocks",
        lambda e: unbounded(e, _pingpong_module()),
    ),
    Attack(
        "fall-through targets",
        "tiny jump-target blocks entered by falling through",
        lambda e: unbounded(e, _fallthrough_module()),
    ),
    loop_attack("const/pop", "CONST, POP", repeat("    CONST 1\n    POP\n", 32)),
    loop_attack(
        "dup/swap/pop",
        "DUP, SWAP, POP",
        "    LOAD 0\n" + repeat("    DUP 0\n    SWAP 1\n    POP\n", 32) + "    POP\n",
    ),
    loop_attack(
        "load/store",
        "LOAD, STORE",
        repeat("    LOAD 0\n    STORE 1\n", 32),
        locals_="I",
    ),
    loop_attack(
        "mul u256",
        "MUL of 128-bit values",
        "    CONST 340282366920938463463374607431768211455\n    STORE 1\n"
        + repeat("    LOAD 1\n    LOAD 1\n    MUL u256\n    POP\n", 32),
        locals_="I",
    ),
    loop_attack(
        "signed div/mod",
        "DIV, MOD i256 of negative values (helper path)",
        "    CONST -57896044618658097711785492504343953926634992332820282019728792003956564819967\n    STORE 1\n"
        + repeat(
            "    LOAD 1\n    CONST 3\n    DIV i256\n    POP\n    LOAD 1\n    CONST 7\n    MOD i256\n    POP\n",
            16,
        ),
        locals_="I",
    ),
    loop_attack(
        "exp u256",
        "EXP with the largest result that fits",
        repeat("    CONST 3\n    CONST 161\n    EXP u256\n    POP\n", 32),
    ),
    loop_attack(
        "shifts",
        "SHL, SHR u256 by 255",
        repeat(
            "    CONST 1\n    CONST 255\n    SHL u256\n    CONST 255\n    SHR u256\n    POP\n", 16
        ),
    ),
    loop_attack(
        "compare/store",
        "LT of 256-bit values kept in a local",
        "    CONST 115792089237316195423570985008687907853269984665640564039457584007913129639935\n    STORE 1\n"
        + repeat("    LOAD 1\n    LOAD 1\n    LT\n    STORE 2\n", 32),
        locals_="I I",
    ),
    loop_attack(
        "cast/neg/bnot",
        "CAST, NEG, BNOT",
        repeat("    CONST 5\n    NEG i256\n    CAST i8\n    BNOT i256\n    POP\n", 32),
    ),
    loop_attack(
        "min/max",
        "MIN, MAX",
        repeat("    CONST 5\n    CONST 6\n    MIN\n    CONST 7\n    MAX\n    POP\n", 32),
    ),
    loop_attack(
        "byte ops",
        "LEN, BYTEAT, B2I, I2B",
        repeat(
            "    CONST 0x0102\n    DUP 0\n    LEN\n    POP\n    CONST 1\n    BYTEAT\n    I2B 1\n    B2I u8\n    POP\n",
            16,
        ),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "concat small",
        "CONCAT of 1-byte values",
        repeat("    CONST 0x01\n    CONST 0x02\n    CONCAT\n    POP\n", 32),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "slice",
        "SLICE of 1 byte",
        repeat("    CONST 0x010203\n    CONST 1\n    CONST 1\n    SLICE\n    POP\n", 32),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "sha256 empty",
        "SHA256 of nothing",
        repeat("    CONST 0x\n    SHA256\n    POP\n", 32),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "keccak256 empty",
        "KECCAK256 of nothing",
        repeat("    CONST 0x\n    KECCAK256\n    POP\n", 32),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "sha256 4 KiB",
        "SHA256 of 4,096 bytes",
        "    LOAD 1\n    SHA256\n    POP\n",
        locals_="B",
        prelude=_big_bytes_prelude(1, 4096),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "keccak256 4 KiB",
        "KECCAK256 of 4,096 bytes",
        "    LOAD 1\n    KECCAK256\n    POP\n",
        locals_="B",
        prelude=_big_bytes_prelude(1, 4096),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "mkey",
        "MKEY of an integer key",
        repeat(f"    CONST {KEY0}\n    CONST 5\n    MKEY\n    POP\n", 32),
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "native entries",
        "CALL of a function with a loop that does not turn (native entry per call on jit)",
        repeat("    CONST 0\n    CALL spin\n    POP\n", 8),
        functions=SPIN,
    ),
    Attack("ed25519", "ED25519 of a valid signature", _ed25519),
    Attack("oracle 16 signers", "ORACLE with 16 signatures", _oracle),
    loop_attack(
        "env reads",
        "CALLER, HEIGHT, TIMESTAMP, CALLVALUE, CHAINID kept in locals",
        repeat(
            "    CALLER\n    STORE 1\n    HEIGHT\n    STORE 2\n    TIMESTAMP\n    STORE 2\n"
            "    CALLVALUE\n    STORE 2\n    CHAINID\n    STORE 2\n",
            8,
        ),
        locals_="B I",
    ),
    loop_attack("selfbalance", "SELFBALANCE", repeat("    SELFBALANCE\n    POP\n", 32)),
    Attack("balance cold", "BALANCE of a new address each time", _balance_cold),
    Attack("sload missing", "SLOAD of keys never written", _sload_missing),
    Attack("sloadb 16 KiB", "SLOADB of 16 KiB values", _sloadb_large),
    Attack("sstore new slots", "SSTORE creating slots (committed)", _sstore_new),
    Attack("sstoreb 64 KiB", "SSTOREB of 64 KiB values (committed)", _sstoreb_large),
    loop_attack(
        "emit",
        "EMIT of an event with 16 fields",
        "    CONST 1\n" * 16 + "    EMIT E\n",
        header=".event E(" + ", ".join(f"f{i}: u256" for i in range(16)) + ")",
        notes="the transaction memory cap stops it before its gas runs out",
    ),
    loop_attack(
        "call internal",
        "CALL of an empty function",
        repeat("    CALL nop\n", 32),
        functions=".func nop()\n    RET\n",
    ),
    Attack(
        "xcall",
        "XCALL of an empty export",
        lambda e: _xcall(e, CALLEE, "ping()", "    XCALL ping"),
    ),
    Attack(
        "xcall reverting",
        "XCALL (try) of an export that reverts",
        lambda e: _xcall(e, REVERTER, "fail()", "    XCALL fail try\n    POP"),
    ),
    Attack("xcall cold modules", "XCALL missing the module cache every time", _cold_modules),
    Attack(
        "signed transfers",
        "the transaction envelope: signature, nonce, fee, receipt",
        _signed_transfers,
    ),
    Attack("reverting calls", "signed calls that revert at once", _reverting_calls),
    Attack("return data", "transactions returning 64 KiB", _return_data),
    Attack("xcall 64 KiB argument", "XCALL with a 64 KiB string argument", _big_arguments),
    *(
        Attack(f"deploy {kind}", f"verifying and translating 20 kB of {kind}", _deploy(kind))
        for kind in (
            "hash chain",
            "not chain",
            "compare chain",
            "arithmetic",
            "branches",
            "stores",
            "calls",
            "functions",
        )
    ),
    loop_attack(
        "docholder",
        "DOCHOLDER of unknown documents",
        repeat(f"    CONST {KEY0}\n    DOCHOLDER\n    POP\n", 16),
    ),
]

BY_NAME = {a.name: a for a in ATTACKS}


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Measurement:
    attack: str
    engine: str
    gas: int
    seconds: float
    status: str

    @property
    def ns_per_gas(self) -> float:
        return self.seconds * 1e9 / max(1, self.gas)


def run_once(prepared: Prepared) -> tuple[float, int, str]:
    """Apply the attack's transactions in a new block and commit it; time both."""
    chain = prepared.chain
    start = time.perf_counter()
    block = chain.begin_block(chain.head.timestamp + 10)
    receipts = [block.apply(tx) for tx in prepared.txs]
    block.commit()
    seconds = time.perf_counter() - start
    for r in receipts:
        if prepared.expect != "any" and r.status != prepared.expect:
            raise AssertionError(f"expected {prepared.expect}, got {r.status}: {r.revert_reason}")
    return seconds, sum(r.gas_used for r in receipts), receipts[-1].status


def measure(attack: Attack, engine: str, rounds: int = 3) -> Measurement:
    """Median over fresh nodes (every round starts from the same state)."""
    samples = []
    for _ in range(rounds):
        prepared = attack.setup(engine)
        samples.append(run_once(prepared))
        prepared.directory.cleanup()
    samples.sort()
    seconds, gas, status = samples[len(samples) // 2]
    return Measurement(attack.name, engine, gas, seconds, status)


__all__ = ["ATTACKS", "Attack", "BY_NAME", "Measurement", "measure", "run_once", "TARGET_GAS"]
