from deed.compiler import ir
from deed.compiler import types as T

from ..model import Detector


class IgnoredCallResult(Detector):
    id = "ignored-call-result"
    title = "Result of an external call ignored"
    impact = "medium"
    confidence = "high"
    finds = "A call to another contract that returns a bool, used as a statement."
    why = "Contracts such as tokens report failure by returning False; ignoring it books a payment that did not happen."
    fix = 'require(self.token.transfer(to, amount), "transfer failed").'

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for b in f.blocks:
                for s in b.stmts:
                    if (
                        isinstance(s, ir.Eval)
                        and isinstance(s.value, ir.ExtCall)
                        and isinstance(s.value.type, T.BoolType)
                    ):
                        out.append(
                            self.finding(
                                f"the bool returned by {s.value.interface}.{s.value.method} is ignored",
                                s.span,
                                f.name,
                            )
                        )
        return out
