"""The compiler's nesting limit and the VM's limits: whatever the source, a
compilation ends in a module the VM's loader accepts or in diagnostics with a
stable code and a position, never in a traceback."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deed.analyzer.run import analyze
from deed.cli.main import main
from deed.compiler import driver, ir
from deed.compiler.diagnostics import CODES, INTERNAL_CODES, CompileError, CompilerPanic
from deed.compiler.driver import compile_source
from deed.compiler.limits import block_count
from deed.compiler.nesting import MAX_NESTING
from deed.vm.opcodes import LIMITS
from deed.vm.verifier import load

ROOT = Path(__file__).parent.parent
L = LIMITS


def compiled(source: str):
    """The module's bytes, after checking the VM's loader accepts them."""
    out = compile_source(source, "t.deed")
    data = out.module.encode()
    load(data)
    return out


def diagnostics(source: str) -> list:
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    return info.value.diagnostics


def the_error(source: str, code: str):
    """The one diagnostic of ``code`` (others may come with it)."""
    found = [d for d in diagnostics(source) if d.code == code]
    assert len(found) == 1, [(d.code, d.message) for d in diagnostics(source)]
    return found[0]


def position(source: str, needle: str, nth: int = 1, offset: int = 0) -> tuple[int, int]:
    """Line and column of the ``nth`` occurrence of ``needle`` (plus ``offset`` characters)."""
    starts = [m.start() for m in re.finditer(re.escape(needle), source)]
    i = starts[nth - 1] + offset
    return source.count("\n", 0, i) + 1, i - source.rfind("\n", 0, i)


def fn(body: str, params: str = "a: u256", returns: str = "u256", members: str = "") -> str:
    """A contract with helper members, around one public function ``f``."""
    lines = "".join("        " + line + "\n" for line in body.splitlines())
    head = "contract C:\n    m: map[u256, u256]\n    g(a: u256) -> u256:\n        return a\n"
    return head + members + f"    pub f({params}) -> {returns}:\n" + lines


# --------------------------------------------------------------------------- nesting


@dataclass(frozen=True)
class Nesting:
    """A construct nested ``n`` times; the most that fits the limit; and, one
    more, where the first node past the limit is (needle, which occurrence, offset)."""

    build: Callable[[int], str]
    most: int
    needle: str
    nth: Callable[[int], int]
    offset: int = 0


# The levels each construct costs are spelled out in compiler/nesting.py: the
# statement is level 1 of the function, its expression level 2, and so on.
NESTINGS = {
    "not": Nesting(
        lambda n: fn("return " + "not " * n + "a", "a: bool", "bool"),
        MAX_NESTING - 2,
        "not a",
        lambda n: 1,
        4,
    ),
    "minus": Nesting(
        lambda n: fn("return " + "-" * n + "a", "a: i256", "i256"),
        MAX_NESTING - 2,
        "-a",
        lambda n: 1,
        1,
    ),
    "parenthesised": Nesting(
        lambda n: fn("return " + "a + (" * n + "a" + ")" * n), MAX_NESTING - 2, "a + (", lambda n: n
    ),
    "operator chain": Nesting(
        lambda n: fn("return " + " + ".join(["a"] * (n + 1))),
        MAX_NESTING - 2,
        "return a +",
        lambda n: 1,
        7,
    ),
    "and chain": Nesting(
        lambda n: fn("return " + " and ".join(["a"] * (n + 1)), "a: bool", "bool"),
        MAX_NESTING - 2,
        "return a and",
        lambda n: 1,
        7,
    ),
    "power": Nesting(
        lambda n: fn("return " + "a ** " * n + "a"), MAX_NESTING - 2, "a ** ", lambda n: n
    ),
    "calls": Nesting(
        lambda n: fn("return " + "self.g(" * n + "a" + ")" * n),
        MAX_NESTING - 3,
        "self.g(",
        lambda n: n,
    ),
    "index": Nesting(
        lambda n: fn("return " + "self.m[" * n + "a" + "]" * n),
        MAX_NESTING - 3,
        "self.m[",
        lambda n: n,
    ),
    "if blocks": Nesting(
        lambda n: fn(
            "".join("    " * i + "if a > 0:\n" for i in range(n)) + "    " * n + "a = 1\nreturn a"
        ),
        MAX_NESTING - 2,
        "if a",
        lambda n: n,
        3,
    ),
    "loops": Nesting(
        lambda n: fn(
            "".join("    " * i + f"for i{i} in range(2):\n" for i in range(n))
            + "    " * n
            + "a += 1\nreturn a"
        ),
        MAX_NESTING - 2,
        "range(",
        lambda n: n,
    ),
    "map types": Nesting(
        lambda n: fn("return a", members="    mm: " + "map[u8, " * n + "u8" + "]" * n + "\n"),
        MAX_NESTING - 1,
        "map[u8, ",
        lambda n: n,
        4,
    ),
}


@pytest.mark.parametrize("name", NESTINGS)
def test_nesting_up_to_the_limit_compiles_and_one_more_is_e0401(name):
    case = NESTINGS[name]
    compiled(case.build(case.most))
    source = case.build(case.most + 1)
    d = the_error(source, "E0401")
    assert (d.span.line, d.span.column) == position(
        source, case.needle, case.nth(case.most + 1), case.offset
    ), d.render(source)
    assert f"more than {MAX_NESTING} levels" in d.message and d.hint


@pytest.mark.parametrize("name", NESTINGS)
def test_nesting_far_past_the_limit_is_one_diagnostic_per_declaration(name):
    source = NESTINGS[name].build(600)
    assert [d.code for d in diagnostics(source)] == ["E0401"]


def _frames() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


@pytest.mark.parametrize("name", NESTINGS)
def test_at_the_limit_the_recursive_phases_need_few_frames(name):
    """Python allows 1,000 frames: at the limit, compiling and analysing need
    fewer than 450 above the caller, so half is left to whoever calls them."""
    source = NESTINGS[name].build(NESTINGS[name].most)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + 450)
    try:
        out = compile_source(source, "t.deed")
        _ = out.module
        analyze(out, with_gas=True)
    finally:
        sys.setrecursionlimit(old)


def test_parentheses_alone_do_not_nest():
    compiled(fn("return " + "(" * 3_000 + "a" + ")" * 3_000))


def test_deep_nesting_in_a_library_is_reported_at_the_library():
    source = "library util:\n    f(a: bool) -> bool:\n        return " + "not " * 100 + "a\n"
    source += "contract C:\n    pub f() -> bool:\n        return util.f(True)\n"
    d = the_error(source, "E0401")
    assert d.span.line == 3


def test_a_long_elif_chain_is_flat():
    n = 400
    body = "if a == 0:\n    return 0\n" + "".join(
        f"elif a == {i}:\n    return {i}\n" for i in range(1, n)
    )
    out = compiled(fn(body + "else:\n    return a"))
    assert len(out.ir.function("f").blocks) > n


def test_elif_lowers_to_the_blocks_of_nested_ifs():
    flat = "if a == 1:\n    a = 5\nelif a == 2:\n    a = 6\nelif a == 3:\n    a = 7\nelse:\n    a = 8\nreturn a"
    nested = (
        "if a == 1:\n    a = 5\nelse:\n    if a == 2:\n        a = 6\n    else:\n"
        "        if a == 3:\n            a = 7\n        else:\n            a = 8\nreturn a"
    )
    for optimise in (True, False):
        texts = []
        for body in (flat, nested):
            out = driver.CompilerOutput(fn(body), "t.deed", optimise=optimise)
            texts.append(out.ir_text)
        assert texts[0] == texts[1]
    no_else = "if a == 1:\n    a = 5\nelif a == 2:\n    return 6\nreturn a"
    compiled(fn(no_else))


def test_an_elif_chain_past_the_blocks_of_a_function_is_e0403():
    body = "if a == 0:\n    return 0\n" + "".join(
        f"elif a == {i}:\n    return {i}\n" for i in range(1, L.max_blocks)
    )
    source = fn(body + "return a")
    d = the_error(source, "E0403")
    assert (d.span.line, d.span.column) == position(source, "pub f(", offset=4)


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize("digits", [79, 4_300, 4_301, 100_000])
def test_a_huge_integer_literal_is_e0206_from_its_text(digits):
    source = fn("return " + "9" * digits)
    d = the_error(source, "E0206")
    assert (d.span.line, d.span.column) == position(source, "return 9", offset=7)
    assert f"{digits} digits" in d.message


def test_the_largest_integers_still_compile():
    compiled(fn(f"return {2**256 - 1}"))
    compiled(fn(f"return {-(2**255)}", returns="i256"))
    compiled(fn("return 0000" + "0" * 200 + "7"))  # leading zeros are not digits of the value


def test_a_huge_type_argument_is_a_type_error():
    d = the_error("contract C:\n    x: bytes[" + "9" * 5_000 + "]\n", "E0209")
    assert (d.span.line, d.span.column) == (2, 8)


def test_constant_arithmetic_too_big_to_print_is_reported_by_size():
    product = " * ".join(["10 ** 77"] * 60)
    d = the_error(f"contract C:\n    const K: u256 = {product}\n", "E0206")
    assert "bit number does not fit u256" in d.message


@pytest.mark.parametrize(
    "kind, literal",
    [("string", lambda n: '"' + "s" * n + '"'), ("bytes", lambda n: "0x" + "ab" * n)],
)
def test_literals_up_to_the_constant_size_and_one_byte_more(kind, literal):
    compiled(fn(f"x: {kind}[65536] = {literal(L.max_constant_bytes)}\nreturn a"))
    source = fn(f"x: {kind}[65536] = {literal(L.max_constant_bytes + 1)}\nreturn a")
    d = the_error(source, "E0407")
    assert (d.span.line, d.span.column) == position(source, "= ", offset=2)


def test_a_long_constant_string_is_e0407_at_its_literal():
    source = f'contract C:\n    const S: string[9000] = "{"s" * 5000}"\n    pub f() -> string[9000]:\n        return S\n'
    d = the_error(source, "E0407")
    assert (d.span.line, d.span.column) == (2, 29)


# --------------------------------------------------------------------------- the VM's limits


def members(count: int, line: Callable[[int], str]) -> str:
    return "".join("    " + line(i) + "\n" for i in range(count))


def test_public_functions_up_to_the_limit_and_one_more():
    pub = lambda n: "contract C:\n" + "".join(f"    pub f{i}():\n        pass\n" for i in range(n))  # noqa: E731
    compiled(pub(L.max_exports))
    source = pub(L.max_exports + 1)
    d = the_error(source, "E0405")
    assert (d.span.line, d.span.column) == position(source, f"f{L.max_exports}()")
    with_init = pub(L.max_exports) + "    init():\n        pass\n"
    d = the_error(with_init, "E0405")
    assert (d.span.line, d.span.column) == position(with_init, "init()")


def test_functions_up_to_the_limit_and_one_more():
    private = lambda n: "contract C:\n" + "".join(f"    f{i}():\n        pass\n" for i in range(n))  # noqa: E731
    compiled(private(L.max_functions))
    source = private(L.max_functions + 1)
    d = the_error(source, "E0404")
    assert (d.span.line, d.span.column) == position(source, f"f{L.max_functions}()")


def test_library_functions_count_as_functions():
    lib = "library util:\n" + "".join(
        f"    f{i}():\n        pass\n" for i in range(L.max_functions)
    )
    calls = "".join(f"        util.f{i}()\n" for i in range(L.max_functions))
    source = lib + "contract C:\n    pub g():\n" + calls
    d = the_error(source, "E0404")
    assert (d.span.line, d.span.column) == position(source, "g()")


@pytest.mark.parametrize(
    "code, limit, declare",
    [
        ("E0411", L.max_events, lambda i: f"event E{i}()"),
        ("E0412", L.max_errors, lambda i: f"error E{i}()"),
    ],
)
def test_events_and_errors_up_to_the_limit_and_one_more(code, limit, declare):
    compiled("contract C:\n" + members(limit, declare))
    source = "contract C:\n" + members(limit + 1, declare)
    d = the_error(source, code)
    assert (d.span.line, d.span.column) == (limit + 2, 5)


@pytest.mark.parametrize("kind", ["event", "error"])
def test_fields_up_to_the_limit_and_one_more(kind):
    fields = lambda n: ", ".join(f"a{i}: u8" for i in range(n))  # noqa: E731
    compiled(f"contract C:\n    {kind} E({fields(L.max_fields)})\n")
    source = f"contract C:\n    {kind} E({fields(L.max_fields + 1)})\n"
    d = the_error(source, "E0414")
    assert (d.span.line, d.span.column) == position(source, f"a{L.max_fields}:")


def test_parameters_up_to_the_limit_and_one_more():
    params = lambda n: ", ".join(f"a{i}: u8" for i in range(n))  # noqa: E731
    compiled(f"contract C:\n    pub f({params(L.max_params)}):\n        pass\n")
    source = f"contract C:\n    f({params(L.max_params + 1)}):\n        pass\n"
    d = the_error(source, "E0410")
    assert (d.span.line, d.span.column) == position(source, f"a{L.max_params}:")


def test_a_called_interface_function_with_too_many_parameters_is_e0410_at_the_call():
    params = ", ".join(f"a{i}: u8" for i in range(L.max_params + 1))
    args = ", ".join(["1"] * (L.max_params + 1))
    source = f"interface I:\n    pub h({params})\ncontract C:\n    pub f(t: address):\n        I(t).h({args})\n"
    d = the_error(source, "E0410")
    assert (d.span.line, d.span.column) == (5, 9)
    # declared but never called: not in the module, no error
    compiled(f"interface I:\n    pub h({params})\ncontract C:\n    pub f():\n        pass\n")


def test_locals_up_to_the_limit_and_one_more():
    decls = lambda n: "".join(f"x{i}: u8 = 0\n" for i in range(n))  # noqa: E731
    compiled(fn(decls(L.max_locals - 1) + "return a"))  # a is the first local
    source = fn(decls(L.max_locals) + "return a")
    d = the_error(source, "E0408")
    assert (d.span.line, d.span.column) == position(source, f"x{L.max_locals - 1}: u8")


def test_locals_the_compiler_adds_count_too():
    decls = "".join(f"x{i}: u8 = 0\n" for i in range(L.max_locals - 1))
    source = fn(
        decls + "self.m[1] += 1\nself.m[2] += 1\nreturn a"
    )  # each += keeps its key in a local
    d = the_error(source, "E0408")
    assert (d.span.line, d.span.column) == position(source, "pub f(", offset=4)
    assert "for intermediate values" in d.message


def test_interface_functions_up_to_the_limit_and_one_more():
    def source(n: int) -> str:
        iface = "interface I:\n" + members(n, lambda i: f"pub h{i}()")
        return (
            iface
            + "contract C:\n    pub f(t: address):\n"
            + "".join(f"        I(t).h{i}()\n" for i in range(n))
        )

    compiled(source(L.max_imports))
    text = source(L.max_imports + 1)
    d = the_error(text, "E0413")
    assert (d.span.line, d.span.column) == position(text, f"I(t).h{L.max_imports}()")


@pytest.mark.parametrize(
    "source, needle",
    [
        ("contract C:\n    pub {name}():\n        pass\n", "{name}"),
        ("contract C:\n    event {name}()\n", "event {name}"),
        ("contract C:\n    error E({name}: u8)\n", "{name}:"),
        (
            "interface I:\n    pub {name}()\ncontract C:\n    pub f(t: address):\n        I(t).{name}()\n",
            "I(t)",
        ),
    ],
)
def test_names_up_to_the_limit_and_one_more(source, needle):
    compiled(source.format(name="n" * L.max_name))
    text = source.format(name="n" * (L.max_name + 1))
    d = the_error(text, "E0415")
    assert (d.span.line, d.span.column) == position(
        text, needle.format(name="n" * (L.max_name + 1))
    )


def test_a_library_function_name_counts_with_its_library():
    name = "n" * (L.max_name - len("util."))
    lib = f"library util:\n    {name}x():\n        pass\n"
    source = lib + f"contract C:\n    pub f():\n        util.{name}x()\n"
    d = the_error(source, "E0415")
    assert (d.span.line, d.span.column) == (2, 5) and "LIBRARY.NAME" in d.hint
    compiled(source.replace(f"{name}x", name))


def test_a_deep_stack_is_e0409_at_the_statement():
    g_params = ", ".join(f"b{i}: u8" for i in range(L.max_params))
    args = ", ".join(["a"] * (L.max_params - 1))
    levels = L.max_stack // (L.max_params - 1) + 2
    call = "self.h(" + args + ", "
    body = "x: u8 = 1\nreturn " + call * levels + "a" + ")" * levels
    source = fn(body, "a: u8", "u8", members=f"    h({g_params}) -> u8:\n        return b0\n")
    d = the_error(source, "E0409")
    assert (d.span.line, d.span.column) == position(source, "return self.h(")


# Code size (E0402), constants (E0406) and the module's size (E0416) need large
# sources: the examples of tests/test_compiler_errors.py check their positions.


def test_block_count_is_the_verifiers():
    from deed.vm.verifier import verify

    for path in sorted((ROOT / "contracts").glob("*.deed")):
        module = compile_source(path.read_text(), str(path)).module
        verified = verify(module)
        for i, f in enumerate(verified.functions):
            assert block_count(module, i) == len(f.blocks)


# --------------------------------------------------------------------------- libraries send no value

PAY = "interface I:\n    @payable\n    pub pay()\n"
LIB = "library util:\n    f(a: address):\n        I(a).pay(value=1)\n"
CONTRACT = "contract {name}:\n    pub go(a: address):\n        util.f(a)\n"


@pytest.mark.parametrize("contracts", [1, 2, 3])
def test_a_library_sending_value_is_one_e0310_whatever_the_contracts(contracts):
    source = PAY + LIB + "".join(CONTRACT.format(name=f"C{i}") for i in range(contracts))
    for name in [f"C{i}" for i in range(contracts)]:
        with pytest.raises(CompileError) as info:
            _ = compile_source(source, "t.deed", name).module
        found = [d for d in info.value.diagnostics if d.code == "E0310"]
        assert len(found) == 1 and "cannot send value" in found[0].message and found[0].hint
        assert (found[0].span.line, found[0].span.column) == (6, 18)


def test_a_contract_keeps_its_value_with_other_contracts_in_the_file():
    contract = "contract {name}:\n    @payable\n    pub go(a: address):\n        I(a).pay(value=msg.value)\n"
    source = PAY + contract.format(name="A") + contract.format(name="B")
    for name in ("A", "B"):
        program = compile_source(source, "t.deed", name).ir
        calls = [
            n
            for b in program.function("go").blocks
            for s in b.stmts
            if isinstance(s, ir.Eval)
            for n in ir.walk(s.value)
            if isinstance(n, ir.ExtCall)
        ]
        assert calls and all(c.value is not None for c in calls)


# --------------------------------------------------------------------------- compiler panics


def test_a_module_the_vm_rejects_is_e9001_naming_the_function(monkeypatch):
    real = driver.emit

    def corrupt(program):
        """Every function starts with a POP on an empty stack: the verifier's stack rule."""
        emitted = real(program)
        functions = tuple(replace(f, code=b"\x02" + f.code) for f in emitted.module.functions)
        emitted.module = replace(emitted.module, functions=functions)
        return emitted

    monkeypatch.setattr(driver, "emit", corrupt)
    source = fn("return a")
    with pytest.raises(CompilerPanic) as info:
        _ = compile_source(source, "t.deed").module
    (d,) = info.value.diagnostics
    assert d.code == "E9001" and d.code in INTERNAL_CODES and d.code not in CODES
    assert "rule stack" in d.message and "function g" in d.message
    assert (d.span.line, d.span.column) == position(source, "g(a")


