"""Lowering: a verified function becomes the text of an LLVM IR function.

This module only writes text (it does not import llvmlite), so the IR of any
function can be shown and tested on a node without the ``jit`` extra.

Which functions. Every verified function up to
:data:`MAX_NATIVE_INSTRUCTIONS` instructions whose integer constants fit
``i128`` (:func:`unsupported` says why another is not). Integer instructions
are lowered inline (:data:`LOWERINGS`); every instruction that needs the host
(bytes, storage, hashing, events, errors, internal and external calls, the
environment, ``EXP``) becomes a *host site*: the native code stores the
operands in a buffer and calls back into Python (:mod:`.host`), which runs the
same :class:`~deed.vm.execution.Frame` methods as the other engines.

Values. Every VM integer lives in an ``i128``, which holds every value of
the types up to ``u127``/``i128`` and the everyday values of the wider ones.
Each instruction computes the exact mathematical result or, when the result
(or an operand) leaves the ``i128`` range, stops with status *deopt*; the
caller then undoes whatever the call did through the host (state writes,
events, memory, warm entries) and runs the whole call again on the
translating engine, so a deopt costs the node time and never changes a
result or the gas. The type check of the instruction (``u256``, ``i8``, ...)
is then a comparison of the exact result with the type's bounds, reverting
like every other engine. A byte string is a *handle*: an index into the
call's table of byte values, which only the host reads (constant ``k`` is
handle ``k``; :func:`empty_handle` is ``b""``).

Calling convention (numba's, see ``../shared/design/engines.md``): the native
function is ``i32 f(i64* gas, i64* io, i64* aux, i64* buffer, host)``;
``gas`` holds the gas left in and out, ``io`` the parameters in and the
results out (two words each, little endian), ``aux[0]`` the index of a
revert's reason. A host site stores its operands in ``buffer`` and the gas
left in ``gas``, and calls ``i32 host(i32 site)``, which reads them, writes
the results and the gas back in the same places, and returns a status too
(the caller allocated both, so the host knows them without passing pointers:
a callback with one integer argument is the cheapest ctypes crossing).
The status is one of :class:`Status`; nothing unwinds through native frames:
an exception raised by the host is kept by the host and the status says so.

Gas. Like the translating engine: a block pays the static cost of its
instructions at its end, a revert inside it reports ``gas - cost so far``
(negative: the caller turns it into out of gas), and the block's end stops
with *out of gas* when the gas went below zero. The observable gas is the
per-instruction schedule's to the unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ..module import Module
from ..types import BYTES, int_range, int_type_text
from ..verifier import Block, Instr, VerifiedFunction, VerifiedModule, stack_stepper

#: Functions longer than this stay translated (bounds the time one compile takes).
MAX_NATIVE_INSTRUCTIONS = 10_000
#: Functions with more basic blocks stay translated: LLVM's optimiser takes
#: time quadratic in the blocks of a function (about 8 us x blocks squared).
MAX_NATIVE_BLOCKS = 256
I128_MIN = -(1 << 127)
I128_MAX = (1 << 127) - 1
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1


class Status(IntEnum):
    """What a native function returns (never an exception)."""

    OK = 0
    REVERT = 1  # gas in *gas (may be negative: out of gas), reason index in aux[0]
    OUT_OF_GAS = 2
    DEOPT = 3  # a value left the i128 range: run the call on the translating engine
    HOST = 4  # the host raised (revert, out of gas, ...): the host holds the exception


@dataclass(frozen=True)
class HostSite:
    """An instruction that native code hands to the host."""

    op: str
    args: tuple[int, ...]
    operands: tuple[str, ...]  # kinds popped, deepest first
    results: tuple[str, ...]  # kinds pushed
    offset: int
    cost: int = 0  # static gas of the instruction (host work, not native work)


@dataclass(frozen=True)
class LoweredFunction:
    """The IR of one function and what its caller needs to read the results."""

    index: int
    symbol: str
    ir: str
    n_params: int
    n_returns: int
    reasons: tuple[str, ...]  # revert reasons by index (aux[0])
    instructions: int  # reachable instructions: the measure of compile work
    params: tuple[str, ...] = ()  # kinds of the parameters
    returns: tuple[str, ...] = ()  # kinds of the results
    sites: tuple[HostSite, ...] = ()  # host sites by index
    buffer_words: int = 2  # 64-bit words of the host operand buffer


def empty_handle(module: Module) -> int:
    """The handle of ``b""`` (the initial value of bytes locals)."""
    return len(module.constants)


def unsupported(vm: VerifiedModule, index: int) -> str | None:
    """Why function ``index`` is not lowered (None when it is)."""
    m = vm.module
    vf = vm.functions[index]
    size = sum(b.end - b.start for b in vf.blocks)
    if size > MAX_NATIVE_INSTRUCTIONS:
        return f"{size} instructions: more than {MAX_NATIVE_INSTRUCTIONS} are not compiled"
    if len(vf.blocks) > MAX_NATIVE_BLOCKS:
        return f"{len(vf.blocks)} basic blocks: more than {MAX_NATIVE_BLOCKS} are not compiled"
    for blk in vf.blocks:
        for i in range(blk.start, blk.end):
            ins = vf.instrs[i]
            if ins.op.name == "CONST":
                c = m.constants[ins.args[0]]
                if isinstance(c, int) and not I128_MIN <= c <= I128_MAX:
                    return f"constant at offset {ins.offset} does not fit 128 bits"
    return None


def has_loop(vf: VerifiedFunction) -> bool:
    """Whether some jump goes back (only such functions gain from native code:
    a call across the native boundary costs about a microsecond)."""
    return any(s <= blk.index for blk in vf.blocks for s in blk.successors)


def lower(vm: VerifiedModule, index: int) -> LoweredFunction:
    """The IR of function ``index`` (call :func:`unsupported` first)."""
    why = unsupported(vm, index)
    if why is not None:
        raise ValueError(f"function {index} cannot be lowered: {why}")
    return _Lowering(vm, vm.functions[index]).run()


# ------------------------------------------------------------------ lowering


@dataclass
class _Out:
    lines: list[str] = field(default_factory=list)
    n: int = 0

    def name(self, hint: str = "v") -> str:
        self.n += 1
        return f"%{hint}{self.n}"

    def label(self, hint: str) -> str:
        self.n += 1
        return f"{hint}{self.n}"

    def emit(self, text: str) -> None:
        self.lines.append("  " + text)

    def start(self, label: str) -> None:
        self.lines.append(f"{label}:")


class _Lowering:
    def __init__(self, vm: VerifiedModule, vf: VerifiedFunction):
        self.m: Module = vm.module
        self.vf = vf
        self.f = self.m.functions[vf.index]
        self.out = _Out()
        self.reasons: dict[str, int] = {}
        self.block_at_instr = {b.start: b for b in vf.blocks}
        self.gas = ""  # SSA name of the gas at the current block's start (or last host call)
        self.cost = 0  # static cost since then
        self.kinds: list[str] = []  # kinds of the stack slots (the verifier's view)
        self.step = stack_stepper(self.m, vf.index)
        self.sites: list[HostSite] = []
        self.at = 0  # index of the instruction being lowered

    # ---------------------------------------------------------------- layout
    def run(self) -> LoweredFunction:
        f, vf, o = self.f, self.vf, self.out
        n_params, n_locals = len(f.params), len(f.all_locals)
        o.start("entry")
        o.emit("%io128 = bitcast i64* %io to i128*")
        for n in range(n_locals):
            o.emit(f"%l{n} = alloca i128")
        for n in range(vf.max_height):
            o.emit(f"%s{n} = alloca i128")
        o.emit("%g = alloca i64")
        o.emit("%hb = bitcast i64* %hbw to i128*")
        o.emit("%g.in = load i64, i64* %gp")
        o.emit("store i64 %g.in, i64* %g")
        empty = empty_handle(self.m)
        for n, kind in enumerate(f.all_locals):
            if n < n_params:
                p = o.name("p")
                o.emit(f"{p} = getelementptr i128, i128* %io128, i64 {n}")
                v = o.name()
                o.emit(f"{v} = load i128, i128* {p}, align 8")
                o.emit(f"store i128 {v}, i128* %l{n}")
            else:
                o.emit(f"store i128 {empty if kind == BYTES else 0}, i128* %l{n}")
        o.emit("br label %b0")
        for blk in vf.blocks:
            self.block(blk)
        o.start("deopt")
        o.emit(f"ret i32 {int(Status.DEOPT)}")
        o.start("oog")
        o.emit(f"ret i32 {int(Status.OUT_OF_GAS)}")
        symbol = f"deed_f{vf.index}"
        header = (
            f"define i32 @{symbol}(i64* %gp, i64* noalias %io, i64* noalias %aux, i64* %hbw, "
            f"{_HOST_TYPE}* %host) {{"
        )
        ir = "\n".join([header, *o.lines, "}", "", *_DECLARATIONS]) + "\n"
        reasons = tuple(sorted(self.reasons, key=self.reasons.__getitem__))
        return LoweredFunction(
            index=vf.index,
            symbol=symbol,
            ir=ir,
            n_params=n_params,
            n_returns=len(f.returns),
            reasons=reasons,
            instructions=sum(b.end - b.start for b in vf.blocks),
            params=tuple(f.params),
            returns=tuple(f.returns),
            sites=tuple(self.sites),
            buffer_words=2 * self.buffer_slots(),
        )

    def buffer_slots(self) -> int:
        """Values the host buffer holds: operands and results both fit the stack."""
        return max(self.vf.max_height, 1)

    def block(self, blk: Block) -> None:
        o = self.out
        o.start(f"b{blk.index}")
        self.gas = o.name("g")
        o.emit(f"{self.gas} = load i64, i64* %g")
        self.cost = 0
        stack: list[str] = []
        for pos in range(len(blk.entry_stack)):
            v = o.name()
            o.emit(f"{v} = load i128, i128* %s{pos}")
            stack.append(v)
        self.kinds = list(blk.entry_stack)
        for i in range(blk.start, blk.end):
            ins = self.vf.instrs[i]
            self.at = i
            self.cost += self.vf.costs[i]
            if i == blk.end - 1:
                self.block_end(blk, ins, stack)
            else:
                self.instruction(ins, stack)

    def instruction(self, ins: Instr, stack: list[str]) -> None:
        """Lower one instruction inline or as a host site, and follow the kinds."""
        lowering = LOWERINGS.get(ins.op.name)
        if lowering is None or (ins.op.name in ("EQ", "NE") and self.kinds[-1] == BYTES):
            self.host(ins, stack)
            if ins.op.name == "EXP":  # the host computes the power, the type is checked here
                self.check_range(stack[-1], ins.args[0], _OVERFLOW)
        else:
            lowering(self, ins, stack)
        self.step(ins, self.kinds)

    def host(self, ins: Instr, stack: list[str]) -> str:
        """Hand ``ins`` to the host: operands to the buffer, the gas left at
        this instruction (its own cost paid) to ``*gas``, then the results
        and the gas the host left. Returns the host's status (an i32)."""
        o = self.out
        after = list(self.kinds)
        self.step(ins, after)
        n_in = _operand_count(self.m, ins)
        operands = tuple(self.kinds[len(self.kinds) - n_in :])
        results = tuple(after[len(self.kinds) - n_in :])
        site = len(self.sites)
        cost = self.vf.costs[self.at]
        self.sites.append(
            HostSite(ins.op.name, tuple(ins.args), operands, results, ins.offset, cost)
        )
        values = stack[len(stack) - n_in :]
        del stack[len(stack) - n_in :]
        for k, v in enumerate(values):
            p = o.name("p")
            o.emit(f"{p} = getelementptr i128, i128* %hb, i64 {k}")
            o.emit(f"store i128 {v}, i128* {p}, align 8")
        left = o.name("g")
        o.emit(f"{left} = sub i64 {self.gas}, {self.cost}")
        o.emit(f"store i64 {left}, i64* %gp")
        status, failed = o.name("st"), o.name("c")
        o.emit(f"{status} = call i32 %host(i32 {site})  ; {ins.op.name} at offset {ins.offset}")
        o.emit(f"{failed} = icmp ne i32 {status}, 0")
        stop, go = o.label("hostfail"), o.label("hostok")
        o.emit(f"br i1 {failed}, label %{stop}, label %{go}")
        o.start(stop)
        o.emit(f"ret i32 {status}")
        o.start(go)
        for k in range(len(results)):
            p, v = o.name("p"), o.name()
            o.emit(f"{p} = getelementptr i128, i128* %hb, i64 {k}")
            o.emit(f"{v} = load i128, i128* {p}, align 8")
            stack.append(v)
        self.gas = o.name("g")
        o.emit(f"{self.gas} = load i64, i64* %gp")
        o.emit(f"store i64 {self.gas}, i64* %g")
        self.cost = 0
        return status

    def charge_block(self) -> None:
        """Subtract the block's cost; below zero is out of gas."""
        o = self.out
        left = o.name("g")
        o.emit(f"{left} = sub i64 {self.gas}, {self.cost}")
        o.emit(f"store i64 {left}, i64* %g")
        neg = o.name("c")
        o.emit(f"{neg} = icmp slt i64 {left}, 0")
        ok = o.label("paid")
        o.emit(f"br i1 {neg}, label %oog, label %{ok}")
        o.start(ok)

    def store_stack(self, stack: list[str]) -> None:
        for pos, v in enumerate(stack):
            self.out.emit(f"store i128 {v}, i128* %s{pos}")

    def block_end(self, blk: Block, ins: Instr, stack: list[str]) -> None:
        o = self.out
        name = ins.op.name
        fall = f"b{blk.index + 1}" if blk.end in self.block_at_instr else None
        if name == "JMP":
            self.charge_block()
            self.store_stack(stack)
            o.emit(f"br label %b{self.vf.block_of_offset[ins.args[0]]}")
            return
        if name in ("JMPIF", "JMPIFNOT"):
            cond = stack.pop()
            self.charge_block()
            self.store_stack(stack)
            t = o.name("c")
            o.emit(f"{t} = icmp {'ne' if name == 'JMPIF' else 'eq'} i128 {cond}, 0")
            o.emit(f"br i1 {t}, label %b{self.vf.block_of_offset[ins.args[0]]}, label %{fall}")
            return
        if name in ("REVERT", "RAISE"):  # the host raises: its status is the outcome
            self.host(ins, stack)
            o.emit(f"ret i32 {int(Status.HOST)}")
            return
        if name == "RET":
            n = len(self.f.returns)
            results = stack[len(stack) - n :]
            self.charge_block()
            for k, v in enumerate(results):
                p = o.name("p")
                o.emit(f"{p} = getelementptr i128, i128* %io128, i64 {k}")
                o.emit(f"store i128 {v}, i128* {p}, align 8")
            o.emit(f"store i64 {self._gas_now()}, i64* %gp")
            o.emit(f"ret i32 {int(Status.OK)}")
            return
        self.instruction(ins, stack)
        # an ordinary instruction that runs into the next block
        self.charge_block()
        self.store_stack(stack)
        o.emit(f"br label %{fall}")

    def _gas_now(self) -> str:
        v = self.out.name("g")
        self.out.emit(f"{v} = load i64, i64* %g")
        return v

    # ------------------------------------------------------------- helpers
    def reason(self, text: str) -> int:
        return self.reasons.setdefault(text, len(self.reasons))

    def revert_if(self, cond: str, reason: str) -> None:
        """Stop with a revert (reason by index) when ``cond`` (an i1) holds."""
        o = self.out
        stop, go = o.label("rv"), o.label("ok")
        o.emit(f"br i1 {cond}, label %{stop}, label %{go}")
        o.start(stop)
        left = o.name("g")
        o.emit(f"{left} = sub i64 {self.gas}, {self.cost}")
        o.emit(f"store i64 {left}, i64* %gp")
        o.emit(f"store i64 {self.reason(reason)}, i64* %aux")
        o.emit(f"ret i32 {int(Status.REVERT)}")
        o.start(go)

    def deopt_if(self, cond: str) -> None:
        o = self.out
        go = o.label("ok")
        o.emit(f"br i1 {cond}, label %deopt, label %{go}")
        o.start(go)

    def check_range(self, v: str, type_code: int, reason: str) -> None:
        """Revert unless the exact value ``v`` fits the integer type."""
        lo, hi = int_range(type_code)
        o = self.out
        tests = []
        if lo > I128_MIN:
            t = o.name("c")
            o.emit(f"{t} = icmp slt i128 {v}, {lo}")
            tests.append(t)
        if hi < I128_MAX:
            t = o.name("c")
            o.emit(f"{t} = icmp sgt i128 {v}, {hi}")
            tests.append(t)
        if not tests:
            return
        cond = tests[0]
        if len(tests) == 2:
            cond = o.name("c")
            o.emit(f"{cond} = or i1 {tests[0]}, {tests[1]}")
        self.revert_if(cond, reason)

    def with_overflow(self, op: str, x: str, y: str) -> str:
        """``x op y`` in i128, deopting when the exact result does not fit."""
        o = self.out
        pair, r, ovf = o.name("w"), o.name(), o.name("c")
        o.emit(f"{pair} = call {{i128, i1}} @llvm.{op}.with.overflow.i128(i128 {x}, i128 {y})")
        o.emit(f"{r} = extractvalue {{i128, i1}} {pair}, 0")
        o.emit(f"{ovf} = extractvalue {{i128, i1}} {pair}, 1")
        self.deopt_if(ovf)
        return r

    def multiply(self, x: str, y: str) -> str:
        """``x * y``: one machine multiply when both operands and the product
        fit 64 bits, else the 128-bit multiply (deopting when that overflows)."""
        o = self.out
        fx, fy = self.fits64(x), self.fits64(y)
        both = o.name("c")
        o.emit(f"{both} = and i1 {fx}, {fy}")
        small, wide, done, small_ok = (
            o.label("mul64"),
            o.label("mul128"),
            o.label("mul"),
            o.label("m"),
        )
        o.emit(f"br i1 {both}, label %{small}, label %{wide}")
        o.start(small)
        x64, y64, pair, r64, ovf, r_small = (
            o.name(),
            o.name(),
            o.name("w"),
            o.name(),
            o.name("c"),
            o.name(),
        )
        o.emit(f"{x64} = trunc i128 {x} to i64")
        o.emit(f"{y64} = trunc i128 {y} to i64")
        o.emit(f"{pair} = call {{i64, i1}} @llvm.smul.with.overflow.i64(i64 {x64}, i64 {y64})")
        o.emit(f"{r64} = extractvalue {{i64, i1}} {pair}, 0")
        o.emit(f"{ovf} = extractvalue {{i64, i1}} {pair}, 1")
        o.emit(f"br i1 {ovf}, label %{wide}, label %{small_ok}")
        o.start(small_ok)
        o.emit(f"{r_small} = sext i64 {r64} to i128")
        o.emit(f"br label %{done}")
        o.start(wide)
        r_wide = self.with_overflow("smul", x, y)
        wide_end = self._current_label()
        o.emit(f"br label %{done}")
        o.start(done)
        r = o.name()
        o.emit(f"{r} = phi i128 [{r_small}, %{small_ok}], [{r_wide}, %{wide_end}]")
        return r

    def _current_label(self) -> str:
        for line in reversed(self.out.lines):
            if line.endswith(":") and not line.startswith(" "):
                return line[:-1]
        raise AssertionError("no block label")

    def fits64(self, v: str) -> str:
        o = self.out
        t, back, c = o.name(), o.name(), o.name("c")
        o.emit(f"{t} = trunc i128 {v} to i64")
        o.emit(f"{back} = sext i64 {t} to i128")
        o.emit(f"{c} = icmp eq i128 {back}, {v}")
        return c

    def bool_value(self, cond: str) -> str:
        v = self.out.name()
        self.out.emit(f"{v} = zext i1 {cond} to i128")
        return v

    # -------------------------------------------------------- instructions
    def _const(self, ins: Instr, stack: list[str]) -> None:
        c = self.m.constants[ins.args[0]]
        stack.append(str(c if isinstance(c, int) else ins.args[0]))  # bytes: its handle

    def _pop(self, ins: Instr, stack: list[str]) -> None:
        stack.pop()

    def _dup(self, ins: Instr, stack: list[str]) -> None:
        stack.append(stack[-1 - ins.args[0]])

    def _swap(self, ins: Instr, stack: list[str]) -> None:
        i, j = len(stack) - 1, len(stack) - 1 - ins.args[0]
        stack[i], stack[j] = stack[j], stack[i]

    def _load(self, ins: Instr, stack: list[str]) -> None:
        v = self.out.name()
        self.out.emit(f"{v} = load i128, i128* %l{ins.args[0]}")
        stack.append(v)

    def _store(self, ins: Instr, stack: list[str]) -> None:
        self.out.emit(f"store i128 {stack.pop()}, i128* %l{ins.args[0]}")

    def _arith(self, ins: Instr, stack: list[str]) -> None:
        y, x = stack.pop(), stack.pop()
        name = ins.op.name
        if name == "MUL":
            r = self.multiply(x, y)
        elif name in _CHECKED:
            r = self.with_overflow(_CHECKED[name], x, y)
        else:
            r = self.out.name()
            self.out.emit(f"{r} = {_BITWISE[name]} i128 {x}, {y}")
        self.check_range(r, ins.args[0], _OVERFLOW)
        stack.append(r)

    def _neg(self, ins: Instr, stack: list[str]) -> None:
        r = self.with_overflow("ssub", "0", stack.pop())
        self.check_range(r, ins.args[0], _OVERFLOW)
        stack.append(r)

    def _cast(self, ins: Instr, stack: list[str]) -> None:
        v = stack[-1]
        self.check_range(v, ins.args[0], f"value does not fit {int_type_text(ins.args[0])}")

    def _bnot(self, ins: Instr, stack: list[str]) -> None:
        x = stack.pop()
        lo, hi = int_range(ins.args[0])
        o = self.out
        r = o.name()
        if lo < 0:
            o.emit(f"{r} = xor i128 {x}, -1")
        else:
            if hi > I128_MAX:  # the complement of a small value needs the wide path
                self.deopt_if("true")
            o.emit(f"{r} = xor i128 {x}, {min(hi, I128_MAX)}")
        self.check_range(r, ins.args[0], _OVERFLOW)
        stack.append(r)

    def _divmod(self, ins: Instr, stack: list[str]) -> None:
        """Truncating division and its remainder (the sign of the dividend).
        Fast paths: both operands fit 64 bits (one machine instruction), or a
        non-negative dividend and a power-of-two divisor (a shift or a mask);
        everything else deopts."""
        y, x = stack.pop(), stack.pop()
        o = self.out
        is_div = ins.op.name == "DIV"
        zero = o.name("c")
        o.emit(f"{zero} = icmp eq i128 {y}, 0")
        self.revert_if(zero, "division by zero")
        # a power-of-two divisor and a non-negative dividend
        ym1, band, pow2, ypos, xpos = (o.name(), o.name(), o.name("c"), o.name("c"), o.name("c"))
        o.emit(f"{ym1} = sub i128 {y}, 1")
        o.emit(f"{band} = and i128 {y}, {ym1}")
        o.emit(f"{pow2} = icmp eq i128 {band}, 0")
        o.emit(f"{ypos} = icmp sgt i128 {y}, 0")
        o.emit(f"{xpos} = icmp sge i128 {x}, 0")
        a1, shift_ok = o.name("c"), o.name("c")
        o.emit(f"{a1} = and i1 {pow2}, {ypos}")
        o.emit(f"{shift_ok} = and i1 {a1}, {xpos}")
        if is_div:
            tz, fast_pow = o.name(), o.name()
            o.emit(f"{tz} = call i128 @llvm.cttz.i128(i128 {y}, i1 false)")
            o.emit(f"{fast_pow} = lshr i128 {x}, {tz}")
        else:
            fast_pow = o.name()
            o.emit(f"{fast_pow} = and i128 {x}, {ym1}")
        # both operands in 64 bits (INT64_MIN / -1 overflows the machine instruction)
        fx, fy = self.fits64(x), self.fits64(y)
        xmin, small, b1 = o.name("c"), o.name("c"), o.name("c")
        o.emit(f"{xmin} = icmp eq i128 {x}, {I64_MIN}")
        o.emit(f"{b1} = and i1 {fx}, {fy}")
        nmin = o.name("c")
        o.emit(f"{nmin} = xor i1 {xmin}, true")
        o.emit(f"{small} = and i1 {b1}, {nmin}")
        pow_label, small_label, done_label = o.label("pow"), o.label("small"), o.label("dm")
        try_small = o.label("trysmall")
        o.emit(f"br i1 {shift_ok}, label %{pow_label}, label %{try_small}")
        o.start(try_small)
        o.emit(f"br i1 {small}, label %{small_label}, label %deopt")
        o.start(small_label)
        x64, y64, r64, r_small = o.name(), o.name(), o.name(), o.name()
        o.emit(f"{x64} = trunc i128 {x} to i64")
        o.emit(f"{y64} = trunc i128 {y} to i64")
        o.emit(f"{r64} = {'sdiv' if is_div else 'srem'} i64 {x64}, {y64}")
        o.emit(f"{r_small} = sext i64 {r64} to i128")
        o.emit(f"br label %{done_label}")
        o.start(pow_label)
        o.emit(f"br label %{done_label}")
        o.start(done_label)
        r = o.name()
        o.emit(f"{r} = phi i128 [{r_small}, %{small_label}], [{fast_pow}, %{pow_label}]")
        self.check_range(r, ins.args[0], _OVERFLOW)
        stack.append(r)

    def _shift(self, ins: Instr, stack: list[str]) -> None:
        """Shifts by 0..126 inline (a left shift deopts when it loses bits); others deopt."""
        y, x = stack.pop(), stack.pop()
        o = self.out
        bad = o.name("c")
        o.emit(f"{bad} = icmp ugt i128 {y}, 126")  # also catches negative counts
        self.deopt_if(bad)
        r = o.name()
        if ins.op.name == "SHL":
            back, lost = o.name(), o.name("c")
            o.emit(f"{r} = shl i128 {x}, {y}")
            o.emit(f"{back} = ashr i128 {r}, {y}")
            o.emit(f"{lost} = icmp ne i128 {back}, {x}")
            self.deopt_if(lost)
        else:
            o.emit(f"{r} = ashr i128 {x}, {y}")
        self.check_range(r, ins.args[0], _OVERFLOW)
        stack.append(r)

    def _compare(self, ins: Instr, stack: list[str]) -> None:
        y, x = stack.pop(), stack.pop()
        c = self.out.name("c")
        self.out.emit(f"{c} = icmp {_COMPARE[ins.op.name]} i128 {x}, {y}")
        stack.append(self.bool_value(c))

    def _not(self, ins: Instr, stack: list[str]) -> None:
        c = self.out.name("c")
        self.out.emit(f"{c} = icmp eq i128 {stack.pop()}, 0")
        stack.append(self.bool_value(c))

    def _and_or(self, ins: Instr, stack: list[str]) -> None:
        y, x = stack.pop(), stack.pop()
        o = self.out
        cx, cy, c = o.name("c"), o.name("c"), o.name("c")
        o.emit(f"{cx} = icmp ne i128 {x}, 0")
        o.emit(f"{cy} = icmp ne i128 {y}, 0")
        o.emit(f"{c} = {'and' if ins.op.name == 'AND' else 'or'} i1 {cx}, {cy}")
        stack.append(self.bool_value(c))

    def _min_max(self, ins: Instr, stack: list[str]) -> None:
        y, x = stack.pop(), stack.pop()
        o = self.out
        c, r = o.name("c"), o.name()
        o.emit(f"{c} = icmp {'sle' if ins.op.name == 'MIN' else 'sge'} i128 {x}, {y}")
        o.emit(f"{r} = select i1 {c}, i128 {x}, i128 {y}")
        stack.append(r)

    def _require(self, ins: Instr, stack: list[str]) -> None:
        c = self.out.name("c")
        self.out.emit(f"{c} = icmp eq i128 {stack.pop()}, 0")
        message = self.m.constants[ins.args[0]]
        self.revert_if(c, message.decode("utf-8", "replace"))


