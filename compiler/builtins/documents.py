"""The document registry every contract shares (bills)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs
from deed.vm.opcodes import GAS
from deed.vm.state import REGISTRY_KEY_TAG

from .. import ast, ir
from .. import types as T
from .registry import (
    Builtin,
    emit_opcode,
    lower_plain,
    register,
)

if TYPE_CHECKING:
    from ..check.function import FunctionChecker
    from ..lower import _FunctionLowerer

# ------------------------------------------------------------ bills: documents


def _check_register_document(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.BYTES32)
    fc.fn.writes.append(e)
    return T.NONE


register(
    Builtin(
        "register_document",
        "register_document(doc)",
        "registers the document hash `doc: bytes32` in the name of the transaction's signer "
        "(`tx.origin`), held by this contract, in the registry every contract shares, under "
        "`document_key(tx.origin, doc)`; reverts if the signer registered `doc` before (through "
        "any contract), or if this contract was called by another contract",
        (1,),
        _check_register_document,
        lower=lower_plain,
        emit=emit_opcode("DOCREG", pushes=0),
        gas=lambda n: costs.document_registration() + costs.cold_access(),
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
        "document_holder(key) -> address",
        "the contract holding the registry key `key: bytes32` (the zero address if none): "
        "`document_holder(document_key(issuer, doc))` is the contract through which `issuer` "
        "registered `doc`",
        (1,),
        _check_document_holder,
        lower=lower_plain,
        emit=emit_opcode("DOCHOLDER"),
        gas=lambda n: GAS.storage_read + costs.cold_access(),
        opcodes=("DOCHOLDER",),
        on_error=T.ADDRESS,
    )
)


def _check_document_key(fc: FunctionChecker, e: ast.Call) -> T.Type:
    fc.expect(e.args[0], T.ADDRESS)
    fc.expect(e.args[1], T.BYTES32)
    return T.BYTES32


def _lower_document_key(lw: _FunctionLowerer, e: ast.Call) -> ir.Expr:
    """SHA-256 of the tag, the issuer and the document hash: the key the VM
    computes when ``issuer`` registers ``doc`` (deed.vm.state.registry_key)."""
    issuer, doc = (lw.expr(a) for a in e.args)
    tag = ir.Const(T.BytesType(len(REGISTRY_KEY_TAG)), REGISTRY_KEY_TAG)
    data = ir.Builtin(T.BytesType(len(REGISTRY_KEY_TAG) + 52), "concat", [tag, issuer, doc])
    return ir.Builtin(T.BYTES32, "sha256", [data])


register(
    Builtin(
        "document_key",
        "document_key(issuer, doc) -> bytes32",
        "the registry key under which the account `issuer: address` registers the document hash "
        '`doc: bytes32`: SHA-256 of "deed-docreg-v1", the issuer\'s 20 bytes and `doc`, as the VM '
        "computes it",
        (2,),
        _check_document_key,
        lower=_lower_document_key,
        opcodes=("CONCAT", "SHA256"),
        on_error=T.BYTES32,
    )
)
