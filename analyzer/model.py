"""Findings and the detector base class.

A detector declares what it finds and why it matters as class attributes;
the base class refuses a detector that leaves one out. Detectors are pure:
context in, findings out. Sorting, suppression and output happen at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

IMPACTS = ("high", "medium", "low", "informational")
CONFIDENCES = ("high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    detector: str
    impact: str
    confidence: str
    message: str
    span: object  # deed.compiler.ast.Span
    function: str | None = None

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.detector, self.message)


class Detector:
    """Subclass, set every attribute below, and implement :meth:`detect`."""

    id: ClassVar[str]
    title: ClassVar[str]
    impact: ClassVar[str]
    confidence: ClassVar[str]
    finds: ClassVar[str]  # what it looks for
    why: ClassVar[str]  # why it matters
    fix: ClassVar[str]  # how to fix it

    REQUIRED = ("id", "title", "impact", "confidence", "finds", "why", "fix")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        missing = [a for a in cls.REQUIRED if not getattr(cls, a, None)]
        if missing:
            raise TypeError(f"detector {cls.__name__} lacks {', '.join(missing)}")
        if cls.impact not in IMPACTS or cls.confidence not in CONFIDENCES:
            raise TypeError(f"detector {cls.__name__}: impact or confidence out of range")

    def detect(self, ctx) -> list[Finding]:
        raise NotImplementedError

    def finding(self, message: str, span, function: str | None = None) -> Finding:
        return Finding(self.id, self.impact, self.confidence, message, span, function)
