"""Values beyond scalars (issue 10 item 2): struct values, lists of structs
that push and pop, tuple returns, list values as parameters. Each contract
is deployed and called; each new error has its code, message and position."""

import hashlib
import re
from pathlib import Path

import pytest
from support import Harness

from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source

SHOP = """
contract Shop:
    struct Inner:
        a: u64
        b: bool

    struct Order:
        buyer: address
        amount: uint
        paid: bool
        inner: Inner

    struct Item:
        id: uint
        owner: address

    orders: map[uint, Order]
    items: list[Item, 3]
    last: uint
    flag: bool

    pub put(id: uint, o: Order):
        self.orders[id] = o

    @view
    pub get(id: uint) -> Order:
        o: Order = self.orders[id]
        o.amount += 1
        o.inner.a = 7
        return o

    @view
    pub field(id: uint) -> u64:
        return self.orders[id].inner.a

    pub make(a: address, n: uint) -> Order:
        o: Order = Order(buyer=a, amount=n, paid=False, inner=Inner(a=1, b=True))
        return self.doubled(o)

    doubled(o: Order) -> Order:
        o.amount = o.amount * 2
        return o

    pub swap_fields(id: uint):
        o: Order = self.orders[id]
        o.inner = Inner(a=o.inner.a + 1, b=not o.inner.b)
        self.orders[id] = o

    pub add(id: uint, owner: address):
        self.items.push(Item(id=id, owner=owner))

    pub remove() -> Item:
        return self.items.pop()

    pub drop():
        self.items.pop()

    @view
    pub sum_ids() -> uint:
        total: uint = 0
        for it in self.items:
            total += it.id
        return total

    @view
    pub item(i: uint) -> Item:
        return self.items[i]

    pub pair(x: uint, y: bool) -> (bool, uint):
        return y, x

    split(o: Order) -> (uint, Inner):
        return o.amount, o.inner

    pub use(id: uint) -> uint:
        a: bool, b: uint = self.pair(3, True)
        a, self.last = self.pair(4, False)
        self.flag = a
        n: uint, inner: Inner = self.split(self.orders[id])
        return b + self.last + n + inner.a

    @view
    pub zero() -> Order:
        return empty(Order)
"""


@pytest.fixture(scope="module")
def shop():
    h = Harness()
    out = compile_source(SHOP)
    return h, h.deployed(out.module), out


def test_a_public_function_takes_and_returns_a_struct(shop):
    h, c, _ = shop
    bob = h.addr("bob")
    r = h.send("alice", c, "put", [5, bob, 10, True, 3, False])  # the struct, field by field
    assert r.success, r.revert_reason
    assert h.call(c, "get", [5]).return_values == (bob, 11, True, 7, False)
    assert h.call(c, "field", [5]).return_values == (3,)


def test_construction_and_internal_struct_parameters(shop):
    h, c, _ = shop
    carol = h.addr("carol")
    assert h.call(c, "make", [carol, 4]).return_values == (carol, 8, False, 1, True)
    assert h.call(c, "zero").return_values == (bytes(20), 0, False, 0, False)


def test_a_whole_nested_struct_is_assigned_from_its_old_value(shop):
    h, c, _ = shop
    bob = h.addr("bob")
    assert h.send("alice", c, "put", [6, bob, 1, False, 10, True]).success
    assert h.send("alice", c, "swap_fields", [6]).success
    assert h.call(c, "get", [6]).return_values == (bob, 2, False, 7, False)
    assert h.call(c, "field", [6]).return_values == (11,)


def test_a_list_of_structs_pushes_pops_and_loops(shop):
    h, c, _ = shop
    bob, carol = h.addr("bob"), h.addr("carol")
    assert h.send("alice", c, "add", [1, bob]).success
    assert h.send("alice", c, "add", [20, carol]).success
    assert h.call(c, "sum_ids").return_values == (21,)
    assert h.call(c, "item", [1]).return_values == (20, carol)
    r = h.send("alice", c, "remove")
    assert r.success and r.return_values == (20, carol)
    assert h.call(c, "sum_ids").return_values == (1,)
    assert not h.call(c, "item", [1]).return_values  # out of range: reverts
    assert h.send("alice", c, "add", [2, bob]).success
    assert h.send("alice", c, "add", [3, bob]).success
    full = h.send("alice", c, "add", [4, bob])
    assert not full.success and full.revert_reason == "list is full"
    assert h.send("alice", c, "drop").success
    assert h.call(c, "sum_ids").return_values == (3,)
    assert h.send("alice", c, "drop").success
    assert h.send("alice", c, "drop").success
    empty = h.send("alice", c, "drop")
    assert not empty.success and empty.revert_reason == "list is empty"


