"""spec/node.md's method table, generated from the registry (:mod:`.rpc`).

``python -m deed.node.docs spec/node.md`` rewrites the table between its
``<!-- BEGIN rpc-methods -->`` / ``<!-- END rpc-methods -->`` markers; a test
fails when the file differs, so the spec cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from deed.vm.docs import render as render_tables

from .rpc import methods_table

TABLES = {"rpc-methods": methods_table}


def render(text: str) -> str:
    return render_tables(text, TABLES)


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "spec/node.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
