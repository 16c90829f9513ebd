"""Printers for reading a contract: a function summary table, the call graph
and each function's control-flow graph (Graphviz DOT)."""

from __future__ import annotations

from deed.compiler import ir

from .context import Context


def summary(ctx: Context) -> str:
    """Each function: who may call it, whether it moves funds, what it reads,
    writes and calls; under each public function, every effect a transaction
    can have and what guards it (or why a payout needs no guard)."""
    rows = [
        f"contract {ctx.program.contract}",
        f"{'function':<24} {'who may call':<18} {'funds':<6} reads / writes / calls",
    ]
    for f in ctx.program.functions:
        s = ctx.summaries[f.name]
        kind = " view" if f.view else " payable" if f.payable else ""
        rows.append(
            f"{f.name + kind:<24} {_who(ctx, f):<18} {'yes' if s.sends else 'no':<6} "
            f"reads {', '.join(sorted(s.reads)) or '-'}; writes {', '.join(sorted(s.writes)) or '-'}; "
            f"calls {', '.join(sorted(s.calls) + s.external_calls) or '-'}"
        )
        if f.public and not f.is_init:
            rows += [f"    {line}" for line in _effects(ctx, f)]
    return "\n".join(rows)


def _who(ctx: Context, f: ir.Function) -> str:
    if f.is_init:
        return "deployment"
    if not f.public:
        return "internal"
    effects = ctx.access.entry_effects(f)
    if effects and all(e.guards for e in effects):
        return "guarded"
    if any(e.guards for e in effects):
        return "partly guarded"
    return "anyone"


def _effects(ctx: Context, f: ir.Function) -> list[str]:
    lines = []
    for e in ctx.access.entry_effects(f):
        what = _effect_text(ctx, e)
        if e.guards:
            why = "guarded by " + ", ".join(g.text() for g in e.guards)
        elif e.moves_value:
            why = ctx.payouts.reason(f, e) or "UNGUARDED"
        else:
            why = "unguarded"
        via = f" (in {' -> '.join(e.via)})" if e.via else ""
        lines.append(f"{what}{via}: {why}")
    return list(dict.fromkeys(lines))


def source_text(ctx: Context, e: ir.Expr) -> str:
    """An IR expression written roughly as the source would: state by name."""
    if isinstance(e, ir.Load):
        return source_text(ctx, e.key)
    if isinstance(e, ir.SlotKey):
        return f"self.{ctx.state_name(e.slot)}"
    if isinstance(e, ir.MapKey):
        return f"{source_text(ctx, e.base)}[{source_text(ctx, e.key)}]"
    if isinstance(e, ir.Local):
        return e.name
    if isinstance(e, ir.Env):
        return e.name
    if isinstance(e, ir.Const):
        return "0x" + e.value.hex() if isinstance(e.value, bytes) else str(e.value)
    return ir.format_expr(e)


def _effect_text(ctx: Context, e) -> str:
    if e.kind == "send":
        return f"send to {source_text(ctx, e.to)}"
    if e.kind == "store":
        return f"write {e.path or 'storage'}"
    value = " with value" if e.moves_value else ""
    return f"call {e.call.interface}.{e.call.method}{value}"


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
