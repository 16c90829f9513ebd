"""Which functions run natively, and when they are compiled.

A module on the ``jit`` or ``tiered`` engine is first the translating
engine's functions (see :mod:`deed.vm.translate`). Every function that
:mod:`.lower` accepts gets a :class:`Slot`; the slot's entry replaces the
translated function both in the module's function list (exports) and in the
translated code's globals (internal calls), so promoting a function to
native code, or dropping it back, is one assignment and never a change of
behaviour.

- ``jit`` (eager): a function is compiled at its first call. For the test
  suite, shadow runs and benchmarks; not bounded by a budget.
- ``tiered`` (the node default when llvmlite is installed): only functions
  with a loop are candidates; one is compiled once the gas it has used on the
  translating engine reaches :func:`hot_threshold` and the block's compile
  budget (:data:`BLOCK_BUDGET`) has room. The threshold grows with the
  function's size, so the time a node spends compiling is a bounded multiple
  of the gas that callers paid for the work that made the function hot.

Compiled code is kept per (module id, function) in :data:`NATIVE_CACHE`
(bounded: a slot whose code the cache let go counts again), so it is reused
across transactions, blocks and module-cache evictions. A function goes back
to the translating engine when it fails to compile, when its native runs
keep deopting, or when crossing into native code and back costs more than
native code saves (:mod:`.host`'s crossing rule, :meth:`Slot.count_entry`).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from ..errors import DeedVMError, ExecutionSignal
from ..module import Module
from ..verifier import VerifiedModule, verify
from . import native
from .host import HOST_CROSSING_GAS, HostCall, Undo
from .lower import Status, has_loop, lower, unsupported

#: Gas a function must use on the translating engine before it is compiled:
#: about what the translating engine runs (5.6 ns per gas) in the time the
#: compile is estimated to take (:func:`compile_estimate_us`), so compile time
#: stays a bounded multiple of the gas paid for the work that made it hot.
HOT_GAS_BASE = 2_000_000
HOT_GAS_PER_INSTRUCTION = 40_000
HOT_GAS_PER_BLOCK_SQUARED = 2_000
#: Estimated compile time (microseconds) the tiered engine may spend per block.
BLOCK_BUDGET = 500_000
#: Version of the candidate list kept in artifacts (part of the artifact key).
ARTIFACT_VERSION = 2
#: A function dropped back after this many deopts when they outnumber its native runs.
MAX_DEOPTS = 16
#: Compiled functions kept per process (least recently compiled out). Each
#: holds about 1.2 MB (its LLVM module and machine code); a slot whose code was
#: let go goes back to counting, so this bounds the JIT's memory.
NATIVE_CACHE_SIZE = 128


def hot_threshold(instructions: int, blocks: int) -> int:
    return (
        HOT_GAS_BASE
        + HOT_GAS_PER_INSTRUCTION * instructions
        + HOT_GAS_PER_BLOCK_SQUARED * blocks * blocks
    )


def compile_estimate_us(instructions: int, blocks: int) -> int:
    """Compile time measured on the project machine (``test_compile_latency``
    and the many-blocks fuzz cases): about 4 ms, 0.2 ms per instruction, and
    LLVM's optimiser about 8 us per block squared."""
    return 4_000 + 200 * instructions + 8 * blocks * blocks


class JitDivergence(DeedVMError):
    """Shadow mode saw native code and the reference engine disagree."""


@dataclass
class Budget:
    """Estimated compile time (us) the tiered engine may still spend in the current block."""

    per_block: int = BLOCK_BUDGET
    left: int = BLOCK_BUDGET

    def begin_block(self) -> None:
        self.left = self.per_block

    def take(self, estimate_us: int) -> bool:
        if estimate_us > self.left:
            return False
        self.left -= estimate_us
        return True


@dataclass
class Stats:
    """What the tier did in this process (for benchmarks and ``deed`` diagnostics)."""

    compiled: int = 0
    compile_seconds: list[float] = field(default_factory=list)
    failures: int = 0
    deopts: int = 0
    host_bound: int = 0  # functions dropped back because they cross to the host too often


STATS = Stats()
NATIVE_CACHE: OrderedDict[tuple[bytes, int], native.NativeFunction | None] = OrderedDict()
#: Native calls a tiered function may make before their number is held against
#: the gas of the instructions they ran (see Slot.count_entry).
ENTRY_ALLOWANCE = 64
#: Functions (module id, index) that the tiered engine dropped back as host-bound
#: (bounded like the native cache: a forgotten one is compiled again when hot).
HOST_BOUND: OrderedDict[tuple[bytes, int], None] = OrderedDict()


