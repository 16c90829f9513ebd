"""The translating engine: verified functions become Python functions.

Each verified function is translated once into the source of a Python
function and compiled (see :func:`build_functions`; the compiled code object
of a module is what a node keeps as its artifact). The verifier knows the
stack kinds at every block entry, so stack slots become Python locals (``s0``,
``s1``, ...) and locals become ``l0``, ``l1``, ...; within straight-line code
the stack is kept symbolically, so ``LOAD``/``DUP``/``SWAP`` cost nothing.

Control flow. Blocks that a jump lands on (the verifier's ``is_target``) are
*arms*: a ``while True`` loop dispatches on the arm number ``b`` through a
balanced tree of ``if b < k`` tests, so a jump costs the same few tests
whatever the function's size (at most log2 of the verifier's block limit).
Every other block is only entered by falling through from the block before
it, so its code follows that block's code inside the same arm: no dispatch,
no materialised stack. An arm that jumps to itself runs in an inner loop.
Entering an arm costs ``GAS.jump_target`` on every engine, which pays for the
dispatch.

Totality. Nothing here can exceed a limit of Python's compiler, whatever
the verified module: indentation depth is bounded by the dispatch tree's
depth, expressions are materialised before they nest deeper than
:data:`MAX_EXPR_DEPTH`, and the only loop nesting is the dispatch loop and
an arm's own loop. Translation time is linear in the code (bookkeeping is
per instruction, with no scans of the whole stack).

Gas. Each arm is cut into *segments* that end after an instruction with a
dynamic cost (storage, hashing, calls, ...) or a control transfer. A segment
pays the static cost of all its instructions at once, at its end: a revert
inside it reports the gas the per-instruction schedule would leave there
(``g - cost so far``), and if that is negative the outcome is out of gas
instead (:func:`deed.vm.errors.revert`); the last instruction gets the gas
left after the whole segment, and whatever it calls (a host method, a
function) checks it for a negative value before doing anything. Instructions
before a segment's last have no effect outside the function, so running them
before the out-of-gas point is found is unobservable. The observable gas is
identical to charging instruction by instruction.

Safety. The generated source contains only names made from indexes, integer
literals and fixed templates: no text of the module ever becomes source.
"""

from __future__ import annotations

from . import runtime
from .errors import OutOfGas, Revert, revert
from .types import BYTES, int_range, int_type_text
from .verifier import Block, Instr, VerifiedFunction, VerifiedModule

#: Deepest expression kept symbolic; deeper ones are computed into temporaries.
MAX_EXPR_DEPTH = 8
#: Bumped whenever the generated code changes, so stored artifacts are rebuilt.
TRANSLATOR_VERSION = 2

_EMPTY_BYTES = repr(b"")
# Placeholder for "gas left if this instruction stops here"; replaced per segment.
G = "\x00G\x00"


_NO_LOCALS: frozenset[int] = frozenset()


class _Item:
    """A value on the symbolic stack: an atom (a name or literal) or a pure
    expression (a comparison or logical operation: a Python bool). Never
    changed once made (a plain slotted class: translation makes many)."""

    __slots__ = ("text", "pure_expr", "uses_locals", "depth")

    def __init__(
        self,
        text: str,
        pure_expr: bool = False,
        uses_locals: frozenset[int] = _NO_LOCALS,
        depth: int = 0,
    ):
        self.text = text
        self.pure_expr = pure_expr
        self.uses_locals = uses_locals
        self.depth = depth


