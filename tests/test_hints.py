"""Hints for habits of Vyper and Solidity (deed.compiler.hints): each entry of
the registry fires on its example, in a source that does not parse, and
what a hint shows as Deed is Deed."""

import re
from pathlib import Path

import pytest

from deed.compiler import hints
from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source
from deed.compiler.parser import parse
from deed.compiler.types import builtin_type


def place(line: str, where: str) -> str:
    if where == "top":
        return line + "\n"
    if where == "member":
        return f"contract C:\n    {line}\n        pass\n"
    return f"contract C:\n    pub f(a: uint):\n        {line}\n        pass\n"


def syntax_error(source: str):
    with pytest.raises(CompileError) as info:
        parse(source, "t.deed")
    (d,) = info.value.diagnostics
    assert d.code in ("E0001", "E0003"), d.render(source)
    return d


@pytest.mark.parametrize("habit", hints.HABITS, ids=[h.example for h in hints.HABITS])
def test_each_habit_fires_on_its_example(habit):
    source = place(habit.example, habit.where)
    d = syntax_error(source)
    line = source.split("\n")[d.span.line - 1]
    assert line.strip() == habit.example, d.render(source)
    token = line[d.span.column - 1 : d.span.end_column - 1] or None
    # The diagnostic carries this habit's hint: no habit before it in the registry fired.
    assert d.hint == habit.apply(line.strip(), token), d.render(source)
    assert d.hint


def hint_of(line: str, where: str = "member") -> str:
    source = place(line, where)
    return syntax_error(source).hint


def test_vyper_habits():
    assert hint_of("def f(x: uint256) -> uint256:") == (
        "Deed functions have no `def`: write `pub f(x: uint) -> uint:` for a public function "
        "(Vyper's `@external`) or `f(x: uint) -> uint:` for a private one"
    )
    assert hint_of("log Paid(msg.sender, 1)", "body") == "events are logged with `emit Paid(...)`"
    assert hint_of("total: public(uint256)") == (
        "state variables are made public with `pub`: write `pub total: uint`"
    )
    assert "`pub balances: map[address, map[address, u8]]`" in hint_of(
        "balances: public(HashMap[address, HashMap[address, uint8]])"
    )
    assert "`pub x: uint`" in hint_of("self.x: public(uint)")
    assert "`const FEE: uint = 250`" in hint_of("FEE: constant(uint256) = 250")
    assert "`init(owner: address, fee: uint):`" in hint_of(
        "def __init__(owner: address, fee: uint256):"
    )
    assert "`emit" not in hint_of("event Transfer:")


def test_a_vyper_interface_method():
    source = (
        "interface Token:\n    def transfer(to: address, amount: uint256) -> bool: nonpayable\n"
    )
    assert syntax_error(source).hint == (
        "Deed interface methods have no `def`: write "
        "`pub transfer(to: address, amount: uint) -> bool`"
    )
    source = "interface Token:\n    def balanceOf(a: address) -> uint256: view\n"
    assert "`@view` above `pub balanceOf(a: address) -> uint`" in syntax_error(source).hint


def test_solidity_habits():
    assert hint_of("function transfer(address to, uint256 amount) external returns (bool) {") == (
        "Deed functions have no `function` keyword: write "
        "`pub transfer(to: address, amount: uint) -> bool:` and indent the body (no braces)"
    )
    assert "`@view` above `pub get() -> u8:`" in hint_of(
        "function get() public view returns (uint8) {"
    )
    assert "`helper(a: uint):`" in hint_of("function helper(uint a) internal {")
    assert hint_of("mapping(address => uint256) public balances;") == (
        "Deed declares the name first: write `pub balances: map[address, uint]`"
    )
    assert "`allowed: map[address, map[address, uint]]`" in hint_of(
        "mapping(address => mapping(address => uint)) allowed;"
    )
    assert "`x: uint`" in hint_of("uint256 x;")
    assert "`const FEE: uint = 250`" in hint_of("uint256 constant FEE = 250;")
    assert "`total: uint = 0`" in hint_of("uint total = 0;", "body")
    assert "`owner: address`" in hint_of("address payable owner;")
    assert "`xs: list[uint, N]`" in hint_of("uint[] xs;")
    assert "`init(owner: address):`" in hint_of("constructor(address owner) {")
    assert "`event Paid(who: address, amount: uint)`" in hint_of(
        "event Paid(address indexed who, uint amount);"
    )
    assert "`error TooLow(need: uint)`" in hint_of("error TooLow(uint need);")
    assert hint_of("contract Token is Base {", "top").startswith("write `contract Token:`")
    assert hint_of("x = 1;", "body") == "Deed statements end with the line: drop the `;`"
    assert hint_of("require(a || a)", "body") == "write `or`"
    assert hint_of("self.count++", "body") == "write `self.count += 1`"
    assert hint_of("if a > 1 {", "body").startswith("Deed blocks have no braces")


def test_no_habit_hint_for_a_plain_deed_mistake():
    # A mistake in Deed's own syntax keeps the parser's expected list.
    for line, where in [
        ("x u8", "member"),
        ("pub f(a u8):", "member"),
        ("pub f() u8:", "member"),
        ("x = = 1", "body"),
        ("return a b", "body"),
        ("if a", "body"),
        ("event E(a: u8", "member"),
        ("a = b - - ", "body"),
    ]:
        hint = hint_of(line, where)
        assert hint.startswith(("expected ", "the '(' on line")), (line, hint)


