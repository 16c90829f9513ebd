"""front-running: a transaction whose outcome a watcher of the mempool can
change by getting in first.

Two shapes, both judged on the access model's effects (helpers lifted into
the public function that reaches them, conditions on every path as facts):

- the approve race: ``allowance[msg.sender][spender] = amount`` overwrites a
  spender's allowance without looking at what is left of it, so the spender
  can spend the old allowance just before the new one lands, then the new one;
- a copyable claim: the caller is rewarded (paid, or recorded as the winner)
  because a hash of a value they send matches stored state. Once the value is
  in the mempool anyone can send it first, unless an earlier commitment ties
  it to the caller.
"""

from __future__ import annotations

from deed.compiler import ir
from deed.compiler import types as T

from ..access import Effect, caller_keyed, is_caller, mentions_caller
from ..flow import Fact
from ..model import Detector, Finding
from ..taint import storage_path
from ._util import exposed

HASHES = ("sha256", "keccak256")


class FrontRunning(Detector):
    id = "front-running"
    title = "Transaction a watcher can overtake"
    impact = "medium"
    confidence = "medium"
    finds = (
        "An allowance-like entry (map[msg.sender][spender] of uint) overwritten with a value the "
        "caller chooses without checking the current one; or a public function that pays the "
        "caller, or records them as winner, because a hash of a value they send matches stored "
        "state, with no earlier commitment bound to the caller."
    )
    why = (
        "Transactions wait in public before they run. A spender who sees an allowance being "
        "changed spends the old one first and the new one after; anyone who sees the answer to "
        "a puzzle or bounty sends it first and takes the reward."
    )
    fix = (
        "Allowances: require the current or the new value to be zero, or offer increase and "
        "decrease functions. Claims: commit first (store a hash that includes msg.sender under "
        "commits[msg.sender]), reveal later, and check the reveal against the caller's commitment."
    )

    def detect(self, ctx) -> list[Finding]:
        out: list[Finding] = []
        for f in ctx.program.functions:
            if not exposed(f):
                continue
            effects = ctx.access.entry_effects(f)
            for e in effects:
                if _approve_race(ctx, f, e):
                    out.append(self._found(f, e, "overwrites an allowance without checking it"))
                    break
            for e in effects:
                if _rewards_caller(e) and _copyable_hash_match(ctx, f, e):
                    out.append(
                        self._found(f, e, "rewards whoever first sends a value whose hash matches")
                    )
                    break
                if _rewards_caller(e) and e.moves_value and _copyable_report(ctx, f, e):
                    out.append(
                        self._found(
                            f,
                            e,
                            "pays whoever first submits a signed report: a watcher can copy it",
                        )
                    )
                    break
        return out

    def _found(self, f: ir.Function, e: Effect, what: str) -> Finding:
        return self.finding(f"{f.name} {what}: a watcher can get in first", e.stmt.span, f.name)


# ---------------------------------------------------------------- approve race


def _approve_race(ctx, f: ir.Function, e: Effect) -> bool:
    """A store to ``m[msg.sender][x]`` (uint) of a caller-chosen value that
    neither reads the entry nor follows a condition on it or on zero."""
    if e.kind != "store" or e.key is None or e.value is None or e.path is None:
        return False
    if not _two_level_caller_key(e.key) or not isinstance(e.value.type, T.IntType):
        return False
    if "param" not in ctx.taint.expr(f, e.value):
        return False
    if _reads_path(ctx, e.value, e.path) or f"state:{e.path}" in ctx.taint.expr(f, e.value):
        return False  # increase / decrease: the new value is built on the old
    if any(_checks_entry_or_zero(ctx, fact, e) for fact in e.facts):
        return False
    return _spent_by_second_party(ctx, e.path)


def _spent_by_second_party(ctx, path: str) -> bool:
    """Some public function writes ``m[x][msg.sender]``: the party named by
    the second key uses the entry up (an allowance, not a per-user setting)."""
    for g in ctx.program.functions:
        if not exposed(g):
            continue
        for e in ctx.access.entry_effects(g):
            key = _entry(e.key)
            if (
                e.kind == "store"
                and e.path == path
                and isinstance(key, ir.MapKey)
                and mentions_caller(key.key)
            ):
                return True
    return False