class _SymStack:
    """The symbolic stack of straight-line code, with the bookkeeping that
    keeps translation linear: where the items that read each local are (so a
    ``STORE`` materialises exactly those), and the lowest position changed
    since the arm began (so an exit only looks at the positions above it)."""

    def __init__(self, height: int):
        self.items = [_Item(f"s{i}") for i in range(height)]
        self.readers: dict[int, set[int]] = {}  # local -> positions of items that read it
        self.low = height

    def __len__(self) -> int:
        return len(self.items)

    def _track(self, item: _Item, pos: int, add: bool) -> None:
        for n in item.uses_locals:
            at = self.readers.setdefault(n, set())
            if add:
                at.add(pos)
            else:
                at.discard(pos)

    def push(self, item: _Item) -> None:
        if item.uses_locals:
            self._track(item, len(self.items), True)
        self.items.append(item)

    def pop(self) -> _Item:
        item = self.items.pop()
        if item.uses_locals:
            self._track(item, len(self.items), False)
        self.low = min(self.low, len(self.items))
        return item

    def pop_many(self, n: int) -> list[_Item]:
        out = [self.pop() for _ in range(n)]
        out.reverse()
        return out

    def replace(self, pos: int, item: _Item) -> None:
        old = self.items[pos]
        if old.uses_locals:
            self._track(old, pos, False)
        self.items[pos] = item
        if item.uses_locals:
            self._track(item, pos, True)
        self.low = min(self.low, pos)

    def swap(self, depth: int) -> None:
        i = len(self.items) - 1
        j = i - depth
        a, b = self.items[i], self.items[j]
        self.replace(i, b)
        self.replace(j, a)

    def readers_of(self, n: int) -> list[int]:
        return sorted(self.readers.get(n, ()))

    def changed_slots(self) -> list[tuple[int, _Item]]:
        """Positions whose symbol is not their own slot name (to store at an exit)."""
        return [
            (pos, self.items[pos])
            for pos in range(self.low, len(self.items))
            if self.items[pos].text != f"s{pos}"
        ]


class _Segment:
    """Collects the code of one gas segment as instructions are translated,
    and writes it out with one charge (see the module docstring)."""

    def __init__(self, out: list[str]):
        self.out = out
        self.cost = 0
        self.pure: list[tuple[str, int]] = []  # (line, cost up to its instruction)
        self.effects: list[str] = []

    def charge(self, cost: int) -> None:
        self.cost += cost

    def line(self, text: str) -> None:
        """A line with no effect outside the function (it may revert)."""
        self.pure.append((text, self.cost))

    def effect(self, text: str) -> None:
        """A line that runs only once the segment's gas is known to be there."""
        self.effects.append(text)

    def end(self) -> None:
        """Write the segment out. Pure lines see the gas left at their own
        instruction as ``g - cost``; a segment that ends in a host call (or an
        internal call, a revert) hands that call ``g - total``, and host calls
        and functions check for negative gas before doing anything; any other
        segment subtracts its total and checks before its effects."""
        total = self.cost
        out = self.out
        for text, cost in self.pure:
            if G in text:
                text = text.replace(G, f"(g - {cost})" if cost else "g")
            out.append(text)
        effects = self.effects
        if effects:
            if total and not any(G in text for text in effects):
                out.append(f"g -= {total}")
                out.append("if g < 0: raise OutOfGas()")
                out.extend(effects)
            else:
                here = f"(g - {total})" if total else "g"
                out.extend(text.replace(G, here) for text in effects)
        elif total:
            out.append(f"g -= {total}")
        self.cost = 0
        self.pure = []
        self.effects = []


def _int_text(item: _Item) -> str:
    """The item as an integer value: comparisons are bools until kept."""
    return f"(1 if {item.text} else 0)" if item.pure_expr else item.text


