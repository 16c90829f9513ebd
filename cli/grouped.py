"""Struct, tuple and list values on the command line, read through the ABI
(the ``.abi.json`` the compiler writes beside a module).

At the VM's level a struct is its leaf fields, one value each, and a list
value is one bytes value (spec/language.md, "Values beyond scalars"). With
the ABI, one command-line argument is one declared parameter:

- a struct: a JSON object by field name, ``{"buyer": "@bob", "amount": 5}``,
  or its fields in order, as a JSON array or in parentheses:
  ``(0xab.., 5, true)`` (nested structs nest);
- a list: a JSON array, ``[1, 2, 3]`` or ``["@bob", "0x12.."]``;
- anything else: as without the ABI.

Results print grouped the same way: ``Order(buyer=0x.., amount=5, paid=true)``
and ``[1, 2, 3]`` (``--json``: an object and an array).
"""

from __future__ import annotations

import json
from pathlib import Path

from deed.vm.types import (
    TAG_ADDRESS,
    TAG_BOOL,
    TAG_FIXED_BYTES,
    TAG_INT,
    TAG_UINT,
    ValueType,
    parse_type,
)

from .errors import UsageError
from .values import KeyLookup, json_value, parse_arg, text_value


def load_abi(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the ABI {path}: {exc}") from None


def abi_function(abi: dict, name: str) -> dict | None:
    return next((f for f in abi.get("functions", []) if f.get("name") == name), None)


def is_grouped(params: list[dict]) -> bool:
    """Whether any parameter or output is more than one plain VM value."""
    return any(p.get("kind") in ("struct", "list", "array") for p in params)


# --------------------------------------------------------------------------- parsing


def parse_grouped(what: str, texts, inputs: list[dict], keys: KeyLookup) -> list[object]:
    """One argument per declared parameter, as the flat VM values of the call."""
    texts = list(texts)
    if len(texts) != len(inputs):
        signature = ", ".join(_declared(p) for p in inputs) or "no arguments"
        raise UsageError(f"{what} takes {len(inputs)} argument(s) ({signature}), got {len(texts)}")
    out: list[object] = []
    for text, p in zip(texts, inputs, strict=True):
        out += _parse(text, p, keys, p.get("name") or what)
    return out


def _declared(p: dict) -> str:
    return p.get("deed_type") or p["type"]


def _parse(value: object, p: dict, keys: KeyLookup, where: str) -> list[object]:
    kind = p.get("kind")
    if kind == "struct":
        return _parse_struct(value, p, keys, where)
    if kind in ("list", "array"):
        return [_parse_list(value, p, keys, where)]
    return [parse_arg(_text(value), parse_type(p["type"]), keys)]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_struct(value: object, p: dict, keys: KeyLookup, where: str) -> list[object]:
    fields = p["components"]
    names = [f["name"] for f in fields]
    if isinstance(value, str):
        value = _structured(value, where, f"a {p['type']}")
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [n for n in names if n not in value]
        if unknown or missing:
            raise UsageError(
                f"{where}: a {p['type']} has the fields {', '.join(names)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        value = [value[n] for n in names]
    if not isinstance(value, list) or len(value) != len(fields):
        raise UsageError(
            f"{where}: a {p['type']} takes {len(fields)} fields ({', '.join(names)}), "
            'as {"name": value, ...} or (value, ...)'
        )
    out: list[object] = []
    for v, f in zip(value, fields, strict=True):
        out += _parse(v, f, keys, f"{where}.{f['name']}")
    return out


def _parse_list(value: object, p: dict, keys: KeyLookup, where: str) -> bytes:
    if isinstance(value, str):
        value = _structured(value, where, p["deed_type"])
    if not isinstance(value, list):
        raise UsageError(f"{where}: a {p['deed_type']} is a JSON array, [a, b, ...]")
    if "size" in p and len(value) != p["size"]:
        raise UsageError(f"{where}: {len(value)} elements, a {p['deed_type']} has {p['size']}")
    if len(value) > p.get("capacity", len(value)):
        raise UsageError(
            f"{where}: {len(value)} elements, a {p['deed_type']} holds at most {p['capacity']}"
        )
    t = parse_type(p["element"]["type"])
    return b"".join(encode_element(t, parse_arg(_text(v), t, keys)) for v in value)


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


# --------------------------------------------------------------------------- list values


def element_width(t: ValueType) -> int:
    if t.tag in (TAG_UINT, TAG_INT):
        return t.param // 8
    if t.tag == TAG_BOOL:
        return 1
    if t.tag == TAG_ADDRESS:
        return 20
    if t.tag == TAG_FIXED_BYTES:
        return t.param
    raise UsageError(f"a list value cannot hold {t}")


def encode_element(t: ValueType, v: object) -> bytes:
    """One element of a list value: big-endian, ``element_width`` bytes."""
    width = element_width(t)
    if t.tag in (TAG_UINT, TAG_INT, TAG_BOOL):
        return int(v).to_bytes(width, "big", signed=t.tag == TAG_INT)  # type: ignore[call-overload]
    return bytes(v)  # type: ignore[arg-type]


def decode_elements(t: ValueType, data: bytes) -> list[object]:
    width = element_width(t)
    out: list[object] = []
    for i in range(0, len(data) - width + 1, width):
        chunk = data[i : i + width]
        if t.tag in (TAG_UINT, TAG_INT):
            out.append(int.from_bytes(chunk, "big", signed=t.tag == TAG_INT))
        elif t.tag == TAG_BOOL:
            out.append(chunk != b"\0")
        else:
            out.append(chunk)
    return out


# --------------------------------------------------------------------------- printing


def group(values, outputs: list[dict]) -> list[tuple[dict, object]]:
    """The flat returned values, one group per declared output."""
    values = list(values)
    out = []
    for p in outputs:
        n = len(p["vm_types"]) if p.get("kind") == "struct" else 1
        out.append((p, values[:n]))
        values = values[n:]
    return out


def _json(p: dict, leaves: list) -> object:
    kind = p.get("kind")
    if kind == "struct":
        obj = {}
        for f in p["components"]:
            n = len(f["vm_types"]) if f.get("kind") == "struct" else 1
            obj[f["name"]] = _json(f, leaves[:n])
            leaves = leaves[n:]
        return obj
    if kind in ("list", "array"):
        t = parse_type(p["element"]["type"])
        return [json_value(t, v) for v in decode_elements(t, bytes(leaves[0]))]
    return json_value(parse_type(p["type"]), leaves[0])


def _text_of(p: dict, leaves: list) -> str:
    kind = p.get("kind")
    if kind == "struct":
        parts = []
        for f in p["components"]:
            n = len(f["vm_types"]) if f.get("kind") == "struct" else 1
            parts.append(f"{f['name']}={_text_of(f, leaves[:n])}")
            leaves = leaves[n:]
        return f"{p['type']}({', '.join(parts)})"
    if kind in ("list", "array"):
        t = parse_type(p["element"]["type"])
        return "[" + ", ".join(text_value(t, v) for v in decode_elements(t, bytes(leaves[0]))) + "]"
    return text_value(parse_type(p["type"]), leaves[0])


def values_json(values, outputs: list[dict]) -> list:
    return [_json(p, leaves) for p, leaves in group(values, outputs)]


def values_text(values, outputs: list[dict]) -> list[str]:
    return [_text_of(p, leaves) for p, leaves in group(values, outputs)]


class Grouped:
    """Declared outputs standing in for the export's flat return types."""

    def __init__(self, outputs: list[dict]) -> None:
        self.outputs = outputs

    def json(self, values) -> list:
        return values_json(values, self.outputs)

    def text(self, values) -> list[str]:
        return values_text(values, self.outputs)


def resolve_grouped(abi_path: Path | None, function: str, texts, keys: KeyLookup, flat_count: int):
    """With an ABI that groups ``function``'s parameters or results: the flat
    argument values and a :class:`Grouped` for its results; else None (and
    None when the arguments are the flat VM values: as many as the export's)."""
    if abi_path is None:
        return None
    f = abi_function(load_abi(abi_path), function)
    if f is None:
        raise UsageError(f"{abi_path} has no function {function!r}")
    inputs, outputs = f.get("inputs", []), f.get("outputs", [])
    if not (is_grouped(inputs) or is_grouped(outputs)):
        return None
    if len(texts) == flat_count != len(inputs):
        return None
    return parse_grouped(function, texts, inputs, keys), Grouped(outputs)


def _abi_dir(chain_file: Path) -> Path:
    """Where deploy keeps the ABI of each contract it deploys: beside the chain."""
    return chain_file.parent / (chain_file.name + ".abis")


def remember_abi(chain_file: Path, address: bytes, abi: dict) -> None:
    d = _abi_dir(chain_file)
    try:
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{address.hex()}.abi.json").write_text(json.dumps(abi, indent=2) + "\n")
    except OSError:
        pass  # only a convenience: --abi still works


def known_abi(chain_file: Path, address: bytes) -> Path | None:
    path = _abi_dir(chain_file) / f"{address.hex()}.abi.json"
    return path if path.is_file() else None
