"""Load-time verifier: no instruction of a module runs before it passes.

The rules (each has the stable name shown in :class:`VerificationError`):

- ``limits``: sizes and counts within :data:`deed.vm.opcodes.LIMITS`
  (basic blocks per function included).
- ``types``: every signature type is a known type; constants used as
  strings or byte defaults are bytes.
- ``opcode``: every opcode is known and its immediates are inside the code.
- ``immediate``: integer type codes, widths and indexes (constant, local,
  function, event, error, import) are valid.
- ``jump``: every jump (reachable or not) lands on an instruction boundary
  inside its function.
- ``stack``: on every path the stack has the same height and kinds at each
  instruction, never underflows, never exceeds the declared maximum, and holds
  exactly the return values at ``RET``; no path falls off the end.
- ``call``: internal calls pass the callee's parameter kinds; the call graph
  is acyclic (no recursion), so frame use is bounded.
- ``export``: exports name valid functions with matching kinds, selectors are
  the hash of their signature and unique, flags are known, at most one init.

A verified module carries the decoded instructions, the basic blocks with
their entry stacks, and the static gas of each instruction: every engine
and the analyzer share them. The verifier's own work is linear in the size
of the code plus blocks times stack height, so what it costs a node is
bounded by what the deployment pays per byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .errors import DecodeError, VerificationError
from .module import FLAG_INIT, FLAG_VIEW, KNOWN_FLAGS, Module, selector
from .opcodes import BY_CODE, GAS, IMMEDIATE_SIZES, JUMPS, LIMITS, TERMINATORS, OpInfo
from .types import BYTES, INT, TAG_BYTES, TAG_STRING, is_valid_type, type_name


class Instr(NamedTuple):
    """One decoded instruction (a named tuple: a module has many of them)."""

    offset: int
    op: OpInfo
    args: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.op.name


@dataclass(frozen=True, slots=True)
class Block:
    """A basic block: instructions ``[start, end)`` of its function.

    ``entry_stack`` holds the kinds on the stack when the block starts;
    ``is_target`` says a reachable jump lands on it, so entering it costs
    ``GAS.jump_target`` (engines dispatch such blocks; the others are only
    entered by falling through and run as part of their predecessor)."""

    index: int
    start: int
    end: int
    successors: tuple[int, ...]  # block indexes
    entry_stack: tuple[str, ...]
    is_target: bool


@dataclass(frozen=True)
class VerifiedFunction:
    index: int
    instrs: tuple[Instr, ...]
    blocks: tuple[Block, ...]  # reachable blocks in code order; block 0 is the entry
    block_of_offset: dict[int, int]  # leader offset -> block index
    calls: frozenset[int]
    costs: tuple[int, ...]  # static gas of each instruction (base, plus jump_target on targets)
    max_height: int  # highest the stack gets on any path

    def reachable(self, i: int) -> bool:
        """Whether instruction ``i`` can run (unreachable code is decoded but never runs)."""
        return any(b.start <= i < b.end for b in self.blocks)


@dataclass(frozen=True)
class VerifiedModule:
    module: Module
    functions: tuple[VerifiedFunction, ...]


def verify(module: Module) -> VerifiedModule:
    """Check every rule; raise :class:`VerificationError` on the first broken one."""
    _check_signatures(module)
    functions = tuple(_verify_function(module, i) for i in range(len(module.functions)))
    _check_acyclic(functions)
    return VerifiedModule(module, functions)


# --------------------------------------------------------------------------- module level


def _check_signatures(m: Module) -> None:
    for i, c in enumerate(m.constants):
        if isinstance(c, int) and not -(1 << 256) < c < (1 << 256):
            raise VerificationError("limits", f"constant {i} is over 256 bits")
    for defs, what in ((m.events, "event"), (m.errors, "error")):
        for d in defs:
            for fd in d.fields:
                if not is_valid_type(fd.type):
                    raise VerificationError(
                        "types", f"{what} {d.name!r} field {fd.name!r} has an unknown type"
                    )
                if fd.indexed and fd.type.tag in (TAG_BYTES, TAG_STRING):
                    raise VerificationError(
                        "types",
                        f"event {d.name!r} field {fd.name!r} is indexed: it needs a fixed-size type",
                    )
    seen: set[bytes] = set()
    inits = 0
    for e in m.exports:
        if not 0 <= e.function < len(m.functions):
            raise VerificationError(
                "export", f"export {e.name!r} names function {e.function}, which does not exist"
            )
        for t in e.params + e.returns:
            if not is_valid_type(t):
                raise VerificationError("types", f"export {e.name!r} has an unknown type")
        if e.selector != selector(e.name, e.params):
            raise VerificationError(
                "export", f"export {e.name!r} has a selector that is not the hash of its signature"
            )
        if e.selector in seen:
            raise VerificationError("export", f"export {e.name!r} repeats a selector")
        seen.add(e.selector)
        if e.flags & ~KNOWN_FLAGS:
            raise VerificationError("export", f"export {e.name!r} has unknown flags {e.flags}")
        if e.flags & FLAG_INIT:
            inits += 1
            if e.flags & FLAG_VIEW:
                raise VerificationError("export", "the init export cannot be a view")
        f = m.functions[e.function]
        if (
            tuple(t.kind for t in e.params) != f.params
            or tuple(t.kind for t in e.returns) != f.returns
        ):
            raise VerificationError(
                "export", f"export {e.name!r} types do not match function {e.function}"
            )
    if inits > 1:
        raise VerificationError("export", "more than one init export")
    for imp in m.imports:
        for t in imp.params + imp.returns:
            if not is_valid_type(t):
                raise VerificationError("types", f"import {imp.name!r} has an unknown type")
        if imp.selector != selector(imp.name, imp.params):
            raise VerificationError(
                "export",
                f"import {imp.name!r} has a selector that is not the hash of its signature",
            )


def _check_acyclic(functions: tuple[VerifiedFunction, ...]) -> None:
    """Reject recursion: depth-first search for a back edge in the call graph."""
    white, grey, black = 0, 1, 2
    color = [white] * len(functions)
    for root in range(len(functions)):
        if color[root] != white:
            continue
        stack = [(root, iter(sorted(functions[root].calls)))]
        color[root] = grey
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                color[node] = black
                stack.pop()
            elif color[child] == grey:
                raise VerificationError(
                    "call",
                    f"recursion: function {node} calls function {child}, which is on its call path",
                    node,
                )
            elif color[child] == white:
                color[child] = grey
                stack.append((child, iter(sorted(functions[child].calls))))


# --------------------------------------------------------------------------- instructions


def decode_code(code: bytes, fn: int | None = None) -> tuple[Instr, ...]:
    """Split a function's code into instructions (rule ``opcode``)."""
    instrs = []
    pos = 0
    n = len(code)
    by_code = BY_CODE
    while pos < n:
        op = by_code.get(code[pos])
        if op is None:
            raise VerificationError("opcode", f"unknown opcode 0x{code[pos]:02x}", fn, pos)
        end = pos + op.size
        if end > n:
            raise VerificationError(
                "opcode", f"{op.name} is cut off by the end of the code", fn, pos
            )
        imms = op.immediates
        if not imms:
            args: tuple[int, ...] = ()
        elif len(imms) == 1:
            args = (int.from_bytes(code[pos + 1 : end], "big"),)
        else:
            p = pos + 1
            parts = []
            for imm in imms:
                size = IMMEDIATE_SIZES[imm]
                parts.append(int.from_bytes(code[p : p + size], "big"))
                p += size
            args = tuple(parts)
        instrs.append(Instr(pos, op, args))
        pos = end
    return tuple(instrs)


