from ..model import Detector


class ShadowedState(Detector):
    id = "shadowed-state"
    title = "A local or parameter named like a state variable"
    impact = "informational"
    confidence = "high"
    finds = "A parameter or local (outside init) with the name of a state variable."
    why = "`x` and `self.x` then mean different things a line apart: easy to read, and to write, the wrong one."
    fix = "Rename the local (new_owner, amount_in) so that each name means one thing."

    def detect(self, ctx):
        state = set(ctx.info.state)
        out = []
        for fn in ctx.info.functions.values():
            if fn.is_init or fn.library:
                continue
            for local in fn.locals:
                if local.name in state and not local.name.startswith(("t.", "key.", "end.")):
                    out.append(
                        self.finding(
                            f"{local.name} in {fn.name} has the name of a state variable",
                            fn.node.name_span,
                            fn.name,
                        )
                    )
        return out
