"""Every error code: a source that triggers it, its message and its position.

spec/language.md lists the same examples; test_language_spec checks that
every code in the catalogue appears in both places."""

import pytest

from deed.compiler.diagnostics import CODES, EXAMPLES, CompileError
from deed.compiler.driver import compile_source
from deed.compiler.nesting import MAX_NESTING
from deed.vm.opcodes import LIMITS


def c(body: str, head: str = "") -> str:
    """A contract around ``body`` (indented by 4), with optional members in ``head``."""
    return head + "contract C:\n" + "".join("    " + line + "\n" for line in body.splitlines())


CASES = [
    # code, source, line, column, message fragment
    ("E0001", "contract C\n", 1, 11, "unexpected end of line"),
    ("E0001", c("pub f(:\n    pass"), 2, 11, "unexpected ':'"),
    ("E0002", "contract C:\n    x: u8\n      y: u8\n", 3, 1, "unexpected indentation"),
    ("E0002", "contract C:\n    pub f():\n        pass\n      x: u8\n", 4, 1, "indentation"),
    ("E0003", c("pub f():\n    x: u8 = $"), 3, 17, "unexpected character '$'"),
    ("E0003", c('pub f():\n    require(True, "a\\q")'), 3, 23, "unknown escape"),
    ("E0101", c("pub f() -> u8:\n    return y"), 3, 16, "undefined name y"),
    ("E0101", c("pub f():\n    emit Nope(1)"), 3, 9, "no event named Nope"),
    ("E0102", c("x: u8\nx: u16"), 3, 5, "x is already defined"),
    ("E0102", c("pub f(a: u8, a: u8):\n    pass"), 2, 18, "parameter a is declared twice"),
    ("E0103", c("x: float"), 2, 8, "unknown type float"),
    ("E0103", c("x: string"), 2, 8, "unknown type string"),
    ("E0104", "import stdlib.nothing\n" + c("x: u8"), 1, 1, "unknown module stdlib.nothing"),
    ("E0105", c("pub f() -> u8:\n    return msg.gas"), 3, 16, "msg has no member gas"),
    ("E0105", c("enum E:\n    A\npub f() -> E:\n    return E.B"), 5, 16, "E has no member B"),
    ("E0201", c("pub f() -> bool:\n    return 5"), 3, 16, "expected bool, found u256"),
    ("E0201", c('pub f():\n    require(1, "x")'), 3, 17, "expected bool"),
    ("E0202", c("pub f() -> bool:\n    return True + 1 == 2"), 3, 16, "needs integers"),
    ("E0202", c("pub f(a: address) -> bool:\n    return a < a"), 3, 16, "< needs integers"),
    (
        "E0203",
        c("pub f(a: u64) -> u8:\n    return a"),
        3,
        16,
        "u64 does not convert to u8 implicitly",
    ),
    ("E0203", c("pub f(a: u8, b: i8) -> bool:\n    return a == b"), 3, 16, "comparing u8 with i8"),
    ("E0204", c("pub f() -> u8:\n    return min(1)"), 3, 16, "min takes 2 arguments, got 1"),
    (
        "E0204",
        c("g(a: u8):\n    pass\npub f():\n    self.g(1, 2)"),
        5,
        9,
        "g takes 1 argument(s), got 2",
    ),
    ("E0205", c("error Oops()\npub f():\n    Oops()"), 4, 9, "Oops is an error"),
    ("E0205", c("x: u8\npub f():\n    self.x()"), 4, 9, "this is not a function"),
    ("E0206", c("pub f() -> u8:\n    return 256"), 3, 16, "256 does not fit u8"),
    ("E0206", c("pub f() -> i8:\n    return -129"), 3, 16, "-129 does not fit i8"),
    ("E0207", c("const K: u8 = 1\npub f():\n    K = 2"), 4, 9, "K is a constant"),
    (
        "E0207",
        c("pub f():\n    for i in range(3):\n        i = 1"),
        4,
        13,
        "loop variable i cannot be assigned",
    ),
    ("E0208", c("pub f(m: map[u8, u8]):\n    pass"), 2, 14, "can only live in storage"),
    ("E0209", c("m: map[u8]"), 2, 8, "map takes a key type and a value type"),
    ("E0209", c("s: string[0]"), 2, 8, "string[N] takes one length"),
    ("E0301", c("x: u8\n@view\npub f():\n    self.x = 1"), 5, 9, "the view f changes state"),
    (
        "E0301",
        c("x: u8\ng():\n    self.x = 1\n@view\npub f():\n    self.g()"),
        7,
        9,
        "calls g, which changes state",
    ),
    (
        "E0302",
        c("pub f() -> uint:\n    return msg.value"),
        3,
        16,
        "reads msg.value but is not @payable",
    ),
    ("E0303", c("g():\n    self.h()\nh():\n    self.g()"), 5, 9, "recursion: g -> h -> g"),
    ("E0303", c("g():\n    self.g()"), 3, 9, "recursion: g -> g"),
    (
        "E0304",
        c("pub f(a: bool) -> u8:\n    if a:\n        return 1"),
        2,
        5,
        "does not return a value on every path",
    ),
    (
        "E0305",
        c("pub f(n: uint):\n    for i in range(n):\n        pass"),
        3,
        18,
        "no constant bound",
    ),
    (
        "E0305",
        c("pub f(n: uint):\n    for i in range(n, max=n):\n        pass"),
        3,
        27,
        "max= needs a constant",
    ),
    ("E0306", c("pub f():\n    break"), 3, 9, "break outside a loop"),
    ("E0307", c("pub init():\n    pass"), 2, 5, "init is the constructor"),
    ("E0307", c("init() -> u8:\n    return 1"), 2, 15, "init returns nothing"),
    ("E0308", c("@pure\npub f():\n    pass"), 2, 5, "unknown decorator @pure"),
    ("E0308", c("@view\n@payable\npub f():\n    pass"), 2, 5, "both @view and @payable"),
    ("E0309", c("pub f() -> u8:\n    return 1\n    return 2"), 4, 9, "this code can never run"),
    ("E0209", c("xs: list[u8]"), 2, 9, "list takes an element type and a capacity"),
    (
        "E0209",
        c("report R(who: address)"),
        2,
        19,
        "a report field is an unsigned integer or bytes32",
    ),
    ("E0208", c("report R(n: uint)\nkept: R"), 3, 11, "lives only in local variables"),
    ("E0209", c("xs: list[map[u8, u8], 3]"), 2, 14, "a list element cannot be"),
    (
        "E0310",
        "library util:\n    f() -> address:\n        return self.address\n" + c("x: u8"),
        3,
        16,
        "library util has no self",
    ),
    (
        "E0310",
        "library util:\n    x: u8\n" + c("y: u8"),
        2,
        5,
        "a library holds only constants and functions",
    ),
    (
        "E0105",
        "import stdlib.math\n" + c("pub f() -> uint:\n    return math.nope(1)"),
        4,
        16,
        "library math has no function nope",
    ),
    ("E0311", "interface I:\n    pub f()\n", 1, 1, "no contract in this file"),
    ("E0312", c("pub receive():\n    pass"), 2, 9, "receive takes plain value transfers"),
    ("E0312", c("@payable\npub receive(a: u8):\n    pass"), 3, 17, "receive takes no parameters"),
    (
        "E0102",
        c("pub total: uint\npub total() -> uint:\n    return 1"),
        3,
        5,
        "the pub state variable total has a getter of this name",
    ),
    (
        "E0208",
        c("struct S:\n    m: map[u8, u8]\npub s: S"),
        4,
        5,
        "a pub getter returns a value: S keeps m in storage",
    ),
    ("E0313", c("event E(indexed s: string[8])"), 2, 13, "an indexed field has a fixed-size type"),
    (
        "E0313",
        c("event E(indexed a: u8, indexed b: u8, indexed c: u8, indexed d: u8, indexed e: u8)"),
        2,
        73,
        "event E has 5 indexed fields: at most 4",
    ),
    (
        "E0310",
        "interface I:\n    @payable\n    pub pay()\nlibrary util:\n    f(a: address):\n"
        "        I(a).pay(value=1)\n" + c("x: u8"),
        6,
        18,
        "library util cannot send value",
    ),
    ("E0206", c("pub f() -> uint:\n    return " + "9" * 5000), 3, 16, "5000 digits: over 256 bits"),
]


