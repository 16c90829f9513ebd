from ..model import Detector


class WriteAfterCall(Detector):
    id = "write-after-call"
    title = "State written after an external call"
    impact = "medium"
    confidence = "medium"
    finds = (
        "A storage write, or a call that writes another contract of the same compilation, that can "
        "run after a call to another contract in the same transaction: in the function itself or "
        "in the helpers it calls."
    )
    why = (
        "The VM refuses a call into a contract already on the call stack, so a contract cannot be "
        "re-entered; but the callee (a hook, a token with transfer hooks) can call a third contract "
        "that reads this contract's or its partner's state before it is updated. A vault that paid "
        "through a hook before burning shares in a separate ledger paid twice the deposit."
    )
    fix = "Update every contract's state first (checks, effects), then call other contracts (interactions)."

    def detect(self, ctx):
        out = []
        for f in ctx.program.functions:
            if not (f.public and not f.view):
                continue
            for e in ctx.access.entry_effects(f):
                if not e.after_call:
                    continue
                what = self._effect(ctx, e)
                if what is None:
                    continue
                where = f" (in {' -> '.join(e.via)})" if e.via else ""
                out.append(
                    self.finding(
                        f"{f.name} {what}{where} after calling another contract",
                        e.stmt.span,
                        f.name,
                    )
                )
                break
        return out

    @staticmethod
    def _effect(ctx, e) -> str | None:
        if e.kind == "store":
            return f"writes {e.path or 'storage'}"
        if e.kind == "call" and e.call is not None and ctx.sibling_writes(e.call.method):
            return f"changes another contract's state ({e.call.interface}.{e.call.method})"
        return None
