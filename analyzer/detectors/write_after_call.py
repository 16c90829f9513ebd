from deed.compiler import ir

from ..context import all_nodes
from ..model import Detector
from ._util import reachable_from


class WriteAfterCall(Detector):
    id = "write-after-call"
    title = "State written after an external call"
    impact = "medium"
    confidence = "medium"
    finds = "A storage write that can run after a call to another contract in the same function."
    why = "Deed refuses reentrant calls, so this is not reentrancy; but the callee saw the old state, and a callee that fails late leaves the update half done for the reader. Checks-effects-interactions keeps contracts easy to reason about."
    fix = "Update state first, then call other contracts."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            blocks = {b.index: b for b in f.blocks}
            for b in f.blocks:
                items = [*b.stmts, b.term]
                for i, s in enumerate(items):
                    if not any(isinstance(n, ir.ExtCall) for n in all_nodes(s)):
                        continue
                    later = [x for x in items[i + 1 :] if isinstance(x, ir.Store)]
                    for r in reachable_from(f, b.index):
                        later += [x for x in blocks[r].stmts if isinstance(x, ir.Store)]
                    if later:
                        out.append(
                            self.finding(
                                f"{f.name} writes storage after calling another contract",
                                later[0].span,
                                f.name,
                            )
                        )
                        break
        return _unique(out)


def _unique(findings):
    seen, out = set(), []
    for x in findings:
        key = (x.function, x.span)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out