def test_a_tuple_return_is_destructured_by_the_caller(shop):
    h, c, _ = shop
    bob = h.addr("bob")
    assert h.call(c, "pair", [9, True]).return_values == (True, 9)
    assert h.send("alice", c, "put", [8, bob, 5, False, 6, False]).success
    r = h.send("alice", c, "use", [8])
    assert r.success, r.revert_reason
    assert r.return_values == (3 + 4 + 5 + 6,)


def test_the_abi_groups_struct_and_tuple_values(shop):
    _, _, out = shop
    fns = {f["name"]: f for f in out.abi["functions"]}
    put = fns["put"]
    assert put["inputs"][1]["type"] == "Order"
    assert put["inputs"][1]["kind"] == "struct"
    assert [p["name"] for p in put["inputs"][1]["components"]] == [
        "buyer",
        "amount",
        "paid",
        "inner",
    ]
    assert put["inputs"][1]["components"][3]["components"][0] == {"name": "a", "type": "u64"}
    assert put["vm_inputs"] == ["u256", "address", "u256", "bool", "u64", "bool"]
    export = next(e for e in out.module.exports if e.name == "put")
    assert put["selector"] == export.selector.hex()
    assert [str(t) for t in export.params] == put["vm_inputs"]
    pair = fns["pair"]
    assert [o["type"] for o in pair["outputs"]] == ["bool", "u256"]
    assert pair["vm_outputs"] == ["bool", "u256"]
    assert fns["get"]["vm_outputs"] == ["address", "u256", "bool", "u64", "bool"]


def test_enum_fields_of_a_struct_argument_are_checked():
    src = """
contract C:
    enum Colour:
        Red
        Blue
    struct Paint:
        colour: Colour
        litres: uint
    last: uint
    pub mix(p: Paint) -> uint:
        self.last = p.litres
        return uint(p.colour)
"""
    h = Harness()
    c = h.deployed(compile_source(src).module)
    assert h.send("alice", c, "mix", [1, 5]).return_values == (1,)
    bad = h.send("alice", c, "mix", [2, 5])
    assert not bad.success and bad.revert_reason == "p.colour is not a Colour"


HEAD = """contract C:
    struct P:
        x: uint
        y: bool
    struct M:
        owner: address
        bal: map[address, uint]
    struct Big:
        a: uint
        b: uint
        c: uint
        d: uint
        e: uint
        f: uint
        g: uint
        h: uint
        i: uint
    ms: map[uint, M]
    pl: list[P, 3]
    ml: list[M, 3]
    nums: list[uint, 3]
"""
LINE = HEAD.count("\n") + 1  # the first line of a case's body

ERRORS = [
    # name, body, code, line offset, column, message fragment
    (
        "map field param",
        "pub f(m: M):\n    pass",
        "E0208",
        0,
        14,
        "its field bal lives only in storage",
    ),
    (
        "map field ctor",
        "pub f():\n    x: address = M(owner=msg.sender).owner",
        "E0208",
        1,
        22,
        "M cannot be a value",
    ),
    ("map field local", "pub f():\n    m: M = self.ms[1]", "E0208", 1, 12, "M cannot be a value"),
    (
        "tuple local",
        "pub f():\n    t: (uint, bool) = self.g()\ng() -> (uint, bool):\n    return 1, True",
        "E0208",
        1,
        12,
        "a tuple is only a return type",
    ),
    ("struct in event", "event E(p: P)", "E0208", 0, 16, "the struct P cannot be used here"),
    (
        "compare",
        "pub f() -> bool:\n    a: P = P(1, True)\n    return a == a",
        "E0202",
        2,
        16,
        "cannot compare P",
    ),
    (
        "hash",
        "pub f() -> bytes32:\n    return sha256(P(1, True))",
        "E0202",
        1,
        23,
        "sha256 takes bytes",
    ),
    ("map key", "m2: map[P, uint]", "E0209", 0, 13, "a map key cannot be P"),
    (
        "targets",
        "pub f():\n    a: uint, b: bool, c: uint = self.g()\ng() -> (uint, bool):\n    return 1, True",
        "E0201",
        1,
        9,
        "3 targets for 2 values",
    ),
    (
        "not a tuple",
        "pub f():\n    a: uint, b: bool = self.g()\ng() -> uint:\n    return 1",
        "E0201",
        1,
        28,
        "only a call that returns several values",
    ),
    (
        "return count",
        "g() -> (uint, bool):\n    return 1, True, 3",
        "E0201",
        1,
        16,
        "g returns 2 values, found 3",
    ),
    (
        "return tuple",
        "g() -> uint:\n    return 1, 2",
        "E0201",
        1,
        16,
        "g returns one u256, not 2 values",
    ),
    (
        "element type",
        "pub f():\n    a: bool, b: bool = self.g()\ng() -> (uint, bool):\n    return 1, True",
        "E0201",
        1,
        9,
        "this target is a bool; the call gives a u256",
    ),
    ("missing field", "pub f():\n    p: P = P(x=1)", "E0204", 1, 16, "struct P: missing y"),
    (
        "unknown field",
        "pub f():\n    p: P = P(x=1, y=True, z=3)",
        "E0204",
        1,
        31,
        "struct P has no field z",
    ),
    (
        "loop variable",
        "pub f():\n    for p in self.pl:\n        p.x = 1",
        "E0207",
        2,
        13,
        "the loop variable p cannot be assigned",
    ),
    (
        "whole M",
        "pub f():\n    self.ms[1] = self.ms[2]",
        "E0207",
        1,
        9,
        "a whole M cannot be assigned",
    ),
    (
        "pop M",
        "pub f():\n    self.ml.pop()",
        "E0202",
        1,
        9,
        "pop works on lists of values, not of M",
    ),
    ("returns", "pub f() -> Big:\n    return empty(Big)", "E0410", 0, 16, "f returns 9 values"),
    ("params", "pub f(a: Big, b: Big):\n    pass", "E0410", 0, 19, "f has 18 parameter values"),
    (
        "locals",
        "pub f():\n" + "".join(f"    b{i}: Big = empty(Big)\n" for i in range(30)),
        "E0408",
        29,
        9,
        "(270 VM locals",
    ),
]


