"""A short, fixed slice of the standing fuzzer (``benchmarks/fuzz_modules.py``).

A few hundred mutated modules with a fixed seed: ``load()`` must accept or
reject each with ``DecodeError``/``VerificationError``; accepted ones are
deployed and every export is called on every engine; no Python exception may
escape the host API and no engine may differ from the reference. Longer
campaigns: ``python benchmarks/fuzz_modules.py --cases 5000 --seed S --out DIR``.
"""

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from deed.vm.errors import DecodeError, VerificationError
from deed.vm.module import decode_module
from deed.vm.verifier import load

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_modules.py"
_spec = importlib.util.spec_from_file_location("fuzz_modules", _PATH)
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_modules"] = fuzz
_spec.loader.exec_module(fuzz)

SEED = 8
CASES = 160


@pytest.fixture(scope="module")
def report():
    return fuzz.campaign(CASES, SEED, case_timeout=60)


def test_the_slice_runs_every_case_and_reaches_execution(report):
    assert report.cases == CASES
    assert report.accepted >= CASES // 6, report.rejected
    assert report.calls >= 4 * report.accepted
    # both halves of the loader are exercised: malformed bytes and broken rules
    assert report.rejected["decode"] > 0
    assert sum(v for k, v in report.rejected.items() if k != "decode") > 0


def test_the_slice_finds_no_divergence(report):
    assert report.divergences == 0, fuzz.summary(report)


def test_the_slice_finds_no_host_exception(report):
    assert report.host_exceptions == 0, fuzz.summary(report)


def test_cases_are_a_function_of_seed_and_index():
    corpus = fuzz.build_corpus()
    a = fuzz.mutate(random.Random(f"{SEED}:17"), corpus)
    b = fuzz.mutate(random.Random(f"{SEED}:17"), corpus)
    c = fuzz.mutate(random.Random(f"{SEED}:18"), corpus)
    assert a == b and a != c


def test_structure_aware_mutations_mostly_yield_loadable_modules():
    """Well-typed random code and new exported functions pass the verifier
    often enough to exercise the engines, not only the loader."""
    corpus = fuzz.build_corpus()
    rng = random.Random(5)
    accepted = 0
    trials = 40
    for _ in range(trials):
        m = decode_module(rng.choice(corpus)[1])
        mut = rng.choice([fuzz.s_random_code, fuzz.s_new_exported_function])
        try:
            load(fuzz.encode_module(mut(rng, m)))
            accepted += 1
        except (DecodeError, VerificationError):
            pass
    assert accepted >= trials // 2


def test_relocated_insertion_keeps_jumps_on_their_instructions():
    code = fuzz.ins("JMP", 5) + fuzz.ins("RET")  # jump over nothing to the RET
    out = fuzz.relocate_insert(code, 5, fuzz.ins("JMP", 5))  # a jump to the next instruction
    instrs = fuzz.decode_code(out)
    assert [i.name for i in instrs] == ["JMP", "JMP", "RET"]
    assert instrs[0].args == (10,) and instrs[1].args == (10,)
