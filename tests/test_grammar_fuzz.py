"""Sentences of the grammar itself (hypothesis.extra.lark): every one parses,
and every one compiles to a module or to diagnostics, never to a Python
exception or an internal error (E9xxx).

``from_lark`` draws terminals and joins them. The indenter's terminals are
declared, not defined, so the draw writes markers for them (and a newline
for ``_NL``), and :func:`render` turns the markers into indentation. Words
and symbols are drawn with spaces around them, so that two never glue into
one; ``test_glued_sentences_never_crash`` draws them bare.

``DEED_FUZZ_EXAMPLES=5000`` runs a longer campaign than the default.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import LarkStrategy
from lark import Lark
from lark.grammar import Terminal

from deed.compiler.diagnostics import INTERNAL_CODES, CompileError, CompilerPanic
from deed.compiler.driver import compile_source
from deed.compiler.parser import GRAMMAR, parse

EXAMPLES = int(os.environ.get("DEED_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

INDENT, DEDENT = "\x01", "\x02"

# The grammar without the indenter (from_lark reads its rules, not its lexer).
WHOLE = Lark(GRAMMAR.read_text(), parser="lalr")
TERMINALS = {t.name: t for t in WHOLE.terminals}
IGNORED = list(WHOLE.lexer_conf.ignore)
KEYWORDS = {t.pattern.value for t in WHOLE.terminals if t.pattern.type == "str"}

# Names the checker knows, so that some sentences get past name resolution.
NAMES = [
    "a", "b", "c", "x", "i", "f", "g", "C", "S", "E", "A", "Ev", "Er", "K", "m", "xs",
    "self", "msg", "sender", "value", "block", "timestamp", "height", "address", "balance",
    "uint", "u8", "i8", "u64", "bool", "bytes32", "string", "bytes", "map", "list",
    "min", "max", "len", "empty", "require", "send", "range", "keccak256", "sha256",
    "push", "pop", "init", "view", "payable", "stdlib", "math",
]  # fmt: skip


def spaced(strategy):
    return strategy.map(lambda s: f" {s} ")


def name_strategy():
    free = st.from_regex(TERMINALS["NAME"].pattern.to_regexp(), fullmatch=True).filter(
        lambda s: s not in KEYWORDS
    )
    return st.one_of(st.sampled_from(NAMES), free)


def explicit(bare: bool = False, valid: bool = False) -> dict:
    """Strategies for the terminals: the declared ones as markers, the rest
    spaced (unless ``bare``), with literals near the edges of their ranges
    (only literals the parser accepts when ``valid``)."""
    ints = ["0", "1", "2", "7", "8", "255", "256", "1_000"]
    hexes = ["0x", "0x00", "0xff", "0x0102", "0x" + "ab" * 32]
    strings = ['""', '"a"', '"x\\n"', '"\\x41"', '"é"']
    if not valid:
        ints.append("0" * 80 + "1")
        hexes += ["0xabc", "0x" + "ab" * 33]
        strings.append('"\\q"')
    out = {
        "_INDENT": st.just(INDENT),
        "_DEDENT": st.just(DEDENT),
        "_NL": st.sampled_from(["\n", "  # note\n", "\n\n"]),
        "NAME": name_strategy(),
        "INT": st.one_of(
            st.sampled_from(ints), st.integers(0, 2**256 if valid else 2**260).map(str)
        ),
        "HEX": st.sampled_from(hexes),
        "STRING": st.sampled_from(strings),
    }
    if bare:
        return out
    for name, term in TERMINALS.items():
        if name in out or name in IGNORED:
            continue
        if term.pattern.type == "str":
            out[name] = st.just(f" {term.pattern.value} ")
        else:
            out[name] = spaced(st.from_regex(term.pattern.to_regexp(), fullmatch=True))
    for name in ("NAME", "INT", "HEX", "STRING"):
        out[name] = spaced(out[name])
    for name in IGNORED:  # no comment that swallows the rest of a line, no line continuation
        out[name] = st.just(" ")
    return out


def render(text: str) -> str:
    """Markers to indentation: each line starts at the depth of the blocks
    open before its first character (the indenter's markers always follow a
    line end)."""
    depth, lines = 0, []
    for raw in text.split("\n"):
        content = []
        for ch in raw:
            if ch == INDENT:
                depth += 1
            elif ch == DEDENT:
                depth -= 1
            else:
                content.append(ch)
        body = "".join(content).lstrip(" \t\f")
        lines.append("    " * depth + body if body else "")
    return "\n".join(lines)


class Bounded(LarkStrategy):
    """``from_lark``'s strategy with a budget: after ``budget`` expansions of
    rules, each rule takes one of its shallowest expansions. Most rules of an
    expression grammar recurse (``postfix`` in three ways of four), so an
    unbounded draw mostly overruns hypothesis' buffer and is thrown away."""

    def __init__(self, grammar: Lark, explicit: dict, budget: int, start: str | None = None):
        super().__init__(grammar, start, explicit, st.characters(codec="utf-8"))
        self.budget = budget
        self.spent = 0
        expansions = {k: list(v.elements) for k, v in self.nonterminal_strategies.items()}
        height: dict[str, float] = {k: float("inf") for k in expansions}

        def of(expansion) -> float:
            return max((height.get(s.name, 0) for s in expansion), default=0)

        changed = True
        while changed:
            changed = False
            for k, options in expansions.items():
                h = 1 + min(of(e) for e in options)
                if h < height[k]:
                    height[k], changed = h, True
        self.shallow = {
            k: st.sampled_from([e for e in options if 1 + of(e) == height[k]])
            for k, options in expansions.items()
        }

    def do_draw(self, data):
        self.spent = 0
        return super().do_draw(data)

    def draw_symbol(self, data, symbol, draw_state):
        if isinstance(symbol, Terminal):
            return super().draw_symbol(data, symbol, draw_state)
        self.spent += 1
        options = self.nonterminal_strategies if self.spent < self.budget else self.shallow
        data.start_span(self.rule_label(symbol.name))
        try:
            for e in data.draw(options[symbol.name]):
                self.draw_symbol(data, e, draw_state)
                self.gen_ignore(data, draw_state)
        finally:
            data.stop_span()


