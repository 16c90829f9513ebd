"""The reference interpreter: one instruction at a time, gas charged per
instruction, an explicit operand stack.

It is slow and meant to be obviously right: it defines the semantics that
the translating engine (:mod:`deed.vm.translate`) and any JIT must match in
results and gas, and the differential tests run them side by side. Each
instruction's meaning is one small handler in :data:`HANDLERS` (a registry
keyed by opcode name, checked against the opcode table by a test); a
function is prepared once per module (handlers, resolved jump targets and
the static gas of each instruction from the verifier), so every instruction
costs one table lookup whatever the function's size. Host effects (storage,
hashing, events, calls) go through the same :class:`~deed.vm.execution.Frame`
methods as the other engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import OutOfGas, revert
from .opcodes import LIMITS
from .runtime import byte_at, bytes_to_int, power, reason_text, shl, shr, tdiv, tmod
from .types import BYTES, int_range, int_type_text
from .verifier import Instr, VerifiedFunction, VerifiedModule


class _Run:
    """The state of one function call: what the handlers read and change."""

    __slots__ = (
        "fr",
        "tx",
        "module",
        "functions",
        "stack",
        "local",
        "g",
        "pc",
        "result",
        "returns",
    )

    def __init__(self, fr, module, functions, local: list, returns: bool):
        self.fr = fr
        self.tx = fr.tx
        self.module = module
        self.functions = functions
        self.stack: list = []
        self.local = local
        self.g = 0
        self.pc = 0
        self.result = None
        self.returns = returns


Handler = Callable[[_Run, tuple], bool | None]  # True: the function returned


@dataclass(frozen=True)
class _Prepared:
    """A function ready to interpret: per instruction, its handler, its
    arguments (jump targets as instruction indexes) and its static gas."""

    code: tuple[tuple[Handler, tuple], ...]
    costs: tuple[int, ...]
    defaults: tuple[int | bytes, ...]  # initial values of the non-parameter locals
    returns: bool


def reference_functions(vm: VerifiedModule) -> list:
    """Callables with the same signature as translated functions. Each
    function is prepared when it first runs (a module's other functions cost
    nothing until then)."""
    functions: list = []
    m = vm.module

    def make(vf: VerifiedFunction):
        prepared: list[_Prepared] = []

        def run(fr, g, *args):
            if not prepared:
                prepared.append(_prepare(vm, vf))
            return _interpret(prepared[0], m, functions, fr, g, args)

        return run

    functions.extend(make(vf) for vf in vm.functions)
    return functions


def _prepare(vm: VerifiedModule, vf: VerifiedFunction) -> _Prepared:
    m = vm.module
    f = m.functions[vf.index]
    pc_of = {ins.offset: i for i, ins in enumerate(vf.instrs)}
    reachable = [False] * len(vf.instrs)  # unreachable code never runs: its immediates
    for b in vf.blocks:  # were not checked, so it is not prepared either
        reachable[b.start : b.end] = [True] * (b.end - b.start)
    code = tuple(
        (HANDLERS[ins.op.name], _arguments(vm, ins, pc_of)) if live else (_unreachable, ())
        for ins, live in zip(vf.instrs, reachable, strict=True)
    )
    defaults = tuple(b"" if k == BYTES else 0 for k in f.locals)
    return _Prepared(code, vf.costs, defaults, bool(f.returns))


def _arguments(vm: VerifiedModule, ins: Instr, pc_of: dict[int, int]) -> tuple:
    """An instruction's immediates as its handler wants them."""
    m = vm.module
    name, a = ins.op.name, ins.args
    if name in ("JMP", "JMPIF", "JMPIFNOT"):
        return (pc_of[a[0]],)
    if name == "CONST":
        return (m.constants[a[0]],)
    if name in ("SLOADB", "SSTOREB"):
        return (m.constants[a[0]],)
    if name == "REQUIRE":
        return (m.constants[a[0]].decode("utf-8", "replace"),)
    if "t" in ins.op.immediates and name != "B2I":
        lo, hi = int_range(a[0])
        return (lo, hi, a[0])
    return a


def _interpret(prepared: _Prepared, module, functions: list, fr, g: int, args: tuple):
    run = _Run(fr, module, functions, list(args) + list(prepared.defaults), prepared.returns)
    code = prepared.code
    costs = prepared.costs
    pc = 0
    while True:
        g -= costs[pc]
        if g < 0:
            raise OutOfGas()
        handler, a = code[pc]
        run.g = g
        run.pc = pc + 1
        if handler(run, a):
            return run.result
        g = run.g
        pc = run.pc