class _FunctionTranslator:
    def __init__(self, vm: VerifiedModule, vf: VerifiedFunction):
        self.m = vm.module
        self.vf = vf
        self.f = self.m.functions[vf.index]
        self.temp_count = 0
        self.arms = [b for b in vf.blocks if b.is_target or b.index == 0]
        self.arm_of_block = {b.index: k for k, b in enumerate(self.arms)}
        self.block_at_instr = {b.start: b for b in vf.blocks}

    def temp(self) -> str:
        self.temp_count += 1
        return f"t{self.temp_count}"

    # ----------------------------------------------------------------- layout
    def translate(self) -> str:
        f = self.f
        n_params = len(f.params)
        params = "".join(f", l{i}" for i in range(n_params))
        out = [f"def f{self.vf.index}(fr, g{params}):"]
        body = [
            f"l{n_params + i} = {_EMPTY_BYTES if kind == BYTES else 0}"
            for i, kind in enumerate(f.locals)
        ]
        body.append("tx = fr.tx")
        if len(self.arms) == 1 and not self._has_exits(self.arms[0]):
            body.extend(self.arm_lines(self.arms[0]))
        else:
            body.append("b = 0")
            body.append("while True:")
            body.extend("    " + ln for ln in self.dispatch(0, len(self.arms)))
        out.extend("    " + ln for ln in body)
        return "\n".join(out) + "\n"

    def _has_exits(self, arm: Block) -> bool:
        """Whether code starting at this arm can continue in an arm (a loop is needed)."""
        return any(s in self.arm_of_block for b in self._arm_blocks(arm) for s in b.successors)

    def _arm_blocks(self, arm: Block) -> list[Block]:
        """The arm's own block and the fall-through-only blocks that follow it."""
        out = [arm]
        blk = arm
        while True:
            nxt = next((s for s in blk.successors if s == blk.index + 1), None)
            if nxt is None or nxt in self.arm_of_block or blk.end not in self.block_at_instr:
                return out
            blk = self.vf.blocks[nxt]
            out.append(blk)

    def dispatch(self, lo: int, hi: int) -> list[str]:
        """A balanced tree of tests choosing arm ``lo..hi-1`` by block number."""
        if hi - lo == 1:
            arm = self.arms[lo]
            if self._jumps_to_itself(arm):
                inner = self.arm_lines(arm, inner_loop=True)
                return ["while True:"] + ["    " + ln for ln in inner]
            return self.arm_lines(arm)
        mid = (lo + hi) // 2
        lines = [f"if b < {self.arms[mid].index}:"]
        lines += ["    " + ln for ln in self.dispatch(lo, mid)]
        lines.append("else:")
        lines += ["    " + ln for ln in self.dispatch(mid, hi)]
        return lines

    def _jumps_to_itself(self, arm: Block) -> bool:
        return len(self.arms) > 1 and any(arm.index in b.successors for b in self._arm_blocks(arm))

    # ------------------------------------------------------------------- arms
    def arm_lines(self, arm: Block, inner_loop: bool = False) -> list[str]:
        """The code of one arm: its blocks in order, cut into gas segments."""
        self.inner_loop = inner_loop
        self.current_arm = arm.index
        out: list[str] = []
        seg = self.seg = _Segment(out)
        stack = _SymStack(len(arm.entry_stack))
        instrs = self.vf.instrs
        costs = self.vf.costs
        blk: Block | None = arm
        while blk is not None:
            for i in range(blk.start, blk.end - 1):
                ins = instrs[i]
                seg.charge(costs[i])
                _EMITTERS[ins.op.name](self, ins, stack)
                if ins.op.dynamic:
                    seg.end()
            last = blk.end - 1
            seg.charge(costs[last])
            blk = self.block_end(blk, instrs[last], stack)
            seg.end()
        return out

    def block_end(self, blk: Block, ins: Instr, stack: _SymStack) -> Block | None:
        """The last instruction of a block, already charged; returns the block
        that continues this arm's straight-line code (None when it ends here)."""
        name = ins.op.name
        seg = self.seg
        fall = blk.index + 1 if blk.end in self.block_at_instr else None
        if name == "JMP":
            self.exit_to(self.vf.block_of_offset[ins.args[0]], stack)
            return None
        if name in ("JMPIF", "JMPIFNOT"):
            cond = self.pop_condition(stack)
            target = self.vf.block_of_offset[ins.args[0]]
            if fall in self.arm_of_block and self._plain_exit(target) and self._plain_exit(fall):
                # both ways lead to other arms: one assignment stores the stack and
                # chooses the arm (its right side is evaluated before any slot changes)
                yes, no = (target, fall) if name == "JMPIF" else (fall, target)
                changed = stack.changed_slots()
                targets = "".join(f"s{pos}, " for pos, _ in changed)
                values = "".join(f"{_int_text(item)}, " for _, item in changed)
                seg.effect(f"{targets}b = {values}{yes} if {cond} else {no}")
                seg.effect("break" if self.inner_loop else "continue")
                return None
            if fall not in self.arm_of_block and stack.changed_slots():
                # The code goes on after this exit: store the stack in its slots on
                # both paths once, so later exits do not store the same values again.
                c = self.temp()
                seg.line(f"{c} = {cond}")
                cond = c
                self.store_slots(stack)
            seg.effect(f"if {cond}:" if name == "JMPIF" else f"if not {cond}:")
            self.exit_to(self.vf.block_of_offset[ins.args[0]], stack, indent="    ")
            if fall in self.arm_of_block:
                self.exit_to(fall, stack)
                return None
            return self.vf.blocks[fall]  # type: ignore[index]
        _EMITTERS[name](self, ins, stack)
        if blk.successors:  # an ordinary instruction runs into a jump target
            if ins.op.dynamic:
                seg.end()
            self.exit_to(fall, stack)  # type: ignore[arg-type]
        return None

    def _plain_exit(self, block: int) -> bool:
        """Whether leaving for arm ``block`` is ``b = block`` and a jump to the dispatch."""
        return not (block == self.current_arm and (self.inner_loop or len(self.arms) == 1))

    def store_slots(self, stack: _SymStack) -> None:
        """Assign every changed position to its slot; the stack is then its slots."""
        changed = stack.changed_slots()
        targets = ", ".join(f"s{pos}" for pos, _ in changed)
        values = ", ".join(_int_text(item) for _, item in changed)
        self.seg.line(f"{targets} = {values}")
        for pos, _ in changed:
            stack.replace(pos, _Item(f"s{pos}"))
        stack.low = len(stack)

    def exit_to(self, block: int, stack: _SymStack, indent: str = "") -> None:
        """Store the symbolic stack in its slots and continue in arm ``block``."""
        seg = self.seg
        changed = stack.changed_slots()
        if changed:
            targets = ", ".join(f"s{pos}" for pos, _ in changed)
            values = ", ".join(_int_text(item) for _, item in changed)
            seg.effect(f"{indent}{targets} = {values}")
        if block == self.current_arm and (self.inner_loop or len(self.arms) == 1):
            seg.effect(f"{indent}continue")
        else:
            seg.effect(f"{indent}b = {block}")
            seg.effect(f"{indent}{'break' if self.inner_loop else 'continue'}")

    # ------------------------------------------------------------ operands
    def materialize(self, stack: _SymStack, pos: int) -> None:
        item = stack.items[pos]
        t = self.temp()
        self.seg.line(f"{t} = {_int_text(item)}")
        stack.replace(pos, _Item(t))

    def pop_values(self, stack: _SymStack, n: int) -> list[str]:
        """Pop n operands as integer or bytes texts."""
        return [_int_text(it) for it in stack.pop_many(n)] if n else []

    def pop_condition(self, stack: _SymStack) -> str:
        """Pop an operand used only for its truth: a comparison stays a bool."""
        item = stack.pop()
        return f"({item.text})" if item.pure_expr else item.text

    def push_temp(self, stack: _SymStack, expr: str) -> str:
        t = self.temp()
        self.seg.line(f"{t} = {expr}")
        stack.push(_Item(t))
        return t

    def push_checked(self, stack: _SymStack, expr: str, type_code: int, what: str = "OVF") -> None:
        """Push a result, reverting unless it fits the type (``what``: the reason's name)."""
        t = self.push_temp(stack, expr)
        self.seg.line(f"if {_range_test(t, type_code)}: raise R({G}, {what})")

    def push_pure(self, stack: _SymStack, operands: list[_Item], template: str) -> None:
        """Push a comparison or logical expression over operands, keeping it
        symbolic unless it would nest deeper than MAX_EXPR_DEPTH."""
        if max((o.depth for o in operands), default=0) >= MAX_EXPR_DEPTH:
            operands = [self._as_temp(o) for o in operands]
        texts = [o.text if not o.pure_expr else f"({o.text})" for o in operands]
        uses = _NO_LOCALS.union(*(o.uses_locals for o in operands))
        depth = 1 + max((o.depth for o in operands), default=0)
        stack.push(_Item(template.format(*texts), True, uses, depth))

    def _as_temp(self, item: _Item) -> _Item:
        if not item.depth:
            return item  # an atom already
        t = self.temp()
        self.seg.line(f"{t} = {_int_text(item)}")
        return _Item(t)

    @staticmethod
    def _as_int(item: _Item) -> _Item:
        """An operand that a comparison or logical operation reads as an integer."""
        if not item.pure_expr:
            return item
        return _Item(_int_text(item), False, item.uses_locals, item.depth)

    # ----------------------------------------------------------- instructions
    def _const(self, ins, stack):
        c = self.m.constants[ins.args[0]]
        stack.push(_Item(repr(c) if isinstance(c, int) else f"k{ins.args[0]}"))

    def _pop(self, ins, stack):
        stack.pop()  # pure items have no effects to keep

    def _dup(self, ins, stack):
        pos = len(stack) - 1 - ins.args[0]
        if stack.items[pos].pure_expr:
            self.materialize(stack, pos)
        stack.push(stack.items[pos])

    def _swap(self, ins, stack):
        stack.swap(ins.args[0])

    def _load(self, ins, stack):
        n = ins.args[0]
        stack.push(_Item(f"l{n}", False, _LOCAL_SETS[n]))

    def _store(self, ins, stack):
        (v,) = self.pop_values(stack, 1)
        n = ins.args[0]
        for pos in stack.readers_of(n):
            self.materialize(stack, pos)
        self.seg.line(f"l{n} = {v}")

    def _arith(self, ins, stack):
        x, y = self.pop_values(stack, 2)
        self.push_checked(stack, _ARITH[ins.op.name].format(a=x, b=y), ins.args[0])

    def _divmod(self, ins, stack):
        """Truncating division; Python's floor division agrees when the divisor
        is positive and the dividend is not negative, and -(-a // b) is the
        truncated quotient when only the dividend is negative."""
        x, y = self.pop_values(stack, 2)
        self.seg.line(f"if {y} == 0: raise R({G}, 'division by zero')")
        sym, helper = ("//", "tdiv") if ins.op.name == "DIV" else ("%", "tmod")
        expr = (
            f"({x} {sym} {y} if {x} >= 0 else -(-{x} {sym} {y})) if {y} > 0 else {helper}({x}, {y})"
        )
        self.push_checked(stack, expr, ins.args[0])

    def _exp(self, ins, stack):
        x, y = self.pop_values(stack, 2)
        self.push_checked(stack, f"power({G}, {x}, {y})", ins.args[0])

    def _shift(self, ins, stack):
        """Shifts by up to 256 (left) or 512 (right) inline; others in the helper."""
        x, y = self.pop_values(stack, 2)
        if ins.op.name == "SHL":
            expr = f"{x} << {y} if 0 <= {y} <= 256 else shl({G}, {x}, {y})"
        else:
            expr = f"{x} >> {y} if 0 <= {y} <= 512 else shr({G}, {x}, {y})"
        self.push_checked(stack, expr, ins.args[0])

    def _neg(self, ins, stack):
        (x,) = self.pop_values(stack, 1)
        self.push_checked(stack, f"-{x}", ins.args[0])

    def _cast(self, ins, stack):
        (x,) = self.pop_values(stack, 1)
        self.push_checked(stack, x, ins.args[0], f"CAST{ins.args[0]}")

    def _bnot(self, ins, stack):
        (x,) = self.pop_values(stack, 1)
        lo, hi = int_range(ins.args[0])
        self.push_checked(stack, f"{x} ^ {_high(ins.args[0])}" if lo == 0 else f"~{x}", ins.args[0])

    def _compare(self, ins, stack):
        operands = [self._as_int(o) for o in stack.pop_many(2)]
        self.push_pure(stack, operands, "{} " + _COMPARE[ins.op.name] + " {}")

    def _not(self, ins, stack):
        self.push_pure(stack, [stack.pop()], "not {}")

    def _and_or(self, ins, stack):
        op = "&" if ins.op.name == "AND" else "|"
        operands = [self._as_int(o) for o in stack.pop_many(2)]
        self.push_pure(stack, operands, "({} != 0) " + op + " ({} != 0)")

    def _min_max(self, ins, stack):
        x, y = self.pop_values(stack, 2)
        cmp = "<=" if ins.op.name == "MIN" else ">="
        self.push_temp(stack, f"{x} if {x} {cmp} {y} else {y}")

    def _len(self, ins, stack):
        (x,) = self.pop_values(stack, 1)
        self.push_temp(stack, f"len({x})")

    def _host_value(self, ins, stack):
        method, n_in, extra = _HOST_VALUE[ins.op.name]
        args = ", ".join(self.pop_values(stack, n_in) + [e.format(*ins.args) for e in extra])
        t = self.temp()
        self.seg.effect(f"g, {t} = fr.{method}({G}, {args})")
        stack.push(_Item(t))

    def _host_pure(self, ins, stack):
        method, n_in, extra = _HOST_PURE[ins.op.name]
        args = ", ".join([G] + self.pop_values(stack, n_in) + [e.format(*ins.args) for e in extra])
        self.push_temp(stack, f"{method}({args})")

    def _host_effect(self, ins, stack):
        method, n_in, extra = _HOST_EFFECT[ins.op.name]
        args = ", ".join([G] + self.pop_values(stack, n_in) + [e.format(*ins.args) for e in extra])
        self.seg.effect(f"g = fr.{method}({args})")

    def _byteat(self, ins, stack):
        x, i = self.pop_values(stack, 2)
        self.push_temp(stack, f"{x}[{i}] if 0 <= {i} < len({x}) else byte_at({G}, {x}, {i})")

    def _env(self, ins, stack):
        stack.push(_Item(_ENV[ins.op.name]))

    def _selfbalance(self, ins, stack):
        self.push_temp(stack, "fr.selfbalance()")

    def _call(self, ins, stack):
        callee = self.m.functions[ins.args[0]]
        xs = self.pop_values(stack, len(callee.params))
        rets = [self.temp() for _ in callee.returns]
        lhs = ", ".join(["g"] + rets)
        seg = self.seg
        seg.effect("tx.frames += 1")
        seg.effect(f"if tx.frames > MAX_FRAMES: raise R({G}, 'too many call frames')")
        seg.effect(f"{lhs} = f{ins.args[0]}({', '.join(['fr', G] + xs)})")
        seg.effect("tx.frames -= 1")
        for r in rets:
            stack.push(_Item(r))

    def _xcall(self, ins, stack):
        imp = self.m.imports[ins.args[0]]
        xs = self.pop_values(stack, 2 + len(imp.params))
        rets = [self.temp() for _ in range(len(imp.returns) + ins.args[1])]
        args_tuple = "(" + "".join(f"{x}, " for x in xs[2:]) + ")"
        lhs = ", ".join(["g"] + rets) + ("," if not rets else "")
        self.seg.effect(
            f"{lhs} = fr.xcall({G}, {ins.args[0]}, {ins.args[1]}, {xs[0]}, {xs[1]}, {args_tuple})"
        )
        for r in rets:
            stack.push(_Item(r))

    def _ret(self, ins, stack):
        xs = self.pop_values(stack, len(self.f.returns))
        self.seg.effect("return " + ", ".join(["g"] + xs) if xs else "return g")

    def _revert(self, ins, stack):
        (x,) = self.pop_values(stack, 1)
        self.seg.effect(f"raise R({G}, reason_text({x}))")

    def _require(self, ins, stack):
        x = self.pop_condition(stack)
        self.seg.line(f"if not {x}: raise R({G}, m{ins.args[0]})")

    def _raise(self, ins, stack):
        err = self.m.errors[ins.args[0]]
        xs = self.pop_values(stack, len(err.fields))
        self.seg.effect(f"raise fr.error({G}, {ins.args[0]}, ({''.join(x + ', ' for x in xs)}))")

    def _emit(self, ins, stack):
        ev = self.m.events[ins.args[0]]
        xs = self.pop_values(stack, len(ev.fields))
        self.seg.effect(f"g = fr.emit({G}, {ins.args[0]}, ({''.join(x + ', ' for x in xs)}))")


