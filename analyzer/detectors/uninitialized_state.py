from deed.compiler import ir
from deed.compiler import types as T

from ..flow import nodes_of
from ..model import Detector, Finding
from ..taint import root_of
from .unprotected_role_change import authority_roots


class UninitializedState(Detector):
    id = "uninitialized-state"
    title = "State read but never written"
    impact = "low"
    confidence = "medium"
    finds = "A state variable, or a field of a struct kept in state, that some function reads and no reachable code ever writes: no write at all, writes only in dead code or in helpers nobody calls, or only behind a check of the caller against state that is itself never set. High when the variable decides who may act (an owner, an oracle, a signer)."
    why = "It always holds its zero value: a zero address as owner, a zero limit, a zero price. An authority that is never set locks every function it guards, or, as a signer, may accept what it should refuse."
    fix = "Set it in init (or in a function someone can call), or replace it with a constant."

    def detect(self, ctx):
        written = ctx.access.initialized
        authorities = authority_roots(ctx)
        spans = ctx.state_spans()
        out = []
        for path in sorted(_read_paths(ctx)):
            if _covered(path, written):
                continue
            name = root_of(path)
            high = name in authorities
            what = _field_name(ctx, path)
            message = f"{what} is read but no reachable code writes it: it is always zero"
            if high:
                message += "; it decides who may act"
            out.append(
                Finding(
                    self.id, "high" if high else self.impact, self.confidence, message, spans[name]
                )
            )
        return _first_per_variable(out)


def _read_paths(ctx) -> set[str]:
    out: set[str] = set()
    for f in ctx.program.functions:
        for b in f.blocks:
            for s in [*b.stmts, b.term]:
                for n in nodes_of(s):
                    if isinstance(n, ir.Load):
                        path = ctx.access.path_of(f, n.key)
                        if path is not None:
                            out.add(path)
    return out


def _covered(path: str, written: set[str]) -> bool:
    """Some write reaches ``path``: the same storage, a whole record holding
    it, or a field inside it (a record written field by field)."""
    return any(w == path or path.startswith(w + "[") or w.startswith(path + "[") for w in written)


def _field_name(ctx, path: str) -> str:
    """``policy[1]`` as ``policy.daily_limit`` when the state is a struct."""
    name = root_of(path)
    rest = path[len(name) :]
    t = dict(ctx.program.state).get(name)
    parts = [name]
    for piece in rest.strip("[]").split("][") if rest else []:
        if isinstance(t, T.StructType) and piece.isdigit() and int(piece) < len(t.fields):
            field, t = t.fields[int(piece)]
            parts.append(f".{field}")
        else:
            parts.append(f"[{piece}]")
            t = getattr(t, "value", None)
    return "".join(parts)


def _first_per_variable(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f.message not in seen:
            seen.add(f.message)
            out.append(f)
    return out
