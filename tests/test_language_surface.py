"""Issue 10's surface features: pub state getters, the payable receive
function, indexed event fields and enum members in the ABI, deployed and
called on a chain."""

import re

import pytest
from support import Harness

from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source

GETTERS = """
contract G:
    enum Stage:
        Open
        Closed

    pub total: uint
    pub stage: Stage
    pub balances: map[address, uint]
    pub allowed: map[address, map[address, u64]]
    pub xs: list[u32, 4]
    pub arr: u8[3]
    pub grid: map[u8, list[bool, 2]]
    hidden: uint

    init():
        self.total = 7
        self.balances[msg.sender] = 5
        self.allowed[msg.sender][msg.sender] = 9
        self.xs.push(11)
        self.arr[2] = 3
        self.grid[4].push(False)
        self.grid[4].push(True)
        self.stage = Stage.Closed
        self.hidden = 1

    pub bump():
        self.total += self.balances(msg.sender)
"""


def _errors(source: str) -> list:
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    return info.value.diagnostics


@pytest.fixture(scope="module")
def getters():
    h = Harness()
    out = compile_source(GETTERS, "g.deed")
    return h, h.deployed(out.module), out.abi


def test_pub_scalars_and_maps_have_getters(getters):
    h, g, _ = getters
    alice, bob = h.addr("alice"), h.addr("bob")
    assert h.call(g, "total").return_values == (7,)
    assert h.call(g, "stage").return_values == (1,)
    assert h.call(g, "balances", [alice]).return_values == (5,)
    assert h.call(g, "balances", [bob]).return_values == (0,)
    assert h.call(g, "allowed", [alice, alice]).return_values == (9,)
    assert h.call(g, "allowed", [alice, bob]).return_values == (0,)


def test_pub_lists_and_arrays_take_an_index_and_revert_out_of_range(getters):
    h, g, _ = getters
    assert h.call(g, "xs", [0]).return_values == (11,)
    assert h.call(g, "arr", [2]).return_values == (3,)
    assert h.call(g, "grid", [4, 1]).return_values == (True,)
    for name, args in (("xs", [1]), ("arr", [3]), ("grid", [4, 2]), ("grid", [5, 0])):
        result = h.call(g, name, args)
        assert not result.success, (name, args)
        assert result.status == "reverted"


def test_getters_are_views_in_the_abi_and_private_state_has_none(getters):
    h, g, abi = getters
    by_name = {f["name"]: f for f in abi["functions"]}
    assert "hidden" not in by_name
    assert by_name["total"]["mutability"] == "view"
    assert [i["name"] for i in by_name["allowed"]["inputs"]] == ["key1", "key2"]
    assert [i["name"] for i in by_name["grid"]["inputs"]] == ["key", "index"]
    assert by_name["grid"]["inputs"][1]["type"] == "u256"
    with pytest.raises(ValueError):
        h.chain.export(g, "hidden")


def test_a_getter_is_callable_inside_the_contract(getters):
    h, g, _ = getters
    r = h.send("alice", g, "bump")
    assert r.success, r.revert_reason
    assert h.call(g, "total").return_values == (12,)


def test_a_function_named_like_a_pub_variable_is_e0102_pointing_at_both():
    source = "contract C:\n    pub total: uint\n\n    pub total() -> uint:\n        return 1\n"
    [d] = _errors(source)
    assert d.code == "E0102"
    assert (d.span.line, d.span.column) == (4, 5)
    assert "getter" in d.message
    [note] = d.notes
    assert (note.span.line, note.span.column) == (2, 5)
    assert note.message == "the pub state variable total is declared here"
    # a clash with anything else is the ordinary duplicate
    [d] = _errors("contract C:\n    event total()\n    pub total: uint\n")
    assert d.message == "total is already defined" and d.notes[0].span.line == 2


STRUCT_GETTERS = """
contract G:
    enum Stage:
        Open
        Closed

    struct Inner:
        a: u64
        b: bool

    struct S:
        who: address
        n: uint
        st: Stage
        inner: Inner

    pub s: S
    pub by: map[uint, S]
    pub xs: list[S, 4]

    init():
        self.s.who = msg.sender
        self.s.n = 5
        self.s.st = Stage.Closed
        self.s.inner.a = 9
        self.by[3].n = 7
        self.xs.push(self.s)

    pub set(k: uint, v: S, st: Stage):
        self.by[k] = v
        self.by[k].st = st
"""


