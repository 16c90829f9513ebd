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


class IgnoredCallResult(Detector):
    id = "ignored-call-result"
    title = "Result of an external call ignored"
    impact = "medium"
    confidence = "high"
    finds = (
        "A call to another contract whose result (a success flag, an amount) is dropped: used as a "
        "statement, kept in a local nothing reads, or returned by a helper whose caller drops it."
    )
    why = "A call that reports failure in its result (a token returning False) goes unnoticed: the contract carries on as if it had been paid."
    fix = 'Check it: require(token.transfer(...), "transfer failed"), or use the amount returned.'

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            read = local_reads(f)
            for b in f.blocks:
                for s in b.stmts:
                    dropped = self._dropped(ctx, f, s, read)
                    if dropped:
                        out.append(self.finding(f"the {dropped} is ignored", s.span, f.name))
        return out

    def _dropped(self, ctx, f, s, read: set[int]) -> str | None:
        if isinstance(s, ir.Eval):
            value = s.value
        elif isinstance(s, ir.SetLocal) and s.index not in read:
            value = s.value
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
