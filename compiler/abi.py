"""The interface description (JSON ABI) written beside each compiled module."""

from __future__ import annotations

from deed.vm.module import selector

from . import types as T
from .check import ContractInfo


def _param(name: str, t: T.Type) -> dict:
    if isinstance(t, T.StructType):  # several VM values: its leaves, in field order
        return {
            "name": name,
            "type": t.name,
            "kind": "struct",
            "components": [_param(n, ft) for n, ft in t.fields],
            "vm_types": [str(lt.vm_type()) for lt in T.leaf_types(t)],
        }
    if isinstance(t, T.ListType):  # one bytes value: the elements, packed
        return {
            "name": name,
            "type": str(t.vm_type()),
            "deed_type": str(t),
            "kind": "list",
            "element": _param("", t.elem),
            "capacity": t.capacity,
        }
    if isinstance(t, T.ArrayType):  # one bytes value: exactly its elements, packed
        return {
            "name": name,
            "type": str(t.vm_type()),
            "deed_type": str(t),
            "kind": "array",
            "element": _param("", t.elem),
            "size": t.size,
        }
    return (
        {"name": name, "type": str(t.vm_type())}
        | ({"deed_type": str(t)} if str(t) != str(t.vm_type()) else {})
        | ({"members": list(t.members)} if isinstance(t, T.EnumType) else {})
    )


def _outputs(t: T.Type) -> list[dict]:
    if t == T.NONE:
        return []
    if isinstance(t, T.TupleType):
        return [_param("", e) for e in t.elems]
    return [_param("", t)]


def _flat(types: list[T.Type]) -> dict:
    """The VM signature, when it differs from the declared one (structs, tuples)."""
    if not any(T.is_aggregate(t) for t in types):
        return {}
    return {"vm_types": [str(lt.vm_type()) for t in types for lt in T.leaf_types(t)]}


def abi_of(info: ContractInfo) -> dict:
    functions = []
    for f in info.functions.values():
        if not (f.public or f.is_init):
            continue
        params = [lt.vm_type() for _, t in f.params for lt in T.leaf_types(t)]
        declared = [t for _, t in f.params]
        returned = [] if f.returns == T.NONE else [f.returns]
        functions.append(
            {
                "name": f.name,
                "kind": "init" if f.is_init else "function",
                "selector": selector(f.name, params).hex(),
                "inputs": [_param(n, t) for n, t in f.params],
                "outputs": _outputs(f.returns),
                "mutability": "view" if f.view else "payable" if f.payable else "nonpayable",
            }
            | ({"vm_inputs": _flat(declared)["vm_types"]} if _flat(declared) else {})
            | ({"vm_outputs": _flat(returned)["vm_types"]} if _flat(returned) else {})
        )
    return {
        "contract": info.name,
        "functions": functions,
        "events": [
            {
                "name": e.name,
                "fields": [
                    _param(n, t) | ({"indexed": True} if n in e.indexed else {})
                    for n, t in e.fields
                ],
            }
            for e in sorted(info.events.values(), key=lambda e: e.index)
        ],
        "errors": [
            {"name": e.name, "fields": [_param(n, t) for n, t in e.fields]}
            for e in sorted(info.errors.values(), key=lambda e: e.index)
        ],
        "enums": [{"name": e.name, "members": list(e.members)} for e in info.enums.values()],
        # signed oracle reports the contract takes: what `deed oracle sign` needs to build one
        "reports": [
            {"name": r.name, "fields": [{"name": n, "type": str(t)} for n, t in r.fields]}
            for r in info.reports.values()
        ],
    }
