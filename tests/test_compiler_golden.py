"""Golden IR and assembly for a few small programs: kept few on purpose, so
they show what code generation does without freezing it. Regenerate after a
deliberate change with DEED_UPDATE_GOLDEN=1."""

import os
from pathlib import Path

import pytest

from deed.compiler.driver import compile_file

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DEED_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("source", sorted(GOLDEN.glob("*.deed")), ids=lambda p: p.stem)
@pytest.mark.parametrize("form", ["ir", "dasm"])
def test_golden(source, form):
    out = compile_file(source.relative_to(Path(__file__).parent.parent))
    text = out.ir_text if form == "ir" else out.asm
    expected = source.with_suffix(f".{form}")
    if UPDATE or not expected.exists():
        expected.write_text(text)
    assert text == expected.read_text()