def test_pub_structs_have_getters_returning_the_struct_value():
    out = compile_source(STRUCT_GETTERS, "g.deed")
    h = Harness()
    c = h.deployed(out.module)
    alice = h.addr("alice")
    assert h.call(c, "s").return_values == (alice, 5, 1, 9, False)
    assert h.call(c, "by", [3]).return_values == (bytes(20), 7, 0, 0, False)
    assert h.call(c, "xs", [0]).return_values == (alice, 5, 1, 9, False)
    assert not h.call(c, "xs", [1]).success  # out of range reverts
    by = next(f for f in out.abi["functions"] if f["name"] == "by")
    assert by["mutability"] == "view" and [p["name"] for p in by["inputs"]] == ["key"]
    [o] = by["outputs"]
    assert (o["kind"], o["type"]) == ("struct", "S")
    assert by["vm_outputs"] == ["address", "u256", "u8", "u64", "bool"]


def test_a_pub_struct_kept_in_storage_is_a_clear_error():
    source = (
        "contract C:\n    struct S:\n        a: uint\n        m: map[uint, uint]\n\n"
        "    pub s: S\n    pub m: map[address, S]\n"
    )
    ds = _errors(source)
    assert [d.code for d in ds] == ["E0208", "E0208"]
    assert all(d.message == "a pub getter returns a value: S keeps m in storage" for d in ds)
    assert [d.span.line for d in ds] == [6, 7]


def test_the_cli_groups_structs_and_names_enums_together(tmp_path):
    import json

    from cli_support import new_chain, write_source

    local = new_chain(tmp_path / "home")
    source = write_source(tmp_path, "g.deed", STRUCT_GETTERS)
    g = local.deploy(source)
    r = local.run("call", g, "s")
    assert r.exit_code == 0 and r.output.startswith("S(who=0x"), r.output
    assert r.output.endswith("n=5, st=Closed, inner=Inner(a=9, b=false))\n")
    # a struct argument (enum fields by name or number) and an enum argument by name
    v = '{"who": "@bob", "n": 2, "st": "Open", "inner": {"a": 1, "b": true}}'
    r = local.run("send", g, "set", "4", v, "Closed", "--from", "alice")
    assert r.exit_code == 0, r.output
    r = local.run("call", g, "by", "4", "--json")
    [got] = json.loads(r.output)["return_values"]
    assert (got["st"], got["inner"]) == ("Closed", {"a": 1, "b": True})
    r = local.run("send", g, "set", "5", "(@bob, 2, 1, (1, true))", "Open", "--from", "alice")
    assert r.exit_code == 0, r.output
    assert "st=Open" in local.run("call", g, "by", "5").output
    # the flat VM values, enums by name too
    r = local.run(
        "send", g, "set", "6", "@bob", "3", "Open", "4", "false", "Closed", "--from", "bob"
    )
    assert r.exit_code == 0, r.output
    assert "n=3, st=Closed, inner=Inner(a=4" in local.run("call", g, "by", "6").output
    for bad in (
        '{"who": "@bob", "n": 2, "st": "Shut", "inner": [1, true]}',
        "(@bob, 2, 2, (1, true))",
    ):
        r = local.run("send", g, "set", "7", bad, "Open", "--from", "alice")
        assert r.exit_code == 2 and "Open, Closed" in r.output, r.output
    r = local.run("send", g, "set", "7", "(@bob, 2, 0, (1, true))", "Shut", "--from", "alice")
    assert r.exit_code == 2 and "Open, Closed" in r.output, r.output


# --------------------------------------------------------------------------- receive()

TIPS = """
contract Tips:
    event Tipped(sender: address, amount: uint)

    pub received: uint
    pub limit: uint

    init():
        self.limit = 1_000

    @payable
    pub receive():
        require(msg.value <= self.limit, "tip too large")
        self.received += msg.value
        emit Tipped(msg.sender, msg.value)
"""

NO_RECEIVE = (
    "contract Plain:\n    pub n: uint\n\n    @payable\n    pub pay():\n        self.n += 1\n"
)


def test_a_plain_transfer_runs_receive():
    h = Harness()
    tips = h.deployed(compile_source(TIPS, "tips.deed").module)
    r = h.block.apply(h.tx("bob", tips, b"", value=250))
    assert r.success, r.revert_reason
    assert h.chain.balance(tips) == 250
    assert h.call(tips, "received").return_values == (250,)
    assert [(log.event, log.values) for log in r.logs] == [("Tipped", (h.addr("bob"), 250))]
    # it is an ordinary export too
    assert h.send("bob", tips, "receive", value=5).success
    assert h.call(tips, "received").return_values == (255,)