# --------------------------------------------------------------------------- handlers


def _checked(run: _Run, value: int, lo: int, hi: int, what: str = "arithmetic overflow") -> None:
    if not lo <= value <= hi:
        raise revert(run.g, what)
    run.stack.append(value)


def _pop2(run: _Run) -> tuple:
    b = run.stack.pop()
    return run.stack.pop(), b


def _pop_n(run: _Run, n: int) -> tuple:
    stack = run.stack
    if not n:
        return ()
    values = tuple(stack[len(stack) - n :])
    del stack[len(stack) - n :]
    return values


def _unreachable(run, a):  # pragma: no cover - the verifier proves it never runs
    raise AssertionError("unreachable code ran")


def _const(run, a):
    run.stack.append(a[0])


def _pop(run, a):
    run.stack.pop()


def _dup(run, a):
    run.stack.append(run.stack[-1 - a[0]])


def _swap(run, a):
    s = run.stack
    s[-1], s[-1 - a[0]] = s[-1 - a[0]], s[-1]


def _load(run, a):
    run.stack.append(run.local[a[0]])


def _store(run, a):
    run.local[a[0]] = run.stack.pop()


def _binary(fn):
    def handler(run, a):
        x, y = _pop2(run)
        _checked(run, fn(x, y), a[0], a[1])

    return handler


def _divmod(fn):
    def handler(run, a):
        x, y = _pop2(run)
        if y == 0:
            raise revert(run.g, "division by zero")
        _checked(run, fn(x, y), a[0], a[1])

    return handler


def _gas_binary(fn):
    """EXP and shifts: their helpers may revert before computing (they take the gas)."""

    def handler(run, a):
        x, y = _pop2(run)
        _checked(run, fn(run.g, x, y), a[0], a[1])

    return handler


def _neg(run, a):
    _checked(run, -run.stack.pop(), a[0], a[1])


def _cast(run, a):
    _checked(run, run.stack.pop(), a[0], a[1], f"value does not fit {int_type_text(a[2])}")


def _bnot(run, a):
    lo, hi = a[0], a[1]
    x = run.stack.pop()
    _checked(run, x ^ hi if lo == 0 else ~x, lo, hi)


def _compare(fn):
    def handler(run, a):
        x, y = _pop2(run)
        run.stack.append(1 if fn(x, y) else 0)

    return handler


def _pick(fn):
    def handler(run, a):
        x, y = _pop2(run)
        run.stack.append(fn(x, y))

    return handler


def _not(run, a):
    run.stack.append(1 if run.stack.pop() == 0 else 0)


def _len(run, a):
    run.stack.append(len(run.stack.pop()))


def _byteat(run, a):
    i = run.stack.pop()
    run.stack.append(byte_at(run.g, run.stack.pop(), i))


def _b2i(run, a):
    run.stack.append(bytes_to_int(run.g, run.stack.pop(), a[0]))


def _frame_value(method: str, n: int):
    """Host instructions that return (gas, value): the frame does the work and charging."""

    def handler(run, a):
        operands = _pop_n(run, n)
        run.g, value = getattr(run.fr, method)(run.g, *operands, *a)
        run.stack.append(value)

    return handler


def _frame_effect(method: str, n: int):
    """Host instructions that return only the gas left."""

    def handler(run, a):
        operands = _pop_n(run, n)
        run.g = getattr(run.fr, method)(run.g, *operands, *a)

    return handler


def _env(read: Callable[[_Run], object]):
    def handler(run, a):
        run.stack.append(read(run))

    return handler


def _jmp(run, a):
    run.pc = a[0]


def _jmpif(run, a):
    if run.stack.pop():
        run.pc = a[0]


def _jmpifnot(run, a):
    if not run.stack.pop():
        run.pc = a[0]


def _call(run, a):
    callee = run.module.functions[a[0]]
    call_args = _pop_n(run, len(callee.params))
    tx = run.tx
    tx.frames += 1
    if tx.frames > LIMITS.max_frames:
        raise revert(run.g, "too many call frames")
    result = run.functions[a[0]](run.fr, run.g, *call_args)
    tx.frames -= 1
    if callee.returns:
        run.g = result[0]
        run.stack.extend(result[1:])
    else:
        run.g = result


