from deed.compiler import ir

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
            flow = ctx.access.flows[f.name]
            for b, s in statements(f):
                if not isinstance(s, ir.Require | ir.Branch):
                    continue
                cond = flow.resolve(s.cond, b.index)
                if any(_origin_check(n) for n in ir.walk(cond)):
                    out.append(self.finding("tx.origin decides who may act", s.span, f.name))
        return out


def _origin_check(n: ir.Expr) -> bool:
    """tx.origin compared with something other than msg.sender (``msg.sender
    == tx.origin`` only tells a person from a contract), or looked up in a
    role map (``self.operators[tx.origin]``)."""
    if isinstance(n, ir.MapKey) and isinstance(n.key, ir.Env) and n.key.name == "tx.origin":
        return True
    if not (isinstance(n, ir.Compare) and n.op in ("eq", "ne")):
        return False
    for me, other in ((n.left, n.right), (n.right, n.left)):
        if isinstance(me, ir.Env) and me.name == "tx.origin":
            return not (isinstance(other, ir.Env) and other.name == "msg.sender")
    return False
