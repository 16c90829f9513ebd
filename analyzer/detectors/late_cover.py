"""late-cover: insurance bought once the insured event can be known.

Two shapes, both read from the access model's effects (facts on every path
to the effect, helpers lifted into the public function):

- purchase: a payable public function creates a record (stores msg.sender
  into a record field) together with a time the buyer picks (a ``u64``
  parameter, or one compared with ``block.timestamp``), and nothing requires
  that time to lie at least a margin ahead of the purchase. ``start >
  block.timestamp`` alone is not enough: just before a flight leaves its
  delay is known;
- claim: a public function pays a record's owner on a signed report
  (``oracle_report`` or ``verify_ed25519``) that carries an event time, and
  never compares that time with the record's own fields (when it was bought,
  when cover starts), so an event that happened before the purchase pays.
"""

from __future__ import annotations

from deed.compiler import ir
from deed.compiler import types as T

from ..access import Effect, caller_keyed, is_caller
from ..flow import expressions
from ..model import Detector, Finding
from ..taint import root_of, storage_path
from ._util import exposed

NEGATED = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


class LateCover(Detector):
    id = "late-cover"
    title = "Cover that can be bought after the insured event"
    impact = "high"
    confidence = "medium"
    finds = (
        "A payable function that records a policy with a time the buyer picks (a u64 parameter, "
        "or one compared with block.timestamp) without requiring it to lie a margin (a nonzero "
        "constant or state) after block.timestamp; or a claim paying a policy's holder on a "
        "signed report whose event time is never compared with the policy's own times."
    )
    why = (
        "Insurance only works while the outcome is unknown. A buyer who picks the flight's "
        "departure can buy once the delay is announced; a report of an event that happened "
        "before the purchase pays a policy that never covered it."
    )
    fix = (
        "Start cover at block.timestamp plus a waiting period the contract sets, or require "
        "block.timestamp + CUTOFF <= departure; in the claim require the report's event time to "
        "be at or after the policy's start (or purchase) time."
    )

    def detect(self, ctx) -> list[Finding]:
        out: list[Finding] = []
        insured = _insured_records(ctx)
        bounded = _bounded_fields(ctx)
        for f in ctx.program.functions:
            if not exposed(f):
                continue
            effects = ctx.access.entry_effects(f)
            if f.payable:
                out += self._purchase(ctx, f, effects, insured, bounded)
                if insured:
                    out += self._extension(ctx, f, effects)
            out += self._claim(ctx, f, effects)
        return out

    def _purchase(
        self, ctx, f: ir.Function, effects: list[Effect], insured: set[str], bounded: set[str]
    ) -> list[Finding]:
        creating = [e for e in effects if _creates_record(ctx, e) and root_of(e.path) in insured]
        if not creating:
            return []
        record_keys = {_record_key(e.key) for e in creating} - {None}
        roots = {root_of(e.path) for e in creating}
        times = _time_params(f, effects)
        for e in effects:
            if e.kind != "store" or e.path is None or e.value is None or "[" not in e.path:
                continue
            if root_of(e.path) not in roots and _record_key(e.key) not in record_keys:
                continue  # only the new policy's own fields (one struct, or maps keyed alike)
            value = e.value
            if value.type != T.U64:
                continue  # a time field; a limit scaled by the months bought is not one
            if _duration_from_now(value):
                continue  # block.timestamp plus a duration: not a moment the buyer picks
            for p in sorted(_locals_in(value) & times):
                if e.path in bounded:
                    # claims pay only events after this time: it must not lie in the past
                    if _clamped_to_now(value) or any(
                        _not_before_now(x.cond, x.holds, p) for x in e.facts
                    ):
                        continue
                elif any(_margin_ahead(x.cond, x.holds, p) for x in e.facts):
                    continue
                name = f.params[p][0]
                return [
                    self.finding(
                        f"{f.name} records {name}, a time the buyer picks, without requiring "
                        "it to lie a margin after the purchase: cover can be bought once "
                        "the outcome is known",
                        e.stmt.span,
                        f.name,
                    )
                ]
        return []

    def _extension(self, ctx, f: ir.Function, effects: list[Effect]) -> list[Finding]:
        """A paid extension of an existing policy's end that never checks the
        cover is still running: cover bought back in hindsight."""
        for e in effects:
            if e.kind != "store" or e.path is None or e.value is None or "[" not in e.path:
                continue
            if e.value.type != T.U64:
                continue
            old = [
                n
                for n in ir.walk(e.value)
                if isinstance(n, ir.Load) and storage_path(ctx, n.key) == e.path
            ]
            if not old or "param" not in ctx.taint.expr(f, e.value):
                continue
            if any(_time_vs_field(ctx, x.cond, e.path) for x in e.facts):
                continue
            return [
                self.finding(
                    f"{f.name} extends a policy's end without checking that its cover still "
                    "runs: cover can be extended after the event",
                    e.stmt.span,
                    f.name,
                )
            ]
        return []

    def _claim(self, ctx, f: ir.Function, effects: list[Effect]) -> list[Finding]:
        for e in effects:
            root = _record_owner_paid(ctx, e)
            if root is None:
                continue
            carries_time, times = _report_times(ctx, f, e)
            if not carries_time:
                continue
            if any(
                p.startswith(root + "[") or p == root
                for x in e.facts
                for p in _fields_below(ctx, x.cond, x.holds, times, equal=True)
            ):
                continue
            return [
                self.finding(
                    f"{f.name} pays on a signed report without comparing its event time with "
                    f"the {root} record's times: an event before the purchase pays",
                    e.stmt.span,
                    f.name,
                )
            ]
        return []


