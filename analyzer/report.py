"""Reports: text (as the compiler's diagnostics), JSON and SARIF 2.1.0."""

from __future__ import annotations

from deed.compiler.diagnostics import Diagnostic

from .detectors import DETECTORS
from .run import Analysis

SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note", "informational": "note"}
SECURITY_SEVERITY = {"high": "8.0", "medium": "5.5", "low": "3.0", "informational": "1.0"}


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
        for s in a.unjustified:
            out.append(
                f"{a.path}:{s.line}: note: `deed: allow({s.detector})` has no reason, so it silences nothing"
            )
        if show_gas:
            out.append(
                f"{a.path}: worst-case gas of {a.contract} (execution; a transaction adds its intrinsic gas)"
            )
            for b in sorted(a.gas.values(), key=lambda b: b.function):
                out.append(
                    f"  {b.function:<32} {b.bound:>14,}{'  + external calls' if b.external else ''}"
                )
        n = len(a.findings)
        out.append(
            f"{a.path}: {n} finding{'s' if n != 1 else ''}"
            + (f", {len(a.suppressed)} suppressed" if a.suppressed else "")
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


def as_json(analyses: list[Analysis]) -> dict:
    return {
        "contracts": [
            {
                "contract": a.contract,
                "file": a.path,
                "findings": [_finding_json(f) for f in a.findings],
                "suppressed": [_finding_json(f) | {"reason": s.reason} for f, s in a.suppressed],
                "gas": {
                    b.function: {"bound": b.bound, "external_calls": b.external}
                    for b in a.gas.values()
                },
            }
            for a in analyses
        ]
    }


def sarif(analyses: list[Analysis], version: str = "0.1.0") -> dict:
    rules = [
        {
            "id": d.id,
            "name": "".join(w.title() for w in d.id.split("-")),
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
        for d in DETECTORS
    ]
    index = {d.id: i for i, d in enumerate(DETECTORS)}
    results = []
    for a in analyses:
        for f, sup in [(f, None) for f in a.findings] + list(a.suppressed):
            s = f.span
            result = {
                "ruleId": f.detector,
                "ruleIndex": index[f.detector],
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
            results.append(result)
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
