"""Small queries shared by detectors."""

from __future__ import annotations

from deed.compiler import ir

from ..context import all_nodes, expressions


def statements(f: ir.Function):
    """(block, statement or terminator) pairs in block order."""
    for b in f.blocks:
        for s in b.stmts:
            yield b, s
        yield b, b.term


def nodes(f: ir.Function):
    """(statement, expression node) pairs."""
    for _, s in statements(f):
        for n in all_nodes(s):
            yield s, n


def reachable_from(f: ir.Function, start: int) -> set[int]:
    blocks = {b.index: b for b in f.blocks}
    seen: set[int] = set()
    work = list(blocks[start].successors())
    while work:
        b = work.pop()
        if b not in seen:
            seen.add(b)
            work.extend(blocks[b].successors())
    return seen


def is_param(e: ir.Expr, f: ir.Function) -> bool:
    return isinstance(e, ir.Local) and e.index < len(f.params)


def exposed(f: ir.Function) -> bool:
    """Callable by transactions and changing things: public, not a view, not init."""
    return f.public and not f.view and not f.is_init


def resolved_nodes(ctx, f: ir.Function):
    """(statement, expression node) pairs with locals and helper results
    resolved: ``q = a / b; r = q * c`` shows the quotient inside the product."""
    flow = ctx.access.flows[f.name]
    for b in f.blocks:
        if b.index not in flow.reachable:
            continue
        for s in [*b.stmts, b.term]:
            for e in expressions(s):
                for n in ir.walk(flow.resolve(e, b.index)):
                    yield s, n


def mentions_env(e: ir.Expr, names) -> bool:
    return any(isinstance(n, ir.Env) and n.name in names for n in ir.walk(e))
