"""Oracle keys and signed reports for tests, on :mod:`deed.vm.oracle`.

A contract takes its signer set as the oracles' public keys concatenated
(``bytes(keys)`` or ``keys.signer_set``) and checks a report's signatures by
each signer's index in that set, so an :class:`OracleKey` remembers its index
and ``keys[:2]`` still signs as signers 0 and 1.

A report's data is its declared fields in order, 32 bytes each (integers
big-endian, ``bytes32`` as they are): :class:`ReportType` holds a
``report Name(...)`` declaration's field names and types, read from the
compiled source or from an ABI's ``reports``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from deed.vm import packing
from deed.vm.crypto import KeyPair
from deed.vm.oracle import sign_report as _sign
from deed.vm.oracle import signer_set
from deed.vm.types import ValueType, parse_type

from .values import ArgumentError


@dataclass(frozen=True)
class OracleKey:
    """One oracle's key and its index in the signer set it was made for."""

    index: int
    key: KeyPair

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    def __bytes__(self) -> bytes:
        return self.key.public_key


class OracleKeys(list):
    """A signer set: a list of :class:`OracleKey`; ``bytes(keys)`` is what a
    contract takes as its ``oracles``."""

    @classmethod
    def make(cls, n: int, label: str = "oracle") -> OracleKeys:
        """``n`` deterministic keys (the same label gives the same keys)."""
        if not 1 <= n <= 16:
            raise ValueError(f"a signer set has 1 to 16 keys, not {n}")
        return cls(_oracle_key(label, i) for i in range(n))

    @property
    def signer_set(self) -> bytes:
        return signer_set([k.key for k in self])

    def __bytes__(self) -> bytes:
        return self.signer_set


@lru_cache(maxsize=1024)
def _oracle_key(label: str, index: int) -> OracleKey:
    return OracleKey(index, KeyPair.from_text(f"{label} {index}"))


@dataclass(frozen=True)
class ReportType:
    """A ``report Name(field: type, ...)`` declaration: what its data holds."""

    name: str
    fields: tuple[tuple[str, ValueType], ...]

    def data(self, values: Mapping[str, object] | Sequence[object]) -> bytes:
        """The report's data: the fields (by name or in order), 32 bytes each."""
        names = [n for n, _ in self.fields]
        if isinstance(values, Mapping):
            unknown = sorted(set(values) - set(names))
            missing = [n for n in names if n not in values]
            if unknown or missing:
                raise ArgumentError(
                    f"{self.name} has the fields {', '.join(names)}"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                )
            values = [values[n] for n in names]
        if len(values) != len(names):
            raise ArgumentError(f"{self.name} takes {len(names)} fields ({', '.join(names)})")
        try:
            return packing.encode([t for _, t in self.fields], list(values))
        except (ValueError, OverflowError, TypeError) as exc:
            raise ArgumentError(f"{self.name}: {exc}") from None


def report_types(contract_node) -> dict[str, ReportType]:
    """The report declarations of a parsed contract (``out.checked.node``)."""
    from deed.compiler import ast  # the compiler only where a source was compiled

    out = {}
    for m in contract_node.members:
        if isinstance(m, ast.ReportDef):
            out[m.name] = ReportType(
                m.name, tuple((p.name, parse_type(p.type_expr.name)) for p in m.params)
            )
    return out


def report_types_of_abi(abi: Mapping) -> dict[str, ReportType]:
    """The report types an ABI lists (``"reports"``; none in an ABI older than them)."""
    out = {}
    for r in abi.get("reports") or []:
        fields = tuple((f["name"], parse_type(f["type"])) for f in r["fields"])
        out[r["name"]] = ReportType(r["name"], fields)
    return out


Signers = Iterable[OracleKey | tuple[int, KeyPair]]


def sign(report: ReportType, fields, signers: Signers, timestamp: int) -> bytes:
    """The signed report bytes a contract's ``oracle_report`` takes."""
    if not 0 <= timestamp < 2**64:
        raise ArgumentError(f"a report's timestamp is 0 to 2**64-1 seconds, not {timestamp}")
    pairs = [(s.index, s.key) if isinstance(s, OracleKey) else tuple(s) for s in signers]
    return _sign(timestamp, report.data(fields), pairs)  # type: ignore[arg-type]