def test_an_exception_in_a_phase_is_e9000_not_a_traceback(monkeypatch):
    def fails(info):
        raise RuntimeError("lowering broke")

    monkeypatch.setattr(driver, "lower_contract", fails)
    with pytest.raises(CompilerPanic) as info:
        _ = compile_source(fn("return a"), "t.deed").module
    (d,) = info.value.diagnostics
    assert d.code == "E9000" and "lowering" in d.message and "RuntimeError" in d.message
    assert isinstance(info.value.__cause__, RuntimeError)


def test_deed_compile_exits_1_on_a_limit_and_writes_nothing(tmp_path):
    src = tmp_path / "big.deed"
    src.write_text(
        "contract C:\n" + "".join(f"    pub f{i}():\n        pass\n" for i in range(300))
    )
    r = CliRunner().invoke(main, ["compile", str(src)])
    assert r.exit_code == 1 and "error[E0405]" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "big.deedc").exists()
    deep = tmp_path / "deep.deed"
    deep.write_text(fn("return " + "-" * 10_000 + "a", "a: i256", "i256"))
    r = CliRunner().invoke(main, ["compile", str(deep), "--json"])
    assert r.exit_code == 1 and '"code": "E0401"' in r.output


def test_long_call_chains_compile_and_analyse():
    chain = "".join(f"    f{i}() -> u8:\n        return self.f{i + 1}()\n" for i in range(900))
    source = "contract C:\n" + chain + "    f900() -> u8:\n        return 1\n"
    source += "    pub g() -> u8:\n        return self.f0()\n"
    out = compiled(source)
    analyze(out, with_gas=True)


