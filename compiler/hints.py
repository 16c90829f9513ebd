"""Hints for habits brought from Vyper and Solidity.

One table, :data:`HABITS`, maps what a line written in another language's
habit looks like to the Deed form, as the hint of a diagnostic. The parser
consults it when a line does not parse (:func:`hint_for`); the checker can
consult the smaller tables for names that parse but do not resolve:

- :func:`type_hint` for a type name (``uint256``, ``HashMap``, ``DynArray``),
- :func:`decorator_hint` for a decorator (``@external``, ``@internal``),
- :func:`name_hint` for a name in an expression (``true``, ``now``, ``uint256(x)``).

Each returns ``None`` when it has nothing to say. Every entry carries an
example that triggers it: the tests run them all, and spec/language.md
lists them (section 11, "Hints for habits of Vyper and Solidity").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

# --------------------------------------------------------------------------- types

_WIDTHS = range(8, 257, 8)
_NO_FRACTIONS = (
    "Deed has no fractional numbers: count in integers (the smallest unit, or basis points)"
)

#: A type name of Vyper or Solidity -> the Deed type written in its place.
TYPE_NAMES: dict[str, str] = {
    **{f"uint{n}": f"u{n}" for n in _WIDTHS},
    "uint256": "uint",
    **{f"int{n}": f"i{n}" for n in _WIDTHS},
    "int": "i256",
    "boolean": "bool",
    "byte": "bytes1",
    "HashMap": "map",
    "mapping": "map",
    "DynArray": "list",
    "String": "string",
    "Bytes": "bytes",
}

#: Type names with a sentence instead of a replacement.
_TYPE_SENTENCES: dict[str, str] = {
    "uint256": "`uint256` is `uint` (or `u256`) in Deed",
    "int": "`int` is `i256` in Deed",
    "HashMap": "`HashMap[K, V]` is `map[K, V]` in Deed",
    "mapping": "`mapping(K => V)` is `map[K, V]` in Deed",
    "DynArray": "`DynArray[T, N]` is `list[T, N]` in Deed (in storage only)",
    "String": "`String[N]` is `string[N]` in Deed",
    "Bytes": "`Bytes[N]` is `bytes[N]` in Deed",
    "bytes": "bytes and strings need a bound: bytes[N], string[N]",
    "string": "bytes and strings need a bound: bytes[N], string[N]",
    "decimal": _NO_FRACTIONS,
    "float": _NO_FRACTIONS,
    "fixed": _NO_FRACTIONS,
}


def type_hint(name: str) -> str | None:
    """What Deed writes for a type name of Vyper or Solidity, or None.

    For the checker's "unknown type" (E0103): ``type_hint("uint256")`` is
    "`uint256` is `uint` (or `u256`) in Deed"."""
    if name in _TYPE_SENTENCES:
        return _TYPE_SENTENCES[name]
    if name in TYPE_NAMES:
        return f"`{name}` is `{TYPE_NAMES[name]}` in Deed"
    return None


def deed_type(text: str) -> str:
    """A type written in Vyper or Solidity, rewritten in Deed's words:
    ``HashMap[address, uint256]`` -> ``map[address, uint]``,
    ``mapping(address => mapping(address => uint))`` -> ``map[address, map[address, uint]]``,
    ``uint[]`` -> ``list[uint, N]``. What it does not know it leaves alone."""
    text = text.strip()
    # mapping( ... => ... ) -> map[ ..., ... ], nested: the ")" that closes each "mapping(".
    out: list[str] = []
    closers: list[str] = []
    i = 0
    while i < len(text):
        m = re.match(r"mapping\s*\(", text[i:])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            out.append("map[")
            closers.append("]")
            i += m.end()
            continue
        ch = text[i]
        if ch == "(":
            closers.append(")")
        elif ch == ")" and closers:
            ch = closers.pop()
        out.append(ch)
        i += 1
    text = re.sub(r"\s*=>\s*", ", ", "".join(out))
    text = re.sub(r"\baddress\s+payable\b", "address", text)
    text = re.sub(r"\b(\w+)\s*\[\s*\]", r"list[\1, N]", text)  # T[] -> list[T, N]
    text = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: TYPE_NAMES.get(m.group(0), m.group(0)), text)
    return re.sub(r"\bstring\b(?!\s*\[)", "string[N]", text)


# --------------------------------------------------------------------------- decorators

#: A decorator of Vyper (or a Solidity visibility) -> what Deed writes instead.
DECORATORS: dict[str, str] = {
    "external": "Deed has no `@external`: mark a public function `pub` (`pub f(...)`)",
    "public": "Deed has no `@public`: mark a public function `pub` (`pub f(...)`)",
    "internal": "functions are private unless marked `pub`: drop `@internal`",
    "private": "functions are private unless marked `pub`: drop `@private`",
    "nonpayable": "functions accept no value unless `@payable`: drop `@nonpayable`",
    "pure": "Deed has no `@pure`: use `@view`",
    "deploy": "the constructor is `init(...)`: drop `@deploy` (`@payable` above `init` "
    "lets it accept value)",
    "constructor": "the constructor is `init(...)`, with no decorator",
}


def decorator_hint(name: str) -> str | None:
    """What Deed writes for a decorator it does not know, or None.

    For the checker's "unknown decorator" (E0308)."""
    return DECORATORS.get(name)


