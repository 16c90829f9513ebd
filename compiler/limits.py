"""The VM's limits, checked by the compiler: a module it emits always loads.

Every bound comes from :data:`deed.vm.opcodes.LIMITS`, the VM's single source
of truth, and each broken one is a diagnostic with its own code, pointing at
the declaration, literal or statement at fault. The checks run in two passes:

- :func:`check_program`, on the checked contract and its IR before code
  generation: the counts that decide whether instructions can encode their
  operands at all (functions, exports, locals, parameters, events, errors,
  imports, fields), name lengths and literal lengths;
- :func:`check_module`, on the emitted module: code size, basic blocks (as the
  verifier splits them), stack height, constants and the module's size.

Then the driver loads the module's bytes with the VM's own loader, so a limit
this module misses is still a (compiler) error, never a module that fails at
deployment. Each check is a function registered in :data:`PROGRAM_CHECKS` or
:data:`MODULE_CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from deed.vm.errors import VerificationError
from deed.vm.module import Module
from deed.vm.opcodes import JUMPS, LIMITS, TERMINATORS
from deed.vm.verifier import count_blocks, decode_code

from . import ast, ir
from . import types as T
from .check import ContractInfo
from .diagnostics import Diagnostic
from .emit import Emitted
from .nesting import children


@dataclass(frozen=True)
class Subject:
    """What the checks read: the source, the checked contract, its IR and,
    for the module checks, what code generation produced."""

    source: ast.SourceFile
    info: ContractInfo
    program: ir.Program
    emitted: Emitted | None = None

    @property
    def module(self) -> Module:
        assert self.emitted is not None
        return self.emitted.module

    def function_node(self, name: str) -> ast.FunctionDef:
        return self.info.functions[name].node

    def declaration(self, kind: type, name: str) -> ast.Node:
        """The contract's declaration of ``name`` (an event or an error)."""
        return next(m for m in self.info.node.members if isinstance(m, kind) and m.name == name)

    def contract_span(self) -> ast.Span:
        """``contract Name``, on its first line."""
        s = self.info.node.span
        width = len("contract ") + len(self.info.name)
        return ast.Span(s.file, s.line, s.column, s.line, s.column + width)


Check = Callable[[Subject], Iterable[Diagnostic]]
PROGRAM_CHECKS: list[Check] = []
MODULE_CHECKS: list[Check] = []


def _program_check(fn: Check) -> Check:
    PROGRAM_CHECKS.append(fn)
    return fn


def _module_check(fn: Check) -> Check:
    MODULE_CHECKS.append(fn)
    return fn


def check_program(
    source: ast.SourceFile, info: ContractInfo, program: ir.Program
) -> list[Diagnostic]:
    subject = Subject(source, info, program)
    return [d for check in PROGRAM_CHECKS for d in check(subject)]


def check_module(
    source: ast.SourceFile, info: ContractInfo, program: ir.Program, emitted: Emitted
) -> list[Diagnostic]:
    subject = Subject(source, info, program, emitted)
    return [d for check in MODULE_CHECKS for d in check(subject)]


def _n(value: int) -> str:
    return f"{value:,}"


# --------------------------------------------------------------------------- before code generation


@_program_check
def _functions(s: Subject) -> Iterator[Diagnostic]:
    fns = s.program.functions
    if len(fns) > LIMITS.max_functions:
        yield Diagnostic(
            "E0404",
            f"the contract compiles to {_n(len(fns))} functions; "
            f"the VM allows {_n(LIMITS.max_functions)}: this one is past the limit",
            fns[LIMITS.max_functions].span,
            "the library functions a contract calls count too: merge small functions",
        )


@_program_check
def _exports(s: Subject) -> Iterator[Diagnostic]:
    exported = [f for f in s.program.functions if f.public or f.is_init]
    if len(exported) > LIMITS.max_exports:
        yield Diagnostic(
            "E0405",
            f"the contract has {_n(len(exported))} public functions (init included); "
            f"the VM allows {_n(LIMITS.max_exports)}: this one is past the limit",
            exported[LIMITS.max_exports].span,
            "make helpers private, or split the contract",
        )