@dataclass(frozen=True)
class Candidate:
    """A function that can run natively (kept in the module's artifact, so a
    module loaded from the store needs no verification until one is compiled)."""

    index: int
    instructions: int  # reachable instructions
    blocks: int  # reachable basic blocks (with instructions: the measure of compile work)
    loops: bool


def candidates(vm: VerifiedModule) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(i, sum(b.end - b.start for b in vf.blocks), len(vf.blocks), has_loop(vf))
        for i, vf in enumerate(vm.functions)
        if unsupported(vm, i) is None
    )


class LazyVerified:
    """The verified module, verified again only when first needed (to compile)."""

    def __init__(self, module: Module, vm: VerifiedModule | None = None):
        self.module = module
        self._vm = vm

    def get(self) -> VerifiedModule:
        if self._vm is None:
            self._vm = verify(self.module)
        return self._vm


def shadow_enabled() -> bool:
    return os.environ.get("DEED_JIT_SHADOW", "").strip() not in ("", "0")


class Slot:
    """One function that may run natively in one loaded module."""

    def __init__(self, lazy, cand, functions, namespace, eager, budget, shadow):
        self.lazy: LazyVerified = lazy
        self.key = (lazy.module.module_id, cand.index)
        self.index = cand.index
        self.translated = functions[cand.index]
        self.functions = functions
        self.namespace = namespace
        self.eager = eager
        self.budget = budget
        self.shadow = shadow  # the reference engine's function, or None
        self.instructions = cand.instructions
        self.estimate_us = compile_estimate_us(cand.instructions, cand.blocks)
        self.threshold = 0 if eager else hot_threshold(cand.instructions, cand.blocks)
        self.spent = 0
        self.deopts = 0
        self.runs = 0
        self.own_gas = 0  # gas of the instructions its native runs executed themselves
        self.native: native.NativeFunction | None = None

    # -- switching entries
    def install(self, entry) -> None:
        self.functions[self.index] = entry
        self.namespace[f"f{self.index}"] = entry

    def start(self) -> None:
        cached = NATIVE_CACHE.get(self.key, False)
        if cached is None or (self.key in HOST_BOUND and not self.eager):
            return  # failed or was dropped back before: stays translated
        if cached is not False:
            self.native = cached
            self.install(self.native_entry())
        else:
            self.install(self.counting_entry())

    def drop_back(self) -> None:
        self.install(self.translated)

    def evicted(self) -> None:
        """The native cache let the code go (it holds about 1.2 MB per function):
        count again, and compile again once hot."""
        self.native = None
        self.spent = 0
        self.install(self.counting_entry())

    # -- compiling
    def promote(self) -> None:
        if not self.eager and not self.budget.take(self.estimate_us):
            return  # the block's budget is spent: try again in a later call
        compiled = _compile(self.key, self.lazy, self.index)
        if compiled is None:
            self.drop_back()
            return
        self.native = compiled
        self.install(self.native_entry())

    # -- entries
    def counting_entry(self):
        translated = self.translated
        slot = self

        def entry(fr, g, *args):
            if slot.eager:
                slot.promote()
                return slot.functions[slot.index](fr, g, *args)
            out = translated(fr, g, *args)
            slot.spent += g - (out if isinstance(out, int) else out[0])
            if slot.spent >= slot.threshold:
                slot.promote()
            return out

        return entry

    def native_entry(self):
        run = self.native
        slot = self
        single = run.lowered.n_returns == 1
        none = run.lowered.n_returns == 0
        constants = [
            *self.lazy.module.constants,
            b"",
        ]  # handles: constants, then b"" (empty_handle)
        functions = self.functions

        key = self.key

        def entry(fr, g, *args):
            if NATIVE_CACHE.get(key) is not run:  # evicted: memory stays bounded
                slot.evicted()
                return slot.functions[slot.index](fr, g, *args)
            call = HostCall(fr, run.plans, constants, functions)
            status, left, detail = run(call, g, args)
            if status is Status.DEOPT:
                if call.undo is not None:
                    call.undo.restore(fr.tx)
                if call.host_bound:
                    slot.host_bound()
                return slot.deopted(fr, g, args)
            slot.runs += 1
            slot.count_entry(g - max(left, 0) - call.host_gas)
            if status is Status.OK:
                if single:
                    return left, detail[0]
                return left if none else (left, *detail)
            raise run.raise_for(status, left, detail, call.pending)

        if self.shadow is None:
            return entry
        return self.shadowed(entry)

    def shadowed(self, entry):
        """Shadow mode: run the reference engine first, undo what it did, run
        native code, and stop at any difference in outcome or effects."""
        slot = self

        def checked(fr, g, *args):
            undo = Undo(fr.tx)
            theirs = _outcome(slot.shadow, fr, g, args) + _effects(fr.tx, undo)
            undo.restore(fr.tx)
            try:
                out = entry(fr, g, *args)
            except ExecutionSignal as sig:
                mine = _signal_outcome(sig) + _effects(fr.tx, undo)
                slot.check(mine, theirs, g, args)
                raise
            mine = ("ok", out if isinstance(out, int) else tuple(out)) + _effects(fr.tx, undo)
            slot.check(mine, theirs, g, args)
            return out

        return checked

    def count_entry(self, own_gas: int) -> None:
        """Entering native code costs about as much as a host crossing: a
        function called often for little work each time (a loop that rarely
        turns) is cheaper translated, and goes back there."""
        self.own_gas += own_gas
        extra = self.runs - ENTRY_ALLOWANCE
        if extra > 0 and extra * HOST_CROSSING_GAS > self.own_gas:
            self.host_bound()

    def host_bound(self) -> None:
        """Native runs crossed to the host, or were entered, too often for
        their own work (see :mod:`.host`): the function goes back to the
        translating engine, where a host call is an ordinary Python call (the
        tiered engine remembers it for the module id)."""
        STATS.host_bound += 1
        if not self.eager:  # the eager engine compiles it again in a module loaded afresh
            HOST_BOUND[self.key] = None
            while len(HOST_BOUND) > 8 * NATIVE_CACHE_SIZE:
                HOST_BOUND.popitem(last=False)
        self.drop_back()

    def deopted(self, fr, g, args):
        STATS.deopts += 1
        self.deopts += 1
        if self.deopts > MAX_DEOPTS and self.deopts > self.runs:
            self.drop_back()
        return self.translated(fr, g, *args)

    def check(self, mine: tuple, theirs: tuple, g: int, args: tuple) -> None:
        if mine != theirs:
            module = self.lazy.module
            name = module.functions[self.index].name
            raise JitDivergence(
                f"DEED_JIT_SHADOW: native code of {name!r} (module "
                f"{module.module_id.hex()[:16]}) gave {mine} where the reference "
                f"engine gave {theirs}, for arguments {args!r} and gas {g}"
            )


