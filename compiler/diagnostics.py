"""Diagnostics: errors as data, rendered with the source line and a caret.

Every error has a stable code (listed in :data:`CODES` and in
``spec/language.md`` with an example that triggers it). A diagnostic holds
its span and renders ``file:line:col`` with an annotated excerpt only when
printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ast import Span

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
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None

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
        lines = source.splitlines() if source is not None else []
        if 1 <= self.span.line <= len(lines):
            text = lines[self.span.line - 1].expandtabs(4)
            gutter = str(self.span.line)
            width = len(gutter)
            start = max(self.span.column, 1)
            if self.span.end_line == self.span.line and self.span.end_column > start:
                length = self.span.end_column - start
            else:
                length = max(1, len(text.rstrip()) - start + 1)
            out.append(f"{blue}{' ' * width} |{reset}")
            out.append(f"{blue}{gutter} |{reset} {text}")
            out.append(
                f"{blue}{' ' * width} |{reset} {' ' * (start - 1)}{red}{'^' * max(1, length)}{reset}"
            )
        if self.hint:
            out.append(f"{blue}{' ' * (len(str(self.span.line)))} = {reset}hint: {self.hint}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            **self.span.to_json(),
            "hint": self.hint,
        }


class CompileError(Exception):
    """One or more diagnostics: what a failed compilation raises."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(
            diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.column, d.code)
        )
        super().__init__("\n".join(d.headline() for d in self.diagnostics))


class Reporter:
    """Collects diagnostics so one run can report several independent errors."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        assert code in CODES, code
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics)