def test_many_blocks_in_a_row_analyse():
    body = "".join(f"if a == {i}:\n    self.m[{i}] = 1\n" for i in range(450)) + "return a"
    out = compiled(fn(body))
    assert len(out.ir.function("f").blocks) > 900
    analyze(out, with_gas=True)


# --------------------------------------------------------------------------- generated sources


def _expr(depth: int, draw) -> str:
    """A boolean-free u256 expression nesting about ``depth`` levels."""
    if depth <= 0:
        return draw(st.sampled_from(["a", "1", "self.m[a]", "self.g(a)", "7"]))
    inner = _expr(depth - 1, draw)
    shape = draw(st.sampled_from(["add", "paren", "call", "index", "chain", "mul"]))
    if shape == "add":
        return f"{inner} + a"
    if shape == "paren":
        return f"(a + ({inner}))"
    if shape == "call":
        return f"self.g({inner})"
    if shape == "index":
        return f"self.m[{inner}]"
    if shape == "mul":
        return f"a * ({inner})"
    return " + ".join([inner] + ["a"] * draw(st.integers(1, 4)))


@st.composite
def nested_sources(draw) -> str:
    """Sources that nest and chain on the way to and past every limit: each
    part is there or not, mostly within the limits, sometimes far past them."""

    def size(usual: int, far: int) -> int:
        return draw(st.one_of(st.integers(0, usual), st.integers(usual, far)))

    parts = [f"x: u256 = {_expr(size(20, MAX_NESTING + 10), draw)}"]
    if draw(st.booleans()):
        blocks = size(40, MAX_NESTING + 10)
        parts.append(
            "".join("    " * i + "if a > 1:\n" for i in range(blocks)) + "    " * blocks + "a = 2"
        )
    if draw(st.booleans()):
        elifs = size(300, 700)
        parts.append(
            "if a == 0:\n    a = 1\n"
            + "".join(f"elif a == {i}:\n    a = {i}\n" for i in range(1, elifs))
        )
    if draw(st.booleans()):
        parts.append("b: bool = " + "not " * size(50, 200) + "a > 2")
    if draw(st.booleans()):
        parts.append("c: bool = " + " or ".join(["a > 3"] * (1 + size(50, 200))))
    if draw(st.integers(0, 3)) == 0:
        digits = draw(st.sampled_from([77, 78, 79, 300, 4_299, 4_300, 4_301, 20_000]))
        parts.append(f"a = {'9' * digits}")
    if draw(st.booleans()):
        parts.append('require(a > 0, "' + "r" * size(100, L.max_constant_bytes + 20) + '")')
    order = draw(st.permutations(range(len(parts))))
    return fn("\n".join(parts[i] for i in order) + "\nreturn a")


