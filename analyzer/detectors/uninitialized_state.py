from ..model import Detector


class UninitializedState(Detector):
    id = "uninitialized-state"
    title = "State read but never written"
    impact = "low"
    confidence = "medium"
    finds = "A state variable that some function reads and no function (init included) ever writes."
    why = "It always holds its zero value: a zero address as owner, a zero limit, a zero price. Usually a forgotten assignment in init."
    fix = "Set it in init (or in the function meant to set it), or replace it with a constant."

    def detect(self, ctx):
        reads = set().union(*(s.reads for s in ctx.direct.values())) if ctx.direct else set()
        writes = set().union(*(s.writes for s in ctx.direct.values())) if ctx.direct else set()
        spans = ctx.state_spans()
        return [
            self.finding(f"{name} is read but never written: it is always zero", spans[name])
            for name, _ in ctx.program.state
            if name in reads and name not in writes
        ]