# ---------------------------------------------------------------- purchase


def _creates_record(ctx, e: Effect) -> bool:
    """Stores the caller into a record field (a policy's holder)."""
    if e.kind != "store" or e.path is None or e.value is None:
        return False
    return ("[" in e.path and is_caller(e.value)) or e.path in ctx.access.claimed_paths


def _insured_records(ctx) -> set[str]:
    """Records (``policies``) whose holder some public function pays on an
    event another party attests: a signed report, a call only a privileged
    party (an oracle, the insurer) may make, or state only such a party writes. This is what tells cover from a
    deposit the holder takes back after a date the holder picked."""
    attested = _attested_paths(ctx)
    out: set[str] = set()
    for g in ctx.program.functions:
        if not exposed(g):
            continue
        for e in ctx.access.entry_effects(g):
            root = _record_owner_paid(ctx, e)
            if root is None or root in out:
                continue
            if any(x.kind != "record-owner" for x in e.guards) or any(
                _reads_any(ctx, x.cond, attested) for x in e.facts
            ):
                out.add(root)
    return out


def _attested_paths(ctx) -> set[str]:
    """Storage written only where a party other than a record's holder is
    checked (an owner, a role, a fixed address, a signature)."""
    out: set[str] = set()
    for g in ctx.program.functions:
        if not exposed(g):
            continue
        for e in ctx.access.entry_effects(g):
            if e.kind == "store" and e.path and any(x.kind != "record-owner" for x in e.guards):
                out.add(e.path)
    return out


def _reads_any(ctx, e: ir.Expr, paths: set[str]) -> bool:
    for n in ir.walk(e):
        if isinstance(n, ir.Load):
            p = storage_path(ctx, n.key)
            if p is not None and any(
                p == q or p.startswith(q + "[") or q.startswith(p + "[") for q in paths
            ):
                return True
    return False


def _time_params(f: ir.Function, effects: list[Effect]) -> set[int]:
    """Parameters that are times: u64, or compared with block.timestamp."""
    out = {i for i, (_, t) in enumerate(f.params) if t == T.U64}
    for e in effects:
        for fact in e.facts:
            for n in ir.walk(fact.cond):
                if isinstance(n, ir.Compare) and n.op in NEGATED:
                    for mine, other in ((n.left, n.right), (n.right, n.left)):
                        if _mentions(other, "block.timestamp"):
                            out |= _locals_in(mine) & set(range(len(f.params)))
    return out


def _margin_ahead(cond: ir.Expr, holds: bool, p: int) -> bool:
    """``cond`` (being ``holds``) puts parameter ``p`` at least a nonzero,
    contract-chosen margin after block.timestamp."""
    for c, c_holds in _conjuncts(cond, holds):
        if not (isinstance(c, ir.Compare) and c.op in NEGATED):
            continue
        op = c.op if c_holds else NEGATED[c.op]
        small, big = (c.left, c.right) if op in ("lt", "le") else (c.right, c.left)
        if p not in _locals_in(big) or not _mentions(small, "block.timestamp"):
            continue
        if _adds_margin(small, "add", lambda x: _mentions(x, "block.timestamp")):
            return True
        if _adds_margin(big, "sub", lambda x: p in _locals_in(x)):
            return True
    return False