def test_a_failing_receive_reverts_the_transfer():
    h = Harness()
    tips = h.deployed(compile_source(TIPS, "tips.deed").module)
    before = h.chain.balance(h.addr("bob"))
    r = h.block.apply(h.tx("bob", tips, b"", value=5_000, price=0))
    assert r.status == "reverted" and r.revert_reason == "tip too large"
    assert h.chain.balance(tips) == 0
    assert h.chain.balance(h.addr("bob")) == before
    r = h.block.apply(h.tx("bob", tips, b"", value=10, gas=21_000))
    assert r.status == "out_of_gas"
    assert h.chain.balance(tips) == 0


def test_without_receive_a_plain_transfer_to_a_contract_reverts():
    h = Harness()
    plain = h.deployed(compile_source(NO_RECEIVE, "plain.deed").module)
    r = h.block.apply(h.tx("bob", plain, b"", value=10))
    assert r.status == "reverted"
    assert "receive()" in r.revert_reason
    assert h.chain.balance(plain) == 0
    # an account without code still takes plain transfers
    assert h.block.apply(h.tx("bob", h.addr("carol"), b"", value=10)).success


@pytest.mark.parametrize(
    "decl, message",
    [
        ("    pub receive():\n        pass\n", "receive takes plain value transfers"),
        ("    @payable\n    receive():\n        pass\n", "@view and @payable apply"),
        ("    @payable\n    pub receive(x: uint):\n        pass\n", "receive takes no parameters"),
        ("    @payable\n    pub receive() -> uint:\n        return 1\n", "receive returns nothing"),
    ],
)
def test_receive_has_a_fixed_shape(decl, message):
    ds = _errors("contract C:\n" + decl)
    assert any(message in d.message for d in ds), ds
    assert any(d.code == "E0312" for d in ds) or "@view and @payable" in message


# --------------------------------------------------------------------------- enums in the ABI and the CLI

GATE = """
contract Gate:
    enum Stage:
        Open
        Paused
        Closed

    event Moved(by: address, to: Stage)
    error Stuck(at: Stage)

    pub stage: Stage

    init(first: Stage):
        self.stage = first
        emit Moved(msg.sender, first)

    pub move(to: Stage) -> Stage:
        before: Stage = self.stage
        self.stage = to
        emit Moved(msg.sender, to)
        return before

    pub stuck():
        revert Stuck(self.stage)
"""


def test_the_abi_lists_enums_and_marks_enum_fields():
    abi = compile_source(GATE, "gate.deed").abi
    assert abi["enums"] == [{"name": "Stage", "members": ["Open", "Paused", "Closed"]}]
    members = ["Open", "Paused", "Closed"]
    enum = {"type": "u8", "deed_type": "Stage", "members": members}
    move = next(f for f in abi["functions"] if f["name"] == "move")
    assert move["inputs"] == [{"name": "to"} | enum]
    assert move["outputs"] == [{"name": ""} | enum]
    [moved] = abi["events"]
    assert moved["fields"][1] == {"name": "to"} | enum


def test_the_cli_takes_and_prints_enum_member_names(tmp_path):
    import json

    from cli_support import new_chain, write_source

    local = new_chain(tmp_path / "home")
    source = write_source(tmp_path, "gate.deed", GATE)
    r = local.run("deploy", source, "Paused", "--from", "alice")
    assert r.exit_code == 0, r.output
    assert "event Moved(by=0x" in r.output and ", to=Paused)" in r.output
    gate = re.search(r"contract (0x[0-9a-f]{40})", r.output).group(1)
    r = local.run("call", gate, "stage")
    assert (r.exit_code, r.output) == (0, "Paused\n")
    r = local.run("send", gate, "move", "Closed", "--from", "bob")
    assert r.exit_code == 0, r.output
    assert "returned Paused" in r.output and ", to=Closed)" in r.output
    r = local.run("send", gate, "move", "0", "--from", "bob", "--json")
    out = json.loads(r.output)
    assert out["return_values"] == ["Closed"] and out["events"][0]["values"][1] == "Open"
    r = local.run("call", gate, "stage", "--json")
    assert json.loads(r.output)["return_values"] == ["Open"]
    # typed errors' enum fields too
    r = local.run("send", gate, "stuck", "--from", "bob")
    assert r.exit_code == 1 and "Stuck(at=Open)" in r.output, r.output
    r = local.run("call", gate, "stuck", "--json")
    assert json.loads(r.output)["error"] == ["Stuck", ["Open"], {"at": "Open"}]
    # a name that is not a member, or a number past the last, is a usage error
    for bad in ("Shut", "3"):
        r = local.run("send", gate, "move", bad, "--from", "bob")
        assert r.exit_code == 2 and "Open, Paused, Closed" in r.output, r.output


