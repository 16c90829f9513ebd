"""Render the generated parts of ``spec/language.md``: the grammar (the
``.lark`` file itself), the environment and built-in functions (from the
registry in :mod:`deed.compiler.builtins`) and the error catalogue with an
example per code and the diagnostic it produces. ``python -m deed.compiler.docs spec/language.md``
rewrites them; a test fails when the file differs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .builtins import BUILTINS, ENV_MEMBERS
from .diagnostics import (
    CODES,
    EXAMPLES,
    EXAMPLES_SHOWN,
    INTERNAL_CODES,
    INTERNAL_NOTES,
    CompileError,
)
from .driver import compile_source
from .parser import GRAMMAR


def grammar_block() -> str:
    return "```lark\n" + GRAMMAR.read_text().rstrip("\n") + "\n```"


def errors_block() -> str:
    out = []
    for code, title in CODES.items():
        source = EXAMPLES[code]
        try:
            _ = compile_source(source, "example.deed").module
            rendered = "(compiles: the example is wrong)"
        except CompileError as exc:
            d = next((d for d in exc.diagnostics if d.code == code), exc.diagnostics[0])
            rendered = d.render(source)
        shown = EXAMPLES_SHOWN.get(code, source)
        out.append(
            f"### {code}: {title}\n\n```deed\n{shown.rstrip()}\n```\n\n```text\n{rendered}\n```\n"
        )
    for code, title in INTERNAL_CODES.items():
        out.append(f"### {code}: {title}\n\n{INTERNAL_NOTES[code]}\n")
    return "\n".join(out).rstrip("\n")


def environment_block() -> str:
    rows = ["| expression | type | meaning | instruction |", "|---|---|---|---|"]
    for m in ENV_MEMBERS.values():
        rows.append(f"| `{m.name}` | `{m.type}` | {m.doc} | `{m.opcode}` |")
    return "\n".join(rows)


def builtins_block() -> str:
    rows = ["| built-in | meaning | instructions |", "|---|---|---|"]
    for b in BUILTINS.values():
        ops = ", ".join(f"`{op}`" for op in b.opcodes) or "(compile time)"
        rows.append(f"| `{b.signature}` | {b.doc} | {ops} |")
    return "\n".join(rows)


BLOCKS = {
    "grammar": grammar_block,
    "errors": errors_block,
    "environment": environment_block,
    "builtins": builtins_block,
}


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"no markers for {name}")
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "spec/language.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
