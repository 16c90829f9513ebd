"""Diagnostics: errors as data, rendered with the source line and a caret.

Every error has a stable code (listed in :data:`CODES` and in
``spec/language.md`` with an example that triggers it). A diagnostic holds
its span and renders ``file:line:col`` with an annotated excerpt only when
printed.

Errors in the author's source are :class:`CompileError`. A fault of the
compiler itself (an exception in a phase, a module the VM rejects) is a
:class:`CompilerPanic`, a CompileError with an E9xxx code from
:data:`INTERNAL_CODES`: the command line reports both and exits non-zero,
never with a traceback; no source should produce a panic.
"""

from __future__ import annotations

from dataclasses import dataclass

from deed.vm.opcodes import LIMITS

from .ast import Span
from .nesting import MAX_NESTING

CODES: dict[str, str] = {
    # syntax
    "E0001": "syntax error",
    "E0002": "bad indentation",
    "E0003": "invalid character or literal",
    # names and declarations
    "E0101": "undefined name",
    "E0102": "duplicate definition",
    "E0103": "unknown type",
    "E0104": "unknown module",
    "E0105": "unknown member",
    # types
    "E0201": "type mismatch",
    "E0202": "invalid operand types",
    "E0203": "implicit narrowing or sign change",
    "E0204": "wrong number or names of arguments",
    "E0205": "not callable",
    "E0206": "integer literal out of range",
    "E0207": "not assignable",
    "E0208": "storage-only type outside storage",
    "E0209": "bad type arguments",
    # functions and contracts
    "E0301": "state change in a view function",
    "E0302": "value in a non-payable function",
    "E0303": "recursion",
    "E0304": "missing return",
    "E0305": "unbounded loop",
    "E0306": "break or continue outside a loop",
    "E0307": "bad init",
    "E0308": "bad decorator",
    "E0309": "unreachable code",
    "E0310": "state or effects in a library",
    "E0311": "no contract",
    "E0312": "bad receive function",
    "E0313": "bad indexed event field",
    # limits: the compiler's nesting limit, and the VM's limits (deed.vm.opcodes.LIMITS)
    "E0401": "nested too deeply",
    "E0402": "function code too large",
    "E0403": "too many basic blocks in a function",
    "E0404": "too many functions",
    "E0405": "too many public functions",
    "E0406": "too many constants",
    "E0407": "string or bytes literal too long",
    "E0408": "too many local variables",
    "E0409": "expression needs too deep a stack",
    "E0410": "too many parameters or return values",
    "E0411": "too many events",
    "E0412": "too many errors",
    "E0413": "too many interface functions called",
    "E0414": "too many fields",
    "E0415": "name too long",
    "E0416": "module too large to deploy",
}

# Faults of the compiler, not of the source: no example triggers them.
INTERNAL_CODES: dict[str, str] = {
    "E9000": "internal compiler error: a phase failed",
    "E9001": "internal compiler error: the VM rejects the module",
}
INTERNAL_NOTES: dict[str, str] = {
    "E9000": "A phase of the compiler raised an exception other than a diagnostic. "
    "The message names the phase and the exception; the source is not at fault.",
    "E9001": "The emitted module passed every limit check but the VM's loader "
    "(`deed.vm.verifier.load`) rejects its bytes. The message names the function "
    "and the VM's rule; the diagnostic points at that function. No module the "
    "VM rejects is ever written.",
}


@dataclass(frozen=True)
class _Example:
    source: str  # what the tests compile
    shown: str  # what the spec prints: the source, abridged


def _functions(count: int, body: str = "pass", prefix: str = "") -> str:
    return "".join(f"    {prefix}f{i}():\n        {body}\n" for i in range(count))


