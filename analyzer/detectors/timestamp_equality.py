from deed.compiler import ir

from ..model import Detector
from ._util import mentions_env, resolved_nodes

BLOCK_VALUES = ("block.timestamp", "block.height")


def _is_time(e: ir.Expr) -> bool:
    """A block value or arithmetic on it (not a hash or a modulo of it)."""
    if isinstance(e, ir.Env):
        return e.name in BLOCK_VALUES
    if isinstance(e, ir.Binary) and e.op in ("add", "sub", "min", "max"):
        return _is_time(e.left) or _is_time(e.right)
    if isinstance(e, ir.Unary) and e.op == "cast":
        return _is_time(e.operand)
    return False


class TimestampEquality(Detector):
    id = "timestamp-equality"
    title = "Strict equality on the block's time or height"
    impact = "low"
    confidence = "high"
    finds = "block.timestamp or block.height (or a sum or difference of it, kept in locals or returned by helpers) compared with == or !=."
    why = "No block may land on that exact second or height: the condition may never hold, and the money waits forever."
    fix = "Compare with >= or <: deadlines are moments after which something may happen."

    def detect(self, ctx):
        out = []
        last_seen = _last_seen(ctx)
        for f in ctx.program.functions:
            for s, n in resolved_nodes(ctx, f):
                if isinstance(n, ir.Compare) and n.op in ("eq", "ne"):
                    for x, other in ((n.left, n.right), (n.right, n.left)):
                        if not (mentions_env(x, BLOCK_VALUES) and _is_time(x)):
                            continue
                        if (
                            isinstance(other, ir.Load)
                            and ctx.access.path_of(f, other.key) in last_seen
                        ):
                            continue  # once per block: compared with the block it last ran in
                        out.append(
                            self.finding(
                                f"{'==' if n.op == 'eq' else '!='} on a block value", s.span, f.name
                            )
                        )
                        break
        return out


def _last_seen(ctx) -> set[str]:
    """Storage only ever written with the block value itself (the block a
    function last ran in)."""
    exact: dict[str, bool] = {}
    for f in ctx.program.functions:
        for e in ctx.access.local_effects(f.name):
            if e.kind == "store" and e.path:
                same = isinstance(e.value, ir.Env) and e.value.name in BLOCK_VALUES
                exact[e.path] = exact.get(e.path, True) and same
    return {p for p, yes in exact.items() if yes}
