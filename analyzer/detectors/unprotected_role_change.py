from ..model import Detector
from ._util import exposed


class UnprotectedRoleChange(Detector):
    id = "unprotected-role-change"
    title = "A role changes with no access check"
    impact = "high"
    confidence = "medium"
    finds = "A public function that writes an address state variable (an owner, an oracle, an arbiter) without comparing msg.sender with anything."
    why = (
        "Whoever calls it first takes the role, and with it the power the role has over the money."
    )
    fix = "Let only the current holder (or an admin) change the role: require(msg.sender == self.owner, ...)."

    def detect(self, ctx):
        roles = ctx.role_variables
        out = []
        for f in ctx.program.functions:
            s = ctx.summaries[f.name]
            changed = sorted(s.writes & roles)
            if exposed(f) and changed and not s.checks_caller:
                out.append(
                    self.finding(
                        f"{f.name} changes {', '.join(changed)} and never checks msg.sender",
                        f.span,
                        f.name,
                    )
                )
        return out
