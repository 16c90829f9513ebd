from deed.compiler import ir

from ..model import Detector
from ._util import nodes


class TimestampEquality(Detector):
    id = "timestamp-equality"
    title = "Strict equality on the block's time or height"
    impact = "low"
    confidence = "high"
    finds = "block.timestamp or block.height compared with == or !=."
    why = "No block may land on that exact second or height: the condition may never hold, and the money waits forever."
    fix = "Compare with >= or <: deadlines are moments after which something may happen."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for s, n in nodes(f):
                if isinstance(n, ir.Compare) and n.op in ("eq", "ne"):
                    sides = [n.left, n.right]
                    if any(
                        isinstance(x, ir.Env) and x.name in ("block.timestamp", "block.height")
                        for x in sides
                    ):
                        out.append(
                            self.finding(
                                f"{'==' if n.op == 'eq' else '!='} on a block value", s.span, f.name
                            )
                        )
        return out
