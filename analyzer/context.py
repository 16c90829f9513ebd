"""What detectors ask about a contract, computed once from the compiler's
output: the typed IR with source spans, and per-function summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from deed.compiler import ir
from deed.compiler.driver import CompilerOutput


@dataclass
class FunctionSummary:
    """What one function does, directly and through the functions it calls."""

    name: str
    public: bool
    view: bool
    payable: bool
    is_init: bool
    reads: set[str] = field(default_factory=set)  # state variables
    writes: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)  # internal functions
    external_calls: list[str] = field(default_factory=list)  # Interface.method
    sends: bool = False  # send() or a call carrying value
    emits: set[str] = field(default_factory=set)

    @property
    def moves_funds(self) -> bool:
        return self.sends


def expressions(node) -> list[ir.Expr]:
    """The top-level expressions of a statement or terminator."""
    out = []
    for name in ("value", "key", "to", "amount", "cond", "message"):
        v = getattr(node, name, None)
        if isinstance(v, ir.Expr):
            out.append(v)
    if isinstance(node, ir.EmitEvent | ir.RaiseError):
        out.extend(node.args)
    return out


def all_nodes(node):
    """Every expression node inside a statement or terminator."""
    for e in expressions(node):
        yield from ir.walk(e)


def callees_first(roots: Iterable[str], calls: Callable[[str], Iterable[str]]) -> list[str]:
    """``roots`` and every function they reach, each after the ones it calls
    (the call graph is acyclic). An explicit stack: a chain of a thousand calls
    is not deep for it."""
    order: list[str] = []
    placed: set[str] = set()
    for root in roots:
        if root in placed:
            continue
        stack = [(root, iter(calls(root)))]
        entered = {root}
        while stack:
            name, pending = stack[-1]
            callee = next(pending, None)
            if callee is None:
                stack.pop()
                order.append(name)
                placed.add(name)
            elif callee not in placed and callee not in entered:
                entered.add(callee)
                stack.append((callee, iter(calls(callee))))
    return order


def mentions(e: ir.Expr, env_name: str) -> bool:
    return any(isinstance(n, ir.Env) and n.name == env_name for n in ir.walk(e))


class Context:
    def __init__(self, out: CompilerOutput):
        self.out = out
        self.info = out.checked
        self.program = out.ir
        self.source = out.source

    @cached_property
    def functions(self) -> dict[str, ir.Function]:
        return {f.name: f for f in self.program.functions}

    @cached_property
    def unoptimised(self) -> ir.Program:
        from deed.compiler.lower import lower_contract

        return lower_contract(self.info)

    @cached_property
    def role_variables(self) -> set[str]:
        """State variables that hold an address: owners, oracles, arbiters."""
        from deed.compiler import types as T

        return {
            name for name, t in self.program.state if isinstance(t, T.AddressType | T.InterfaceType)
        }

    def state_name(self, slot: int) -> str:
        return self.program.state[slot][0]

    def root_slot(self, key: ir.Expr, f: ir.Function) -> int | None:
        """The state variable a storage key belongs to."""
        while True:
            if isinstance(key, ir.SlotKey):
                return key.slot
            if isinstance(key, ir.MapKey):
                key = key.base
            elif isinstance(key, ir.Local):
                src = self.key_locals(f).get(key.index)
                if src is None:
                    return None
                key = src
            else:
                return None

    def key_locals(self, f: ir.Function) -> dict[int, ir.Expr]:
        cache = self.__dict__.setdefault("_key_locals", {})
        if f.name not in cache:
            found = {}
            for b in f.blocks:
                for s in b.stmts:
                    if isinstance(s, ir.SetLocal) and isinstance(s.value, ir.MapKey | ir.SlotKey):
                        found[s.index] = s.value
            cache[f.name] = found
        return cache[f.name]

    @cached_property
    def direct(self) -> dict[str, FunctionSummary]:
        out = {}
        for f in self.program.functions:
            summary = FunctionSummary(f.name, f.public, f.view, f.payable, f.is_init)
            for b in f.blocks:
                for node in [*b.stmts, b.term]:
                    self._summarise(f, node, summary)
            out[f.name] = summary
        return out

    def _summarise(self, f: ir.Function, node, summary: FunctionSummary) -> None:
        if isinstance(node, ir.Store):
            slot = self.root_slot(node.key, f)
            if slot is not None:
                summary.writes.add(self.state_name(slot))
        if isinstance(node, ir.Send):
            summary.sends = True
        if isinstance(node, ir.EmitEvent):
            summary.emits.add(node.event)
        for n in all_nodes(node):
            if isinstance(n, ir.Load):
                slot = self.root_slot(n.key, f)
                if slot is not None:
                    summary.reads.add(self.state_name(slot))
            elif isinstance(n, ir.Call):
                summary.calls.add(n.function)
            elif isinstance(n, ir.ExtCall):
                summary.external_calls.append(f"{n.interface}.{n.method}")
                if n.value is not None and not (
                    isinstance(n.value, ir.Const) and n.value.value == 0
                ):
                    summary.sends = True

    @cached_property
    def summaries(self) -> dict[str, FunctionSummary]:
        """Summaries including what called functions do (the call graph is acyclic)."""
        done: dict[str, FunctionSummary] = {}
        for name in callees_first(self.direct, lambda n: self.direct[n].calls):
            d = self.direct[name]
            s = FunctionSummary(
                d.name,
                d.public,
                d.view,
                d.payable,
                d.is_init,
                set(d.reads),
                set(d.writes),
                set(d.calls),
                list(d.external_calls),
                d.sends,
                set(d.emits),
            )
            for callee in d.calls:
                c = done[callee]
                s.reads |= c.reads
                s.writes |= c.writes
                s.external_calls += c.external_calls
                s.sends |= c.sends
                s.emits |= c.emits
            done[name] = s
        return {name: done[name] for name in self.direct}

    @cached_property
    def access(self):
        """Who may cause each effect (analyzer/access.py)."""
        from .access import AccessModel

        return AccessModel(self)

    @cached_property
    def payouts(self):
        """Which unguarded payouts are safe (analyzer/payouts.py)."""
        from .payouts import Payouts

        return Payouts(self, self.access)

    @cached_property
    def taint(self):
        """Which sources every value carries (analyzer/taint.py)."""
        from .taint import Taint

        return Taint(self)

    @cached_property
    def siblings(self) -> list[Context]:
        """The other contracts compiled from the same source file."""
        from deed.compiler.diagnostics import CompileError
        from deed.compiler.driver import CompilerOutput

        names = [c.name for c in self.out.syntax.contracts if c.name != self.program.contract]
        out = []
        for name in dict.fromkeys(names):
            try:
                out.append(Context(CompilerOutput(self.source, self.out.path, contract=name)))
            except CompileError:
                continue
        return out

    def sibling_writes(self, method: str) -> bool:
        """Some other contract of the compilation has a public function
        ``method`` that writes its storage."""
        for sib in self.siblings:
            s = sib.summaries.get(method)
            if s is not None and s.public and s.writes:
                return True
        return False

    def loop_blocks(self, f: ir.Function) -> set[int]:
        existing = {b.index for b in f.blocks}
        out: set[int] = set()
        for loop in f.loops:
            out |= loop.blocks & existing
        return out

    def function_span(self, name: str):
        return self.functions[name].span

    def state_spans(self) -> dict[str, object]:
        return {s.name: s.span for s in self.info.state.values()}
