"""Worst-case gas of every function.

Deed has no recursion and every loop has a bound, so each function's gas has
an upper bound computable before it runs. The bound is the longest path
through the function's blocks, where

- a block costs the table gas of the instructions it was compiled to (and
  the jump-target cost when a jump lands on it), plus the worst case of its
  dynamic costs (a storage write creates a slot; a hash reads the largest
  value its type allows; an event encodes its largest fields; an internal
  call costs its callee's bound), each from the VM's own formulas in
  :mod:`deed.vm.costs`;
- a loop costs (bound + 1) times its costliest iteration (the last test, or
  a break, may run one more partial iteration), then its costliest exit;
- a call to another contract costs what this contract pays for it, plus an
  unknown amount for the callee, which the report flags (``+ external``).

A public function's bound includes what entering it from a transaction
costs: the first use of the module's code and the return data kept in the
receipt; ``init``'s includes translating the module at deployment. The bound is of execution gas; a transaction adds its intrinsic gas.
"""

from __future__ import annotations

from dataclasses import dataclass

from deed.compiler import ir
from deed.compiler import types as T
from deed.compiler.builtins import builtin_gas
from deed.vm import costs
from deed.vm.opcodes import BY_NAME, GAS
from deed.vm.verifier import verify

from .context import Context, all_nodes, callees_first


@dataclass(frozen=True)
class GasBound:
    function: str
    bound: int
    external: bool  # calls another contract: the callee's gas comes on top


def encoded_size(t: T.Type) -> int:
    """Most bytes a value of ``t`` takes in the value encoding (events)."""
    if isinstance(t, T.BoolType):
        return 1
    if isinstance(t, T.AddressType | T.InterfaceType):
        return 20
    if isinstance(t, T.FixedBytesType):
        return t.size
    if isinstance(t, T.BytesType | T.StringType | T.ListType | T.ArrayType):
        return 4 + raw_size(t)  # a list or array value is one bytes value
    return 32


raw_size = T.raw_size


