"""deed analyze: reports (text, JSON, SARIF validated against its schema),
suppressions, --fail-on, printers, and the standard contracts analyze clean."""

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from deed.analyzer.context import Context
from deed.analyzer.detectors import DETECTORS
from deed.analyzer.model import Detector
from deed.analyzer.printers import call_graph, cfg, summary
from deed.analyzer.report import sarif
from deed.analyzer.run import analyze
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
    assert {f.detector for f, _ in a.suppressed} == {"unprotected-funds"}
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
    assert "confirm_delivery" in text and "checked caller" in text
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
