from deed.compiler import ir

from ..flow import nodes_of
from ..model import Detector


class SendInLoop(Detector):
    id = "send-in-loop"
    title = "Value sent inside a loop"
    impact = "medium"
    confidence = "high"
    finds = "send() or a call to another contract inside a loop, directly or in a helper the loop calls."
    why = (
        "A call to another contract can revert and stop the whole batch: one recipient holds up "
        "everyone's payment. A send cannot be refused by its recipient (it runs no code), but the "
        "loop's gas grows with the number of recipients and one failed send still fails the batch."
    )
    fix = "Record what each recipient is owed and let them withdraw (pull payments), or pay in bounded batches."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            in_loop = ctx.loop_blocks(f)
            for b in f.blocks:
                if b.index not in in_loop:
                    continue
                for s in b.stmts:
                    message = self._leaves(ctx, s)
                    if message:
                        out.append(self.finding(message, s.span, f.name))
        return out

    @staticmethod
    def _leaves(ctx, s) -> str | None:
        if isinstance(s, ir.Send):
            return "value is sent inside a loop: its gas grows with the recipients"
        for n in nodes_of(s):
            if isinstance(n, ir.ExtCall):
                return (
                    "another contract is called inside a loop: one reverting callee stops the batch"
                )
            if isinstance(n, ir.Call):
                kinds = {e.kind for e in ctx.access.local_effects(n.function)}
                if "call" in kinds:
                    return f"{n.function}, called inside a loop, calls another contract: one reverting callee stops the batch"
                if "send" in kinds:
                    return f"{n.function}, called inside a loop, sends value: the loop's gas grows with the recipients"
        return None
