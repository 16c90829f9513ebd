"""deed analyze: reports (text, JSON, SARIF validated against its schema),
suppressions, --fail-on, printers, and the standard contracts analyze clean."""

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deed.analyzer.context import Context
from deed.analyzer.detectors import DETECTORS
from deed.analyzer.model import Detector
from deed.analyzer.printers import call_graph, cfg, summary
from deed.analyzer.report import sarif
from deed.analyzer.run import analyze
from deed.analyzer.suppress import suppressions
from deed.cli.main import main
from deed.compiler.driver import compile_file, compile_source

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-2.1.0.json").read_text())
STANDARD = sorted(p for p in (ROOT / "contracts").rglob("*.deed"))

DRAIN = """contract Treasury:
    event Paid(to: address, amount: uint)
    pub pay(to: address, amount: uint):
        send(to, amount)
        emit Paid(to, amount)
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_standard_contracts_analyze_clean():
    for path in STANDARD:
        a = analyze(compile_file(path.relative_to(ROOT)))
        assert a.findings == [], (path.name, [f.message for f in a.findings])
        assert a.unused == a.unknown == a.unjustified == [], path.name


def test_sarif_output_is_valid_sarif_2_1_0():
    analyses = [analyze(compile_source(DRAIN, "t.deed"))] + [
        analyze(compile_file(p.relative_to(ROOT))) for p in STANDARD
    ]
    doc = sarif(analyses)
    jsonschema.validate(doc, SCHEMA)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"unprotected-funds", "caller-controlled-send"}
    rule = next(
        r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "unprotected-funds"
    )
    assert rule["properties"]["impact"] == "high"


def test_cli_formats_and_fail_on(tmp_path):
    src = tmp_path / "t.deed"
    src.write_text(DRAIN)
    r = run("analyze", src)
    assert r.exit_code == 0 and "high[unprotected-funds]" in r.output and "^^^" in r.output
    assert run("analyze", src, "--fail-on", "high").exit_code == 1
    assert (
        run("analyze", ROOT / "contracts" / "escrow.deed", "--fail-on", "informational").exit_code
        == 0
    )
    data = json.loads(run("analyze", src, "--json").output)
    assert data["contracts"][0]["findings"][0]["line"] >= 1
    assert "pay" in data["contracts"][0]["gas"]
    jsonschema.validate(json.loads(run("analyze", src, "--sarif").output), SCHEMA)


def test_suppression_needs_a_reason(tmp_path):
    justified = DRAIN.replace(
        "    pub pay(",
        "    # deed: allow(unprotected-funds) the treasury is a faucet on a test chain\n    # deed: allow(caller-controlled-send) same faucet\n    pub pay(",
    )
    a = analyze(compile_source(justified, "t.deed"))
    # above the function: each silences its detector anywhere in pay
    assert {f.detector for f, _ in a.suppressed} == {"unprotected-funds", "caller-controlled-send"}
    assert all(s.reason for _, s in a.suppressed)
    bare = DRAIN.replace("    pub pay(", "    # deed: allow(unprotected-funds)\n    pub pay(")
    a = analyze(compile_source(bare, "t.deed"))
    assert "unprotected-funds" in {f.detector for f in a.findings} and a.unjustified
    src = tmp_path / "t.deed"
    src.write_text(bare)
    assert "has no reason" in run("analyze", src).output


def test_suppression_of_a_send_line(tmp_path):
    text = DRAIN.replace(
        "        send(to, amount)",
        "        send(to, amount)  # deed: allow(caller-controlled-send) recipients are vetted off-chain",
    )
    a = analyze(compile_source(text, "t.deed"))
    assert "caller-controlled-send" not in {f.detector for f in a.findings}
    assert "caller-controlled-send" in {f.detector for f, _ in a.suppressed}


def test_printers():
    ctx = Context(compile_file("contracts/escrow.deed"))
    text = summary(ctx)
    assert "confirm_delivery" in text and "guarded" in text
    # every effect of a public function is listed with what guards it
    assert "send to self.seller" in text and "guarded by msg.sender == self.buyer" in text
    dot = call_graph(ctx)
    assert dot.startswith('digraph "Escrow calls"') and '"confirm_delivery" -> "release";' in dot
    graph = cfg(ctx, "resolve")
    assert graph.startswith('digraph "resolve"') and 'label="true"' in graph
    assert run("analyze", ROOT / "contracts" / "escrow.deed", "--print", "cfg").exit_code == 0


def test_detectors_declare_their_metadata():
    for d in DETECTORS:
        assert d.id and d.title and d.finds and d.why and d.fix
    try:

        class Incomplete(Detector):  # noqa: F841 - defining it is the test
            id = "x"

    except TypeError as exc:
        assert "lacks" in str(exc)
    else:
        raise AssertionError("a detector without metadata must be refused")


def test_spec_catalogue_is_current():
    from deed.analyzer import docs

    text = (ROOT / "spec" / "analyzer.md").read_text()
    assert docs.render(text) == text, "run: python -m deed.analyzer.docs spec/analyzer.md"
    for d in DETECTORS:
        assert f"### {d.id}" in text


def test_contract_specs_gas_tables_are_current():
    from deed.analyzer import docs

    for spec in sorted((ROOT / "spec" / "contracts").glob("*.md")):
        text = spec.read_text()
        assert docs.render_gas_tables(text) == text, (
            f"run: python -m deed.analyzer.docs ({spec.name})"
        )


def by_id(*ids: str) -> list:
    return [d for d in DETECTORS if d.id in ids]


def silenced(a) -> dict[str, list[int]]:
    """Detector id -> lines of the findings an allow silenced."""
    out: dict[str, list[int]] = {}
    for f, _ in a.suppressed:
        out.setdefault(f.detector, []).append(f.span.line)
    return out


PAYER = """contract Payer:
    event Paid(to: address, amount: uint)
    pub pay(to: address, amount: uint):
        send(to,
             amount)
        emit Paid(to, amount)
