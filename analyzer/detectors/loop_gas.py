from deed.compiler import ir
from deed.vm.opcodes import LIMITS

from ..gas import GasAnalysis
from ..model import Detector


class LoopGas(Detector):
    id = "loop-gas"
    title = "A loop whose worst case exceeds a block's gas"
    impact = "medium"
    confidence = "high"
    finds = "A function with a loop whose worst-case gas, at the loop's declared bound, is above the block gas limit."
    why = "At its bound the call can never fit in a block: the function stops working exactly when it has the most to do (many policies, many claimants)."
    fix = "Lower the bound, or process in batches with a cursor kept in state."

    def detect(self, ctx):
        gas = GasAnalysis(ctx)
        out = []
        for f in ctx.program.functions:
            if not f.loops:
                continue
            bound = gas.bound(f.name).bound
            if bound > LIMITS.max_block_gas:
                header = (
                    next(b for b in f.blocks if b.index == f.loops[0].header)
                    if any(b.index == f.loops[0].header for b in f.blocks)
                    else f.blocks[0]
                )
                span = header.term.span if isinstance(header.term, ir.Branch) else f.span
                out.append(
                    self.finding(
                        f"{f.name} may need {bound:,} gas, over the block limit of {LIMITS.max_block_gas:,}",
                        span,
                        f.name,
                    )
                )
        return out
