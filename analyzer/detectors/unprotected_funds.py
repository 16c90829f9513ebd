from deed.compiler import ir

from ..context import mentions
from ..model import Detector
from ._util import exposed, statements


def caller_funded(f: ir.Function, amount: ir.Expr) -> bool:
    """The amount comes from msg.value (directly or through locals): the
    caller sends their own money on, which cannot drain the contract."""
    tainted: set[int] = set()
    changed = True
    while changed:
        changed = False
        for _, s in statements(f):
            if isinstance(s, ir.SetLocal) and s.index not in tainted:
                if mentions(s.value, "msg.value") or any(
                    isinstance(n, ir.Local) and n.index in tainted for n in ir.walk(s.value)
                ):
                    tainted.add(s.index)
                    changed = True
            if isinstance(s, ir.Unpack) and not all(i in tainted for i, _ in s.targets):
                if mentions(s.value, "msg.value") or any(
                    isinstance(n, ir.Local) and n.index in tainted for n in ir.walk(s.value)
                ):  # a call's values computed from msg.value
                    tainted.update(i for i, _ in s.targets)
                    changed = True
    return mentions(amount, "msg.value") or any(
        isinstance(n, ir.Local) and n.index in tainted for n in ir.walk(amount)
    )


class UnprotectedFunds(Detector):
    id = "unprotected-funds"
    title = "Funds move with no access check"
    impact = "high"
    confidence = "medium"
    finds = "A public function that sends value (directly or through the functions it calls) without ever comparing msg.sender with anything; sends of what the caller pays in (amounts computed from msg.value) do not count."
    why = "Anyone can call it: if the amount or the recipient is not fixed by the contract's state, anyone can drain the contract."
    fix = "Check who may call it (require(msg.sender == self.owner, ...)) or make the payout depend only on state the caller cannot choose."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            s = ctx.summaries[f.name]
            if not (exposed(f) and s.sends and not s.checks_caller):
                continue
            own_sends = [st for _, st in statements(f) if isinstance(st, ir.Send)]
            via_calls = s.sends and not own_sends
            if via_calls or any(
                not (f.payable and caller_funded(f, st.amount)) for st in own_sends
            ):
                out.append(
                    self.finding(
                        f"{f.name} moves funds and never checks msg.sender", f.span, f.name
                    )
                )
        return out