def test_a_deed_line_that_parses_gets_no_hint():
    for line in ["x: u8", "pub f(a: u8) -> u8:", "emit E(1)", "x = a-b", "return a & b"]:
        assert hints.hint_for(line, None) is None, line


# ----------------------------------------------------------------- names that parse


def test_type_hint():
    assert hints.type_hint("uint256") == "`uint256` is `uint` (or `u256`) in Deed"
    assert hints.type_hint("uint8") == "`uint8` is `u8` in Deed"
    assert hints.type_hint("int128") == "`int128` is `i128` in Deed"
    assert hints.type_hint("int") == "`int` is `i256` in Deed"
    assert hints.type_hint("HashMap") == "`HashMap[K, V]` is `map[K, V]` in Deed"
    assert (
        hints.type_hint("DynArray") == "`DynArray[T, N]` is `list[T, N]` in Deed (in storage only)"
    )
    assert hints.type_hint("String") == "`String[N]` is `string[N]` in Deed"
    assert "integers" in hints.type_hint("decimal")
    for deed_name in ("u8", "u256", "uint", "i64", "bool", "address", "bytes32", "map", "Order"):
        assert hints.type_hint(deed_name) is None, deed_name


def test_every_type_name_maps_to_a_deed_type():
    for foreign, deed in hints.TYPE_NAMES.items():
        assert builtin_type(deed) is not None or deed in ("map", "list", "string", "bytes"), (
            foreign,
            deed,
        )
        assert builtin_type(foreign) is None, foreign  # a name Deed knows needs no hint


def test_deed_type():
    assert hints.deed_type("HashMap[address, uint256]") == "map[address, uint]"
    assert hints.deed_type("mapping(address => mapping(uint8 => bool))") == (
        "map[address, map[u8, bool]]"
    )
    assert hints.deed_type("DynArray[int64, 10]") == "list[i64, 10]"
    assert hints.deed_type("String[100]") == "string[100]"
    assert hints.deed_type("string") == "string[N]"
    assert hints.deed_type("uint[]") == "list[uint, N]"
    assert hints.deed_type("address payable") == "address"
    assert hints.deed_type("Order") == "Order"


def test_decorator_and_name_hints():
    assert "`pub`" in hints.decorator_hint("external")
    assert "drop `@internal`" in hints.decorator_hint("internal")
    assert hints.decorator_hint("view") is None and hints.decorator_hint("payable") is None
    assert hints.name_hint("true") == "booleans are `True` and `False`"
    assert hints.name_hint("uint256") == hints.type_hint("uint256")  # uint256(x)
    assert "block.timestamp" in hints.name_hint("now")
    assert hints.name_hint("x") is None


# ----------------------------------------------------------------- the Deed a hint shows is Deed


def shown(hint: str) -> list[str]:
    return re.findall(r"`([^`]+)`", hint)


@pytest.mark.parametrize(
    "line, where, context",
    [
        ("def f(x: uint256) -> uint256:", "member", "contract C:\n    {}\n        return x\n"),
        (
            "function transfer(address to, uint256 amount) public returns (bool) {",
            "member",
            "contract C:\n    {}\n        return to == to and amount > 0\n",
        ),
        ("FEE: constant(uint256) = 250", "member", "contract C:\n    {}\n"),
        ("uint256 constant FEE = 250;", "member", "contract C:\n    {}\n"),
        ("mapping(address => uint256) balances;", "member", "contract C:\n    {}\n"),
        ("uint256 x;", "member", "contract C:\n    {}\n"),
        ("uint x = 5;", "body", "contract C:\n    pub f():\n        {}\n"),
        (
            "event Paid(address indexed who, uint256 amount);",
            "member",
            "contract C:\n    {}\n",
        ),
        (
            "constructor(address owner) {",
            "member",
            "contract C:\n    o: address\n    {}\n        self.o = owner\n",
        ),
        ("log Paid(1)", "body", "contract C:\n    event Paid(a: uint)\n    pub f():\n        {}\n"),
        ("count++", "body", "contract C:\n    pub f():\n        count: uint = 0\n        {}\n"),
        (
            "require(a && a)",
            "body",
            "contract C:\n    pub f(a: bool):\n        require(a and a)\n{}",
        ),
    ],
)
def test_the_form_a_hint_shows_compiles(line, where, context):
    hint = hint_of(line, where)
    form = next(s for s in shown(hint) if s not in ("def", "function", "@external"))
    form = form.replace("...", "1")
    source = context.format(form) if "{}" in context else context
    if line.startswith("require"):
        source = context.format("")
    assert compile_source(source, "t.deed").module  # raises CompileError if the hint lied


def test_the_spec_lists_every_habit_and_its_hint():
    spec = (Path(__file__).parent.parent / "spec" / "language.md").read_text()
    section = spec.split("### Hints for habits of Vyper and Solidity")[1].split("### Error codes")[
        0
    ]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    expected = []
    for habit in hints.HABITS:
        d = syntax_error(place(habit.example, habit.where))
        cells = (habit.origin, f"`{habit.example}`", d.hint)
        expected.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    assert rows == expected


def test_a_long_line_gets_no_hint_and_costs_nothing():
    line = "a" * 1_000_000 + "--"  # the `--` habit's pattern would backtrack quadratically
    assert hints.hint_for(line) is None
    assert hints.hint_for("count--") == "write `count -= 1`"
