"""The access-control model: what guards each effect of a contract.

An effect (a send, a storage write, a call to another contract) is guarded
when, on every path from the transaction's entry to it, a condition holds
that ties the caller to authority:

- ``caller``: ``msg.sender`` equals state that only privileged paths set
  (written at deployment or under a guard: an owner, an arbiter);
- ``fixed``: ``msg.sender`` equals a constant address;
- ``record-owner``: ``msg.sender`` equals a record field that was set to the
  caller who created it (a policy's holder);
- ``role``: a role entry for ``msg.sender`` (``self.admins[msg.sender]``,
  ``access.role(...)``) in a map only privileged paths write;
- ``signature``: a verified signature (``verify_ed25519``, ``signed_by``, a
  quorum-signed oracle report).

Conditions come from ``require``, from branch edges (a check in a branch that
only logs and then carries on is not on every path) and from the
postconditions of helpers and library functions called on the way
(``access.only(self.owner)``). A comparison with a parameter (the wrong party)
or a value merely copied into an event guards nothing. Which state is
privileged is a greatest fixpoint: state stays privileged while every write
to it outside ``init`` is itself guarded (or, for a record field, writes the
caller's own address).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from deed.compiler import ir

from .flow import Fact, FunctionFlow, nodes_of, substitute
from .taint import root_of, storage_path

CALLER_ENV = ("msg.sender", "tx.origin")
SIGNATURE_BUILTINS = ("verify_ed25519", "oracle_report")


@dataclass(frozen=True)
class Guard:
    kind: str  # caller fixed record-owner role signature either (alternatives)
    subject: str  # the state, constant or check involved

    def text(self) -> str:
        return {
            "caller": f"msg.sender == self.{self.subject}",
            "fixed": f"msg.sender == {self.subject}",
            "record-owner": f"msg.sender owns {self.subject}",
            "role": f"role {self.subject}[msg.sender]",
            "signature": f"signature ({self.subject})",
            "either": f"({self.subject})",
            "commitment": f"the caller's commitment in {self.subject}",
            "registry": f"{self.subject}(msg.sender)",
        }[self.kind]


@dataclass
class Effect:
    """Something a transaction does, seen from the public function it entered."""

    kind: str  # send store call
    entry: str  # the public function
    stmt: object  # the IR statement (for its span)
    facts: list[Fact]  # what holds there, in the entry's frame
    via: tuple[str, ...] = ()  # helpers between the entry and the effect
    to: ir.Expr | None = None  # send / call with value: the recipient
    amount: ir.Expr | None = None
    path: str | None = None  # store: the storage path
    key: ir.Expr | None = None
    value: ir.Expr | None = None
    call: ir.ExtCall | None = None
    after_call: bool = False  # another contract may have run before it (same transaction)
    site: tuple[int, int] | None = (
        None  # where in the entry function (the call site for a helper's)
    )
    guards: list[Guard] = field(default_factory=list)

    @property
    def moves_value(self) -> bool:
        if self.kind == "send":
            return True
        v = self.amount
        return self.kind == "call" and v is not None and not _is_zero(v)


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value == 0


def is_caller(e: ir.Expr) -> bool:
    return isinstance(e, ir.Env) and e.name in CALLER_ENV


def mentions_caller(e: ir.Expr) -> bool:
    return any(is_caller(n) for n in ir.walk(e))


def caller_keyed(e: ir.Expr) -> bool:
    """A storage read at a key that includes the caller (their own entry)."""
    return isinstance(e, ir.Load) and any(
        isinstance(n, ir.MapKey) and mentions_caller(n.key) for n in ir.walk(e.key)
    )


class AccessModel:
    def __init__(self, ctx):
        self.ctx = ctx
        self.open_paths: set[str] = set()  # anyone can write a value of their choosing
        self.claimed_paths: set[str] = set()  # record fields set to their creator
        self.unreachable: set[str] = set()  # guarded by state nobody can set
        self._warm()
        self._solve()

    def _warm(self) -> None:
        """Compute each function's summaries after its callees', so that a
        chain of a thousand helpers never recurses a thousand deep."""
        from .context import callees_first

        order = callees_first(self.ctx.direct, lambda n: self.ctx.direct[n].calls)
        for name in order:
            flow = self.flows[name]
            _ = flow.return_value, flow.postconditions
            self.local_effects(name)

    # ------------------------------------------------------------------ flows

    @cached_property
    def flows(self) -> dict[str, FunctionFlow]:
        out: dict[str, FunctionFlow] = {}
        for f in self.ctx.program.functions:
            out[f.name] = FunctionFlow(f, self._peer)
        return out

    def _peer(self, name: str) -> FunctionFlow:
        return self.flows[name]

    def path_of(self, f: ir.Function, key: ir.Expr) -> str | None:
        flow = self.flows[f.name]
        return storage_path(self.ctx, key, lambda k: flow.resolve(k))

    # ------------------------------------------------------------------ effects

    def local_effects(self, name: str) -> list[Effect]:
        """Effects of ``name`` in its own frame (parameters as locals), through
        the helpers it calls."""
        cache = self.__dict__.setdefault("_local_effects", {})
        if name in cache:
            return cache[name]
        f = self.ctx.functions[name]
        flow = self.flows[name]
        out: list[Effect] = []
        called_out = self._blocks_after_calls(f)
        for b in f.blocks:
            if b.index not in flow.reachable:
                continue
            for i, s in enumerate([*b.stmts, b.term]):
                after = (b.index, i) in called_out
                out += self._effects_of_stmt(f, flow, b.index, i, s, after)
        cache[name] = out
        return out

    def _effects_of_stmt(self, f, flow: FunctionFlow, block: int, i: int, s, after: bool):
        out: list[Effect] = []

        def facts():
            return flow.facts_at(block, i)

        res = lambda e: flow.resolve(e, block)  # noqa: E731
        if isinstance(s, ir.Send):
            out.append(
                Effect(
                    "send",
                    f.name,
                    s,
                    facts(),
                    to=res(s.to),
                    amount=res(s.amount),
                    after_call=after,
                    site=(block, i),
                )
            )
        if isinstance(s, ir.Store):
            out.append(
                Effect(
                    "store",
                    f.name,
                    s,
                    facts(),
                    path=self.path_of(f, s.key),
                    key=res(s.key),
                    value=res(s.value),
                    after_call=after,
                    site=(block, i),
                )
            )
        for n in nodes_of(s):
            if isinstance(n, ir.ExtCall):
                out.append(
                    Effect(
                        "call",
                        f.name,
                        s,
                        facts(),
                        to=res(n.target),
                        amount=None if n.value is None else res(n.value),
                        call=res(n),
                        after_call=after,
                        site=(block, i),
                    )
                )
            elif isinstance(n, ir.Call):
                params = {k: res(a) for k, a in enumerate(n.args)}
                here = facts()
                for inner in self.local_effects(n.function):
                    out.append(_lift(inner, f.name, here, params, after, (block, i)))
        return out

    def _blocks_after_calls(self, f: ir.Function) -> set[tuple[int, int]]:
        """Points of ``f`` that may run after a call to another contract in
        the same transaction (directly or inside a helper)."""
        flow = self.flows[f.name]
        calls_out: list[tuple[int, int]] = []
        for b in f.blocks:
            for i, s in enumerate([*b.stmts, b.term]):
                if any(self._calls_out(n) for n in nodes_of(s)):
                    calls_out.append((b.index, i))
        out: set[tuple[int, int]] = set()
        for block, i in calls_out:
            n = len(flow.blocks[block].stmts)
            out |= {(block, k) for k in range(i + 1, n + 1)}
            seen, work = set(), list(flow.blocks[block].successors())
            while work:
                x = work.pop()
                if x in seen or x not in flow.blocks:
                    continue
                seen.add(x)
                out |= {(x, k) for k in range(len(flow.blocks[x].stmts) + 1)}
                work += flow.blocks[x].successors()
        return out

    @cached_property
    def view_methods(self) -> set[tuple[str, str]]:
        return {(i, m) for i, m, _, _, view in self.ctx.program.imports if view}

    def _calls_out(self, n: ir.Expr) -> bool:
        """A call that can run another contract's code that changes state
        (a view call cannot)."""
        if isinstance(n, ir.ExtCall):
            return (n.interface, n.method) not in self.view_methods
        if isinstance(n, ir.Call):
            return any(
                e.kind == "call" and (e.call.interface, e.call.method) not in self.view_methods
                for e in self.local_effects(n.function)
            )
        return False

    def entry_effects(self, f: ir.Function) -> list[Effect]:
        """Effects a transaction entering ``f`` can have, with their guards."""
        cache = self.__dict__.setdefault("_entry_effects", {})
        if f.name not in cache:
            out = []
            paths = self.block_guards(f)
            for e in self.local_effects(f.name):
                e = _copy(e)
                e.guards = self.guards(e.facts)
                if e.site is not None:
                    e.guards = list(dict.fromkeys(e.guards + paths.get(e.site[0], [])))
                out.append(e)
            cache[f.name] = out
        return cache[f.name]

    def builtins_reached(self, name: str, builtin: str) -> list[tuple[ir.Builtin, object]]:
        """Every call of ``builtin`` a call of ``name`` makes, directly or in
        helpers, resolved in ``name``'s frame, with the statement holding it."""
        cache = self.__dict__.setdefault("_builtins_reached", {})
        if (name, builtin) in cache:
            return cache[(name, builtin)]
        warmed = self.__dict__.setdefault("_warmed_builtins", set())
        if builtin not in warmed:  # callees first, once per builtin
            from .context import callees_first

            warmed.add(builtin)
            for callee in callees_first(self.ctx.direct, lambda n: self.ctx.direct[n].calls):
                self.builtins_reached(callee, builtin)
            return cache[(name, builtin)]
        flow = self.flows[name]
        out: list[tuple[ir.Builtin, object]] = []
        for b in self.ctx.functions[name].blocks:
            if b.index not in flow.reachable:
                continue
            for s in [*b.stmts, b.term]:
                for n in nodes_of(s):
                    if isinstance(n, ir.Builtin) and n.name == builtin:
                        out.append((flow.resolve(n, b.index), s))
                    elif isinstance(n, ir.Call):
                        params = {k: flow.resolve(a, b.index) for k, a in enumerate(n.args)}
                        for inner, stmt in self.builtins_reached(n.function, builtin):
                            out.append((substitute(inner, params), stmt))
        cache[(name, builtin)] = out
        return out

    # ------------------------------------------------------------------ guards

    def block_guards(self, f: ir.Function) -> dict[int, list[Guard]]:
        """Guards every path to the start of each block passes, where the
        paths may pass different ones (``if caller is the buyer: ... elif
        caller is the seller: ... else: revert``). A must-analysis over the
        CFG, optimistic at loop back edges."""
        flow = self.flows[f.name]
        live = [b.index for b in f.blocks if b.index in flow.reachable]
        guards_in: dict[int, list[Guard] | None] = {b: None for b in live}
        guards_in[flow.entry] = []
        leaving = {b: self.guards(flow._own_facts(b, len(flow.blocks[b].stmts))) for b in live}
        for _ in range(len(live) + 2):
            changed = False
            for b in live:
                if b == flow.entry:
                    continue
                incoming = []
                for p in flow.predecessors[b]:
                    if p not in guards_in or guards_in[p] is None:
                        continue
                    have = guards_in[p] + leaving[p]
                    edge = flow.edge_condition(p, b)
                    if edge is not None:
                        have = have + self.classify(*edge)
                    incoming.append(have)
                new = _merge(incoming)
                if new != guards_in[b]:
                    guards_in[b] = new
                    changed = True
            if not changed:
                break
        return {b: g or [] for b, g in guards_in.items()}

    def guards(self, facts: list[Fact]) -> list[Guard]:
        out: list[Guard] = []
        for fact in facts:
            g = self.classify(fact.cond, fact.holds)
            if g:
                out += g
        return list(dict.fromkeys(out))

    def classify(self, cond: ir.Expr, holds: bool) -> list[Guard]:
        """The guards ``cond`` being ``holds`` establishes (empty: none)."""
        if isinstance(cond, ir.Unary) and cond.op == "not":
            return self.classify(cond.operand, not holds)
        if isinstance(cond, ir.Logic):
            both = cond.op == ("and" if holds else "or")
            left = self.classify(cond.left, holds)
            right = self.classify(cond.right, holds)
            if both:  # either side holding is enough
                return left + right
            if not (left and right):
                return []  # an alternative nobody guards
            return [Guard("either", " or ".join(g.text() for g in [*left, *right]))]
        if isinstance(cond, ir.Compare) and cond.op in ("eq", "ne"):
            if (cond.op == "eq") != holds:
                return []
            for me, other in ((cond.left, cond.right), (cond.right, cond.left)):
                if is_caller(me):
                    g = self.party(other)
                    return [g] if g else []
            for side, other in ((cond.left, cond.right), (cond.right, cond.left)):
                # a role given as an enum or flag: roles[msg.sender] == Role.Admin
                if isinstance(other, ir.Const) and caller_keyed(side):
                    g = self._role(side)
                    return [g] if g else []
                # an earlier commitment of this caller: commits[msg.sender] == hash(...)
                if caller_keyed(side) and _hashes(other):
                    path = storage_path(self.ctx, side.key)
                    return [Guard("commitment", root_of(path or "?"))]
            return []
        if isinstance(cond, ir.Builtin) and cond.name in SIGNATURE_BUILTINS and holds:
            return [Guard("signature", cond.name)]
        if holds and isinstance(cond, ir.ExtCall) and any(is_caller(a) for a in cond.args):
            # a role kept by a partner contract fixed at deployment: registry.is_manager(msg.sender)
            target = cond.target
            while isinstance(target, ir.Unary):
                target = target.operand
            if isinstance(target, ir.Load) and self.party(target) is not None:
                return [Guard("registry", f"{cond.interface}.{cond.method}")]
        if holds and caller_keyed(cond):
            g = self._role(cond)
            return [g] if g else []
        return []

    def party(self, e: ir.Expr) -> Guard | None:
        if isinstance(e, ir.Const):
            v = e.value
            return Guard("fixed", "0x" + v.hex() if isinstance(v, bytes) else str(v))
        if isinstance(e, ir.Load):
            path = storage_path(self.ctx, e.key)
            if path is None or self._open(path):
                return None
            if path in self.claimed_paths:
                return Guard("record-owner", path)
            return Guard("caller", path)
        return None

    def _role(self, e: ir.Load) -> Guard | None:
        path = storage_path(self.ctx, e.key)
        if path is None or self._open(path):
            return None
        return Guard("role", root_of(path))

    def _open(self, path: str) -> bool:
        return any(
            p == path or p.startswith(path + "[") or path.startswith(p + "[")
            for p in self.open_paths
        )

    # ------------------------------------------------------------------ authority

    def _solve(self) -> None:
        """Greatest fixpoint: a path becomes open when some unguarded entry
        writes it with a value other than the caller's own address."""
        entries = [f for f in self.ctx.program.functions if f.public and not f.is_init]
        while True:
            before = (set(self.open_paths), set(self.claimed_paths))
            for f in entries:
                for e in self.local_effects(f.name):
                    if e.kind != "store" or e.path is None:
                        continue
                    if self.guards(e.facts):
                        continue
                    if "[" in e.path and is_caller(e.value):
                        self.claimed_paths.add(e.path)
                    else:
                        self.open_paths.add(e.path)
            if (self.open_paths, self.claimed_paths) == before:
                return

    @cached_property
    def initialized(self) -> set[str]:
        """Storage paths a transaction can really write: in ``init``, or in a
        reachable effect whose guards someone can pass (a guard on an owner
        nobody can set passes no one). A least fixpoint."""
        done: set[str] = set()
        init = [f for f in self.ctx.program.functions if f.is_init]
        for f in init:
            done |= {e.path for e in self.local_effects(f.name) if e.kind == "store" and e.path}
        entries = [f for f in self.ctx.program.functions if f.public and not f.is_init]
        while True:
            before = set(done)
            for f in entries:
                for e in self.entry_effects(f):
                    if e.kind == "store" and e.path and self.passable(e, done):
                        done.add(e.path)
            if done == before:
                return done

    def passable(self, e: Effect, initialized: set[str] | None = None) -> bool:
        """Someone can pass the guards of ``e``: none compares the caller with
        state that no reachable code ever sets."""
        have = self.initialized if initialized is None else initialized
        for g in e.guards:
            if g.kind in ("caller", "role", "record-owner") and not _written(g.subject, have):
                return False
        return True

    def reachable_effects(self) -> list[Effect]:
        """Every effect of every entry that someone can reach."""
        out = []
        for f in self.ctx.program.functions:
            if f.public or f.is_init:
                out += [e for e in self.entry_effects(f) if self.passable(e)]
        return out


