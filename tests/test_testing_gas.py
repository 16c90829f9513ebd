"""deed.testing's gas tools (issue 12): the recorder and its report, the
``--deed-gas-report`` option, ``deed snapshot`` and the ABI strategies."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Harness

from deed.cli.abis import call_args
from deed.cli.main import main
from deed.compiler.driver import compile_source
from deed.testing import strategies
from deed.testing.gas import GasRecorder, GasRow, render
from deed.vm.codec import decode_values, encode_values
from deed.vm.types import parse_type

pytest_plugins = ["pytester"]

# A user's test file: its transactions are recorded as the fixtures record them.
USER_TESTS = """
from deed.testing.gas import RECORDER

def test_bump():
    RECORDER.record("Counter", "bump", {bump})
    RECORDER.record("Counter", "bump", 50)

def test_total():
    RECORDER.record("Counter", "total", 7)

def test_nothing():
    pass
"""


def _recorder(*entries: tuple[str, str, int]) -> GasRecorder:
    r = GasRecorder()
    for e in entries:
        r.record(*e)
    return r


# --------------------------------------------------------------------------- recorder


def test_summary_has_one_row_per_function_with_its_statistics():
    r = _recorder(("T", "b", 30), ("T", "a", 10), ("T", "a", 40), ("T", "a", 20), ("S", "x", 5))
    assert r.summary() == [
        GasRow("S", "x", calls=1, min=5, mean=5, median=5, max=5),
        GasRow("T", "a", calls=3, min=10, mean=23, median=20, max=40),
        GasRow("T", "b", calls=1, min=30, mean=30, median=30, max=30),
    ]


def test_an_even_count_takes_the_middle_two_for_the_median():
    assert _recorder(("T", "a", 10), ("T", "a", 21)).summary()[0].median == 15


def test_entries_are_contract_function_gas_tuples():
    assert _recorder(("T", "a", 10)).entries == [("T", "a", 10)]


@settings(max_examples=20)
@given(text=strategies.for_type("string[5]"))
def test_strings_fit_their_size_in_bytes(text):
    assert len(text.encode()) <= 5


def test_summary_since_a_mark_and_clear_keeps_the_running_total():
    r = _recorder(("T", "a", 10))
    mark = r.mark()
    r.record("T", "b", 5)
    assert [row.function for row in r.summary(since=mark)] == ["b"]
    r.clear()
    assert r.summary() == [] and r.sent == 15


def test_render_is_one_table_per_contract():
    text = render(_recorder(("Token", "transfer", 100), ("Counter", "bump", 7)).summary())
    lines = text.splitlines()
    assert "| Counter contract" in lines[1] and "| Function Name | min |" in text
    assert text.index("Counter contract") < text.index("Token contract")
    assert any(line.startswith("| transfer ") and line.endswith("|       1 |") for line in lines)
    assert len({len(line) for line in text.split("\n\n")[0].splitlines()}) == 1  # aligned


def test_render_of_nothing_says_so():
    assert render([]) == "No transactions were recorded."


# --------------------------------------------------------------------------- --deed-gas-report


def test_the_gas_report_option_prints_the_table(pytester: pytest.Pytester):
    pytester.makepyfile(USER_TESTS.format(bump=100))
    result = pytester.runpytest("--deed-gas-report")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*deed gas report*",
            "| Counter contract*",
            "| Function Name | min | avg | median | max | # calls |",
            "| bump          |  50 |  75 |     75 | 100 |       2 |",
            "| total         |   7 |   7 |      7 |   7 |       1 |",
        ]
    )


def test_without_the_option_there_is_no_report(pytester: pytest.Pytester):
    pytester.makepyfile(USER_TESTS.format(bump=100))
    result = pytester.runpytest()
    assert "deed gas report" not in result.stdout.str()


# --------------------------------------------------------------------------- deed snapshot


def _snapshot(*args: str):
    return CliRunner().invoke(main, ["snapshot", *args])


def test_snapshot_writes_one_sorted_line_per_test(pytester: pytest.Pytester):
    pytester.makepyfile(USER_TESTS.format(bump=100))
    result = _snapshot(".")
    assert result.exit_code == 0, result.output
    name = "test_snapshot_writes_one_sorted_line_per_test.py"
    assert (pytester.path / ".gas-snapshot").read_text() == (
        f"{name}::test_bump (gas: 150)\n{name}::test_nothing (gas: 0)\n{name}::test_total (gas: 7)\n"
    )


def test_check_passes_when_nothing_changed_and_lists_changes(pytester: pytest.Pytester):
    path = pytester.makepyfile(USER_TESTS.format(bump=100))
    assert _snapshot(".", "--snap", "gas.snap").exit_code == 0
    same = _snapshot(".", "--snap", "gas.snap", "--check")
    assert same.exit_code == 0 and "the gas matches gas.snap" in same.output
    snap = pytester.path / "gas.snap"
    snap.write_text(snap.read_text().replace("test_total", "test_gone"))
    path.write_text(USER_TESTS.format(bump=120))
    changed = _snapshot(".", "--snap", "gas.snap", "--check")
    assert changed.exit_code == 1
    assert "::test_bump (gas: 150 -> 170, +20, +13.33%)" in changed.output
    assert "missing: " in changed.output and "::test_gone (gas: 7)" in changed.output
    assert "new: " in changed.output and "::test_total (gas: 7)" in changed.output
    assert "error: the gas differs from gas.snap in 3 test(s)" in changed.output


def test_failing_tests_leave_no_snapshot(pytester: pytest.Pytester):
    pytester.makepyfile("def test_broken():\n    assert False\n")
    result = _snapshot(".")
    assert result.exit_code == 1 and "the tests did not pass" in result.output
    assert not (pytester.path / ".gas-snapshot").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no gas snapshot"),
        ("tests/test_a.py::test_a gas 5\n", "gas.snap:1: not a gas snapshot line"),
    ],
)
def test_a_missing_or_malformed_snapshot_is_a_usage_error(pytester, text, message):
    pytester.makepyfile("def test_a():\n    pass\n")
    if text is not None:
        (pytester.path / "gas.snap").write_text(text)
    result = _snapshot(".", "--snap", "gas.snap", "--check")
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_snapshot_needs_tests_to_run(pytester: pytest.Pytester):
    assert "no tests/ here" in _snapshot().output
    assert _snapshot("nowhere").exit_code == 2
    pytester.makepyfile(helper="X = 1\n")
    result = _snapshot(".")
    assert result.exit_code == 1 and "no tests collected" in result.output


# --------------------------------------------------------------------------- strategies

# One parameter of every kind the compiler puts in an ABI, and a tuple return.
ALL_TYPES = """
contract All:
    enum Colour:
        Red
        Green
        Blue
    struct Inner:
        a: u64
        c: Colour
    struct Order:
        buyer: address
        amount: uint
        note: string[8]
        inner: Inner
    last: uint

    pub f(a: u8, b: i16, c: bool, d: address, e: bytes4, g: bytes[5], h: string[6], k: Colour, o: Order, xs: list[u64, 3], fl: list[bool, 2]) -> (u8, Order, list[u64, 3]):
        self.last = 1
        return a, o, xs

    pub g(ys: bytes2[2], ws: i8[2], who: list[address, 2]):
        self.last = 2
