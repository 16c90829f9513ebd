from deed.compiler import ir
from deed.compiler.optimize import fold_expr

from ..model import Detector


class ConstantCondition(Detector):
    id = "constant-condition"
    title = "Condition that is always true or always false"
    impact = "informational"
    confidence = "high"
    finds = "An if, elif or require whose condition is a constant once constants are folded: one branch is dead code."
    why = "Dead branches hide mistakes (a wrong constant, a comparison the wrong way round) and mislead readers."
    fix = "Fix the condition, or remove the branch that can never run."

    def detect(self, ctx):
        out = []
        for f in ctx.unoptimised.functions:
            for b in f.blocks:
                for s in [*b.stmts, b.term]:
                    if isinstance(s, ir.Branch | ir.Require) and not isinstance(s.cond, ir.Local):
                        folded = fold_expr(s.cond)
                        if isinstance(folded, ir.Const):
                            out.append(
                                self.finding(
                                    f"this condition is always {bool(folded.value)}", s.span, f.name
                                )
                            )
        return out
