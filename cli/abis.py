"""Contracts' ABIs on the command line: where they are kept, and how arguments
and results go through them.

A module carries only VM types: a struct is its leaf fields, one value each, a
list value is one bytes value, an enum is a ``u8`` (spec/language.md, "Values
beyond scalars"). The ABI (the ``.abi.json`` the compiler writes beside a
module) says what the declared parameters, results, event and error fields
are. ``deed deploy`` keeps the ABI of each contract it deploys beside the
chain, in ``CHAIN.abis/ADDRESS.abi.json`` (addresses are per chain): from the
compiled source, or from the ``.abi.json`` beside a module file when it lists
the module's functions. ``deed call``, ``send`` and ``logs`` read it (or
``--abi FILE``), and then one command-line argument is one declared parameter:

- a struct: a JSON object by field name, ``{"buyer": "@bob", "amount": 5}``,
  or its fields in order, as a JSON array or in parentheses:
  ``(0xab.., 5, true)`` (nested structs nest);
- a list: a JSON array, ``[1, 2, 3]`` or ``["@bob", "0x12.."]``;
- an enum: a member's name (``Open``) or its number; a number past the last
  member is a usage error;
- anything else: as without the ABI.

The flat VM values (each struct field on its own) are taken too. Results print
grouped the same way: ``Order(buyer=0x.., amount=5, paid=true)``, ``[1, 2, 3]``
and enum members by name (``--json``: an object, an array, the name); so do
enum fields of events and of the called contract's typed errors. Without an
ABI everything is the flat VM values, enums by number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from deed.vm.abi import (  # the ABI's structure: shared with deed.testing
    Flattener,
    Members,
    ShapeError,
    decode_elements,
    encode_element,  # noqa: F401  (its home was here: still importable from here)
    group,
    leaves,
    members,
    name_of,
)
from deed.vm.abi import members_of as _members_of
from deed.vm.types import TAG_STRING, ValueType, parse_type

from .errors import UsageError
from .values import KeyLookup, json_value, parse_arg, parse_args, text_value

# --------------------------------------------------------------------------- storage


def store_dir(chain_file: Path) -> Path:
    """Where deploy keeps the ABI of each contract it deploys: beside the chain."""
    return chain_file.parent / (chain_file.name + ".abis")


def abi_path(chain_file: Path, address: bytes) -> Path:
    return store_dir(chain_file) / f"{address.hex()}.abi.json"


def save(chain_file: Path, address: bytes, abi: dict) -> None:
    path = abi_path(chain_file, address)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(abi, indent=2) + "\n")
    except OSError:
        pass  # only a convenience: --abi still works


def load(path: Path) -> dict:
    """An ABI file named on the command line (``--abi``): unreadable is a usage error."""
    abi = _read(path)
    if abi is None:
        raise UsageError(f"cannot read the ABI {path}: not a JSON object")
    return abi


def _read(path: Path) -> dict | None:
    try:
        abi = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return abi if isinstance(abi, dict) else None


def beside(module_file: Path) -> dict | None:
    """The ABI ``deed compile`` wrote beside a module file, if it is there."""
    return _read(module_file.with_suffix(".abi.json"))


def matches(abi: dict, module) -> bool:
    """True when the ABI lists exactly the module's functions (a stale ABI file does not)."""
    try:
        listed = {(f["name"], f["selector"]) for f in abi["functions"] if f["kind"] != "init"}
    except (KeyError, TypeError):
        return False
    return listed == {(e.name, e.selector.hex()) for e in module.exports if not e.is_init}


