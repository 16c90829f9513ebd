"""Optimiser passes on the IR. Each pass is a function Program -> Program
(in place) with one job; :data:`PASSES` is the default order.

- ``fold_constants``: evaluate operations on constants when the result is
  certain (never folds an operation that would revert: that stays a run-time
  revert, with its gas), and turn branches on constants into jumps.
- ``thread_jumps``: retarget jumps to blocks that only jump on.
- ``remove_unreachable``: drop blocks no path reaches.
- ``merge_blocks``: join a block to its only predecessor when that one jumps to it.
"""

from __future__ import annotations

from . import ir
from . import types as T
from .arith import fold_binary

_COMPARE = {
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


def fold_expr(e: ir.Expr) -> ir.Expr:
    """Fold ``e`` bottom-up; returns the same node or a Const."""
    if isinstance(e, ir.Unary):
        e.operand = fold_expr(e.operand)
        v = e.operand
        if isinstance(v, ir.Const):
            if e.op == "not":
                return ir.Const(T.BOOL, not v.value)
            if (
                e.op in ("neg", "cast")
                and isinstance(e.type, T.IntType)
                and not isinstance(v.value, bytes)
            ):
                r = -int(v.value) if e.op == "neg" else int(v.value)
                lo, hi = e.type.range
                if lo <= r <= hi:
                    return ir.Const(e.type, r)
        return e
    if isinstance(e, ir.Binary):
        e.left, e.right = fold_expr(e.left), fold_expr(e.right)
        a, b = e.left, e.right
        if isinstance(a, ir.Const) and isinstance(b, ir.Const) and isinstance(e.type, T.IntType):
            r = fold_binary(e.op, int(a.value), int(b.value))
            if r is not None:
                lo, hi = e.type.range
                if lo <= r <= hi:
                    return ir.Const(e.type, r)
        return e
    if isinstance(e, ir.Compare):
        e.left, e.right = fold_expr(e.left), fold_expr(e.right)
        a, b = e.left, e.right
        if isinstance(a, ir.Const) and isinstance(b, ir.Const) and type(a.value) is type(b.value):
            return ir.Const(T.BOOL, _COMPARE[e.op](a.value, b.value))
        if (
            isinstance(a, ir.Const)
            and isinstance(b, ir.Const)
            and not isinstance(a.value, bytes)
            and not isinstance(b.value, bytes)
        ):
            return ir.Const(T.BOOL, _COMPARE[e.op](int(a.value), int(b.value)))
        return e
    if isinstance(e, ir.Logic):
        e.left, e.right = fold_expr(e.left), fold_expr(e.right)
        a, b = e.left, e.right
        if isinstance(a, ir.Const) and isinstance(b, ir.Const):
            return ir.Const(
                T.BOOL,
                (bool(a.value) and bool(b.value))
                if e.op == "and"
                else (bool(a.value) or bool(b.value)),
            )
        if isinstance(a, ir.Const):  # both sides are simple: the other decides
            if e.op == "and":
                return b if a.value else ir.Const(T.BOOL, False)
            return ir.Const(T.BOOL, True) if a.value else b
        return e
    if isinstance(e, ir.MapKey):
        e.base, e.key = fold_expr(e.base), fold_expr(e.key)
    elif isinstance(e, ir.Load):
        e.key = fold_expr(e.key)
    elif isinstance(e, ir.Builtin | ir.Call):
        e.args = [fold_expr(a) for a in e.args]
    elif isinstance(e, ir.Multi):
        e.items = [fold_expr(a) for a in e.items]
    elif isinstance(e, ir.ExtCall):
        e.target = fold_expr(e.target)
        e.value = fold_expr(e.value) if e.value is not None else None
        e.args = [fold_expr(a) for a in e.args]
    return e


def fold_constants(p: ir.Program) -> ir.Program:
    for f in p.functions:
        for b in f.blocks:
            kept = []
            for s in b.stmts:
                _fold_stmt(s)
                if isinstance(s, ir.Require) and isinstance(s.cond, ir.Const) and s.cond.value:
                    continue  # always true
                kept.append(s)
            b.stmts = kept
            t = b.term
            _fold_stmt(t)
            if isinstance(t, ir.Branch) and isinstance(t.cond, ir.Const):
                b.term = ir.Jump(t.if_true if t.cond.value else t.if_false)
    return p


def _fold_stmt(s) -> None:
    for name in ("value", "key", "to", "amount", "cond", "message"):
        v = getattr(s, name, None)
        if isinstance(v, ir.Expr):
            setattr(s, name, fold_expr(v))
    if isinstance(s, ir.EmitEvent | ir.RaiseError):
        s.args = [fold_expr(a) for a in s.args]


def thread_jumps(p: ir.Program) -> ir.Program:
    for f in p.functions:
        by_index = {b.index: b for b in f.blocks}

        def final(i: int, by_index: dict[int, ir.Block] = by_index) -> int:
            seen = set()
            while i not in seen:
                seen.add(i)
                blk = by_index[i]
                if blk.stmts or not isinstance(blk.term, ir.Jump):
                    return i
                i = blk.term.target
            return i

        for b in f.blocks:
            t = b.term
            if isinstance(t, ir.Jump):
                t.target = final(t.target)
            elif isinstance(t, ir.Branch):
                t.if_true, t.if_false = final(t.if_true), final(t.if_false)
                if t.if_true == t.if_false and _is_simple(t.cond):
                    b.term = ir.Jump(t.if_true)
    return p


def _is_simple(e: ir.Expr) -> bool:
    from .lower import is_simple

    return is_simple(e)


def remove_unreachable(p: ir.Program) -> ir.Program:
    for f in p.functions:
        by_index = {b.index: b for b in f.blocks}
        seen = {f.blocks[0].index}
        work = [f.blocks[0].index]
        while work:
            for s in by_index[work.pop()].successors():
                if s not in seen:
                    seen.add(s)
                    work.append(s)
        f.blocks = [b for b in f.blocks if b.index in seen]
    return p


def merge_blocks(p: ir.Program) -> ir.Program:
    for f in p.functions:
        preds: dict[int, int] = {}
        for b in f.blocks:
            for s in b.successors():
                preds[s] = preds.get(s, 0) + 1
        by_index = {b.index: b for b in f.blocks}
        merged: set[int] = set()
        for b in f.blocks:
            if b.index in merged:
                continue
            while (
                isinstance(b.term, ir.Jump)
                and preds.get(b.term.target) == 1
                and b.term.target != f.blocks[0].index
                and b.term.target != b.index
            ):
                nxt = by_index[b.term.target]
                b.stmts.extend(nxt.stmts)
                b.term = nxt.term
                merged.add(nxt.index)
        f.blocks = [b for b in f.blocks if b.index not in merged]
    return p


PASSES = [fold_constants, thread_jumps, remove_unreachable, merge_blocks]


def optimize(p: ir.Program, passes=None) -> ir.Program:
    for pass_ in passes if passes is not None else PASSES:
        p = pass_(p)
    return p
