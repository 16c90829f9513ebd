"""Parsing: the Lark grammar (LALR, Python-like indentation) into the AST."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.indenter import DedentError, Indenter
from lark.lexer import PatternRE, PatternStr, TerminalDef

from . import ast, nesting
from .diagnostics import CompileError, Diagnostic

GRAMMAR = Path(__file__).with_name("grammar.lark")


class DeedIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4


@functools.cache
def parser() -> Lark:
    return Lark(
        GRAMMAR.read_text(),
        parser="lalr",
        postlex=DeedIndenter(),
        propagate_positions=True,
        maybe_placeholders=True,
        strict=True,  # a shift/reduce conflict or two colliding terminals fail here
        cache=True,
    )


#: What a terminal is, where its pattern does not say it: the others are
#: named by their pattern (the keyword ``and`` is ``'and'``; see :func:`token_name`).
TOKEN_NAMES = {
    "_NL": "end of line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
    "$END": "the end of the file",
    "NAME": "a name",
    "INT": "a number",
    "HEX": "hex bytes",
    "STRING": "a string",
    "COMMENT": "a comment",
    "COMPOP": "a comparison",
}
_UNNAMED = "a symbol"  # a terminal none of the rules below names: a test forbids it


@functools.cache
def _terminals() -> dict[str, TerminalDef]:
    return {t.name: t for t in parser().terminals}


@functools.cache
def _ignored() -> frozenset[str]:
    return frozenset(parser().lexer_conf.ignore)


def _literals(pattern: PatternRE) -> list[str] | None:
    """The strings a regular expression of plain alternatives matches:
    ``(?:<<|>>)`` -> ``['<<', '>>']``; None for any other expression."""
    body = pattern.value
    if body.startswith("(?:") and body.endswith(")"):
        body = body[3:-1]
    out = []
    for alt in body.split("|"):
        if not alt or re.search(r"[.^$*+?{}\[\]()]", re.sub(r"\\.", "", alt)):
            return None
        out.append(re.sub(r"\\(.)", r"\1", alt))
    return out


@functools.cache
def token_name(name: str) -> str:
    """A terminal of the grammar as the author knows it: ``'and'`` for ``AND``,
    ``'->'`` for ``__ANON_0``, ``end of line`` for ``_NL``. Never a name of
    the grammar's own."""
    if name in TOKEN_NAMES:
        return TOKEN_NAMES[name]
    term = _terminals().get(name)
    if term is None:
        return _UNNAMED
    if name in _ignored():
        return "whitespace"
    if isinstance(term.pattern, PatternStr):
        return f"'{term.pattern.value}'"
    literals = _literals(term.pattern)
    if literals:
        quoted = [f"'{s}'" for s in literals]
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return _UNNAMED


@functools.cache
def _by_literal() -> dict[str, str]:
    return {
        t.pattern.value: t.name for t in parser().terminals if isinstance(t.pattern, PatternStr)
    }


@functools.cache
def _groups() -> tuple[tuple[str, frozenset[str], frozenset[str], int], ...]:
    """Sets of terminals named as one: (name, the terminals it stands for,
    the terminals that must all be expected, how many of them at least)."""
    by_literal = _by_literal()

    def lit(*texts: str) -> set[str]:
        return {by_literal[t] for t in texts if t in by_literal}

    expression_core = frozenset({"NAME", "INT", "HEX", "STRING"} | lit("True", "False", "("))
    expression = expression_core | lit("-", "not")
    operators = frozenset(
        {"ADDOP", "MULOP", "COMPOP", "SHIFTOP"} | lit("|", "^", "&", "-", "**", "and", "or")
    )
    return (
        ("an expression", expression, expression_core, len(expression_core)),
        ("an operator", operators, operators, 4),
    )


