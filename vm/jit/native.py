"""Native code: LLVM IR from :mod:`.lower` compiled by llvmlite, and the
Python side of the calling convention.

Only this module imports llvmlite; it is imported when the ``jit`` engine is
first used, so ``pip install deed`` without the ``jit`` extra never needs it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading

from ..errors import ConfigurationError, OutOfGas, revert
from ..types import BYTES
from . import host
from .lower import I128_MAX, I128_MIN, LoweredFunction, Status

llvm = None  # llvmlite.binding, imported on first use (it loads a large library)

_LOCK = threading.RLock()
_INITIALISED = False
_MASK64 = (1 << 64) - 1
_NATIVE_SIGNATURE = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.POINTER(ctypes.c_int64),
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_int64),
    ctypes.POINTER(ctypes.c_uint64),
    host.HOST_SIGNATURE,
)
_TWO_128 = 1 << 128


def available() -> bool:
    """Whether llvmlite is installed (the ``jit`` extra); ``DEED_NO_LLVM=1``
    makes a node behave as if it were not (the CI job without the extra)."""
    if os.environ.get("DEED_NO_LLVM", "").strip() not in ("", "0"):
        return False
    return importlib.util.find_spec("llvmlite") is not None


def require() -> None:
    """Import llvmlite (once), or explain how to get it."""
    global llvm
    if llvm is not None:
        return
    if not available():
        raise ConfigurationError(
            "the jit engine needs llvmlite: pip install 'deed[jit]' (or choose DEED_ENGINE=translate)"
        )
    import llvmlite.binding

    llvm = llvmlite.binding


def _target_machine():
    """A new optimising target machine for the host CPU: an MCJIT engine owns
    (and frees) the one it is given, so each compiled function gets its own."""
    global _INITIALISED
    with _LOCK:
        require()
        if not _INITIALISED:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _INITIALISED = True
        return llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten(),
            opt=2,
            codemodel="jitdefault",
        )


def _optimise(module, tm) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)


class NativeFunction:
    """A compiled function and its engine (which owns the machine code)."""

    __slots__ = ("lowered", "plans", "_engine", "_fn", "_io_type", "_buffer_type")

    def __init__(self, lowered: LoweredFunction):
        tm = _target_machine()
        module = llvm.parse_assembly(lowered.ir)
        module.verify()
        _optimise(module, tm)
        engine = llvm.create_mcjit_compiler(module, tm)
        engine.finalize_object()
        address = engine.get_function_address(lowered.symbol)
        self.lowered = lowered
        self.plans = host.plans(lowered)
        self._engine = engine
        self._fn = _NATIVE_SIGNATURE(address)
        self._io_type = ctypes.c_uint64 * (2 * max(lowered.n_params, lowered.n_returns, 1))
        self._buffer_type = ctypes.c_uint64 * lowered.buffer_words

    def __call__(self, call: host.HostCall, g: int, args: tuple) -> tuple[Status, int, tuple]:
        """Run with gas ``g``: (status, gas left or at the revert, results).
        Integer arguments outside the i128 range give DEOPT without running;
        with status HOST, ``call.pending`` holds the exception to raise."""
        io = self._io_type()  # per call: buffers are never shared between threads
        for k, (kind, x) in enumerate(zip(self.lowered.params, args, strict=True)):
            if kind == BYTES:
                x = call.handle(x)
            elif not I128_MIN <= x <= I128_MAX:
                return Status.DEOPT, g, ()
            io[2 * k] = x & _MASK64
            io[2 * k + 1] = (x >> 64) & _MASK64
        gas = call.gas = ctypes.c_int64(g)
        call.start_gas = g
        # a function without host sites never reads its buffer: none is made
        buf = call.buf = self._buffer_type() if self.plans else None
        aux = ctypes.c_int64(0)
        active = host.ACTIVE.calls
        active.append(call)
        try:
            status = Status(
                self._fn(ctypes.byref(gas), io, ctypes.byref(aux), buf, host.HOST_CALLBACK)
            )
        finally:
            active.pop()
        if status is Status.REVERT:
            return status, gas.value, (aux.value,)
        if status is not Status.OK:
            return status, gas.value, ()
        results = []
        for k, kind in enumerate(self.lowered.returns):
            v = io[2 * k] | (io[2 * k + 1] << 64)
            if kind == BYTES:
                results.append(call.value(v))
            else:
                results.append(v - _TWO_128 if v > I128_MAX else v)
        return status, gas.value, tuple(results)

    def raise_for(
        self, status: Status, gas: int, detail: tuple, call_pending: BaseException | None = None
    ) -> BaseException:
        """The exception the other engines raise for a failed status."""
        if status is Status.REVERT:
            return revert(gas, self.lowered.reasons[detail[0]])
        if status is Status.OUT_OF_GAS:
            return OutOfGas()
        if status is Status.HOST and call_pending is not None:
            return call_pending
        raise AssertionError(f"no exception for status {status!r}")


def compile_function(lowered: LoweredFunction) -> NativeFunction:
    """Compile one lowered function (raises on any LLVM error; callers fall back)."""
    with _LOCK:
        require()
        return NativeFunction(lowered)