def _two_level_caller_key(key: ir.Expr) -> bool:
    """``mapkey(mapkey(slot, msg.sender), x)``: the caller's own row of a
    two-level map (or a struct field in it: ``limits[msg.sender][x].remaining``)."""
    key = _entry(key)
    return (
        isinstance(key, ir.MapKey)
        and isinstance(key.base, ir.MapKey)
        and isinstance(key.base.base, ir.SlotKey)
        and is_caller(key.base.key)
        and not mentions_caller(key.key)
    )


def _entry(key: ir.Expr) -> ir.Expr:
    """The map entry a key addresses, struct fields stripped."""
    while (
        isinstance(key, ir.MapKey) and isinstance(key.key, ir.Const) and str(key.key.type) == "u8"
    ):
        key = key.base
    return key


def _reads_path(ctx, e: ir.Expr, path: str) -> bool:
    return any(isinstance(n, ir.Load) and storage_path(ctx, n.key) == path for n in ir.walk(e))


def _checks_entry_or_zero(ctx, fact: Fact, e: Effect) -> bool:
    """A condition on the entry itself, or one requiring the new value to be zero."""
    if _reads_path(ctx, fact.cond, e.path):
        return True
    value = ir.format_expr(e.value)
    for n in ir.walk(fact.cond):
        if isinstance(n, ir.Compare) and n.op in ("eq", "ne"):
            sides = {ir.format_expr(n.left), ir.format_expr(n.right)}
            if value in sides and any(_is_zero(s) for s in (n.left, n.right)):
                return True
    return False


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value == 0


# ---------------------------------------------------------------- copyable claim


def _rewards_caller(e: Effect) -> bool:
    """Pays msg.sender, or writes msg.sender into storage (a winner, an owner)."""
    if e.kind == "send":
        return e.to is not None and is_caller(e.to)
    if e.kind == "call":
        return e.moves_value and e.to is not None and is_caller(e.to)
    return e.kind == "store" and e.value is not None and is_caller(e.value)


def _copyable_hash_match(ctx, f: ir.Function, e: Effect) -> bool:
    """A fact at the effect compares a hash of a caller-supplied value with
    stored state, and no fact binds the claim to the caller beforehand."""
    if e.guards:
        return False  # only a bound party (owner, role, signer) gets here: a copy is refused
    conds = [fact.cond for fact in e.facts]
    if any(caller_keyed(n) for c in conds for n in ir.walk(c)):
        return False  # commits[msg.sender], a caller-keyed deadline or stake
    return any(
        _hash_matches_state(ctx, f, n)
        for c in conds
        for n in ir.walk(c)
        if isinstance(n, ir.Compare) and n.op in ("eq", "ne")
    )


def _copyable_report(ctx, f: ir.Function, e: Effect) -> bool:
    """The caller is paid because a signed report (or message) checks out,
    and nothing ties the payment to who submits it: the signatures do not
    cover msg.sender, no check names the caller, and it is not their entry."""
    if not e.guards or any(g.kind != "signature" for g in e.guards):
        return False
    if ctx.payouts.reason(f, _unguarded(e)) is not None:
        return False  # the caller's own entry or what they paid in
    for fact in e.facts:
        for n in ir.walk(fact.cond):
            if isinstance(n, ir.Builtin) and n.name == "verify_ed25519" and mentions_caller(n):
                return False
            if caller_keyed(n):
                return False
    return True


def _unguarded(e: Effect) -> Effect:
    copy = Effect(**{k: getattr(e, k) for k in e.__dataclass_fields__})
    copy.guards = []
    return copy


def _hash_matches_state(ctx, f: ir.Function, cmp: ir.Compare) -> bool:
    for mine, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        hashes = [n for n in ir.walk(mine) if isinstance(n, ir.Builtin) and n.name in HASHES]
        if not hashes or not any(isinstance(n, ir.Load) for n in ir.walk(other)):
            continue
        for h in hashes:
            labels = ctx.taint.expr(f, h)
            if "param" in labels and "caller" not in labels and not mentions_caller(h):
                return True
    return False
