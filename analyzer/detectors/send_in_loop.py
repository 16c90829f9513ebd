from deed.compiler import ir

from ..context import all_nodes
from ..model import Detector


class SendInLoop(Detector):
    id = "send-in-loop"
    title = "Value sent inside a loop"
    impact = "medium"
    confidence = "high"
    finds = "send() or a call to another contract inside a loop."
    why = "One failing or reverting recipient stops the whole batch, and the loop's gas grows with the number of recipients."
    fix = "Record what each recipient is owed and let them withdraw (pull payments), or pay in bounded batches that skip failures."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            in_loop = ctx.loop_blocks(f)
            for b in f.blocks:
                if b.index not in in_loop:
                    continue
                for s in b.stmts:
                    if isinstance(s, ir.Send) or any(
                        isinstance(n, ir.ExtCall) for n in all_nodes(s)
                    ):
                        out.append(
                            self.finding(
                                "value or a call leaves the contract inside a loop", s.span, f.name
                            )
                        )
        return out