class Abis:
    """The ABIs of the contracts on one chain, read once per address; ``seed``
    puts one in front (``--abi FILE``, or what deploy is deploying)."""

    def __init__(self, source: Path | Callable[[bytes], dict | None]):
        """``source``: the chain file (ABIs in ``CHAIN.abis/``), or a function
        that fetches one (a node's ``deed_getAbi``)."""
        if isinstance(source, Path):
            chain_file = source
            self._fetch: Callable[[bytes], dict | None] = lambda a: _read(abi_path(chain_file, a))
        else:
            self._fetch = source
        self._abis: dict[bytes, dict | None] = {}

    def seed(self, address: bytes, abi: dict | None) -> None:
        self._abis[address] = abi

    def abi(self, address: bytes) -> dict | None:
        if address not in self._abis:
            self._abis[address] = self._fetch(address)
        return self._abis[address]

    def _entry(self, address: bytes, section: str, name: str) -> dict | None:
        abi = self.abi(address)
        entries = abi.get(section) if abi else None
        if not isinstance(entries, list):
            return None
        return next((e for e in entries if isinstance(e, dict) and e.get("name") == name), None)

    def function(self, address: bytes, name: str) -> dict | None:
        return self._entry(address, "functions", name)

    def event(self, address: bytes, event: str) -> list[Members]:
        return members((self._entry(address, "events", event) or {}).get("fields"))

    def error(self, address: bytes, error: str) -> list[Members]:
        return members((self._entry(address, "errors", error) or {}).get("fields"))

    def field_names(self, address: bytes, section: str, name: str) -> list[str]:
        """The declared field names of an event or error (``section``: "events"
        or "errors"), for output that names them; [] when no ABI says."""
        fields = (self._entry(address, section, name) or {}).get("fields")
        if not isinstance(fields, list):
            return []
        return [f.get("name") if isinstance(f, dict) else None for f in fields]


def init_entry(abi: dict | None) -> dict | None:
    return next((f for f in (abi or {}).get("functions", []) if f.get("kind") == "init"), None)


# --------------------------------------------------------------------------- arguments


def call_args(what: str, texts, entry: dict | None, types, keys: KeyLookup) -> list[object]:
    """The flat VM values of a call of ``what`` (VM parameter types ``types``):
    through its ABI entry, one argument per declared parameter, or the flat VM
    values; without one, the flat VM values only."""
    texts, types = list(texts), list(types)
    if entry is None:
        return parse_args(what, texts, types, keys)
    inputs = entry.get("inputs", [])
    flat = leaves(inputs)
    if len(flat) != len(types):
        raise UsageError(f"the ABI does not match the contract's {what}")
    if len(texts) == len(inputs):
        out: list[object] = []
        for text, p in zip(texts, inputs, strict=True):
            out += _parse(text, p, keys, p.get("name") or what)
        return out
    if len(texts) == len(flat):  # the flat VM values: each struct field on its own
        return [
            _scalar(text, p, t, keys, p.get("name") or what)
            for text, p, t in zip(texts, flat, types, strict=True)
        ]
    signature = ", ".join(_declared(p) for p in inputs) or "no arguments"
    raise UsageError(f"{what} takes {len(inputs)} argument(s) ({signature}), got {len(texts)}")


def _declared(p: dict) -> str:
    return p.get("deed_type") or p["type"]


def _parse(value: object, p: dict, keys: KeyLookup, where: str) -> list[object]:
    """One declared parameter's flat VM values, from its command-line text
    (a struct or list as JSON or ``(a, b)``: :func:`_unpack`)."""
    shapes = Flattener(
        leaf=lambda v, q, w: _scalar(v, q, parse_type(q["type"]), keys, w),
        unpack=_unpack,
        struct_form='{"name": value, ...} or (value, ...)',
        list_form="a JSON array, [a, b, ...]",
    )
    try:
        return shapes.flatten(value, p, where)
    except ShapeError as exc:
        raise UsageError(str(exc)) from None


def _unpack(value: object, where: str, what: str) -> object:
    return _structured(value, where, what) if isinstance(value, str) else value


def _scalar(value: object, p: dict, t: ValueType, keys: KeyLookup, where: str) -> object:
    text = _text(value)
    m = _members_of(p)
    if m is not None:
        if text in m:
            return m.index(text)
        if not (text.isdigit() and int(text) < len(m)):
            raise UsageError(
                f"{where}: {text!r} is not a member of {p.get('deed_type', 'the enum')}: "
                f"expected one of {', '.join(m)} (or its number, 0 to {len(m) - 1})"
            )
    return parse_arg(text, t, keys)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _structured(text: str, where: str, what: str) -> object:
    """A JSON object or array, or ``(a, b, (c, d))``."""
    s = text.strip()
    if s.startswith("("):
        return _tuple(s, where, what)
    try:
        return json.loads(s)
    except ValueError:
        raise UsageError(
            f"{where}: {text!r} is not {what}: give a JSON object or array, or (a, b, ...)"
        ) from None


