"""The interpreter's engine: verified functions become Python functions.

Each verified function is translated once, at load, into the source of a
Python function, compiled, and cached by module id. The verifier knows the
stack height and kinds before every instruction, so stack slots become Python
locals (``s0``, ``s1``, ...) and locals become ``l0``, ``l1``, ...; within a
basic block the stack is kept symbolically, so ``LOAD``/``DUP``/``SWAP`` cost
nothing. Control flow is a ``while`` loop over block numbers.

Gas. Each basic block is cut into *segments* that end after an instruction
with a dynamic cost (storage, hashing, calls, ...). On entering a segment
with at least its static cost left, that cost is charged at once (fast path);
otherwise the same code runs with a charge before each instruction (metered
path), so running out of gas happens at exactly the instruction where the
per-instruction schedule would run out, and a revert inside a segment reports
exactly the gas that per-instruction charging would leave. The observable gas
is identical to charging instruction by instruction.

Safety. The generated source contains only names made from indexes, integer
literals and fixed templates: no text of the module ever becomes source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import runtime
from .errors import OutOfGas, Revert
from .opcodes import TERMINATORS
from .types import BYTES, int_range, int_type_text
from .verifier import Instr, VerifiedFunction, VerifiedModule

# Placeholder for "gas left if this instruction stops here"; replaced per path.
G = "\x00G\x00"


@dataclass
class _Item:
    """A value on the symbolic stack: an atom (a name or literal) or a pure expression."""

    text: str
    pure_expr: bool = False  # an expression, not a name: evaluate once
    uses_locals: frozenset[int] = frozenset()


@dataclass
class _InstrCode:
    cost: int
    lines: list[str] = field(default_factory=list)
    dynamic: bool = False


class _FunctionTranslator:
    def __init__(self, vm: VerifiedModule, vf: VerifiedFunction):
        self.vm = vm
        self.m = vm.module
        self.vf = vf
        self.f = self.m.functions[vf.index]
        self.temp_count = 0

    # ----------------------------------------------------------------- helpers
    def temp(self) -> str:
        self.temp_count += 1
        return f"t{self.temp_count}"

    def translate(self) -> str:
        f = self.f
        n_params = len(f.params)
        params = "".join(f", l{i}" for i in range(n_params))
        out = [f"def f{self.vf.index}(fr, g{params}):"]
        body = []
        for i, kind in enumerate(f.locals):
            body.append(f"l{n_params + i} = {'b' + repr('') if kind == BYTES else '0'}")
        body.append("tx = fr.tx")
        blocks = self.vf.blocks
        single = len(blocks) == 1
        if not single:
            body.append("b = 0")
            body.append("while True:")
        for blk in blocks:
            lines = self.block_lines(blk)
            if single:
                body.extend(lines)
            else:
                kw = "if" if blk.index == 0 else "elif"
                body.append(f"    {kw} b == {blk.index}:")
                body.extend("        " + ln for ln in lines)
        out.extend("    " + ln for ln in body)
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ blocks
    def block_lines(self, blk) -> list[str]:
        instrs = self.vf.instrs
        entry = self.vf.stacks[blk.start]
        stack = [_Item(f"s{i}") for i in range(len(entry))]
        codes: list[_InstrCode] = []
        tail: list[str] = []
        for i in range(blk.start, blk.end):
            ins = instrs[i]
            code = _InstrCode(ins.op.gas, dynamic=ins.op.dynamic)
            if ins.name in ("JMP", "JMPIF", "JMPIFNOT") or (
                i == blk.end - 1 and ins.name not in TERMINATORS
            ):
                tail = self.block_exit(ins, stack, code, i, blk)
            else:
                self.emit(ins, stack, code)
            codes.append(code)
        lines = self.gas_segments(codes)
        lines.extend(tail)
        return lines

    def block_exit(
        self, ins: Instr, stack: list[_Item], code: _InstrCode, i: int, blk
    ) -> list[str]:
        """The end of a block that continues in another: store the stack, choose the next block."""
        cond = None
        if ins.name in ("JMPIF", "JMPIFNOT"):
            cond = stack.pop()
        elif ins.name != "JMP":
            self.emit(ins, stack, code)  # an ordinary instruction followed by a leader
        # Materialize every stack slot whose symbol is not already its own slot.
        targets, values = [], []
        for pos, item in enumerate(stack):
            if item.text != f"s{pos}":
                targets.append(f"s{pos}")
                values.append(f"int({item.text})" if item.pure_expr else item.text)
        lines = []
        if cond is not None:
            # evaluate the condition before the slots are overwritten
            cvar = self.temp()
            code.lines.append(f"{cvar} = {cond.text}")
            cond = cvar
        if targets:
            code.lines.append(f"{', '.join(targets)} = {', '.join(values)}")
        block_of = self.vf.block_of_offset
        if ins.name == "JMP":
            lines.append(f"b = {block_of[ins.args[0]]}")
        elif cond is not None:
            target = block_of[ins.args[0]]
            fall = block_of[self.vf.instrs[i + 1].offset]
            test = cond if ins.name == "JMPIF" else f"not {cond}"
            lines.append(f"b = {target} if {test} else {fall}")
        else:
            lines.append(f"b = {block_of[self.vf.instrs[i + 1].offset]}")
        lines.append("continue")
        return lines

    def gas_segments(self, codes: list[_InstrCode]) -> list[str]:
        """Fast path (one charge per segment) and metered path (one per instruction)."""
        lines: list[str] = []
        seg: list[_InstrCode] = []
        for code in codes:
            seg.append(code)
            if code.dynamic:
                lines.extend(self.segment(seg))
                seg = []
        if seg:
            lines.extend(self.segment(seg))
        return lines

    def segment(self, seg: list[_InstrCode]) -> list[str]:
        total = sum(c.cost for c in seg)
        if total == 0:
            return [ln.replace(G, "g") for c in seg for ln in c.lines]
        fast, metered = [], []
        remaining = total
        for c in seg:
            remaining -= c.cost
            gas_here = f"(g + {remaining})" if remaining else "g"
            fast.extend(ln.replace(G, gas_here) for ln in c.lines)
            if c.cost:
                metered.append(f"g -= {c.cost}")
                metered.append("if g < 0: raise OutOfGas()")
            metered.extend(ln.replace(G, "g") for ln in c.lines)
        out = [f"if g >= {total}:", f"    g -= {total}"]
        out.extend("    " + ln for ln in fast)
        out.append("else:")
        out.extend("    " + ln for ln in metered)
        return out

    # ------------------------------------------------------------ instructions
    def materialize(self, stack: list[_Item], code: _InstrCode, pred) -> None:
        for pos, item in enumerate(stack):
            if pred(item):
                t = self.temp()
                code.lines.append(
                    f"{t} = int({item.text})" if item.pure_expr else f"{t} = {item.text}"
                )
                stack[pos] = _Item(t)

    def value(self, item: _Item) -> str:
        return item.text

    def push_temp(self, stack: list[_Item], code: _InstrCode, expr: str) -> str:
        t = self.temp()
        code.lines.append(f"{t} = {expr}")
        stack.append(_Item(t))
        return t

    def push_checked(
        self, stack, code, expr: str, type_code: int, what: str = "arithmetic overflow"
    ) -> None:
        lo, hi = int_range(type_code)
        t = self.push_temp(stack, code, expr)
        if lo == 0:
            code.lines.append(f"if {t} < 0 or {t} > {hi}: raise Revert({G}, {what!r})")
        else:
            code.lines.append(f"if {t} < {lo} or {t} > {hi}: raise Revert({G}, {what!r})")

    def pop_atoms(self, stack: list[_Item], n: int, code: _InstrCode) -> list[str]:
        """Pop n operands as texts. Pure expressions are comparisons: Python
        bools, turned into the integers 0 and 1 wherever the value is kept."""
        items = stack[len(stack) - n :]
        del stack[len(stack) - n :]
        return [f"int({it.text})" if it.pure_expr else it.text for it in items]

    def pop_condition(self, stack: list[_Item]) -> str:
        """Pop an operand used only for its truth: a comparison stays a bool."""
        item = stack.pop()
        return f"({item.text})" if item.pure_expr else item.text

    def emit(self, ins: Instr, stack: list[_Item], code: _InstrCode) -> None:
        name = ins.name
        a = ins.args
        L = code.lines
        if name == "CONST":
            c = self.m.constants[a[0]]
            stack.append(_Item(repr(c) if isinstance(c, int) else f"k{a[0]}"))
        elif name == "POP":
            item = stack.pop()
            del item  # pure items have no effects to keep
        elif name == "DUP":
            item = stack[-1 - a[0]]
            if item.pure_expr:
                self.materialize(stack, code, lambda it: it is item)
                item = stack[-1 - a[0]]
            stack.append(item)
        elif name == "SWAP":
            stack[-1], stack[-1 - a[0]] = stack[-1 - a[0]], stack[-1]
        elif name == "LOAD":
            stack.append(_Item(f"l{a[0]}", uses_locals=frozenset([a[0]])))
        elif name == "STORE":
            (v,) = self.pop_atoms(stack, 1, code)
            n = a[0]
            self.materialize(stack, code, lambda it: n in it.uses_locals)
            L.append(f"l{n} = {v}")
        elif name in _ARITH:
            x, y = self.pop_atoms(stack, 2, code)
            self.push_checked(stack, code, _ARITH[name].format(a=x, b=y), a[0])
        elif name == "DIV" or name == "MOD":
            x, y = self.pop_atoms(stack, 2, code)
            L.append(f"if {y} == 0: raise Revert({G}, 'division by zero')")
            sym, helper = ("//", "tdiv") if name == "DIV" else ("%", "tmod")
            self.push_checked(
                stack, code, f"{x} {sym} {y} if {x} >= 0 and {y} > 0 else {helper}({x}, {y})", a[0]
            )
        elif name == "EXP":
            x, y = self.pop_atoms(stack, 2, code)
            self.push_checked(stack, code, f"power({G}, {x}, {y})", a[0])
        elif name == "NEG":
            (x,) = self.pop_atoms(stack, 1, code)
            self.push_checked(stack, code, f"-{x}", a[0])
        elif name == "CAST":
            (x,) = self.pop_atoms(stack, 1, code)
            self.push_checked(stack, code, x, a[0], f"value does not fit {int_type_text(a[0])}")
        elif name in _COMPARE:
            x, y = self.pop_atoms(stack, 2, code)
            stack.append(
                _Item(
                    f"{x} {_COMPARE[name]} {y}", pure_expr=True, uses_locals=self._locals_of(x, y)
                )
            )
        elif name == "NOT":
            x = self.pop_condition(stack)
            stack.append(_Item(f"not {x}", pure_expr=True, uses_locals=self._locals_of(x)))
        elif name in ("AND", "OR"):
            x, y = self.pop_atoms(stack, 2, code)
            op = "&" if name == "AND" else "|"
            stack.append(
                _Item(
                    f"({x} != 0) {op} ({y} != 0)", pure_expr=True, uses_locals=self._locals_of(x, y)
                )
            )
        elif name in ("MIN", "MAX"):
            x, y = self.pop_atoms(stack, 2, code)
            cmp = "<=" if name == "MIN" else ">="
            self.push_temp(stack, code, f"{x} if {x} {cmp} {y} else {y}")
        elif name == "BNOT":
            (x,) = self.pop_atoms(stack, 1, code)
            lo, hi = int_range(a[0])
            self.push_checked(stack, code, f"{x} ^ {hi}" if lo == 0 else f"~{x}", a[0])
        elif name in ("SHL", "SHR"):
            x, y = self.pop_atoms(stack, 2, code)
            self.push_checked(stack, code, f"{name.lower()}({G}, {x}, {y})", a[0])
        elif name == "LEN":
            (x,) = self.pop_atoms(stack, 1, code)
            self.push_temp(stack, code, f"len({x})")
        elif name in _HOST_VALUE:
            method, n_in, extra = _HOST_VALUE[name]
            xs = self.pop_atoms(stack, n_in, code)
            args = ", ".join(xs + [e.format(*a) for e in extra])
            t = self.temp()
            L.append(f"g, {t} = fr.{method}({G}, {args})")
            stack.append(_Item(t))
        elif name in _HOST_PURE:
            method, n_in, extra = _HOST_PURE[name]
            xs = self.pop_atoms(stack, n_in, code)
            args = ", ".join([G] + xs + [e.format(*a) for e in extra])
            self.push_temp(stack, code, f"{method}({args})")
        elif name in _HOST_EFFECT:
            method, n_in, extra = _HOST_EFFECT[name]
            xs = self.pop_atoms(stack, n_in, code)
            L.append(f"g = fr.{method}({', '.join([G] + xs + [e.format(*a) for e in extra])})")
        elif name in _ENV:
            stack.append(_Item(_ENV[name]))
        elif name == "SELFBALANCE":
            self.push_temp(stack, code, "fr.selfbalance()")
        elif name == "CALL":
            callee = self.m.functions[a[0]]
            xs = self.pop_atoms(stack, len(callee.params), code)
            rets = [self.temp() for _ in callee.returns]
            L.append("tx.frames += 1")
            L.append(f"if tx.frames > MAX_FRAMES: raise Revert({G}, 'too many call frames')")
            lhs = ", ".join(["g"] + rets)
            L.append(
                f"{lhs} = f{a[0]}({', '.join(['fr', G] + xs)})"
                if rets
                else f"g = f{a[0]}({', '.join(['fr', G] + xs)})"
            )
            L.append("tx.frames -= 1")
            stack.extend(_Item(r) for r in rets)
        elif name == "XCALL":
            imp = self.m.imports[a[0]]
            xs = self.pop_atoms(stack, 2 + len(imp.params), code)
            rets = [self.temp() for _ in range(len(imp.returns) + a[1])]
            args_tuple = "(" + "".join(f"{x}, " for x in xs[2:]) + ")"
            lhs = ", ".join(["g"] + rets)
            L.append(
                f"{lhs}{',' if not rets else ''} = fr.xcall({G}, {a[0]}, {a[1]}, {xs[0]}, {xs[1]}, {args_tuple})"
            )
            stack.extend(_Item(r) for r in rets)
        elif name == "RET":
            xs = self.pop_atoms(stack, len(self.f.returns), code)
            L.append("return " + ", ".join(["g"] + xs) if xs else "return g")
        elif name == "REVERT":
            (x,) = self.pop_atoms(stack, 1, code)
            L.append(f"raise Revert({G}, reason_text({x}))")
        elif name == "REQUIRE":
            x = self.pop_condition(stack)
            L.append(f"if not {x}: raise Revert({G}, m{a[0]})")
        elif name == "RAISE":
            err = self.m.errors[a[0]]
            xs = self.pop_atoms(stack, len(err.fields), code)
            L.append(f"raise fr.error({G}, {a[0]}, ({''.join(x + ', ' for x in xs)}))")
        elif name == "EMIT":
            ev = self.m.events[a[0]]
            xs = self.pop_atoms(stack, len(ev.fields), code)
            L.append(f"g = fr.emit({G}, {a[0]}, ({''.join(x + ', ' for x in xs)}))")
        else:  # pragma: no cover - every opcode is handled above; a test checks it
            raise AssertionError(f"no translation for {name}")

    @staticmethod
    def _locals_of(*texts: str) -> frozenset[int]:
        out = set()
        for text in texts:
            for tok in text.replace("(", " ").replace(")", " ").split():
                if tok.startswith("l") and tok[1:].isdigit():
                    out.add(int(tok[1:]))
        return frozenset(out)


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
    "BYTEAT": ("byte_at", 2, []),
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
    "TIMESTAMP": "tx.timestamp",
    "ORIGIN": "tx.origin",
}


def translate_source(vm: VerifiedModule) -> str:
    """The Python source of every function of a verified module."""
    return "\n".join(_FunctionTranslator(vm, vf).translate() for vf in vm.functions)


def build_functions(vm: VerifiedModule) -> list:
    """Compile the translated functions; returns them indexed like the module's."""
    source = translate_source(vm)
    namespace = runtime.namespace()
    namespace.update({"Revert": Revert, "OutOfGas": OutOfGas})
    for i, c in enumerate(vm.module.constants):
        if isinstance(c, bytes):
            namespace[f"k{i}"] = c
            namespace[f"m{i}"] = c.decode("utf-8", "replace")
    code = compile(source, f"<deed module {vm.module.module_id.hex()[:16]}>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from fixed templates and indexes only
    return [namespace[f"f{i}"] for i in range(len(vm.functions))]