def _verify_function(m: Module, fn: int) -> VerifiedFunction:
    f = m.functions[fn]
    if len(f.params) > LIMITS.max_params or len(f.returns) > LIMITS.max_returns:
        raise VerificationError("limits", "too many parameters or return values", fn)
    if len(f.params) + len(f.locals) > LIMITS.max_locals:
        raise VerificationError("limits", f"more than {LIMITS.max_locals} locals", fn)
    if f.max_stack > LIMITS.max_stack:
        raise VerificationError("limits", f"declared max stack over {LIMITS.max_stack}", fn)
    if not f.code:
        raise VerificationError("stack", "empty function: execution would fall off the end", fn, 0)
    instrs = decode_code(f.code, fn)
    flow = _ControlFlow(fn, instrs)
    if len(flow.leaders) > LIMITS.max_blocks:
        raise VerificationError(
            "limits", f"{len(flow.leaders)} basic blocks, over the limit of {LIMITS.max_blocks}", fn
        )
    checker = _StackChecker(m, fn, instrs, flow)
    blocks = checker.run()
    calls = frozenset(
        instrs[i].args[0]
        for b in blocks
        for i in range(b.start, b.end)
        if instrs[i].op.name == "CALL"
    )
    costs = [0] * len(instrs)
    for b in blocks:
        for i in range(b.start, b.end):
            costs[i] = instrs[i].op.gas
        if b.is_target:
            costs[b.start] += GAS.jump_target
    block_of_offset = {instrs[b.start].offset: b.index for b in blocks}
    return VerifiedFunction(
        fn, instrs, blocks, block_of_offset, calls, tuple(costs), checker.max_height
    )


