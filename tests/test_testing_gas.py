"""deed.testing's gas tools (issue 12): the recorder and its report, the
``--deed-gas-report`` option, ``deed snapshot`` and the ABI strategies."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from deed.cli.main import main
from deed.testing.gas import GasRecorder, GasRow, render

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