@_program_check
def _signatures(s: Subject) -> Iterator[Diagnostic]:
    for f in s.program.functions:
        node = s.function_node(f.name)
        params = node.params
        if len(f.params) > LIMITS.max_params:  # a struct parameter is one VM value per field
            declared = s.info.functions[f.name].params
            counts = [len(T.leaf_types(t)) for _, t in declared]
            past = next(i for i in range(len(counts)) if sum(counts[: i + 1]) > LIMITS.max_params)
            flat = (
                "parameters"
                if len(f.params) == len(params)
                else "parameter values (a struct's fields count one each)"
            )
            yield Diagnostic(
                "E0410",
                f"{f.name} has {len(f.params)} {flat}; the VM allows {LIMITS.max_params}",
                params[past].span,
                "pass fewer values: keep some in state, or split the function",
            )
        returns = len(T.leaf_types(f.returns))
        if returns > LIMITS.max_returns:
            yield Diagnostic(
                "E0410",
                f"{f.name} returns {returns} values (a struct's fields count one each); "
                f"the VM allows {LIMITS.max_returns}",
                node.returns.span if node.returns is not None else f.span,
                "return fewer values: a smaller struct, or read the rest with another call",
            )
    for (iface, method, params, returns, _), span in zip(
        s.program.imports, s.program.import_spans, strict=True
    ):
        if len(params) > LIMITS.max_params:
            yield Diagnostic(
                "E0410",
                f"{iface}.{method} has {len(params)} parameters; the VM allows {LIMITS.max_params}",
                span,
            )
        if len(T.leaf_types(returns)) > LIMITS.max_returns:
            yield Diagnostic(
                "E0410",
                f"{iface}.{method} returns {len(T.leaf_types(returns))} values; "
                f"the VM allows {LIMITS.max_returns}",
                span,
            )


@_program_check
def _locals(s: Subject) -> Iterator[Diagnostic]:
    for f in s.program.functions:
        if len(f.locals) <= LIMITS.max_locals:
            continue
        declared = s.info.functions[f.name].locals  # parameters first
        counts = [len(T.leaf_types(loc.type)) for loc in declared]  # a struct: one per field
        if sum(counts) > LIMITS.max_locals:
            past = next(i for i in range(len(counts)) if sum(counts[: i + 1]) > LIMITS.max_locals)
            flat = (
                ""
                if sum(counts) == len(declared)
                else f" ({sum(counts)} VM locals: a struct's fields count one each)"
            )
            yield Diagnostic(
                "E0408",
                f"{f.name} declares {len(declared)} parameters and local variables{flat}; "
                f"the VM allows {LIMITS.max_locals}: this one is past the limit",
                declared[past].span,
                "reuse variables, or split the function",
            )
        else:
            yield Diagnostic(
                "E0408",
                f"{f.name} needs {len(f.locals)} locals ({sum(counts)} declared, "
                f"{len(f.locals) - sum(counts)} for intermediate values); "
                f"the VM allows {LIMITS.max_locals}",
                f.span,
                "split the function",
            )


@_program_check
def _events_and_errors(s: Subject) -> Iterator[Diagnostic]:
    for defs, kind, code, limit, what in (
        (s.program.events, ast.EventDef, "E0411", LIMITS.max_events, "events"),
        (s.program.errors, ast.ErrorDef, "E0412", LIMITS.max_errors, "errors"),
    ):
        if len(defs) > limit:
            yield Diagnostic(
                code,
                f"the contract declares {len(defs)} {what}; the VM allows {limit}: "
                "this one is past the limit",
                s.declaration(kind, defs[limit][0]).span,
                "split the contract",
            )
        for name, fields in defs:
            if len(fields) > LIMITS.max_fields:
                yield Diagnostic(
                    "E0414",
                    f"{name} has {len(fields)} fields; the VM allows {LIMITS.max_fields}",
                    s.declaration(kind, name).params[LIMITS.max_fields].span,
                    "split it in two",
                )


@_program_check
def _imports(s: Subject) -> Iterator[Diagnostic]:
    imports = s.program.imports
    if len(imports) > LIMITS.max_imports:
        iface, method = imports[LIMITS.max_imports][:2]
        yield Diagnostic(
            "E0413",
            f"the contract calls {len(imports)} different interface functions; the VM allows "
            f"{LIMITS.max_imports}: {iface}.{method}, called here, is past the limit",
            s.program.import_spans[LIMITS.max_imports],
            "split the contract",
        )


@_program_check
def _names(s: Subject) -> Iterator[Diagnostic]:
    """Every name the module carries: functions, events, errors, their fields, imports."""
    for name, span in _module_names(s):
        size = len(name.encode())
        if size > LIMITS.max_name:
            yield Diagnostic(
                "E0415",
                f"the name {name[:24]}... has {size} bytes; the VM allows {LIMITS.max_name}",
                span,
                "a library function's name in the module is LIBRARY.NAME"
                if "." in name
                else "shorten it",
            )


def _module_names(s: Subject) -> Iterator[tuple[str, ast.Span]]:
    for f in s.program.functions:
        yield f.name, f.span
    for defs, kind in ((s.program.events, ast.EventDef), (s.program.errors, ast.ErrorDef)):
        for name, _ in defs:
            node = s.declaration(kind, name)
            yield name, node.span
            yield from ((p.name, p.span) for p in node.params)
    for (_, method, _, _, _), span in zip(s.program.imports, s.program.import_spans, strict=True):
        yield method, span


