"""The interface description (JSON ABI) written beside each compiled module."""

from __future__ import annotations

from deed.vm.module import selector

from . import types as T
from .check import ContractInfo


def _param(name: str, t: T.Type) -> dict:
    return (
        {"name": name, "type": str(t.vm_type())}
        | ({"deed_type": str(t)} if str(t) != str(t.vm_type()) else {})
        | ({"members": list(t.members)} if isinstance(t, T.EnumType) else {})
    )


def abi_of(info: ContractInfo) -> dict:
    functions = []
    for f in info.functions.values():
        if not (f.public or f.is_init):
            continue
        params = [t.vm_type() for _, t in f.params]
        functions.append(
            {
                "name": f.name,
                "kind": "init" if f.is_init else "function",
                "selector": selector(f.name, params).hex(),
                "inputs": [_param(n, t) for n, t in f.params],
                "outputs": [] if f.returns == T.NONE else [_param("", f.returns)],
                "mutability": "view" if f.view else "payable" if f.payable else "nonpayable",
            }
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
    }
