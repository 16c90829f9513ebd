"""Signed oracle reports and reading their fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs
from deed.vm.opcodes import LIMITS

from .. import ast, ir
from .. import types as T
from .registry import (
    REPORT_DATA,
    Builtin,
    bytes_like,
    emit_opcode,
    lower_plain,
    raw_size,
    register,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..emit import _FunctionEmitter

# ------------------------------------------------------------ oracle reports


def _check_oracle_report(fc: FunctionChecker, e: ast.Call) -> T.Type:
    from ..symbols import TypedReportRef

    args = e.args
    if len(args) == 5 and isinstance(args[0], ast.Name) and args[0].id in fc.c.reports:
        rtype = fc.c.reports[args[0].id]
        e.args = args[1:]
        _check_oracle_data(fc, e)
        e.ref = TypedReportRef(rtype)
        return rtype
    return _check_oracle_data(fc, e)


def _check_oracle_data(fc: FunctionChecker, e: ast.Call) -> T.Type:
    args = e.args
    for a in args[:2]:
        t = fc.expr(a)
        if not bytes_like(t):
            fc.r.error("E0202", f"oracle_report takes bytes here, found {t}", a.span)
    fc.expect(args[2], T.U8)
    fc.expect(args[3], T.U64)
    fc.fn.writes.append(e)  # marks the report used
    return REPORT_DATA


def _oracle_gas(n: ir.Builtin) -> int:
    report = raw_size(n.args[0].type)
    signatures = min(LIMITS.max_oracle_signers, max(0, (report - 11) // 65))
    return (
        costs.oracle_check(report)
        + costs.oracle_signatures(signatures)
        + costs.oracle_use(LIMITS.max_report_data)
        + costs.cold_access()  # the report's used-flag
    )


register(
    Builtin(
        "oracle_report",
        "oracle_report([Report,] report, signers, quorum, max_age) -> bytes",
        "the data of a signed oracle report (`bytes[1024]`), after the VM checked its signatures against "
        "`signers` (the contract's signer set: 1 to 16 keys of 32 bytes), the `quorum` (`u8`), "
        "that it is at most `max_age` seconds old (`u64`), and that this contract never used it "
        "(spec/vm.md); with a `report` declaration `R` first, the checked report typed as `R`, "
        "whose fields are then `r.field`; a statement with effects: not in a view",
        (4, 5),
        _check_oracle_report,
        lower=lower_plain,
        emit=emit_opcode("ORACLE"),
        gas=_oracle_gas,
        opcodes=("ORACLE",),
    )
)


def _check_read(fc: FunctionChecker, e: ast.Call) -> T.Type:
    name = e.ref.builtin.name
    t = fc.expr(e.args[0])
    if not bytes_like(t):
        fc.r.error("E0202", f"{name} reads from bytes, found {t}", e.args[0].span)
    fc.expect(e.args[1], T.UINT)
    return T.UINT if name == "read_uint" else T.BYTES32


def _emit_read(em: _FunctionEmitter, e: ir.Builtin) -> None:
    for a in e.args:
        em.expr(a)
    em.op("CONST", em.const(32), pushes=1)
    em.op("SLICE", pops=3, pushes=1)
    if e.name == "read_uint":
        em.op("B2I", em.int_code(T.UINT), pops=1, pushes=1)


for _name in ("read_uint", "read_bytes32"):
    register(
        Builtin(
            _name,
            f"{_name}(data, offset) -> {'uint' if _name == 'read_uint' else 'bytes32'}",
            "the 32 bytes of `data` at `offset`"
            + (", as a big-endian integer" if _name == "read_uint" else ""),
            (2,),
            _check_read,
            lower=lower_plain,
            emit=_emit_read,
            gas=lambda n: costs.memory(32),
            opcodes=("SLICE", "B2I") if _name == "read_uint" else ("SLICE",),
        )
    )
