"""The gas of every transaction the test contracts send, for reports.

Each contract object of :mod:`deed.testing` calls ``RECORDER.record(...)``
once per transaction it sends (success or failure), with the gas its
execution used: the receipt's gas less the transaction's intrinsic gas (the
fixed cost of carrying the call data), so a function's figure does not move
with the size of its arguments' encoding. Read-only calls of views and
deployments are not recorded. A gas report is built on ``RECORDER.entries``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GasEntry:
    contract: str  # the contract's name, as declared
    function: str
    gas: int


@dataclass
class GasRecorder:
    """Every recorded call, in order (kept minimal: reports summarise it)."""

    entries: list[GasEntry] = field(default_factory=list)

    def record(self, contract: str, function: str, gas: int) -> None:
        self.entries.append(GasEntry(contract, function, gas))

    def clear(self) -> None:
        self.entries.clear()


#: The process-wide recorder every contract object writes to.
RECORDER = GasRecorder()