class GasAnalysis:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.layout = ctx.out.layout
        self.events = {name: fields for name, fields in ctx.program.events}
        self._bounds: dict[str, GasBound] = {}

    def all(self) -> dict[str, GasBound]:
        """Every function's bound; public functions include their entry costs."""
        out = {}
        for f in self.ctx.program.functions:
            b = self.bound(f.name)
            if f.is_init or f.public:
                b = GasBound(b.function, b.bound + self.entry_cost(f), b.external)
            out[f.name] = b
        return out

    def entry_cost(self, f: ir.Function) -> int:
        """What entering from a transaction adds: for ``init``, translating the
        module at deployment; for a public function, loading the module's code
        and the return data kept in the receipt (its bytes values checked at
        the boundary)."""
        if f.is_init:
            return costs.translation(verify(self.ctx.out.module))
        leaves = T.leaf_types(f.returns)  # a struct or a tuple: each of its values
        returned = sum(encoded_size(t) for t in leaves)
        checked = sum(raw_size(t) for t in leaves if t.kind == "B")  # bytes returned are checked
        return (
            costs.code_load(len(self.ctx.out.bytecode))
            + costs.return_data(returned)
            + costs.boundary(checked)
        )

    def bound(self, name: str) -> GasBound:
        if name not in self._bounds:  # the functions it calls first: no recursion
            for callee in callees_first([name], self._callees):
                if callee not in self._bounds:
                    self._bounds[callee] = self._bound(callee)
        return self._bounds[name]

    def _callees(self, name: str) -> list[str]:
        f = self.ctx.functions[name]
        found = (
            n.function
            for b in f.blocks
            for s in [*b.stmts, b.term]
            for n in all_nodes(s)
            if isinstance(n, ir.Call)
        )
        return list(dict.fromkeys(found))

    def _bound(self, name: str) -> GasBound:
        """The bound of one function whose callees' bounds are known."""
        f = self.ctx.functions[name]
        external = any(
            isinstance(n, ir.ExtCall)
            for b in f.blocks
            for s in [*b.stmts, b.term]
            for n in all_nodes(s)
        )
        known = _known_on_entry(f)
        costs = {b.index: self.block_cost(f, b, known[b.index]) for b in f.blocks}
        # callees with external calls make this one external too
        external = external or any(self._bounds[c].external for c in self._callees(name))
        return GasBound(name, _longest_path(f, costs), external)

    def block_cost(self, f: ir.Function, b: ir.Block, existing: set | None = None) -> int:
        static = sum(BY_NAME[op].gas for op, _ in self.layout[f.name].get(b.index, []))
        if b.index in self._jump_targets(f.name):
            static += GAS.jump_target
        dynamic = 0
        existing = set(existing or ())
        fresh: dict[
            int, tuple[int | None, str]
        ] = {}  # locals holding a storage read, still current
        for s in [*b.stmts, b.term]:
            if isinstance(s, ir.Store) and _decrements_itself(s, fresh):
                dynamic += GAS.storage_write
            else:
                dynamic += self.statement_cost(s, existing)
            existing = _transfer(s, existing)
            fresh = _track_loads(s, fresh)
            for n in all_nodes(s):
                dynamic += self.expression_cost(n)
        return static + dynamic

    def _jump_targets(self, name: str) -> set[int]:
        """IR blocks a jump lands on (their first instruction costs GAS.jump_target)."""
        return {
            arg[1]
            for ops in self.layout[name].values()
            for op, args in ops
            if op in ("JMP", "JMPIF", "JMPIFNOT")
            for arg in args
            if isinstance(arg, tuple) and arg[0] == "block"
        }

    def statement_cost(self, s, existing: set = frozenset()) -> int:
        if isinstance(s, ir.Store):
            size = raw_size(s.value.type) if s.value.type.kind == "B" else 0
            # a slot is created only by writing a non-zero value where there was none
            creates = not (_is_zero(s.value) or (_root(s.key), ir.format_expr(s.key)) in existing)
            return costs.storage_write(creates, size) + costs.cold_access()
        if isinstance(s, ir.Send):
            return GAS.send + costs.cold_access()  # the recipient's account
        if isinstance(s, ir.EmitEvent):
            return costs.event(sum(encoded_size(t) for _, t in self.events[s.event]))
        if isinstance(s, ir.RaiseError):  # its fields stay in the receipt
            return costs.return_data(
                sum(raw_size(a.type) if a.type.kind == "B" else 32 for a in s.args)
            )
        return 0

    def expression_cost(self, n: ir.Expr) -> int:
        if isinstance(n, ir.Load):
            size = raw_size(n.type) if n.type.kind == "B" else 0
            return costs.storage_read(size) + costs.cold_access()
        if isinstance(n, ir.MapKey):
            key = n.key.type
            key_bytes = 32 if key.kind == "I" else 4 + raw_size(key)
            return costs.map_key(32 + key_bytes)
        if isinstance(n, ir.Builtin):
            return builtin_gas(n)
        if isinstance(n, ir.Unary) and n.op in ("to_bytes32", "to_bytes"):
            return costs.memory(32)
        if isinstance(n, ir.Call):
            return GAS.call_internal + self.bound(n.function).bound
        if isinstance(n, ir.ExtCall):
            crossing = sum(raw_size(a.type) for a in n.args if a.type.kind == "B")
            crossing += sum(raw_size(t) for t in T.leaf_types(n.type) if t.kind == "B")
            return (
                costs.external_call(n.value is not None)
                + costs.boundary(crossing)
                + costs.cold_access()  # the callee's account
            )
        return 0


