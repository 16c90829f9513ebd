"""``deed snapshot``: the gas each test sends, written to a file and checked against it.

The file (``.gas-snapshot`` by default) has one line per passing test,
``TEST_ID (gas: N)``, sorted by test id, so that it diffs well under version
control; ``--check`` compares a fresh run with it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import Failure, UsageError

_LINE = re.compile(r"(?P<test>\S.*) \(gas: (?P<gas>[0-9]+)\)")

# pytest's exit codes that still mean "every test that ran passed".
_PASSED = (0,)
_NO_TESTS = 5


@dataclass(frozen=True)
class Change:
    """One line of ``--check``'s answer: a test whose gas differs, or that is new or gone."""

    test: str
    old: int | None
    new: int | None

    def text(self) -> str:
        if self.old is None:
            return f"new: {self.test} (gas: {self.new})"
        if self.new is None:
            return f"missing: {self.test} (gas: {self.old})"
        diff = self.new - self.old
        pct = f", {100 * diff / self.old:+.2f}%" if self.old else ""
        return f"changed: {self.test} (gas: {self.old} -> {self.new}, {diff:+d}{pct})"


def format_snapshot(gas: dict[str, int]) -> str:
    return "".join(f"{test} (gas: {n})\n" for test, n in sorted(gas.items()))


def parse_snapshot(text: str, where: str) -> dict[str, int]:
    """A snapshot file's lines; a line not in the format is a usage error naming it."""
    gas: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.fullmatch(line.rstrip())
        if m is None:
            raise UsageError(
                f"{where}:{number}: not a gas snapshot line (TEST_ID (gas: N)): {line!r}"
            )
        gas[m.group("test")] = int(m.group("gas"))
    return gas


def compare(old: dict[str, int], new: dict[str, int]) -> list[Change]:
    """Every test whose gas is not the same in both, sorted by test id."""
    tests = sorted(old.keys() | new.keys())
    return [Change(t, old.get(t), new.get(t)) for t in tests if old.get(t) != new.get(t)]


def read_snapshot(path: Path) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no gas snapshot {path}: run `deed snapshot` to write one") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a gas snapshot (not UTF-8 text)") from None
    return parse_snapshot(text, str(path))


def measure(paths: tuple[str, ...], match: str | None = None) -> dict[str, int]:
    """Run pytest here, in this process, on ``paths``; the gas of each test that passed.
    A failing run is a failure: a snapshot of a broken suite would only mislead."""
    try:
        import pytest
    except ImportError:
        raise Failure("deed snapshot runs the tests with pytest: pip install pytest") from None
    from deed.testing.gas_plugin import SnapshotCollector

    collector = SnapshotCollector()
    before = set(sys.modules)
    try:
        code = pytest.main([*paths, *(["-k", match] if match else [])], plugins=[collector])
    finally:
        _forget_test_modules(before)
    if code == _NO_TESTS:
        raise Failure(f"no tests collected in {' '.join(paths)}")
    if code not in _PASSED:
        raise Failure(f"the tests did not pass (pytest exit code {int(code)}): no snapshot taken")
    return collector.gas


def _forget_test_modules(before: set[str]) -> None:
    """Drop the test modules and conftests the run imported, so that a second run in
    the same process (a test, a notebook) imports them afresh instead of clashing."""
    prefixes = (sys.prefix, sys.base_prefix)
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        path = getattr(module, "__file__", None) or ""
        if name == "deed" or name.startswith("deed.") or path.startswith(prefixes) or not path:
            continue
        del sys.modules[name]


def snapshot(
    paths: tuple[str, ...], snap: Path, check: bool, match: str | None = None
) -> list[Change]:
    """Write the snapshot, or (``check``) return how the run differs from it.

    With ``match`` (pytest's ``-k``) only the selected tests run: the lines of the
    others stay in the file as they were, and ``--check`` does not call them missing.
    """
    old = read_snapshot(snap) if check or (match and snap.exists()) else {}
    gas = measure(paths, match)
    kept = {} if match is None else {t: n for t, n in old.items() if t not in gas}
    if check:
        return compare({t: n for t, n in old.items() if t not in kept}, gas)
    snap.write_text(format_snapshot(kept | gas), encoding="utf-8")
    return []
