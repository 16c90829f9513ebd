"""The compiler's phases as lazy, cached properties of one object: an output
asks only for what it needs (the ABI never runs code generation).

    out = compile_source(text, "escrow.deed")
    out.module        # verified VM module (raises CompileError on bad source)
    out.abi           # JSON-ready interface description
    out.ir_text       # the optimised IR, as text

Whatever the source, a phase either returns or raises :class:`CompileError`:
the VM's limits are checked before and after code generation
(:mod:`.limits`), the module's bytes go through the VM's own loader, and any
other exception in a phase is a :class:`CompilerPanic` (E9000), never a
traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from deed.vm.errors import DecodeError, VerificationError
from deed.vm.module import Module
from deed.vm.verifier import load

from . import ast, ir
from .abi import abi_of
from .check import ContractInfo, check
from .diagnostics import CompileError, CompilerPanic, Diagnostic, Reporter
from .emit import Emitted, emit
from .limits import check_module, check_program
from .lower import lower_contract
from .optimize import optimize
from .parser import parse

R = TypeVar("R")


def _phase(name: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Run a phase so that it raises only CompileError: any other exception
    is a fault of the compiler, reported as E9000 (its traceback is chained)."""

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def run(self: CompilerOutput) -> R:
            try:
                return fn(self)
            except CompileError:
                raise
            except Exception as exc:  # the point: no traceback for the author
                raise CompilerPanic.of(
                    "E9000",
                    f"internal compiler error while {name}: {type(exc).__name__}: {exc}"[:500],
                    self.start_span(),
                ) from exc

        return run

    return wrap


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

    def start_span(self) -> ast.Span:
        return ast.Span(self.path, 1, 1, 1, 2)

    @cached_property
    @_phase("parsing")
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
    @_phase("checking")
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
    @_phase("lowering and optimising")
    def ir(self) -> ir.Program:
        """The IR, within the counts the VM's instructions can encode."""
        program = lower_contract(self.checked)
        program = optimize(program) if self.optimise else program
        over = check_program(self.syntax, self.checked, program)
        if over:
            raise CompileError(over)
        return program

    @cached_property
    def ir_text(self) -> str:
        return ir.format_program(self.ir)

    @cached_property
    @_phase("generating code")
    def _emitted(self) -> Emitted:
        return emit(self.ir)

    @cached_property
    def layout(self) -> dict:
        """For each function, the instructions each IR block became."""
        return self._emitted.layout

    @cached_property
    @_phase("checking the module")
    def module(self) -> Module:
        """The module, within every limit of the VM and accepted by its loader."""
        emitted = self._emitted
        over = check_module(self.syntax, self.checked, self.ir, emitted)
        if over:
            raise CompileError(over)
        try:
            load(emitted.module.encode())
        except (DecodeError, VerificationError) as exc:  # a compiler bug, never the author's
            raise self._rejected(exc) from exc
        return emitted.module

    def _rejected(self, exc: DecodeError | VerificationError) -> CompilerPanic:
        """E9001, on the function the VM names when it names one."""
        function = getattr(exc, "function", None)
        facts = self._emitted.functions
        if function is not None and 0 <= function < len(facts):
            name = self._emitted.module.functions[function].name
            span = facts[function].span or self.start_span()
            where = f"function {name}"
        else:
            span, where = self.start_span(), "the module"
        rule = getattr(exc, "rule", "decode")
        return CompilerPanic.of("E9001", f"the VM rejects {where} (rule {rule}): {exc}"[:500], span)

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
