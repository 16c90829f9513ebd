"""Render the detector catalogue of ``spec/analyzer.md`` from the detectors'
own metadata and the test corpus (a vulnerable and a fixed example each).
``python -m deed.analyzer.docs spec/analyzer.md`` rewrites it; a test fails
when the file differs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .detectors import DETECTORS

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "analyzer_corpus"


def corpus_sections(path: Path) -> list[tuple[str, str, str]]:
    """(kind, description, source) of each `# == kind: description` section."""
    out, kind, desc, lines = [], None, None, []
    for line in path.read_text().splitlines():
        if line.startswith("# == "):
            if kind:
                out.append((kind, desc, "\n".join(lines).rstrip()))
            kind, _, desc = line[5:].partition(":")
            kind, desc, lines = kind.strip(), desc.strip(), []
        else:
            lines.append(line)
    if kind:
        out.append((kind, desc, "\n".join(lines).rstrip()))
    return out


def catalogue() -> str:
    rows = ["| id | impact | confidence | title |", "|---|---|---|---|"]
    rows += [
        f"| [`{d.id}`](#{d.id}) | {d.impact} | {d.confidence} | {d.title} |" for d in DETECTORS
    ]
    parts = ["\n".join(rows)]
    for d in DETECTORS:
        sections = corpus_sections(CORPUS / f"{d.id}.deed")
        bad = next(s for s in sections if s[0] == "vulnerable")
        good = next(s for s in sections if s[0] == "safe")
        parts.append(
            f"### {d.id}\n\n**{d.title}** (impact {d.impact}, confidence {d.confidence})\n\n"
            f"- Finds: {d.finds}\n- Why it matters: {d.why}\n- Fix: {d.fix}\n\n"
            f"Vulnerable ({bad[1]}):\n\n```deed\n{bad[2]}\n```\n\nFixed ({good[1]}):\n\n```deed\n{good[2]}\n```"
        )
    return "\n\n".join(parts)


def gas_table(contract: str) -> str:
    """The worst-case gas of each public function of a contract file (a spec table)."""
    from deed.compiler.driver import compile_file

    from .context import Context
    from .gas import GasAnalysis

    root = Path(__file__).resolve().parent.parent
    out = compile_file(root / contract)
    bounds = GasAnalysis(Context(out)).all()
    rows = ["| function | worst-case execution gas |", "|---|---:|"]
    for f in out.ir.functions:
        if f.public or f.is_init:
            b = bounds[f.name]
            rows.append(f"| `{f.name}` | {b.bound:,}{' + callee' if b.external else ''} |")
    return "\n".join(rows)


def render_gas_tables(text: str) -> str:
    """Replace each ``<!-- BEGIN gas: PATH -->`` block with the table of PATH."""
    pattern = re.compile(r"(<!-- BEGIN gas: (\S+) -->\n).*?(<!-- END gas -->)", re.S)
    return pattern.sub(lambda m: m.group(1) + gas_table(m.group(2)) + "\n" + m.group(3), text)


def render(text: str) -> str:
    pattern = re.compile(r"(<!-- BEGIN catalogue -->\n).*?(<!-- END catalogue -->)", re.S)
    if not pattern.search(text):
        raise ValueError("no markers for the catalogue")
    return pattern.sub(lambda m: m.group(1) + catalogue() + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    """Rewrite spec/analyzer.md's catalogue and every spec/contracts/*.md gas table."""
    root = Path(__file__).resolve().parent.parent
    path = Path(argv[0]) if argv else root / "spec" / "analyzer.md"
    path.write_text(render(path.read_text()))
    for spec in sorted((root / "spec" / "contracts").glob("*.md")):
        spec.write_text(render_gas_tables(spec.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
