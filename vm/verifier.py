"""Load-time verifier: no instruction of a module runs before it passes.

The rules (each has the stable name shown in :class:`VerificationError`):

- ``limits``: sizes and counts within :data:`deed.vm.opcodes.LIMITS`.
- ``types``: every signature type is a known type; constants used as
  strings or byte defaults are bytes.
- ``opcode``: every opcode is known and its immediates are inside the code.
- ``immediate``: integer type codes, widths and indexes (constant, local,
  function, event, error, import) are valid.
- ``jump``: every jump lands on an instruction boundary inside its function.
- ``stack``: on every path the stack has the same height and kinds at each
  instruction, never underflows, never exceeds the declared maximum, and holds
  exactly the return values at ``RET``; no path falls off the end.
- ``call``: internal calls pass the callee's parameter kinds; the call graph
  is acyclic (no recursion), so frame use is bounded.
- ``export``: exports name valid functions with matching kinds, selectors are
  the hash of their signature and unique, flags are known, at most one init.

A verified module carries the decoded instructions, the stack at each one
and the basic blocks: the interpreter, the analyzer and the JIT share them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DecodeError, VerificationError
from .module import FLAG_INIT, FLAG_VIEW, KNOWN_FLAGS, Module, selector
from .opcodes import BY_CODE, JUMPS, LIMITS, TERMINATORS, OpInfo
from .types import BYTES, INT, is_valid_type, type_name


@dataclass(frozen=True, slots=True)
class Instr:
    offset: int
    op: OpInfo
    args: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.op.name


@dataclass(frozen=True)
class Block:
    """A basic block: instructions ``[start, end)`` of its function."""

    index: int
    start: int
    end: int
    successors: tuple[int, ...]  # block indexes


@dataclass(frozen=True)
class VerifiedFunction:
    index: int
    instrs: tuple[Instr, ...]
    stacks: tuple[tuple[str, ...] | None, ...]  # kinds before each instruction; None = unreachable
    blocks: tuple[Block, ...]  # reachable blocks in code order; block 0 is the entry
    block_of_offset: dict[int, int]  # leader offset -> block index
    calls: frozenset[int]


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
    while pos < n:
        op = BY_CODE.get(code[pos])
        if op is None:
            raise VerificationError("opcode", f"unknown opcode 0x{code[pos]:02x}", fn, pos)
        if pos + op.size > n:
            raise VerificationError(
                "opcode", f"{op.name} is cut off by the end of the code", fn, pos
            )
        args = []
        p = pos + 1
        for imm in op.immediates:
            size = 4 if imm == "u32" else 2 if imm == "u16" else 1
            args.append(int.from_bytes(code[p : p + size], "big"))
            p += size
        instrs.append(Instr(pos, op, tuple(args)))
        pos = p
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
    index_of = {ins.offset: i for i, ins in enumerate(instrs)}
    checker = _StackChecker(m, fn, instrs, index_of)
    stacks = checker.run()
    blocks, block_of_offset = _split_blocks(instrs, index_of, stacks)
    calls = frozenset(
        ins.args[0] for i, ins in enumerate(instrs) if ins.name == "CALL" and stacks[i] is not None
    )
    return VerifiedFunction(fn, instrs, tuple(stacks), blocks, block_of_offset, calls)


class _StackChecker:
    """Abstract interpretation of the stack kinds over every path (rule ``stack``)."""

    def __init__(self, m: Module, fn: int, instrs: tuple[Instr, ...], index_of: dict[int, int]):
        self.m = m
        self.fn = fn
        self.f = m.functions[fn]
        self.locals = self.f.all_locals
        self.instrs = instrs
        self.index_of = index_of

    def fail(self, rule: str, msg: str, ins: Instr) -> VerificationError:
        return VerificationError(rule, f"{ins.name}: {msg}", self.fn, ins.offset)

    def run(self) -> list[tuple[str, ...] | None]:
        stacks: list[tuple[str, ...] | None] = [None] * len(self.instrs)
        stacks[0] = ()
        work = [0]
        while work:
            i = work.pop()
            ins = self.instrs[i]
            after = self.step(ins, list(stacks[i]))
            for succ in self.successors(i, ins):
                if stacks[succ] is None:
                    stacks[succ] = after
                    work.append(succ)
                elif stacks[succ] != after:
                    raise self.fail(
                        "stack",
                        f"stack {''.join(after) or 'empty'} differs from {''.join(stacks[succ]) or 'empty'} at the join at offset {self.instrs[succ].offset}",
                        ins,
                    )
        return stacks

    def successors(self, i: int, ins: Instr) -> list[int]:
        out = []
        if ins.name in JUMPS:
            target = self.index_of.get(ins.args[0])
            if target is None:
                raise self.fail(
                    "jump", f"target {ins.args[0]} is not an instruction of this function", ins
                )
            out.append(target)
        if ins.name not in TERMINATORS:
            if i + 1 >= len(self.instrs):
                raise self.fail("stack", "execution falls off the end of the function", ins)
            out.append(i + 1)
        return out

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

    def step(self, ins: Instr, stack: list[str]) -> tuple[str, ...]:
        name = ins.name
        args = ins.args
        m = self.m
        if "t" in ins.op.immediates and args[0] >= 64:
            raise self.fail("immediate", f"bad integer type code {args[0]}", ins)
        if name == "CONST":
            k = self.index(ins, args[0], len(m.constants), "constant")
            stack.append(INT if isinstance(m.constants[k], int) else BYTES)
        elif name == "DUP":
            if args[0] >= len(stack):
                raise self.fail("stack", "stack underflow", ins)
            stack.append(stack[-1 - args[0]])
        elif name == "SWAP":
            if args[0] < 1 or args[0] >= len(stack):
                raise self.fail(
                    "stack", "stack underflow" if args[0] else "SWAP 0 is not allowed", ins
                )
            stack[-1], stack[-1 - args[0]] = stack[-1 - args[0]], stack[-1]
        elif name == "LOAD":
            stack.append(self.locals[self.index(ins, args[0], len(self.locals), "local")])
        elif name == "STORE":
            self.pop(stack, self.locals[self.index(ins, args[0], len(self.locals), "local")], ins)
        elif name == "CALL":
            callee = m.functions[self.index(ins, args[0], len(m.functions), "function")]
            self.pop_kinds(stack, callee.params, ins)
            stack.extend(callee.returns)
        elif name == "RET":
            if tuple(stack) != self.f.returns:
                raise self.fail(
                    "stack",
                    f"returns {''.join(stack) or 'nothing'}, the function returns {''.join(self.f.returns) or 'nothing'}",
                    ins,
                )
            stack.clear()
        elif name == "RAISE":
            err = m.errors[self.index(ins, args[0], len(m.errors), "error")]
            self.pop_kinds(stack, (fd.type.kind for fd in err.fields), ins)
        elif name == "EMIT":
            ev = m.events[self.index(ins, args[0], len(m.events), "event")]
            self.pop_kinds(stack, (fd.type.kind for fd in ev.fields), ins)
        elif name == "XCALL":
            imp = m.imports[self.index(ins, args[0], len(m.imports), "import")]
            if args[1] > 1:
                raise self.fail("immediate", f"unknown call flags {args[1]}", ins)
            self.pop_kinds(stack, (BYTES, INT) + tuple(t.kind for t in imp.params), ins)
            if args[1]:
                stack.append(INT)
            stack.extend(t.kind for t in imp.returns)
        else:
            if name in ("SLOADB", "SSTOREB", "REQUIRE"):
                self.bytes_const(ins, args[0])
            elif name == "I2B" and not 1 <= args[0] <= 32:
                raise self.fail("immediate", f"width {args[0]} is not 1..32", ins)
            same: str | None = None
            for k in reversed(ins.op.pops):
                got = self.pop(stack, k, ins)
                if k == "A":
                    if same is not None and got != same:
                        raise self.fail("stack", "operands are of different kinds", ins)
                    same = got
            stack.extend(ins.op.pushes)
        if len(stack) > self.f.max_stack:
            raise self.fail(
                "stack",
                f"stack height {len(stack)} exceeds the declared maximum {self.f.max_stack}",
                ins,
            )
        return tuple(stack)


def _kind_name(kind: str) -> str:
    return {INT: "an integer", BYTES: "bytes"}.get(kind, "a value")


def _split_blocks(instrs, index_of, stacks) -> tuple[tuple[Block, ...], dict[int, int]]:
    leaders = {0}
    for i, ins in enumerate(instrs):
        if stacks[i] is None:
            continue
        if ins.name in JUMPS:
            leaders.add(index_of[ins.args[0]])
        if (ins.name in JUMPS or ins.name in TERMINATORS) and i + 1 < len(instrs):
            leaders.add(i + 1)
    starts = sorted(i for i in leaders if stacks[i] is not None)
    block_at = {s: b for b, s in enumerate(starts)}
    blocks = []
    for b, start in enumerate(starts):
        end = start + 1
        while end < len(instrs) and end not in leaders:
            end += 1
        last = instrs[end - 1]
        succ = []
        if last.name in JUMPS:
            succ.append(block_at[index_of[last.args[0]]])
        if last.name not in TERMINATORS:
            succ.append(block_at[end])
        blocks.append(Block(b, start, end, tuple(succ)))
    block_of_offset = {instrs[s].offset: b for s, b in block_at.items()}
    return tuple(blocks), block_of_offset


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
    "VerifiedFunction",
    "VerifiedModule",
    "decode_code",
    "load",
    "verify",
    "type_name",
]
