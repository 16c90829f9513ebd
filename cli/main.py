"""The ``deed`` command line."""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from deed.vm.errors import ConfigurationError, DeedVMError, InvalidTransaction

from .errors import Failure, UsageError

# Commands import what they need when they run: `deed compile` never loads the
# chain, and start-up stays short.

EPILOG_EXAMPLES = {
    "compile": "Example: deed compile contracts/escrow.deed --abi",
    "deploy": "Example: deed deploy contracts/token.deed --from alice",
    "call": "Example: deed call 0x1f2e... balance_of @alice",
    "send": "Example: deed send 0x1f2e... transfer @bob 100 --from alice",
    "balance": "Example: deed balance @alice",
    "keys": "Example: deed keys new alice",
    "chain": "Example: deed chain init",
    "analyze": "Example: deed analyze contracts/*.deed --gas --fail-on medium",
    "asm": "Example: deed asm contracts/asm/token.dasm -o token.deedc",
    "disasm": "Example: deed disasm token.deedc (with --jit: the LLVM IR of each function)",
    "verify": "Example: deed verify token.deedc",
    "demo": "Example: deed demo --chain /tmp/deed-demo.db",
    "transfer": "Example: deed transfer @bob 1000 --from alice",
    "logs": "Examples: deed logs 0x1f2e... Transfer --where sender=@alice --from-height 10"
    "   |   deed logs --event Transfer   (every contract's)",
    "snapshot": "Example: deed snapshot tests/ --check",
}

INTERNAL_ERROR = 70  # a bug in deed, never a bad input (EX_SOFTWARE)

# OS errors that mean "the path the user gave cannot be used" (exit 2); any other
# (a full disk, an I/O error) is a failure of the work (exit 1).
USAGE_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EROFS,
        errno.EEXIST,
    }
)

# Transactions the chain could never accept as typed (exit 2); other rejections
# depend on the chain's state (funds, nonce) and are failures (exit 1).
USAGE_REJECTIONS = {
    "intrinsic_gas": "--gas is under the gas the transaction needs before it runs",
    "block_full": "--gas is over the block gas limit",
    "too_large": "the transaction's data is over the size limit",
}

NEGATIVE_NUMBER = re.compile(r"-(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)")


_JSON_ERRORS = False  # set per invocation: `--json` asks for errors as JSON too


def _json_error(kind: str, message: str, code: int) -> None:
    """An error as JSON on stdout (where --json output goes), for scripts."""
    click.echo(json.dumps({"error": {"kind": kind, "message": message, "exit_code": code}}))


def fail(message: str) -> None:
    if _JSON_ERRORS:
        _json_error("failure", message, 1)
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(1)


def read_module_file(path: Path) -> bytes:
    """Module bytes from a binary file, or from a file holding them in hex."""
    data = path.read_bytes()
    if data[:4] == b"DEED":
        return data
    try:
        text = data.decode("ascii").strip()
        return bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except (UnicodeDecodeError, ValueError):
        return data  # let the decoder say what is wrong


def load_module_file(path: Path):
    """A decoded module from a file, or a clean error (exit 1)."""
    from deed.vm.module import decode_module

    try:
        return decode_module(read_module_file(path))
    except DeedVMError as exc:
        fail(f"{path}: {exc}")


def _verified_module_file(path: Path):
    """A module that decodes and verifies (exit 1 if not): deploying one that does not
    would only be mined as a failed transaction that pays its gas."""
    from deed.vm.verifier import load

    try:
        return load(read_module_file(path)).module
    except DeedVMError as exc:
        fail(f"{path}: {exc}")


def _os_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


@contextmanager
def _boundary(ctx: click.Context) -> Iterator[None]:
    """Every error a command meets leaves as a message and an exit code, never a traceback:
    UsageError -> click usage error (2), Failure -> `error:` (1), a stray exception -> 70."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except (UsageError, ConfigurationError) as exc:
        raise click.UsageError(str(exc), ctx) from None
    except Failure as exc:
        fail(str(exc))
    except OSError as exc:
        if exc.errno in USAGE_ERRNOS:
            raise click.UsageError(_os_message(exc), ctx) from None
        fail(_os_message(exc))
    except Exception as exc:
        if os.environ.get("DEED_DEBUG"):
            raise
        text = f"internal error: {type(exc).__name__}: {exc}"
        if _JSON_ERRORS:
            _json_error("internal", text, INTERNAL_ERROR)
        click.echo(
            f"{text}\n"
            "This is a bug in deed; run again with DEED_DEBUG=1 for the traceback, and report it.",
            err=True,
        )
        sys.exit(INTERNAL_ERROR)


class PathArg(click.Path):
    """click.Path that refuses a NUL byte as a usage error (os.stat raises ValueError on it)."""

    def convert(self, value, param, ctx):
        if "\x00" in str(value):
            self.fail(f"{str(value)!r} contains a NUL byte, which no path can", param, ctx)
        return super().convert(value, param, ctx)


class DeedCommand(click.Command):
    """A command behind the error boundary. Commands with arguments take negative
    numbers as arguments without `--` (`deed send ... -5`); any other unknown `-x`
    is still an unknown option."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if any(isinstance(p, click.Argument) for p in self.params):
            self.context_settings.setdefault("ignore_unknown_options", True)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)
        rest = super().parse_args(ctx, args)
        if self.context_settings.get("ignore_unknown_options"):
            self._reject_unknown_options(ctx, raw)
        return rest

    def _reject_unknown_options(self, ctx: click.Context, raw: list[str]) -> None:
        """Positional tokens that look like options, except negative numbers and what follows `--`."""
        positional: list[str] = []
        for p in self.params:
            if isinstance(p, click.Argument):
                value = ctx.params.get(p.name)
                positional.extend(map(str, value) if isinstance(value, tuple) else [str(value)])
        after = len(raw) - raw.index("--") - 1 if "--" in raw else 0
        for token in positional[: max(0, len(positional) - after)]:
            if token.startswith("-") and token != "-" and not NEGATIVE_NUMBER.fullmatch(token):
                raise click.NoSuchOption(token.split("=", 1)[0], ctx=ctx)

    def invoke(self, ctx: click.Context):
        with _boundary(ctx):
            return super().invoke(ctx)