def _expected(tokens) -> str:
    """``'(' or ':'``, ``an expression``, ``an operator, ')' or ','``: what the
    parser would have taken, in the author's words."""
    tokens = set(tokens)
    words = []
    for word, members, needed, at_least in _groups():
        if len(tokens & needed) >= at_least:
            words.append(word)
            tokens -= members
    names = sorted({token_name(t) for t in tokens}, key=lambda n: (not n.startswith("'"), n))
    names = words + names
    if not names:
        return "something else"
    if len(names) > 7:
        return ", ".join(names[:6]) + ", ..."
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def parse(source: str, path: str = "<source>") -> ast.SourceFile:
    """Parse source text; raises CompileError with a positioned diagnostic."""
    if not source.endswith("\n"):
        source += "\n"
    try:
        tree = parser().parse(source)
    except UnexpectedInput as exc:
        raise CompileError([_syntax_diagnostic(exc, path, source)]) from None
    except DedentError as exc:
        line = _dedent_line(source, str(exc))
        span = ast.Span(path, line, 1, line, 2)
        raise CompileError(
            [
                Diagnostic(
                    "E0002",
                    "this line's indentation matches no enclosing block",
                    span,
                    "indent with 4 spaces per level",
                )
            ]
        ) from None
    try:
        source_file = _ToAst(path).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, _LiteralError):
            raise CompileError([exc.orig_exc.diagnostic]) from None
        raise
    too_deep = nesting.too_deep(source_file)
    if too_deep:
        raise CompileError(
            [Diagnostic("E0401", nesting.MESSAGE, n.span, nesting.HINT) for n in too_deep]
        )
    return source_file


def _dedent_line(source: str, message: str) -> int:
    # Lark does not say where; find the first line whose indentation matches no open block.
    stack = [0]
    for number, line in enumerate(source.split("\n"), start=1):  # as Lark counts lines
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        width = len(line) - len(line.lstrip())
        if width > stack[-1]:
            stack.append(width)
        else:
            while width < stack[-1]:
                stack.pop()
            if width != stack[-1]:
                return number
    return 1


def _accepted(exc: UnexpectedToken) -> set[str]:
    """The terminals the parser would have taken: what it tried (Lark's
    ``accepts``), which is narrower than the LALR state's lookaheads."""
    try:
        return set(exc.accepts or exc.expected)
    except Exception:  # the narrower set is a nicety: never a reason to fail
        return set(exc.expected)


def _accepted_before_character(source: str) -> set[str]:
    """What the parser would have taken where the lexer met a character no
    terminal starts with: parse again, token by token, up to it."""
    interactive = parser().parse_interactive(source)
    try:
        for _ in interactive.iter_parse():
            pass
    except UnexpectedCharacters:
        try:
            return set(interactive.accepts())
        except Exception:  # a nicety: never a reason to fail
            return set()
    except Exception:  # another error first: say nothing rather than something wrong
        return set()
    return set()


def _line(source: str, number: int) -> str:
    lines = source.split("\n")  # as Lark counts lines
    return lines[number - 1] if 1 <= number <= len(lines) else ""


_CLOSE = {"LPAR": "')'", "LSQB": "']'"}
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[()\[\]]')  # strings, comments, brackets


def _open_bracket(source: str, before: tuple[int, int] | None = None) -> Token | None:
    """The innermost bracket still open at ``before`` (line, column), or at the
    end of the source: inside brackets Lark's indenter drops line ends, so an
    unclosed bracket shows up lines later. Brackets in strings and comments
    do not count; a closing bracket with none open is skipped."""
    stack: list[Token] = []
    line, line_start = 1, 0
    for m in _BRACKETS.finditer(source):
        text = m.group(0)
        if text[0] in '"#':
            continue
        line += source.count("\n", line_start, m.start())
        line_start = source.rfind("\n", 0, m.start()) + 1
        column = m.start() - line_start + 1
        if before is not None and (line, column) >= before:
            break
        if text in "([":
            kind = "LPAR" if text == "(" else "LSQB"
            stack.append(Token(kind, text, m.start(), line, column, line, column + 1))
        elif stack:
            stack.pop()
    return stack[-1] if stack else None


