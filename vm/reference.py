"""The reference interpreter: one instruction at a time, gas charged per
instruction, an explicit operand stack.

It is slow and meant to be obviously right: it defines the semantics that
the translating engine (:mod:`deed.vm.translate`) and any JIT must match in
results and gas, and the differential tests run both on generated programs.
Host effects (storage, hashing, events, calls) go through the same
:class:`~deed.vm.execution.Frame` methods as the fast engine.
"""

from __future__ import annotations

from .errors import OutOfGas, Revert
from .opcodes import LIMITS
from .runtime import byte_at, bytes_to_int, power, reason_text, shl, shr, tdiv, tmod
from .types import BYTES, int_range, int_type_text
from .verifier import VerifiedModule


def _checked(g: int, value: int, type_code: int, what: str = "arithmetic overflow") -> int:
    lo, hi = int_range(type_code)
    if not lo <= value <= hi:
        raise Revert(g, what)
    return value


_BINARY = {
    "ADD": lambda a, b: a + b,
    "SUB": lambda a, b: a - b,
    "MUL": lambda a, b: a * b,
    "BAND": lambda a, b: a & b,
    "BOR": lambda a, b: a | b,
    "BXOR": lambda a, b: a ^ b,
}
_COMPARE = {
    "LT": lambda a, b: a < b,
    "GT": lambda a, b: a > b,
    "LE": lambda a, b: a <= b,
    "GE": lambda a, b: a >= b,
    "EQ": lambda a, b: a == b,
    "NE": lambda a, b: a != b,
    "AND": lambda a, b: a != 0 and b != 0,
    "OR": lambda a, b: a != 0 or b != 0,
    "MIN": min,
    "MAX": max,
}
_FRAME_VALUE = {  # instruction -> (frame method, operands); returns (gas, value)
    "CONCAT": ("concat", 2),
    "SLICE": ("slice", 3),
    "SHA256": ("sha256", 1),
    "KECCAK256": ("keccak256", 1),
    "ED25519": ("ed25519", 3),
    "MKEY": ("mkey", 2),
    "SLOAD": ("sload", 1),
    "BALANCE": ("balance", 1),
    "DOCHOLDER": ("docholder", 1),
    "ORACLE": ("oracle", 4),
}


def reference_functions(vm: VerifiedModule) -> list:
    """Callables with the same signature as translated functions."""
    functions: list = []

    def make(index: int):
        def run(fr, g, *args):
            return _interpret(vm, functions, index, fr, g, args)

        return run

    functions.extend(make(i) for i in range(len(vm.functions)))
    return functions