"""


def test_allow_on_any_line_of_a_multi_line_finding():
    on_first = PAYER.replace("send(to,", "send(to,  # deed: allow(caller-controlled-send) vetted")
    on_last = PAYER.replace(
        "  amount)\n", "  amount)  # deed: allow(caller-controlled-send) vetted\n"
    )
    for text in (on_first, on_last):
        a = analyze(compile_source(text, "t.deed"), detectors=by_id("caller-controlled-send"))
        assert a.findings == [] and silenced(a) == {"caller-controlled-send": [4]}
        assert a.unused == []


def test_allow_in_the_comment_lines_above_a_finding():
    above = PAYER.replace(
        "        send(to,",
        "        # deed: allow(caller-controlled-send) recipients are vetted\n"
        "        # (by the desk, off-chain)\n"
        "        send(to,",
    )
    a = analyze(compile_source(above, "t.deed"), detectors=by_id("caller-controlled-send"))
    assert a.findings == [] and silenced(a) == {"caller-controlled-send": [6]}
    # a blank line ends the run: the allow no longer reaches the send
    apart = above.replace("        # (by the desk, off-chain)\n", "        # (by the desk)\n\n")
    a = analyze(compile_source(apart, "t.deed"), detectors=by_id("caller-controlled-send"))
    assert [f.span.line for f in a.findings] == [7] and [s.line for s in a.unused] == [4]


def test_allow_above_a_function_covers_it_decorators_included():
    text = """contract Payer:
    event Paid(to: address, amount: uint)
    # deed: allow(caller-controlled-send) a faucet: anyone names a recipient
    @payable
    pub pay(to: address, back: address, amount: uint):
        send(to, amount)
        send(back, amount + msg.value)
        emit Paid(to, amount)
    pub refund(to: address, amount: uint):
        send(to, amount)
        emit Paid(to, amount)
"""
    a = analyze(compile_source(text, "t.deed"), detectors=by_id("caller-controlled-send"))
    assert silenced(a) == {"caller-controlled-send": [6, 7]}
    # the next function is not covered
    assert [(f.function, f.span.line) for f in a.findings] == [("refund", 10)]
    assert a.unused == []


def test_an_allow_on_a_declaration_does_not_reach_the_one_before():
    text = """contract Notes:
    old: uint
    spare: uint  # deed: allow(unused-state) kept for the next version
    pub note(x: uint):
        self.old = x
        self.spare = x
"""
    a = analyze(compile_source(text, "t.deed"), detectors=by_id("unused-state"))
    assert silenced(a) == {"unused-state": [3]}
    assert [f.span.line for f in a.findings] == [2]


STALE = """contract Counter:
    n: uint
    # deed: allow(send-in-loop) at most ten members
    pub bump():
        self.n += 1
    @view
    pub get() -> uint:
        return self.n
