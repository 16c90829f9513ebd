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
    "E0310": "not supported yet",
    "E0311": "no contract",
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
        s = self.span
        return {
            "code": self.code,
            "message": self.message,
            "file": s.file,
            "line": s.line,
            "column": s.column,
            "end_line": s.end_line,
            "end_column": s.end_column,
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