def _merge(incoming: list[list[Guard]]) -> list[Guard]:
    """Guards that hold after a merge: those on every incoming path, or one
    alternative per path."""
    if not incoming or any(not g for g in incoming):
        return []
    common = [g for g in incoming[0] if all(g in other for other in incoming[1:])]
    if common:
        return common
    texts = list(dict.fromkeys(g[0].text() for g in incoming))
    return [Guard("either", " or ".join(texts))]


def _hashes(e: ir.Expr) -> bool:
    return any(isinstance(n, ir.Builtin) and n.name in ("keccak256", "sha256") for n in ir.walk(e))


def _written(subject: str, paths: set[str]) -> bool:
    return any(
        p == subject or p.startswith(subject + "[") or subject.startswith(p + "[") for p in paths
    )


def _copy(e: Effect) -> Effect:
    return Effect(**{k: getattr(e, k) for k in e.__dataclass_fields__})


def _lift(inner: Effect, entry: str, facts: list[Fact], params: dict, after: bool, site) -> Effect:
    """A callee's effect seen from the call site: its expressions in the
    caller's frame, the caller's facts at the call added."""
    sub = lambda x: None if x is None else substitute(x, params)  # noqa: E731
    return Effect(
        inner.kind,
        entry,
        inner.stmt,
        facts + [Fact(substitute(x.cond, params), x.holds) for x in inner.facts],
        (inner.entry, *inner.via),
        sub(inner.to),
        sub(inner.amount),
        inner.path,
        sub(inner.key),
        sub(inner.value),
        sub(inner.call),
        inner.after_call or after,
        site,
    )
