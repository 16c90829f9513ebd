"""spec/language.md: its grammar is the .lark file, its error catalogue is
generated, every example triggers its code, and its full examples compile."""

import re
from pathlib import Path

import pytest

from deed.compiler import docs
from deed.compiler.diagnostics import CODES, EXAMPLES, CompileError
from deed.compiler.driver import compile_source
from deed.compiler.parser import GRAMMAR

SPEC = Path(__file__).parent.parent / "spec" / "language.md"


def test_generated_parts_are_current():
    text = SPEC.read_text()
    assert docs.render(text) == text, "run: python -m deed.compiler.docs spec/language.md"


def test_the_grammar_in_the_spec_is_the_lark_file():
    text = SPEC.read_text()
    block = re.search(r"<!-- BEGIN grammar -->\n```lark\n(.*?)```", text, re.S).group(1)
    assert block == GRAMMAR.read_text()


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_example_triggers_its_code(code):
    with pytest.raises(CompileError) as info:
        _ = compile_source(EXAMPLES[code], "example.deed").module
    assert code in [d.code for d in info.value.diagnostics]
    assert f"### {code}: {CODES[code]}" in SPEC.read_text()


def test_complete_examples_compile():
    reference = SPEC.read_text().split("<!-- BEGIN errors -->")[0]
    blocks = re.findall(r"```deed\n(.*?)```", reference, re.S)
    complete = [b for b in blocks if b.lstrip().startswith(("import", "contract"))]
    assert complete
    for block in complete:
        if "..." in block:
            continue
        _ = compile_source(block, "spec.deed").module