def count_blocks(code: bytes, fn: int | None = None) -> int:
    """The basic blocks of a function's code as the verifier splits them (the
    ``max_blocks`` rule counts these). Raises VerificationError for code whose
    control flow is not well formed."""
    return len(_ControlFlow(fn, decode_code(code, fn)).leaders)


class _ControlFlow:
    """Jumps, reachability and basic blocks: they depend only on the code, not
    on the stack, so they are found first and the block limit is checked
    before any stack is simulated (rules ``jump``, ``stack`` and ``limits``)."""

    def __init__(self, fn: int, instrs: tuple[Instr, ...]):
        self.fn = fn
        self.instrs = instrs
        index_of = {ins.offset: i for i, ins in enumerate(instrs)}
        self.jump_to: dict[int, int] = {}  # instruction index -> target instruction index
        for i, ins in enumerate(instrs):
            if ins.op.name in JUMPS:
                target = index_of.get(ins.args[0])
                if target is None:
                    raise VerificationError(
                        "jump",
                        f"{ins.op.name}: target {ins.args[0]} is not an instruction of this function",
                        fn,
                        ins.offset,
                    )
                self.jump_to[i] = target
        self.targets = self._reachable_targets()
        self.leaders = self._leaders()

    def _reachable_targets(self) -> set[int]:
        """Walk straight-line runs from the entry; collect where reachable jumps land."""
        instrs = self.instrs
        n = len(instrs)
        seen = bytearray(n)
        self.reached = seen
        targets: set[int] = set()
        work = [0]
        while work:
            i = work.pop()
            while not seen[i]:
                seen[i] = 1
                ins = instrs[i]
                name = ins.op.name
                if name in JUMPS:
                    t = self.jump_to[i]
                    targets.add(t)
                    work.append(t)
                if name in TERMINATORS:
                    break
                i += 1
                if i >= n:
                    raise VerificationError(
                        "stack",
                        f"{name}: execution falls off the end of the function",
                        self.fn,
                        ins.offset,
                    )
        return targets

    def _leaders(self) -> list[int]:
        leaders = {0} | self.targets
        for i in self.jump_to:
            if self.reached[i] and self.instrs[i].op.name != "JMP":
                leaders.add(i + 1)  # the path of a conditional jump not taken
        return sorted(leaders)

    def successors(self, end: int) -> list[int]:
        """Instruction indexes that follow the block ending before ``end``."""
        last = end - 1
        out = []
        if last in self.jump_to:
            out.append(self.jump_to[last])
        if self.instrs[last].op.name not in TERMINATORS:
            out.append(end)
        return out