def _tok_span(path: str, tok: Token) -> ast.Span:
    return ast.Span(path, tok.line, tok.column, tok.end_line, tok.end_column)


def _syntax_diagnostic(exc: UnexpectedInput, path: str, source: str = "") -> Diagnostic:
    from . import hints  # only a source that does not parse pays for importing it

    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        span = ast.Span(path, line, column, line, column + 1)
        hint = hints.hint_for(_line(source, line), exc.char)
        if hint is None and exc.char == '"':
            hint = 'a string ends on the line it starts: close it with "'
        if hint is None:
            accepted = _accepted_before_character(source)
            hint = f"expected {_expected(accepted)}" if accepted else None
        return Diagnostic("E0003", f"unexpected character {exc.char!r}", span, hint)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "_INDENT":
            line = tok.end_line or line  # the indent token borrows the newline's start
            width = len(str(tok).rsplit("\n", 1)[-1]) or 1
            return Diagnostic(
                "E0002",
                "unexpected indentation",
                ast.Span(path, line, 1, line, width + 1),
                "a block starts only after a line ending in ':'",
            )
        if tok.type in ("_DEDENT", "$END"):
            bracket = _open_bracket(source)
            if bracket is not None:
                return Diagnostic(
                    "E0001",
                    f"this {str(bracket)!r} is never closed",
                    _tok_span(path, bracket),
                    f"close it with {_CLOSE[bracket.type]}",
                )
        if tok.type == "_DEDENT":
            line = tok.end_line or line
            column, end = 1, 2
            while line > 1 and not _line(source, line).strip():
                line -= 1  # a block that ends at the end of the file: show its last line
                column = len(_line(source, line).rstrip()) + 1
                end = column + 1
            return Diagnostic(
                "E0002",
                "a block ends too early",
                ast.Span(path, line, column, line, end),
                f"expected {_expected(_accepted(exc))}",
            )
        expected = f"expected {_expected(_accepted(exc))}"
        if tok.type == "$END":
            return Diagnostic(
                "E0001",
                "unexpected end of file",
                ast.Span(path, line, column, line, column + 1),
                hints.hint_for(_line(source, line)) or expected,
            )
        text = "end of line" if tok.type == "_NL" else repr(str(tok))
        end = getattr(tok, "end_column", None) or column + max(1, len(str(tok)))
        if tok.type == "_NL":
            end = column + 1
        hint = hints.hint_for(_line(source, line), None if tok.type == "_NL" else str(tok))
        if hint is None and _line(source, line)[: column - 1].strip() == "":
            # The first token of a line: is a bracket of an earlier line still open?
            bracket = _open_bracket(source, (line, column))
            if bracket is not None and bracket.line < line:
                hint = (
                    f"the {str(bracket)!r} on line {bracket.line}, column {bracket.column} "
                    f"is still open: close it with {_CLOSE[bracket.type]}"
                )
        return Diagnostic(
            "E0001",
            f"unexpected {text}",
            ast.Span(path, line, column, line, end),
            hint or expected,
        )
    if isinstance(exc, UnexpectedEOF):
        return Diagnostic(
            "E0001",
            "unexpected end of file",
            ast.Span(path, line, 1, line, 2),
            f"expected {_expected(exc.expected)}",
        )
    return Diagnostic("E0001", "syntax error", ast.Span(path, line, column, line, column + 1))


class _LiteralError(Exception):
    def __init__(self, message: str, span: ast.Span, code: str = "E0003", hint: str | None = None):
        self.diagnostic = Diagnostic(code, message, span, hint)


T_MAX_DIGITS = len(str(2**256 - 1))  # 78: no integer of 256 bits has more decimal digits
_TOO_BIG = 1 << 256  # stands for a type argument of more digits: the checker rejects it