def _is_zero(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and (
        e.value in (0, False) or e.value == b"" or (isinstance(e.value, bytes) and not any(e.value))
    )


def _track_loads(s, fresh: dict[int, tuple[int | None, str]]) -> dict[int, tuple[int | None, str]]:
    """Locals that hold the current value of a storage key, after ``s``: a
    write to the same state variable or any call makes them stale."""
    if any(isinstance(n, ir.Call | ir.ExtCall) for n in all_nodes(s)):
        return {}
    out = dict(fresh)
    if isinstance(s, ir.Store):
        root = _root(s.key)
        out = {i: k for i, k in out.items() if k[0] != root and root is not None}
    if isinstance(s, ir.SetLocal):
        out.pop(s.index, None)
        if isinstance(s.value, ir.Load):
            out[s.index] = (_root(s.value.key), ir.format_expr(s.value.key))
    return out


def _decrements_itself(s: ir.Store, fresh: dict[int, tuple[int | None, str]]) -> bool:
    """``K = old(K) - x`` on an unsigned value, with old(K) read in the same
    block and not written since, never creates a slot: a non-zero result
    means the old value was non-zero, and zero deletes."""
    v = s.value
    if not (
        isinstance(v, ir.Binary)
        and v.op == "sub"
        and isinstance(v.type, T.IntType)
        and not v.type.signed
    ):
        return False
    key = ir.format_expr(s.key)
    left = v.left
    if isinstance(left, ir.Load):
        return ir.format_expr(left.key) == key
    return isinstance(left, ir.Local) and left.index in fresh and fresh[left.index][1] == key


def _root(key: ir.Expr) -> int | None:
    while isinstance(key, ir.MapKey):
        key = key.base
    return key.slot if isinstance(key, ir.SlotKey) else None


def _transfer(s, known: set[tuple[int | None, str]]) -> set[tuple[int | None, str]]:
    """Storage keys known to hold a non-zero value after ``s`` runs.

    A key is known after a write of a non-zero constant, or after a require
    that it equals a non-zero constant. Any other write may zero every key of
    the same state variable (two map keys may be equal); any call may write
    anything."""
    if any(isinstance(n, ir.Call | ir.ExtCall) for n in all_nodes(s)):
        return set()
    out = set(known)
    if isinstance(s, ir.Store):
        root = _root(s.key)
        out = {k for k in out if k[0] != root and root is not None}
        if isinstance(s.value, ir.Const) and not _is_zero(s.value):
            out.add((root, ir.format_expr(s.key)))
    if isinstance(s, ir.Require) and isinstance(s.cond, ir.Compare):
        c = s.cond
        for side, other in ((c.left, c.right), (c.right, c.left)):
            if isinstance(side, ir.Load) and isinstance(other, ir.Const):
                if (c.op == "eq" and not _is_zero(other)) or (c.op == "ne" and _is_zero(other)):
                    out.add((_root(side.key), ir.format_expr(side.key)))
    return out


def _known_on_entry(f: ir.Function) -> dict[int, set]:
    """Keys proven non-zero on every path into each block (a forward
    must-analysis: intersection over predecessors)."""
    blocks = {b.index: b for b in f.blocks}
    preds: dict[int, list[int]] = {i: [] for i in blocks}
    for b in f.blocks:
        for s in b.successors():
            preds[s].append(b.index)
    entry = f.blocks[0].index
    known_in: dict[int, set | None] = {i: None for i in blocks}  # None: no path computed yet
    known_in[entry] = set()
    changed = True
    while changed:
        changed = False
        for b in f.blocks:
            if b.index == entry:
                continue
            outs = []
            for p in preds[b.index]:
                if known_in[p] is None:
                    continue
                out = set(known_in[p])
                for s in [*blocks[p].stmts, blocks[p].term]:
                    out = _transfer(s, out)
                outs.append(out)
            new = set.intersection(*outs) if outs else set()
            if new != known_in[b.index]:
                known_in[b.index] = new
                changed = True
    return {i: (v or set()) for i, v in known_in.items()}


def _longest_path(f: ir.Function, costs: dict[int, int]) -> int:
    """The costliest path from the entry: a loop counts its bound times its
    costliest iteration. Memoised over (block, innermost loop header), computed
    with an explicit stack (a function has up to a thousand blocks in a row)."""
    blocks = {b.index: b for b in f.blocks}
    loops = {}
    for loop in f.loops:
        members = loop.blocks & set(blocks)
        if loop.header in blocks:
            loops[loop.header] = (loop.bound, members)

    def region(header: int | None) -> set[int] | None:
        return None if header is None else loops[header][1]

    def after_loop(b: int, header: int | None) -> list[tuple[int, int | None]]:
        members, inside = loops[b][1], region(header)
        exits = {t for m in members for t in blocks[m].successors() if t not in members}
        return [(t, header) for t in exits if inside is None or t in inside]

    def onward(b: int, header: int | None) -> list[tuple[int, int | None]]:
        inside = region(header)
        return [
            (s, header)
            for s in blocks[b].successors()
            if s != header and (inside is None or s in inside)
        ]

    memo: dict[tuple[int, int | None], int] = {}
    expanded: set[tuple[int, int | None]] = set()
    root = (f.blocks[0].index, None)
    stack = [root]
    while stack:
        b, header = key = stack[-1]
        if key in memo:
            stack.pop()
            continue
        in_loop = b in loops and b != header
        needs = [(b, b), *after_loop(b, header)] if in_loop else onward(b, header)
        missing = [k for k in needs if k not in memo]
        if missing:
            if key in expanded:  # what it needs needs it: a cycle that is not a loop
                raise ValueError(f"{f.name}: block b{b} is on a cycle that is not a loop")
            expanded.add(key)
            stack.extend(missing)
            continue
        stack.pop()
        if in_loop:
            bound = loops[b][0]
            after = max((memo[k] for k in needs[1:]), default=0)
            memo[key] = (bound + 1) * memo[(b, b)] + after
        else:
            memo[key] = costs[b] + max((memo[k] for k in needs), default=0)
    return memo[root]
