"""Every detector flags its vulnerable examples and stays quiet on the safe
look-alikes (tests/analyzer_corpus/<detector-id>.deed, sections marked
`# == vulnerable: ...` and `# == safe: ...`)."""

from pathlib import Path

import pytest

from deed.analyzer.detectors import DETECTORS
from deed.analyzer.docs import corpus_sections
from deed.analyzer.run import analyze
from deed.compiler.driver import CompilerOutput, compile_source

CORPUS = Path(__file__).parent / "analyzer_corpus"


def sections(path: Path) -> list[tuple[str, str, str]]:
    return [(kind, desc, source + "\n") for kind, desc, source in corpus_sections(path)]


CASES = [
    (d, kind, desc, src) for d in DETECTORS for kind, desc, src in sections(CORPUS / f"{d.id}.deed")
]


def _contracts(source: str, path: str):
    """Each contract of a section (a section may hold a system of several)."""
    names = list(dict.fromkeys(c.name for c in CompilerOutput(source, path).syntax.contracts))
    if len(names) <= 1:
        return [compile_source(source, path)]
    return [compile_source(source, path, contract=name) for name in names]


def test_every_detector_has_two_vulnerable_and_two_safe_examples():
    for d in DETECTORS:
        kinds = [k for k, _, _ in sections(CORPUS / f"{d.id}.deed")]
        assert kinds.count("vulnerable") >= 2 and kinds.count("safe") >= 2, d.id


def test_at_least_fifteen_detectors_with_unique_ids():
    assert len(DETECTORS) >= 15
    assert len({d.id for d in DETECTORS}) == len(DETECTORS)


@pytest.mark.parametrize(
    "detector, kind, desc, source", CASES, ids=[f"{c[0].id}:{c[1]}:{c[2]}" for c in CASES]
)
def test_corpus(detector, kind, desc, source):
    findings = [
        f
        for out in _contracts(source, f"{detector.id}.deed")
        for f in analyze(out, detectors=[detector], with_gas=False).findings
    ]
    if kind == "vulnerable":
        assert findings, f"{detector.id} missed: {desc}"
        assert all(f.span.line >= 1 for f in findings)
    else:
        assert not findings, (
            f"{detector.id} flagged a safe example ({desc}): {[f.message for f in findings]}"
        )
