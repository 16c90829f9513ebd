"""Worst-case gas of every function.

Deed has no recursion and every loop has a bound, so each function's gas has
an upper bound computable before it runs. The bound is the longest path
through the function's blocks, where

- a block costs the table gas of the instructions it was compiled to, plus
  the worst case of its dynamic costs (a storage write creates a slot; a hash
  reads the largest value its type allows; an event encodes its largest
  fields; an internal call costs its callee's bound);
- a loop costs (bound + 1) times its costliest iteration (the last test, or
  a break, may run one more partial iteration), then its costliest exit;
- a call to another contract costs what this contract pays for it, plus an
  unknown amount for the callee, which the report flags (``+ external``).

The bound is of execution gas; a transaction adds its intrinsic gas.
"""

from __future__ import annotations

from dataclasses import dataclass

from deed.compiler import ir
from deed.compiler import types as T
from deed.vm.opcodes import BY_NAME, GAS
from deed.vm.runtime import words

from .context import Context, all_nodes


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
    if isinstance(t, T.BytesType | T.StringType):
        return 4 + t.max_len
    return 32


def raw_size(t: T.Type) -> int:
    """Most bytes of a value of ``t`` as the VM holds it (hash inputs, map keys)."""
    if isinstance(t, T.AddressType | T.InterfaceType):
        return 20
    if isinstance(t, T.FixedBytesType):
        return t.size
    if isinstance(t, T.BytesType | T.StringType):
        return t.max_len
    return 32


class GasAnalysis:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.layout = ctx.out.layout
        self.events = {name: fields for name, fields in ctx.program.events}
        self._bounds: dict[str, GasBound] = {}

    def all(self) -> dict[str, GasBound]:
        for f in self.ctx.program.functions:
            self.bound(f.name)
        return dict(self._bounds)

    def bound(self, name: str) -> GasBound:
        if name not in self._bounds:
            f = self.ctx.functions[name]
            external = any(
                isinstance(n, ir.ExtCall)
                for b in f.blocks
                for s in [*b.stmts, b.term]
                for n in all_nodes(s)
            )
            costs = {b.index: self.block_cost(f, b) for b in f.blocks}
            for b in f.blocks:  # callees with external calls make this one external too
                for s in [*b.stmts, b.term]:
                    for n in all_nodes(s):
                        if isinstance(n, ir.Call) and self.bound(n.function).external:
                            external = True
            self._bounds[name] = GasBound(name, _longest_path(f, costs), external)
        return self._bounds[name]

    def block_cost(self, f: ir.Function, b: ir.Block) -> int:
        static = sum(BY_NAME[op].gas for op, _ in self.layout[f.name].get(b.index, []))
        dynamic = 0
        for s in [*b.stmts, b.term]:
            dynamic += self.statement_cost(s)
            for n in all_nodes(s):
                dynamic += self.expression_cost(n)
        return static + dynamic

    def statement_cost(self, s) -> int:
        if isinstance(s, ir.Store):
            return GAS.storage_new_slot
        if isinstance(s, ir.Send):
            return GAS.send
        if isinstance(s, ir.EmitEvent):
            size = sum(encoded_size(t) for _, t in self.events[s.event])
            return GAS.event_base + GAS.event_per_byte * size
        return 0

    def expression_cost(self, n: ir.Expr) -> int:
        if isinstance(n, ir.Load):
            return GAS.storage_read
        if isinstance(n, ir.MapKey):
            key = n.key.type
            key_bytes = 32 if key.kind == "I" else 4 + raw_size(key)
            return GAS.hash_base + GAS.hash_per_word * words(32 + key_bytes) + GAS.memory_per_word
        if isinstance(n, ir.Builtin):
            if n.name in ("sha256", "keccak256"):
                return GAS.hash_per_word * words(raw_size(n.args[0].type)) + GAS.memory_per_word
            if n.name == "verify_ed25519":
                return GAS.signature_check + GAS.hash_per_word * words(raw_size(n.args[1].type))
            if n.name == "balance":
                return GAS.account_read
            return 0
        if isinstance(n, ir.Unary) and n.op == "to_bytes32":
            return GAS.memory_per_word
        if isinstance(n, ir.Call):
            return GAS.call_internal + self.bound(n.function).bound
        if isinstance(n, ir.ExtCall):
            return GAS.call_external + (GAS.call_value if n.value is not None else 0)
        return 0


def _longest_path(f: ir.Function, costs: dict[int, int]) -> int:
    blocks = {b.index: b for b in f.blocks}
    loops = {}
    for loop in f.loops:
        members = loop.blocks & set(blocks)
        if loop.header in blocks:
            loops[loop.header] = (loop.bound, members)
    memo: dict[tuple[int, int | None], int] = {}

    def longest(b: int, region: set[int] | None, header: int | None) -> int:
        key = (b, header)
        if key in memo:
            return memo[key]
        if b in loops and b != header:
            bound, members = loops[b]
            iteration = longest(b, members, b)
            exits = {t for m in members for t in blocks[m].successors() if t not in members}
            after = max(
                (longest(t, region, header) for t in exits if region is None or t in region),
                default=0,
            )
            result = (bound + 1) * iteration + after
        else:
            best = 0
            for s in blocks[b].successors():
                if s == header or (region is not None and s not in region):
                    continue
                best = max(best, longest(s, region, header))
            result = costs[b] + best
        memo[key] = result
        return result

    return longest(f.blocks[0].index, None, None)
