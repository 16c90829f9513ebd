"""Text assembly for modules: ``assemble`` and ``disassemble``.

The format (``;`` starts a comment)::

    .const 5                      ; optional: fix the constant pool's order
    .event Transfer(from: address, to: address, amount: u256)
    .error NotAllowed(caller: address)
    .import transfer(address,u256) -> bool
    .func transfer(B I) -> I      ; parameter and return kinds: I integer, B bytes
    .locals I                     ; more locals after the parameters
    .maxstack 6                   ; optional: computed when left out
        LOAD 1
        CONST 0                   ; integers in decimal; 0x.. is bytes; "text" is UTF-8 bytes
        GT
        JMPIF ok
        REVERT "zero"             ; an operand that names a constant may be a literal
    ok:
        CONST 1
        RET
    .export transfer(address,u256) -> bool = transfer payable view init

Operands: integer types (``u256``, ``i8``), local and width numbers, labels,
and function, event, error or import names; ``#k`` gives any index directly.
``disassemble(m)`` prints a module so that ``assemble`` gives it back exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import AssemblyError, VerificationError
from .module import (
    FLAG_INIT,
    FLAG_PAYABLE,
    FLAG_VIEW,
    ErrorDef,
    EventDef,
    Export,
    Field,
    Function,
    ImportDef,
    Module,
    selector,
)
from .opcodes import BY_NAME, JUMPS, LIMITS, encode_instruction
from .types import BYTES, INT, int_type_code_from_text, int_type_text, parse_type, type_name
from .verifier import decode_code

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_FLAG_NAMES = {"payable": FLAG_PAYABLE, "view": FLAG_VIEW, "init": FLAG_INIT}
_CONST_OPERAND = {"CONST", "REQUIRE", "SLOADB", "SSTOREB"}


@dataclass
class _Func:
    name: str
    params: tuple[str, ...]
    returns: tuple[str, ...]
    line: int
    locals: tuple[str, ...] = ()
    max_stack: int | None = None
    raw_code: bytes | None = None
    body: list[tuple[int, str, list[str]]] = field(
        default_factory=list
    )  # (line, mnemonic, operands)
    labels: dict[str, int] = field(default_factory=dict)  # label -> index into body


def _split_operands(text: str) -> list[str]:
    """Split on spaces, keeping double-quoted strings whole."""
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text[i] == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _strip_comment(line: str) -> str:
    in_str = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            in_str = not in_str
        elif ch == ";" and not in_str:
            return line[:i]
    return line


def _literal(text: str, line: int) -> int | bytes:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise AssemblyError(line, f"unterminated string {text}")
        try:
            return text[1:-1].encode("utf-8").decode("unicode_escape").encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return text[1:-1].encode("utf-8")
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise AssemblyError(line, f"bad hex bytes {text}") from None
    try:
        return int(text, 10)
    except ValueError:
        raise AssemblyError(line, f"expected a literal, got {text!r}") from None


def _kinds(text: str, line: int) -> tuple[str, ...]:
    kinds = tuple(text.split())
    if any(k not in (INT, BYTES) for k in kinds):
        raise AssemblyError(line, f"kinds are I or B, got {text!r}")
    return kinds


_SIG = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s*\((.*?)\)\s*(?:->\s*(.*?))?\s*$")


def _types(text: str, line: int):
    text = text.strip()
    if text in ("", "()"):
        return ()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    try:
        return tuple(parse_type(t) for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise AssemblyError(line, str(exc)) from None


def _fields(text: str, line: int, event: bool = False) -> tuple[Field, ...]:
    out = []
    for part in [p for p in text.split(",") if p.strip()]:
        if ":" not in part:
            raise AssemblyError(line, f"a field is 'name: type', got {part.strip()!r}")
        name, t = part.split(":", 1)
        words = name.split()
        indexed = event and len(words) == 2 and words[0] == "indexed"  # `indexed name: type`
        try:
            out.append(Field(words[-1] if indexed else name.strip(), parse_type(t), indexed))
        except ValueError as exc:
            raise AssemblyError(line, str(exc)) from None
    return tuple(out)


def _field_text(fd: Field) -> str:
    return f"{'indexed ' if fd.indexed else ''}{fd.name}: {type_name(fd.type)}"


def assemble(text: str) -> Module:
    """Assemble text into a module (not verified: call ``verify`` for that)."""
    constants: list[int | bytes] = []
    events: list[EventDef] = []
    errors: list[ErrorDef] = []
    imports: list[ImportDef] = []
    funcs: list[_Func] = []
    export_lines: list[tuple[int, str]] = []
    current: _Func | None = None

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("."):
            directive, _, rest = line.partition(" ")
            rest = rest.strip()
            if directive == ".const":
                constants.append(_literal(rest, lineno))
            elif directive in (".event", ".error"):
                m = _SIG.match(rest)
                if not m:
                    raise AssemblyError(lineno, f"expected {directive} Name(field: type, ...)")
                cls = EventDef if directive == ".event" else ErrorDef
                (events if directive == ".event" else errors).append(
                    cls(m.group(1), _fields(m.group(2), lineno, directive == ".event"))
                )
            elif directive == ".import":
                m = _SIG.match(rest)
                if not m:
                    raise AssemblyError(lineno, "expected .import name(types) -> types")
                params = _types(m.group(2), lineno)
                imports.append(
                    ImportDef(
                        m.group(1),
                        selector(m.group(1), params),
                        params,
                        _types(m.group(3) or "", lineno),
                    )
                )
            elif directive == ".func":
                m = _SIG.match(rest)
                if not m:
                    raise AssemblyError(lineno, "expected .func name(KINDS) -> KINDS")
                ret = (m.group(3) or "").strip().strip("()")
                current = _Func(m.group(1), _kinds(m.group(2), lineno), _kinds(ret, lineno), lineno)
                funcs.append(current)
            elif directive in (".locals", ".maxstack", ".code"):
                if current is None:
                    raise AssemblyError(lineno, f"{directive} outside a function")
                if directive == ".locals":
                    current.locals = _kinds(rest, lineno)
                elif directive == ".maxstack":
                    current.max_stack = int(rest)
                else:
                    current.raw_code = _literal(rest, lineno) if rest else b""
            elif directive == ".export":
                export_lines.append((lineno, rest))
            else:
                raise AssemblyError(lineno, f"unknown directive {directive}")
            continue
        if current is None:
            raise AssemblyError(lineno, "instruction outside a function")
        if line.endswith(":") and _IDENT.match(line[:-1]):
            if line[:-1] in current.labels:
                raise AssemblyError(lineno, f"label {line[:-1]} defined twice")
            current.labels[line[:-1]] = len(current.body)
            continue
        parts = _split_operands(line)
        current.body.append((lineno, parts[0].upper(), parts[1:]))

    names = {
        "function": {f.name: i for i, f in reversed(list(enumerate(funcs)))},
        "event": {e.name: i for i, e in reversed(list(enumerate(events)))},
        "error": {e.name: i for i, e in reversed(list(enumerate(errors)))},
        "import": {e.name: i for i, e in reversed(list(enumerate(imports)))},
    }

    def const_index(text: str, line: int) -> int:
        if text.startswith("#"):
            return int(text[1:])
        value = _literal(text, line)
        for i, c in enumerate(constants):
            if type(c) is type(value) and c == value:
                return i
        constants.append(value)
        return len(constants) - 1

    functions = []
    for f in funcs:
        code = f.raw_code if f.raw_code is not None else _encode_body(f, names, const_index)
        functions.append(
            Function(
                f.name,
                f.params,
                f.locals,
                f.returns,
                f.max_stack if f.max_stack is not None else LIMITS.max_stack,
                code,
            )
        )

    exports = [_export(line, rest, names["function"]) for line, rest in export_lines]
    module = Module(
        tuple(constants),
        tuple(functions),
        tuple(exports),
        tuple(events),
        tuple(errors),
        tuple(imports),
    )
    return _fill_max_stack(module, [f.max_stack is None for f in funcs])


def _export(line: int, rest: str, functions: dict[str, int]) -> Export:
    sig, eq, target = rest.partition("=")
    m = _SIG.match(sig.strip())
    if not m or not eq:
        raise AssemblyError(
            line, "expected .export name(types) -> types = function [payable] [view] [init]"
        )
    words = target.split()
    if not words:
        raise AssemblyError(line, "an export names a function")
    fn = _ref(words[0], functions, "function", line)
    flags = 0
    for w in words[1:]:
        if w not in _FLAG_NAMES:
            raise AssemblyError(line, f"unknown export flag {w!r}")
        flags |= _FLAG_NAMES[w]
    params = _types(m.group(2), line)
    return Export(
        m.group(1), selector(m.group(1), params), fn, flags, params, _types(m.group(3) or "", line)
    )


def _ref(text: str, table: dict[str, int], what: str, line: int) -> int:
    if text.startswith("#"):
        return int(text[1:])
    if text not in table:
        raise AssemblyError(line, f"unknown {what} {text!r}")
    return table[text]


def _encode_body(f: _Func, names, const_index) -> bytes:
    # First pass: offsets of each instruction, so labels resolve forward.
    offsets, pos = [], 0
    for line, mnemonic, _ in f.body:
        op = BY_NAME.get(mnemonic)
        if op is None:
            raise AssemblyError(line, f"unknown instruction {mnemonic}")
        offsets.append(pos)
        pos += op.size
    label_offsets = {
        name: (offsets[i] if i < len(offsets) else pos) for name, i in f.labels.items()
    }
    out = bytearray()
    for line, mnemonic, operands in f.body:
        op = BY_NAME[mnemonic]
        values = _operands(op, operands, line, names, const_index, label_offsets)
        try:
            out += encode_instruction(op, values)
        except OverflowError:
            raise AssemblyError(
                line, f"an operand of {op.name} does not fit its immediate"
            ) from None
    return bytes(out)


def _operands(op, operands, line, names, const_index, labels) -> list[int]:
    n_imm = len(op.immediates)
    if op.name == "XCALL":
        if len(operands) not in (1, 2) or (len(operands) == 2 and operands[1] != "try"):
            raise AssemblyError(line, "XCALL takes an import and optionally 'try'")
        return [_ref(operands[0], names["import"], "import", line), 1 if len(operands) == 2 else 0]
    if len(operands) != n_imm:
        raise AssemblyError(line, f"{op.name} takes {n_imm} operand(s), got {len(operands)}")
    if n_imm == 0:
        return []
    text = operands[0]
    try:
        if op.name in _CONST_OPERAND:
            return [const_index(text, line)]
        if op.name in JUMPS:
            if text not in labels:
                raise AssemblyError(line, f"unknown label {text!r}")
            return [labels[text]]
        if op.name == "CALL":
            return [_ref(text, names["function"], "function", line)]
        if op.name == "EMIT":
            return [_ref(text, names["event"], "event", line)]
        if op.name == "RAISE":
            return [_ref(text, names["error"], "error", line)]
        if op.immediates[0] == "t":
            return [int_type_code_from_text(text)]
        return [int(text)]
    except ValueError as exc:
        raise AssemblyError(line, str(exc)) from None


def _fill_max_stack(module: Module, compute: list[bool]) -> Module:
    """Set each unset max stack to the height the verifier finds."""
    if not any(compute):
        return module
    from .verifier import verify

    try:
        vm = verify(module)
    except VerificationError:
        return module  # leave the limit; verification will report the real problem
    functions = list(module.functions)
    for i, vf in enumerate(vm.functions):
        if compute[i]:
            height = max(vf.max_height, len(functions[i].returns))
            functions[i] = Function(
                functions[i].name,
                functions[i].params,
                functions[i].locals,
                functions[i].returns,
                height,
                functions[i].code,
            )
    return Module(
        module.constants,
        tuple(functions),
        module.exports,
        module.events,
        module.errors,
        module.imports,
    )


# --------------------------------------------------------------------------- disassemble


def _lit(c: int | bytes) -> str:
    if isinstance(c, int):
        return str(c)
    return "0x" + c.hex()


def disassemble(module: Module) -> str:
    """Readable assembly; ``assemble(disassemble(m)) == m`` for modules whose
    names are identifiers and unique."""
    out: list[str] = []
    first_index: dict[tuple[type, int | bytes], int] = {}
    for i, c in enumerate(module.constants):
        first_index.setdefault((type(c), c), i)
        out.append(f".const {_lit(c)}")
    for kw, defs in ((".event", module.events), (".error", module.errors)):
        for d in defs:
            out.append(f"{kw} {d.name}({', '.join(_field_text(fd) for fd in d.fields)})")
    for imp in module.imports:
        out.append(
            f".import {imp.name}({','.join(map(type_name, imp.params))}){_rets(imp.returns)}"
        )
    fnames = [f.name for f in module.functions]
    for idx, f in enumerate(module.functions):
        out.append("")
        out.append(
            f".func {f.name}({' '.join(f.params)}){' -> ' + ' '.join(f.returns) if f.returns else ''}"
        )
        if f.locals:
            out.append(f".locals {' '.join(f.locals)}")
        out.append(f".maxstack {f.max_stack}")
        try:
            instrs = decode_code(f.code, idx)
        except VerificationError:
            out.append(f".code 0x{f.code.hex()}")
            continue
        lines = _function_lines(module, instrs, first_index, fnames)
        out.extend(lines if lines is not None else [f".code 0x{f.code.hex()}"])
    out.append("")
    for e in module.exports:
        flags = [name for name, bit in _FLAG_NAMES.items() if e.flags & bit]
        target = _unique_name(fnames, e.function)
        out.append(
            f".export {e.name}({','.join(map(type_name, e.params))}){_rets(e.returns)} = {' '.join([target] + flags)}"
        )
    return "\n".join(out) + "\n"


def _rets(types) -> str:
    return f" -> {','.join(map(type_name, types))}" if types else ""


def _function_lines(module: Module, instrs, first_index, fnames) -> list[str] | None:
    """Instructions with labels; None when the code cannot be written exactly
    as assembly (a jump between instructions, an unknown type code, ...)."""
    offsets = {ins.offset for ins in instrs}
    targets = {ins.args[0] for ins in instrs if ins.name in JUMPS}
    if not targets <= offsets:
        return None
    lines = []
    for ins in instrs:
        text = _instr_text(module, ins, first_index, fnames)
        if text is None:
            return None
        if ins.offset in targets:
            lines.append(f"L{ins.offset}:")
        lines.append(f"    {text}")
    return lines


def _unique_name(names: list[str], index: int) -> str:
    if index < len(names) and _IDENT.match(names[index]) and names.index(names[index]) == index:
        return names[index]
    return f"#{index}"


def _instr_text(module: Module, ins, first_index, fnames) -> str | None:
    name, a = ins.name, ins.args
    if name in _CONST_OPERAND:
        k = a[0]
        if (
            k < len(module.constants)
            and first_index.get((type(module.constants[k]), module.constants[k])) == k
        ):
            return f"{name} {_lit(module.constants[k])}"
        return f"{name} #{k}"
    if name in JUMPS:
        return f"{name} L{a[0]}"
    if name == "CALL":
        return f"CALL {_unique_name(fnames, a[0])}"
    if name == "EMIT":
        return f"EMIT {_unique_name([d.name for d in module.events], a[0])}"
    if name == "RAISE":
        return f"RAISE {_unique_name([d.name for d in module.errors], a[0])}"
    if name == "XCALL":
        if a[1] > 1:
            return None
        return (
            f"XCALL {_unique_name([d.name for d in module.imports], a[0])}{' try' if a[1] else ''}"
        )
    if ins.op.immediates and ins.op.immediates[0] == "t":
        return f"{name} {int_type_text(a[0])}" if a[0] < 64 else None
    return " ".join([name] + [str(x) for x in a])