_LOCAL_SETS = tuple(frozenset((n,)) for n in range(256))


def _high(type_code: int) -> str:
    """The type's largest value as source: a literal when short, else its global name."""
    hi = int_range(type_code)[1]
    return str(hi) if hi < 1 << 64 else f"HI{type_code}"


def _range_test(t: str, type_code: int) -> str:
    """Source that is true when ``t`` does not fit the integer type ``type_code``."""
    lo, hi = int_range(type_code)
    if hi < 1 << 64:
        return f"{t} < {lo} or {t} > {hi}"
    return (
        f"{t} < LO{type_code} or {t} > HI{type_code}" if lo else f"{t} < 0 or {t} > HI{type_code}"
    )


_ARITH = {
    "ADD": "{a} + {b}",
    "SUB": "{a} - {b}",
    "MUL": "{a} * {b}",
    "BAND": "{a} & {b}",
    "BOR": "{a} | {b}",
    "BXOR": "{a} ^ {b}",
}
_COMPARE = {"LT": "<", "GT": ">", "LE": "<=", "GE": ">=", "EQ": "==", "NE": "!="}
# name -> (frame method, operands, extra immediates as format strings); these return (g, value)
_HOST_VALUE = {
    "CONCAT": ("concat", 2, []),
    "SLICE": ("slice", 3, []),
    "I2B": ("int_to_bytes", 1, ["{0}"]),
    "SHA256": ("sha256", 1, []),
    "KECCAK256": ("keccak256", 1, []),
    "ED25519": ("ed25519", 3, []),
    "MKEY": ("mkey", 2, []),
    "SLOAD": ("sload", 1, []),
    "SLOADB": ("sloadb", 1, ["k{0}"]),
    "BALANCE": ("balance", 1, []),
    "DOCHOLDER": ("docholder", 1, []),
    "ORACLE": ("oracle", 4, []),
}
# name -> (module-level function, operands, extra): pure functions that may revert
_HOST_PURE = {
    "B2I": ("bytes_to_int", 1, ["{0}"]),
}
# name -> (frame method, operands, extra): effects that return only gas
_HOST_EFFECT = {
    "SSTORE": ("sstore", 2, []),
    "SSTOREB": ("sstoreb", 2, ["k{0}"]),
    "SEND": ("send", 2, []),
    "DOCREG": ("docreg", 1, []),
}
_ENV = {
    "CALLER": "fr.caller",
    "CALLVALUE": "fr.value",
    "SELF": "fr.address",
    "HEIGHT": "tx.height",
    "CHAINID": "tx.chain_id",
    "TIMESTAMP": "tx.timestamp",
    "ORIGIN": "tx.origin",
}

