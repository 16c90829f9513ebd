"""Score `deed analyze` against the audit corpus.

The corpus (tests/audit_corpus/<class>/) holds, for each bug class, contracts
written the way different authors would write them:

- ``<name>.vuln.deed``: vulnerable; its first line is ``# expect: id1, id2``,
  the detector ids any of which counts as finding it;
- ``<name>.fixed.deed``: the same contract, fixed;
- ``<name>.safe.deed``: a safe look-alike that a naive tool would flag.

A vulnerable file is *found* when some contract of the file has a finding of
an expected detector. A fixed or safe file is *flagged* when some contract of
the file has any finding at all (any detector, any impact). Suppression
comments are not used in the corpus.

    .venv/bin/python tests/audit_corpus/score.py            # tables and lists
    .venv/bin/python tests/audit_corpus/score.py --json     # the same as JSON
    .venv/bin/python tests/audit_corpus/score.py --class front-running
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
KINDS = ("vuln", "fixed", "safe")
EXPECT = re.compile(r"^#\s*expect:\s*(.+?)\s*$")
ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass
class Hit:
    detector: str
    contract: str
    function: str | None
    line: int
    message: str


@dataclass
class FileResult:
    path: str  # relative to the corpus
    bug_class: str
    kind: str  # vuln, fixed or safe
    expect: list[str]  # vuln files only
    findings: list[Hit] = field(default_factory=list)
    error: str | None = None  # the file did not compile or analyze

    @property
    def found(self) -> bool:
        """A vulnerable file: some finding is one of the expected detectors."""
        return any(h.detector in self.expect for h in self.findings)

    @property
    def flagged(self) -> bool:
        """A fixed or safe file: any finding at all."""
        return bool(self.findings)


@dataclass
class ClassScore:
    name: str
    vuln_total: int = 0
    vuln_found: int = 0
    clean_total: int = 0  # fixed + safe
    clean_flagged: int = 0

    @property
    def detection(self) -> float:
        return self.vuln_found / self.vuln_total if self.vuln_total else 0.0

    @property
    def false_flags(self) -> float:
        return self.clean_flagged / self.clean_total if self.clean_total else 0.0


@dataclass
class Score:
    files: list[FileResult]
    classes: list[ClassScore]

    @property
    def vuln_total(self) -> int:
        return sum(c.vuln_total for c in self.classes)

    @property
    def vuln_found(self) -> int:
        return sum(c.vuln_found for c in self.classes)

    @property
    def clean_total(self) -> int:
        return sum(c.clean_total for c in self.classes)

    @property
    def clean_flagged(self) -> int:
        return sum(c.clean_flagged for c in self.classes)

    @property
    def detection(self) -> float:
        """Share of vulnerable files found."""
        return self.vuln_found / self.vuln_total if self.vuln_total else 0.0

    @property
    def false_flags(self) -> float:
        """Share of fixed and safe files with any finding."""
        return self.clean_flagged / self.clean_total if self.clean_total else 0.0

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def misses(self) -> list[FileResult]:
        return [f for f in self.files if f.kind == "vuln" and not f.found]

    @property
    def false_flagged(self) -> list[FileResult]:
        return [f for f in self.files if f.kind != "vuln" and f.flagged]

    def as_json(self) -> dict:
        return {
            "detection": round(self.detection, 4),
            "false_flags": round(self.false_flags, 4),
            "vulnerable": {"found": self.vuln_found, "total": self.vuln_total},
            "clean": {"flagged": self.clean_flagged, "total": self.clean_total},
            "classes": [
                {
                    "class": c.name,
                    "vulnerable": {"found": c.vuln_found, "total": c.vuln_total},
                    "clean": {"flagged": c.clean_flagged, "total": c.clean_total},
                    "detection": round(c.detection, 4),
                    "false_flags": round(c.false_flags, 4),
                }
                for c in self.classes
            ],
            "files": [
                {
                    **{k: v for k, v in asdict(f).items() if k != "findings"},
                    "found": f.found if f.kind == "vuln" else None,
                    "flagged": f.flagged if f.kind != "vuln" else None,
                    "findings": [asdict(h) for h in f.findings],
                }
                for f in self.files
            ],
        }


def corpus_files(root: Path = CORPUS) -> list[tuple[str, str, Path]]:
    """(class, kind, path) of every corpus file, sorted."""
    out = []
    for path in sorted(root.glob("*/*.deed")):
        parts = path.name.split(".")
        if len(parts) != 3 or parts[1] not in KINDS:
            raise ValueError(f"{path}: corpus files are NAME.vuln|fixed|safe.deed")
        out.append((path.parent.name, parts[1], path))
    return out


def expected_ids(path: Path) -> list[str]:
    """The ids of the `# expect:` first line of a vulnerable file ([] if none)."""
    first = path.read_text().split("\n", 1)[0]
    m = EXPECT.match(first)
    if not m:
        return []
    return [i.strip().strip("[]") for i in m.group(1).split(",") if i.strip()]


def contract_names(source: str, path: str) -> list[str]:
    from deed.compiler.driver import CompilerOutput

    syntax = CompilerOutput(source, path).syntax
    return list(dict.fromkeys(c.name for c in syntax.contracts))


def compile_contracts(path: Path):
    """One compiled output per contract of the file (each compiled to its module)."""
    from deed.compiler.driver import compile_source

    source = path.read_text()
    names = contract_names(source, str(path))
    outs = []
    for name in names if len(names) > 1 else [None]:
        out = compile_source(source, str(path), name)
        _ = out.module  # compile fully: errors surface here
        outs.append(out)
    return outs


def analyze_file(path: Path) -> list[Hit]:
    from deed.analyzer.run import analyze

    hits = []
    for out in compile_contracts(path):
        analysis = analyze(out, with_gas=False)
        for f in analysis.findings:
            hits.append(Hit(f.detector, analysis.contract, f.function, f.span.line, f.message))
    return hits


def score(root: Path = CORPUS, only: str | None = None) -> Score:
    from deed.compiler.diagnostics import CompileError

    files: list[FileResult] = []
    classes: dict[str, ClassScore] = {}
    for cls, kind, path in corpus_files(root):
        if only is not None and cls != only:
            continue
        rel = str(path.relative_to(root))
        result = FileResult(rel, cls, kind, expected_ids(path) if kind == "vuln" else [])
        try:
            result.findings = analyze_file(path)
        except CompileError as exc:
            result.error = "; ".join(
                f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in exc.diagnostics
            )
        except Exception as exc:  # an analyzer crash is a result too
            result.error = f"{type(exc).__name__}: {exc}"
        files.append(result)
        c = classes.setdefault(cls, ClassScore(cls))
        if kind == "vuln":
            c.vuln_total += 1
            c.vuln_found += result.found
        else:
            c.clean_total += 1
            c.clean_flagged += result.flagged
    return Score(files, list(classes.values()))


def pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def render(s: Score) -> str:
    lines = []
    w = max([len(c.name) for c in s.classes] + [len("class")])
    lines.append(f"{'class':<{w}}  {'found':>7}  {'detect':>6}  {'flagged':>7}  {'false':>6}")
    for c in s.classes:
        lines.append(
            f"{c.name:<{w}}  {c.vuln_found:>3}/{c.vuln_total:<3}  {pct(c.detection)}  "
            f"{c.clean_flagged:>3}/{c.clean_total:<3}  {pct(c.false_flags)}"
        )
    lines.append(
        f"{'TOTAL':<{w}}  {s.vuln_found:>3}/{s.vuln_total:<3}  {pct(s.detection)}  "
        f"{s.clean_flagged:>3}/{s.clean_total:<3}  {pct(s.false_flags)}"
    )
    lines.append("")
    lines.append(
        f"detection {pct(s.detection).strip()} of vulnerable files "
        f"({s.vuln_found}/{s.vuln_total}); false flags {pct(s.false_flags).strip()} "
        f"of fixed and safe files ({s.clean_flagged}/{s.clean_total})"
    )
    if s.errors:
        lines.append("")
        lines.append("ERRORS (file did not compile or analyze):")
        for f in s.errors:
            lines.append(f"  {f.path}: {f.error}")
    lines.append("")
    lines.append(f"MISSES ({len(s.misses)}): vulnerable files with no expected finding")
    for f in s.misses:
        other = ", ".join(sorted({h.detector for h in f.findings})) or "nothing"
        lines.append(f"  {f.path}  expect {', '.join(f.expect)}; got {other}")
    lines.append("")
    lines.append(f"FALSE FLAGS ({len(s.false_flagged)}): findings on fixed and safe files")
    for f in s.false_flagged:
        for h in f.findings:
            where = f"{h.contract}.{h.function}" if h.function else h.contract
            lines.append(f"  {f.path}:{h.line}  {h.detector}  {where}: {h.message}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--class", dest="only", help="score one class (directory) only")
    p.add_argument("--root", type=Path, default=CORPUS, help="corpus directory")
    args = p.parse_args(argv)
    s = score(args.root, args.only)
    if args.json:
        print(json.dumps(s.as_json(), indent=2))
    else:
        print(render(s))
    return 1 if s.errors else 0


if __name__ == "__main__":
    sys.exit(main())
