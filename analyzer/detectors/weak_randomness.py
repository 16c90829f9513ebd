from deed.compiler import ir

from ..model import Detector
from ._util import resolved_nodes

BLOCK_LABELS = frozenset({"timestamp", "height"})


class WeakRandomness(Detector):
    id = "weak-randomness"
    title = "Block values used as randomness"
    impact = "medium"
    confidence = "medium"
    finds = "block.timestamp or block.height inside a modulo or a hash."
    why = "The block's proposer chooses the timestamp and knows the height: a lottery, a draw or a rotation built on them can be steered."
    fix = "Use a commit-reveal scheme or a signed oracle value; use the block only for deadlines."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for s, n in resolved_nodes(ctx, f):
                inner = None
                if isinstance(n, ir.Binary) and n.op == "mod" and not _elapsed(n.left):
                    inner = n.left
                elif isinstance(n, ir.Builtin) and n.name in ("sha256", "keccak256"):
                    inner = n.args[0]
                if inner is not None and ctx.taint.expr(f, inner) & BLOCK_LABELS:
                    out.append(
                        self.finding(
                            "a block value feeds a modulo or a hash, as if it were random",
                            s.span,
                            f.name,
                        )
                    )
                    break
        return out


def _elapsed(e: ir.Expr) -> bool:
    """Time since a start, taken modulo a period: a calendar, not a lottery."""
    return isinstance(e, ir.Binary) and e.op == "sub"
