"""Printers for reading a contract: a function summary table, the call graph
and each function's control-flow graph (Graphviz DOT)."""

from __future__ import annotations

from deed.compiler import ir

from .context import Context


def summary(ctx: Context) -> str:
    rows = [
        f"contract {ctx.program.contract}",
        f"{'function':<24} {'who may call':<18} {'funds':<6} reads / writes / calls",
    ]
    for f in ctx.program.functions:
        s = ctx.summaries[f.name]
        who = (
            "deployment"
            if f.is_init
            else ("anyone" if not s.checks_caller else "checked caller")
            if f.public
            else "internal"
        )
        kind = " view" if f.view else " payable" if f.payable else ""
        rows.append(
            f"{f.name + kind:<24} {who:<18} {'yes' if s.sends else 'no':<6} "
            f"reads {', '.join(sorted(s.reads)) or '-'}; writes {', '.join(sorted(s.writes)) or '-'}; "
            f"calls {', '.join(sorted(s.calls) + s.external_calls) or '-'}"
        )
    return "\n".join(rows)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def call_graph(ctx: Context) -> str:
    lines = [f"digraph {_q(ctx.program.contract + ' calls')} {{", "  node [shape=box];"]
    for f in ctx.program.functions:
        style = "bold" if f.public or f.is_init else "solid"
        lines.append(f"  {_q(f.name)} [style={style}];")
    for f in ctx.program.functions:
        d = ctx.direct[f.name]
        for callee in sorted(d.calls):
            lines.append(f"  {_q(f.name)} -> {_q(callee)};")
        for ext in sorted(set(d.external_calls)):
            lines.append(f"  {_q(ext)} [shape=ellipse];")
            lines.append(f"  {_q(f.name)} -> {_q(ext)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines)


def cfg(ctx: Context, function: str | None = None) -> str:
    out = []
    for f in ctx.program.functions:
        if function is not None and f.name != function:
            continue
        lines = [f"digraph {_q(f.name)} {{", "  node [shape=box, fontname=monospace];"]
        for b in f.blocks:
            body = [ir.format_stmt(s) for s in b.stmts] + [ir.format_stmt(b.term)]
            label = f"b{b.index}:\\l" + "".join(
                line.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for line in body
            )
            lines.append(f'  b{b.index} [label="{label}"];')
            t = b.term
            if isinstance(t, ir.Branch):
                lines.append(f'  b{b.index} -> b{t.if_true} [label="true"];')
                lines.append(f'  b{b.index} -> b{t.if_false} [label="false"];')
            elif isinstance(t, ir.Jump):
                lines.append(f"  b{b.index} -> b{t.target};")
        lines.append("}")
        out.append("\n".join(lines))
    return "\n\n".join(out)
