"""Payouts that need no guard: the rules by which an unguarded send is
still not unprotected.

A send nothing guards is safe when it passes on what the caller pays in,
pays out the caller's own entry and settles it, returns an entry to the
address it is kept under and settles it, pays what the caller gave up in
another contract in the same transaction, pays each caller a fixed amount
once, or pays a party the caller cannot choose (set at deployment or under a
guard, or recorded by a partner contract fixed at deployment) an amount the
caller does not choose either.
"""

from __future__ import annotations

from deed.compiler import ir
from deed.compiler import types as T

from .access import AccessModel, Effect, caller_keyed, is_caller, mentions_caller
from .flow import Fact, nodes_of


class Payouts:
    def __init__(self, ctx, access: AccessModel):
        self.ctx = ctx
        self.access = access

    def reason(self, f: ir.Function, e: Effect) -> str | None:
        """Why a value-moving effect is authorised, or None: it is guarded;
        it passes on what the caller pays in; it refunds the caller's own
        entry; or it pays a party the caller cannot choose an amount the
        caller does not choose either."""
        if e.guards:
            return "guarded by " + ", ".join(g.text() for g in e.guards)
        amount = e.amount if e.amount is not None else ir.Const(None, 0)
        if f.payable and "value" in self.ctx.taint.expr(f, amount) and not self._drains(f, amount):
            return "passes on what the caller pays in"
        settled = self._settled_entries(f)
        if self._own_entry(amount, e.facts, settled):
            return "pays out the caller's own entry, and settles it"
        if (
            e.to is not None
            and is_caller(e.to)
            and not self.ctx.taint.expr(f, amount) & {"param", "balance", "stored:param"}
            and self._once_per_caller(e.facts, settled)
        ):
            return "pays each caller a fixed amount, once"
        if self._given_up_elsewhere(f, amount):
            return "pays what the caller gave up in another contract"
        if e.to is not None and _entry_of(amount, e.to, settled):
            return "returns an entry to the address it is kept under, and settles it"
        if (
            e.to is not None
            and "param" not in self.ctx.taint.expr(f, amount)
            and not self.dropped_caller_check(f)
        ):
            party = self.access.party(e.to)
            if party is not None:
                return f"pays {party.subject}, a party the caller cannot choose"
        if e.to is not None and self._partner_records(f, e.to, amount):
            return "pays whom a partner contract fixed at deployment records"
        return None

    def _partner_records(self, f: ir.Function, to: ir.Expr, amount: ir.Expr) -> bool:
        """Recipient (and amount) answered by a contract whose address the
        caller cannot choose (a claims registry set at deployment)."""
        if not isinstance(to, ir.ExtCall) or "param" in self.ctx.taint.expr(f, amount):
            return False
        target = to.target
        while isinstance(target, ir.Unary):
            target = target.operand
        return isinstance(target, ir.Load) and self.access.party(target) is not None

    def _given_up_elsewhere(self, f: ir.Function, amount: ir.Expr) -> bool:
        """A call in the same transaction took the amount from the caller in
        another contract (``ledger.burn(msg.sender, shares)``) and would have
        reverted otherwise."""
        text = ir.format_expr(amount)
        for e in self.access.local_effects(f.name):
            if e.kind != "call" or e.call is None:
                continue
            if (e.call.interface, e.call.method) in self.access.view_methods:
                continue
            args = [ir.format_expr(a) for a in e.call.args]
            if text in args and any(is_caller(a) for a in e.call.args):
                return True
        return False

    def dropped_caller_check(self, f: ir.Function) -> bool:
        """``f`` computes whether the caller may act and drops the answer
        (``self.is_buyer()`` as a statement): the author meant a guard."""
        flow = self.access.flows[f.name]
        read = {
            n.index
            for b in f.blocks
            for s in [*b.stmts, b.term]
            for n in nodes_of(s)
            if isinstance(n, ir.Local)
        }
        for b in f.blocks:
            for s in b.stmts:
                dropped = None
                if isinstance(s, ir.Eval) and isinstance(s.value, ir.Call):
                    dropped = s.value
                elif isinstance(s, ir.SetLocal) and s.index not in read:
                    dropped = s.value
                if dropped is not None and isinstance(dropped.type, T.BoolType):
                    if mentions_caller(flow.resolve(dropped, b.index)):
                        return True
        return False

    def _drains(self, f: ir.Function, amount: ir.Expr) -> bool:
        """The amount also carries a caller's argument or the balance."""
        labels = self.ctx.taint.expr(f, amount)
        return bool(labels & {"param", "balance"})

    @staticmethod
    def _once_per_caller(facts: list[Fact], settled: set[str]) -> bool:
        """A flag under the caller's key is required clear and then set."""
        for fact in facts:
            cond, holds = fact.cond, fact.holds
            if isinstance(cond, ir.Unary) and cond.op == "not":
                cond, holds = cond.operand, not holds
            if not holds and caller_keyed(cond) and _touches(cond, settled):
                return True
        return False

    def _settled_entries(self, f: ir.Function) -> set[str]:
        """Storage keys ``f`` writes (an entry it clears or decrements)."""
        return {
            ir.format_expr(e.key)
            for e in self.access.local_effects(f.name)
            if e.kind == "store" and e.key is not None
        }

    @staticmethod
    def _own_entry(amount: ir.Expr, facts: list[Fact], settled: set[str]) -> bool:
        """The amount is (bounded by) what is kept under the caller's key
        (their deposit, their allowance) and the function writes that entry
        (clears or decrements it), so it cannot be paid twice."""
        # a once-per-caller flag settles any entry of the caller (taken[msg.sender] = True)
        once = any("msg.sender" in key for key in settled)
        if any(caller_keyed(n) and (once or _touches(n, settled)) for n in ir.walk(amount)):
            return True
        # the amount, or what it is computed from (shares to redeem), is bounded
        # by the caller's settled entry: require(self.shares[msg.sender] >= count)
        inputs = {ir.format_expr(amount)} | {
            ir.format_expr(n) for n in ir.walk(amount) if isinstance(n, ir.Local)
        }
        for fact in facts:
            for c, _ in _parts(fact.cond):
                if isinstance(c, ir.Compare) and c.op in ("le", "lt", "ge", "gt"):
                    sides = (ir.format_expr(c.left), ir.format_expr(c.right))
                    if inputs & set(sides) and any(
                        caller_keyed(n) and _touches(n, settled) for n in ir.walk(c)
                    ):
                        return True
        return False


def _parts(cond: ir.Expr) -> list[tuple[ir.Expr, bool]]:
    """The conjuncts of a condition that holds."""
    if isinstance(cond, ir.Logic) and cond.op == "and":
        return _parts(cond.left) + _parts(cond.right)
    return [(cond, True)]


def _touches(load: ir.Load, written: set[str]) -> bool:
    """The entry ``load`` reads, or the record holding it, is written."""
    key = load.key
    while True:
        if ir.format_expr(key) in written:
            return True
        if not isinstance(key, ir.MapKey):
            return False
        key = key.base


def _entry_of(amount: ir.Expr, to: ir.Expr, settled: set[str]) -> bool:
    """The amount is read from a map entry kept under the recipient's
    address, and the function settles that entry."""
    text = ir.format_expr(to)
    return any(
        isinstance(n, ir.MapKey) and ir.format_expr(n.key) == text and _touches(x, settled)
        for x in ir.walk(amount)
        if isinstance(x, ir.Load)
        for n in ir.walk(x.key)
    )