# --------------------------------------------------------------------------- names

#: A name of Vyper or Solidity in an expression -> what Deed writes instead.
NAMES: dict[str, str] = {
    "true": "booleans are `True` and `False`",
    "false": "booleans are `True` and `False`",
    "null": "`empty(T)` is the zero value of a type",
    "None": "`empty(T)` is the zero value of a type",
    "this": "this contract's address is `self.address`",
    "now": "the time is `block.timestamp`",
    "convert": "convert by calling the type: `u8(x)`, `uint(b)`, `bytes32(n)`",
}


def name_hint(name: str) -> str | None:
    """What Deed writes for a name that resolves to nothing, or None; a type
    name used as a conversion (``uint256(x)``) gets :func:`type_hint`'s answer.

    For the checker's "undefined name" (E0101)."""
    return NAMES.get(name) or type_hint(name)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Habit:
    """A line written in another language's habit, and the Deed form.

    ``line`` is searched in the line with its indentation removed; when
    ``token`` is set, the unexpected token (or character) must match it too.
    ``hint`` is a template of the line's named groups (a group called
    ``type`` is rewritten by :func:`deed_type`) or a function of the match
    that may decline with None."""

    origin: str
    line: str  # a regular expression, compiled on first use (importing stays cheap)
    hint: str | Callable[[re.Match[str]], str | None]
    example: str  # a line it fires on, placed as ``where`` says
    # Where the example stands: "top" (the file), "member" (a contract), "body" (a function).
    where: str = "member"
    token: str | None = None  # a regular expression the whole token must match

    def apply(self, line: str, token: str | None) -> str | None:
        if self.token is not None and (token is None or not _re(self.token).fullmatch(token)):
            return None
        m = _re(self.line).search(line)
        if m is None:
            return None
        if callable(self.hint):
            return self.hint(m)
        groups = {k: (v or "").strip() for k, v in m.groupdict().items()}
        if "type" in groups:
            groups["type"] = deed_type(groups["type"])
        return self.hint.format(**groups)


_SOL_TYPE = r"(?:mapping\s*\(.*\)|u?int\d*|bool|address(?:\s+payable)?|bytes\d*|string|[A-Z]\w*)(?:\s*\[\d*\])*"
_SOL_MODS = r"(?:public|private|internal|external|constant|immutable|memory|storage|calldata|indexed|payable)"


def _sol_params(text: str) -> str | None:
    """``uint a, address indexed b`` -> ``a: uint, b: address``; None if these
    are not Solidity parameters."""
    out = []
    for part in filter(None, (p.strip() for p in _split_top(text))):
        m = re.fullmatch(rf"({_SOL_TYPE})((?:\s+{_SOL_MODS})*)\s+(\w+)", part)
        if m is None:
            return None
        out.append(f"{m.group(3)}: {deed_type(m.group(1))}")
    return ", ".join(out)