@_program_check
def _literals(s: Subject) -> Iterator[Diagnostic]:
    """A string or bytes literal becomes one constant of the module."""
    for node in _compiled_nodes(s):
        if isinstance(node, ast.StrLit | ast.BytesLit):
            size = len(node.value.encode() if isinstance(node.value, str) else node.value)
            if size > LIMITS.max_constant_bytes:
                yield Diagnostic(
                    "E0407",
                    f"this literal has {_n(size)} bytes; the VM allows "
                    f"{_n(LIMITS.max_constant_bytes)} in one constant",
                    node.span,
                    "shorten it, or keep long data off-chain and store its hash",
                )


def _compiled_nodes(s: Subject) -> Iterator[ast.Node]:
    """The contract's syntax, the library functions it calls and the libraries'
    constants, node by node (an explicit stack: no recursion)."""
    used = {f.name for f in s.program.functions}
    roots: list[ast.Node] = [s.info.node]
    roots += [fn.node for name, fn in s.info.functions.items() if fn.library and name in used]
    roots += [m for lib in s.source.libraries for m in lib.members if isinstance(m, ast.ConstDef)]
    stack = roots[::-1]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


# --------------------------------------------------------------------------- after code generation


@_module_check
def _code_size(s: Subject) -> Iterator[Diagnostic]:
    for fn, facts in zip(s.module.functions, s.emitted.functions, strict=True):
        if len(fn.code) > LIMITS.max_code_size:
            yield Diagnostic(
                "E0402",
                f"{fn.name} compiles to {_n(len(fn.code))} bytes of code; "
                f"the VM allows {_n(LIMITS.max_code_size)} in one function",
                facts.span,
                "split it into smaller functions",
            )


@_module_check
def _blocks(s: Subject) -> Iterator[Diagnostic]:
    for i, (fn, facts) in enumerate(zip(s.module.functions, s.emitted.functions, strict=True)):
        if not _may_have_too_many_blocks(fn.code):
            continue
        count = block_count(s.module, i)
        if count is not None and count > LIMITS.max_blocks:
            yield Diagnostic(
                "E0403",
                f"{fn.name} has {_n(count)} basic blocks; the VM allows {_n(LIMITS.max_blocks)} "
                "in one function",
                facts.span,
                "each if, elif, loop and short-circuit and/or adds blocks: split the function",
            )


def _may_have_too_many_blocks(code: bytes) -> bool:
    """A cheap bound first: each jump or terminator starts at most two blocks."""
    try:
        instrs = decode_code(code)
    except VerificationError:
        return False  # the driver's load reports it
    flow = sum(ins.name in JUMPS or ins.name in TERMINATORS for ins in instrs)
    return 1 + 2 * flow > LIMITS.max_blocks


def block_count(module: Module, index: int) -> int | None:
    """The basic blocks of function ``index`` as the verifier splits them (its
    own functions, over reachable code), or None when the code does not verify
    (the driver's load then reports that)."""
    try:
        return count_blocks(module.functions[index].code, index)
    except VerificationError:
        return None


@_module_check
def _stack(s: Subject) -> Iterator[Diagnostic]:
    for fn, facts in zip(s.module.functions, s.emitted.functions, strict=True):
        if fn.max_stack > LIMITS.max_stack:
            yield Diagnostic(
                "E0409",
                f"{fn.name} needs {fn.max_stack} stack slots here; the VM allows {LIMITS.max_stack}",
                facts.deepest,
                "compute arguments into local variables first",
            )


@_module_check
def _constants(s: Subject) -> Iterator[Diagnostic]:
    wanted = s.emitted.constants_wanted
    if wanted > LIMITS.max_constants:
        yield Diagnostic(
            "E0406",
            f"the contract needs {_n(wanted)} distinct constants; the VM allows "
            f"{_n(LIMITS.max_constants)}: this statement needs one past the limit",
            s.emitted.constants_overflow or s.contract_span(),
            "numbers, messages and storage slots are constants: use fewer distinct ones, "
            "or split the contract",
        )


@_module_check
def _module_size(s: Subject) -> Iterator[Diagnostic]:
    """A module is deployed by a transaction (module and init's arguments), which
    carries at most ``max_tx_data`` bytes; the VM loads at most ``max_module_size``."""
    data = s.module.encode()
    size = len(data)
    if _deployment_size(data) > LIMITS.max_tx_data or size > LIMITS.max_module_size:
        limit = min(LIMITS.max_tx_data, LIMITS.max_module_size)
        yield Diagnostic(
            "E0416",
            f"the module is {_n(size)} bytes: it cannot be deployed, a deployment "
            f"transaction carries at most {_n(limit)} bytes (module and init's arguments)",
            s.contract_span(),
            "split the contract, or shorten its messages and literals",
        )


def _deployment_size(module_bytes: bytes) -> int:
    """Bytes of a deployment of the module with no init arguments, as the chain
    builds it (imported only for a large module: the chain is slow to import)."""
    if len(module_bytes) + 16 < LIMITS.max_tx_data:
        return len(module_bytes)
    from deed.vm.chain import deploy_data

    return len(deploy_data(module_bytes))
