"""The ABIs of contracts deployed from this home, for enum member names.

A module carries only VM types (an enum is a ``u8``); its ABI says which
parameters, results and event fields are enums and what their members are.
``deed deploy`` keeps the ABI of what it deploys in ``HOME/abi/0xADDRESS.json``
(from the compiled source, or the ``.abi.json`` beside a module file), and
``deed call``/``send`` read it: an enum argument may be given by member name
(``Open``) or number, and enum results and event fields print as names.
Without an ABI everything is shown by number, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import UsageError

Members = tuple[str, ...] | None  # an enum's members, or None for any other type


def abi_path(home: Path, address: bytes) -> Path:
    return home / "abi" / f"0x{address.hex()}.json"


def save(home: Path, address: bytes, abi: dict) -> None:
    path = abi_path(home, address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(abi, indent=2) + "\n")


def beside(module_file: Path) -> dict | None:
    """The ABI ``deed compile`` wrote beside a module file, if it is there."""
    return _read(module_file.with_suffix(".abi.json"))


def _read(path: Path) -> dict | None:
    try:
        abi = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return abi if isinstance(abi, dict) else None


def matches(abi: dict, module) -> bool:
    """True when the ABI lists exactly the module's functions (a stale ABI file does not)."""
    try:
        listed = {(f["name"], f["selector"]) for f in abi["functions"] if f["kind"] != "init"}
    except (KeyError, TypeError):
        return False
    return listed == {(e.name, e.selector.hex()) for e in module.exports if not e.is_init}


class Names:
    """Enum members of the contracts this home deployed, read once per address."""

    def __init__(self, home: Path):
        self.home = home
        self._abis: dict[bytes, dict | None] = {}

    def seed(self, address: bytes, abi: dict | None) -> None:
        self._abis[address] = abi

    def abi(self, address: bytes) -> dict | None:
        if address not in self._abis:
            self._abis[address] = _read(abi_path(self.home, address))
        return self._abis[address]

    def _entry(self, address: bytes, section: str, name: str) -> dict | None:
        abi = self.abi(address)
        entries = abi.get(section) if abi else None
        if not isinstance(entries, list):
            return None
        return next((e for e in entries if isinstance(e, dict) and e.get("name") == name), None)

    def params(self, address: bytes, function: str) -> list[Members]:
        return _members((self._entry(address, "functions", function) or {}).get("inputs"))

    def init_params(self, abi: dict | None) -> list[Members]:
        init = next((f for f in (abi or {}).get("functions", []) if f.get("kind") == "init"), {})
        return _members(init.get("inputs"))

    def returns(self, address: bytes, function: str) -> list[Members]:
        return _members((self._entry(address, "functions", function) or {}).get("outputs"))

    def event(self, address: bytes, event: str) -> list[Members]:
        return _members((self._entry(address, "events", event) or {}).get("fields"))

    def error(self, address: bytes, error: str) -> list[Members]:
        return _members((self._entry(address, "errors", error) or {}).get("fields"))


def _members(fields) -> list[Members]:
    if not isinstance(fields, list):
        return []
    out: list[Members] = []
    for f in fields:
        m = f.get("members") if isinstance(f, dict) else None
        out.append(tuple(str(x) for x in m) if isinstance(m, list) else None)
    return out


def enum_args(args, members: list[Members], where: str) -> list[str]:
    """Member names as their numbers; a number past the last member is a usage error."""
    out = []
    for i, text in enumerate(args):
        m = members[i] if i < len(members) else None
        if m is None:
            out.append(text)
        elif text in m:
            out.append(str(m.index(text)))
        elif text.isdigit() and int(text) < len(m):
            out.append(text)
        else:
            raise UsageError(
                f"{text!r} is not a member of the enum of {where}'s argument {i + 1}: "
                f"expected one of {', '.join(m)} (or its number, 0 to {len(m) - 1})"
            )
    return out


def name_of(value: object, members: Members) -> object:
    """An enum value as its member's name (other values as they are)."""
    if members is not None and isinstance(value, int) and 0 <= value < len(members):
        return members[value]
    return value


def named_texts(texts: list[str], values, members: list[Members]) -> list[str]:
    return [
        str(name_of(v, members[i] if i < len(members) else None))
        if i < len(members) and members[i] is not None
        else t
        for i, (t, v) in enumerate(zip(texts, values, strict=True))
    ]


def named_json(shown: list, values, members: list[Members]) -> list:
    return [
        name_of(v, members[i]) if i < len(members) and members[i] is not None else j
        for i, (j, v) in enumerate(zip(shown, values, strict=True))
    ]
