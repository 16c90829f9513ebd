"""The compiler's phases as lazy, cached properties of one object: an output
asks only for what it needs (the ABI never runs code generation).

    out = compile_source(text, "escrow.deed")
    out.module        # verified VM module (raises CompileError on bad source)
    out.abi           # JSON-ready interface description
    out.ir_text       # the optimised IR, as text
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from deed.vm.errors import VerificationError
from deed.vm.module import Module
from deed.vm.verifier import verify

from . import ast, ir
from .abi import abi_of
from .check import ContractInfo, check
from .diagnostics import CompileError, Diagnostic, Reporter
from .emit import emit_with_layout
from .lower import lower_contract
from .optimize import optimize
from .parser import parse

STDLIB = Path(__file__).resolve().parent.parent / "stdlib"


class CompilerOutput:
    def __init__(
        self,
        source: str,
        path: str = "<source>",
        contract: str | None = None,
        optimise: bool = True,
    ):
        self.source = source
        self.path = path
        self.contract_name = contract
        self.optimise = optimise
        self.sources: dict[str, str] = {path: source}

    @cached_property
    def syntax(self) -> ast.SourceFile:
        tree = parse(self.source, self.path)
        self._resolve_imports(tree)
        return tree

    def _resolve_imports(self, tree: ast.SourceFile) -> None:
        reporter = Reporter()
        for imp in tree.imports:
            if len(imp.path) != 2 or imp.path[0] != "stdlib":
                reporter.error(
                    "E0104",
                    f"unknown module {'.'.join(imp.path)}",
                    imp.span,
                    "library modules are stdlib.NAME",
                )
                continue
            file = STDLIB / f"{imp.path[1]}.deed"
            if not file.is_file():
                known = ", ".join(sorted("stdlib." + p.stem for p in STDLIB.glob("*.deed")))
                reporter.error(
                    "E0104",
                    f"unknown module {'.'.join(imp.path)}",
                    imp.span,
                    f"available: {known}" if known else None,
                )
                continue
            text = file.read_text()
            self.sources[str(file)] = text
            library = parse(text, str(file))
            if library.contracts:
                reporter.error(
                    "E0104",
                    f"stdlib.{imp.path[1]} defines contracts, which cannot be imported",
                    imp.span,
                )
            tree.interfaces.extend(library.interfaces)
            for lib in library.libraries:
                if lib.name != imp.path[1]:
                    reporter.error(
                        "E0104",
                        f"stdlib.{imp.path[1]} declares library {lib.name}; a library is named after its module",
                        lib.span,
                    )
                tree.libraries.append(lib)
        reporter.raise_if_any()

    @cached_property
    def checked(self) -> ContractInfo:
        reporter = Reporter()
        contracts = check(self.syntax, reporter)
        reporter.raise_if_any()
        if not contracts:
            span = ast.Span(self.path, 1, 1, 1, 2)
            raise CompileError(
                [
                    Diagnostic(
                        "E0311", "no contract in this file", span, "declare one: contract Name:"
                    )
                ]
            )
        if self.contract_name is None:
            if len(contracts) > 1:
                names = ", ".join(c.name for c in contracts)
                raise CompileError(
                    [
                        Diagnostic(
                            "E0311",
                            f"several contracts ({names}): say which",
                            contracts[1].node.span,
                            "deed compile --contract NAME",
                        )
                    ]
                )
            return contracts[0]
        for c in contracts:
            if c.name == self.contract_name:
                return c
        raise CompileError(
            [Diagnostic("E0311", f"no contract named {self.contract_name}", self.syntax.span)]
        )

    @cached_property
    def ir(self) -> ir.Program:
        program = lower_contract(self.checked)
        return optimize(program) if self.optimise else program

    @cached_property
    def ir_text(self) -> str:
        return ir.format_program(self.ir)

    @cached_property
    def _emitted(self):
        return emit_with_layout(self.ir)

    @cached_property
    def layout(self) -> dict:
        """For each function, the instructions each IR block became."""
        return self._emitted[1]

    @cached_property
    def module(self) -> Module:
        module = self._emitted[0]
        try:
            verify(module)
        except VerificationError as exc:  # a compiler bug, never the author's
            raise AssertionError(f"the compiler emitted code the VM rejects: {exc}") from exc
        return module

    @cached_property
    def bytecode(self) -> bytes:
        return self.module.encode()

    @cached_property
    def asm(self) -> str:
        from deed.vm.asm import disassemble  # only --asm needs it: keep start-up short

        return disassemble(self.module)

    @cached_property
    def abi(self) -> dict:
        return abi_of(self.checked)


def compile_source(
    source: str, path: str = "<source>", contract: str | None = None
) -> CompilerOutput:
    return CompilerOutput(source, path, contract)


def compile_file(path: str | Path, contract: str | None = None) -> CompilerOutput:
    path = Path(path)
    return CompilerOutput(path.read_text(), str(path), contract)
