from ..model import Detector


class LockedFunds(Detector):
    id = "locked-funds"
    title = "Funds can come in but never go out"
    impact = "medium"
    confidence = "high"
    finds = "A contract with a payable function (or payable init) and no path that sends value out."
    why = "Whatever is paid in stays in the contract for ever: no one, not even the owner, can take it out."
    fix = "Add the payout: a withdrawal for the owner, refunds, or the contract's payments."

    def detect(self, ctx):
        payable = [f for f in ctx.program.functions if f.payable]
        if not payable or any(s.sends for s in ctx.summaries.values()):
            return []
        return [
            self.finding(
                f"{ctx.program.contract} accepts value in {', '.join(f.name for f in payable)} but never sends any",
                ctx.info.node.span,
            )
        ]