SENTENCES = Bounded(WHOLE, explicit(), budget=150).map(render)
GLUED = Bounded(WHOLE, explicit(bare=True), budget=150).map(render)

# Codes a sentence of the grammar may still get from the parser: literals
# the grammar cannot rule out, and the nesting limit.
PARSE_CODES = {"E0003", "E0206", "E0401"}


def compiles_or_diagnoses(source: str) -> None:
    try:
        _ = compile_source(source, "fuzz.deed").module
    except CompilerPanic as exc:
        pytest.fail(f"internal error on:\n{source}\n{exc}")
    except CompileError as exc:
        assert not {d.code for d in exc.diagnostics} & set(INTERNAL_CODES), exc


@FUZZ
@given(SENTENCES)
def test_sentences_of_the_grammar_parse(source):
    try:
        parse(source, "fuzz.deed")
    except CompileError as exc:
        for d in exc.diagnostics:
            assert d.code in PARSE_CODES, f"{d.render(source)}\n---\n{source}"
            assert not d.message.startswith("unexpected"), f"{d.render(source)}\n---\n{source}"


@FUZZ
@given(SENTENCES)
def test_sentences_compile_or_diagnose(source):
    compiles_or_diagnoses(source)


@FUZZ
@given(GLUED)
def test_glued_sentences_never_crash(source):
    compiles_or_diagnoses(source)


# ------------------------------------------------------------ expressions, in a contract
# A whole random file rarely gets past name resolution: expressions drawn
# from the rule `expr`, over names this contract declares, reach the type
# checker, lowering and code generation.

EXPR = Lark(GRAMMAR.read_text(), parser="lalr", start="expr")
CONTRACT = """\
contract C:
    struct S:
        a: uint
        b: bool
    enum E:
        A
        B
    event Ev(a: uint)
    error Er(a: uint)
    const K: uint = 3
    x: uint
    m: map[uint, uint]
    s: map[address, S]
    xs: list[uint, 4]

    g(a: uint) -> uint:
        return a

    @payable
    pub f(a: uint, b: bool, c: address, d: bytes32, i: i8) -> uint:
{body}
        return 0
"""
STATEMENTS = [
    "return {e}",
    "{e}",
    "require({e})",
    "self.x = {e}",
    "self.m[{e}] = {e}",
    "v: uint = {e}",
    "w: i8 = {e}",
    "y: bool = {e}",
    "emit Ev({e})",
    "self.x += {e}",
    "if {e}:\n            pass",
    "for j in range({e}, max=4):\n            pass",
]


def expression_names():
    return st.sampled_from(
        ["a", "b", "c", "d", "i", "K", "E", "S", "self", "x", "m", "s", "xs", "msg", "sender"]
        + ["value", "timestamp", "block", "g", "min", "max", "len", "uint", "u8", "i8", "A"]
        + ["address", "bool", "bytes32", "empty", "keccak256", "push", "pop", "push", "Er"]
    )


def expression_explicit() -> dict:
    keep = EXPR_TERMINALS | {"_INDENT", "_DEDENT"}  # declared: never drawn in an expression
    out = {k: v for k, v in explicit(valid=True).items() if k in keep}
    out["NAME"] = spaced(expression_names())
    return out


EXPR_TERMINALS = {t.name for t in EXPR.terminals} | set(EXPR.lexer_conf.ignore)
EXPRESSIONS = Bounded(EXPR, expression_explicit(), budget=30, start="expr")


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(STATEMENTS), EXPRESSIONS), min_size=1, max_size=3))
def test_expressions_compile_or_diagnose(statements):
    body = "\n".join("        " + s.format(e=e.strip()) for s, e in statements)
    compiles_or_diagnoses(CONTRACT.format(body=body))


def test_render_turns_markers_into_blocks():
    text = f"contract C :\n{INDENT} pub f ( ) :\n{INDENT} pass \n{DEDENT}{DEDENT}"
    assert render(text) == "contract C :\n    pub f ( ) :\n        pass \n"
    assert compile_source(render(text)).module


def test_the_fuzzed_grammar_is_the_compilers():
    assert re.search(r"%declare _INDENT _DEDENT", GRAMMAR.read_text())
    assert {"_INDENT", "_DEDENT"} <= set(explicit())
