"""The host side of native code: what a host site of :mod:`.lower` runs.

Native code calls one C callback (:data:`HOST_CALLBACK`) with the index of a
:class:`~.lower.HostSite`, a buffer holding the operands, and the gas left at
that instruction. The callback finds the running call's :class:`HostCall`
(a per-thread stack, since a host site may call a contract whose functions
run natively too), decodes the operands (integers from two 64-bit words,
byte strings from their handles), runs the instruction's handler, and writes
the results and the gas back. The handlers call the same
:class:`~deed.vm.execution.Frame` methods and runtime helpers as the
translating engine, so gas, reverts and effects are the same by construction.

Nothing unwinds through native frames (numba's rule): an exception raised by
a handler is kept in :attr:`HostCall.pending` and the callback returns
:attr:`Status.HOST`; native code returns that status at once and the Python
caller raises the exception. An integer result outside ``i128`` returns
:attr:`Status.DEOPT`, and the caller undoes the call's effects
(:class:`Undo`) before running it on the translating engine.

Proportional cost. A crossing costs the node about as much CPU as
:data:`HOST_CROSSING_GAS` gas of plain instructions on the translating
engine, far more than its own gas for cheap instructions (``TIMESTAMP`` costs
2). So a native run may cross :data:`CROSSING_ALLOWANCE` times freely, and
after that only as often as once per ``HOST_CROSSING_GAS`` gas of its own
instructions; a run that crosses more stops with *deopt* and runs on the
translating engine (the tiered engine then keeps the function there). The CPU
per gas of any native run stays within a small multiple of the translating
engine's.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import revert
from ..opcodes import LIMITS
from ..runtime import byte_at, bytes_to_int, power, reason_text
from ..types import BYTES
from .lower import I128_MAX, I128_MIN, HostSite, LoweredFunction, Status

HOST_SIGNATURE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)
_MASK64 = (1 << 64) - 1
_TWO_128 = 1 << 128
_MAX_FRAMES = LIMITS.max_frames
#: Gas of plain instructions the translating engine runs in the time one host
#: crossing of native code takes (a ctypes callback and its decoding, about
#: 2 us, at about 6 ns per gas; ``benchmarks/adversarial``).
HOST_CROSSING_GAS = 400
#: Crossings a native run may make before their number is held against the
#: gas of its own instructions.
CROSSING_ALLOWANCE = 64


class Undo:
    """What a call can change through the host, as it was when the call began:
    restoring it makes a deopted native run unobservable (the translating
    engine then runs the call from the start, paying the same cold accesses,
    code loads and memory). Taking it is O(1): the warm entries and the loaded
    code are insertion-ordered dicts, so what the call added is what comes
    after their length at the start."""

    __slots__ = ("mark", "logs", "memory", "accessed", "code_used", "frames")

    def __init__(self, tx) -> None:
        self.mark = tx.state.checkpoint()
        self.logs = len(tx.logs)
        self.memory = tx.memory
        self.accessed = len(tx.accessed)
        self.code_used = len(tx.code_used)
        self.frames = tx.frames

    def restore(self, tx) -> None:
        tx.state.revert_to(self.mark)
        del tx.logs[self.logs :]
        tx.memory = self.memory
        _truncate(tx.accessed, self.accessed)
        _truncate(tx.code_used, self.code_used)
        tx.frames = self.frames

    def added(self, tx) -> tuple:
        """The warm entries and loaded code added since (for shadow mode)."""
        return (
            tuple(itertools.islice(tx.accessed, self.accessed, None)),
            tuple(itertools.islice(tx.code_used, self.code_used, None)),
        )


def _truncate(ordered: dict, length: int) -> None:
    """Drop what was added to ``ordered`` after it had ``length`` entries."""
    while len(ordered) > length:
        ordered.popitem()


@dataclass(frozen=True)
class Plan:
    """How the host runs one site: its handler and which operands and results are bytes."""

    handler: Callable
    site: HostSite
    bytes_operands: tuple[bool, ...]
    bytes_results: tuple[bool, ...]


def plans(lowered: LoweredFunction) -> tuple[Plan, ...]:
    return tuple(
        Plan(
            HANDLERS[s.op],
            s,
            tuple(k == BYTES for k in s.operands),
            tuple(k == BYTES for k in s.results),
        )
        for s in lowered.sites
    )


class HostCall:
    """One run of a native function: its frame, its byte values by handle, the
    exception a host site raised, and what the host did (for the tier's policy)."""

    __slots__ = (
        "frame",
        "constants",
        "handles",
        "plans",
        "functions",
        "pending",
        "undo",
        "buf",
        "gas",
        "crossings",
        "host_gas",
        "start_gas",
        "host_bound",
    )

    def __init__(self, frame, site_plans: tuple[Plan, ...], constants: list, functions: list):
        self.frame = frame
        self.constants = constants  # shared: the module's constants, then b"" (empty_handle)
        self.handles: list[bytes] = []  # this call's byte values: handle len(constants) + i
        self.plans = site_plans
        self.functions = functions
        self.pending: BaseException | None = None
        self.undo: Undo | None = None
        self.buf = None  # the operand buffer and the gas cell, set by the native caller
        self.gas = None
        self.crossings = 0  # host sites run
        self.host_gas = 0  # gas they charged (their own work, callees included)
        self.start_gas = 0  # gas at the call (set by the native caller)
        self.host_bound = False  # stopped: crossings outweighed the native instructions

    def handle(self, value: bytes) -> int:
        self.handles.append(value)
        return len(self.constants) + len(self.handles) - 1

    def value(self, handle: int) -> bytes:
        n = len(self.constants)
        return self.constants[handle] if handle < n else self.handles[handle - n]

    def run(self, index: int) -> int:
        plan = self.plans[index]
        buf = self.buf
        if self.undo is None:
            self.undo = Undo(self.frame.tx)
        value = self.value
        operands = [
            value(buf[2 * k]) if is_bytes else _signed(buf[2 * k] | (buf[2 * k + 1] << 64))
            for k, is_bytes in enumerate(plan.bytes_operands)
        ]
        before = self.gas.value
        self.crossings += 1
        if self.crossings > CROSSING_ALLOWANCE:
            # gas of the instructions native code ran itself (a host site's own
            # static cost, paid at its block's end, is host work too)
            own = self.start_gas - before - self.host_gas
            if (self.crossings - CROSSING_ALLOWANCE) * HOST_CROSSING_GAS > own:
                self.host_bound = True
                return Status.DEOPT
        g, results = plan.handler(self, plan.site, before, operands)
        self.host_gas += before - g + plan.site.cost
        for k, is_bytes in enumerate(plan.bytes_results):
            v = results[k]
            if is_bytes:
                buf[2 * k] = self.handle(v)
                buf[2 * k + 1] = 0
            elif I128_MIN <= v <= I128_MAX:
                buf[2 * k] = v & _MASK64
                buf[2 * k + 1] = (v >> 64) & _MASK64
            else:
                return Status.DEOPT
        self.gas.value = g
        return Status.OK


def _signed(word: int) -> int:
    return word - _TWO_128 if word > I128_MAX else word


class _Active(threading.local):
    def __init__(self) -> None:
        self.calls: list[HostCall] = []


ACTIVE = _Active()


def _callback(site: int) -> int:
    call = ACTIVE.calls[-1]
    try:
        return call.run(site)
    except BaseException as exc:  # noqa: BLE001 - kept, raised by the caller: never unwinds natively
        call.pending = exc
        return Status.HOST


#: The one C function every native function calls back (kept alive for the process).
HOST_CALLBACK = HOST_SIGNATURE(_callback)


# ------------------------------------------------------------------ handlers
# Each takes (call, site, gas left at the instruction, operands) and returns
# (gas left, results); they mirror the translating engine's code for the
# instruction line by line.

Handler = Callable[[HostCall, HostSite, int, list], tuple[int, tuple]]


def _frame_value(method: str, extra: Callable[[HostCall, HostSite], tuple] = lambda c, s: ()):
    def run(call: HostCall, site: HostSite, g: int, ops: list) -> tuple[int, tuple]:
        g, value = getattr(call.frame, method)(g, *ops, *extra(call, site))
        return g, (value,)

    return run


def _frame_effect(method: str, extra: Callable[[HostCall, HostSite], tuple] = lambda c, s: ()):
    def run(call: HostCall, site: HostSite, g: int, ops: list) -> tuple[int, tuple]:
        return getattr(call.frame, method)(g, *ops, *extra(call, site)), ()

    return run


def _constant(call: HostCall, site: HostSite) -> tuple:
    return (call.constants[site.args[0]],)


def _width(call: HostCall, site: HostSite) -> tuple:
    return (site.args[0],)


def _environment(read: Callable) -> Handler:
    return lambda call, site, g, ops: (g, (read(call.frame),))


def _b2i(call, site, g, ops):
    return g, (bytes_to_int(g, ops[0], site.args[0]),)


def _exp(call, site, g, ops):
    return g, (power(g, ops[0], ops[1]),)


def _len(call, site, g, ops):
    return g, (len(ops[0]),)


def _byteat(call, site, g, ops):
    data, i = ops
    return g, (data[i] if 0 <= i < len(data) else byte_at(g, data, i),)


def _bytes_equal(call, site, g, ops):
    same = ops[0] == ops[1]
    return g, (int(same if site.op == "EQ" else not same),)


def _call(call, site, g, ops):
    """An internal call, as the translating engine makes it (frames counted;
    the callee is whatever runs the function now: native or translated)."""
    tx = call.frame.tx
    tx.frames += 1
    if tx.frames > _MAX_FRAMES:
        raise revert(g, "too many call frames")
    out = call.functions[site.args[0]](call.frame, g, *ops)
    tx.frames -= 1
    if out.__class__ is int:
        return out, ()
    return out[0], tuple(out[1:])


def _xcall(call, site, g, ops):
    out = call.frame.xcall(g, site.args[0], site.args[1], ops[0], ops[1], tuple(ops[2:]))
    return out[0], tuple(out[1:])


def _emit(call, site, g, ops):
    return call.frame.emit(g, site.args[0], tuple(ops)), ()


def _raise(call, site, g, ops):
    raise call.frame.error(g, site.args[0], tuple(ops))


def _revert(call, site, g, ops):
    raise revert(g, reason_text(ops[0]))


HANDLERS: dict[str, Handler] = {
    "CONCAT": _frame_value("concat"),
    "SLICE": _frame_value("slice"),
    "I2B": _frame_value("int_to_bytes", _width),
    "SHA256": _frame_value("sha256"),
    "KECCAK256": _frame_value("keccak256"),
    "ED25519": _frame_value("ed25519"),
    "MKEY": _frame_value("mkey"),
    "SLOAD": _frame_value("sload"),
    "SLOADB": _frame_value("sloadb", _constant),
    "BALANCE": _frame_value("balance"),
    "DOCHOLDER": _frame_value("docholder"),
    "ORACLE": _frame_value("oracle"),
    "SSTORE": _frame_effect("sstore"),
    "SSTOREB": _frame_effect("sstoreb", _constant),
    "SEND": _frame_effect("send"),
    "DOCREG": _frame_effect("docreg"),
    "B2I": _b2i,
    "EXP": _exp,
    "LEN": _len,
    "BYTEAT": _byteat,
    "EQ": _bytes_equal,
    "NE": _bytes_equal,
    "CALLER": _environment(lambda fr: fr.caller),
    "CALLVALUE": _environment(lambda fr: fr.value),
    "SELF": _environment(lambda fr: fr.address),
    "ORIGIN": _environment(lambda fr: fr.tx.origin),
    "HEIGHT": _environment(lambda fr: fr.tx.height),
    "CHAINID": _environment(lambda fr: fr.tx.chain_id),
    "TIMESTAMP": _environment(lambda fr: fr.tx.timestamp),
    "SELFBALANCE": _environment(lambda fr: fr.selfbalance()),
    "CALL": _call,
    "XCALL": _xcall,
    "EMIT": _emit,
    "RAISE": _raise,
    "REVERT": _revert,
}
