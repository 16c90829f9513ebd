"""Suppression comments: ``# deed: allow(detector-id) reason``.

A comment on the line of a finding, or in the comment lines just above it,
silences that detector there. The reason is required: a suppression without one
silences nothing and is reported, so every silenced finding carries a
justification an auditor can weigh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERN = re.compile(r"#\s*deed:\s*allow\(\s*([a-z0-9-]+)\s*\)\s*(.*)$")


@dataclass(frozen=True)
class Suppression:
    detector: str
    line: int
    reason: str


def suppressions(source: str) -> list[Suppression]:
    out = []
    for number, text in enumerate(source.splitlines(), start=1):
        m = PATTERN.search(text)
        if m:
            out.append(Suppression(m.group(1), number, m.group(2).strip()))
    return out


def covers(s: Suppression, line: int, source_lines: list[str]) -> bool:
    if s.line == line:
        return True
    # the run of comment lines just above the finding's line
    above = line - 1
    while above >= 1 and source_lines[above - 1].lstrip().startswith("#"):
        if above == s.line:
            return True
        above -= 1
    return False
