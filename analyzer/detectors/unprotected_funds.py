from ..model import Detector
from ._util import exposed


class UnprotectedFunds(Detector):
    id = "unprotected-funds"
    title = "Funds move with no access check"
    impact = "high"
    confidence = "medium"
    finds = "A public function that sends value (directly or through the functions it calls) without ever comparing msg.sender with anything."
    why = "Anyone can call it: if the amount or the recipient is not fixed by the contract's state, anyone can drain the contract."
    fix = "Check who may call it (require(msg.sender == self.owner, ...)) or make the payout depend only on state the caller cannot choose."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            s = ctx.summaries[f.name]
            if exposed(f) and s.sends and not s.checks_caller:
                out.append(
                    self.finding(
                        f"{f.name} moves funds and never checks msg.sender", f.span, f.name
                    )
                )
        return out