T = _FunctionTranslator
_EMITTERS = {
    "CONST": T._const,
    "POP": T._pop,
    "DUP": T._dup,
    "SWAP": T._swap,
    "LOAD": T._load,
    "STORE": T._store,
    **{name: T._arith for name in _ARITH},
    "DIV": T._divmod,
    "MOD": T._divmod,
    "EXP": T._exp,
    "SHL": T._shift,
    "SHR": T._shift,
    "NEG": T._neg,
    "CAST": T._cast,
    "BNOT": T._bnot,
    **{name: T._compare for name in _COMPARE},
    "NOT": T._not,
    "AND": T._and_or,
    "OR": T._and_or,
    "MIN": T._min_max,
    "MAX": T._min_max,
    "LEN": T._len,
    **{name: T._host_value for name in _HOST_VALUE},
    **{name: T._host_pure for name in _HOST_PURE},
    **{name: T._host_effect for name in _HOST_EFFECT},
    **{name: T._env for name in _ENV},
    "SELFBALANCE": T._selfbalance,
    "BYTEAT": T._byteat,
    "CALL": T._call,
    "XCALL": T._xcall,
    "RET": T._ret,
    "REVERT": T._revert,
    "REQUIRE": T._require,
    "RAISE": T._raise,
    "EMIT": T._emit,
}
del T