def _conjuncts(cond: ir.Expr, holds: bool) -> list[tuple[ir.Expr, bool]]:
    """(part, whether it holds) for parts known from ``cond`` being ``holds``:
    both sides of ``a and b`` holding, of ``a or b`` failing; ``not``
    flips (``not time.passed(departure - CUTOFF)``)."""
    if isinstance(cond, ir.Unary) and cond.op == "not":
        return _conjuncts(cond.operand, not holds)
    if isinstance(cond, ir.Logic) and cond.op == ("and" if holds else "or"):
        return _conjuncts(cond.left, holds) + _conjuncts(cond.right, holds)
    return [(cond, holds)]


def _adds_margin(e: ir.Expr, op: str, base) -> bool:
    """``base op margin`` somewhere in ``e``, the margin a nonzero constant or state."""
    for n in ir.walk(e):
        if isinstance(n, ir.Binary) and n.op == op and base(n.left) and _is_margin(n.right):
            return True
        if isinstance(n, ir.Binary) and n.op == "add" == op and base(n.right):
            if _is_margin(n.left):
                return True
    return False


def _is_margin(e: ir.Expr) -> bool:
    if isinstance(e, ir.Const):
        return e.value != 0
    nodes = list(ir.walk(e))
    return any(isinstance(n, ir.Load) for n in nodes) and not any(
        isinstance(n, ir.Local | ir.Env) for n in nodes
    )


def _record_key(key: ir.Expr | None) -> str | None:
    """The key of the record a storage key addresses (``id`` in
    ``holders[id]`` and in ``policies[id].start``)."""
    while isinstance(key, ir.MapKey):
        k = key.key
        if not (isinstance(k, ir.Const) and str(k.type) == "u8"):
            return ir.format_expr(k)
        key = key.base
    return None


def _duration_from_now(e: ir.Expr) -> bool:
    """``block.timestamp + d`` (or a cast of it): cover starting now."""
    while isinstance(e, ir.Unary) and e.op == "cast":
        e = e.operand
    if isinstance(e, ir.Env):
        return e.name == "block.timestamp"
    return (
        isinstance(e, ir.Binary)
        and e.op == "add"
        and (_duration_from_now(e.left) or _duration_from_now(e.right))
    )


def _clamped_to_now(e: ir.Expr) -> bool:
    """``max(start, block.timestamp)``: never before the purchase."""
    return (
        isinstance(e, ir.Binary)
        and e.op == "max"
        and (_mentions(e.left, "block.timestamp") or _mentions(e.right, "block.timestamp"))
    )


def _not_before_now(cond: ir.Expr, holds: bool, p: int) -> bool:
    """``cond`` puts parameter ``p`` at or after block.timestamp."""
    for c, c_holds in _conjuncts(cond, holds):
        if not (isinstance(c, ir.Compare) and c.op in NEGATED):
            continue
        op = c.op if c_holds else NEGATED[c.op]
        small, big = (c.left, c.right) if op in ("lt", "le") else (c.right, c.left)
        if p in _locals_in(big) and _mentions(small, "block.timestamp"):
            return True
    return False


def _time_vs_field(ctx, cond: ir.Expr, path: str) -> bool:
    """A comparison of block.timestamp with the field at ``path``."""
    for n in ir.walk(cond):
        if isinstance(n, ir.Compare) and n.op in NEGATED:
            sides = (n.left, n.right)
            if any(_mentions(x, "block.timestamp") for x in sides) and any(
                isinstance(m, ir.Load) and storage_path(ctx, m.key) == path
                for x in sides
                for m in ir.walk(x)
            ):
                return True
    return False


def _bounded_fields(ctx) -> set[str]:
    """Record fields some claim requires a report's event time to be at or
    after: a policy whose claims only pay events after its start."""
    out: set[str] = set()
    for f in ctx.program.functions:
        if not exposed(f):
            continue
        for e in ctx.access.entry_effects(f):
            if not e.moves_value:
                continue
            _, times = _report_times(ctx, f, e)
            for x in e.facts:
                out |= _fields_below(ctx, x.cond, x.holds, times)
    return out