class _StackChecker:
    """Abstract interpretation of the stack kinds over every path (rule ``stack``),
    one basic block at a time: a block's entry stack is stored once, and joins
    compare entry stacks, so the work is linear in the code and the blocks."""

    def __init__(self, m: Module, fn: int, instrs: tuple[Instr, ...], flow: _ControlFlow):
        self.m = m
        self.fn = fn
        self.f = m.functions[fn]
        self.locals = self.f.all_locals
        self.max_stack = self.f.max_stack
        self.instrs = instrs
        self.flow = flow
        self.max_height = 0

    def fail(self, rule: str, msg: str, ins: Instr) -> VerificationError:
        return VerificationError(rule, f"{ins.op.name}: {msg}", self.fn, ins.offset)

    def run(self) -> tuple[Block, ...]:
        instrs = self.instrs
        leaders = self.flow.leaders
        n = len(instrs)
        block_at = {s: b for b, s in enumerate(leaders)}
        ends = [leaders[b + 1] if b + 1 < len(leaders) else n for b in range(len(leaders))]
        for b, start in enumerate(leaders):  # a block also ends at its first jump or terminator
            for i in range(start, ends[b]):
                name = instrs[i].op.name
                if name in JUMPS or name in TERMINATORS:
                    ends[b] = i + 1
                    break
        entries: list[tuple[str, ...] | None] = [None] * len(leaders)
        entries[0] = ()
        work = [0]
        step = self.step
        while work:
            b = work.pop()
            stack = list(entries[b])  # type: ignore[arg-type]
            for i in range(leaders[b], ends[b]):
                step(instrs[i], stack)
            after = tuple(stack)
            for succ in self.flow.successors(ends[b]):
                s = block_at[succ]
                if entries[s] is None:
                    entries[s] = after
                    work.append(s)
                elif entries[s] != after:
                    raise self.fail(
                        "stack",
                        f"stack {''.join(after) or 'empty'} differs from {''.join(entries[s]) or 'empty'} at the join at offset {instrs[succ].offset}",
                        instrs[ends[b] - 1],
                    )
        targets = self.flow.targets
        blocks = []
        for b, start in enumerate(leaders):
            succ = tuple(block_at[s] for s in self.flow.successors(ends[b]))
            blocks.append(Block(b, start, ends[b], succ, entries[b], start in targets))  # type: ignore[arg-type]
        return tuple(blocks)

    def pop(self, stack: list[str], kind: str, ins: Instr) -> str:
        if not stack:
            raise self.fail("stack", "stack underflow", ins)
        got = stack.pop()
        if kind != "A" and got != kind:
            raise self.fail(
                "stack", f"expected {_kind_name(kind)} on the stack, found {_kind_name(got)}", ins
            )
        return got

    def pop_kinds(self, stack: list[str], kinds, ins: Instr) -> None:
        for k in reversed(tuple(kinds)):
            self.pop(stack, k, ins)

    def index(self, ins: Instr, value: int, count: int, what: str) -> int:
        if not 0 <= value < count:
            raise self.fail("immediate", f"{what} {value} does not exist", ins)
        return value

    def bytes_const(self, ins: Instr, k: int) -> None:
        self.index(ins, k, len(self.m.constants), "constant")
        if not isinstance(self.m.constants[k], bytes):
            raise self.fail("types", f"constant {k} must be bytes", ins)

    def step(self, ins: Instr, stack: list[str]) -> None:
        """Apply one instruction's stack effect to ``stack`` (in place)."""
        op = ins.op
        special = _SPECIAL_EFFECTS.get(op.name)
        if special is not None:
            special(self, ins, stack)
        else:
            if op.immediates == ("t",) and ins.args[0] >= 64:
                raise self.fail("immediate", f"bad integer type code {ins.args[0]}", ins)
            same: str | None = None
            for k in reversed(op.pops):
                got = self.pop(stack, k, ins)
                if k == "A":
                    if same is not None and got != same:
                        raise self.fail("stack", "operands are of different kinds", ins)
                    same = got
            stack.extend(op.pushes)
        height = len(stack)
        if height > self.max_height:
            if height > self.max_stack:
                raise self.fail(
                    "stack",
                    f"stack height {height} exceeds the declared maximum {self.max_stack}",
                    ins,
                )
            self.max_height = height

    # -- instructions whose stack effect depends on an immediate
    def _const(self, ins: Instr, stack: list[str]) -> None:
        k = self.index(ins, ins.args[0], len(self.m.constants), "constant")
        stack.append(INT if isinstance(self.m.constants[k], int) else BYTES)

    def _dup(self, ins: Instr, stack: list[str]) -> None:
        if ins.args[0] >= len(stack):
            raise self.fail("stack", "stack underflow", ins)
        stack.append(stack[-1 - ins.args[0]])

    def _swap(self, ins: Instr, stack: list[str]) -> None:
        n = ins.args[0]
        if n < 1 or n >= len(stack):
            raise self.fail("stack", "stack underflow" if n else "SWAP 0 is not allowed", ins)
        stack[-1], stack[-1 - n] = stack[-1 - n], stack[-1]

    def _load(self, ins: Instr, stack: list[str]) -> None:
        stack.append(self.locals[self.index(ins, ins.args[0], len(self.locals), "local")])

    def _store(self, ins: Instr, stack: list[str]) -> None:
        self.pop(stack, self.locals[self.index(ins, ins.args[0], len(self.locals), "local")], ins)

    def _call(self, ins: Instr, stack: list[str]) -> None:
        callee = self.m.functions[self.index(ins, ins.args[0], len(self.m.functions), "function")]
        self.pop_kinds(stack, callee.params, ins)
        stack.extend(callee.returns)

    def _ret(self, ins: Instr, stack: list[str]) -> None:
        if tuple(stack) != self.f.returns:
            raise self.fail(
                "stack",
                f"returns {''.join(stack) or 'nothing'}, the function returns {''.join(self.f.returns) or 'nothing'}",
                ins,
            )
        stack.clear()

    def _raise(self, ins: Instr, stack: list[str]) -> None:
        err = self.m.errors[self.index(ins, ins.args[0], len(self.m.errors), "error")]
        self.pop_kinds(stack, (fd.type.kind for fd in err.fields), ins)

    def _emit(self, ins: Instr, stack: list[str]) -> None:
        ev = self.m.events[self.index(ins, ins.args[0], len(self.m.events), "event")]
        self.pop_kinds(stack, (fd.type.kind for fd in ev.fields), ins)

    def _xcall(self, ins: Instr, stack: list[str]) -> None:
        imp = self.m.imports[self.index(ins, ins.args[0], len(self.m.imports), "import")]
        if ins.args[1] > 1:
            raise self.fail("immediate", f"unknown call flags {ins.args[1]}", ins)
        self.pop_kinds(stack, (BYTES, INT) + tuple(t.kind for t in imp.params), ins)
        if ins.args[1]:
            stack.append(INT)
        stack.extend(t.kind for t in imp.returns)

    def _with_bytes_const(self, ins: Instr, stack: list[str]) -> None:
        self.bytes_const(ins, ins.args[0])
        self.pop_kinds(stack, ins.op.pops, ins)
        stack.extend(ins.op.pushes)

    def _i2b(self, ins: Instr, stack: list[str]) -> None:
        if not 1 <= ins.args[0] <= 32:
            raise self.fail("immediate", f"width {ins.args[0]} is not 1..32", ins)
        self.pop(stack, INT, ins)
        stack.append(BYTES)


