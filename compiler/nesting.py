"""The nesting limit: how deep the constructs of a declaration may nest.

The checker, lowering, the optimiser, code generation and the analyzer walk
blocks and expression trees recursively, one Python frame or a few per level.
Parsing is iterative (LALR, then a non-recursive tree transform), and this
check walks the AST iteratively right after it: a source that nests deeper
than :data:`MAX_NESTING` gets a diagnostic before any recursive phase runs, so
no source can reach Python's recursion limit. 64 levels leave those phases a
wide margin (``tests/test_compiler_limits.py`` measures it) and are far more
than a contract needs.

A level is a node of the syntax tree below a declaration: a block inside an
``if`` or a loop, an argument of a call, an operand of an operator. An
operator chain counts one level per operator (``a + b + c`` is two), as the
phases see it; an ``elif`` chain is flat, however long.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from . import ast

MAX_NESTING = 64
MESSAGE = f"this is nested more than {MAX_NESTING} levels deep"
HINT = (
    "each block, call argument and operator adds a level: "
    "name inner parts with local variables, or move them into a function"
)

# Nodes that cost more than one level to the phases after parsing: ``a and b and c``
# is one node here, but a chain of two in the IR.
_LEVELS: dict[type, Callable[[ast.Node], int]] = {
    ast.BoolOp: lambda node: max(1, len(node.values) - 1),
}
_NOT_CHILDREN = {"span", "name_span", "type", "ref"}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def too_deep(tree: ast.SourceFile) -> list[ast.Node]:
    """For each declaration that nests deeper than the limit, its first node below it."""
    found = (_first_too_deep(root) for root in _declarations(tree))
    return [node for node in found if node is not None]


def _declarations(tree: ast.SourceFile) -> Iterator[ast.Node]:
    for holder in (*tree.contracts, *tree.libraries):
        yield from holder.members
    for iface in tree.interfaces:
        yield from iface.methods


def _first_too_deep(root: ast.Node) -> ast.Node | None:
    """The first node, in source order, below the limit (an explicit stack: no recursion)."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return node
        below = depth + _LEVELS.get(type(node), _one)(node)
        stack.extend((child, below) for child in reversed(children(node)))
    return None


def _one(node: ast.Node) -> int:
    return 1


def children(node: ast.Node) -> list[ast.Node]:
    """The syntax nodes directly inside ``node``."""
    names = _CHILD_FIELDS.get(type(node))
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node) if f.name not in _NOT_CHILDREN)
        _CHILD_FIELDS[type(node)] = names
    out: list[ast.Node] = []
    for name in names:
        value = getattr(node, name)
        if isinstance(value, ast.Node):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.Node))
    return out
