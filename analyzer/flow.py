"""Control and value flow inside one function of the typed IR.

Detectors ask two questions of a point in a function: what is known to hold
there (the conditions every path to it has passed: ``require``s, branch
edges, the postconditions of helpers called on the way), and what a local
stands for. Both answers are expressions over the function's parameters,
state and environment, with single-definition locals inlined and the
short-circuit temporaries of ``and``/``or`` folded back into one condition,
so that ``ok = msg.sender == self.owner; require(ok)`` and
``require(msg.sender == a or msg.sender == b)`` read as they were written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from deed.compiler import ir
from deed.compiler import types as T

from .context import all_nodes as nodes_of
from .context import expressions

__all__ = ["Fact", "FunctionFlow", "expressions", "nodes_of", "substitute"]

Position = tuple[int, int]  # (block index, statement index; len(stmts) is the terminator)

# builtins that revert unless a signature (or a quorum of them) checks out
SIGNATURE_CHECKS = frozenset({"oracle_report"})


@dataclass(frozen=True)
class Fact:
    """``cond`` is known to be ``holds`` at a point."""

    cond: ir.Expr
    holds: bool = True

    @property
    def key(self) -> tuple[str, bool]:
        return (ir.format_expr(self.cond), self.holds)

    def text(self) -> str:
        body = ir.format_expr(self.cond)
        return body if self.holds else f"not {body}"


def substitute(e: ir.Expr, params: dict[int, ir.Expr]) -> ir.Expr:
    """``e`` with the parameter locals in ``params`` replaced (a callee's
    expression seen from its call site)."""
    if isinstance(e, ir.Local):
        return params.get(e.index, e)
    if isinstance(e, ir.Unary):
        return ir.Unary(e.type, e.op, substitute(e.operand, params))
    if isinstance(e, ir.Binary | ir.Compare | ir.Logic):
        return type(e)(e.type, e.op, substitute(e.left, params), substitute(e.right, params))
    if isinstance(e, ir.MapKey):
        return ir.MapKey(e.type, substitute(e.base, params), substitute(e.key, params))
    if isinstance(e, ir.Load):
        return ir.Load(e.type, substitute(e.key, params))
    if isinstance(e, ir.Builtin):
        return ir.Builtin(e.type, e.name, [substitute(a, params) for a in e.args])
    if isinstance(e, ir.Call):
        return ir.Call(e.type, e.function, [substitute(a, params) for a in e.args])
    if isinstance(e, ir.Multi):
        return ir.Multi(e.type, [substitute(a, params) for a in e.items])
    if isinstance(e, ir.ExtCall):
        return ir.ExtCall(
            e.type,
            e.interface,
            e.method,
            substitute(e.target, params),
            None if e.value is None else substitute(e.value, params),
            [substitute(a, params) for a in e.args],
        )
    return e


@dataclass
class FunctionFlow:
    """Dominators, definitions and facts of one function."""

    function: ir.Function
    peer: object = field(repr=False)  # name -> FunctionFlow of a callee

    @cached_property
    def blocks(self) -> dict[int, ir.Block]:
        return {b.index: b for b in self.function.blocks}

    @cached_property
    def entry(self) -> int:
        return self.function.blocks[0].index

    @cached_property
    def predecessors(self) -> dict[int, set[int]]:
        preds: dict[int, set[int]] = {i: set() for i in self.blocks}
        for b in self.function.blocks:
            for s in b.successors():
                if s in preds:
                    preds[s].add(b.index)
        return preds

    @cached_property
    def reachable(self) -> set[int]:
        seen, work = {self.entry}, [self.entry]
        while work:
            for s in self.blocks[work.pop()].successors():
                if s in self.blocks and s not in seen:
                    seen.add(s)
                    work.append(s)
        return seen

    @cached_property
    def dominators(self) -> dict[int, set[int]]:
        """Block -> the blocks every path from the entry passes (itself included)."""
        live = self.reachable
        dom = {i: set(live) for i in live}
        dom[self.entry] = {self.entry}
        changed = True
        while changed:
            changed = False
            for b in self.function.blocks:
                i = b.index
                if i == self.entry or i not in live:
                    continue
                preds = [p for p in self.predecessors[i] if p in live]
                new = set.intersection(*(dom[p] for p in preds)) if preds else set()
                new = new | {i}
                if new != dom[i]:
                    dom[i] = new
                    changed = True
        return dom

    @cached_property
    def definitions(self) -> dict[int, list[tuple[int, int, ir.Expr]]]:
        """Local -> every (block, statement, value) assigning it."""
        out: dict[int, list[tuple[int, int, ir.Expr]]] = {}
        for b in self.function.blocks:
            for i, s in enumerate(b.stmts):
                if isinstance(s, ir.SetLocal):
                    out.setdefault(s.index, []).append((b.index, i, s.value))
                elif isinstance(s, ir.Unpack):
                    for k, (index, _) in enumerate(s.targets):
                        part = (
                            s.value.items[k]
                            if isinstance(s.value, ir.Multi) and k < len(s.value.items)
                            else s.value
                        )
                        out.setdefault(index, []).append((b.index, i, part))
        return out

    def is_param(self, index: int) -> bool:
        return index < len(self.function.params)

    # ------------------------------------------------------------------ values

    def resolve(self, e: ir.Expr, at_block: int | None = None, depth: int = 0) -> ir.Expr:
        """``e`` with locals replaced by what they stand for, where that is one
        expression: a single definition, or a short-circuit chain ending in
        ``at_block``. Parameters and other locals stay."""
        if depth > 12:
            return e
        if isinstance(e, ir.Local):
            if self.is_param(e.index):
                return e
            defs = self.definitions.get(e.index, [])
            if len(defs) == 1:
                return self.resolve(defs[0][2], defs[0][0], depth + 1)
            if at_block is not None:
                chain = self._short_circuit(e.index, at_block)
                if chain is not None:
                    return self.resolve(chain, None, depth + 1)
            if isinstance(e.type, T.BoolType) and len(defs) > 1:
                return self._alternatives(e, defs)
            return e
        if isinstance(e, ir.Call):
            value = self.peer(e.function).return_value
            if value is not None:
                params = {k: self.resolve(a, at_block, depth + 1) for k, a in enumerate(e.args)}
                return substitute(value, params)
        kids = ir.children(e)
        if not kids:
            return e
        rebuilt = _rebuild(e, [self.resolve(k, at_block, depth + 1) for k in kids])
        return rebuilt if rebuilt is not None else e

    def _alternatives(self, local: ir.Local, defs) -> ir.Expr:
        """A flag set in several places (``ok = a; for ...: if c: ok = True``)
        is true when one of its assignments was true together with what held
        where it was made: the or of (value and the facts at each assignment)."""
        busy = self.__dict__.setdefault("_busy", set())
        if local.index in busy:
            return local
        busy.add(local.index)
        try:
            options: list[ir.Expr] = []
            for block, index, value in defs:
                if isinstance(value, ir.Const) and value.value is False:
                    continue
                terms = [] if isinstance(value, ir.Const) else [self.resolve(value, block)]
                for fact in self.facts_at(block, index):
                    c = fact.cond if fact.holds else ir.Unary(T.BOOL, "not", fact.cond)
                    terms.append(c)
                if not terms:
                    return local  # assigned true unconditionally: nothing known
                options.append(_fold("and", terms))
            return _fold("or", options) if options else local
        finally:
            busy.discard(local.index)

    def _short_circuit(self, local: int, join: int) -> ir.Expr | None:
        """The condition a lowered ``a and b`` / ``a or b`` leaves in ``local``
        at ``join``: blocks that set ``local`` then branch on it, one side
        jumping to ``join``."""
        sets = {b for b, _, _ in self.definitions.get(local, [])}
        starts = [
            b
            for b in sets
            if not any(p in sets for p in self.predecessors[b]) and b in self.reachable
        ]
        if len(starts) != 1:
            return None
        return self._chain(local, starts[0], join, 0)

    def _chain(self, local: int, block: int, join: int, depth: int) -> ir.Expr | None:
        if depth > 16:
            return None
        b = self.blocks[block]
        value = next(
            (s.value for s in reversed(b.stmts) if isinstance(s, ir.SetLocal) and s.index == local),
            None,
        )
        if value is None:
            return None
        t = b.term
        if isinstance(t, ir.Jump) and t.target == join:
            return value
        if isinstance(t, ir.Branch) and isinstance(t.cond, ir.Local) and t.cond.index == local:
            if t.if_true == join:
                rest = self._chain(local, t.if_false, join, depth + 1)
                return None if rest is None else ir.Logic(T.BOOL, "or", value, rest)
            if t.if_false == join:
                rest = self._chain(local, t.if_true, join, depth + 1)
                return None if rest is None else ir.Logic(T.BOOL, "and", value, rest)
        return None

    # ------------------------------------------------------------------ facts

    def _own_facts(self, block: int, upto: int) -> list[Fact]:
        """Facts established by the first ``upto`` statements of ``block``."""
        out: list[Fact] = []
        for s in self.blocks[block].stmts[:upto]:
            if isinstance(s, ir.Require):
                out.append(Fact(self.resolve(s.cond, block)))
            for n in nodes_of(s):
                if isinstance(n, ir.Call):
                    args = [self.resolve(a, block) for a in n.args]
                    params = dict(enumerate(args))
                    for fact in self.peer(n.function).postconditions:
                        out.append(Fact(substitute(fact.cond, params), fact.holds))
                elif isinstance(n, ir.Builtin) and n.name in SIGNATURE_CHECKS:
                    out.append(Fact(self.resolve(n, block)))
        return out

    def _edge_fact(self, dominator: int, block: int) -> Fact | None:
        """The branch condition of ``dominator`` when only one of its edges
        leads to ``block``."""
        t = self.blocks[dominator].term
        if not isinstance(t, ir.Branch) or t.if_true == t.if_false:
            return None
        doms = self.dominators
        for target, holds in ((t.if_true, True), (t.if_false, False)):
            if (
                target in doms
                and target in doms.get(block, ())
                and self.predecessors[target] == {dominator}
            ):
                return Fact(self.resolve(t.cond, dominator), holds)
        return None

    def edge_condition(self, source: int, target: int) -> tuple[ir.Expr, bool] | None:
        """The condition known on the edge ``source`` -> ``target``."""
        t = self.blocks[source].term
        if not isinstance(t, ir.Branch) or t.if_true == t.if_false:
            return None
        holds = t.if_true == target
        return self.resolve(t.cond, source), holds

    def facts_at(self, block: int, index: int) -> list[Fact]:
        """What every path from the entry to statement ``index`` of ``block``
        has established (unreachable points know nothing)."""
        if block not in self.dominators:
            return []
        out: list[Fact] = []
        for d in self.dominators[block]:
            if d != block:
                out += self._own_facts(d, len(self.blocks[d].stmts))
            edge = self._edge_fact(d, block)
            if edge is not None:
                out.append(edge)
        out += self._own_facts(block, index)
        return out

    @cached_property
    def return_value(self) -> ir.Expr | None:
        """What the function returns, when it is one expression (one return
        of a value, or several of the same): a helper ``is_owner()`` read as
        its condition at the call."""
        values = {}
        for b in self.function.blocks:
            t = b.term
            if isinstance(t, ir.Return) and t.value is not None and b.index in self.reachable:
                v = self.resolve(t.value, b.index)
                values[ir.format_expr(v)] = v
        return next(iter(values.values())) if len(values) == 1 else None

    @cached_property
    def postconditions(self) -> list[Fact]:
        """Facts that hold whenever this function returns normally."""
        returns = [
            b.index
            for b in self.function.blocks
            if isinstance(b.term, ir.Return) and b.index in self.reachable
        ]
        if not returns:
            return []
        common: dict[tuple[str, bool], Fact] | None = None
        for r in returns:
            facts = {f.key: f for f in self.facts_at(r, len(self.blocks[r].stmts))}
            common = facts if common is None else {k: v for k, v in common.items() if k in facts}
        return list((common or {}).values())


def _fold(op: str, terms: list[ir.Expr]) -> ir.Expr:
    out = terms[0]
    for t in terms[1:]:
        out = ir.Logic(T.BOOL, op, out, t)
    return out


def _rebuild(e: ir.Expr, kids: list[ir.Expr]) -> ir.Expr | None:
    """``e`` with its children replaced, in order."""
    if isinstance(e, ir.Unary):
        return ir.Unary(e.type, e.op, kids[0])
    if isinstance(e, ir.Binary | ir.Compare | ir.Logic):
        return type(e)(e.type, e.op, kids[0], kids[1])
    if isinstance(e, ir.MapKey):
        return ir.MapKey(e.type, kids[0], kids[1])
    if isinstance(e, ir.Load):
        return ir.Load(e.type, kids[0])
    if isinstance(e, ir.Builtin):
        return ir.Builtin(e.type, e.name, kids)
    if isinstance(e, ir.Call):
        return ir.Call(e.type, e.function, kids)
    if isinstance(e, ir.Multi):
        return ir.Multi(e.type, kids)
    if isinstance(e, ir.ExtCall):
        target, rest = kids[0], kids[1:]
        value = None
        if e.value is not None:
            value, rest = rest[0], rest[1:]
        return ir.ExtCall(e.type, e.interface, e.method, target, value, rest)
    return None
