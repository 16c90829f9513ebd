from deed.compiler import ir
from deed.compiler import types as T

from ..access import caller_keyed, is_caller, mentions_caller
from ..flow import nodes_of
from ..model import Detector
from ..taint import root_of, storage_path
from ._util import exposed


def authority_roots(ctx) -> set[str]:
    return {root_of(p) for p in authority_paths(ctx)}


def authority_paths(ctx) -> set[str]:
    """Storage that decides who may act or who is paid: what a condition
    compares the caller with (owners, oracles, arbiters, a record's holder),
    looks the caller up in (role maps), or what receives the contract's
    money; address variables besides."""
    roots: set[str] = {n for n in ctx.role_variables if _named_as_role(n)}
    for f in ctx.program.functions:
        if not (f.public or f.is_init):
            continue
        for e in ctx.access.entry_effects(f):
            if e.moves_value and isinstance(e.to, ir.Load):
                path = storage_path(ctx, e.to.key)
                if path:
                    roots.add(path)
            for fact in e.facts:
                roots |= _compared_with_caller(ctx, fact.cond, fact.holds)
    for f in ctx.program.functions:
        if not (f.public or f.is_init):
            continue
        for e in ctx.access.entry_effects(f):
            for fact in e.facts:
                roots |= _role_entries(ctx, fact.cond, fact.holds)
    return roots


def _fresh_record(ctx, f: ir.Function, e) -> bool:
    """The write fills a record this transaction creates: its key is read
    from a counter the same function advances (``id = self.count;
    self.count = id + 1``)."""
    counters = {
        ir.format_expr(x.key)
        for x in ctx.access.entry_effects(f)
        if x.kind == "store" and "[" not in (x.path or "[")
    }
    return any(isinstance(n, ir.Load) and ir.format_expr(n.key) in counters for n in ir.walk(e.key))


def _role_entries(ctx, cond: ir.Expr, holds: bool) -> set[str]:
    """Caller-keyed flags a condition requires to be set (``admins[msg.sender]``),
    not ones it requires clear (``not self.claimed[msg.sender]``)."""
    if isinstance(cond, ir.Unary) and cond.op == "not":
        return _role_entries(ctx, cond.operand, not holds)
    if isinstance(cond, ir.Logic):
        return _role_entries(ctx, cond.left, holds) | _role_entries(ctx, cond.right, holds)
    if holds and caller_keyed(cond) and isinstance(cond.type, T.BoolType):
        path = storage_path(ctx, cond.key)
        return {path} if path else set()
    if isinstance(cond, ir.Compare) and cond.op == "eq" and holds:
        for side, other in ((cond.left, cond.right), (cond.right, cond.left)):
            if (
                caller_keyed(side)
                and isinstance(side.type, T.EnumType)
                and isinstance(other, ir.Const)
            ):
                path = storage_path(ctx, side.key)
                return {path} if path else set()
    return set()


def _compared_with_caller(ctx, cond: ir.Expr, holds: bool) -> set[str]:
    """State a condition requires the caller to be (not merely not to be)."""
    if isinstance(cond, ir.Unary) and cond.op == "not":
        return _compared_with_caller(ctx, cond.operand, not holds)
    if isinstance(cond, ir.Logic):
        return _compared_with_caller(ctx, cond.left, holds) | _compared_with_caller(
            ctx, cond.right, holds
        )
    if isinstance(cond, ir.Compare) and cond.op in ("eq", "ne") and (cond.op == "eq") == holds:
        for me, other in ((cond.left, cond.right), (cond.right, cond.left)):
            if is_caller(me) and isinstance(other, ir.Load):
                path = storage_path(ctx, other.key)
                if path:
                    return {path}
    return set()


def self_enrolment(ctx, f: ir.Function, e) -> bool:
    """The caller records themselves: a new record's owner field set to the
    caller, or a paid membership under the caller's own key."""
    if "[" not in (e.path or ""):
        return False
    if _fresh_record(ctx, f, e):
        return True
    if is_caller(e.value) and not mentions_caller(e.key):
        return True
    if mentions_caller(e.key) and not isinstance(e.value.type, T.BoolType | T.EnumType):
        return True  # the caller configures their own entry (their hook, their payee)
    paid = f.payable and any(
        any(isinstance(n, ir.Env) and n.name == "msg.value" for n in ir.walk(x.cond))
        for x in e.facts
    )
    return paid and mentions_caller(e.key)


ROLE_WORDS = (
    "owner", "admin", "oracle", "arbiter", "governor", "manager", "operator", "signer",
    "guardian", "controller", "authority", "treasury", "beneficiary", "insurer", "minter",
    "keeper", "auditor", "verifier", "custodian", "trustee", "approver", "pauser",
)  # fmt: skip


def _named_as_role(name: str) -> bool:
    """An address variable named for a role is one, even before a check reads it."""
    return any(word in name.lower() for word in ROLE_WORDS)


def _within(path: str, paths: set[str]) -> bool:
    """``path`` is an authority or a field of one."""
    return any(path == p or path.startswith(p + "[") for p in paths)


class UnprotectedRoleChange(Detector):
    id = "unprotected-role-change"
    title = "A role changes with no access check"
    impact = "high"
    confidence = "medium"
    finds = "A public function that writes state deciding who may act (an owner, an oracle, an arbiter, a role map the contract checks the caller against), directly or through a helper, with no guard on every path to the write; checks against the wrong party (a parameter) do not count."
    why = (
        "Whoever calls it first takes the role, and with it the power the role has over the money."
    )
    fix = "Only the current holder of the role (or an admin role) may change it: access.only(self.owner) before the write."

    def detect(self, ctx):
        paths = authority_paths(ctx)
        out = []
        for f in ctx.program.functions:
            if not exposed(f):
                continue
            changed = []
            first = None
            for e in ctx.access.entry_effects(f):
                if e.kind != "store" or not e.path or e.guards:
                    continue
                root = root_of(e.path)
                if _within(e.path, paths) and not self_enrolment(ctx, f, e) and root not in changed:
                    changed.append(root)
                    first = first or e
            if changed:
                out.append(
                    self.finding(
                        f"{f.name} changes {', '.join(changed)} and nothing guards it",
                        first.stmt.span,
                        f.name,
                    )
                )
        return out


__all__ = ["UnprotectedRoleChange", "authority_roots", "nodes_of"]
