from ..model import Detector


class UnusedFunction(Detector):
    id = "unused-function"
    title = "Private function never called"
    impact = "informational"
    confidence = "high"
    finds = "A private function of the contract that no function calls."
    why = "Dead code to read and audit; often a check that was meant to be called and is not."
    fix = "Call it where it was meant to run, or remove it."

    def detect(self, ctx):
        called = set().union(*(f.calls for f in ctx.info.functions.values()))
        return [
            self.finding(f"{fn.name} is never called", fn.node.name_span, fn.name)
            for fn in ctx.info.functions.values()
            if not (fn.public or fn.is_init or fn.library) and fn.name not in called
        ]
