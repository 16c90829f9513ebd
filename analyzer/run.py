"""Analyze a compiled contract: run every detector, apply suppressions,
compute gas bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.compiler.driver import CompilerOutput

from .context import Context
from .detectors import DETECTORS
from .gas import GasAnalysis, GasBound
from .model import IMPACTS, Finding
from .suppress import Suppression, covers, suppressions


@dataclass
class Analysis:
    contract: str
    path: str
    source: str
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    unjustified: list[Suppression] = field(default_factory=list)  # no reason given
    gas: dict[str, GasBound] = field(default_factory=dict)


def analyze(out: CompilerOutput, detectors=None, with_gas: bool = True) -> Analysis:
    ctx = Context(out)
    found: list[Finding] = []
    for cls in detectors if detectors is not None else DETECTORS:
        found.extend(cls().detect(ctx))
    found = sorted(set(found), key=Finding.sort_key)
    sups = suppressions(out.source)
    lines = out.source.splitlines()
    kept, silenced = [], []
    for f in found:
        match = next(
            (
                s
                for s in sups
                if s.detector == f.detector
                and s.reason
                and f.span.file == out.path
                and covers(s, f.span.line, lines)
            ),
            None,
        )
        if match:
            silenced.append((f, match))
        else:
            kept.append(f)
    gas = GasAnalysis(ctx).all() if with_gas else {}
    return Analysis(
        ctx.program.contract,
        out.path,
        out.source,
        kept,
        silenced,
        [s for s in sups if not s.reason],
        gas,
    )


def at_least(findings: list[Finding], severity: str) -> list[Finding]:
    """Findings of ``severity`` or worse."""
    rank = IMPACTS.index(severity)
    return [f for f in findings if IMPACTS.index(f.impact) <= rank]