def test_a_module_file_deploys_with_the_abi_beside_it(tmp_path):
    from cli_support import new_chain, write_source

    local = new_chain(tmp_path / "home")
    source = write_source(tmp_path, "gate.deed", GATE)
    assert local.run("compile", source).exit_code == 0
    assert (tmp_path / "gate.abi.json").is_file()
    gate = local.deploy(tmp_path / "gate.deedc", "Closed")
    assert local.run("call", gate, "stage").output == "Closed\n"
    # without an ABI, enums are numbers, as before
    (tmp_path / "gate.abi.json").unlink()
    gate = local.deploy(tmp_path / "gate.deedc", "2")
    assert local.run("call", gate, "stage").output == "2\n"


# --------------------------------------------------------------------------- indexed events and the log index

PAYMENTS = """
contract Payments:
    enum Kind:
        Rent
        Tip

    event Paid(indexed payer: address, indexed kind: Kind, amount: uint, memo: string[16])
    event Noted(text: string[16])

    @payable
    pub pay(kind: Kind, memo: string[16]):
        emit Paid(msg.sender, kind, msg.value, memo)

    pub note(text: string[16]):
        emit Noted(text)
"""


def _payments(backend=None):
    h = Harness(backend=backend)
    out = compile_source(PAYMENTS, "payments.deed")
    c = h.deployed(out.module)
    h.next_block()
    assert h.send("alice", c, "pay", [0, "may"], value=100).success
    assert h.send("bob", c, "pay", [1, "thanks"], value=5).success
    h.next_block()
    assert h.send("alice", c, "pay", [1, "coffee"], value=3).success
    assert h.send("bob", c, "note", ["hi"]).success
    failed = h.send("bob", c, "pay", [7, "bad kind"], value=1)
    assert not failed.success
    h.next_block()
    return h, c, out


def test_indexed_fields_are_marked_in_the_module_and_the_abi():
    out = compile_source(PAYMENTS, "payments.deed")
    paid = out.module.events[0]
    assert [(f.name, f.indexed) for f in paid.fields] == [
        ("payer", True),
        ("kind", True),
        ("amount", False),
        ("memo", False),
    ]
    fields = out.abi["events"][0]["fields"]
    assert [f.get("indexed", False) for f in fields] == [True, True, False, False]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_the_node_queries_logs_by_contract_event_and_indexed_fields(tmp_path, backend):
    from deed.vm.state import SqliteBackend

    h, c, _ = _payments(SqliteBackend(tmp_path / "chain.db") if backend == "sqlite" else None)
    alice, bob = h.addr("alice"), h.addr("bob")
    everything = h.chain.logs(address=c)
    assert [(g.height, g.event) for g in everything] == [
        (2, "Paid"),
        (2, "Paid"),
        (3, "Paid"),
        (3, "Noted"),
    ]
    assert everything[0].values == (alice, 0, 100, "may")
    assert everything[1].tx_index == 1 and everything[3].log_index == 0
    by_alice = h.chain.logs(address=c, event="Paid", where={"payer": alice})
    assert [g.values[3] for g in by_alice] == ["may", "coffee"]
    tips = h.chain.logs(address=c, event="Paid", where={"kind": 1})
    assert [g.values[0] for g in tips] == [bob, alice]
    both = h.chain.logs(address=c, event="Paid", where={"kind": 1, "payer": alice})
    assert [g.values[3] for g in both] == ["coffee"]
    assert [g.height for g in h.chain.logs(address=c, from_height=3)] == [3, 3]
    assert [g.height for g in h.chain.logs(address=c, to_height=2)] == [2, 2]
    assert len(h.chain.logs(event="Noted")) == 1
    assert h.chain.logs(address=c, limit=1) == everything[:1]
    with pytest.raises(ValueError, match="no indexed field 'amount'"):
        h.chain.logs(address=c, event="Paid", where={"amount": 5})
    with pytest.raises(ValueError, match="needs the contract and the event"):
        h.chain.logs(where={"payer": alice})


