from deed.compiler import ir
from deed.compiler import types as T

from ..flow import expressions
from ..model import Detector


def local_reads(f: ir.Function) -> set[int]:
    """Locals some expression of ``f`` reads."""
    out: set[int] = set()
    for b in f.blocks:
        for s in [*b.stmts, b.term]:
            for e in expressions(s):
                out |= {n.index for n in ir.walk(e) if isinstance(n, ir.Local)}
    return out


def _reachable(blocks: dict[int, ir.Block], start: int) -> set[int]:
    seen, work = set(), [start]
    while work:
        b = work.pop()
        if b in seen or b not in blocks:
            continue
        seen.add(b)
        work += blocks[b].successors()
    return seen


class IgnoredCallResult(Detector):
    id = "ignored-call-result"
    title = "Result of an external call ignored"
    impact = "medium"
    confidence = "high"
    finds = (
        "A call to another contract whose result (a success flag, an amount) is dropped: used as a "
        "statement, kept in a local nothing reads (a tuple's flag included), returned by a helper "
        "whose caller drops it, or checked only to log the failure and carry on."
    )
    why = "A call that reports failure in its result (a token returning False) goes unnoticed: the contract carries on as if it had been paid."
    fix = 'Check it: require(token.transfer(...), "transfer failed"), or use the amount returned.'

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            read = local_reads(f)
            for b in f.blocks:
                for s in b.stmts:
                    dropped = self._dropped(ctx, s, read, f, b.index)
                    if dropped:
                        out.append(self.finding(f"the {dropped} is ignored", s.span, f.name))
                logged = self._only_logged(ctx, f, b)
                if logged:
                    out.append(
                        self.finding(
                            f"a failed {logged} is only logged: the function carries on",
                            b.term.span,
                            f.name,
                        )
                    )
        return out

    def _dropped(self, ctx, s, read: set[int], f, block: int) -> str | None:
        if isinstance(s, ir.Eval):
            value = s.value
        elif isinstance(s, ir.SetLocal) and s.index not in read:
            value = s.value
            if isinstance(value, ir.Local):  # a part of a tuple a call returned
                whole = ctx.access.flows[f.name].resolve(value, block)
                if isinstance(whole, ir.ExtCall) and not isinstance(value.type, T.NoneType):
                    return f"{value.type} {s.name} returned by {whole.interface}.{whole.method}"
        elif isinstance(s, ir.Unpack) and isinstance(s.value, ir.ExtCall):
            types = getattr(s.value.type, "elems", ())
            for k, (index, name) in enumerate(s.targets):
                t = types[k] if k < len(types) else None
                if index not in read and isinstance(t, T.BoolType):
                    return f"flag {name} returned by {s.value.interface}.{s.value.method}"
            return None
        else:
            return None
        if isinstance(value.type, T.NoneType):
            return None
        if isinstance(value, ir.ExtCall):
            return f"{value.type} returned by {value.interface}.{value.method}"
        if isinstance(value, ir.Call) and self._returns_call_result(ctx, value):
            return f"result of {value.function}, which returns what another contract answered,"
        return None

    @staticmethod
    def _returns_call_result(ctx, call: ir.Call) -> bool:
        callee = ctx.functions[call.function]
        plain = tuple(frozenset() for _ in callee.params)
        return "ext" in ctx.taint.function(call.function, plain).returns

    @staticmethod
    def _only_logged(ctx, f: ir.Function, b: ir.Block) -> str | None:
        """A branch on a call's success flag whose failure side neither
        reverts nor returns, but joins the success side again."""
        t = b.term
        if not isinstance(t, ir.Branch):
            return None
        cond = ctx.access.flows[f.name].resolve(t.cond, b.index)
        negated = isinstance(cond, ir.Unary) and cond.op == "not"
        inner = cond.operand if negated else cond
        if not (isinstance(inner, ir.ExtCall) and isinstance(inner.type, T.BoolType)):
            return None
        failure = t.if_true if negated else t.if_false
        success = t.if_false if negated else t.if_true
        blocks = {x.index: x for x in f.blocks}
        fail = blocks.get(failure)
        if fail is None or not all(isinstance(s, ir.EmitEvent) for s in fail.stmts):
            return None  # the failure side undoes or reverts something
        if not isinstance(fail.term, ir.Jump):
            return None
        join = fail.term.target
        if join == success or join in _reachable(blocks, success):
            return f"{inner.interface}.{inner.method}"
        return None
