from ..model import Detector
from ._util import exposed


class UnprotectedFunds(Detector):
    id = "unprotected-funds"
    title = "Funds move with no access check"
    impact = "high"
    confidence = "medium"
    finds = (
        "A send (or a call carrying value), in a public function or a helper it calls, that no "
        "guard protects on every path to it (a check of the caller against privileged state, a "
        "role, a verified signature) and that is not one of the safe payouts: passing on what the "
        "caller pays in, refunding the caller's own entry, or paying a party the caller cannot choose."
    )
    why = "Anyone can call it and choose who is paid or how much: anyone can drain the contract."
    fix = "Check who may call it (access.only(self.owner), a role, a signed and nonce-bound authorisation) or make the payout depend only on state the caller cannot choose."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            if not exposed(f):
                continue
            for e in ctx.access.entry_effects(f):
                if e.moves_value and ctx.payouts.reason(f, e) is None:
                    where = f" (through {' -> '.join(e.via)})" if e.via else ""
                    out.append(
                        self.finding(
                            f"{f.name} moves funds{where} and nothing guards it: no check of the "
                            "caller, role or signature on every path",
                            e.stmt.span,
                            f.name,
                        )
                    )
                    break
        return out
