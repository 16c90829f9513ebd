"""Syntax errors speak the author's language: no name of the grammar's own
(``__ANON_0``, ``LPAR``, ``_NL``) ever reaches a message or a hint, and the
parser is Lark in strict mode (no shift/reduce conflict, no colliding
terminals)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

from deed.compiler.diagnostics import CompileError
from deed.compiler.driver import compile_source
from deed.compiler.parser import (
    _UNNAMED,
    GRAMMAR,
    TOKEN_NAMES,
    DeedIndenter,
    _expected,
    parse,
    parser,
    token_name,
)

# A name of the grammar's own; the sources below write no such text themselves
# (no word of two capitals, no underscore-led name), so a match is the parser's.
INTERNAL = re.compile(r"__ANON|_NL|_INDENT|_DEDENT|_IGNORE|\$END|\b[A-Z]{2,}\b")
SYNTAX = {"E0001", "E0002", "E0003"}


def syntax_diagnostic(source: str):
    with pytest.raises(CompileError) as info:
        parse(source, "t.deed")
    (d,) = info.value.diagnostics
    assert d.code in SYNTAX or d.code in ("E0206", "E0401"), d
    return d


def test_the_parser_is_strict():
    assert parser().options.strict
    # Built afresh (not from the cache): strict mode raises on any conflict or collision.
    Lark(GRAMMAR.read_text(), parser="lalr", postlex=DeedIndenter(), strict=True)


def all_terminals() -> list[str]:
    return [t.name for t in parser().terminals] + ["_INDENT", "_DEDENT", "$END"]


@pytest.mark.parametrize("name", all_terminals())
def test_every_terminal_has_a_name_the_author_knows(name):
    friendly = token_name(name)
    assert friendly != _UNNAMED, name
    assert not INTERNAL.search(friendly), (name, friendly)
    assert "_" not in friendly.strip("'"), (name, friendly)


def test_keywords_and_symbols_are_named_by_their_text():
    names = {t.name: t for t in parser().terminals}
    for name, term in names.items():
        if term.pattern.type == "str":
            assert token_name(name) == f"'{term.pattern.value}'"
    assert token_name("AND") == "'and'"
    assert token_name("__ANON_0") == "'->'"  # whichever the anonymous ones are, by text
    assert set(TOKEN_NAMES) <= set(all_terminals())


def test_expected_lists_read_as_english():
    assert _expected({"COLON"}) == "':'"
    assert _expected({"COLON", "LPAR"}) == "'(' or ':'"
    assert _expected({"COLON", "LPAR", "_NL"}) == "'(', ':' or end of line"
    assert _expected({"NAME", "INT", "HEX", "STRING", "TRUE", "FALSE", "LPAR", "MINUS", "NOT"}) == (
        "an expression"
    )
    ops = {"ADDOP", "MULOP", "COMPOP", "SHIFTOP", "AND", "OR", "VBAR", "AMPERSAND", "_NL"}
    assert _expected(ops) == "an operator or end of line"
    assert _expected(set()) == "something else"


# Malformed sources, each a mistake an author makes; user text is lowercase.
MALFORMED = [
    "contract c\n",
    "contract c:\n",
    "contract:\n    x: u8\n",
    "contract c:\n    x u8\n",
    "contract c:\n    x: \n",
    "contract c:\n    x: map[u8\n",
    "contract c:\n    x: map[u8,]\n",
    "contract c:\n    pub f(:\n        pass\n",
    "contract c:\n    pub f(a u8):\n        pass\n",
    "contract c:\n    pub f(a: u8) u8:\n        pass\n",
    "contract c:\n    pub f(a: u8) -> :\n        pass\n",
    "contract c:\n    pub f()\n        pass\n",
    "contract c:\n    pub f():\n    pass\n",
    "contract c:\n    pub f():\n        return a +\n",
    "contract c:\n    pub f():\n        return a and\n",
    "contract c:\n    pub f():\n        return a b\n",
    "contract c:\n    pub f():\n        return a.\n",
    "contract c:\n    pub f():\n        return a ** \n",
    "contract c:\n    pub f():\n        return (a\n",
    "contract c:\n    pub f():\n        return [a b]\n",
    "contract c:\n    pub f():\n        x = f(a,\n        return x\n",
    "contract c:\n    pub f():\n        if a\n            pass\n",
    "contract c:\n    pub f():\n        if a:\n        pass\n",
    "contract c:\n    pub f():\n        else:\n            pass\n",
    "contract c:\n    pub f():\n        for in x:\n            pass\n",
    "contract c:\n    pub f():\n        for i x:\n            pass\n",
    "contract c:\n    pub f():\n        x: = 1\n",
    "contract c:\n    pub f():\n        x += \n",
    "contract c:\n    pub f():\n        x = = 1\n",
    "contract c:\n    pub f():\n        emit\n",
    "contract c:\n    pub f():\n        emit e\n",
    "contract c:\n    pub f():\n        revert\n",
    "contract c:\n    pub f():\n        a < b < c\n",
    "contract c:\n    pub f():\n        return not\n",
    "contract c:\n    pub f():\n        return -\n",
    "contract c:\n    pub f():\n        return a[]\n",
    "contract c:\n    pub f():\n        return a(b=)\n",
    "contract c:\n    pub f():\n        pass pass\n",
    "contract c:\n    pub f():\n        pass\n      pass\n",
    "contract c:\n    pub f():\n        pass\n            pass\n",
    "contract c:\n    event e(a: u8\n",
    "contract c:\n    event e a: u8)\n",
    "contract c:\n    struct s:\n        a u8\n",
    "contract c:\n    enum e:\n        a, b\n",
    "contract c:\n    const k: u8\n",
    "contract c:\n    @\n    pub f():\n        pass\n",
    "contract c:\n    @view pub f():\n        pass\n",
    "interface i:\n    pub f():\n        pass\n",
    "interface i:\n    f() ->\n",
    "import\n",
    "import stdlib.\n",
    "library l\n",
    "x: u8\n",
    "pub f():\n    pass\n",
    ")\n",
    "contract c:\n    pub f():\n        x = $\n",
    "contract c:\n    pub f():\n        x = `a`\n",
    'contract c:\n    pub f():\n        x = "a\n',
    "contract c:\n    pub f():\n        x = 0x1\n",
    'contract c:\n    pub f():\n        x = "\\q"\n',
    # habits of Vyper and Solidity
    "contract c:\n    def f(x: uint256) -> uint256:\n        return x\n",
    "contract c:\n    pub f():\n        log e(1)\n",
    "contract c:\n    x: public(uint256)\n",
    "contract c {\n}\n",
    "contract c:\n    function f() public {\n",
    "contract c:\n    uint256 x;\n",
    "contract c:\n    pub f():\n        x = 1;\n",
    "contract c:\n    pub f():\n        require(a && b)\n",
]


@pytest.mark.parametrize("source", MALFORMED)
def test_no_grammar_name_in_a_syntax_error(source):
    d = syntax_diagnostic(source)
    assert d.code in SYNTAX
    assert not INTERNAL.search(d.message), d.message
    assert d.hint, d.render(source)
    assert not INTERNAL.search(d.hint), d.hint
    assert 1 <= d.span.line <= source.count("\n") + 1, d.render(source)


# Words and symbols of the language, and lowercase names: soup made of them
# yields every kind of syntax error, and none may name a terminal.
PIECES = [
    *"()[]:,.=+-*/%<>&|^@!;{}'$#",
    "->",
    "**",
    "==",
    "+=",
    "<<",
    "0",
    "7",
    "0x1",
    "0xf",
    '"s"',
    "x",
    "y",
    "f",
    "u8",
    "map",
    "self",
    "True",
    "False",
    *"contract interface library import struct enum event error report const pub".split(),
    *"return pass break continue revert assert emit if elif else for in or and not".split(),
    " ",
    "\n",
    "\n    ",
    "\n        ",
    "\\\n",
    *"def log function mapping uint256 public".split(),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_token_soup_never_shows_a_grammar_name(pieces):
    source = "contract c:\n    pub f(a: u8):\n        " + " ".join(pieces)
    try:
        parse(source, "t.deed")
    except CompileError as exc:
        for d in exc.diagnostics:
            assert not INTERNAL.search(d.message), d.message
            assert not INTERNAL.search(d.hint or ""), d.hint


def test_an_unclosed_bracket_is_shown_where_it_opens():
    d = syntax_diagnostic("contract c:\n    pub f() -> u8:\n        return (1\n")
    assert (d.span.line, d.span.column) == (3, 16)
    assert d.message == "this '(' is never closed" and d.hint == "close it with ')'"
    d = syntax_diagnostic("contract c:\n    m: map[u8, u8\n    pub f() -> u8:\n        return 1\n")
    assert (d.span.line, d.code) == (3, "E0001")
    assert "the '[' on line 2, column 11 is still open" in d.hint


def test_a_block_that_ends_at_the_end_of_the_file_points_at_its_last_line():
    d = syntax_diagnostic("contract c:\n    pub f() -> u8:\n\n")
    assert d.code == "E0002" and d.span.line == 2
    assert d.hint == "expected an indented block"


def test_lines_are_counted_as_the_parser_counts_them():
    # A form feed is whitespace to the lexer and a line break to str.splitlines.
    source = "contract c:\n    x: u8\x0c\n    pub f(:\n        pass\n"
    d = syntax_diagnostic(source)
    assert d.span.line == 3
    assert "pub f(:" in d.render(source)


def test_a_continued_line_still_compiles():
    source = "contract c:\n    pub f(a: u8) -> u8:\n        return a + \\\n            a\n"
    assert compile_source(source).module


def test_a_stray_closing_bracket_after_the_error_is_no_crash():
    # Found by tests/test_grammar_fuzz.py: looking for an open bracket used to
    # run Lark's indenter over the whole source, which asserts on a stray ']'.
    d = syntax_diagnostic("interface i:\n    @a\n]\n")
    assert d.code == "E0002" and d.hint == "expected '@' or 'pub'"
    d = syntax_diagnostic('contract c:\n    pub f():\n        x = ("(" # (\n')
    assert (d.span.line, d.span.column) == (3, 13)  # brackets in strings and comments do not count
