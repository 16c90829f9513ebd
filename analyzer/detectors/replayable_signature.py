from deed.compiler import ir

from ..model import Detector


def leaves(e: ir.Expr) -> set[str]:
    """The parameters and storage reads an expression is built from."""
    return {ir.format_expr(n) for n in ir.walk(e) if isinstance(n, ir.Local | ir.Load)}


class ReplayableSignature(Detector):
    id = "replayable-signature"
    title = "Signature check with no nonce or expiry"
    impact = "high"
    confidence = "medium"
    finds = (
        "A signature check guarding a public function (directly or in a helper, judged at every "
        "public caller) whose signed message contains nothing the function then records (a nonce, "
        "a used flag, the record's new status) and nothing it checks against block.timestamp (an expiry)."
    )
    why = "The same signed message can be submitted again and again: a signed payout or approval is replayed."
    fix = "Sign a nonce (signed_by takes one) and record it as used in the same function: require(not self.used[nonce]); self.used[nonce] = True. Or sign an expiry and check it."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            if not f.public or f.is_init:  # a view's verdict is replayed by its callers
                continue
            effects = ctx.access.entry_effects(f)
            # what a store records as used: what its key is built from
            # (used[nonce] = True), or the entry itself (nonces[who] += 1);
            # a running total that merely adds the amount records nothing
            recorded = set()
            for e in effects:
                if e.kind == "store" and e.key is not None:
                    recorded |= leaves(e.key) - {ir.format_expr(e.key)}
                    recorded |= {
                        ir.format_expr(n)
                        for n in ir.walk(e.value)
                        if isinstance(n, ir.Load) and ir.format_expr(n.key) == ir.format_expr(e.key)
                    }
            for check, stmt in ctx.access.builtins_reached(f.name, "verify_ed25519"):
                message = check.args[1]
                signed = leaves(message)
                facts = [x for e in effects for x in e.facts]
                facts += ctx.access.flows[f.name].postconditions
                if signed & recorded or self._expires(facts, signed) or self._once(effects, facts):
                    continue
                out.append(
                    self.finding(
                        f"{f.name} accepts a signed message that can be used again: nothing in it is recorded as used or expires",
                        stmt.span,
                        f.name,
                    )
                )
                break
        return out

    @staticmethod
    def _once(effects, facts) -> bool:
        """The function moves a state it requires (``require(not
        self.released)`` then ``self.released = True``): it succeeds once, for
        any message."""
        checked = {
            ir.format_expr(n.key) for x in facts for n in ir.walk(x.cond) if isinstance(n, ir.Load)
        }
        return any(
            e.kind == "store" and isinstance(e.value, ir.Const) and ir.format_expr(e.key) in checked
            for e in effects
        )

    @staticmethod
    def _expires(facts, signed: set[str]) -> bool:
        """A condition ties block.timestamp to something signed."""
        for fact in facts:
            nodes = list(ir.walk(fact.cond))
            if any(isinstance(n, ir.Env) and n.name == "block.timestamp" for n in nodes):
                if leaves(fact.cond) & signed:
                    return True
        return False