_SPECIAL_EFFECTS = {
    "CONST": _StackChecker._const,
    "DUP": _StackChecker._dup,
    "SWAP": _StackChecker._swap,
    "LOAD": _StackChecker._load,
    "STORE": _StackChecker._store,
    "CALL": _StackChecker._call,
    "RET": _StackChecker._ret,
    "RAISE": _StackChecker._raise,
    "EMIT": _StackChecker._emit,
    "XCALL": _StackChecker._xcall,
    "SLOADB": _StackChecker._with_bytes_const,
    "SSTOREB": _StackChecker._with_bytes_const,
    "REQUIRE": _StackChecker._with_bytes_const,
    "I2B": _StackChecker._i2b,
}


def stack_stepper(m: Module, fn: int):
    """The verifier's stack rule for function ``fn``: ``step(ins, kinds)``
    applies one instruction's effect to a list of kinds (for lowerings that
    need the kind of every stack slot; the function must be verified)."""
    return _StackChecker(m, fn, (), None).step  # type: ignore[arg-type]


def _kind_name(kind: str) -> str:
    return {INT: "an integer", BYTES: "bytes"}.get(kind, "a value")


def load(data: bytes) -> VerifiedModule:
    """Decode and verify module bytes: the one way untrusted code enters the VM.

    Raises :class:`DecodeError` or :class:`VerificationError`; nothing else."""
    from .module import decode_module

    try:
        module = decode_module(data)
    except DecodeError:
        raise
    except (ValueError, OverflowError) as exc:  # defensive: keep the contract of this function
        raise DecodeError(str(exc)) from exc
    return verify(module)


__all__ = [
    "Block",
    "Instr",
    "count_blocks",
    "VerifiedFunction",
    "VerifiedModule",
    "decode_code",
    "load",
    "verify",
    "type_name",
]
