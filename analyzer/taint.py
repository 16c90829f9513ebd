"""Taint: which sources a value can carry, across locals, storage and calls.

A label names a source a detector cares about: ``timestamp`` and ``height``
(what a block producer chooses), ``caller`` and ``value`` (``msg.sender``,
``msg.value``), ``origin``, ``param`` (an argument of a transaction),
``deploy`` (an argument of ``init``), ``balance``, ``ext`` (what another
contract returned), ``state:PATH`` (read from storage), and ``stored:LABEL``
for what an earlier transaction's caller chose and storage kept. Labels flow through
every operator, through locals (flow-insensitively: a local carries what any
of its assignments carries), through private and library functions (each
analysed for the labels its arguments carry at a call: the call graph is
acyclic), and through storage: a value written in one function carries its
labels to every read of that storage path, in any function, until nothing
changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.compiler import ir

from .flow import nodes_of

Labels = frozenset[str]
NONE: Labels = frozenset()

ENV_LABELS = {
    "msg.sender": "caller",
    "msg.value": "value",
    "block.timestamp": "timestamp",
    "block.height": "height",
    "tx.origin": "origin",
    "self.balance": "balance",
}
BUILTIN_LABELS = {"balance": "balance"}
# what a past transaction chose is not what this one chooses: through storage
# these labels become ``stored:LABEL``; block values stay what they are
PER_TRANSACTION = frozenset({"param", "caller", "value", "origin", "ext"})


def through_storage(labels: Labels) -> Labels:
    return frozenset(f"stored:{x}" if x in PER_TRANSACTION else x for x in labels)


def storage_path(ctx, key: ir.Expr, resolve=None) -> str | None:
    """The storage a key addresses, with computed map keys abstracted:
    ``policies[*][0]`` is field 0 of any policy."""
    parts: list[str] = []
    while True:
        if isinstance(key, ir.SlotKey):
            return ctx.state_name(key.slot) + "".join(reversed(parts))
        if isinstance(key, ir.MapKey):
            k = key.key
            parts.append(f"[{k.value}]" if isinstance(k, ir.Const) and _is_field(k) else "[*]")
            key = key.base
        elif isinstance(key, ir.Local) and resolve is not None:
            nxt = resolve(key)
            if nxt is key:
                return None
            key = nxt
        else:
            return None


def _is_field(k: ir.Const) -> bool:
    """Struct fields are addressed by small u8 constants."""
    return str(k.type) == "u8"


def root_of(path: str) -> str:
    return path.split("[", 1)[0]


@dataclass
class FunctionTaint:
    """Labels of one function analysed for given argument labels."""

    locals: dict[int, Labels] = field(default_factory=dict)
    returns: Labels = NONE
    stores: dict[str, Labels] = field(default_factory=dict)  # storage path -> labels written


class Taint:
    """Labels of every value of a contract, storage included."""

    MAX_ROUNDS = 8

    def __init__(self, ctx):
        self.ctx = ctx
        self.state: dict[str, Labels] = {}
        self._memo: dict[tuple, FunctionTaint] = {}
        self._depth = 0
        self._solve()

    def _entries(self) -> list[ir.Function]:
        return [f for f in self.ctx.program.functions if f.public or f.is_init]

    def entry_args(self, f: ir.Function) -> tuple[Labels, ...]:
        label = "deploy" if f.is_init else "param"
        return tuple(frozenset({label}) for _ in f.params)

    MAX_CONTEXT_DEPTH = 64  # deeper call chains use each helper's any-caller summary

    def _warm(self) -> None:
        """Each helper analysed for any caller, callees first: deep chains of
        helpers then never recurse deeply."""
        from .context import callees_first

        for name in callees_first(self.ctx.direct, lambda n: self.ctx.direct[n].calls):
            f = self.ctx.functions[name]
            self.function(name, tuple(frozenset({"param"}) for _ in f.params))

    def _solve(self) -> None:
        for _ in range(self.MAX_ROUNDS):
            self._memo = {}
            self._depth = 0
            self._warm()
            written: dict[str, set[str]] = {}
            for f in self._entries():
                for path, labels in self.function(f.name, self.entry_args(f)).stores.items():
                    written.setdefault(path, set()).update(labels)
            new = {p: through_storage(frozenset(v)) for p, v in written.items()}
            if new == self.state:
                return
            self.state = new

    # ------------------------------------------------------------------ queries

    def of_entry(self, f: ir.Function) -> FunctionTaint:
        """Labels in ``f`` called by a transaction (or a deployment)."""
        return self.function(f.name, self.entry_args(f))

    def expr(self, f: ir.Function, e: ir.Expr) -> Labels:
        """Labels of ``e`` in ``f`` as an entry point (a private function: as
        its callers may call it)."""
        return self._expr(f, self._frame(f), e)

    def local(self, f: ir.Function, index: int) -> Labels:
        return self._frame(f).locals.get(index, NONE)

    def stored(self, path: str) -> Labels:
        """Labels any write gives ``path`` (and the paths it contains or is in)."""
        out: set[str] = set()
        for p, labels in self.state.items():
            if p == path or p.startswith(path + "[") or path.startswith(p + "["):
                out |= labels
        return frozenset(out)

    def _frame(self, f: ir.Function) -> FunctionTaint:
        if f.public or f.is_init:
            return self.of_entry(f)
        args = tuple(frozenset({"param"}) for _ in f.params)  # a helper's arguments, any caller
        return self.function(f.name, args)

    # ------------------------------------------------------------------ analysis

    def function(self, name: str, args: tuple[Labels, ...]) -> FunctionTaint:
        key = (name, args)
        if key in self._memo:
            return self._memo[key]
        f = self.ctx.functions[name]
        if self._depth > self.MAX_CONTEXT_DEPTH:
            return self._memo[(name, tuple(frozenset({"param"}) for _ in f.params))]
        self._depth += 1
        try:
            return self._analyse(f, key, args)
        finally:
            self._depth -= 1

    def _analyse(self, f: ir.Function, key, args: tuple[Labels, ...]) -> FunctionTaint:
        frame = FunctionTaint(locals={i: a for i, a in enumerate(args)})
        self._memo[key] = frame  # the call graph is acyclic: no call reaches this entry
        statements = [s for b in f.blocks for s in [*b.stmts, b.term]]
        changed = True
        while changed:
            changed = False
            for s in statements:
                for index, value in _assignments(s):
                    labels = frame.locals.get(index, NONE) | self._expr(f, frame, value)
                    if labels != frame.locals.get(index, NONE):
                        frame.locals[index] = labels
                        changed = True
        for s in statements:
            self._effects(f, frame, s)
        return frame

    def _effects(self, f: ir.Function, frame: FunctionTaint, s) -> None:
        if isinstance(s, ir.Store):
            path = storage_path(self.ctx, s.key, lambda k: self._key_local(f, k))
            if path is not None:
                frame.stores[path] = frame.stores.get(path, NONE) | self._expr(f, frame, s.value)
        if isinstance(s, ir.Return) and s.value is not None:
            frame.returns |= self._expr(f, frame, s.value)
        for n in nodes_of(s):
            if isinstance(n, ir.Call):
                callee = self.function(n.function, self._args(f, frame, n))
                for path, labels in callee.stores.items():
                    frame.stores[path] = frame.stores.get(path, NONE) | labels

    def _key_local(self, f: ir.Function, local: ir.Local) -> ir.Expr:
        return self.ctx.key_locals(f).get(local.index, local)

    def _args(self, f, frame, call: ir.Call) -> tuple[Labels, ...]:
        return tuple(self._expr(f, frame, a) for a in call.args)

    def _expr(self, f: ir.Function, frame: FunctionTaint, e: ir.Expr) -> Labels:
        if isinstance(e, ir.Const):
            return NONE
        if isinstance(e, ir.Local):
            return frame.locals.get(e.index, NONE)
        if isinstance(e, ir.Env):
            label = ENV_LABELS.get(e.name)
            return frozenset({label}) if label else NONE
        if isinstance(e, ir.Load):
            path = storage_path(self.ctx, e.key, lambda k: self._key_local(f, k))
            if path is None:
                return self._expr(f, frame, e.key)
            return self.stored(path) | {f"state:{path}"}
        if isinstance(e, ir.Call):
            return self.function(e.function, self._args(f, frame, e)).returns
        if isinstance(e, ir.ExtCall):
            return frozenset({"ext"})
        out: set[str] = set()
        if isinstance(e, ir.Builtin) and e.name in BUILTIN_LABELS:
            out.add(BUILTIN_LABELS[e.name])
        if isinstance(e, ir.MapKey | ir.SlotKey):
            return NONE
        for child in ir.children(e):
            out |= self._expr(f, frame, child)
        if out & BLOCK and _scrambles(e):
            out.add(PSEUDO_RANDOM)
        return frozenset(out)


BLOCK = frozenset({"timestamp", "height"})
PSEUDO_RANDOM = "pseudo-random"  # a block value hashed or reduced modulo: a dice a producer loads
TIME_UNIT = 60  # moduli that are whole minutes (hours, days, weeks) make a calendar, not a dice


def _scrambles(e: ir.Expr) -> bool:
    """A hash, or a modulo that is not calendar arithmetic."""
    if isinstance(e, ir.Builtin):
        return e.name in ("sha256", "keccak256")
    if isinstance(e, ir.Binary) and e.op == "mod":
        left, right = e.left, e.right
        if (
            isinstance(right, ir.Const)
            and right.value >= TIME_UNIT
            and right.value % TIME_UNIT == 0
        ):
            return False
        if isinstance(left, ir.Binary) and left.op in ("sub", "div"):
            return False  # time since a start, or whole days, taken modulo a period
        return True
    return False


def _assignments(s) -> list[tuple[int, ir.Expr]]:
    if isinstance(s, ir.SetLocal):
        return [(s.index, s.value)]
    if isinstance(s, ir.Unpack):
        if isinstance(s.value, ir.Multi) and len(s.value.items) == len(s.targets):
            return [(i, v) for (i, _), v in zip(s.targets, s.value.items, strict=True)]
        return [(i, s.value) for i, _ in s.targets]
    return []
