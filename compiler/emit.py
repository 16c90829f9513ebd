"""Code generation: the IR of a contract into a VM module.

Expression trees are emitted in post-order onto the VM's stack; locals of
the IR are VM locals; blocks are laid out in order with fall-through where a
jump would go to the next block. The result passes the VM's verifier (the
driver checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.vm.module import (
    FLAG_INIT,
    FLAG_PAYABLE,
    FLAG_VIEW,
    ErrorDef,
    EventDef,
    Export,
    Field,
    Function,
    ImportDef,
    Module,
    selector,
)
from deed.vm.opcodes import BY_NAME, LIMITS, encode_instruction
from deed.vm.types import BYTES

from . import ir
from . import types as T
from .builtins import ENV_BY_NAME, IR_BUILTINS
from .lower import zero_value

_BINARY_OPS = {
    "add": "ADD",
    "sub": "SUB",
    "mul": "MUL",
    "div": "DIV",
    "mod": "MOD",
    "exp": "EXP",
    "shl": "SHL",
    "shr": "SHR",
    "band": "BAND",
    "bor": "BOR",
    "bxor": "BXOR",
}
_COMPARE_OPS = {"lt": "LT", "gt": "GT", "le": "LE", "ge": "GE", "eq": "EQ", "ne": "NE"}


class _Constants:
    """The module's constant pool. Past the VM's limit it stops numbering (its
    indexes must fit the instructions) and keeps where it overflowed, for the
    diagnostic (:mod:`.limits`)."""

    def __init__(self) -> None:
        self.values: list[int | bytes] = []
        self.index: dict[tuple[type, int | bytes], int] = {}
        self.wanted = 0  # distinct constants the code uses
        self.overflow: object = None  # span of the first constant past the limit

    def get(self, value: int | bool | bytes, where: object = None) -> int:
        if isinstance(value, bool):
            value = int(value)
        key = (type(value), value)
        if key not in self.index:
            self.wanted += 1
            if len(self.values) >= LIMITS.max_constants:
                self.overflow = self.overflow or where
                self.index[key] = 0  # never emitted: the limits check reports it
                return 0
            self.index[key] = len(self.values)
            self.values.append(value)
        return self.index[key]


@dataclass
class FunctionFacts:
    """What code generation knows of a function that the module does not say."""

    span: object  # the function's name
    deepest: object = None  # the statement where the stack is deepest


@dataclass
class Emitted:
    module: Module
    layout: dict[str, dict[int, list[tuple[str, list]]]]
    functions: list[FunctionFacts] = field(default_factory=list)  # in module order
    constants_wanted: int = 0
    constants_overflow: object = None


def _slot_bytes(slot: int) -> bytes:
    return slot.to_bytes(32, "big")


def _int_code(t: T.Type) -> int:
    if isinstance(t, T.IntType):
        return t.code
    if isinstance(t, T.EnumType):
        return T.U8.code
    return T.IntType(False, 8).code  # bool


def emit_program(p: ir.Program) -> Module:
    return emit(p).module


def emit_with_layout(p: ir.Program) -> tuple[Module, dict[str, dict[int, list[tuple[str, list]]]]]:
    """The module, and for each function the instructions each IR block became
    (the analyzer's gas bounds are sums over them)."""
    out = emit(p)
    return out.module, out.layout


def emit(p: ir.Program) -> Emitted:
    """The module, its layout, and where in the source each function's limits
    are reached. The program must be within the VM's counts (``limits.check_program``)."""
    consts = _Constants()
    fn_index = {f.name: i for i, f in enumerate(p.functions)}
    imports = [(f"{i}.{m}", m, ps, r) for i, m, ps, r, _ in p.imports]
    import_index = {name: i for i, (name, *_rest) in enumerate(imports)}
    events = {name: i for i, (name, _) in enumerate(p.events)}
    errors = {name: i for i, (name, _) in enumerate(p.errors)}
    functions = []
    facts = []
    layout: dict[str, dict[int, list[tuple[str, list]]]] = {}
    for f in p.functions:
        fe = _FunctionEmitter(f, consts, fn_index, import_index, events, errors, p)
        functions.append(fe.run())
        facts.append(FunctionFacts(f.span, fe.deepest))
        layout[f.name] = fe.block_instructions()
    exports = []
    for i, f in enumerate(p.functions):
        if not (f.public or f.is_init):
            continue
        params = tuple(t.vm_type() for _, t in f.params)
        returns = tuple(t.vm_type() for t in T.leaf_types(f.returns))
        flags = (
            (FLAG_VIEW if f.view else 0)
            | (FLAG_PAYABLE if f.payable else 0)
            | (FLAG_INIT if f.is_init else 0)
        )
        exports.append(Export(f.name, selector(f.name, params), i, flags, params, returns))
    module = Module(
        constants=tuple(consts.values),
        functions=tuple(functions),
        exports=tuple(exports),
        events=tuple(
            EventDef(
                n,
                tuple(Field(fn, ft.vm_type(), fn in p.indexed.get(n, ())) for fn, ft in fs),
            )
            for n, fs in p.events
        ),
        errors=tuple(
            ErrorDef(n, tuple(Field(fn, ft.vm_type()) for fn, ft in fs)) for n, fs in p.errors
        ),
        imports=tuple(
            ImportDef(
                m,
                selector(m, tuple(t.vm_type() for t in ps)),
                tuple(t.vm_type() for t in ps),
                tuple(t.vm_type() for t in T.leaf_types(r)),
            )
            for _, m, ps, r in imports
        ),
    )
    return Emitted(module, layout, facts, consts.wanted, consts.overflow)


class _FunctionEmitter:
    def __init__(
        self,
        f: ir.Function,
        consts: _Constants,
        fn_index,
        import_index,
        events,
        errors,
        program: ir.Program,
    ):
        self.f = f
        self.consts = consts
        self.fn_index = fn_index
        self.import_index = import_index
        self.events = events
        self.errors = errors
        self.program = program
        self.code: list[tuple[str, list]] = []  # (op, args); labels as ("LABEL", [block])
        self.depth = 0
        self.max_depth = 0
        self.where: object = f.span  # the statement being emitted
        self.deepest: object = f.span  # where the stack was deepest

    def op(self, name: str, *args, pops: int = 0, pushes: int = 0) -> None:
        self.code.append((name, list(args)))
        self.depth -= pops
        self.depth += pushes
        if self.depth > self.max_depth:
            self.max_depth = self.depth
            self.deepest = self.where

    def const(self, value: int | bool | bytes) -> int:
        return self.consts.get(value, self.where)

    def block_instructions(self) -> dict[int, list[tuple[str, list]]]:
        out: dict[int, list[tuple[str, list]]] = {}
        current: list | None = None
        for name, args in self.code:
            if name == "LABEL":
                current = out.setdefault(args[0], [])
            elif current is not None:
                current.append((name, args))
        return out

    def run(self) -> Function:
        f = self.f
        blocks = f.blocks
        for i, b in enumerate(blocks):
            self.code.append(("LABEL", [b.index]))
            for s in b.stmts:
                self.where = s.span or f.span
                self.stmt(s)
            nxt = blocks[i + 1].index if i + 1 < len(blocks) else None
            self.where = b.term.span or f.span
            self.terminator(b.term, nxt)
        kinds = [t.kind for _, t in f.locals]
        n = len(f.params)
        returns = tuple(t.kind for t in T.leaf_types(f.returns))
        return Function(
            f.name,
            tuple(kinds[:n]),
            tuple(kinds[n:]),
            returns,
            max(self.max_depth, len(returns)),
            self.assemble(),
        )

    def assemble(self) -> bytes:
        offsets: dict[int, int] = {}
        pos = 0
        for name, args in self.code:
            if name == "LABEL":
                offsets[args[0]] = pos
            else:
                pos += BY_NAME[name].size
        out = bytearray()
        for name, args in self.code:
            if name == "LABEL":
                continue
            values = [offsets[a[1]] if isinstance(a, tuple) else a for a in args]
            out += encode_instruction(BY_NAME[name], values)
        return bytes(out)

    # ------------------------------------------------------------ statements
    def stmt(self, s) -> None:
        if isinstance(s, ir.SetLocal):
            self.expr(s.value)
            self.op("STORE", s.index, pops=1)
        elif isinstance(s, ir.Unpack):
            self.expr(s.value)
            for index, _ in reversed(s.targets):
                self.op("STORE", index, pops=1)
        elif isinstance(s, ir.Store):
            self.expr(s.key)
            self.expr(s.value)
            t = s.value.type
            if t.kind == BYTES:
                self.op("SSTOREB", self.const(zero_value(t)), pops=2)
            else:
                self.op("SSTORE", pops=2)
        elif isinstance(s, ir.EmitEvent):
            for a in s.args:
                self.expr(a)
            self.op("EMIT", self.events[s.event], pops=len(s.args))
        elif isinstance(s, ir.Send):
            self.expr(s.to)
            self.expr(s.amount)
            self.op("SEND", pops=2)
        elif isinstance(s, ir.Eval):
            self.expr(s.value)
            for _ in T.leaf_types(s.value.type):
                self.op("POP", pops=1)
        elif isinstance(s, ir.Require):
            self.expr(s.cond)
            self.op("REQUIRE", self.const(s.message.encode("utf-8")), pops=1)
        else:
            raise AssertionError(s)

    def terminator(self, t, next_block: int | None) -> None:
        if isinstance(t, ir.Jump):
            if t.target != next_block:
                self.op("JMP", ("block", t.target))
        elif isinstance(t, ir.Branch):
            self.expr(t.cond)
            if t.if_false == next_block:
                self.op("JMPIF", ("block", t.if_true), pops=1)
            else:
                self.op("JMPIFNOT", ("block", t.if_false), pops=1)
                if t.if_true != next_block:
                    self.op("JMP", ("block", t.if_true))
        elif isinstance(t, ir.Return):
            if t.value is not None:
                self.expr(t.value)
            self.op("RET", pops=len(T.leaf_types(t.value.type)) if t.value is not None else 0)
        elif isinstance(t, ir.RevertMsg):
            self.expr(t.message)
            self.op("REVERT", pops=1)
        elif isinstance(t, ir.RaiseError):
            for a in t.args:
                self.expr(a)
            self.op("RAISE", self.errors[t.error], pops=len(t.args))
        else:
            raise AssertionError(t)

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> None:
        if isinstance(e, ir.Const):
            self.op("CONST", self.const(e.value), pushes=1)
        elif isinstance(e, ir.Local):
            self.op("LOAD", e.index, pushes=1)
        elif isinstance(e, ir.Env):
            self.op(ENV_BY_NAME[e.name].opcode, pushes=1)
        elif isinstance(e, ir.SlotKey):
            self.op("CONST", self.const(_slot_bytes(e.slot)), pushes=1)
        elif isinstance(e, ir.MapKey):
            self.expr(e.base)
            self.expr(e.key)
            self.op("MKEY", pops=2, pushes=1)
        elif isinstance(e, ir.Load):
            self.expr(e.key)
            if e.type.kind == BYTES:
                self.op("SLOADB", self.const(zero_value(e.type)), pops=1, pushes=1)
            else:
                self.op("SLOAD", pops=1, pushes=1)
        elif isinstance(e, ir.Binary):
            self.expr(e.left)
            self.expr(e.right)
            if e.op in ("min", "max"):
                self.op(e.op.upper(), pops=2, pushes=1)
            else:
                self.op(_BINARY_OPS[e.op], _int_code(e.type), pops=2, pushes=1)
        elif isinstance(e, ir.Compare):
            self.expr(e.left)
            self.expr(e.right)
            self.op(_COMPARE_OPS[e.op], pops=2, pushes=1)
        elif isinstance(e, ir.Logic):
            self.expr(e.left)
            self.expr(e.right)
            self.op("AND" if e.op == "and" else "OR", pops=2, pushes=1)
        elif isinstance(e, ir.Unary):
            self.unary(e)
        elif isinstance(e, ir.Builtin):
            self.builtin(e)
        elif isinstance(e, ir.Call):
            for a in e.args:
                self.expr(a)
            self.op(
                "CALL",
                self.fn_index[e.function],
                pops=len(e.args),
                pushes=len(T.leaf_types(e.type)),
            )
        elif isinstance(e, ir.Multi):
            for item in e.items:
                self.expr(item)
        elif isinstance(e, ir.ExtCall):
            self.expr(e.target)
            if e.value is not None:
                self.expr(e.value)
            else:
                self.op("CONST", self.const(0), pushes=1)
            for a in e.args:
                self.expr(a)
            idx = self.import_index[f"{e.interface}.{e.method}"]
            self.op("XCALL", idx, 0, pops=2 + len(e.args), pushes=len(T.leaf_types(e.type)))
        else:
            raise AssertionError(e)

    def unary(self, e: ir.Unary) -> None:
        self.expr(e.operand)
        if e.op == "not":
            self.op("NOT", pops=1, pushes=1)
        elif e.op == "neg":
            self.op("NEG", _int_code(e.type), pops=1, pushes=1)
        elif e.op == "cast":
            self.op("CAST", _int_code(e.type), pops=1, pushes=1)
        elif e.op in ("to_bytes32", "to_bytes"):
            self.op("I2B", e.type.size, pops=1, pushes=1)
        elif e.op == "from_bytes":
            self.op("B2I", _int_code(e.type), pops=1, pushes=1)
        else:
            raise AssertionError(e.op)

    def builtin(self, e: ir.Builtin) -> None:
        IR_BUILTINS[e.name].emit(self, e)

    def int_code(self, t: T.Type) -> int:
        return _int_code(t)
