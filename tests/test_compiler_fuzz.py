"""No source, however garbled, ends in a Python traceback: only diagnostics
(CompileError) or a module the VM accepts."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from deed.compiler.diagnostics import CODES, CompileError
from deed.compiler.driver import compile_source
from deed.vm.verifier import verify

CONTRACTS = sorted((Path(__file__).parent.parent / "contracts").glob("*.deed"))
SOURCES = [p.read_text() for p in CONTRACTS]
TOKENS = [
    "contract",
    "interface",
    "pub",
    "@view",
    "@payable",
    "init",
    "if",
    "elif",
    "else",
    "for",
    "in",
    "range",
    "return",
    "revert",
    "emit",
    "require",
    "send",
    "self",
    "msg.sender",
    "msg.value",
    "map[",
    "]",
    "(",
    ")",
    ":",
    ",",
    "=",
    "==",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "<<",
    "and",
    "or",
    "not",
    "True",
    "0",
    "255",
    "-1",
    "u8",
    "i8",
    "uint",
    "bool",
    "address",
    "bytes32",
    "string[5]",
    '"x"',
    "0xff",
    "\n",
    "\n    ",
    "\n        ",
    "x",
    "y",
    "f",
    "struct",
    "enum",
    "event",
    "error",
    "const",
    "break",
    "continue",
    "pass",
    "max=",
    "\t",
    "#",
]


def compile_cleanly(text: str) -> None:
    try:
        out = compile_source(text, "fuzz.deed")
        module = out.module
    except CompileError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.code in CODES
            assert d.span.line >= 1
            d.render(text)
        return
    verify(module)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_random_text(text):
    compile_cleanly(text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_random_token_soup(tokens):
    compile_cleanly(" ".join(tokens))


@settings(max_examples=400)
@given(st.sampled_from(SOURCES), st.data())
def test_mutated_standard_contracts(source, data):
    text = source
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace", "swap_lines"]))
        if action == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 12)) :]
        elif action == "insert":
            text = text[:pos] + data.draw(st.sampled_from(TOKENS)) + text[pos:]
        elif action == "replace":
            text = (
                text[:pos]
                + data.draw(st.sampled_from(TOKENS))
                + text[pos + data.draw(st.integers(1, 6)) :]
            )
        else:
            lines = text.split("\n")
            i, j = (
                data.draw(st.integers(0, len(lines) - 1)),
                data.draw(st.integers(0, len(lines) - 1)),
            )
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    compile_cleanly(text)
