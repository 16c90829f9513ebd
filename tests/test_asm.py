"""Assembly: the standard programs round-trip, and errors name the line."""

from dataclasses import replace

import pytest
from hypothesis import given
from strategies import modules
from support import ASM

from deed.vm.asm import assemble, disassemble
from deed.vm.errors import AssemblyError
from deed.vm.module import selector
from deed.vm.verifier import verify


@pytest.mark.parametrize("path", sorted(ASM.glob("*.dasm")), ids=lambda p: p.name)
def test_programs_verify_and_round_trip(path):
    module = assemble(path.read_text())
    verify(module)
    assert assemble(disassemble(module)) == module


@given(modules())
def test_any_decodable_module_round_trips_when_its_names_are_identifiers(module):
    """Assembly computes selectors from signatures and names functions, so the
    module is first given true selectors and exports of existing functions."""
    names = [f.name for f in module.functions]
    if len(set(names)) != len(names) or not names:
        return
    module = replace(
        module,
        exports=tuple(
            replace(e, selector=selector(e.name, e.params), function=e.function % len(names))
            for e in module.exports
        ),
        imports=tuple(replace(i, selector=selector(i.name, i.params)) for i in module.imports),
    )
    if any(
        len({d.name for d in table}) != len(table)
        for table in (module.events, module.errors, module.imports)
    ):
        return
    assert assemble(disassemble(module)) == module


@pytest.mark.parametrize(
    "text, line, message",
    [
        (".func f()\n    FROB", 2, "unknown instruction FROB"),
        (".func f()\n    JMP nowhere", 2, "unknown label"),
        (".func f()\n    ADD u7", 2, "unknown type"),
        ("    RET", 1, "outside a function"),
        (".func f()\n    CALL g", 2, "unknown function 'g'"),
        (".func f()\nx:\nx:\n    RET", 3, "defined twice"),
        (".func f()\n    RET\n.export f() = f sometimes", 3, "unknown export flag"),
    ],
)
def test_errors_name_the_line(text, line, message):
    with pytest.raises(AssemblyError) as info:
        assemble(text)
    assert info.value.line == line and message in str(info.value)