def _fields_below(
    ctx, cond: ir.Expr, holds: bool, times: list[str], equal: bool = False
) -> set[str]:
    """Record fields the report's event time is required to be at or after
    (``equal``: or to equal, as a report of the policy's own departure)."""
    out: set[str] = set()
    for c, c_holds in _conjuncts(cond, holds):
        if isinstance(c, ir.Compare) and c.op == "eq" and c_holds and equal:
            # the report's time equals the record's (the policy's departure)
            for mine, other in ((c.left, c.right), (c.right, c.left)):
                if _has_any(mine, times):
                    out |= {
                        path
                        for m in ir.walk(other)
                        if isinstance(m, ir.Load)
                        for path in [storage_path(ctx, m.key)]
                        if path
                    }
            continue
        if not (isinstance(c, ir.Compare) and c.op in NEGATED):
            continue
        op = c.op if c_holds else NEGATED[c.op]
        small, big = (c.left, c.right) if op in ("lt", "le") else (c.right, c.left)
        if _has_any(big, times):
            for m in ir.walk(small):
                if isinstance(m, ir.Load):
                    path = storage_path(ctx, m.key)
                    if path:
                        out.add(path)
    return out


# ---------------------------------------------------------------- claim


def _record_owner_paid(ctx, e: Effect) -> str | None:
    """The record whose creator ``e`` pays (``policies`` for ``policies[*][0]``):
    a send to the record's holder field, or to a caller checked to be it."""
    if not e.moves_value or e.to is None:
        return None
    to = e.to
    if isinstance(to, ir.Load):
        path = storage_path(ctx, to.key)
        if path is not None and path in ctx.access.claimed_paths:
            return root_of(path)
    if is_caller(to):
        owned = [g.subject for g in e.guards if g.kind == "record-owner"]
        if owned:
            return root_of(owned[0])
        for fact in e.facts:  # a record kept under the caller's own address
            for n in ir.walk(fact.cond):
                if caller_keyed(n):
                    path = storage_path(ctx, n.key)
                    if path and "[" in path:
                        return root_of(path)
    return None


def _report_times(ctx, f: ir.Function, e: Effect) -> tuple[bool, list[str]]:
    """Whether a signed report checked before ``e`` carries an event time (a
    u64 field of an ``oracle_report``, a u64 parameter inside a message
    ``verify_ed25519`` checks), and the text of the expressions standing for
    those times in ``f``."""
    out: list[str] = []
    carries_time = False
    for fact in e.facts:
        for n in ir.walk(fact.cond):
            if isinstance(n, ir.Builtin) and n.name == "verify_ed25519" and len(n.args) == 3:
                found = [
                    ir.format_expr(x)
                    for x in ir.walk(n.args[1])
                    if isinstance(x, ir.Local) and x.index < len(f.params) and x.type == T.U64
                ]
                carries_time |= bool(found)
                out += found
            elif isinstance(n, ir.Builtin) and n.name == "oracle_report":
                fields = getattr(n.type, "fields", ())
                carries_time |= any(t == T.U64 for _, t in fields)
    flow = ctx.access.flows[f.name]
    for b in f.blocks:
        for s in [*b.stmts, b.term]:
            for n in expressions(s):
                r = flow.resolve(n, b.index)
                found = [ir.format_expr(x) for x in ir.walk(r) if _report_field_time(x)]
                carries_time |= bool(found)  # a report field read as a time: u64(r.storm_time)
                out += found
    return carries_time, list(dict.fromkeys(out))


def _report_field_time(e: ir.Expr) -> bool:
    """``u64(read_uint(oracle_report(...), offset))``: a time field of a report."""
    return (
        isinstance(e, ir.Unary)
        and e.op == "cast"
        and e.type == T.U64
        and any(isinstance(n, ir.Builtin) and n.name == "oracle_report" for n in ir.walk(e.operand))
    )


def _compares_with_record(ctx, cond: ir.Expr, times: list[str], root: str) -> bool:
    """The report's event time is required at or after one of the record's
    times (a bound from above only, the end of cover, lets earlier events pay)."""
    return any(p.startswith(root + "[") for p in _fields_below(ctx, cond, True, times))


def _has_any(e: ir.Expr, texts: list[str]) -> bool:
    return any(ir.format_expr(n) in texts for n in ir.walk(e))


def _reads_record(ctx, e: ir.Expr, root: str) -> bool:
    for n in ir.walk(e):
        if isinstance(n, ir.Load):
            path = storage_path(ctx, n.key)
            if path is not None and path.startswith(root + "["):
                return True
    return False


# ---------------------------------------------------------------- shared


def _mentions(e: ir.Expr, env: str) -> bool:
    return any(isinstance(n, ir.Env) and n.name == env for n in ir.walk(e))


def _locals_in(e: ir.Expr) -> set[int]:
    return {n.index for n in ir.walk(e) if isinstance(n, ir.Local)}
