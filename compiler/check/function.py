"""The checker of one function body: its scopes, and the statement, expression
and call rules mixed in from their own modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from .. import types as T
from ..diagnostics import Note
from ..symbols import FunctionInfo, LocalInfo
from .calls import CallChecks
from .expressions import ExpressionChecks
from .statements import StatementChecks

if TYPE_CHECKING:
    from .declarations import ContractChecker


class FunctionChecker(StatementChecks, ExpressionChecks, CallChecks):
    def __init__(self, contract: ContractChecker, fn: FunctionInfo):
        self.c = contract
        self.info = contract.info
        self.r = contract.r
        self.fn = fn
        self.scopes: list[dict[str, LocalInfo]] = [{}]
        self.loop_depth = 0
        for (name, t), p in zip(fn.params, fn.node.params, strict=True):
            self.new_local(name, t, p.span, reported=True)  # duplicates: see _unique

    # ------------------------------------------------------------ scopes
    def new_local(
        self,
        name: str,
        t: T.Type,
        span: ast.Span,
        mutable: bool = True,
        reported: bool = False,  # a duplicate parameter: reported with the signature
    ) -> LocalInfo:
        previous = self.lookup(name)
        if previous is not None and not reported:
            self.r.error(
                "E0102",
                f"{name} is already defined",
                span,
                notes=(Note(f"{name} is first defined here", previous.span),),
            )
        elif previous is None and name in self.info.consts:
            const = self.info.consts[name]
            self.r.error(
                "E0102",
                f"{name} is already defined, as a constant",
                span,
                notes=(Note(f"the constant {name} is defined here", const.span),),
            )
        local = LocalInfo(name, t, len(self.fn.locals), mutable, span)
        self.fn.locals.append(local)
        self.scopes[-1][name] = local
        return local

    def lookup(self, name: str) -> LocalInfo | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None