"""


@functools.cache
def _compiled():
    return compile_source(ALL_TYPES)


def _entry(name: str) -> dict:
    return next(f for f in _compiled().abi["functions"] if f["name"] == name)


@functools.cache
def _all() -> tuple[dict, bytes, Harness]:
    """The compiled contract's ``f`` entry, and the contract deployed on a chain."""
    h = Harness()
    return _entry("f"), h.deployed(_compiled().module), h


def _params() -> list[dict]:
    """Every parameter of every function of the contract (the representative set)."""
    return [p for f in _compiled().abi["functions"] for p in f["inputs"]]


def _no_keys(name: str) -> bytes:
    raise AssertionError(f"no key lookups expected, got @{name}")


@pytest.mark.parametrize("name", "a b c d e g h k o xs fl ys ws who".split())
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_drawn_values_encode_and_decode_back_equal(name, data):
    """Through the codec (what the VM reads), and the same VM values as the CLI parses them."""
    p = next(p for p in _params() if p["name"] == name)
    value = data.draw(strategies.for_type(p))
    flat = strategies.to_vm(p, value)
    types = strategies.vm_types(p)
    decoded = decode_values(types, encode_values(types, flat))
    assert strategies.from_vm(p, decoded) == value
    assert call_args("f", [strategies.to_cli(value)], {"inputs": [p]}, types, _no_keys) == flat


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_function_arguments_run_and_the_tuple_return_comes_back(data):
    entry, address, h = _all()
    args = data.draw(strategies.for_function(entry))
    flat = [v for p, a in zip(entry["inputs"], args, strict=True) for v in strategies.to_vm(p, a)]
    result = h.call(address, "f", flat)
    assert result.success, result.revert_reason
    a, o, xs = strategies.from_vm(entry["outputs"], result.return_values)
    assert (a, o, xs) == (args[0], args[8], args[9])


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_arrays_of_every_element_kind_are_taken_by_the_vm(data):
    _, address, h = _all()
    g = _entry("g")
    args = data.draw(strategies.for_function(g))
    flat = [v for p, a in zip(g["inputs"], args, strict=True) for v in strategies.to_vm(p, a)]
    assert h.call(address, "g", flat).success