def _limit_examples() -> dict[str, _Example]:
    """A source past each limit, sized from the limits themselves."""
    L = LIMITS
    sum_60 = " + ".join(["a"] * 60)
    lines_for_code = L.max_code_size // 240 + 8  # a line of 60 terms is about 240 bytes of code
    big = "x" * (L.max_constant_bytes - 8)
    params = ", ".join(f"a{i}: u8" for i in range(L.max_params + 1))
    fields = ", ".join(f"a{i}: u8" for i in range(L.max_fields + 1))
    g_args = ", ".join(["a"] * (L.max_params - 1))
    g_params = ", ".join(f"a{i}: u8" for i in range(L.max_params))
    deep_call = "self.g(" + g_args + ", "
    levels = L.max_stack // (L.max_params - 1) + 2
    pub = "contract C:\n    pub f(a: uint) -> uint:\n"
    return {
        "E0401": _Example(
            "contract C:\n    pub f(a: bool) -> bool:\n        return "
            + "not " * (MAX_NESTING + 1)
            + "a\n",
            f"contract C:\n    pub f(a: bool) -> bool:\n        return not not ... not a"
            f"   # {MAX_NESTING + 1} times not\n",
        ),
        "E0402": _Example(
            "contract C:\n    pub f(a: uint) -> uint:\n"
            + f"        a = {sum_60}\n" * lines_for_code
            + "        return a\n",
            "contract C:\n    pub f(a: uint) -> uint:\n"
            f"        a = a + a + ... + a   # 60 terms, {lines_for_code} lines\n"
            "        ...\n        return a\n",
        ),
        "E0403": _Example(
            pub
            + "".join(
                f"        if a == {i}:\n            return {i}\n" for i in range(L.max_blocks)
            )
            + "        return 0\n",
            pub
            + "        if a == 0:\n            return 0\n        if a == 1:\n            return 1\n"
            f"        ...   # {L.max_blocks} ifs\n        return 0\n",
        ),
        "E0404": _Example(
            "contract C:\n" + _functions(L.max_functions + 1),
            f"contract C:\n    f0():\n        pass\n    ...   # {L.max_functions + 1} functions\n",
        ),
        "E0405": _Example(
            "contract C:\n" + _functions(L.max_exports + 1, prefix="pub "),
            f"contract C:\n    pub f0():\n        pass\n    ...   # {L.max_exports + 1} pub functions\n",
        ),
        "E0406": _Example(
            "contract C:\n    pub f(a: uint) -> uint:\n"
            + "".join(f"        a += {i}\n" for i in range(2, L.max_constants + 3))
            + "        return a\n",
            "contract C:\n    pub f(a: uint) -> uint:\n        a += 2\n        a += 3\n"
            f"        ...   # up to a += {L.max_constants + 2}\n        return a\n",
        ),
        "E0407": _Example(
            f'contract C:\n    pub f():\n        require(False, "{"x" * (L.max_constant_bytes + 1)}")\n',
            f'contract C:\n    pub f():\n        require(False, "xx...x")   # {L.max_constant_bytes + 1} x\n',
        ),
        "E0408": _Example(
            "contract C:\n    pub f():\n"
            + "".join(f"        x{i}: u8 = 0\n" for i in range(L.max_locals + 1)),
            "contract C:\n    pub f():\n        x0: u8 = 0\n"
            f"        ...   # up to x{L.max_locals}: u8 = 0\n",
        ),
        "E0409": _Example(
            f"contract C:\n    g({g_params}) -> u8:\n        return a0\n"
            f"    pub f(a: u8) -> u8:\n        return {deep_call * levels}a{')' * levels}\n",
            f"contract C:\n    g({g_params}) -> u8:\n        return a0\n"
            f"    pub f(a: u8) -> u8:\n        return self.g(a, ..., self.g(a, ..., self.g(...)))"
            f"   # {levels} calls deep\n",
        ),
        "E0410": _Example(f"contract C:\n    pub f({params}):\n        pass\n", ""),
        "E0411": _Example(
            "contract C:\n" + "".join(f"    event E{i}()\n" for i in range(L.max_events + 1)),
            f"contract C:\n    event E0()\n    ...   # {L.max_events + 1} events\n",
        ),
        "E0412": _Example(
            "contract C:\n" + "".join(f"    error E{i}()\n" for i in range(L.max_errors + 1)),
            f"contract C:\n    error E0()\n    ...   # {L.max_errors + 1} errors\n",
        ),
        "E0413": _Example(
            "interface I:\n"
            + "".join(f"    pub f{i}()\n" for i in range(L.max_imports + 1))
            + "contract C:\n    pub f(a: address):\n"
            + "".join(f"        I(a).f{i}()\n" for i in range(L.max_imports + 1)),
            "interface I:\n    pub f0()\n    ...\ncontract C:\n    pub f(a: address):\n"
            f"        I(a).f0()\n        ...   # {L.max_imports + 1} functions of I called\n",
        ),
        "E0414": _Example(f"contract C:\n    event E({fields})\n", ""),
        "E0415": _Example(f"contract C:\n    pub {'f' * (L.max_name + 1)}():\n        pass\n", ""),
        "E0416": _Example(
            "contract C:\n    pub f(a: uint):\n"
            + "".join(
                f'        require(a != {i}, "{i}{big}")\n'
                for i in range(L.max_tx_data // len(big) + 1)
            ),
            "contract C:\n    pub f(a: uint):\n"
            f'        require(a != 0, "0xx...x")   # {len(big) + 1} bytes\n'
            f"        ...   # {L.max_tx_data // len(big) + 1} such requires\n",
        ),
    }


_LIMIT_EXAMPLES = {
    code: ex if ex.shown else _Example(ex.source, ex.source)
    for code, ex in _limit_examples().items()
}

# One small program per code that triggers it (the spec shows them; a test compiles them).
EXAMPLES: dict[str, str] = {
    "E0001": "contract C\n    x: u8\n",
    "E0002": "contract C:\n    x: u8\n      y: u8\n",
    "E0003": "contract C:\n    pub f():\n        x: u8 = $\n",
    "E0101": "contract C:\n    pub f() -> u8:\n        return y\n",
    "E0102": "contract C:\n    x: u8\n    x: u16\n",
    "E0103": "contract C:\n    x: float\n",
    "E0104": "import stdlib.nothing\ncontract C:\n    x: u8\n",
    "E0105": "contract C:\n    pub f() -> u8:\n        return msg.gas\n",
    "E0201": "contract C:\n    pub f() -> bool:\n        return 5\n",
    "E0202": "contract C:\n    pub f(a: address) -> bool:\n        return a < a\n",
    "E0203": "contract C:\n    pub f(a: u64) -> u8:\n        return a\n",
    "E0204": "contract C:\n    pub f() -> u8:\n        return min(1)\n",
    "E0205": "contract C:\n    error Oops()\n    pub f():\n        Oops()\n",
    "E0206": "contract C:\n    pub f() -> u8:\n        return 256\n",
    "E0207": "contract C:\n    const K: u8 = 1\n    pub f():\n        K = 2\n",
    "E0208": "contract C:\n    pub f(m: map[u8, u8]):\n        pass\n",
    "E0209": "contract C:\n    m: map[u8]\n",
    "E0301": "contract C:\n    x: u8\n    @view\n    pub f():\n        self.x = 1\n",
    "E0302": "contract C:\n    pub f() -> uint:\n        return msg.value\n",
    "E0303": "contract C:\n    g():\n        self.g()\n",
    "E0304": "contract C:\n    pub f(a: bool) -> u8:\n        if a:\n            return 1\n",
    "E0305": "contract C:\n    pub f(n: uint):\n        for i in range(n):\n            pass\n",
    "E0306": "contract C:\n    pub f():\n        break\n",
    "E0307": "contract C:\n    pub init():\n        pass\n",
    "E0308": "contract C:\n    @pure\n    pub f():\n        pass\n",
    "E0309": "contract C:\n    pub f() -> u8:\n        return 1\n        return 2\n",
    "E0310": "library util:\n    f() -> address:\n        return self.address\n\ncontract C:\n    x: u8\n",
    "E0311": "interface I:\n    pub f()\n",
    "E0312": "contract C:\n    pub receive():\n        pass\n",
    "E0313": "contract C:\n    event Note(indexed text: string[32])\n",
    **{code: example.source for code, example in _LIMIT_EXAMPLES.items()},
}

# What the spec shows for an example too long to print (the ones above, built by code).
EXAMPLES_SHOWN: dict[str, str] = {code: ex.shown for code, ex in _LIMIT_EXAMPLES.items()}


_BEFORE, _AFTER = 40, 80  # characters of a long line shown around the start of a span


def _window(text: str, start: int, length: int) -> tuple[str, int, int]:
    """A long line cut around the span's start (column ``start``, 1-based), with
    the caret's new column and length: a generated line can be megabytes long."""
    if len(text) <= _BEFORE + _AFTER:
        return text, start, length
    lo = max(0, start - 1 - _BEFORE)
    hi = start - 1 + _AFTER
    head = "... " if lo else ""
    tail = " ..." if hi < len(text) else ""
    return head + text[lo:hi] + tail, start - lo + len(head), min(length, hi - start + 1)


def _excerpt(span: Span, lines: list[str], mark: str, blue: str, reset: str) -> list[str]:
    """The span's line with a caret under the span (nothing if the line is unknown)."""
    if not 1 <= span.line <= len(lines):
        return []
    text = lines[span.line - 1].removesuffix("\r").expandtabs(4)
    gutter = str(span.line)
    width = len(gutter)
    start = max(span.column, 1)
    if span.end_line == span.line and span.end_column > start:
        length = span.end_column - start
    else:
        length = max(1, len(text.rstrip()) - start + 1)
    text, start, length = _window(text, start, length)
    return [
        f"{blue}{' ' * width} |{reset}",
        f"{blue}{gutter} |{reset} {text}",
        f"{blue}{' ' * width} |{reset} {' ' * (start - 1)}{mark}{'^' * max(1, length)}{reset}",
    ]


@dataclass(frozen=True)
class Note:
    """A second place a diagnostic is about: where a name was first defined."""

    message: str
    span: Span


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    notes: tuple[Note, ...] = ()

    def headline(self) -> str:
        return f"{self.span.file}:{self.span.line}:{self.span.column}: error[{self.code}]: {self.message}"

    def render(self, source: str | None, color: bool = False) -> str:
        """``file:line:col: error[CODE]: message``, the line, a caret under the span, a hint."""
        red, blue, bold, reset = (
            ("\x1b[31m", "\x1b[34m", "\x1b[1m", "\x1b[0m") if color else ("", "", "", "")
        )
        out = [
            f"{bold}{self.span.file}:{self.span.line}:{self.span.column}: {red}error[{self.code}]{reset}{bold}: {self.message}{reset}"
        ]
        # Lines as the parser counts them: at "\n" only (str.splitlines also
        # breaks at form feeds and other characters a source may hold).
        lines = source.split("\n") if source is not None else []
        out += _excerpt(self.span, lines, red if color else "", blue if color else "", reset)
        if self.hint:
            out.append(f"{blue}{' ' * (len(str(self.span.line)))} = {reset}hint: {self.hint}")
        for note in self.notes:
            where = f"{note.span.file}:{note.span.line}:{note.span.column}"
            out.append(
                f"{blue}{' ' * (len(str(self.span.line)))} = {reset}note: {note.message} ({where})"
            )
            if note.span.file == self.span.file:
                out += _excerpt(
                    note.span, lines, blue if color else "", blue if color else "", reset
                )
        return "\n".join(out)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            **self.span.to_json(),
            "hint": self.hint,
            "notes": [{"message": n.message, **n.span.to_json()} for n in self.notes],
        }


class CompileError(Exception):
    """One or more diagnostics: what a failed compilation raises."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(
            diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.column, d.code)
        )
        super().__init__("\n".join(d.headline() for d in self.diagnostics))


class CompilerPanic(CompileError):
    """The compiler failed, not the source: diagnostics with E9xxx codes."""

    @classmethod
    def of(cls, code: str, message: str, span: Span) -> CompilerPanic:
        assert code in INTERNAL_CODES, code
        return cls([Diagnostic(code, message, span, "this is a bug in the compiler: report it")])


class Reporter:
    """Collects diagnostics so one run can report several independent errors.

    The same error found twice (a library's function is checked once for each
    contract of the file) is reported once."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[Diagnostic] = set()

    def error(
        self,
        code: str,
        message: str,
        span: Span,
        hint: str | None = None,
        notes: tuple[Note, ...] = (),
    ) -> None:
        assert code in CODES, code
        diagnostic = Diagnostic(code, message, span, hint, notes)
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.diagnostics.append(diagnostic)

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics)