def at(source: str, needle: str) -> tuple[int, int]:
    """Line and column (1-based) of the first ``needle`` in ``source``."""
    i = source.index(needle)
    return source.count("\n", 0, i) + 1, i - source.rfind("\n", 0, i)


def example(code: str, line: int | None = None, column: int | None = None, needle: str = ""):
    source = EXAMPLES[code]
    if needle:
        line, column = at(source, needle)
    return (code, source, line, column, "")


L = LIMITS
CASES += [  # the limits: the examples of the spec, at the declaration, literal or statement at fault
    example("E0401", 3, len("        return ") + 1 + len("not ") * (MAX_NESTING - 1)),
    example("E0402", 2, 9),
    example("E0403", 2, 9),
    example("E0404", needle=f"f{L.max_functions}()"),
    example("E0405", needle=f"f{L.max_exports}()"),
    example("E0406", needle=f"a += {L.max_constants + 2}\n"),
    example("E0407", needle='"xxx'),
    example("E0408", needle=f"x{L.max_locals}: u8"),
    example("E0409", 5, 9),
    example("E0410", needle=f"a{L.max_params}: u8"),
    example("E0411", needle=f"event E{L.max_events}()"),
    example("E0412", needle=f"error E{L.max_errors}()"),
    example("E0413", needle=f"I(a).f{L.max_imports}()"),
    example("E0414", needle=f"a{L.max_fields}: u8"),
    example("E0415", needle="f" * (L.max_name + 1)),
    example("E0416", 1, 1),
]