_OVERFLOW = "arithmetic overflow"
_CHECKED = {"ADD": "sadd", "SUB": "ssub", "MUL": "smul"}
_BITWISE = {"BAND": "and", "BOR": "or", "BXOR": "xor"}
_COMPARE = {"LT": "slt", "GT": "sgt", "LE": "sle", "GE": "sge", "EQ": "eq", "NE": "ne"}
_DECLARATIONS = [
    *(
        f"declare {{i128, i1}} @llvm.{op}.with.overflow.i128(i128, i128)"
        for op in _CHECKED.values()
    ),
    "declare {i64, i1} @llvm.smul.with.overflow.i64(i64, i64)",
    "declare i128 @llvm.cttz.i128(i128, i1)",
]

_HOST_TYPE = "i32 (i32)"


def _operand_count(m: Module, ins: Instr) -> int:
    """Values an instruction pops (from the table, or from what its immediate names)."""
    name = ins.op.name
    if name == "CALL":
        return len(m.functions[ins.args[0]].params)
    if name == "XCALL":
        return 2 + len(m.imports[ins.args[0]].params)
    if name == "EMIT":
        return len(m.events[ins.args[0]].fields)
    if name == "RAISE":
        return len(m.errors[ins.args[0]].fields)
    if "*" in ins.op.pops:
        raise AssertionError(f"no operand count for {name}")
    return len(ins.op.pops)


L = _Lowering
#: Instruction name -> how it is lowered (block ends are handled in block_end).
LOWERINGS = {
    "CONST": L._const,
    "POP": L._pop,
    "DUP": L._dup,
    "SWAP": L._swap,
    "LOAD": L._load,
    "STORE": L._store,
    **{name: L._arith for name in (*_CHECKED, *_BITWISE)},
    "NEG": L._neg,
    "CAST": L._cast,
    "BNOT": L._bnot,
    "DIV": L._divmod,
    "MOD": L._divmod,
    "SHL": L._shift,
    "SHR": L._shift,
    **{name: L._compare for name in _COMPARE},
    "NOT": L._not,
    "AND": L._and_or,
    "OR": L._and_or,
    "MIN": L._min_max,
    "MAX": L._min_max,
    "REQUIRE": L._require,
    "JMP": None,
    "JMPIF": None,
    "JMPIFNOT": None,
    "RET": None,
}
del L
