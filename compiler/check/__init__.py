"""The checker: name resolution and the type rules of spec/language.md.

It walks the AST once per contract, records what each name refers to
(``node.ref``, a typed reference from :mod:`deed.compiler.symbols`) and the
type of each expression (``node.type``), and reports every independent error
it finds. Lowering reads only what this pass recorded.

One concern per module: ``resolve`` (type expressions), ``declarations``
(a contract's members and its call graph), ``function`` (scopes of one
body), ``statements``, ``expressions`` and ``calls``.
"""

from __future__ import annotations

from ..symbols import (
    ConstInfo,
    ContractInfo,
    EventInfo,
    FunctionInfo,
    LocalInfo,
    StateVarInfo,
)
from .declarations import check, const_eval

__all__ = [
    "ConstInfo",
    "ContractInfo",
    "EventInfo",
    "FunctionInfo",
    "LocalInfo",
    "StateVarInfo",
    "check",
    "const_eval",
]
