from ..model import Detector


class LockedFunds(Detector):
    id = "locked-funds"
    title = "Funds can come in but never go out"
    impact = "medium"
    confidence = "high"
    finds = "A contract with a payable function (or payable init) and no send that a transaction can reach: sends in dead code, or behind a check of the caller against state nobody can set, do not count."
    why = "Whatever is paid in stays in the contract for ever: no one, not even the owner, can take it out."
    fix = "Add the payout (a withdrawal for the owner, refunds, the contract's payments) and make sure whoever must call it can."

    def detect(self, ctx):
        payable = [f for f in ctx.program.functions if f.payable]
        if not payable or any(e.moves_value for e in ctx.access.reachable_effects()):
            return []
        return [
            self.finding(
                f"{ctx.program.contract} accepts value in {', '.join(f.name for f in payable)} but no reachable path sends any",
                ctx.info.node.span,
            )
        ]
