from ..model import Detector
from ._util import exposed


class MissingEvent(Detector):
    id = "missing-event"
    title = "Critical change without an event"
    impact = "low"
    confidence = "medium"
    finds = "A public function that moves money or changes an address state variable (a role) and emits no event."
    why = "Auditors and users follow a contract by its events: a payout or a change of owner that leaves no trace cannot be checked from outside."
    fix = "emit an event with who, what and how much."

    def detect(self, ctx):
        roles = ctx.role_variables
        out = []
        for f in ctx.program.functions:
            s = ctx.summaries[f.name]
            if exposed(f) and (s.sends or s.writes & roles) and not s.emits:
                what = (
                    "moves funds" if s.sends else f"changes {', '.join(sorted(s.writes & roles))}"
                )
                out.append(self.finding(f"{f.name} {what} and emits no event", f.span, f.name))
        return out
