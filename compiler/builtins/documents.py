"""The document registry every contract shares (bills)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs
from deed.vm.opcodes import GAS

from .. import ast
from .. import types as T
from .registry import (
    Builtin,
    emit_opcode,
    lower_plain,
    register,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker

# ------------------------------------------------------------ bills: documents


def _check_register_document(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    fc.fn.writes.append(e)
    return T.NONE


register(
    Builtin(
        "register_document",
        "register_document(id)",
        "records the document hash `id: bytes32` as held by this contract, in the registry every "
        "contract shares; reverts if any contract registered it before",
        (1,),
        _check_register_document,
        lower=lower_plain,
        emit=emit_opcode("DOCREG", pushes=0),
        gas=lambda n: GAS.storage_new_slot + costs.cold_access(),
        opcodes=("DOCREG",),
        on_error=T.NONE,
    )
)


def _check_document_holder(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    return T.ADDRESS


register(
    Builtin(
        "document_holder",
        "document_holder(id) -> address",
        "the contract that registered `id` (the zero address if none)",
        (1,),
        _check_document_holder,
        lower=lower_plain,
        emit=emit_opcode("DOCHOLDER"),
        gas=lambda n: GAS.storage_read + costs.cold_access(),
        opcodes=("DOCHOLDER",),
        on_error=T.ADDRESS,
    )
)