def _compile_or_diagnose(source: str) -> None:
    """Either a module the VM loads, or user diagnostics with positions: nothing else."""
    try:
        out = compile_source(source, "gen.deed")
        module = out.module
    except CompileError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.code in CODES, d.render(source)  # never a compiler panic
            assert d.span.line >= 1 and d.span.line <= source.count("\n") + 1
            d.render(source)
        return
    load(module.encode())


@settings(max_examples=40, deadline=None)
@given(nested_sources())
def test_generated_deep_and_long_sources_compile_or_get_diagnostics(source):
    _compile_or_diagnose(source)


@st.composite
def programs_near_the_limits(draw) -> tuple[str, set[str]]:
    """Valid programs with counts drawn around the VM's limits, and the codes
    the counts alone must cause."""
    expected: set[str] = set()

    def around(limit: int, spread: int = 3) -> int:
        return draw(st.integers(max(0, limit - spread), limit + spread))

    out = []
    events = around(L.max_events) if draw(st.booleans()) else draw(st.integers(0, 5))
    out += [f"    event E{i}(a: u8)" for i in range(events)]
    expected |= {"E0411"} if events > L.max_events else set()
    fields = around(L.max_fields)
    out.append("    error Wide(" + ", ".join(f"a{i}: u8" for i in range(fields)) + ")")
    expected |= {"E0414"} if fields > L.max_fields else set()
    name = around(L.max_name)
    out.append(f"    pub {'n' * name}() -> u8:\n        return 1")
    expected |= {"E0415"} if name > L.max_name else set()
    exports = around(L.max_exports - 2) if draw(st.booleans()) else draw(st.integers(0, 5))
    out += [f"    pub p{i}() -> u8:\n        return {i % 7}" for i in range(exports)]
    expected |= {"E0405"} if exports + 2 > L.max_exports else set()  # and n..., q
    decls = around(L.max_locals - 1)
    body = "".join(f"        v{i}: u8 = {i % 5}\n" for i in range(decls))
    expected |= {"E0408"} if decls + 1 > L.max_locals else set()
    text = around(L.max_constant_bytes)
    body += '        require(a > 0, "' + "t" * text + '")\n'
    expected |= {"E0407"} if text > L.max_constant_bytes else set()
    branches = draw(st.integers(1, 700))
    body += "        if a == 0:\n            a = 1\n"
    body += "".join(
        f"        elif a == {i}:\n            a = {i + 1}\n" for i in range(1, branches)
    )
    out.append(f"    pub q(a: uint) -> uint:\n{body}        return a")
    return "contract C:\n" + "\n".join(out) + "\n", expected


@settings(max_examples=20, deadline=None)
@given(programs_near_the_limits())
def test_a_compiled_program_always_loads_and_a_failure_is_a_limit(case):
    source, expected = case
    try:
        out = compile_source(source, "gen.deed")
        module = out.module
    except CompileError as exc:
        codes = {d.code for d in exc.diagnostics}
        assert codes <= {c for c in CODES if c.startswith("E04")}, codes
        assert expected <= codes
        return
    assert not expected
    load(module.encode())
