"""Gas used by the transactions a test session sends, and the gas report.

Every transaction sent through ``deed.testing``'s contract objects (success or
failure) calls :meth:`GasRecorder.record` on :data:`RECORDER` with the gas its
execution used: the receipt's gas less the transaction's intrinsic gas, so a
function's figure does not move with the size of its arguments' encoding;
views and deployments are not recorded. The ``--deed-gas-report`` option
(``gas_plugin``) and ``deed snapshot`` read it. Entries are kept raw (not folded into running
statistics) so that a median is exact and a caller can take any slice of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple


class GasEntry(NamedTuple):
    """One transaction: which contract and function it called, and the gas it used
    (a tuple, so ``contract, function, gas = entry`` works as well as the names)."""

    contract: str
    function: str
    gas: int


@dataclass(frozen=True, slots=True)
class GasRow:
    """The calls of one function of one contract, as the report shows them."""

    contract: str
    function: str
    calls: int
    min: int
    mean: int
    median: int
    max: int


@dataclass
class GasRecorder:
    """Collects the gas of transactions; ``sent`` only ever grows (``clear`` keeps it),
    so a caller can measure what happened between two moments even across a clear."""

    entries: list[GasEntry] = field(default_factory=list)
    sent: int = 0

    def record(self, contract: str, function: str, gas: int) -> None:
        """Note one transaction (the only call the fixtures make)."""
        self.entries.append(GasEntry(contract, function, int(gas)))
        self.sent += int(gas)

    def clear(self) -> None:
        self.entries.clear()

    def mark(self) -> int:
        """A position in ``entries``: give it to :meth:`summary` to see only what came after."""
        return len(self.entries)

    def summary(self, since: int = 0) -> list[GasRow]:
        """One row per (contract, function), sorted by contract then function."""
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for e in self.entries[since:]:
            groups[(e.contract, e.function)].append(e.gas)
        return [_row(c, f, gas) for (c, f), gas in sorted(groups.items())]


def _row(contract: str, function: str, gas: list[int]) -> GasRow:
    ordered = sorted(gas)
    n = len(ordered)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) // 2
    return GasRow(contract, function, n, ordered[0], sum(ordered) // n, median, ordered[-1])


RECORDER = GasRecorder()

_HEADER = ("Function Name", "min", "avg", "median", "max", "# calls")


def render(summary: list[GasRow]) -> str:
    """The report as text: one table per contract, like ``forge test --gas-report``."""
    if not summary:
        return "No transactions were recorded."
    contracts = sorted({r.contract for r in summary})
    return "\n\n".join(_table(c, [r for r in summary if r.contract == c]) for c in contracts)


def _table(contract: str, rows: list[GasRow]) -> str:
    body = [(r.function, r.min, r.mean, r.median, r.max, r.calls) for r in rows]
    cells = [list(_HEADER)] + [[str(v) for v in row] for row in body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADER))]
    title = f"{contract} contract"
    total = sum(widths) + 3 * (len(widths) - 1)
    widths[0] += max(0, len(title) - total)
    total = sum(widths) + 3 * (len(widths) - 1)
    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    lines = ["+-" + "-" * total + "-+", f"| {title.ljust(total)} |", rule]
    lines.append(_line(cells[0], widths))
    lines.append(rule)
    lines += [_line(row, widths) for row in cells[1:]]
    lines.append(rule)
    return "\n".join(lines)


def _line(row: list[str], widths: list[int]) -> str:
    first = row[0].ljust(widths[0])
    rest = [v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
    return "| " + " | ".join([first, *rest]) + " |"