def _signal_outcome(sig: ExecutionSignal) -> tuple:
    return (
        type(sig).__name__,
        getattr(sig, "gas", None),
        getattr(sig, "message", None),
        getattr(sig, "error", None),
    )


def _outcome(fn, fr, g, args) -> tuple:
    try:
        out = fn(fr, g, *args)
    except ExecutionSignal as sig:
        return _signal_outcome(sig)
    return ("ok", out if isinstance(out, int) else tuple(out))


def _effects(tx, undo: Undo) -> tuple:
    """What a call did to the transaction since ``undo`` was taken."""
    state = tx.state
    writes = tuple((key, state.dirty.get(key)) for key, _ in state.journal[undo.mark :])
    return (
        writes,
        tuple(tx.logs[undo.logs :]),
        tx.memory,
        undo.added(tx),
        tx.frames,
    )


def _compile(key, lazy: LazyVerified, index: int) -> native.NativeFunction | None:
    """Compile once per process (failures remembered as None)."""
    if key in NATIVE_CACHE:
        NATIVE_CACHE.move_to_end(key)
        return NATIVE_CACHE[key]
    started = time.perf_counter()
    try:
        compiled = native.compile_function(lower(lazy.get(), index))
    except Exception:  # noqa: BLE001 - any LLVM failure: the function stays translated
        STATS.failures += 1
        compiled = None
    else:
        STATS.compiled += 1
        STATS.compile_seconds.append(time.perf_counter() - started)
    NATIVE_CACHE[key] = compiled
    while len(NATIVE_CACHE) > NATIVE_CACHE_SIZE:
        NATIVE_CACHE.popitem(last=False)
    return compiled


def attach(
    lazy: LazyVerified,
    found: tuple[Candidate, ...],
    functions: list,
    eager: bool,
    budget: Budget,
) -> list:
    """Give every candidate its slot (eager: all; tiered: those with a loop);
    returns ``functions``, whose entries the slots replace."""
    if not native.available() or not functions:
        return functions
    chosen = [c for c in found if eager or c.loops]
    if not chosen:
        return functions
    shadow_fns = None
    if shadow_enabled():
        from ..reference import reference_functions

        shadow_fns = reference_functions(lazy.get())
    namespace = functions[0].__globals__
    for cand in chosen:
        shadow = shadow_fns[cand.index] if shadow_fns else None
        Slot(lazy, cand, functions, namespace, eager, budget, shadow).start()
    return functions