class DeedGroup(click.Group):
    """A group whose commands (and subgroups) are DeedCommands behind the error boundary.
    With ``--json`` among the options, errors are JSON too:
    ``{"error": {"kind": "usage"|"failure"|"internal", "message": ..., "exit_code": N}}``
    on stdout, with the same exit codes."""

    command_class = DeedCommand
    group_class = type

    def main(self, args=None, *rest, **kwargs):
        global _JSON_ERRORS
        argv = list(sys.argv[1:] if args is None else args)
        options = argv[: argv.index("--")] if "--" in argv else argv
        _JSON_ERRORS = "--json" in options
        if not _JSON_ERRORS or kwargs.get("standalone_mode") is False:
            return super().main(args, *rest, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(args, *rest, **kwargs)
        except click.ClickException as exc:
            kind = "usage" if isinstance(exc, click.UsageError) else "failure"
            _json_error(kind, exc.format_message(), exc.exit_code)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            _json_error("failure", "aborted", 1)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        with _boundary(ctx):
            return super().invoke(ctx)


@click.group(cls=DeedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deed")
def main() -> None:
    """Deed: contracts, their compiler, and the VM that runs them."""


HOME = click.option(
    "--home",
    type=PathArg(file_okay=False, path_type=Path),
    default=Path(".deed"),
    show_default=True,
    envvar="DEED_HOME",
    help="Where keys (and by default the chain) live.",
)
CHAIN = click.option(
    "--chain",
    "chain_path",
    type=PathArg(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file of the local chain [default: HOME/chain.db].",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
RPC = click.option(
    "--rpc",
    "rpc",
    envvar="DEED_RPC",
    default=None,
    metavar="URL",
    help="Talk to the `deed node` at URL (e.g. http://127.0.0.1:8545) instead of the chain "
    "file [env: DEED_RPC].",
)


def _chain_path(home: Path, chain_path: Path | None) -> Path:
    return chain_path or home / "chain.db"


def _ledger(home: Path, chain_path: Path | None, rpc: str | None):
    """The chain a command works on: the node at ``rpc``, or the chain file."""
    from .ledger import open_ledger

    if rpc and chain_path is not None:
        raise UsageError("--chain and --rpc name two chains: give one")
    return open_ledger(_chain_path(home, chain_path), rpc)


def _colour() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def _compile(path: Path, contract: str | None, as_json: bool):
    from deed.compiler.diagnostics import CompileError
    from deed.compiler.driver import compile_file

    try:
        out = compile_file(path, contract)
        _ = out.module  # compile now, so errors surface here
    except CompileError as exc:
        if as_json:
            click.echo(
                json.dumps(
                    {"ok": False, "diagnostics": [d.to_json() for d in exc.diagnostics]}, indent=2
                )
            )
        else:
            for d in exc.diagnostics:
                click.echo(d.render(out.sources.get(d.span.file), color=_colour()), err=True)
            n = len(exc.diagnostics)
            click.echo(f"{n} error{'s' if n > 1 else ''}", err=True)
        sys.exit(1)
    except UnicodeDecodeError:
        fail(f"{path}: not a UTF-8 text file, so not Deed source")
    return out


@main.command("compile", epilog=EPILOG_EXAMPLES["compile"])
@click.argument("source", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=PathArg(dir_okay=False, path_type=Path),
    help="Module file [default: SOURCE with .deedc]; the ABI goes beside it as .abi.json.",
)
@click.option("--contract", help="Which contract, when the file has several.")
@click.option("--abi", "show_abi", is_flag=True, help="Print the ABI (JSON).")
@click.option("--ir", "show_ir", is_flag=True, help="Print the optimised IR.")
@click.option("--asm", "show_asm", is_flag=True, help="Print the assembly.")
@JSON
def compile_cmd(
    source: Path,
    output: Path | None,
    contract: str | None,
    show_abi: bool,
    show_ir: bool,
    show_asm: bool,
    as_json: bool,
) -> None:
    """Compile Deed source into a verified module and its ABI."""
    out = _compile(source, contract, as_json)
    output = output or source.with_suffix(".deedc")
    abi_path = output.with_suffix(".abi.json")
    output.write_bytes(out.bytecode)
    abi_path.write_text(json.dumps(out.abi, indent=2) + "\n")
    if as_json:
        result = {
            "ok": True,
            "module": output.as_posix(),
            "abi_file": abi_path.as_posix(),
            "module_id": out.module.module_id.hex(),
            "size": len(out.bytecode),
            "abi": out.abi,
        }
        if show_ir:
            result["ir"] = out.ir_text
        if show_asm:
            result["asm"] = out.asm
        click.echo(json.dumps(result, indent=2))
        return
    if show_ir:
        click.echo(out.ir_text, nl=False)
    if show_asm:
        click.echo(out.asm, nl=False)
    if show_abi:
        click.echo(json.dumps(out.abi, indent=2))
    click.echo(
        f"{output}: {len(out.bytecode)} bytes, module id {out.module.module_id.hex()[:16]}..; ABI in {abi_path}",
        err=show_ir or show_asm or show_abi,
    )


@main.group(epilog=EPILOG_EXAMPLES["keys"])
def keys() -> None:
    """Manage signing keys of the local chain."""


@keys.command("new", epilog=EPILOG_EXAMPLES["keys"])
@click.argument("name")
@HOME
@JSON
def keys_new(name: str, home: Path, as_json: bool) -> None:
    """Create an ed25519 key called NAME."""
    from .local import KeyStore

    key = KeyStore(home).create(name)
    if as_json:
        shown = {"name": name, "address": "0x" + key.address.hex()}
        click.echo(json.dumps(shown | {"public_key": "0x" + key.public_key.hex()}))
    else:
        click.echo(f"{name}: address 0x{key.address.hex()}")


@keys.command("show", epilog="Example: deed keys show alice")
@click.argument("name")
@HOME
@JSON
def keys_show(name: str, home: Path, as_json: bool) -> None:
    """Show key NAME's address and ed25519 public key (what an oracle or a
    contract's signer slot is given)."""
    from .local import KeyStore

    key = KeyStore(home).load(name)
    address, public = "0x" + key.address.hex(), "0x" + key.public_key.hex()
    if as_json:
        click.echo(json.dumps({"name": name, "address": address, "public_key": public}, indent=2))
    else:
        click.echo(f"{name}\n  address     {address}\n  public key  {public}")


@keys.command("list", epilog="Example: deed keys list")
@HOME
@JSON
def keys_list(home: Path, as_json: bool) -> None:
    """List keys and their addresses."""
    from .local import KeyStore

    store = KeyStore(home)
    rows = [(n, store.address(n).hex()) for n in store.names()]
    if as_json:
        click.echo(json.dumps([{"name": n, "address": "0x" + a} for n, a in rows], indent=2))
    for n, a in [] if as_json else rows:
        click.echo(f"{n:<16} 0x{a}")


@main.group(epilog="Example: deed time advance 86400")
def time() -> None:
    """The local chain's clock (for deadlines: no waiting in real time)."""


@time.command("advance", epilog="Example: deed time advance 2days")
@click.argument("seconds")
@HOME
@CHAIN
@RPC
@JSON
def time_advance(
    seconds: str, home: Path, chain_path: Path | None, rpc: str | None, as_json: bool
) -> None:
    """Move the local chain's clock forward by SECONDS (or 90m, 36h, 2days, 1week)
    and mine an empty block at the new time; later blocks follow the moved clock."""
    step = _duration(seconds)
    header = _ledger(home, chain_path, rpc).advance(step)
    if as_json:
        click.echo(json.dumps({"height": header.height, "timestamp": header.timestamp}))
    else:
        click.echo(f"block {header.height} at {header.timestamp} (clock +{step} s)")


_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}  # fmt: skip


def _duration(text: str) -> int:
    """Seconds from ``3600``, ``90m``, ``36h``, ``2days`` or ``1week``."""
    import re

    m = re.fullmatch(r"\s*([0-9]{1,12})\s*([a-z]*)\s*", text.lower())
    if m is None or (m.group(2) and m.group(2) not in _DURATION_UNITS):
        raise UsageError(
            f"{text!r} is not a duration: seconds, or a number with s, m, h, d(ays) or w(eeks)"
        )
    seconds = int(m.group(1)) * _DURATION_UNITS.get(m.group(2), 1)
    if seconds <= 0:
        raise UsageError("a duration moves the clock forward: give more than 0 seconds")
    return seconds


@main.group(epilog=EPILOG_EXAMPLES["chain"])
def chain() -> None:
    """The local chain kept in SQLite."""


@chain.command("init", epilog=EPILOG_EXAMPLES["chain"])
@HOME
@CHAIN
@JSON
def chain_init(home: Path, chain_path: Path | None, as_json: bool) -> None:
    """Create a local chain whose genesis funds every key in the key store
    (and the local faucet that `deed keys fund` pays from)."""
    from .local import DEV_FUNDS, FAUCET_FUNDS, KeyStore, creating, faucet_key

    path = _chain_path(home, chain_path)
    if path.exists():
        raise UsageError(f"{path} exists already")
    store = KeyStore(home)
    names = store.names()
    if not names:
        raise UsageError("no keys to fund: create one with `deed keys new NAME`")
    funds = {faucet_key().address: FAUCET_FUNDS}  # for `deed keys fund`
    funds.update({store.address(n): DEV_FUNDS for n in names})
    with creating(path) as c:
        header = c.genesis(funds)
    if as_json:
        out = {"chain": str(path), "genesis": "0x" + header.hash.hex(), "funded": names}
        click.echo(json.dumps(out))
    else:
        click.echo(f"{path}: genesis {header.hash.hex()[:16]}.., funded {', '.join(names)}")


@chain.command("info", epilog="Example: deed chain info --json")
@HOME
@CHAIN
@RPC
@JSON
def chain_info(home: Path, chain_path: Path | None, rpc: str | None, as_json: bool) -> None:
    """Show the head block of the local chain (or of the node at --rpc)."""
    head = _ledger(home, chain_path, rpc).head()
    info = {
        "height": head.height,
        "hash": "0x" + head.hash.hex(),
        "timestamp": head.timestamp,
        "state_root": "0x" + head.state_root.hex(),
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo("\n".join(f"{k:<11} {v}" for k, v in info.items()))


@main.command(epilog=EPILOG_EXAMPLES["balance"])
@click.argument("address")
@HOME
@CHAIN
@RPC
@JSON
def balance(
    address: str, home: Path, chain_path: Path | None, rpc: str | None, as_json: bool
) -> None:
    """Show the balance and nonce of ADDRESS (0x... or @keyname)."""
    from deed.vm.types import ADDRESS

    from .local import KeyStore
    from .values import parse_arg

    who = parse_arg(address, ADDRESS, KeyStore(home).address)
    account = _ledger(home, chain_path, rpc).account(who)
    if as_json:
        click.echo(json.dumps({"balance": account.balance, "nonce": account.nonce}, indent=2))
    else:
        click.echo(f"balance {account.balance}, nonce {account.nonce}")


def _values_text(values, types=None) -> list[str]:
    from .abis import Shown
    from .values import loose_value, text_value

    if isinstance(types, Shown):  # structs, tuples, lists and enums, through the ABI
        return types.text(values)
    if types is None:
        return [loose_value(v) for v in values]
    return [text_value(t, v) for t, v in zip(types, values, strict=True)]


def _values_json(values, types=None) -> list:
    from .abis import Shown
    from .values import json_value, loose_json

    if isinstance(types, Shown):
        return types.json(values)
    if types is None:
        return [loose_json(v) for v in values]
    return [json_value(t, v) for t, v in zip(types, values, strict=True)]


def _error_json(error, members=None, names=()) -> list | None:
    """A typed error: ``[name, [values]]``, then ``{field: value}`` when its field names are known."""
    from .abis import args_json, named_json

    if not error:
        return None
    shown = _values_json(error[1])
    shown = named_json(shown, error[1], members) if members else shown
    by_name = args_json(shown, list(names))
    return [error[0], shown] + ([by_name] if by_name is not None else [])


def _error_text(error, members=None, names=()) -> str:
    from .abis import labelled, named_texts

    if not error:
        return ""
    texts = _values_text(error[1])
    if members:
        texts = named_texts(texts, error[1], members)
    return f" {error[0]}({', '.join(labelled(texts, list(names)))})"


def _failure_text(reason: str | None, error, error_text: str) -> str:
    """A failure's reason and typed error, the error's name once: the VM gives
    a typed error's name as the revert reason too."""
    if error and reason == error[0]:
        reason = None
    return " ".join(t for t in (reason, error_text.strip()) if t)


def _error_names(abis, to, error) -> list[str]:
    return abis.field_names(to, "errors", error[0]) if abis is not None and to and error else []


def _event_json(e, abis) -> dict:
    """An event of a receipt: its values in order and, when the ABI names them, by name."""
    from .abis import args_json, named_json

    shown = _values_json(e.values)
    if abis is not None:
        shown = named_json(shown, e.values, abis.event(e.address, e.event))
    out = {"address": "0x" + e.address.hex(), "event": e.event, "values": shown}
    by_name = args_json(shown, abis.field_names(e.address, "events", e.event)) if abis else None
    if by_name is not None:
        out["args"] = by_name
    return out


def _event_text(e, abis) -> str:
    from .abis import labelled, named_texts

    texts = _values_text(e.values)
    if abis is not None:
        texts = named_texts(texts, e.values, abis.event(e.address, e.event))
        texts = labelled(texts, abis.field_names(e.address, "events", e.event))
    return f"event {e.event}({', '.join(texts)})"


def _error_members(abis, to, error) -> list:
    """Enum members of a typed error's fields, from the ABI of the contract called
    (an error raised deeper, by another contract, prints by number)."""
    return abis.error(to, error[0]) if abis is not None and to is not None and error else []


def _receipt_json(r, returns, abis=None, to=None) -> dict:
    return {
        "status": r.status,
        "gas_used": r.gas_used,
        "return_values": _values_json(r.return_values, returns),
        "events": [_event_json(e, abis) for e in r.logs],
        "revert_reason": r.revert_reason,
        "error": _error_json(
            r.error, _error_members(abis, to, r.error), _error_names(abis, to, r.error)
        ),
        "contract_address": ("0x" + r.contract_address.hex()) if r.contract_address else None,
        "tx_hash": "0x" + r.tx_hash.hex(),
    }


def _report(r, as_json: bool, returns=(), abis=None, to=None) -> None:
    """Print a receipt; a transaction that failed on the chain is exit 1. Results
    show as ``returns`` says (VM types, or an :class:`.abis.Shown`); with
    ``abis`` (:class:`.abis.Abis`), enum fields of events and of the called
    contract's typed errors print as member names."""
    if as_json:
        click.echo(json.dumps(_receipt_json(r, returns, abis, to), indent=2))
    else:
        click.echo(f"{r.status}: gas {r.gas_used}, tx 0x{r.tx_hash.hex()}")
        if r.contract_address:
            click.echo(f"contract 0x{r.contract_address.hex()}")
        if r.return_values:
            click.echo("returned " + ", ".join(_values_line(r.return_values, returns)))
        for e in r.logs:
            click.echo(_event_text(e, abis))
        if r.revert_reason or r.error:
            error = _error_text(
                r.error, _error_members(abis, to, r.error), _error_names(abis, to, r.error)
            )
            click.echo(f"reverted: {_failure_text(r.revert_reason, r.error, error)}")
    if not r.success:
        sys.exit(1)


def _values_line(values, types) -> list[str]:
    """Values on one line: strings quoted, so a comma inside one is not a separator."""
    from deed.vm.types import TAG_STRING

    from .abis import Shown

    if isinstance(types, Shown):
        return types.line(values)
    texts = _values_text(values, types)
    return [
        json.dumps(text, ensure_ascii=False) if t.tag == TAG_STRING else text
        for t, text in zip(types, texts, strict=True)
    ]


def _submit(ledger, key, to, data: bytes, value: int, gas: int):
    """Sign with the sender's current nonce and have it mined: its receipt."""
    try:
        return ledger.submit(key, to, data, value, gas)
    except InvalidTransaction as exc:
        if exc.code in USAGE_REJECTIONS:
            raise UsageError(f"{USAGE_REJECTIONS[exc.code]}: {exc}") from None
        raise Failure(f"transaction rejected: {exc}") from None


class Natural(click.ParamType):
    """A whole number from 0 to a bound (for --value, --gas and amounts): decimal,
    0x hex, an exact exponent (5e18) or a unit (2.5 ether); see values.parse_amount."""

    name = "integer"

    def __init__(self, bound_text: str, bound: int) -> None:
        self.bound_text = bound_text
        self.bound = bound

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        from .values import parse_amount

        number = parse_amount(str(value))
        if number is None or number < 0:
            self.fail(
                f"{value!r} is not a whole number from 0 to {self.bound_text} "
                "(decimal, 0x hex, an exponent as in 5e18, or a unit as in 2.5 ether)",
                param,
                ctx,
            )
        if number > self.bound:
            self.fail(f"{value} is over {self.bound_text}", param, ctx)
        return number


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


VALUE = click.option(
    "--value",
    default=0,
    type=Natural("2**256-1", 2**256 - 1),
    help="Native value sent with the transaction (0 to 2**256-1).",
)


def _gas_option(default: int):
    return click.option(
        "--gas",
        default=default,
        type=Natural("2**63-1", 2**63 - 1),
        show_default=True,
        help="Gas limit of the transaction.",
    )


@main.command(epilog=EPILOG_EXAMPLES["deploy"])
@click.argument("source", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1)
@click.option("--from", "sender", required=True, help="Key name of the deployer.")
@VALUE
@_gas_option(5_000_000)
@click.option("--contract", help="Which contract, when the file has several.")
@HOME
@CHAIN
@RPC
@JSON
def deploy(
    source: Path,
    args,
    sender: str,
    value: int,
    gas: int,
    contract: str | None,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """Compile (or read) a module and deploy it; ARGS go to init."""
    from deed.vm.chain import deploy_data
    from deed.vm.codec import encode_values

    from .abis import beside, call_args, init_entry, matches
    from .local import KeyStore

    ledger = _ledger(home, chain_path, rpc)
    store = KeyStore(home)
    key = store.load(sender)
    if source.suffix == ".deed":
        compiled = _compile(source, contract, as_json)
        module, abi = compiled.module, compiled.abi
    else:
        module = _verified_module_file(source)
        abi = beside(source)
        abi = abi if abi is not None and matches(abi, module) else None
    init = next((e for e in module.exports if e.is_init), None)
    params = list(init.params) if init else []
    values = call_args("init", args, init_entry(abi), params, store.address)
    data = deploy_data(module.encode(), encode_values(params, values))
    r = _submit(ledger, key, None, data, value, gas)
    if r.contract_address:
        ledger.abis.seed(r.contract_address, abi)  # init's events print through it too
        if abi is not None:  # call, send and logs find it by address
            ledger.keep_abi(r.contract_address, abi)
    _report(r, as_json, abis=ledger.abis)


def _export(ledger, to: bytes, function: str):
    """The function ``function`` of the contract at ``to``; a name that is not there is a usage error."""
    module = ledger.module_at(to)
    if module is None:
        raise UsageError(f"no contract at 0x{to.hex()}")
    exports = [e for e in module.exports if not e.is_init]
    for e in exports:
        if e.name == function:
            return e
    names = ", ".join(e.name for e in exports) or "none"
    raise UsageError(f"the contract has no function {function!r}; its functions: {names}")


def _resolve_call(ledger, store, address: str, function: str, args, abi_path: Path | None):
    """The contract, the export, the flat argument values, and how to show the
    results: the export's types, or through the contract's ABI (from --abi, or
    the one deploy kept for the address), structs and lists grouped and enums
    by name."""
    from deed.vm.types import ADDRESS

    from .abis import call_args, load, shown
    from .values import parse_arg

    abis = ledger.abis
    to = parse_arg(address, ADDRESS, store.address)
    export = _export(ledger, to, function)
    if abi_path is not None:
        abis.seed(to, load(abi_path))
    entry = abis.function(to, function)
    if abi_path is not None and entry is None:
        raise UsageError(f"{abi_path} has no function {function!r}")
    values = call_args(function, args, entry, export.params, store.address)
    return to, export, values, shown(entry, export.returns)


ABI = click.option(
    "--abi",
    "abi_path",
    type=PathArg(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The contract's .abi.json [default: the one deploy kept]: then one argument per "
    "declared parameter (a struct as a JSON object or (a, b, ...), a list as a JSON array, "
    "an enum by member name), results grouped and enums by name.",
)


@main.command(epilog=EPILOG_EXAMPLES["call"])
@click.argument("address")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--from", "sender", default=None, help="Key name to call as.")
@ABI
@HOME
@CHAIN
@RPC
@JSON
def call(
    address: str,
    function: str,
    args,
    sender: str | None,
    abi_path: Path | None,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """Run FUNCTION read-only: nothing is kept."""
    from .local import KeyStore

    store = KeyStore(home)
    who = store.address(sender) if sender is not None else bytes(20)
    ledger = _ledger(home, chain_path, rpc)
    abis = ledger.abis
    to, export, values, shown_as = _resolve_call(ledger, store, address, function, args, abi_path)
    res = ledger.call(to, export, values, who)
    if as_json:
        out = {
            "status": res.status,
            "gas_used": res.gas_used,
            "return_values": _values_json(res.return_values, shown_as),
            "revert_reason": res.revert_reason,
            "error": _error_json(
                res.error, _error_members(abis, to, res.error), _error_names(abis, to, res.error)
            ),
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    elif res.success:
        shown = _values_text(res.return_values, shown_as)
        click.echo("\n".join(shown) if shown else "(nothing)")
    else:
        error = _error_text(
            res.error, _error_members(abis, to, res.error), _error_names(abis, to, res.error)
        )
        click.echo(f"{res.status}: {_failure_text(res.revert_reason, res.error, error)}")
    if not res.success:
        sys.exit(1)


@main.command(epilog=EPILOG_EXAMPLES["send"])
@click.argument("address")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--from", "sender", required=True, help="Key name that signs.")
@VALUE
@_gas_option(1_000_000)
@ABI
@HOME
@CHAIN
@RPC
@JSON
def send(
    address: str,
    function: str,
    args,
    sender: str,
    value: int,
    gas: int,
    abi_path: Path | None,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """Sign and mine a transaction calling FUNCTION."""
    from deed.vm.codec import encode_values

    from .local import KeyStore

    store = KeyStore(home)
    key = store.load(sender)
    ledger = _ledger(home, chain_path, rpc)
    to, export, values, shown_as = _resolve_call(ledger, store, address, function, args, abi_path)
    data = export.selector + encode_values(list(export.params), values)
    r = _submit(ledger, key, to, data, value, gas)
    _report(r, as_json, shown_as, ledger.abis, to)


@keys.command("fund", epilog="Example: deed keys fund bob 5ether")
@click.argument("name")
@click.argument("amount", type=Natural("2**256-1", 2**256 - 1))
@HOME
@CHAIN
@RPC
@JSON
def keys_fund(
    name: str, amount: int, home: Path, chain_path: Path | None, rpc: str | None, as_json: bool
) -> None:
    """Give key NAME (or @NAME, or an 0x address) AMOUNT of native value on the
    local chain: a signed transfer from the local faucet, which `deed chain init`
    funds at genesis."""
    from deed.vm.types import ADDRESS

    from .local import KeyStore, faucet_key
    from .values import parse_arg

    store = KeyStore(home)
    text = name if name.startswith(("@", "0x", "0X")) else "@" + name
    to = parse_arg(text, ADDRESS, store.address)
    ledger = _ledger(home, chain_path, rpc)
    faucet = faucet_key()
    if ledger.account(faucet.address).balance < amount + 1_000_000:
        raise Failure(
            f"the local faucet of {ledger.where} cannot pay {amount}: a chain made before it had "
            "one, or it is spent; transfer from a funded key with `deed transfer`"
        )
    r = _submit(ledger, faucet, to, b"", amount, 1_000_000)
    _report(r, as_json, abis=ledger.abis)


@main.group(epilog="Example: deed oracle set o1 o2 o3")
def oracle() -> None:
    """Oracle signer sets and signed reports, from keys of the key store."""


@oracle.command("set", epilog="Example: deed oracle set o1 o2 o3   (pass it to init as `oracles`)")
@click.argument("names", nargs=-1, required=True)
@HOME
@JSON
def oracle_set(names: tuple[str, ...], home: Path, as_json: bool) -> None:
    """The signer set of keys NAMES, in order: their public keys concatenated,
    what a contract takes as its oracles (a signer's index is its place here)."""
    from .local import KeyStore

    if len(names) > 16:
        raise UsageError(f"a signer set has at most 16 keys, not {len(names)}")
    store = KeyStore(home)
    data = b"".join(store.load(n).public_key for n in names)
    if as_json:
        click.echo(json.dumps({"signers": list(names), "signer_set": "0x" + data.hex()}))
    else:
        click.echo("0x" + data.hex())


@oracle.command(
    "sign",
    epilog="Examples: deed oracle sign flight_delay.deed DelayReport flight=LH400 "
    "departure=1795639762 delay_minutes=185 --set o1,o2,o3 --signers o1,o3   |   "
    "deed oracle sign 0xCONTRACT DelayReport ... --set o1,o2,o3",
)
@click.argument("source")
@click.argument("report_type")
@click.argument("fields", nargs=-1)
@click.option(
    "--set", "signer_set", required=True, help="The contract's signer set: key names in order."
)
@click.option(
    "--signers", default=None, help="Who signs (names from --set) [default: all of --set]."
)
@click.option(
    "--time",
    "when",
    default=None,
    type=Natural("2**64-1", 2**64 - 1),
    help="Signing time [default: the local chain's clock, or now].",
)
@click.option("--contract", default=None, help="Which contract of SOURCE declares the report.")
@HOME
@CHAIN
@RPC
@JSON
def oracle_sign(
    source: str,
    report_type: str,
    fields: tuple[str, ...],
    signer_set: str,
    signers: str | None,
    when: int | None,
    contract: str | None,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """A report of type REPORT_TYPE, declared in SOURCE (a .deed file, or the
    address of a deployed contract whose ABI was kept), holding FIELDS
    (name=value each, values as for arguments), signed by --signers at their
    places in --set: the bytes to pass where a contract takes a report."""
    from .local import KeyStore

    declared = _declared_reports(source, contract, home, chain_path, rpc, as_json)
    if report_type not in declared:
        known = ", ".join(declared) or "none"
        raise UsageError(f"{source} declares no report {report_type!r}; its reports: {known}")
    report = declared[report_type]
    store = KeyStore(home)
    values = _report_values(report, fields, store)
    order = [n.strip() for n in signer_set.split(",") if n.strip()]
    chosen = order if signers is None else [n.strip() for n in signers.split(",") if n.strip()]
    strangers = [n for n in chosen if n not in order]
    if strangers:
        raise UsageError(f"--signers {', '.join(strangers)} not in --set {signer_set}")
    pairs = [(order.index(n), store.load(n)) for n in sorted(set(chosen), key=order.index)]
    timestamp = _report_time(when, home, chain_path, rpc)
    from deed.vm.oracle import sign_report

    blob = sign_report(timestamp, report.data(values), pairs)
    if as_json:
        click.echo(json.dumps({"report": "0x" + blob.hex(), "timestamp": timestamp}))
    else:
        click.echo("0x" + blob.hex())


def _declared_reports(source: str, contract, home, chain_path, rpc, as_json) -> dict:
    """The report types of a source file, or of a deployed contract's kept ABI."""
    from deed.testing.oracles import report_types, report_types_of_abi
    from deed.vm.types import ADDRESS

    from .local import KeyStore
    from .values import parse_arg

    if source.startswith(("0x", "0X", "@")):
        address = parse_arg(source, ADDRESS, KeyStore(home).address)
        abi = _ledger(home, chain_path, rpc).abis.abi(address)
        if abi is None:
            raise UsageError(
                f"no ABI kept for {source}: name its .deed source instead, or deploy it with deed"
            )
        return report_types_of_abi(abi)
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"{source!r}: neither a .deed source file nor a contract address")
    return report_types(_compile(path, contract, as_json).checked.node)


def _report_values(report, fields: tuple[str, ...], store) -> dict[str, object]:
    from .values import parse_arg

    types = dict(report.fields)
    values: dict[str, object] = {}
    for text in fields:
        name, sep, value = text.partition("=")
        if not sep or name not in types:
            raise UsageError(
                f"{text!r}: expected FIELD=VALUE with a field of {report.name}: " + ", ".join(types)
            )
        values[name] = parse_arg(value, types[name], store.address)
    missing = [n for n in types if n not in values]
    if missing:
        raise UsageError(f"{report.name} needs {', '.join(missing)}")
    return values


def _report_time(when: int | None, home: Path, chain_path: Path | None, rpc: str | None) -> int:
    """The signing time: given, or the chain's clock (the node's, or the local
    file's), or the wall clock."""
    import time as wall

    if when is not None:
        return when
    if rpc or _chain_path(home, chain_path).exists():
        return (
            _ledger(home, chain_path, rpc).now() - 1
        )  # signed in the head block's second or after
    return int(wall.time())


@main.command(epilog=EPILOG_EXAMPLES["transfer"])
@click.argument("address")
@click.argument("amount", type=Natural("2**256-1", 2**256 - 1))
@click.option("--from", "sender", required=True, help="Key name that signs.")
@_gas_option(1_000_000)
@HOME
@CHAIN
@RPC
@JSON
def transfer(
    address: str,
    amount: int,
    sender: str,
    gas: int,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """Send AMOUNT of native value to ADDRESS with no call data: an account
    takes it as is, a contract runs its receive() (or refuses it)."""
    from deed.vm.types import ADDRESS

    from .local import KeyStore
    from .values import parse_arg

    store = KeyStore(home)
    key = store.load(sender)
    to = parse_arg(address, ADDRESS, store.address)
    ledger = _ledger(home, chain_path, rpc)
    _report(_submit(ledger, key, to, b"", amount, gas), as_json, abis=ledger.abis)


@main.command(epilog="Example: deed receipt 0x5f3a...  (the tx hash `deed send --json` prints)")
@click.argument("tx_hash")
@HOME
@CHAIN
@RPC
@JSON
def receipt(
    tx_hash: str, home: Path, chain_path: Path | None, rpc: str | None, as_json: bool
) -> None:
    """The receipt of transaction TX_HASH, from the node's receipt index: its
    block, status, gas, events (fields named through the kept ABIs) and any
    revert reason or typed error. Receipts outlive the command that sent them."""

    text = tx_hash.strip().removeprefix("0x").removeprefix("0X")
    if len(text) != 64 or not _is_hex(text):
        raise UsageError(f"{tx_hash!r} is not a transaction hash: 0x and 64 hex digits")
    ledger = _ledger(home, chain_path, rpc)
    abis = ledger.abis
    found = ledger.receipt(bytes.fromhex(text))
    if found is None:
        raise Failure(f"no transaction 0x{text} in {ledger.where}")
    r = found.receipt
    if as_json:
        shown = _receipt_json(r, (), abis, r.to)
        del shown["return_values"]
        shown.update(height=found.height, tx_index=found.tx_index)
        shown["from"] = "0x" + r.sender.hex() if r.sender else None
        shown["to"] = "0x" + r.to.hex() if r.to else None
        shown["return_data"] = "0x" + r.return_data.hex()
        click.echo(json.dumps(shown, indent=2))
        return
    click.echo(f"tx 0x{text}: block {found.height}, index {found.tx_index}")
    if r.sender:
        click.echo(f"from 0x{r.sender.hex()} to {'0x' + r.to.hex() if r.to else '(deployment)'}")
    click.echo(f"{r.status}: gas {r.gas_used}")
    if r.contract_address:
        click.echo(f"contract 0x{r.contract_address.hex()}")
    for e in r.logs:
        click.echo(_event_text(e, abis))
    if r.revert_reason or r.error:
        members, names = _error_members(abis, r.to, r.error), _error_names(abis, r.to, r.error)
        error = _error_text(r.error, members, names)
        click.echo(f"reverted: {_failure_text(r.revert_reason, r.error, error)}")


@main.command(epilog=EPILOG_EXAMPLES["logs"])
@click.argument("address", required=False)
@click.argument("event", required=False)
@click.option("--address", "address_option", metavar="ADDRESS", help="Same as ADDRESS.")
@click.option("--event", "event_option", metavar="NAME", help="Same as EVENT.")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Only logs whose indexed FIELD has VALUE (repeatable; needs ADDRESS and EVENT).",
)
@click.option("--from-height", default=0, type=Natural("2**63-1", 2**63 - 1), help="First block.")
@click.option("--to-height", default=None, type=Natural("2**63-1", 2**63 - 1), help="Last block.")
@click.option(
    "--limit", default=100, show_default=True, type=Natural("10000", 10_000), help="Most logs."
)
@ABI
@HOME
@CHAIN
@RPC
@JSON
def logs(
    address: str | None,
    event: str | None,
    address_option: str | None,
    event_option: str | None,
    where,
    from_height: int,
    to_height: int | None,
    limit: int,
    abi_path: Path | None,
    home: Path,
    chain_path: Path | None,
    rpc: str | None,
    as_json: bool,
) -> None:
    """Logs from the node's log index, in chain order: of the contract at
    ADDRESS (or of every contract), all events or EVENT's, by the values of
    indexed fields."""
    from deed.vm.types import ADDRESS

    from .abis import load
    from .local import KeyStore
    from .values import parse_arg

    address = _one_of(address, address_option, "ADDRESS", "--address")
    event = _one_of(event, event_option, "EVENT", "--event")
    store = KeyStore(home)
    ledger = _ledger(home, chain_path, rpc)
    to = parse_arg(address, ADDRESS, store.address) if address is not None else None
    if to is None:
        if where:
            raise UsageError("--where needs the contract: give ADDRESS and EVENT")
        found = ledger.logs(None, event, {}, from_height, to_height, limit)
    else:
        if abi_path is not None:
            ledger.abis.seed(to, load(abi_path))
        values = _log_filter(ledger, store, to, event, where)
        found = ledger.logs(to, event, values, from_height, to_height, limit)
    rows = [_log_row(ledger, g, as_json, every=to is None) for g in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(rows) if rows else "(no logs)")


def _one_of(positional: str | None, option: str | None, name: str, flag: str) -> str | None:
    if positional is not None and option is not None and positional != option:
        raise UsageError(f"{name} and {flag} differ: give one")
    return positional if positional is not None else option


def _log_filter(ledger, store, to: bytes, event: str | None, where) -> dict:
    """The values of indexed fields ``--where`` asks for, checked against the contract's event."""
    from .abis import enum_arg
    from .values import parse_arg

    module = ledger.module_at(to)
    if module is None:
        raise UsageError(f"no contract at 0x{to.hex()}")
    events = {e.name: e for e in module.events}
    if event is not None and event not in events:
        known = ", ".join(events) or "none"
        raise UsageError(f"the contract has no event {event!r}; its events: {known}")
    if where and event is None:
        raise UsageError("--where needs the EVENT")
    values = {}
    members = ledger.abis.event(to, event) if event else []
    for clause in where:
        field, sep, text = clause.partition("=")
        fields = [f.name for f in events[event].fields]
        indexed = [f for f in events[event].fields if f.indexed]
        spec = next((f for f in indexed if f.name == field), None)
        if not sep or spec is None:
            raise UsageError(
                f"--where {clause!r}: expected FIELD=VALUE with an indexed field of {event}: "
                f"{', '.join(f.name for f in indexed) or 'it has none'}"
            )
        position = fields.index(field)
        m = members[position] if position < len(members) else None
        text = enum_arg(text, m, f"{event}.{field}")
        values[field] = parse_arg(text, spec.type, store.address)
    return values


def _log_row(ledger, g, as_json: bool, every: bool) -> dict | str:
    """One log as --json shows it, or as a line (with its contract when all are listed)."""
    from .abis import args_json, labelled, named_json, named_texts

    module = ledger.module_at(g.address)
    fields = next(e for e in module.events if e.name == g.event).fields
    types = [f.type for f in fields]
    names = [f.name for f in fields]
    m = ledger.abis.event(g.address, g.event)
    if as_json:
        shown = named_json(_values_json(g.values, types), g.values, m)
        return {
            "height": g.height,
            "tx_index": g.tx_index,
            "log_index": g.log_index,
            "tx_hash": "0x" + g.tx_hash.hex(),
            "address": "0x" + g.address.hex(),
            "event": g.event,
            "values": shown,
            "args": args_json(shown, names),
        }
    texts = labelled(named_texts(_values_line(g.values, types), g.values, m), names)
    where = f"0x{g.address.hex()} " if every else ""
    return (
        f"block {g.height} tx {g.tx_index} log {g.log_index}: {where}{g.event}({', '.join(texts)})"
    )


@main.command(epilog=EPILOG_EXAMPLES["asm"])
@click.argument("source", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=PathArg(dir_okay=False, path_type=Path),
    help="Where to write the module (default: SOURCE with .deedc).",
)
@JSON
def asm(source: Path, output: Path | None, as_json: bool) -> None:
    """Assemble text assembly into a verified bytecode module."""
    from deed.vm.asm import assemble
    from deed.vm.verifier import verify

    try:
        module = assemble(source.read_text())
        verify(module)
    except UnicodeDecodeError:
        fail(f"{source}: not a UTF-8 text file, so not assembly")
    except DeedVMError as exc:
        fail(f"{source}: {exc}")
    except (ValueError, TypeError) as exc:
        # vm.asm lets these through (`.maxstack x`, `#x` references, `.code 5`): reported
        # to its owners; an assembly error all the same
        fail(f"{source}: cannot assemble: {exc}")
    output = output or source.with_suffix(".deedc")
    output.write_bytes(module.encode())
    if as_json:
        shown = {"module": str(output), "bytes": len(module.encode())}
        click.echo(json.dumps(shown | {"module_id": module.module_id.hex()}))
    else:
        click.echo(f"{output}: {len(module.encode())} bytes, module id {module.module_id.hex()}")


@main.command(epilog=EPILOG_EXAMPLES["disasm"])
@click.argument("module_file", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jit",
    "show_jit",
    is_flag=True,
    help="Print the LLVM IR the JIT compiles for each function (or why it runs translated).",
)
@JSON
def disasm(module_file: Path, show_jit: bool, as_json: bool) -> None:
    """Print a bytecode module as text assembly (binary or hex file)."""
    from deed.vm.asm import disassemble

    if show_jit:
        _print_jit_ir(module_file)
        return
    module = load_module_file(module_file)
    try:
        text = disassemble(module)
    except ValueError as exc:
        # decode_module accepts unknown type tags that disassemble cannot name (reported
        # to vm's owners); the module would fail verification anyway
        fail(f"{module_file}: cannot disassemble: {exc}")
    if as_json:
        click.echo(json.dumps({"module_id": module.module_id.hex(), "assembly": text}))
        return
    click.echo(f"; module id {module.module_id.hex()}")
    click.echo(text, nl=False)


def _print_jit_ir(module_file: Path) -> None:
    """Each function's LLVM IR as the JIT lowers it (no llvmlite needed)."""
    from deed.vm.jit.lower import lower, unsupported
    from deed.vm.verifier import load

    try:
        vm = load(read_module_file(module_file))
    except DeedVMError as exc:
        fail(f"{module_file}: {exc}")
    for index, f in enumerate(vm.module.functions):
        why = unsupported(vm, index)
        if why is not None:
            click.echo(f"; function {index} {f.name}: runs on the translating engine: {why}\n")
            continue
        lowered = lower(vm, index)
        click.echo(f"; function {index} {f.name}: native, {lowered.instructions} instructions")
        click.echo(lowered.ir)


@main.command(epilog=EPILOG_EXAMPLES["verify"])
@click.argument("module_file", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@JSON
def verify(module_file: Path, as_json: bool) -> None:
    """Check a module against every verifier rule."""
    from deed.vm.verifier import load

    try:
        vm = load(read_module_file(module_file))
    except DeedVMError as exc:
        fail(f"{module_file}: {exc}")
    blocks = sum(len(f.blocks) for f in vm.functions)
    if as_json:
        counts = {"functions": len(vm.functions), "basic_blocks": blocks}
        counts["exports"] = len(vm.module.exports)
        click.echo(json.dumps({"module": str(module_file), "ok": True} | counts))
        return
    click.echo(
        f"{module_file}: ok ({len(vm.functions)} functions, {blocks} basic blocks, {len(vm.module.exports)} exports)"
    )


@main.command(epilog=EPILOG_EXAMPLES["analyze"])
@click.argument(
    "sources", nargs=-1, required=True, type=PathArg(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--gas", "show_gas", is_flag=True, help="Report the worst-case gas of every function."
)
@click.option("--json", "as_json", is_flag=True, help="Findings (and gas) as JSON.")
@click.option(
    "--sarif", "as_sarif", is_flag=True, help="Findings as SARIF 2.1.0, for code-scanning tools."
)
@click.option(
    "--fail-on",
    type=click.Choice(["high", "medium", "low", "informational"]),
    default=None,
    help="Exit 1 if a finding of this impact or worse remains.",
)
@click.option(
    "--print",
    "printer",
    type=click.Choice(["summary", "callgraph", "cfg"]),
    default=None,
    help="Print a view of the contract instead of findings.",
)
@click.option("--contract", help="Which contract, when a file has several.")
def analyze(
    sources,
    show_gas: bool,
    as_json: bool,
    as_sarif: bool,
    fail_on: str | None,
    printer: str | None,
    contract: str | None,
) -> None:
    """Find dangerous patterns and bound the gas of every function."""
    from deed.analyzer import report
    from deed.analyzer.run import analyze as run_analysis
    from deed.analyzer.run import at_least
    from deed.compiler.diagnostics import CompileError
    from deed.compiler.driver import CompilerOutput

    analyses = []
    outputs = []
    for source in sources:
        first = _compile(source, contract, as_json) if contract else None
        if first is not None:
            outputs.append(first)
            continue
        try:
            syntax = CompilerOutput(source.read_text(), str(source)).syntax
            names = list(dict.fromkeys(c.name for c in syntax.contracts))
        except (CompileError, UnicodeDecodeError):
            names = []  # the compile below reports it
        if len(names) <= 1:
            outputs.append(_compile(source, None, as_json))
        else:  # every contract of the file
            outputs.extend(_compile(source, name, as_json) for name in names)
    for out in outputs:
        if printer is not None:
            from deed.analyzer import printers
            from deed.analyzer.context import Context

            ctx = Context(out)
            view = {
                "summary": printers.summary,
                "callgraph": printers.call_graph,
                "cfg": printers.cfg,
            }[printer]
            click.echo(view(ctx))
            continue
        analyses.append(run_analysis(out, with_gas=show_gas or as_json))
    if printer is not None:
        return
    if as_sarif:
        click.echo(json.dumps(report.sarif(analyses), indent=2))
    elif as_json:
        click.echo(json.dumps(report.as_json(analyses), indent=2))
    else:
        click.echo(report.text(analyses, show_gas=show_gas, color=_colour()))
    if fail_on is not None and any(at_least(a.findings, fail_on) for a in analyses):
        sys.exit(1)


@main.command(epilog=EPILOG_EXAMPLES["demo"])
@click.option(
    "--chain",
    "chain_path",
    type=PathArg(dir_okay=False, path_type=Path),
    default=Path("deed-demo.db"),
    show_default=True,
    help="SQLite file of the local chain (a chain there is replaced).",
)
@JSON
def demo(chain_path: Path, as_json: bool) -> None:
    """Deploy the standard contracts on a local SQLite chain and run them."""
    from .demo import run_demo
    from .local import check_chain_file, exclusive

    if chain_path.exists():  # replace a chain, never a file that is something else
        check_chain_file(chain_path)
    try:
        lines: list[str] = []
        with exclusive(chain_path):  # and never under another command
            run_demo(chain_path, lines.append if as_json else click.echo)
    except DeedVMError as exc:
        fail(str(exc))
    if as_json:  # the story's lines, for a script to keep
        click.echo(json.dumps({"chain": str(chain_path), "story": lines}, ensure_ascii=False))


@main.command(
    "node",
    epilog="Examples: deed node   |   deed node --memory --port 0   |   deed node --block-time 2",
)
@click.option("--memory", is_flag=True, help="A throwaway chain in memory (no file).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback: only this machine).",
)
@click.option(
    "--port",
    default=8545,
    show_default=True,
    type=Natural("65535", 65535),
    help="Port to listen on (0: any free port, printed).",
)
@click.option(
    "--block-time",
    default=None,
    type=click.FloatRange(min=0.01, max=3600),
    metavar="SECONDS",
    help="Mine a block every SECONDS [default: a block per transaction, at once].",
)
@click.option(
    "--etcd",
    metavar="URL",
    help="Run as a node of a network whose blocks are ordered by the etcd member at URL "
    "(spec/network.md); needs --node-id.",
)
@click.option("--node-id", metavar="NAME", help="This node's name in the network's genesis.")
@click.option(
    "--snapshot-after",
    default=10_000,
    show_default=True,
    type=Natural("1000000000", 10**9),
    metavar="BLOCKS",
    help="A network node this many blocks behind the log (or new) starts from another "
    "node's verified state snapshot instead of replaying (0: always replay).",
)
@click.option(
    "--network",
    default="deed",
    show_default=True,
    metavar="NAME",
    help="The network's name: its keys in etcd.",
)
@HOME
@CHAIN
@JSON
def node(
    memory: bool,
    host: str,
    port: int,
    block_time: float | None,
    etcd: str | None,
    node_id: str | None,
    snapshot_after: int,
    network: str,
    home: Path,
    chain_path: Path | None,
    as_json: bool,
) -> None:
    """Serve the local chain (created, with every key funded, if missing) over
    JSON-RPC 2.0 on http://HOST:PORT until Ctrl-C: transactions, read-only
    calls, receipts, blocks and logs, kept across restarts, and development
    methods (clock, balances, snapshots): spec/node.md. Point the command
    line at it with --rpc URL or DEED_RPC."""
    from .node import NodeOptions, serve

    if memory and chain_path is not None:
        raise UsageError("--memory and --chain name two chains: give one")
    if bool(etcd) != bool(node_id):
        raise UsageError("--etcd and --node-id go together: a network node needs both")
    chain_file = None if memory else _chain_path(home, chain_path)
    serve(
        NodeOptions(
            chain_file,
            home,
            host,
            port,
            block_time,
            as_json,
            etcd=etcd,
            node_id=node_id,
            network=network,
            snapshot_after=snapshot_after,
        )
    )


DEVNET_DIR = click.option(
    "--dir",
    "directory",
    type=PathArg(file_okay=False, path_type=Path),
    default=None,
    help="Where the devnet keeps its data and logs [default: HOME/devnet].",
)


@main.group(
    "devnet",
    invoke_without_command=True,
    epilog="Examples: deed devnet --nodes 3   |   deed devnet status   |   deed devnet down",
)
@click.option(
    "--nodes",
    default=3,
    show_default=True,
    type=click.IntRange(1, 7),
    help="How many organisations: an etcd member and a Deed node each.",
)
@DEVNET_DIR
@click.option(
    "--block-time",
    default=0.1,
    show_default=True,
    type=click.FloatRange(min=0.01, max=60),
    metavar="SECONDS",
    help="How often the elected node cuts a block (when transactions wait).",
)
@click.option("--fresh", is_flag=True, help="Delete the devnet's old data first.")
@HOME
@JSON
@click.pass_context
def devnet(
    ctx: click.Context,
    nodes: int,
    directory: Path | None,
    block_time: float,
    fresh: bool,
    home: Path,
    as_json: bool,
) -> None:
    """Start a local network on 127.0.0.1: NODES etcd members (one Raft
    cluster) and NODES Deed nodes, each with its own chain and RPC port, the
    faucet and every key funded at genesis; print the endpoints and return
    (the processes keep running). Point commands at a node with --rpc URL.
    `deed devnet down` stops it; `deed devnet status` shows it."""
    ctx.ensure_object(dict)
    ctx.obj["dir"] = directory or home / "devnet"
    ctx.obj["json"] = as_json
    if ctx.invoked_subcommand is not None:
        return
    from .devnet import up

    up(ctx.obj["dir"], nodes, block_time, fresh, home, as_json)


def _devnet_dir(ctx: click.Context, directory: Path | None, home: Path) -> Path:
    """A subcommand's devnet directory: its --dir, or its --home's, or the group's."""
    if directory is not None:
        return directory
    if ctx.get_parameter_source("home") is not click.core.ParameterSource.DEFAULT:
        return home / "devnet"
    return ctx.obj["dir"]


@devnet.command("down", epilog="Example: deed devnet down")
@DEVNET_DIR
@HOME
@JSON
@click.pass_context
def devnet_down(ctx: click.Context, directory: Path | None, home: Path, as_json: bool) -> None:
    """Stop the devnet's nodes, then its etcd members (their data stays)."""
    from .devnet import down

    down(_devnet_dir(ctx, directory, home), as_json or ctx.obj["json"])


@devnet.command("status", epilog="Example: deed devnet status")
@DEVNET_DIR
@HOME
@JSON
@click.pass_context
def devnet_status(ctx: click.Context, directory: Path | None, home: Path, as_json: bool) -> None:
    """Each node's RPC URL, etcd endpoint, height and whether it runs."""
    from .devnet import status

    status(_devnet_dir(ctx, directory, home), as_json or ctx.obj["json"])


@main.command(epilog=EPILOG_EXAMPLES["snapshot"])
@click.argument("paths", nargs=-1, type=PathArg(exists=True))
@click.option(
    "--snap",
    type=PathArg(dir_okay=False, path_type=Path),
    default=Path(".gas-snapshot"),
    show_default=True,
    help="The snapshot file.",
)
@click.option("--check", is_flag=True, help="Compare with the snapshot file; exit 1 if it differs.")
@click.option(
    "-k", "match", metavar="EXPR", help="Only the tests pytest's -k EXPR selects (as in pytest)."
)
@JSON
def snapshot(
    paths: tuple[str, ...], snap: Path, check: bool, match: str | None, as_json: bool
) -> None:
    """Run the tests in PATHS (default: tests/) with pytest and write the gas each
    test's transactions used to a snapshot file, one `TEST_ID (gas: N)` a line."""
    from .snapshot import snapshot as take

    if not paths and not Path("tests").is_dir():
        raise UsageError("no tests/ here: name the test files or directories")
    changes = take(paths or ("tests",), snap, check, match)
    if as_json:
        shown = [{"test": c.test, "old": c.old, "new": c.new} for c in changes]
        click.echo(json.dumps({"snapshot": str(snap), "check": check, "changes": shown}))
    for change in changes if not as_json else ():
        click.echo(change.text())
    if changes:
        raise Failure(f"the gas differs from {snap} in {len(changes)} test(s)")
    if check:
        click.echo(f"the gas matches {snap}")


if __name__ == "__main__":
    main()
