"""The adversarial benchmark under pytest-benchmark.

    .venv/bin/python -m pytest benchmarks/adversarial --benchmark-only
    .venv/bin/python -m pytest benchmarks/adversarial --benchmark-only -k "sha256 and translate"

Each attack of ``attacks.ATTACKS`` on each engine is timed applying its
transactions and committing the block on a fresh SQLite node; the median
wall time divided by the gas used is its ns/gas, stored in ``extra_info``
beside the plain loop's ns/gas of the same run and the ratio (the goal:
under 4). ``report.py`` prints the same figures as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import ATTACKS, BY_NAME, measure, run_once  # noqa: E402

from deed.vm.execution import ENGINES  # noqa: E402

_plain: dict[str, float] = {}


def _ns_per_gas(benchmark, attack, engine: str) -> float:
    gas: list[int] = []

    def setup():
        return (attack.setup(engine),), {}

    def run(prepared):
        seconds, used, _ = run_once(prepared)
        gas.append(used)
        prepared.directory.cleanup()

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    return benchmark.stats.stats.median * 1e9 / max(gas)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", [a.name for a in ATTACKS])
def test_attack(benchmark, name, engine):
    benchmark.group = f"adversarial ({engine})"
    attack = BY_NAME[name]
    if engine not in _plain:  # the plain loop of this run, on this engine (median of 3)
        _plain[engine] = measure(BY_NAME["plain loop"], engine, rounds=3).ns_per_gas
    ns = _ns_per_gas(benchmark, attack, engine)
    benchmark.extra_info.update(
        ns_per_gas=round(ns, 2),
        plain_ns_per_gas=round(_plain[engine], 2),
        ratio=round(ns / _plain[engine], 2),
        stresses=attack.path,
    )