@pytest.mark.parametrize(
    "code, source, line, column, fragment", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_error_code_message_and_position(code, source, line, column, fragment):
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    diags = info.value.diagnostics
    match = [d for d in diags if d.code == code]
    assert match, f"expected {code}, got {[(d.code, d.message) for d in diags]}"
    d = match[0]
    assert fragment in d.message, d.message
    assert (d.span.line, d.span.column) == (line, column), d.render(source)
    rendered = d.render(source)
    assert rendered.startswith(f"t.deed:{line}:{column}: error[{code}]")
    assert "^" in rendered


def test_every_code_has_a_test():
    assert {c[0] for c in CASES} == set(CODES)


def test_several_independent_errors_are_reported_together():
    source = c(
        "pub f() -> u8:\n    return 300\npub g() -> bool:\n    return nope\npub h():\n    break"
    )
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    assert [d.code for d in info.value.diagnostics] == ["E0206", "E0101", "E0306"]


def test_one_mistake_is_reported_once():
    with pytest.raises(CompileError) as info:
        _ = compile_source(c("pub f() -> u8:\n    return missing + 1"), "t.deed").module
    assert [d.code for d in info.value.diagnostics] == ["E0101"]


def _diagnostics(source: str) -> list:
    with pytest.raises(CompileError) as info:
        _ = compile_source(source, "t.deed").module
    return info.value.diagnostics


@pytest.mark.parametrize(
    "body, code, hint",
    [
        ("total: uint\npub f() -> uint:\n    return totl", "E0101", "did you mean self.total?"),
        ("total: uint\npub f() -> uint:\n    return self.totl", "E0105", "self.total?"),
        ("pub f() -> address:\n    return msg.sendr", "E0105", "did you mean msg.sender?"),
        ("pub f() -> uint:\n    amount: uint = 1\n    return amont", "E0101", "amount?"),
        ("pub f() -> uint:\n    return lenn(0x01)", "E0101", "did you mean len?"),
        ("pub f() -> uint:\n    return Uint(1)", "E0101", "did you mean uint?"),
        (
            "fee() -> uint:\n    return 1\npub f() -> uint:\n    return self.fees()",
            "E0105",
            "self.fee?",
        ),
        ("enum S:\n    Open\npub f() -> S:\n    return S.Opne", "E0105", "did you mean S.Open?"),
        ("x: Unit\n", "E0103", "did you mean uint?"),
    ],
)
def test_misspelt_names_get_a_suggestion(body, code, hint):
    """A typo of a name, member, builtin or type is reported once, with the name meant."""
    diags = _diagnostics(c(body))
    assert [d.code for d in diags] == [code]
    assert diags[0].hint is not None and hint in diags[0].hint, diags[0].hint


def test_an_undefined_function_is_an_undefined_name():
    diags = _diagnostics(c("pub f():\n    foo(1)"))
    assert [(d.code, d.message) for d in diags] == [("E0101", "undefined name foo")]


def test_errors_in_arguments_of_an_undefined_function_are_still_reported():
    diags = _diagnostics(c("pub f():\n    foo(nope)"))
    assert [d.message for d in diags] == ["undefined name foo", "undefined name nope"]


def test_a_bad_member_causes_no_follow_on_error():
    diags = _diagnostics(c("pub f() -> address:\n    a: address = msg.sendr\n    return a"))
    assert [d.code for d in diags] == ["E0105"]


def test_a_bad_reason_is_reported_once():
    diags = _diagnostics(c('pub f(a: uint):\n    require(a > 0, "bad: " + 1)'))
    assert len(diags) == 1


@pytest.mark.parametrize(
    "body, first_line",
    [
        ("x: u8\nx: u16", 2),
        ("pub f():\n    pass\npub f():\n    pass", 2),
        ("pub f(a: u8, a: u8):\n    pass", 2),
        ("pub f():\n    a: u8 = 1\n    if True:\n        a: u8 = 2", 3),
        ("struct S:\n    a: u8\n    a: u8", 3),
    ],
)
def test_a_duplicate_definition_points_at_both_places(body, first_line):
    source = c(body)
    (d,) = _diagnostics(source)
    assert d.code == "E0102"
    assert len(d.notes) == 1 and d.notes[0].span.line == first_line
    assert d.notes[0].span.line != d.span.line or d.notes[0].span.column != d.span.column
    rendered = d.render(source)
    assert f"t.deed:{first_line}:" in rendered and rendered.count("^") >= 2
    assert d.to_json()["notes"][0]["line"] == first_line


@pytest.mark.parametrize(
    "body, code, fragment",
    [
        ("x: uint256", "E0103", "`uint` (or `u256`)"),
        ("x: HashMap[address, uint]", "E0103", "map["),
        ("@external\npub f():\n    pass", "E0308", "pub"),
        ("pub f() -> uint:\n    return uint256(1)", "E0101", "`uint`"),
        ("pub f() -> u64:\n    return now", "E0101", "block.timestamp"),
    ],
)
def test_habits_that_parse_get_the_deed_form_from_the_checker(body, code, fragment):
    """Vyper and Solidity names that parse but do not resolve get the same hints
    as lines that do not parse (deed.compiler.hints)."""
    diags = _diagnostics(c(body))
    assert [d.code for d in diags] == [code]
    assert diags[0].hint is not None and fragment in diags[0].hint, diags[0].hint


def test_misspelt_library_members_get_a_suggestion():
    source = c(
        "pub f(a: uint) -> uint:\n    return math.mul_dv(a, 1, math.BSP)", "import stdlib.math\n"
    )
    diags = _diagnostics(source)
    assert [(d.code, d.hint) for d in diags] == [
        ("E0105", "did you mean math.mul_div?"),
        ("E0105", "did you mean math.BPS?"),
    ]
