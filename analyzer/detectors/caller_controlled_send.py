from ..model import Detector
from ._util import exposed


class CallerControlledSend(Detector):
    id = "caller-controlled-send"
    title = "Send to an address the caller chooses, unchecked"
    impact = "high"
    confidence = "medium"
    finds = "A send (or a call carrying value) whose recipient comes from a transaction's arguments (directly, through locals, helpers or storage anyone can write), with no guard on the caller on every path to it."
    why = "The caller names who receives the contract's money: anyone can pay themselves."
    fix = "Pay a recipient the contract recorded (the seller, the policy holder), or check who may call it."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            if not exposed(f):
                continue
            for e in ctx.access.entry_effects(f):
                if not e.moves_value or e.guards or e.to is None:
                    continue
                if "param" not in ctx.taint.expr(f, e.to):
                    continue
                if ctx.payouts.reason(f, e) is not None:
                    continue  # the caller's own money or entry, wherever it goes
                out.append(
                    self.finding(
                        f"{f.name} pays an address its caller chooses, and nothing checks the caller",
                        e.stmt.span,
                        f.name,
                    )
                )
        return out
