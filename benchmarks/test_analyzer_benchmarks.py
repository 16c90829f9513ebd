"""Analysis time per standard contract, warm (the contract compiled before
the clock starts; data flow, access model, every detector, gas bounds and the
report, as `deed analyze --gas`). Target: under 200 ms per contract."""

from pathlib import Path

import pytest

from deed.analyzer.report import text
from deed.analyzer.run import analyze
from deed.compiler.driver import compile_source

CONTRACTS = Path(__file__).parent.parent / "contracts"
NAMES = sorted(str(p.relative_to(CONTRACTS).with_suffix("")) for p in CONTRACTS.rglob("*.deed"))


@pytest.mark.parametrize("name", NAMES)
def test_analyze_warm(benchmark, name):
    benchmark.group = "analyze, warm"
    source = (CONTRACTS / f"{name}.deed").read_text()
    out = compile_source(source, f"{name}.deed")
    _ = out.module

    def run():
        return text([analyze(out)], show_gas=True)

    run()
    report = benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    assert "worst-case gas" in report
