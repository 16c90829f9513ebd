from deed.compiler import ir

from ..flow import expressions
from ..model import Detector
from ..taint import PSEUDO_RANDOM


class WeakRandomness(Detector):
    id = "weak-randomness"
    title = "Block values used as randomness"
    impact = "medium"
    confidence = "medium"
    finds = (
        "A hash or a modulo of block.timestamp or block.height (through locals, helpers and "
        "storage) that decides something: a condition, who or how much is paid, what is stored, "
        "which entry is picked. Calendar arithmetic (modulo whole minutes, hours or days) and "
        "hashes only emitted or returned as receipts are not randomness."
    )
    why = "The block producer chooses the time and sees the outcome: whoever produces the block picks the winner."
    fix = "Use a signed randomness report from an oracle (stdlib.oracle), or commit-reveal among the players."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for b in f.blocks:
                for s in [*b.stmts, b.term]:
                    if self._decides(ctx, f, s):
                        out.append(
                            self.finding(
                                "a block value, hashed or taken modulo, decides the outcome as if it were random",
                                s.span,
                                f.name,
                            )
                        )
                        break
        return out

    @staticmethod
    def _decides(ctx, f, s) -> bool:
        if isinstance(s, ir.Require | ir.Branch):
            sinks = [s.cond]
        elif isinstance(s, ir.Send):
            sinks = [s.to, s.amount]
        elif isinstance(s, ir.Store):
            sinks = [s.key, s.value]
        elif isinstance(s, ir.Return) and s.value is not None and f.public and f.view:
            sinks = [s.value]  # a view's answer is what its callers decide on
        else:
            sinks = []
        # an entry picked by a pseudo-random index, anywhere
        for e in expressions(s):
            for n in ir.walk(e):
                if isinstance(n, ir.MapKey):
                    sinks.append(n.key)
        return any(PSEUDO_RANDOM in ctx.taint.expr(f, x) for x in sinks)
