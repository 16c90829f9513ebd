from deed.compiler import ir

from ..context import expressions, mentions
from ..model import Detector
from ._util import nodes, statements


class ReplayableSignature(Detector):
    id = "replayable-signature"
    title = "Signature check with no nonce or expiry"
    impact = "high"
    confidence = "medium"
    finds = "verify_ed25519 in a function that neither records anything in storage (a nonce, a used flag) nor looks at block.timestamp (an expiry)."
    why = "The same signed message can be submitted again and again: a signed payout or approval is replayed."
    fix = "Put a nonce or an expiry in the signed message and record it as used: require(not self.used[digest]); self.used[digest] = True."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            checks = [
                s for s, n in nodes(f) if isinstance(n, ir.Builtin) and n.name == "verify_ed25519"
            ]
            if not checks:
                continue
            s = ctx.summaries[f.name]
            uses_time = any(
                mentions(e, "block.timestamp") for _, st in statements(f) for e in expressions(st)
            )
            if not s.writes and not uses_time:
                out.append(
                    self.finding(
                        f"{f.name} accepts a signature that can be used again",
                        checks[0].span,
                        f.name,
                    )
                )
        return out