def _interpret(vm: VerifiedModule, functions: list, index: int, fr, g: int, args: tuple):
    m = vm.module
    f = m.functions[index]
    vf = vm.functions[index]
    instrs = vf.instrs
    pc_of = {ins.offset: i for i, ins in enumerate(instrs)}
    local = list(args) + [b"" if k == BYTES else 0 for k in f.locals]
    stack: list = []
    tx = fr.tx
    pc = 0
    while True:
        ins = instrs[pc]
        pc += 1
        g -= ins.op.gas
        if g < 0:
            raise OutOfGas()
        name, a = ins.name, ins.args
        if name == "CONST":
            stack.append(m.constants[a[0]])
        elif name == "POP":
            stack.pop()
        elif name == "DUP":
            stack.append(stack[-1 - a[0]])
        elif name == "SWAP":
            stack[-1], stack[-1 - a[0]] = stack[-1 - a[0]], stack[-1]
        elif name == "LOAD":
            stack.append(local[a[0]])
        elif name == "STORE":
            local[a[0]] = stack.pop()
        elif name in _BINARY:
            b = stack.pop()
            stack.append(_checked(g, _BINARY[name](stack.pop(), b), a[0]))
        elif name in ("DIV", "MOD"):
            b = stack.pop()
            x = stack.pop()
            if b == 0:
                raise Revert(g, "division by zero")
            stack.append(_checked(g, tdiv(x, b) if name == "DIV" else tmod(x, b), a[0]))
        elif name in ("EXP", "SHL", "SHR"):
            b = stack.pop()
            x = stack.pop()
            fn = {"EXP": power, "SHL": shl, "SHR": shr}[name]
            stack.append(_checked(g, fn(g, x, b), a[0]))
        elif name == "NEG":
            stack.append(_checked(g, -stack.pop(), a[0]))
        elif name == "CAST":
            stack.append(
                _checked(g, stack.pop(), a[0], f"value does not fit {int_type_text(a[0])}")
            )
        elif name == "BNOT":
            lo, hi = int_range(a[0])
            x = stack.pop()
            stack.append(_checked(g, x ^ hi if lo == 0 else ~x, a[0]))
        elif name in _COMPARE:
            b = stack.pop()
            stack.append(int(_COMPARE[name](stack.pop(), b)))
        elif name == "NOT":
            stack.append(int(stack.pop() == 0))
        elif name == "LEN":
            stack.append(len(stack.pop()))
        elif name == "BYTEAT":
            i = stack.pop()
            stack.append(byte_at(g, stack.pop(), i))
        elif name == "B2I":
            stack.append(bytes_to_int(g, stack.pop(), a[0]))
        elif name == "I2B":
            g, v = fr.int_to_bytes(g, stack.pop(), a[0])
            stack.append(v)
        elif name in _FRAME_VALUE:
            method, n = _FRAME_VALUE[name]
            operands = stack[len(stack) - n :]
            del stack[len(stack) - n :]
            g, v = getattr(fr, method)(g, *operands)
            stack.append(v)
        elif name == "SLOADB":
            g, v = fr.sloadb(g, stack.pop(), m.constants[a[0]])
            stack.append(v)
        elif name == "SSTORE":
            v = stack.pop()
            g = fr.sstore(g, stack.pop(), v)
        elif name == "SSTOREB":
            v = stack.pop()
            g = fr.sstoreb(g, stack.pop(), v, m.constants[a[0]])
        elif name == "DOCREG":
            g = fr.docreg(g, stack.pop())
        elif name == "SEND":
            amount = stack.pop()
            g = fr.send(g, stack.pop(), amount)
        elif name == "CALLER":
            stack.append(fr.caller)
        elif name == "CALLVALUE":
            stack.append(fr.value)
        elif name == "SELF":
            stack.append(fr.address)
        elif name == "SELFBALANCE":
            stack.append(fr.selfbalance())
        elif name == "HEIGHT":
            stack.append(tx.height)
        elif name == "TIMESTAMP":
            stack.append(tx.timestamp)
        elif name == "ORIGIN":
            stack.append(tx.origin)
        elif name == "JMP":
            pc = pc_of[a[0]]
        elif name == "JMPIF":
            if stack.pop():
                pc = pc_of[a[0]]
        elif name == "JMPIFNOT":
            if not stack.pop():
                pc = pc_of[a[0]]
        elif name == "CALL":
            callee = m.functions[a[0]]
            n = len(callee.params)
            call_args = stack[len(stack) - n :] if n else []
            del stack[len(stack) - n :]
            tx.frames += 1
            if tx.frames > LIMITS.max_frames:
                raise Revert(g, "too many call frames")
            result = functions[a[0]](fr, g, *call_args)
            tx.frames -= 1
            if callee.returns:
                g = result[0]
                stack.extend(result[1:])
            else:
                g = result
        elif name == "RET":
            return (g, *stack) if f.returns else g
        elif name == "REVERT":
            raise Revert(g, reason_text(stack.pop()))
        elif name == "REQUIRE":
            if not stack.pop():
                raise Revert(g, m.constants[a[0]].decode("utf-8", "replace"))
        elif name in ("RAISE", "EMIT"):
            table = m.errors if name == "RAISE" else m.events
            n = len(table[a[0]].fields)
            values = tuple(stack[len(stack) - n :]) if n else ()
            del stack[len(stack) - n :]
            if name == "RAISE":
                raise fr.error(g, a[0], values)
            g = fr.emit(g, a[0], values)
        elif name == "XCALL":
            imp = m.imports[a[0]]
            n = len(imp.params)
            call_args = tuple(stack[len(stack) - n :]) if n else ()
            del stack[len(stack) - n :]
            value = stack.pop()
            to = stack.pop()
            result = fr.xcall(g, a[0], a[1], to, value, call_args)
            g = result[0]
            stack.extend(result[1:])
        else:  # pragma: no cover - the opcode table and this interpreter are checked together
            raise AssertionError(f"no semantics for {name}")