def _body(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.splitlines())


@pytest.mark.parametrize(
    ("name", "body", "code", "line", "column", "message"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_errors(name, body, code, line, column, message):
    with pytest.raises(CompileError) as info:
        _ = compile_source(HEAD + _body(body)).module
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.column) == (code, LINE + line, column), d.message
    assert message in d.message


# --------------------------------------------------------------------------- list values

PAYROLL = """
contract Payroll:
    paid: map[address, uint]
    count: uint

    pub pay(to: list[address, 50], amounts: list[uint, 50]):
        require(len(to) == len(amounts), "lengths differ")
        for i in range(len(to), max=50):
            self.paid[to[i]] += amounts[i]
        self.count += len(to)

    @view
    pub owed(who: address) -> uint:
        return self.paid[who]

    @view
    pub total(xs: list[u64, 10], flags: list[bool, 10]) -> uint:
        t: uint = 0
        for x in xs:
            t += x
        for f in flags:
            if f:
                t += 1000
        return t

    @view
    pub at(xs: list[i16, 5], i: uint) -> i16:
        return xs[i]

    @view
    pub echo(xs: list[bytes4, 3]) -> list[bytes4, 3]:
        ys: list[bytes4, 3] = xs
        return self.same(ys)

    same(xs: list[bytes4, 3]) -> list[bytes4, 3]:
        return xs
"""


def _u(values, width, signed=False) -> bytes:
    return b"".join(v.to_bytes(width, "big", signed=signed) for v in values)


@pytest.fixture(scope="module")
def payroll():
    h = Harness()
    out = compile_source(PAYROLL)
    return h, h.deployed(out.module), out


def test_a_payroll_of_40_is_one_transaction(payroll):
    h, c, _ = payroll
    people = [bytes([i + 1]) * 20 for i in range(40)]
    amounts = [1_000 + i for i in range(40)]
    r = h.send("alice", c, "pay", [b"".join(people), _u(amounts, 32)])
    assert r.success, r.revert_reason
    assert all(
        h.call(c, "owed", [p]).return_values == (a,) for p, a in zip(people, amounts, strict=True)
    )
    bad = h.send("alice", c, "pay", [b"".join(people[:2]), _u(amounts[:3], 32)])
    assert not bad.success and bad.revert_reason == "lengths differ"


def test_list_values_read_loop_and_check_their_length(payroll):
    h, c, _ = payroll
    assert h.call(c, "total", [_u([1, 2, 3], 8), bytes([0, 1, 2])]).return_values == (2006,)
    assert h.call(c, "at", [_u([-5, 7], 2, signed=True), 0]).return_values == (-5,)
    assert h.call(c, "at", [_u([-5, 7], 2, signed=True), 1]).return_values == (7,)
    out = h.call(c, "at", [_u([-5, 7], 2, signed=True), 2])
    assert out.revert_reason == "index out of range"
    assert h.call(c, "echo", [b"abcdefgh"]).return_values == (b"abcdefgh",)
    torn = h.call(c, "total", [b"abc", b""])  # not a whole number of u64s
    assert torn.revert_reason == "xs is not a list[u64, 10]"


def test_the_abi_describes_list_values(payroll):
    _, _, out = payroll
    pay = next(f for f in out.abi["functions"] if f["name"] == "pay")
    assert pay["inputs"][0] == {
        "name": "to",
        "type": "bytes[1000]",
        "deed_type": "list[address, 50]",
        "kind": "list",
        "element": {"name": "", "type": "address"},
        "capacity": 50,
    }
    assert pay["selector"] == next(e for e in out.module.exports if e.name == "pay").selector.hex()


def test_the_gas_bound_covers_a_full_payroll(payroll):
    from deed.analyzer.context import Context
    from deed.analyzer.gas import GasAnalysis
    from deed.vm.chain import intrinsic_gas

    h, c, out = payroll
    bound = GasAnalysis(Context(out)).all()["pay"].bound
    people = [bytes([i + 100]) * 20 for i in range(50)]
    export = next(e for e in out.module.exports if e.name == "pay")
    data = h.chain.encode_call(c, "pay", [b"".join(people), _u([7] * 50, 32)])
    tx = h.tx("alice", c, data, 0, 10_000_000)
    r = h.block.apply(tx)
    assert r.success, r.revert_reason
    assert r.gas_used - intrinsic_gas(tx) <= bound
    assert export.params[0].param == 1000


LIST_ERRORS = [
    (
        "struct elements",
        "pub f(x: list[P, 3]):\n    pass",
        "E0208",
        0,
        14,
        "a list value holds integers",
    ),
    (
        "storage to value",
        "pub f():\n    v: list[uint, 3] = self.nums",
        "E0207",
        1,
        28,
        "cannot be copied into a list value",
    ),
    (
        "storage as argument",
        "pub f():\n    self.g(self.nums)\ng(v: list[uint, 3]):\n    pass",
        "E0207",
        1,
        16,
        "cannot be copied",
    ),
    (
        "push on a value not in a local",
        "pub f():\n    self.g().push(1)\ng() -> list[uint, 3]:\n    return []",
        "E0202",
        1,
        9,
        "a list value cannot grow",
    ),
    (
        "assign a loop variable",
        "pub f(v: list[uint, 3]):\n    for x in v:\n        x = 1",
        "E0207",
        2,
        13,
        "the loop variable x cannot be assigned",
    ),
    (
        "literal too long",
        "pub f():\n    v: list[uint, 2] = [1, 2, 3]",
        "E0204",
        1,
        28,
        "list[u256, 2] holds at most 2 elements, the literal has 3",
    ),
    (
        "literal element type",
        "pub f(a: address):\n    v: list[uint, 2] = [1, a]",
        "E0201",
        1,
        32,
        "expected u256, found address",
    ),
    (
        "literal with no context",
        "pub f() -> bool:\n    return len([1, 2]) == 2",
        "E0201",
        1,
        20,
        "a list literal needs its type from where it is used",
    ),
    (
        "literal as a scalar",
        "pub f():\n    v: uint = [1]",
        "E0201",
        1,
        19,
        "expected u256, found a list literal",
    ),
    (
        "too large",
        "pub f(v: list[uint, 3000]):\n    pass",
        "E0208",
        0,
        14,
        "a list value holds at most 65,536",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "code", "line", "column", "message"),
    LIST_ERRORS,
    ids=[e[0] for e in LIST_ERRORS],
)
def test_list_value_errors(name, body, code, line, column, message):
    test_errors(name, body, code, line, column, message)


# --------------------------------------------------------------------------- the command line


def test_the_cli_groups_struct_and_list_arguments_with_the_abi(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from deed.cli.main import main

    monkeypatch.chdir(tmp_path)

    def run(*args):
        r = CliRunner().invoke(main, [str(a) for a in args])
        return r

    (tmp_path / "shop.deed").write_text(SHOP)
    (tmp_path / "pay.deed").write_text(PAYROLL)
    assert run("keys", "new", "alice").exit_code == 0
    assert run("keys", "new", "bob").exit_code == 0
    assert run("chain", "init").exit_code == 0
    assert run("compile", "shop.deed").exit_code == 0
    assert run("compile", "pay.deed").exit_code == 0
    import json

    shop = json.loads(run("deploy", "shop.deedc", "--from", "alice", "--json").output)
    addr = shop["contract_address"]
    order = '{"buyer": "@bob", "amount": 10, "paid": true, "inner": {"a": 3, "b": false}}'
    r = run("send", addr, "put", "5", order, "--from", "alice", "--abi", "shop.abi.json")
    assert r.exit_code == 0, r.output
    r = run(
        "send",
        addr,
        "put",
        "6",
        "(@bob, 1, false, (2, true))",
        "--from",
        "alice",
        "--abi",
        "shop.abi.json",
    )
    assert r.exit_code == 0, r.output
    r = run("call", addr, "get", "5", "--abi", "shop.abi.json")
    assert r.exit_code == 0 and r.output.startswith("Order(buyer=0x")
    assert "amount=11, paid=true, inner=Inner(a=7, b=false))" in r.output
    r = run("call", addr, "get", "6", "--abi", "shop.abi.json", "--json")
    assert json.loads(r.output)["return_values"][0]["inner"] == {"a": 7, "b": True}
    r = run("call", addr, "get", "6")  # deploy kept the ABI: grouped without --abi
    assert r.exit_code == 0 and r.output.startswith("Order(buyer=0x"), r.output
    r = run("send", addr, "put", "8", "@bob", "1", "false", "2", "true", "--from", "alice")
    assert r.exit_code == 0, r.output  # the flat VM values still work
    assert "inner=Inner(a=7, b=true)" in run("call", addr, "get", "8").output
    (tmp_path / "shop.abi.json").unlink()  # a module with no ABI: flat, as before
    bare = json.loads(run("deploy", "shop.deedc", "--from", "alice", "--json").output)
    r = run("call", bare["contract_address"], "get", "6")
    assert r.exit_code == 0 and r.output.splitlines()[1:] == ["1", "false", "7", "false"]
    r = run("send", addr, "put", "7", '{"buyer": "@bob"}', "--from", "alice")
    assert r.exit_code == 2 and "missing: amount, paid, inner" in r.output
    pay = json.loads(run("deploy", "pay.deedc", "--from", "alice", "--json").output)
    addr = pay["contract_address"]
    r = run(
        "send",
        addr,
        "pay",
        '["@bob", "@alice"]',
        "[5, 7]",
        "--from",
        "alice",
        "--abi",
        "pay.abi.json",
    )
    assert r.exit_code == 0, r.output
    r = run("call", addr, "owed", "@bob", "--abi", "pay.abi.json")
    assert r.output.strip() == "5"
    r = run("call", addr, "echo", '["0x01020304", "abcd"]', "--abi", "pay.abi.json")
    assert r.output.strip() == "[0x01020304, 0x61626364]"
    r = run("call", addr, "total", "[1,2,3,4,5,6,7,8,9,10,11]", "[]", "--abi", "pay.abi.json")
    assert r.exit_code == 2 and "holds at most 10" in r.output


# --------------------------------------------------------------------------- the spec's examples

SPEC = Path(__file__).parent.parent / "spec" / "language.md"


def spec_example(contract: str) -> str:
    """The example of spec/language.md, section "Values beyond scalars", declaring ``contract``."""
    text = SPEC.read_text().split("### Values beyond scalars")[1].split("## 3. Declarations")[0]
    blocks = re.findall(r"```deed\n(.*?)```", text, re.S)
    return next(b for b in blocks if f"contract {contract}:" in b)


def test_spec_struct_values_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Orders")).module)
    bob = h.addr("bob")
    assert h.send("alice", c, "place", [1, bob, 5, False]).success
    assert h.send("alice", c, "bump", [1]).return_values == (6,)
    assert h.call(c, "get", [1]).return_values == (bob, 6, False)
    assert h.send("bob", c, "open", [2, 9]).success
    assert h.call(c, "get", [2]).return_values == (bob, 9, False)
    out = compile_source(spec_example("Orders"))
    place = next(f for f in out.abi["functions"] if f["name"] == "place")
    assert place["selector"] == hashlib.sha256(b"place(u256,address,u256,bool)").digest()[:4].hex()


def test_spec_queue_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Queue")).module)
    assert h.send("alice", c, "add", [4]).success
    assert h.send("bob", c, "add", [5]).success
    assert h.call(c, "total").return_values == (9,)
    assert h.send("alice", c, "take").return_values == (5, h.addr("bob"))
    assert h.call(c, "total").return_values == (4,)


def test_spec_split_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Split")).module)
    # 100 = 14 * 7 + 2; 14 = 4 * 3 + 2: q = 4, r = 2
    assert h.send("alice", c, "run", [100]).return_values == (6, False)
    assert h.send("alice", c, "run", [21]).return_values == (1, True)


def test_spec_payroll_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Payroll")).module)
    people = [bytes([i + 1]) * 20 for i in range(40)]
    r = h.send("alice", c, "pay", [b"".join(people), _u(range(1, 41), 32)])
    assert r.success, r.revert_reason


def test_spec_list_encoding_example():
    """``list[u64, 3]`` holding 1, 2 is 0x0000000000000001 0000000000000002."""
    from deed.cli.abis import encode_element
    from deed.vm.types import U64

    assert encode_element(U64, 1) + encode_element(U64, 2) == bytes.fromhex(
        "0000000000000001" + "0000000000000002"
    )


# --------------------------------------------------------------------------- array values

ARRAYS = """
contract A:
    pub sum(xs: u64[3]) -> uint:
        t: uint = 0
        for x in xs:
            t += x
        return t + len(xs)

    @view
    pub pick(xs: address[2], i: uint) -> address:
        return xs[i]

    @view
    pub back(xs: bool[4]) -> bool[4]:
        return xs
"""


def test_fixed_array_values():
    h = Harness()
    out = compile_source(ARRAYS)
    c = h.deployed(out.module)
    assert h.send("alice", c, "sum", [_u([1, 2, 3], 8)]).return_values == (9,)
    short = h.send("alice", c, "sum", [_u([1, 2], 8)])
    assert short.revert_reason == "xs is not a u64[3]"
    bob, carol = h.addr("bob"), h.addr("carol")
    assert h.call(c, "pick", [bob + carol, 1]).return_values == (carol,)
    assert h.call(c, "pick", [bob + carol, 2]).revert_reason == "index out of range"
    assert h.call(c, "back", [bytes([1, 0, 0, 1])]).return_values == (bytes([1, 0, 0, 1]),)
    sum_abi = next(f for f in out.abi["functions"] if f["name"] == "sum")
    assert sum_abi["inputs"][0]["kind"] == "array" and sum_abi["inputs"][0]["size"] == 3
    assert sum_abi["inputs"][0]["type"] == "bytes[24]"


ARRAY_ERRORS = [
    ("array of structs", "pub f(x: P[3]):\n    pass", "E0208", 0, 14, "an array value holds"),
    (
        "storage array",
        "arr: u8[3]\npub f():\n    v: u8[3] = self.arr",
        "E0207",
        2,
        20,
        "into an array value",
    ),
    (
        "literal too short",
        "pub f():\n    v: u8[3] = [1, 2]",
        "E0204",
        1,
        20,
        "u8[3] has 3 elements, the literal has 2",
    ),
    (
        "literal element too large",
        "pub f() -> u8[2]:\n    return [1, 256]",
        "E0206",
        1,
        20,
        "256 does not fit u8",
    ),
    (
        "argument too long",
        "pub f():\n    self.g([1, 2, 3])\ng(v: u8[2]):\n    pass",
        "E0204",
        1,
        16,
        "u8[2] has 2 elements, the literal has 3",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "code", "line", "column", "message"),
    ARRAY_ERRORS,
    ids=[e[0] for e in ARRAY_ERRORS],
)
def test_array_value_errors(name, body, code, line, column, message):
    test_errors(name, body, code, line, column, message)


# --------------------------------------------------------------------------- literals and writes

LOCAL_ARRAYS = """
contract Local:
    owner: address

    init():
        self.owner = msg.sender

    @view
    pub sum3() -> uint:
        xs: u64[3] = [1, 2, 3]
        t: uint = 0
        for x in xs:
            t += x
        return t

    @view
    pub literal(a: u64) -> list[u64, 4]:
        return [a, 2, a + 1]

    @view
    pub constant() -> i16[3]:
        return [-1, 2, -300]

    @view
    pub passed(n: uint) -> uint:
        return self.total([n, 5, n * 2]) + self.total([])

    total(xs: list[uint, 10]) -> uint:
        t: uint = 0
        for x in xs:
            t += x
        return t

    @view
    pub write(i: uint, v: i16) -> i16[3]:
        xs: i16[3] = [1, -2, 3]
        xs[i] = v
        xs[0] += 10
        return xs

    @view
    pub swap(xs: u32[4], i: uint, j: uint) -> u32[4]:
        t: u32 = xs[i]
        xs[i] = xs[j]
        xs[j] = t
        return xs

    @view
    pub who(a: address) -> address[2]:
        xs: address[2] = [a, a]
        xs[1] = self.owner
        return xs

    @view
    pub flags(f: bool) -> bool[3]:
        xs: bool[3] = [f, True, False]
        xs[2] = not xs[0]
        return xs

    @view
    pub stack(n: uint) -> (list[u16, 4], u16):
        xs: list[u16, 4] = []
        for i in range(n, max=5):
            xs.push(u16(i) * 3)
        last: u16 = xs.pop()
        return xs, last
"""


@pytest.fixture(scope="module")
def local_arrays():
    h = Harness()
    out = compile_source(LOCAL_ARRAYS)
    return h, h.deployed(out.module), out


def test_array_literals_make_local_and_returned_values(local_arrays):
    h, c, _ = local_arrays
    assert h.call(c, "sum3").return_values == (6,)
    assert h.call(c, "literal", [7]).return_values == (_u([7, 2, 8], 8),)
    assert h.call(c, "constant").return_values == (_u([-1, 2, -300], 2, signed=True),)
    assert h.call(c, "passed", [4]).return_values == (17,)


def test_all_constant_literals_are_one_constant():
    from deed.compiler import ir

    out = compile_source(LOCAL_ARRAYS)
    fn = next(f for f in out.ir.functions if f.name == "constant")
    (ret,) = [b.term for b in fn.blocks if isinstance(b.term, ir.Return)]
    assert isinstance(ret.value, ir.Const)
    assert ret.value.value == _u([-1, 2, -300], 2, signed=True)


def test_element_writes_on_local_values(local_arrays):
    h, c, _ = local_arrays
    assert h.call(c, "write", [1, -7]).return_values == (_u([11, -7, 3], 2, signed=True),)
    assert h.call(c, "write", [0, 5]).return_values == (_u([15, -2, 3], 2, signed=True),)
    assert h.call(c, "write", [3, 5]).revert_reason == "index out of range"
    assert h.call(c, "swap", [_u([1, 2, 3, 4], 4), 0, 3]).return_values == (_u([4, 2, 3, 1], 4),)
    assert h.call(c, "swap", [_u([1, 2, 3, 4], 4), 1, 4]).revert_reason == "index out of range"
    bob = h.addr("bob")
    (who,) = h.call(c, "who", [bob]).return_values
    assert who[:20] == bob and who[20:] != bob
    assert h.call(c, "flags", [True]).return_values == (bytes([1, 1, 0]),)
    assert h.call(c, "flags", [False]).return_values == (bytes([0, 1, 1]),)


def test_push_and_pop_on_a_local_list_value(local_arrays):
    h, c, _ = local_arrays
    assert h.call(c, "stack", [3]).return_values == (_u([0, 3], 2), 6)
    assert h.call(c, "stack", [5]).revert_reason == "list is full"
    assert h.call(c, "stack", [0]).revert_reason == "list is empty"


def test_the_gas_bound_covers_element_writes(local_arrays):
    from deed.analyzer.context import Context
    from deed.analyzer.gas import GasAnalysis
    from deed.vm.chain import intrinsic_gas

    h, c, out = local_arrays
    bounds = GasAnalysis(Context(out)).all()
    calls = [
        ("write", [2, 9]),
        ("swap", [_u([1, 2, 3, 4], 4), 0, 3]),
        ("stack", [4]),
        ("passed", [3]),
        ("who", [h.addr("bob")]),
    ]
    for name, args in calls:
        tx = h.tx("alice", c, h.chain.encode_call(c, name, args), 0, 5_000_000)
        r = h.block.apply(tx)
        assert r.success, (name, r.revert_reason)
        assert r.gas_used - intrinsic_gas(tx) <= bounds[name].bound, name


def test_literals_as_external_arguments_and_in_a_tuple_return():
    caller = """
interface Pay:
    pub pay(to: list[address, 5], amounts: list[uint, 5])

contract Caller:
    pub relay(p: address, a: address) -> (list[u8, 3], bool):
        Pay(p).pay([a, a], [5, 6])
        return [1, 2], True
"""
    h = Harness()
    t = h.deployed(compile_source(TARGET).module)
    c = h.deployed(compile_source(caller).module)
    r = h.send("alice", c, "relay", [t, h.addr("bob")])
    assert r.success, r.revert_reason
    assert r.return_values == (bytes([1, 2]), True)
    assert h.call(t, "sum").return_values == (11,)


def test_a_written_list_value_is_a_copy():
    src = """
contract C:
    @view
    pub f() -> (u8[2], uint):
        xs: u8[2] = [1, 2]
        n: uint = self.g(xs)
        return xs, n

    g(xs: u8[2]) -> uint:
        xs[0] = 9
        return uint(xs[0])
"""
    h = Harness()
    c = h.deployed(compile_source(src).module)
    assert h.call(c, "f").return_values == (bytes([1, 2]), 9)


def test_spec_array_literal_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Ranks")).module)
    assert h.call(c, "ranked", [3, 1]).return_values == (_u([10, 3, 30], 8),)
    assert h.call(c, "ranked", [3, 4]).revert_reason == "index out of range"


def test_spec_array_example():
    h = Harness()
    c = h.deployed(compile_source(spec_example("Sums")).module)
    assert h.send("alice", c, "sum", [_u([4, 5, 6], 8)]).return_values == (15,)


def test_a_stored_struct_is_read_whole_before_it_is_written():
    src = """
contract C:
    struct P:
        x: uint
        y: uint
    ps: map[uint, P]
    items: list[P, 4]
    pub swap(k: uint) -> P:
        self.ps[k] = P(x=k, y=k + 1)
        self.ps[k] = P(x=self.ps[k].y, y=self.ps[k].x)
        return self.ps[k]
    pub element() -> P:
        self.items.push(P(1, 2))
        self.items.push(P(3, 4))
        self.items[1] = P(x=self.items[0].y, y=self.items[1].x)
        return self.items[1]
"""
    h = Harness()
    c = h.deployed(compile_source(src).module)
    assert h.send("alice", c, "swap", [5]).return_values == (6, 5)
    assert h.send("alice", c, "element").return_values == (2, 3)


# --------------------------------------------------------------------------- across contracts

TARGET = """
contract Target:
    total: uint

    @view
    pub pair(x: uint, y: bool) -> (bool, uint):
        return y, x * 2

    pub pay(to: list[address, 5], amounts: list[uint, 5]):
        for a in amounts:
            self.total += a

    @view
    pub sum() -> uint:
        return self.total
"""

CALLER = """
interface Pair:
    @view
    pub pair(x: uint, y: bool) -> (bool, uint)
    pub pay(to: list[address, 5], amounts: list[uint, 5])

contract Caller:
    pub go(p: address) -> uint:
        b: bool, n: uint = Pair(p).pair(7, True)
        if b:
            n += 100
        return n

    pub relay(p: address, to: list[address, 5], amounts: list[uint, 5]):
        Pair(p).pay(to, amounts)
"""


def test_interfaces_return_tuples_and_take_list_values():
    h = Harness()
    t = h.deployed(compile_source(TARGET).module)
    c = h.deployed(compile_source(CALLER).module)
    assert h.send("alice", c, "go", [t]).return_values == (114,)
    r = h.send("alice", c, "relay", [t, bytes(40), _u([5, 6], 32)])
    assert r.success, r.revert_reason
    assert h.call(t, "sum").return_values == (11,)


def test_the_analyzer_bounds_calls_that_return_several_values():
    from deed.analyzer.context import Context
    from deed.analyzer.gas import GasAnalysis

    bounds = GasAnalysis(Context(compile_source(CALLER))).all()
    assert bounds["go"].bound > 0 and bounds["go"].external
    shop = GasAnalysis(Context(compile_source(SHOP))).all()
    assert shop["use"].bound > shop["pair"].bound


def test_struct_and_tuple_values_dropped_as_statements_keep_their_effects():
    src = """
contract C:
    struct P:
        x: uint
        y: bool
    n: uint
    pub f() -> uint:
        P(x=self.g(), y=True)
        empty(P)
        self.h()
        self.k()
        return self.n
    g() -> uint:
        self.n += 1
        return self.n
    h() -> P:
        self.n += 10
        return P(1, False)
    k() -> (uint, P):
        self.n += 100
        return 1, P(2, True)
"""
    h = Harness()
    c = h.deployed(compile_source(src).module)
    assert h.send("alice", c, "f").return_values == (111,)


def test_gas_bounds_cover_struct_and_tuple_functions(shop):
    from deed.analyzer.context import Context
    from deed.analyzer.gas import GasAnalysis
    from deed.vm.chain import intrinsic_gas

    h, c, out = shop
    bounds = GasAnalysis(Context(out)).all()
    bob = h.addr("bob")
    calls = [
        ("put", [40, bob, 10, True, 3, False]),
        ("get", [40]),
        ("make", [bob, 4]),
        ("swap_fields", [40]),
        ("add", [9, bob]),
        ("sum_ids", []),
        ("remove", []),
        ("use", [40]),
        ("zero", []),
    ]
    for name, args in calls:
        tx = h.tx("alice", c, h.chain.encode_call(c, name, args), 0, 5_000_000)
        r = h.block.apply(tx)
        assert r.success, (name, r.revert_reason)
        assert r.gas_used - intrinsic_gas(tx) <= bounds[name].bound, name


def test_deploy_takes_a_struct_for_init(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from deed.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.deed").write_text(
        "contract Cfg:\n"
        "    struct Config:\n"
        "        fee: u16\n"
        "        admin: address\n"
        "    config: Config\n"
        "    init(c: Config):\n"
        "        self.config = c\n"
        "    @view\n"
        "    pub get() -> Config:\n"
        "        return self.config\n"
    )

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    assert run("keys", "new", "alice").exit_code == 0
    assert run("chain", "init").exit_code == 0
    r = run("deploy", "cfg.deed", '{"fee": 25, "admin": "@alice"}', "--from", "alice", "--json")
    assert r.exit_code == 0, r.output
    addr = __import__("json").loads(r.output)["contract_address"]
    r = run("call", addr, "get")
    assert r.exit_code == 0 and r.output.startswith("Config(fee=25, admin=0x"), r.output


def test_struct_values_are_copies_and_hold_bytes_and_strings():
    src = """
contract C:
    enum Kind:
        A
        B
    struct Note:
        title: string[16]
        data: bytes[8]
        tag: bytes32
        kind: Kind
    notes: map[uint, Note]
    pub keep(id: uint, n: Note) -> Note:
        self.notes[id] = n
        copy: Note = n
        self.touch(copy)
        copy.kind = Kind.A
        return self.notes[id]
    touch(n: Note):
        n.title = "changed"
    @view
    pub title(id: uint) -> string[16]:
        return self.notes[id].title
"""
    h = Harness()
    c = h.deployed(compile_source(src).module)
    tag = bytes(range(32))
    r = h.send("alice", c, "keep", [1, "hello", b"\x01\x02", tag, 1])
    assert r.success, r.revert_reason
    assert r.return_values == ("hello", b"\x01\x02", tag, 1)
    assert h.call(c, "title", [1]).return_values == ("hello",)
