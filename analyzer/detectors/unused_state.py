from ..model import Detector


class UnusedState(Detector):
    id = "unused-state"
    title = "State never read"
    impact = "informational"
    confidence = "high"
    finds = "A state variable that no function reads."
    why = (
        "It costs storage writes for nothing, or shows logic that was meant to use it and does not."
    )
    fix = "Remove it, or use it where it was meant to be used."

    def detect(self, ctx):
        reads = set().union(*(s.reads for s in ctx.direct.values())) if ctx.direct else set()
        spans = ctx.state_spans()
        return [
            self.finding(f"{name} is never read", spans[name])
            for name, _ in ctx.program.state
            if name not in reads
        ]
