from ..model import Detector, Finding
from ..taint import root_of
from .unprotected_role_change import authority_roots


class UninitializedState(Detector):
    id = "uninitialized-state"
    title = "State read but never written"
    impact = "low"
    confidence = "medium"
    finds = "A state variable that some function reads and no reachable code ever writes: no write at all, writes only in dead code or in helpers nobody calls, or only behind a check of the caller against state that is itself never set. High when the variable decides who may act (an owner, an oracle, a signer)."
    why = "It always holds its zero value: a zero address as owner, a zero limit, a zero price. An authority that is never set locks every function it guards, or, as a signer, may accept what it should refuse."
    fix = "Set it in init (or in a function someone can call), or replace it with a constant."

    def detect(self, ctx):
        reads = set().union(*(s.reads for s in ctx.direct.values())) if ctx.direct else set()
        written = {root_of(p) for p in ctx.access.initialized}
        authorities = authority_roots(ctx)
        spans = ctx.state_spans()
        out = []
        for name, _ in ctx.program.state:
            if name not in reads or name in written:
                continue
            high = name in authorities
            message = f"{name} is read but no reachable code writes it: it is always zero"
            if high:
                message += "; it decides who may act"
            out.append(
                Finding(
                    self.id,
                    "high" if high else self.impact,
                    self.confidence,
                    message,
                    spans[name],
                )
            )
        return out
