from deed.compiler import ir

from ..model import Detector
from ._util import resolved_nodes


def _balance(e: ir.Expr) -> bool:
    if isinstance(e, ir.Env):
        return e.name == "self.balance"
    if isinstance(e, ir.Builtin) and e.name == "balance":
        return True
    if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
        return _balance(e.left) or _balance(e.right)
    return False


class BalanceEquality(Detector):
    id = "balance-equality"
    title = "Strict equality on a balance"
    impact = "medium"
    confidence = "high"
    finds = "self.balance compared with == or !=."
    why = "Anyone can add value to a contract's balance (a deployment with value, a payable call), so an exact balance can be made false on purpose."
    fix = "Track the amounts the contract owes in state, and compare the balance with >= against them."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for s, n in resolved_nodes(ctx, f):
                if isinstance(n, ir.Compare) and n.op in ("eq", "ne"):
                    if any(_balance(x) for x in (n.left, n.right)):
                        out.append(
                            self.finding(
                                "the contract's balance is compared exactly", s.span, f.name
                            )
                        )
        return out