"""


def test_unused_allows_are_reported_in_every_format(tmp_path):
    a = analyze(compile_source(STALE, "t.deed"))
    assert a.findings == [] and [(s.detector, s.line) for s in a.unused] == [("send-in-loop", 3)]
    src = tmp_path / "t.deed"
    src.write_text(STALE)
    r = run("analyze", src)
    assert f"{src}:3: unused suppression allow(send-in-loop): it matches no finding" in r.output
    assert "1 suppression silencing nothing" in r.output
    # a stale allow is a note, not a finding: --fail-on ignores it
    assert run("analyze", src, "--fail-on", "informational").exit_code == 0
    data = json.loads(run("analyze", src, "--json").output)["contracts"][0]
    assert data["unused_suppressions"] == [
        {"detector": "send-in-loop", "reason": "at most ten members", "file": str(src), "line": 3}
    ]
    doc = json.loads(run("analyze", src, "--sarif").output)
    jsonschema.validate(doc, SCHEMA)
    [result] = doc["runs"][0]["results"]
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert result["ruleId"] == "unused-suppression" and result["level"] == "note"
    assert rules[result["ruleIndex"]]["id"] == "unused-suppression"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}


def test_an_allow_for_a_detector_that_did_not_run_is_not_unused():
    out = compile_source(STALE, "t.deed")
    assert analyze(out, detectors=by_id("unused-state")).unused == []
    assert [s.line for s in analyze(out, detectors=by_id("send-in-loop")).unused] == [3]


def test_an_allow_naming_no_detector_is_reported(tmp_path):
    text = STALE.replace("send-in-loop", "send-in-lop")
    a = analyze(compile_source(text, "t.deed"))
    assert [(s.detector, s.line) for s in a.unknown] == [("send-in-lop", 3)] and a.unused == []
    src = tmp_path / "t.deed"
    src.write_text(text)
    assert (
        f"{src}:3: unknown detector in allow(send-in-lop): no detector has this id; "
        "did you mean send-in-loop?" in run("analyze", src).output
    )
    assert json.loads(run("analyze", src, "--json").output)["contracts"][0][
        "unknown_suppressions"
    ] == [{"detector": "send-in-lop", "reason": "at most ten members", "file": str(src), "line": 3}]
    doc = json.loads(run("analyze", src, "--sarif").output)
    jsonschema.validate(doc, SCHEMA)
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["unknown-suppression"]


def test_a_file_of_several_contracts_reports_each_allow_once(tmp_path):
    text = """contract A:
    # deed: allow(unused-state) read by the next version
    n: uint
    pub set(x: uint):
        self.n = x
# deed: allow(unused-function) stale, above B
contract B:
    m: uint
    pub set(x: uint):
        self.m = x
    @view
    pub get() -> uint:
        return self.m
"""
    a = analyze(compile_source(text, "t.deed", "A"))
    assert silenced(a) == {"unused-state": [3]} and a.unused == []
    b = analyze(compile_source(text, "t.deed", "B"))
    # A's allow matched nothing in B, and is not B's to report
    assert [(s.detector, s.line) for s in b.unused] == [("unused-function", 6)]
    src = tmp_path / "t.deed"
    src.write_text(text)
    assert run("analyze", src).output.count("unused suppression") == 1


def test_an_allow_is_a_comment_not_the_text_of_a_string():
    text = """contract Notes:
    n: uint
    pub note(x: uint):
        require(x > 0, "# deed: allow(unused-state) not a comment")
        self.n = x  # deed: allow(unused-state) the "next" version reads it
"""
    a = analyze(compile_source(text, "t.deed"), detectors=by_id("unused-state"))
    [(line, reason)] = [(s.line, s.reason) for s in suppressions(text)]
    assert (line, reason) == (5, 'the "next" version reads it')
    assert a.unused == [s for s in suppressions(text)]


# ---------------------------------------------------------------- totality

_CORPUS_FILES = sorted(
    p
    for p in [*ROOT.glob("contracts/**/*.deed"), *ROOT.glob("tests/audit_corpus/*/*.deed")]
    if p.read_text().count("contract ") == 1
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_CORPUS_FILES), st.data())
def test_the_analyzer_is_total_on_contracts_with_lines_removed(path, data):
    """Dropping lines (a require, a write, a call, a whole branch) leaves
    contracts the analyzer has never seen; whatever still compiles is analysed
    to the end, every finding placed in the source."""
    from deed.compiler.diagnostics import CompileError

    lines = path.read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        if len(lines) > 3:
            del lines[data.draw(st.integers(1, len(lines) - 1))]
    text = "\n".join(lines) + "\n"
    try:
        out = compile_source(text, path.name)
        _ = out.ir
    except CompileError:
        return
    a = analyze(out, with_gas=True)
    assert all(1 <= f.span.line <= len(lines) + 1 for f in a.findings)


def test_an_authority_nobody_sets_is_high():
    text = """contract Treasury:
    event OwnerChanged(owner: address)
    owner: address
    pub change_owner(new_owner: address):
        require(msg.sender == self.owner, "owner only")
        self.owner = new_owner
        emit OwnerChanged(new_owner)
"""
    a = analyze(compile_source(text, "t.deed"), detectors=by_id("uninitialized-state"))
    assert [(f.impact, f.span.line) for f in a.findings] == [("high", 3)]
