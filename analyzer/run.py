"""Analyze a compiled contract: run every detector, apply suppressions,
compute gas bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from deed.compiler.driver import CompilerOutput

from .context import Context
from .detectors import DETECTORS
from .gas import GasAnalysis, GasBound
from .model import IMPACTS, Finding
from .suppress import Source, Suppression, covering, function_lines, owned_lines, suppressions


@dataclass
class Analysis:
    contract: str
    path: str
    source: str
    findings: list[Finding]
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    unjustified: list[Suppression] = field(default_factory=list)  # no reason given
    gas: dict[str, GasBound] = field(default_factory=dict)
    # allows in this contract's lines that silence nothing (for a detector that ran)
    unused: list[Suppression] = field(default_factory=list)
    unknown: list[Suppression] = field(default_factory=list)  # no detector has the id


@dataclass
class Suppressed:
    """The outcome of applying a contract's allows to its findings."""

    kept: list[Finding]
    silenced: list[tuple[Finding, Suppression]]
    unjustified: list[Suppression]
    unused: list[Suppression]
    unknown: list[Suppression]


def analyze(out: CompilerOutput, detectors=None, with_gas: bool = True) -> Analysis:
    ctx = Context(out)
    chosen = list(detectors) if detectors is not None else list(DETECTORS)
    found: list[Finding] = []
    for cls in chosen:
        found.extend(cls().detect(ctx))
    found = sorted(set(found), key=Finding.sort_key)
    s = apply_suppressions(out, found, ran={cls.id for cls in chosen})
    gas = GasAnalysis(ctx).all() if with_gas else {}
    return Analysis(
        ctx.program.contract,
        out.path,
        out.source,
        s.kept,
        s.silenced,
        s.unjustified,
        gas,
        s.unused,
        s.unknown,
    )


def apply_suppressions(out: CompilerOutput, found: list[Finding], ran: set[str]) -> Suppressed:
    """Silence the findings a justified allow covers, and sort out the allows
    this contract answers for: without a reason, naming no detector, or
    matching no finding. An allow for a detector that did not run (a subset
    was asked for) is not unused: nothing was looked for."""
    lines = out.source.splitlines()
    contract = out.checked.node
    source = Source(out.path, lines, function_lines(contract, lines))
    allows = suppressions(out.source)
    kept, silenced, used = [], [], set()
    for f in found:
        matches = covering(f, allows, source)
        if matches:
            silenced.append((f, matches[0]))
            used.update(matches)  # each of them matches a finding, so none is unused
        else:
            kept.append(f)
    mine = owned_lines(out.syntax.contracts, contract, lines)
    known = {d.id for d in DETECTORS} | ran
    own = [a for a in allows if a.line in mine]
    return Suppressed(
        kept,
        silenced,
        unjustified=[a for a in own if a.detector in known and not a.reason],
        unused=[a for a in own if a.detector in ran and a.reason and a not in used],
        unknown=[a for a in own if a.detector not in known],
    )


def at_least(findings: list[Finding], severity: str) -> list[Finding]:
    """Findings of ``severity`` or worse."""
    rank = IMPACTS.index(severity)
    return [f for f in findings if IMPACTS.index(f.impact) <= rank]