def _tuple(s: str, where: str, what: str) -> list:
    """``(a, b, (c, d))`` as nested lists of the items' texts."""
    stack: list[list] = []
    item = ""
    for ch in s:
        if ch == "(":
            stack.append([])
            item = ""
        elif ch in ",)":
            if not stack:
                raise UsageError(f"{where}: unbalanced parentheses in {s!r} ({what})")
            if item.strip():
                stack[-1].append(item.strip())
            item = ""
            if ch == ")":
                done = stack.pop()
                if not stack:
                    return done
                stack[-1].append(done)
        else:
            item += ch
    raise UsageError(f"{where}: unbalanced parentheses in {s!r} ({what})")


# --------------------------------------------------------------------------- results


def _elements(p: dict, leaf: object) -> list[tuple[ValueType, object]]:
    e = p["element"]
    t = parse_type(e["type"])
    m = _members_of(e)
    return [(t, name_of(v, m)) for v in decode_elements(t, bytes(leaf))]  # type: ignore[arg-type]


def _json(p: dict, leaves_: list) -> object:
    kind = p.get("kind")
    if kind == "struct":
        obj = {}
        for f, part in group(leaves_, p["components"]):
            obj[f["name"]] = _json(f, part)
        return obj
    if kind in ("list", "array"):
        return [v if isinstance(v, str) else json_value(t, v) for t, v in _elements(p, leaves_[0])]
    v = name_of(leaves_[0], _members_of(p))
    return v if isinstance(v, str) and _members_of(p) else json_value(parse_type(p["type"]), v)


def _text_of(p: dict, leaves_: list) -> str:
    kind = p.get("kind")
    if kind == "struct":
        parts = [f"{f['name']}={_text_of(f, part)}" for f, part in group(leaves_, p["components"])]
        return f"{p['type']}({', '.join(parts)})"
    if kind in ("list", "array"):
        items = [v if isinstance(v, str) else text_value(t, v) for t, v in _elements(p, leaves_[0])]
        return "[" + ", ".join(items) + "]"
    m = _members_of(p)
    v = name_of(leaves_[0], m)
    return v if isinstance(v, str) and m else text_value(parse_type(p["type"]), v)


class Shown:
    """Declared outputs standing in for an export's flat return types: structs
    and lists grouped, enums by member name."""

    def __init__(self, outputs: list[dict]) -> None:
        self.outputs = outputs

    def json(self, values) -> list:
        if not values:
            return []  # a call that reverted returns nothing
        return [_json(p, part) for p, part in group(values, self.outputs)]

    def text(self, values) -> list[str]:
        if not values:
            return []
        return [_text_of(p, part) for p, part in group(values, self.outputs)]

    def line(self, values) -> list[str]:
        """On one line: strings quoted, so a comma inside one is not a separator."""
        return [
            json.dumps(text, ensure_ascii=False)
            if p.get("kind") is None and parse_type(p["type"]).tag == TAG_STRING
            else text
            for (p, _), text in zip(group(values, self.outputs), self.text(values), strict=True)
        ]


def shown(entry: dict | None, types):
    """How to show a function's results: through its ABI entry (a :class:`Shown`),
    or, without one or when it does not match, the export's VM types."""
    types = list(types)
    if entry is None:
        return types
    outputs = entry.get("outputs", [])
    if len(leaves(outputs)) != len(types):
        return types
    return Shown(outputs)


# --------------------------------------------------------------------------- event and error fields


def named_texts(texts: list[str], values, m: list[Members]) -> list[str]:
    return [
        str(name_of(v, m[i])) if i < len(m) and m[i] is not None else t
        for i, (t, v) in enumerate(zip(texts, values, strict=True))
    ]


def labelled(texts: list[str], names: list[str]) -> list[str]:
    """``name=value`` for each field whose declared name is known."""
    if len(names) != len(texts):
        return texts
    return [f"{n}={t}" if n else t for n, t in zip(names, texts, strict=True)]


def args_json(shown_: list, names: list[str]) -> dict | None:
    """Field values by declared name (``--json``'s ``args``), when the names are known."""
    if len(names) != len(shown_) or not all(names):
        return None
    return dict(zip(names, shown_, strict=True))


def named_json(shown_: list, values, m: list[Members]) -> list:
    return [
        name_of(v, m[i]) if i < len(m) and m[i] is not None else j
        for i, (j, v) in enumerate(zip(shown_, values, strict=True))
    ]


def enum_arg(text: str, m: Members, where: str) -> str:
    """One argument of an enum (``m``) as its number; a name that is not a
    member, or a number past the last, is a usage error."""
    if m is None:
        return text
    return str(_scalar(text, {"members": list(m)}, parse_type("u8"), lambda _: None, where))
