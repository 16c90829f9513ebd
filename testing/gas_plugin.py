"""pytest hooks for gas: the ``--deed-gas-report`` option, and the per-test gas
totals ``deed snapshot`` writes.

A plugin module of its own (entry point ``deed-gas`` in pyproject.toml), not
part of ``deed.testing.plugin``: the fixtures and the gas hooks are registered
separately, so neither module has to import or list the other.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from .gas import RECORDER, render

_START = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deed")
    group.addoption(
        "--deed-gas-report",
        action="store_true",
        default=False,
        help="print the gas of every contract function the tests called (min, avg, median, max)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Only this session's transactions go in its report (pytest may run inside pytest)."""
    session.config.stash[_START] = RECORDER.mark()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("deed_gas_report"):
        return
    summary = RECORDER.summary(since=config.stash.get(_START, 0))
    terminalreporter.write_sep("=", "deed gas report")
    terminalreporter.write_line(render(summary))


class SnapshotCollector:
    """The gas each test's own body sent (its call phase, not its fixtures' setup,
    like forge leaves out ``setUp``), by test id; given to ``pytest.main`` as a plugin."""

    def __init__(self) -> None:
        self.gas: dict[str, int] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        before = RECORDER.sent
        try:
            return (yield)
        finally:
            self.gas[item.nodeid] = RECORDER.sent - before

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test that failed or was skipped has no snapshot line."""
        if report.when == "call" and not report.passed:
            self.gas.pop(report.nodeid, None)
