from deed.compiler import ir

from ..model import Detector
from ._util import exposed, is_param


class CallerControlledSend(Detector):
    id = "caller-controlled-send"
    title = "Send to an address the caller chooses, unchecked"
    impact = "high"
    confidence = "medium"
    finds = "A public function that sends value to one of its own parameters and never checks msg.sender."
    why = "The caller picks where the money goes: unless the amount is the caller's own, this pays strangers."
    fix = "Send to an address kept in state (the seller, the holder), or check that the caller may direct the payment."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            if not exposed(f) or ctx.summaries[f.name].checks_caller:
                continue
            for b in f.blocks:
                for s in b.stmts:
                    if isinstance(s, ir.Send) and is_param(s.to, f):
                        out.append(
                            self.finding(
                                f"{f.name} sends to its parameter {s.to.name} without checking the caller",
                                s.span,
                                f.name,
                            )
                        )
        return out
