"""Suppression comments: ``# deed: allow(detector-id) reason``.

An allow silences one detector, in one of three places:

- on any line of a finding's span (a finding can cover several lines);
- in the run of comment lines just above the finding's first line;
- in the run of comment lines just above a function (above its first
  decorator, or its signature when it has none): then every finding of that
  detector within the function.

The reason is required: an allow without one silences nothing and is reported,
so every silenced finding carries a justification an auditor can weigh. An
allow that silences nothing, or that names no detector, is reported too: it is
either stale (the code it excused changed) or a typo that silences nothing.

A file with several contracts is analyzed contract by contract; each contract
owns the lines from the comments just above its ``contract`` line to the next
contract's, and reports only the allows in its own lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from deed.compiler import ast

# the id is taken up to the closing parenthesis, whatever it holds, so that a
# misspelt id (Send-In-Loop, two ids) is reported rather than ignored
PATTERN = re.compile(r"#\s*deed:\s*allow\(([^)]*)\)\s*(.*)$")
# a string literal (as the grammar's STRING): its text is not a comment
STRING = re.compile(r'"([^"\\\n]|\\.)*"')


@dataclass(frozen=True)
class Suppression:
    detector: str
    line: int
    reason: str


class Placement(IntEnum):
    """How an allow reaches a finding, most specific first."""

    ON_SPAN = 0  # on a line of the finding
    ABOVE = 1  # in the comment lines just above the finding
    FUNCTION = 2  # in the comment lines just above the finding's function


@dataclass(frozen=True)
class FunctionLines:
    """Where a function sits: ``first`` is its first decorator (or its
    signature), ``last`` its last line of code."""

    name: str
    first: int
    last: int

    def holds(self, line: int) -> bool:
        return self.first <= line <= self.last


@dataclass
class Source:
    """The lines of one file and the functions of the analyzed contract."""

    path: str
    lines: list[str]
    functions: list[FunctionLines] = field(default_factory=list)


def suppressions(source: str) -> list[Suppression]:
    out = []
    for number, text in enumerate(source.splitlines(), start=1):
        # find the comment with string literals blanked (same length, so the
        # position holds), then read the reason from the line as written
        blanked = STRING.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)
        found = PATTERN.search(blanked)
        m = PATTERN.match(text, found.start()) if found else None
        if m:
            out.append(Suppression(m.group(1).strip(), number, m.group(2).strip()))
    return out


def is_comment(text: str) -> bool:
    return text.lstrip().startswith("#")


def comment_run_above(line: int, lines: list[str]) -> range:
    """The consecutive comment lines just above ``line`` (a blank line ends
    the run)."""
    first = line
    while first - 1 >= 1 and is_comment(lines[first - 2]):
        first -= 1
    return range(first, line)


def last_code_line(span: ast.Span, lines: list[str]) -> int:
    """The last line holding code of ``span``. Spans of declarations end where
    the next token starts, so their end line may be the next member's line,
    and the lines before it blank or comments (maybe the next member's
    allow): those are not the span's."""
    last = max(span.end_line, span.line)
    while last > span.line:
        text = lines[last - 1] if last - 1 < len(lines) else ""
        if last == span.end_line:
            text = text[: max(span.end_column - 1, 0)]
        if text.strip() and not is_comment(text):
            break
        last -= 1
    return last


def placement(s: Suppression, finding, source: Source) -> Placement | None:
    """How ``s`` covers ``finding``, or None when it does not (whatever the
    detector: the caller matches ids)."""
    span = finding.span
    if span.file != source.path:
        return None
    if span.line <= s.line <= last_code_line(span, source.lines):
        return Placement.ON_SPAN
    if s.line in comment_run_above(span.line, source.lines):
        return Placement.ABOVE
    for fn in source.functions:
        within = finding.function == fn.name or fn.holds(span.line)
        if within and s.line in comment_run_above(fn.first, source.lines):
            return Placement.FUNCTION
    return None


def covering(finding, allows: Iterable[Suppression], source: Source) -> list[Suppression]:
    """The justified allows of the finding's detector that cover it, the most
    specific first (on its lines, then above it, then above its function)."""
    ranked = [
        (p, s.line, s)
        for s in allows
        if s.detector == finding.detector
        and s.reason
        and (p := placement(s, finding, source)) is not None
    ]
    return [s for _, _, s in sorted(ranked, key=lambda r: (r[0], r[1]))]


def function_lines(contract: ast.Contract, lines: list[str]) -> list[FunctionLines]:
    """Each function of ``contract`` from its first decorator to its last line
    of code."""
    out = []
    for m in contract.members:
        if isinstance(m, ast.FunctionDef):
            first = min([m.span.line, *(d.span.line for d in m.decorators)])
            out.append(FunctionLines(m.name, first, last_code_line(m.span, lines)))
    return out


def owned_lines(contracts: list[ast.Contract], mine: ast.Contract, lines: list[str]) -> range:
    """The lines whose allows ``mine`` answers for: from the comment lines just
    above its ``contract`` line to the line before the next contract's. The
    first contract also owns what comes before it, the last what follows."""
    starts = [comment_run_above(c.span.line, lines).start for c in contracts]
    index = next((i for i, c in enumerate(contracts) if c is mine), None)
    if index is None:  # not from this file's tree: answer for the whole file
        return range(1, len(lines) + 1)
    first = 1 if index == 0 else starts[index]
    last = starts[index + 1] - 1 if index + 1 < len(contracts) else len(lines)
    return range(first, last + 1)
