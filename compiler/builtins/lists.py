"""List and array values (IR only): reading one element of the packed bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deed.vm import costs

from .. import ir
from .. import types as T
from .registry import (
    IR_BUILTINS,
    Builtin,
)

if TYPE_CHECKING:
    from ..emit import _FunctionEmitter

# ------------------------------------------------------------ list values (IR only)


def _emit_element(em: _FunctionEmitter, e: ir.Builtin) -> None:
    """``list_element(data, index, width)``: SLICE(data, index * width, width)."""
    data, index, width = e.args
    em.expr(data)
    em.expr(index)
    em.expr(width)
    em.op("MUL", em.int_code(T.UINT), pops=2, pushes=1)
    em.expr(width)
    em.op("SLICE", pops=3, pushes=1)


# the bytes of element ``index`` of a list value (spec/language.md, list values)
IR_BUILTINS["list_element"] = Builtin(
    "list_element",
    "list_element(data, index, width) -> bytes",
    "the `width` bytes of element `index` of a list value",
    (3,),
    lambda fc, e: T.ERROR,  # never checked: only lowering makes it
    emit=_emit_element,
    gas=lambda n: costs.memory(int(n.args[2].value) if isinstance(n.args[2], ir.Const) else 32),
    opcodes=("MUL", "SLICE"),
)
