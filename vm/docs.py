"""Render the opcode, gas and limit tables of ``spec/vm.md`` from the code.

``python -m deed.vm.docs spec/vm.md`` rewrites the tables between the
``<!-- BEGIN name -->`` / ``<!-- END name -->`` markers; a test fails when the
file differs from what this module renders, so the spec cannot drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from .opcodes import GAS, LIMITS, OPCODES


def _stack(kinds: str) -> str:
    return " ".join(kinds) if kinds else "-"


def opcodes_table() -> str:
    rows = [
        "| code | instruction | immediates | pops | pushes | base gas | dynamic | deploy | meaning |",
        "|---|---|---|---|---|---:|---|---:|---|",
    ]
    for op in OPCODES:
        imms = " ".join(op.immediates) or "-"
        rows.append(
            f"| 0x{op.code:02x} | `{op.name}` | {imms} | {_stack(op.pops)} | {_stack(op.pushes)} | {op.gas} | {'yes' if op.dynamic else ''} | {op.deploy:,} | {op.doc} |"
        )
    return "\n".join(rows)


def gas_table() -> str:
    rows = ["| cost | gas |", "|---|---:|"]
    rows += [f"| `{f.name}` | {getattr(GAS, f.name):,} |" for f in fields(GAS)]
    return "\n".join(rows)


def limits_table() -> str:
    rows = ["| limit | value |", "|---|---:|"]
    rows += [f"| `{f.name}` | {getattr(LIMITS, f.name):,} |" for f in fields(LIMITS)]
    return "\n".join(rows)


TABLES = {"opcodes": opcodes_table, "gas": gas_table, "limits": limits_table}


def render(text: str, tables: dict[str, Callable[[], str]] | None = None) -> str:
    """``text`` with every marked table (of ``tables``, by default the VM's)
    replaced by its current rendering."""
    for name, fn in (TABLES if tables is None else tables).items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"no markers for the {name} table")
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "spec/vm.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
