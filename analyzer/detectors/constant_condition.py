"""constant-condition: an if, elif or require the author wrote whose outcome
is known before the contract runs.

Two ways a condition is constant: it folds to a constant (``1 > 2``, a
``const`` compared with a literal), or it compares a value with a constant
its type already decides (``x >= 0`` on a ``uint``, ``x <= 255`` on a ``u8``).
Checks the compiler inserts itself (an index against a fixed array's length,
which folds to a constant when the index is a literal) are marked
``implicit`` by the lowering and are not the author's: they are skipped.
"""

from __future__ import annotations

from deed.compiler import ir
from deed.compiler import types as T
from deed.compiler.optimize import fold_expr

from ..model import Detector

# ``c op x`` is ``x MIRROR[op] c``
MIRROR = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "eq": "eq", "ne": "ne"}


def outcome_on_range(op: str, lo: int, hi: int, c: int) -> bool | None:
    """The value of ``x op c`` for every ``x`` in ``[lo, hi]``, or None when it
    depends on ``x``."""
    holds_at = {
        "lt": lambda x: x < c,
        "le": lambda x: x <= c,
        "gt": lambda x: x > c,
        "ge": lambda x: x >= c,
        "eq": lambda x: x == c,
        "ne": lambda x: x != c,
    }[op]
    if op in ("eq", "ne"):
        if lo <= c <= hi and lo != hi:
            return None
        return holds_at(lo)
    # the comparison is monotonic in x: its two ends decide it
    at_lo, at_hi = holds_at(lo), holds_at(hi)
    return at_lo if at_lo == at_hi else None


def decided_by_type(cond: ir.Expr) -> bool | None:
    """``x op c`` (or ``c op x``) whose outcome the type of ``x`` decides."""
    if not isinstance(cond, ir.Compare) or cond.op not in MIRROR:
        return None
    left, right, op = cond.left, cond.right, cond.op
    if isinstance(left, ir.Const) and not isinstance(right, ir.Const):
        left, right, op = right, left, MIRROR[op]
    if not isinstance(right, ir.Const) or not isinstance(left.type, T.IntType):
        return None
    if isinstance(right.value, bytes | bool):
        return None
    lo, hi = left.type.range
    return outcome_on_range(op, lo, hi, int(right.value))


def constant_outcome(cond: ir.Expr) -> bool | None:
    """True or False when ``cond`` cannot depend on the running contract."""
    folded = fold_expr(cond)
    if isinstance(folded, ir.Const):
        return bool(folded.value)
    return decided_by_type(folded)


class ConstantCondition(Detector):
    id = "constant-condition"
    title = "Condition that is always true or always false"
    impact = "informational"
    confidence = "high"
    finds = "An if, elif or require whose condition is a constant once constants are folded, or a comparison its operand's type decides (x >= 0 on a uint): one branch is dead code."
    why = "Dead branches hide mistakes (a wrong constant, a comparison the wrong way round) and mislead readers."
    fix = "Fix the condition, or remove the branch that can never run."

    def detect(self, ctx):
        out = []
        for f in ctx.unoptimised.functions:
            for b in f.blocks:
                for s in [*b.stmts, b.term]:
                    if not self.is_authors_condition(s):
                        continue
                    value = constant_outcome(s.cond)
                    if value is not None:
                        out.append(
                            self.finding(f"this condition is always {value}", s.span, f.name)
                        )
        return out

    @staticmethod
    def is_authors_condition(s) -> bool:
        """A branch or require written in the source; a condition held in a
        local is the lowering's (``and``/``or``), judged where it is computed."""
        if isinstance(s, ir.Require) and s.implicit:
            return False
        return isinstance(s, ir.Branch | ir.Require) and not isinstance(s.cond, ir.Local)
