from deed.compiler import ir

from ..flow import nodes_of
from ..model import Detector

HOUR = 3600


class DivideBeforeMultiply(Detector):
    id = "divide-before-multiply"
    title = "Division before multiplication"
    impact = "medium"
    confidence = "high"
    finds = (
        "A product one of whose factors is a quotient: (a / b) * c, also when the quotient is kept "
        "in a local or returned by one of the contract's own helpers. a / b * b (rounding down to "
        "a multiple), whole hours or days through a local, and a library's own rounding are not reported."
    )
    why = "Integer division rounds first, and the multiplication magnifies the lost remainder: shares, fees and payouts come out short."
    fix = "Multiply first: a * c / b (stdlib.math.mul_div states the rounding)."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            flow = ctx.access.flows[f.name]
            for b in f.blocks:
                for s in [*b.stmts, b.term]:
                    if any(_loses_precision(ctx, flow, n, b.index) for n in nodes_of(s)):
                        out.append(
                            self.finding(
                                "a quotient is multiplied: precision is lost before the product",
                                s.span,
                                f.name,
                            )
                        )
        return out


def _loses_precision(ctx, flow, n: ir.Expr, block: int) -> bool:
    if not (isinstance(n, ir.Binary) and n.op == "mul"):
        return False
    for factor, other in ((n.left, n.right), (n.right, n.left)):
        q = _quotient(ctx, flow, factor, 0)
        if q is None or ir.format_expr(q.right) == ir.format_expr(other):
            continue  # a / b * b rounds down to a multiple of b, on purpose
        if _uncast(factor) is q:
            return True  # written (a / b) * c
        if not _time_unit(q.right):
            return True  # through a local or a helper; whole hours or days are deliberate
    return False


def _quotient(ctx, flow, e: ir.Expr, depth: int) -> ir.Binary | None:
    """The division ``e`` stands for: itself, a local holding one, or the
    result of one of the contract's own helpers (a library's rounding is its own)."""
    e = _uncast(e)
    if depth > 4:
        return None
    if isinstance(e, ir.Binary) and e.op == "div":
        return e
    if isinstance(e, ir.Local) and not flow.is_param(e.index):
        defs = flow.definitions.get(e.index, [])
        if len(defs) == 1:
            return _quotient(ctx, flow, defs[0][2], depth + 1)
    if isinstance(e, ir.Call) and "." not in e.function:
        callee = ctx.access.flows[e.function]
        value = callee.return_value
        if value is not None:
            return _quotient(ctx, callee, value, depth + 1)
    return None


def _time_unit(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value >= HOUR and e.value % HOUR == 0


def _uncast(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Unary) and e.op == "cast":
        e = e.operand
    return e
