from deed.compiler import ir

from ..context import mentions
from ..model import Detector
from ._util import statements


class OriginAuth(Detector):
    id = "origin-auth"
    title = "Access checked with tx.origin"
    impact = "medium"
    confidence = "high"
    finds = "A require or branch that compares tx.origin (the signer of the transaction) instead of msg.sender."
    why = "If the owner calls any other contract, that contract can call this one and pass the check in the owner's name."
    fix = "Check msg.sender, the immediate caller."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for _, s in statements(f):
                if isinstance(s, ir.Require | ir.Branch) and mentions(s.cond, "tx.origin"):
                    out.append(self.finding("tx.origin decides who may act", s.span, f.name))
        return out
