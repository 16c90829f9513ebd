"""signature-binding: a signature check that does not pin down who signed
what, for which contract, on which chain.

Every ``verify_ed25519`` a public function reaches (in its own statements or
in the helpers it calls, with their arguments substituted, so a helper is
judged at each public caller) is read in the caller's frame:

- the message must contain ``self.address`` and ``chain.id``, or the same
  signature is good on every deployment and every chain;
- a key the caller passes must be tied to an account (``address_of(key) ==
  <state or msg.sender>``), or anyone signs with a key of their own; an
  account that is itself a parameter ties nothing unless something else
  depends on it (a condition on it, or the account's own storage entries);
- a key or a signer address read from storage that no reachable code writes
  is empty.

``signed_by`` lowers to ``address_of(key) == account and verify_ed25519(key,
encode(domain, chain.id, self.address, nonce, payload), sig)``, so it passes
the first two checks by construction. Missing nonces are
replayable-signature's business, not this detector's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.compiler import ir

from ..access import mentions_caller
from ..flow import expressions, substitute
from ..model import Detector, Finding
from ..taint import storage_path

BINDING_ENVS = ("self.address", "chain.id")
MAX_DEPTH = 6  # helpers inside helpers
MAX_EXPRS = 20_000  # a helper called many times over is inlined each time: stop somewhere


@dataclass
class Reached:
    """What a public function evaluates, helpers inlined into its frame."""

    exprs: list[ir.Expr] = field(default_factory=list)
    where: list[object] = field(default_factory=list)  # the root's statement for each expr
    conds: list[ir.Expr] = field(default_factory=list)  # require and branch conditions


class SignatureBinding(Detector):
    id = "signature-binding"
    title = "Signature not bound to this contract, chain or signer"
    impact = "high"
    confidence = "medium"
    finds = (
        "A signature check (verify_ed25519, directly or in a helper) guarding a public function "
        "whose signed message lacks self.address or chain.id; whose key the caller passes "
        "without tying it to an account (address_of(key) == state or msg.sender); or whose key "
        "or signer address comes from storage nothing writes."
    )
    why = (
        "A signature that does not name the contract and chain is valid on every copy of the "
        "contract and every chain; a key the caller chooses is signed by the caller; an unset "
        "key or signer is empty, and nobody meant to sign for it."
    )
    fix = (
        "Use signed_by(account, key, nonce, payload, sig), which signs over chain.id and "
        "self.address and ties the key to the account; keep the account in state or use "
        "msg.sender; set every signer key in init."
    )

    def detect(self, ctx) -> list[Finding]:
        out: list[Finding] = []
        written = ctx.access.initialized
        for f in ctx.program.functions:
            if not f.public or f.is_init:
                continue
            reached = Reached()
            _collect(ctx, f.name, None, reached, 0)
            seen: set[str] = set()
            for v, stmt in _verifications(reached):
                text = ir.format_expr(v)
                if text in seen:
                    continue
                seen.add(text)
                for problem in _problems(ctx, f, v, reached, written):
                    out.append(self.finding(f"{f.name}: {problem}", stmt.span, f.name))
        return out


# ---------------------------------------------------------------- collection


def _collect(ctx, name: str, params: dict | None, into: Reached, depth: int, root=None) -> None:
    """Every expression ``name`` evaluates, resolved and seen from the public
    function at the root (``params`` binds a helper's parameters)."""
    flows = ctx.access.flows
    flow = flows[name]
    for b in flow.function.blocks:
        if b.index not in flow.reachable:
            continue
        for s in [*b.stmts, b.term]:
            for e in expressions(s):
                r = flow.resolve(e, b.index)
                if params is not None:
                    r = substitute(r, params)
                into.exprs.append(r)
                into.where.append(root or s)
                if isinstance(s, ir.Require | ir.Branch) and e is s.cond:
                    into.conds += _conjuncts(r)
                if depth >= MAX_DEPTH or len(into.exprs) > MAX_EXPRS:
                    continue
                for n in ir.walk(r):
                    if isinstance(n, ir.Call) and n.function in flows:
                        args = dict(enumerate(n.args))
                        _collect(ctx, n.function, args, into, depth + 1, root or s)


def _conjuncts(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, ir.Logic) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _verifications(reached: Reached) -> list[tuple[ir.Builtin, object]]:
    """Each ``verify_ed25519`` reached, with the root statement reaching it."""
    return [
        (n, stmt)
        for e, stmt in zip(reached.exprs, reached.where, strict=True)
        for n in ir.walk(e)
        if isinstance(n, ir.Builtin) and n.name == "verify_ed25519" and len(n.args) == 3
    ]


def _bindings(reached: Reached, key: ir.Expr) -> list[tuple[ir.Compare, ir.Expr]]:
    """(comparison, account) for each ``address_of(key) == account``."""
    text = ir.format_expr(key)
    out = []
    for e in reached.exprs:
        for n in ir.walk(e):
            if not (isinstance(n, ir.Compare) and n.op == "eq"):
                continue
            for side, other in ((n.left, n.right), (n.right, n.left)):
                if (
                    isinstance(side, ir.Builtin)
                    and side.name == "address_of"
                    and ir.format_expr(side.args[0]) == text
                ):
                    out.append((n, other))
    return out


# ---------------------------------------------------------------- judgement


def _problems(ctx, f: ir.Function, v: ir.Builtin, reached: Reached, written: set[str]):
    key, message, _ = v.args
    full = message
    envs = {n.name for n in ir.walk(full) if isinstance(n, ir.Env)}
    missing = [name for name in BINDING_ENVS if name not in envs]
    if missing:
        yield f"the signed message lacks {' and '.join(missing)}: it can be replayed elsewhere"
    empty = _empty_source(ctx, key, written)
    if empty:
        yield f"the signing key comes from {empty}, which nothing writes: it is empty"
    bindings = _bindings(reached, key)
    for _, account in bindings:
        empty = _empty_source(ctx, account, written)
        if empty:
            yield f"the signer's address comes from {empty}, which nothing writes: it is empty"
    if (
        _caller_supplied(ctx, f, key)
        and not _looked_up(reached, key)
        and not any(_ties(ctx, f, cmp, account, message, reached) for cmp, account in bindings)
    ):
        if bindings:
            yield "the caller passes both the key and the account it must match: anyone can sign"
        else:
            yield "the caller passes the key and no account is tied to it: anyone can sign"


def _looked_up(reached: Reached, key: ir.Expr) -> bool:
    """A condition reads state kept under the key's account
    (``self.adjusters[address_of(key)]``): the key belongs to a registered party."""
    text = ir.format_expr(key)
    for c in reached.conds:
        for n in ir.walk(c):
            if isinstance(n, ir.MapKey) and any(
                isinstance(x, ir.Builtin)
                and x.name == "address_of"
                and ir.format_expr(x.args[0]) == text
                for x in ir.walk(n.key)
            ):
                return True
    return False


def _empty_source(ctx, e: ir.Expr, written: set[str]) -> str | None:
    """The storage path ``e`` is read from when no reachable code writes it."""
    if not isinstance(e, ir.Load):
        return None
    path = storage_path(ctx, e.key)
    if path is None:
        return None
    if any(p == path or p.startswith(path + "[") or path.startswith(p + "[") for p in written):
        return None
    return path


def _caller_supplied(ctx, f: ir.Function, key: ir.Expr) -> bool:
    """A key built from the transaction's arguments, not read from storage."""
    if any(isinstance(n, ir.Load) for n in ir.walk(key)):
        return False
    return "param" in ctx.taint.expr(f, key)


def _ties(ctx, f, cmp: ir.Compare, account: ir.Expr, message, reached: Reached) -> bool:
    """Whether ``address_of(key) == account`` binds the key to someone."""
    if mentions_caller(account) or any(isinstance(n, ir.Load) for n in ir.walk(account)):
        return True  # the caller, or an account kept in state
    params = {n.index for n in ir.walk(account) if isinstance(n, ir.Local)}
    if not params:
        return True  # a constant account
    return _depended_on(ctx, f, cmp, params, message, reached)


def _depended_on(ctx, f, cmp, params: set[int], message, reached: Reached) -> bool:
    """A parameter account ties the key when a condition other than the
    signature check looks at it, or the function writes the account's own
    entries (other than a nonce read into the signed message)."""
    cmp_text = ir.format_expr(cmp)

    def uses(e: ir.Expr) -> bool:
        return any(isinstance(n, ir.Local) and n.index in params for n in ir.walk(e))

    for c in reached.conds:
        if ir.format_expr(c) == cmp_text or any(
            isinstance(n, ir.Builtin) and n.name == "verify_ed25519" for n in ir.walk(c)
        ):
            continue
        if uses(c):
            return True
    nonces = {storage_path(ctx, n.key) for n in ir.walk(message) if isinstance(n, ir.Load)} - {None}
    for e in ctx.access.entry_effects(f):
        if e.kind == "store" and e.key is not None and uses(e.key) and e.path not in nonces:
            return True
    return False
