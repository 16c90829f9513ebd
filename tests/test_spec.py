"""spec/vm.md is generated from the code where it states facts the code owns."""

from pathlib import Path

from deed.vm import docs
from deed.vm.opcodes import BY_CODE, OPCODES

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "spec" / "vm.md"


def test_spec_tables_match_the_code():
    text = SPEC.read_text()
    assert docs.render(text) == text, "run: python -m deed.vm.docs spec/vm.md"


def test_every_opcode_is_in_the_spec_table():
    text = SPEC.read_text()
    for op in OPCODES:
        assert f"| 0x{op.code:02x} | `{op.name}` |" in text


def test_opcode_codes_are_unique():
    assert len(BY_CODE) == len(OPCODES)


def test_vm_does_not_import_the_compiler_or_lark():
    for path in (ROOT / "vm").glob("*.py"):
        source = path.read_text()
        for banned in ("import lark", "from lark", "deed.compiler", "from ..compiler"):
            assert banned not in source, f"{path.name} imports {banned}"
