"""Every revert reason, event and public function of the standard contracts
appears in their tests: a guard against untested paths."""

import re
from pathlib import Path

import pytest

from deed.compiler.driver import compile_file

ROOT = Path(__file__).parent
CONTRACTS = sorted((ROOT.parent / "contracts").glob("*/*.deed"))
TEST_TEXT = "\n".join(p.read_text() for p in ROOT.glob("test_*.py"))
STDLIB_REASONS = {
    "not allowed",
    "not a party",
    "zero address",
    "more than 100%",
    "division by zero",
    "share above the whole",
}


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_reason_event_and_function_is_tested(path):
    source = path.read_text()
    reasons = set(re.findall(r'(?:require\([^\n]*?|revert )"([^"]+)"\)?', source)) - STDLIB_REASONS
    missing = sorted(r for r in reasons if f'"{r}"' not in TEST_TEXT)
    assert not missing, f"untested revert reasons: {missing}"
    out = compile_file(path.relative_to(ROOT.parent))
    events = [e.name for e in out.module.events]
    assert not [e for e in events if f'"{e}"' not in TEST_TEXT], "untested events"
    functions = [e.name for e in out.module.exports if not e.is_init]
    assert not [f for f in functions if not _called(f)], "untested functions"


def _called(function: str) -> bool:
    """Named in a test: as a string (the harness, the CLI) or called as a
    method of a deed.testing contract object (``c.release_next(...)``)."""
    return f'"{function}"' in TEST_TEXT or re.search(rf"\.{function}(?:\.call)?\(", TEST_TEXT)
