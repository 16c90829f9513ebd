from deed.compiler import ir

from ..model import Detector
from ._util import nodes

BLOCK_VALUES = ("block.timestamp", "block.height")


class WeakRandomness(Detector):
    id = "weak-randomness"
    title = "Block values used as randomness"
    impact = "medium"
    confidence = "medium"
    finds = "block.timestamp or block.height inside a modulo or a hash."
    why = "The block's proposer chooses the timestamp and knows the height: a lottery, a draw or a rotation built on them can be steered."
    fix = "Use a commit-reveal scheme or a signed oracle value; use the block only for deadlines."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            for s, n in nodes(f):
                inner = None
                if isinstance(n, ir.Binary) and n.op == "mod":
                    inner = n.left
                elif isinstance(n, ir.Builtin) and n.name in ("sha256", "keccak256"):
                    inner = n.args[0]
                if inner is not None and any(
                    isinstance(x, ir.Env) and x.name in BLOCK_VALUES for x in ir.walk(inner)
                ):
                    out.append(
                        self.finding(
                            "a block value feeds a modulo or a hash, as if it were random",
                            s.span,
                            f.name,
                        )
                    )
                    break
        return out
