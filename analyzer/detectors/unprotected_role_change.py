from deed.compiler import ir
from deed.compiler import types as T

from ..access import caller_keyed, is_caller, mentions_caller
from ..flow import nodes_of
from ..model import Detector
from ..taint import root_of
from ._util import exposed


def authority_roots(ctx) -> set[str]:
    """State that decides who may act: address variables (owners, oracles,
    arbiters) and whatever a condition compares the caller with or looks the
    caller up in (role maps)."""
    roots = set(ctx.role_variables)
    for f in ctx.program.functions:
        flow = ctx.access.flows[f.name]
        for b in f.blocks:
            for s in [*b.stmts, b.term]:
                if not isinstance(s, ir.Require | ir.Branch):
                    continue
                cond = flow.resolve(s.cond, b.index)
                for n in ir.walk(cond):
                    if caller_keyed(n) and isinstance(n.type, T.BoolType | T.EnumType):
                        path = ctx.access.path_of(f, n.key)
                        if path:
                            roots.add(root_of(path))
    return roots


def self_enrolment(f: ir.Function, e) -> bool:
    """The caller records themselves: a new record's owner field set to the
    caller, or a paid membership under the caller's own key."""
    if "[" not in (e.path or ""):
        return False
    if is_caller(e.value) and not mentions_caller(e.key):
        return True
    paid = f.payable and any(
        any(isinstance(n, ir.Env) and n.name == "msg.value" for n in ir.walk(x.cond))
        for x in e.facts
    )
    return paid and mentions_caller(e.key)


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
        roots = authority_roots(ctx)
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
                if root in roots and not self_enrolment(f, e) and root not in changed:
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