def _type_names() -> dict[str, object]:
    """Globals of translated code for the integer types: wide bounds and cast reasons."""
    names: dict[str, object] = {"OVF": "arithmetic overflow"}
    for code in range(64):
        lo, hi = int_range(code)
        names[f"HI{code}"] = hi
        names[f"LO{code}"] = lo
        names[f"CAST{code}"] = f"value does not fit {int_type_text(code)}"
    return names


_TYPE_NAMES = _type_names()


def translate_source(vm: VerifiedModule) -> str:
    """The Python source of every function of a verified module."""
    return "\n".join(_FunctionTranslator(vm, vf).translate() for vf in vm.functions)


def compile_module(vm: VerifiedModule):
    """The compiled code object of a verified module (a node's artifact)."""
    return compile(translate_source(vm), f"<deed module {vm.module.module_id.hex()[:16]}>", "exec")


def functions_from_code(code, module) -> list:
    """The module's functions from its compiled code object, indexed like the module's."""
    namespace = runtime.namespace()
    namespace.update({"Revert": Revert, "OutOfGas": OutOfGas, "R": revert})
    namespace.update(_TYPE_NAMES)
    for i, c in enumerate(module.constants):
        if isinstance(c, bytes):
            namespace[f"k{i}"] = c
            namespace[f"m{i}"] = c.decode("utf-8", "replace")
    exec(code, namespace)  # noqa: S102 - source built from fixed templates and indexes only
    return [namespace[f"f{i}"] for i in range(len(module.functions))]


def build_functions(vm: VerifiedModule) -> list:
    """Translate and compile a verified module; returns its functions by index."""
    return functions_from_code(compile_module(vm), vm.module)