@dataclass
class _Method:
    abi: dict


METHOD = _Method({"inputs": [{"name": "n", "type": "u8"}, {"name": "s", "type": "string[2]"}]})


def test_the_representative_set_has_every_kind():
    assert len(_params()) == 14
    kinds = {p.get("kind") or p.get("deed_type") or p["type"] for p in _params()}
    assert {"struct", "list", "array", "Colour", "address", "string[6]", "bytes[5]"} <= kinds


@settings(max_examples=5)
@given(args=strategies.for_function(METHOD))
def test_for_function_takes_an_object_with_an_abi(args):
    n, s = args
    assert 0 <= n <= 255 and len(s.encode()) <= 2


@settings(max_examples=5)
@given(value=strategies.for_type([{"name": "", "type": "bool"}, "bytes2"]))
def test_type_names_and_lists_of_entries_are_types_too(value):
    assert isinstance(value, tuple) and isinstance(value[0], bool) and len(value[1]) == 2
    assert strategies.vm_types("bytes[8]") == [parse_type("bytes[8]")]


@pytest.mark.parametrize(
    ("bad", "message"),
    [("u7", "unknown type 'u7'"), ({"name": "x"}, "no 'type'"), (5, "not 5")],
)
def test_a_bad_type_is_a_clear_error(bad, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        strategies.for_type(bad)


def test_a_bad_function_entry_is_a_clear_error():
    with pytest.raises(ValueError, match="not an ABI function entry"):
        strategies.for_function({"name": "f"})


# --------------------------------------------------------------------------- docs/testing-gas.md

DOCS = Path(__file__).parent.parent / "docs" / "testing-gas.md"


def _examples() -> dict[str, str]:
    """The doc's examples, each a fenced block after ``<!-- example: NAME -->``."""
    text = DOCS.read_text()
    return dict(re.findall(r"<!-- example: (\S+) -->\n```\w+\n(.*?)```", text, re.S))


def test_the_docs_report_and_snapshot_examples(pytester: pytest.Pytester):
    ex = _examples()
    (pytester.path / "tests").mkdir()
    test_file = pytester.path / "tests" / "test_counter.py"
    test_file.write_text(ex["tests/test_counter.py"])
    report = pytester.runpytest("--deed-gas-report", "tests")
    report.assert_outcomes(passed=2)
    assert ex["report"] in report.stdout.str()
    assert _snapshot().exit_code == 0
    assert (pytester.path / ".gas-snapshot").read_text() == ex[".gas-snapshot"]
    test_file.write_text(ex["tests/test_counter.py"].replace("21_000", "21_500"))
    check = _snapshot("--check")
    assert check.exit_code == 1
    assert all(line in check.output for line in ex["check"].splitlines())


def test_the_docs_fuzzing_example(pytester: pytest.Pytester):
    pytester.makepyfile(test_fuzz=_examples()["tests/test_fuzz.py"])
    pytester.runpytest().assert_outcomes(passed=1)


def test_k_runs_some_tests_and_keeps_the_other_lines(pytester: pytest.Pytester):
    path = pytester.makepyfile(USER_TESTS.format(bump=100))
    assert _snapshot(".").exit_code == 0
    before = (pytester.path / ".gas-snapshot").read_text()
    path.write_text(USER_TESTS.format(bump=120).replace('total", 7', 'total", 9'))
    only = _snapshot(".", "-k", "bump", "--check")
    assert only.exit_code == 1 and "test_bump (gas: 150 -> 170" in only.output
    assert "test_total" not in only.output and "test_nothing" not in only.output
    assert _snapshot(".", "-k", "bump").exit_code == 0
    after = (pytester.path / ".gas-snapshot").read_text()
    assert after == before.replace("test_bump (gas: 150)", "test_bump (gas: 170)")


def test_snapshot_help_has_an_example():
    result = _snapshot("--help")
    assert result.exit_code == 0 and "Example: deed snapshot" in result.output