def _split_top(text: str) -> list[str]:
    """Split at the commas outside brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _sol_function(m: re.Match[str]) -> str:
    name, rest = m.group("name"), m.group("rest")
    params = _sol_params(m.group("params"))
    head = "pub " if re.search(r"\b(public|external)\b", rest) else ""
    ret = ""
    returns = re.search(r"\breturns\s*\((.*?)\)", rest)
    if returns:
        kinds = [p.split() for p in _split_top(returns.group(1)) if p.strip()]
        ret = f" -> {deed_type(kinds[0][0])}" if len(kinds) == 1 else " -> T"
    decorators = [f"@{d}" for d in ("view", "payable") if re.search(rf"\b{d}\b", rest)]
    if re.search(r"\bpure\b", rest) and "@view" not in decorators:
        decorators.append("@view")
    above = f"`{' '.join(decorators)}` above " if decorators else ""
    signature = f"{head}{name}({'a: T' if params is None else params}){ret}:"
    return (
        f"Deed functions have no `function` keyword: write {above}`{signature}` "
        "and indent the body (no braces)"
    )


def _sol_declaration(m: re.Match[str]) -> str:
    mods = m.group("mods").split()
    name, value = m.group("name"), (m.group("value") or "").strip()
    t = deed_type(m.group("type"))
    if "constant" in mods:
        return f"Deed declares the name first: write `const {name}: {t} = {value or '...'}`"
    if value and "public" not in mods:
        return f"Deed declares the name first: write `{name}: {t} = {value}`"
    form = f"`{'pub ' if 'public' in mods else ''}{name}: {t}`"
    if value:
        form += " and set it in `init`"
    return f"Deed declares the name first: write {form}"


def _sol_constructor(m: re.Match[str]) -> str:
    params = _sol_params(m.group("params"))
    form = f"the constructor is written `init({'a: T' if params is None else params}):`"
    if re.search(r"\bpayable\b", m.string[m.end() :]):
        form += ", with `@payable` above it"
    return form


def _sol_event(m: re.Match[str]) -> str | None:
    params = _sol_params(m.group("params"))
    if params is None:
        return None
    return f"write `{m.group('kind')} {m.group('name')}({params})`: a field is `name: T`"


def _vyper_def(m: re.Match[str]) -> str:
    sig = re.match(r"(\w+\s*\(.*\)(?:\s*->\s*[^:]+?)?)\s*(?::\s*(\w+)?)?\s*$", m.group("rest"))
    if sig is None:
        name = re.match(r"\w+", m.group("rest")).group(0)
        return (
            f"Deed functions have no `def`: write `pub {name}(a: T) -> R:` or `{name}(a: T) -> R:`"
        )
    form = deed_type(sig.group(1))
    if sig.group(2):  # an interface's method: `def f() -> bool: view`
        above = "`@view` above " if sig.group(2) in ("view", "pure") else ""
        above = "`@payable` above " if sig.group(2) == "payable" else above
        return f"Deed interface methods have no `def`: write {above}`pub {form}`"
    return (
        f"Deed functions have no `def`: write `pub {form}:` for a public function "
        f"(Vyper's `@external`) or `{form}:` for a private one"
    )


def _habit(origin, line, hint, example, where="member", token=None) -> Habit:
    return Habit(origin, line, hint, example, where, token)


@functools.cache
def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


#: The registry, tried in order: the first that fires gives the hint.
HABITS: tuple[Habit, ...] = (
    # ---------------------------------------------------------------- Vyper
    _habit(
        "Vyper",
        r"^def\s+__init__\s*\((?P<type>.*?)\)",
        "the constructor is written `init({type}):`, without `def` "
        "(put `@payable` above it to accept value)",
        "def __init__(owner: address):",
    ),
    _habit("Vyper", r"^def\s+(?P<rest>\w.*)", _vyper_def, "def f(x: uint256) -> uint256:"),
    _habit(
        "Vyper",
        r"^log\s+(?P<name>\w+)",
        "events are logged with `emit {name}(...)`",
        "log Transfer(msg.sender, 1)",
        "body",
    ),
    _habit(
        "Vyper",
        r"^(?:self\.)?(?P<name>\w+)\s*:\s*public\s*\((?P<type>.*)\)\s*$",
        "state variables are made public with `pub`: write `pub {name}: {type}`",
        "balances: public(HashMap[address, uint256])",
    ),
    _habit(
        "Vyper",
        r"^(?:self\.)?(?P<name>\w+)\s*:\s*constant\s*\((?P<type>.*)\)\s*=\s*(?P<value>.+)$",
        "constants are written `const {name}: {type} = {value}`",
        "FEE: constant(uint256) = 250",
    ),
    _habit(
        "Vyper",
        r"^(?:self\.)?(?P<name>\w+)\s*:\s*immutable\s*\((?P<type>.*)\)",
        "Deed has no `immutable`: declare `{name}: {type}` and set it in `init`",
        "owner: immutable(address)",
    ),
    _habit(
        "Vyper",
        r"^self\.(?P<name>\w+)\s*:\s*(?P<type>[^=]*?)\s*$",
        "state variables are declared without `self.`: `{name}: {type}` "
        "(and read as `self.{name}`)",
        "self.total: uint",
    ),
    _habit(
        "Vyper",
        r"^event\s+(?P<name>\w+)\s*:",
        "an event is declared on one line: `event {name}(field: T, ...)`",
        "event Transfer:",
    ),
    _habit(
        "Vyper",
        r"^struct\s+(?P<name>\w+)\s*\(",
        "a struct is a block of fields: `struct {name}:`, then one `field: T` a line",
        "struct Point(x: uint, y: uint)",
    ),
    _habit(
        "Vyper",
        r"^raise\b",
        'undo the call with `revert "reason"` or `revert Error(args)`',
        'raise "not allowed"',
        "body",
    ),
    _habit(
        "Vyper",
        r"^for\s+(?P<name>\w+)\s*:",
        "a loop variable has no type: `for {name} in range(...)`",
        "for i: uint256 in range(10):",
        "body",
    ),
    _habit(
        "Vyper",
        r"^@(?P<name>\w+)\s*\(",
        "Deed's decorators are `@view` and `@payable`, and take no arguments",
        '@nonreentrant("lock")',
    ),
    # ---------------------------------------------------------------- Solidity
    _habit(
        "Solidity",
        r"^pragma\b",
        "Deed files have no `pragma`: a file starts with `import` lines or `contract Name:`",
        "pragma solidity ^0.8.0;",
        "top",
    ),
    _habit(
        "Solidity",
        r"^(?://|/\*)",
        "comments start with `#`",
        "// SPDX-License-Identifier: MIT",
        "top",
    ),
    _habit(
        "Solidity",
        r"^(?P<kind>contract|interface|library|struct|enum)\s+(?P<name>\w+)\b[^:]*\{",
        "write `{kind} {name}:` and indent what it holds: Deed blocks have no braces",
        "contract Token {",
        "top",
    ),
    _habit(
        "Solidity",
        r"^function\s+(?P<name>\w+)\s*\((?P<params>[^)]*)\)(?P<rest>.*)",
        _sol_function,
        "function transfer(address to, uint256 amount) public returns (bool) {",
    ),
    _habit(
        "Solidity",
        r"^constructor\s*\((?P<params>[^)]*)\)",
        _sol_constructor,
        "constructor(address owner) payable {",
    ),
    _habit(
        "Solidity",
        r"^modifier\b",
        "Deed has no modifiers: check with `require(...)` in the function, or call a "
        "private function",
        "modifier onlyOwner() {",
    ),
    _habit(
        "Solidity",
        r"^(?P<kind>event|error)\s+(?P<name>\w+)\s*\((?P<params>.*)\)",
        _sol_event,
        "event Transfer(address indexed from, address indexed to, uint256 value);",
    ),
    _habit(
        "Solidity",
        rf"^(?P<type>{_SOL_TYPE})\s+(?P<mods>(?:{_SOL_MODS}\s+)*)(?P<name>\w+)\s*"
        r"(?:=\s*(?P<value>[^;]*?))?\s*;?\s*$",
        _sol_declaration,
        "mapping(address => uint256) public balances;",
    ),
    _habit(
        "Solidity",
        r"^for\s*\(",
        "loops are bounded: `for i in range(n, max=N):`",
        "for (uint i = 0; i < n; i++) {",
        "body",
    ),
    _habit(
        "Solidity",
        r"^while\b",
        "Deed has no `while`: loops are bounded, `for i in range(n, max=N):`",
        "while x > 0:",
        "body",
    ),
    _habit("Solidity", r"^\}?\s*else\s+if\b", "write `elif c:`", "else if x > 1:", "body"),
    _habit(
        "Solidity",
        r"\breturns\b",
        "the return type follows `->`: `pub f(...) -> T:`",
        "pub f() returns (uint):",
        token=r"returns",
    ),
    _habit("Solidity", r"&&", "write `and`", "require(a && b)", "body", token=r"&"),
    _habit("Solidity", r"\|\|", "write `or`", "require(a || b)", "body", token=r"\|"),
    _habit(
        "Solidity",
        r"(?P<name>[\w\].]+)\s*\+\+",
        "write `{name} += 1`",
        "count++",
        "body",
        token=r"\+",
    ),
    _habit(
        "Solidity",
        r"(?P<name>[\w\].]+)\s*--\s*;?\s*$",
        "write `{name} -= 1`",
        "count--",
        "body",
    ),
    _habit("Solidity", r"", "negation is `not x`", "require(!done)", "body", token=r"!"),
    _habit(
        "Solidity",
        r"",
        "Deed has no `c ? a : b`: use an `if` statement",
        "x = a > b ? a : b",
        "body",
        token=r"\?",
    ),
    _habit(
        "Solidity",
        r"",
        "Deed statements end with the line: drop the `;`",
        "x = 1;",
        "body",
        token=";",
    ),
    _habit(
        "Solidity",
        r"",
        "Deed blocks have no braces: end the line with `:` and indent the block",
        "if x > 1 {",
        "body",
        token=r"[{}]",
    ),
    _habit(
        "Vyper and Solidity",
        r"",
        'strings are written in double quotes: "text"',
        "require(x, 'no')",
        "body",
        token="'",
    ),
)


MAX_LINE = 400  # longer lines get no hint


def hint_for(line: str, token: str | None = None) -> str | None:
    """The hint for a line that does not parse, from the first habit of
    :data:`HABITS` that fires on it, or None.

    ``line`` is the source line of the error; ``token`` the text of the
    unexpected token or character (None at an end of line or of the file)."""
    text = line.strip()
    if len(text) > MAX_LINE:
        return None  # a generated line, not a habit (and no regex runs long on it)
    for habit in HABITS:
        hint = habit.apply(text, token)
        if hint is not None:
            return hint
    return None