def _digits(text: str) -> int:
    return len(text.replace("_", "").lstrip("0")) or 1


def _small_int(text: str) -> int | None:
    """The value of a decimal literal, or None when it has more digits than any
    256-bit integer: int() is never called on a long digit string (Python caps
    those at 4,300 digits, and converting them takes quadratic time)."""
    if _digits(text) > T_MAX_DIGITS:
        return None
    return int(text.replace("_", ""))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "0": "\0"}


def _unescape(text: str, span: ast.Span) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
                continue
            raise _LiteralError(
                f"unknown escape \\{nxt} in a string",
                span,
                hint=r"the escapes are \n \t \r \0 \\ \" and \xNN (two hex digits)",
            )
        out.append(ch)
        i += 1
    return "".join(out)


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Tree to AST dataclasses, keeping every node's span. Non-recursive: the
    parse tree can be as deep as the source nests, and the nesting limit is
    checked on the AST this builds (:mod:`.nesting`)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _span(self, meta) -> ast.Span:
        if getattr(meta, "empty", True):
            return ast.Span(self.path, 1, 1, 1, 1)
        return ast.Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> ast.Span:
        return ast.Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)

    # ------------------------------------------------------------ top level
    def start(self, meta, items):
        imports = [i for i in items if isinstance(i, ast.Import)]
        interfaces = [i for i in items if isinstance(i, ast.Interface)]
        contracts = [i for i in items if isinstance(i, ast.Contract)]
        libraries = [i for i in items if isinstance(i, ast.Library)]
        return ast.SourceFile(
            self.path, imports, interfaces, contracts, libraries, span=self._span(meta)
        )

    def import_stmt(self, meta, items):
        return ast.Import(items[0], span=self._span(meta))

    def dotted_name(self, meta, items):
        return [str(t) for t in items]

    def interface_def(self, meta, items):
        return ast.Interface(str(items[0]), items[1:], span=self._span(meta))

    def iface_method(self, meta, items):
        decorators = [i for i in items if isinstance(i, ast.Decorator)]
        rest = items[len(decorators) :]
        name, params, returns = rest
        return ast.MethodSig(str(name), params or [], returns, decorators, span=self._span(meta))

    def contract_def(self, meta, items):
        return ast.Contract(str(items[0]), items[1:], span=self._span(meta))

    def library_def(self, meta, items):
        return ast.Library(str(items[0]), items[1:], span=self._span(meta))

    def struct_def(self, meta, items):
        return ast.StructDef(str(items[0]), items[1:], span=self._span(meta))

    def enum_def(self, meta, items):
        return ast.EnumDef(str(items[0]), [str(t) for t in items[1:]], span=self._span(meta))

    def event_def(self, meta, items):
        fields = items[1] or []
        params = [p for p, _ in fields]
        indexed = [p.name for p, flag in fields if flag]
        return ast.EventDef(str(items[0]), params, indexed, span=self._span(meta))

    def event_params(self, meta, items):
        return list(items)

    def event_param(self, meta, items):
        indexed = isinstance(items[0], Token) and items[0].type == "INDEXED"
        name, type_expr = items[1:] if indexed else items
        return ast.Param(str(name), type_expr, span=self._span(meta)), indexed

    def report_def(self, meta, items):
        return ast.ReportDef(str(items[0]), items[1] or [], span=self._span(meta))

    def error_def(self, meta, items):
        return ast.ErrorDef(str(items[0]), items[1] or [], span=self._span(meta))

    def const_def(self, meta, items):
        return ast.ConstDef(str(items[0]), items[1], items[2], span=self._span(meta))

    def state_var(self, meta, items):
        public = isinstance(items[0], Token) and items[0].type == "PUB"
        name, type_expr = items[1:] if public else items
        return ast.StateVar(str(name), type_expr, public, span=self._span(meta))

    def function_def(self, meta, items):
        decorators = [i for i in items if isinstance(i, ast.Decorator)]
        rest = items[len(decorators) :]
        public = isinstance(rest[0], Token) and rest[0].type == "PUB"
        if public:
            rest = rest[1:]
        name, params, returns, body = rest
        span = self._span(meta)
        return ast.FunctionDef(
            str(name),
            params or [],
            returns,
            decorators,
            public,
            body,
            span=span,
            name_span=self._tok_span(name),
        )

    def decorator(self, meta, items):
        return ast.Decorator(str(items[0]), span=self._span(meta))

    def params(self, meta, items):
        return list(items)

    def param(self, meta, items):
        return ast.Param(str(items[0]), items[1], span=self._span(meta))

    def named_type(self, meta, items):
        return ast.TypeExpr(str(items[0]), [], span=self._span(meta))

    def generic_type(self, meta, items):
        return ast.TypeExpr(str(items[0]), list(items[1:]), span=self._span(meta))

    def tuple_type(self, meta, items):
        return ast.TypeExpr("()", list(items), span=self._span(meta))

    def type_arg(self, meta, items):
        value = _small_int(str(items[0]))
        return _TOO_BIG if value is None else value

    # ------------------------------------------------------------ statements
    def suite(self, meta, items):
        return list(items)

    def var_decl(self, meta, items):
        return ast.VarDecl(str(items[0]), items[1], items[2], span=self._span(meta))

    def assign(self, meta, items):
        return ast.Assign(items[0], items[1], span=self._span(meta))

    def multi_assign(self, meta, items):
        return ast.MultiAssign(list(items[:-1]), items[-1], span=self._span(meta))

    def multi_decl(self, meta, items):
        span = self._span(meta)
        pairs = items[:-1]
        decls = [
            ast.VarDecl(str(n), t, ast.Name("_", span=span), span=_join(self._tok_span(n), t.span))
            for n, t in zip(pairs[0::2], pairs[1::2], strict=True)
        ]
        targets: list[ast.Expr] = [ast.Name(d.name, span=d.span) for d in decls]
        return ast.MultiAssign(targets, items[-1], decls, span=span)

    def aug_assign(self, meta, items):
        return ast.AugAssign(items[0], str(items[1])[0], items[2], span=self._span(meta))

    def return_stmt(self, meta, items):
        return ast.Return(items[0], span=self._span(meta))

    def return_many(self, meta, items):
        span = self._span(meta)
        items = list(items)
        value = ast.TupleExpr(items, span=_join(items[0].span, items[-1].span))
        return ast.Return(value, span=span)

    def pass_stmt(self, meta, items):
        return ast.Pass(span=self._span(meta))

    def break_stmt(self, meta, items):
        return ast.Break(span=self._span(meta))

    def continue_stmt(self, meta, items):
        return ast.Continue(span=self._span(meta))

    def revert_stmt(self, meta, items):
        return ast.Revert(items[0], span=self._span(meta))

    def assert_stmt(self, meta, items):
        """``assert c`` and ``assert c, reason`` are ``require(c)`` and ``require(c, reason)``."""
        span = self._span(meta)
        args = [items[0]] if items[1] is None else [items[0], items[1]]
        call = ast.Call(ast.Name("require", span=span), args, [], span=span)
        return ast.ExprStmt(call, span=span)

    def emit_stmt(self, meta, items):
        args, kwargs = items[1] if items[1] else ([], [])
        return ast.Emit(str(items[0]), args, kwargs, span=self._span(meta))

    def expr_stmt(self, meta, items):
        return ast.ExprStmt(items[0], span=self._span(meta))

    def if_stmt(self, meta, items):
        cond, body = items[0], items[1]
        rest = items[2:]
        orelse = (
            rest[-1] if rest and isinstance(rest[-1], tuple) and rest[-1][0] == "else" else None
        )
        elifs = [r for r in rest if isinstance(r, ast.Elif)]
        return ast.If(cond, body, orelse[1] if orelse else [], elifs, span=self._span(meta))

    def elif_clause(self, meta, items):
        return ast.Elif(items[0], items[1], span=self._span(meta))

    def else_clause(self, meta, items):
        return ("else", items[0])

    def for_stmt(self, meta, items):
        return ast.For(str(items[0]), items[1], items[2], span=self._span(meta))

    # ------------------------------------------------------------ expressions
    def or_chain(self, meta, items):
        return ast.BoolOp("or", list(items), span=self._span(meta))

    def and_chain(self, meta, items):
        return ast.BoolOp("and", list(items), span=self._span(meta))

    def not_op(self, meta, items):
        return ast.Not(items[0], span=self._span(meta))

    def compare(self, meta, items):
        return ast.Compare(str(items[1]), items[0], items[2], span=self._span(meta))

    def _fold(self, meta, items, op):
        left = items[0]
        for right in items[1:]:
            left = ast.BinOp(op, left, right, span=_join(left.span, right.span))
        return left

    def bor_chain(self, meta, items):
        return self._fold(meta, items, "|")

    def bxor_chain(self, meta, items):
        return self._fold(meta, items, "^")

    def band_chain(self, meta, items):
        return self._fold(meta, items, "&")

    def binary_chain(self, meta, items):
        left = items[0]
        for i in range(1, len(items), 2):
            right = items[i + 1]
            left = ast.BinOp(str(items[i]), left, right, span=_join(left.span, right.span))
        return left

    def neg(self, meta, items):
        operand = items[0]
        if isinstance(operand, ast.IntLit):
            return ast.IntLit(-operand.value, span=self._span(meta))
        return ast.Neg(operand, span=self._span(meta))

    def pow(self, meta, items):
        return ast.BinOp("**", items[0], items[1], span=self._span(meta))

    def attribute(self, meta, items):
        return ast.Attribute(items[0], str(items[1]), span=self._span(meta))

    def index(self, meta, items):
        return ast.Index(items[0], items[1], span=self._span(meta))

    def call(self, meta, items):
        args, kwargs = items[1] if items[1] else ([], [])
        return ast.Call(items[0], args, kwargs, span=self._span(meta))

    def args(self, meta, items):
        args = [i for i in items if not isinstance(i, ast.Keyword)]
        kwargs = [i for i in items if isinstance(i, ast.Keyword)]
        return args, kwargs

    def kwarg(self, meta, items):
        return ast.Keyword(str(items[0]), items[1], span=self._span(meta))

    def name(self, meta, items):
        return ast.Name(str(items[0]), span=self._span(meta))

    def int_lit(self, meta, items):
        span = self._span(meta)
        value = _small_int(str(items[0]))
        if value is None:
            raise _LiteralError(
                f"this integer literal has {_digits(str(items[0]))} digits: over 256 bits",
                span,
                code="E0206",
                hint=f"integers have at most 256 bits: {T_MAX_DIGITS} decimal digits",
            )
        return ast.IntLit(value, span=span)

    def hex_lit(self, meta, items):
        text = str(items[0])[2:].replace("_", "")
        span = self._span(meta)
        if len(text) % 2:
            raise _LiteralError(
                "hex bytes need an even number of digits",
                span,
                hint="two digits a byte: 0x0f, not 0xf",
            )
        return ast.BytesLit(bytes.fromhex(text), span=span)

    def string_lit(self, meta, items):
        span = self._span(meta)
        return ast.StrLit(_unescape(str(items[0])[1:-1], span), span=span)

    def list_lit(self, meta, items):
        return ast.ListLit(list(items), span=self._span(meta))

    def true_lit(self, meta, items):
        return ast.BoolLit(True, span=self._span(meta))

    def false_lit(self, meta, items):
        return ast.BoolLit(False, span=self._span(meta))


def _join(a: ast.Span, b: ast.Span) -> ast.Span:
    return ast.Span(a.file, a.line, a.column, b.end_line, b.end_column)
