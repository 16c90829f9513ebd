from deed.compiler import ir

from ..model import Detector
from ._util import resolved_nodes


class DivideBeforeMultiply(Detector):
    id = "divide-before-multiply"
    title = "Division before multiplication"
    impact = "medium"
    confidence = "high"
    finds = "A product one of whose factors is a quotient: (a / b) * c."
    why = "Integer division rounds first, and the multiplication magnifies the lost remainder: shares, fees and payouts come out short."
    fix = "Multiply first: a * c / b (stdlib.math.mul_div states the rounding)."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for s, n in resolved_nodes(ctx, f):
                if isinstance(n, ir.Binary) and n.op == "mul":
                    if any(isinstance(x, ir.Binary) and x.op == "div" for x in (n.left, n.right)):
                        out.append(
                            self.finding(
                                "a quotient is multiplied: precision is lost before the product",
                                s.span,
                                f.name,
                            )
                        )
        return out