def test_the_log_index_persists_beside_the_state(tmp_path):
    from deed.vm.chain import Chain
    from deed.vm.state import SqliteBackend

    h, c, _ = _payments(SqliteBackend(tmp_path / "chain.db"))
    expected = h.chain.logs(address=c)
    h.block.abandon()
    h.chain.backend.close()
    again = Chain(SqliteBackend(tmp_path / "chain.db"))
    assert again.logs(address=c) == expected
    db = again.backend.db
    assert db.execute("SELECT count(*) FROM log_topics").fetchone() == (6,)
    # the index is no part of the state: the same blocks on memory give the same roots
    memory, _, _ = _payments()
    assert again.head.state_root == memory.chain.block_header(again.head.height).state_root


def test_indexed_fields_round_trip_through_bytes_and_assembly():
    from deed.vm.asm import assemble, disassemble
    from deed.vm.errors import VerificationError
    from deed.vm.module import decode_module
    from deed.vm.verifier import verify

    text = ".event T(indexed who: address, amount: u256)\n.func f()\n    RET\n.export f() = f\n"
    m = assemble(text)
    data = m.encode()
    assert decode_module(data).events == m.events and decode_module(data).encode() == data
    assert ".event T(indexed who: address, amount: u256)" in disassemble(decode_module(data))
    plain = assemble(text.replace("indexed ", "")).encode()
    assert len(plain) == len(data) and plain != data  # one bit of one tag differs
    verify(decode_module(data))
    bad = assemble(text.replace("amount: u256", "indexed note: string[8]"))
    with pytest.raises(VerificationError, match="needs a fixed-size type"):
        verify(decode_module(bad.encode()))


def test_deed_logs_queries_the_index_with_names(tmp_path):
    import json

    from cli_support import new_chain, write_source

    local = new_chain(tmp_path / "home")
    c = local.deploy(write_source(tmp_path, "payments.deed", PAYMENTS))
    for sender, kind, memo, value in (("alice", "Rent", "may", 100), ("bob", "Tip", "x", 5)):
        r = local.run("send", c, "pay", kind, memo, "--from", sender, "--value", value)
        assert r.exit_code == 0, r.output
    assert local.run("send", c, "note", "hi", "--from", "bob").exit_code == 0
    r = local.run("logs", c)
    lines = r.output.splitlines()
    assert r.exit_code == 0 and len(lines) == 3, r.output
    assert re.fullmatch(
        r'block \d+ tx 0 log 0: Paid\(payer=0x[0-9a-f]{40}, kind=Rent, amount=100, memo="may"\)',
        lines[0],
    )
    assert lines[2].endswith(': Noted(text="hi")')
    r = local.run("logs", c, "Paid", "--where", "payer=@bob")
    assert r.exit_code == 0 and r.output.count("Paid(") == 1 and "Tip" in r.output, r.output
    r = local.run("logs", c, "Paid", "--where", "kind=Rent", "--json")
    [row] = json.loads(r.output)
    assert row["values"][1:] == ["Rent", 100, "may"] and row["event"] == "Paid"
    r = local.run("logs", c, "Paid", "--where", "kind=Rent", "--where", "payer=@bob")
    assert (r.exit_code, r.output) == (0, "(no logs)\n")
    for bad in (["Paid", "--where", "amount=5"], ["Nope"], ["--where", "kind=Rent"]):
        r = local.run("logs", c, *bad)
        assert r.exit_code == 2, (bad, r.output)


def test_deed_transfer_runs_receive_or_is_refused(tmp_path):
    from cli_support import new_chain, write_source

    local = new_chain(tmp_path / "home")
    tips = local.deploy(write_source(tmp_path, "tips.deed", TIPS))
    plain = local.deploy(write_source(tmp_path, "plain.deed", NO_RECEIVE))
    r = local.run("transfer", tips, "300", "--from", "bob")
    assert r.exit_code == 0 and "event Tipped(sender=0x" in r.output, r.output
    assert local.run("call", tips, "received").output == "300\n"
    assert local.run("balance", tips).output.startswith("balance 300,")
    r = local.run("transfer", plain, "1", "--from", "bob")
    assert r.exit_code == 1 and "it has no receive()" in r.output, r.output
    r = local.run("transfer", "@alice", "7", "--from", "bob")
    assert r.exit_code == 0, r.output
