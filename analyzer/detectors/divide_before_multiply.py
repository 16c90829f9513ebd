from deed.compiler import ir

from ..model import Detector
from ._util import nodes, resolved_nodes


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
            direct = {id(s) for s, n in nodes(f) if _quotient_factor(n)}
            for s, n in resolved_nodes(ctx, f):
                if not _quotient_factor(n):
                    continue
                # through a local or a helper, whole hours or days are deliberate
                if id(s) not in direct and all(
                    _time_unit(_uncast(x).right) for x in (n.left, n.right) if _is_div(x)
                ):
                    continue
                out.append(
                    self.finding(
                        "a quotient is multiplied: precision is lost before the product",
                        s.span,
                        f.name,
                    )
                )
        return out


HOUR = 3600


def _time_unit(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value >= HOUR and e.value % HOUR == 0


def _uncast(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Unary) and e.op == "cast":
        e = e.operand
    return e


def _is_div(e: ir.Expr) -> bool:
    e = _uncast(e)
    return isinstance(e, ir.Binary) and e.op == "div"


def _quotient_factor(n: ir.Expr) -> bool:
    """``(a / b) * c``, but not ``a / b * b`` (rounding down to a multiple of b)."""
    if not (isinstance(n, ir.Binary) and n.op == "mul"):
        return False
    for q, other in ((n.left, n.right), (n.right, n.left)):
        if _is_div(q) and ir.format_expr(_uncast(q).right) != ir.format_expr(other):
            return True
    return False
