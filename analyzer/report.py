"""Reports: text (as the compiler's diagnostics), JSON and SARIF 2.1.0."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deed.compiler.diagnostics import Diagnostic
from deed.compiler.spelling import did_you_mean

from .detectors import DETECTORS
from .run import Analysis
from .suppress import Suppression

SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note", "informational": "note"}
SECURITY_SEVERITY = {"high": "8.0", "medium": "5.5", "low": "3.0", "informational": "1.0"}


def _unused(s: Suppression) -> str:
    return f"unused suppression allow({s.detector}): it matches no finding"


def _unknown(s: Suppression) -> str:
    hint = did_you_mean(s.detector, (d.id for d in DETECTORS))
    return f"unknown detector in allow({s.detector}): no detector has this id" + (
        f"; {hint}" if hint else ""
    )


def _unjustified(s: Suppression) -> str:
    return f"suppression allow({s.detector}) has no reason, so it silences nothing"


@dataclass(frozen=True)
class AllowProblem:
    """A kind of ``deed: allow`` that silences nothing. Reported in every
    format (in SARIF as a note-level result of a rule of its own), never
    counted by ``--fail-on``: a stale comment does not make a contract less
    safe, and the findings it fails to silence are counted already."""

    id: str
    title: str
    help: str
    explain: Callable[[Suppression], str]


UNUSED = AllowProblem(
    "unused-suppression",
    "A deed: allow comment that matches no finding",
    "The code it excused changed, or it sits where it reaches no finding: remove it or move it.",
    _unused,
)
UNKNOWN = AllowProblem(
    "unknown-suppression",
    "A deed: allow comment naming no detector",
    "A misspelt id silences nothing: use an id from the catalogue (spec/analyzer.md).",
    _unknown,
)
UNJUSTIFIED = AllowProblem(
    "unjustified-suppression",
    "A deed: allow comment without a reason",
    "The reason is required, so that every silenced finding carries a justification: add one.",
    _unjustified,
)
ALLOW_PROBLEMS = (UNUSED, UNKNOWN, UNJUSTIFIED)


def allow_problems(a: Analysis) -> list[tuple[AllowProblem, Suppression]]:
    """The analysis's allows that silence nothing, in line order."""
    pairs = (
        [(UNUSED, s) for s in a.unused]
        + [(UNKNOWN, s) for s in a.unknown]
        + [(UNJUSTIFIED, s) for s in a.unjustified]
    )
    return sorted(pairs, key=lambda p: p[1].line)


def text(analyses: list[Analysis], show_gas: bool = False, color: bool = False) -> str:
    out = []
    for a in analyses:
        for f in a.findings:
            d = Diagnostic(f.detector, f"{f.message} (confidence: {f.confidence})", f.span)
            out.append(
                d.render(a.source, color=color).replace(
                    f"error[{f.detector}]", f"{f.impact}[{f.detector}]"
                )
            )
        out.extend(f"{a.path}:{s.line}: {problem.explain(s)}" for problem, s in allow_problems(a))
        if show_gas:
            out.append(
                f"{a.path}: worst-case gas of {a.contract} (execution; a transaction adds its intrinsic gas)"
            )
            for b in sorted(a.gas.values(), key=lambda b: b.function):
                out.append(
                    f"  {b.function:<32} {b.bound:>14,}{'  + external calls' if b.external else ''}"
                )
        n = len(a.findings)
        stale = len(allow_problems(a))
        out.append(
            f"{a.path}: {n} finding{'s' if n != 1 else ''}"
            + (f", {len(a.suppressed)} suppressed" if a.suppressed else "")
            + (
                f", {stale} suppression{'s' if stale != 1 else ''} silencing nothing"
                if stale
                else ""
            )
        )
    return "\n".join(out)


def _finding_json(f) -> dict:
    return {
        "detector": f.detector,
        "impact": f.impact,
        "confidence": f.confidence,
        "message": f.message,
        "function": f.function,
        **f.span.to_json(),
    }


def _allow_json(a: Analysis, s: Suppression) -> dict:
    return {"detector": s.detector, "reason": s.reason, "file": a.path, "line": s.line}


def as_json(analyses: list[Analysis]) -> dict:
    return {
        "contracts": [
            {
                "contract": a.contract,
                "file": a.path,
                "findings": [_finding_json(f) for f in a.findings],
                "suppressed": [_finding_json(f) | {"reason": s.reason} for f, s in a.suppressed],
                "unused_suppressions": [_allow_json(a, s) for s in a.unused],
                "unknown_suppressions": [_allow_json(a, s) for s in a.unknown],
                "unjustified_suppressions": [_allow_json(a, s) for s in a.unjustified],
                "gas": {
                    b.function: {"bound": b.bound, "external_calls": b.external}
                    for b in a.gas.values()
                },
            }
            for a in analyses
        ]
    }


def _detector_rule(d) -> dict:
    return {
        "id": d.id,
        "name": _rule_name(d.id),
        "shortDescription": {"text": d.title},
        "fullDescription": {"text": d.finds},
        "help": {"text": f"{d.why} Fix: {d.fix}"},
        "defaultConfiguration": {"level": SARIF_LEVEL[d.impact]},
        "properties": {
            "impact": d.impact,
            "confidence": d.confidence,
            "security-severity": SECURITY_SEVERITY[d.impact],
        },
    }


def _allow_rule(p: AllowProblem) -> dict:
    """A rule for comments that silence nothing: about the source's comments,
    not the contract's safety, so it has no security-severity."""
    return {
        "id": p.id,
        "name": _rule_name(p.id),
        "shortDescription": {"text": p.title},
        "help": {"text": p.help},
        "defaultConfiguration": {"level": "note"},
    }


def _rule_name(rule_id: str) -> str:
    return "".join(w.title() for w in rule_id.split("-"))


def _finding_result(f, rule_index: int, sup: Suppression | None) -> dict:
    s = f.span
    result = {
        "ruleId": f.detector,
        "ruleIndex": rule_index,
        "level": SARIF_LEVEL[f.impact],
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": s.file},
                    "region": {
                        "startLine": s.line,
                        "startColumn": s.column,
                        "endLine": s.end_line,
                        "endColumn": max(s.end_column, s.column + 1)
                        if s.end_line == s.line
                        else s.end_column,
                    },
                },
                "logicalLocations": [{"name": f.function, "kind": "function"}]
                if f.function
                else [],
            }
        ],
    }
    if sup is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": sup.reason}]
    return result


def _allow_result(a: Analysis, p: AllowProblem, s: Suppression, rule_index: int) -> dict:
    """A note at the comment's line: code-scanning tools show it where the
    comment is, which a toolExecutionNotification would not."""
    return {
        "ruleId": p.id,
        "ruleIndex": rule_index,
        "level": "note",
        "message": {"text": p.explain(s)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": a.path},
                    "region": {"startLine": s.line},
                }
            }
        ],
    }


def sarif(analyses: list[Analysis], version: str = "0.1.0") -> dict:
    rules = [_detector_rule(d) for d in DETECTORS] + [_allow_rule(p) for p in ALLOW_PROBLEMS]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for a in analyses:
        for f, sup in [(f, None) for f in a.findings] + list(a.suppressed):
            results.append(_finding_result(f, index[f.detector], sup))
        for p, s in allow_problems(a):
            results.append(_allow_result(a, p, s, index[p.id]))
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "deed-analyze",
                        "version": version,
                        "informationUri": "https://example.invalid/deed",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