def _ret(run, a):
    run.result = (run.g, *run.stack) if run.returns else run.g
    return True


def _revert(run, a):
    raise revert(run.g, reason_text(run.stack.pop()))


def _require(run, a):
    if not run.stack.pop():
        raise revert(run.g, a[0])


def _raise(run, a):
    values = _pop_n(run, len(run.module.errors[a[0]].fields))
    raise run.fr.error(run.g, a[0], values)


def _emit(run, a):
    values = _pop_n(run, len(run.module.events[a[0]].fields))
    run.g = run.fr.emit(run.g, a[0], values)


def _xcall(run, a):
    imp = run.module.imports[a[0]]
    call_args = _pop_n(run, len(imp.params))
    value = run.stack.pop()
    to = run.stack.pop()
    result = run.fr.xcall(run.g, a[0], a[1], to, value, call_args)
    run.g = result[0]
    run.stack.extend(result[1:])


def _i2b(run, a):
    run.g, value = run.fr.int_to_bytes(run.g, run.stack.pop(), a[0])
    run.stack.append(value)


HANDLERS: dict[str, Handler] = {
    "CONST": _const,
    "POP": _pop,
    "DUP": _dup,
    "SWAP": _swap,
    "LOAD": _load,
    "STORE": _store,
    "ADD": _binary(lambda x, y: x + y),
    "SUB": _binary(lambda x, y: x - y),
    "MUL": _binary(lambda x, y: x * y),
    "DIV": _divmod(tdiv),
    "MOD": _divmod(tmod),
    "EXP": _gas_binary(power),
    "NEG": _neg,
    "CAST": _cast,
    "LT": _compare(lambda x, y: x < y),
    "GT": _compare(lambda x, y: x > y),
    "LE": _compare(lambda x, y: x <= y),
    "GE": _compare(lambda x, y: x >= y),
    "EQ": _compare(lambda x, y: x == y),
    "NE": _compare(lambda x, y: x != y),
    "NOT": _not,
    "AND": _compare(lambda x, y: x != 0 and y != 0),
    "OR": _compare(lambda x, y: x != 0 or y != 0),
    "BAND": _binary(lambda x, y: x & y),
    "BOR": _binary(lambda x, y: x | y),
    "BXOR": _binary(lambda x, y: x ^ y),
    "BNOT": _bnot,
    "SHL": _gas_binary(shl),
    "SHR": _gas_binary(shr),
    "MIN": _pick(min),
    "MAX": _pick(max),
    "LEN": _len,
    "CONCAT": _frame_value("concat", 2),
    "SLICE": _frame_value("slice", 3),
    "BYTEAT": _byteat,
    "I2B": _i2b,
    "B2I": _b2i,
    "SHA256": _frame_value("sha256", 1),
    "KECCAK256": _frame_value("keccak256", 1),
    "ED25519": _frame_value("ed25519", 3),
    "MKEY": _frame_value("mkey", 2),
    "JMP": _jmp,
    "JMPIF": _jmpif,
    "JMPIFNOT": _jmpifnot,
    "CALL": _call,
    "RET": _ret,
    "REVERT": _revert,
    "RAISE": _raise,
    "REQUIRE": _require,
    "SLOAD": _frame_value("sload", 1),
    "SLOADB": _frame_value("sloadb", 1),
    "SSTORE": _frame_effect("sstore", 2),
    "SSTOREB": _frame_effect("sstoreb", 2),
    "CALLER": _env(lambda run: run.fr.caller),
    "CALLVALUE": _env(lambda run: run.fr.value),
    "SELF": _env(lambda run: run.fr.address),
    "BALANCE": _frame_value("balance", 1),
    "SELFBALANCE": _env(lambda run: run.fr.selfbalance()),
    "HEIGHT": _env(lambda run: run.tx.height),
    "CHAINID": _env(lambda run: run.tx.chain_id),
    "TIMESTAMP": _env(lambda run: run.tx.timestamp),
    "ORIGIN": _env(lambda run: run.tx.origin),
    "EMIT": _emit,
    "SEND": _frame_effect("send", 2),
    "XCALL": _xcall,
    "DOCREG": _frame_effect("docreg", 1),
    "DOCHOLDER": _frame_value("docholder", 1),
    "ORACLE": _frame_value("oracle", 4),
}
