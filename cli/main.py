"""The ``deed`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from deed.vm.errors import DeedVMError, InvalidTransaction

from .errors import UsageError

# Commands import what they need when they run: `deed compile` never loads the
# chain, and start-up stays short.

EPILOG_EXAMPLES = {
    "compile": "Example: deed compile contracts/escrow.deed --abi",
    "deploy": "Example: deed deploy contracts/token.deed --from alice",
    "call": "Example: deed call 0x1f2e... balance_of @alice",
    "send": "Example: deed send 0x1f2e... transfer @bob 100 --from alice",
    "keys": "Example: deed keys new alice",
    "chain": "Example: deed chain init",
    "analyze": "Example: deed analyze contracts/*.deed --gas --fail-on medium",
    "asm": "Example: deed asm contracts/asm/token.dasm -o token.deedc",
    "disasm": "Example: deed disasm token.deedc",
    "verify": "Example: deed verify token.deedc",
    "demo": "Example: deed demo --chain /tmp/deed-demo.db",
}


def fail(message: str) -> None:
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


class DeedGroup(click.Group):
    """Turns UsageError into click's usage error (exit 2) and stray VM errors into exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None


@click.group(cls=DeedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deed")
def main() -> None:
    """Deed: contracts, their compiler, and the VM that runs them."""


HOME = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".deed"),
    show_default=True,
    envvar="DEED_HOME",
    help="Where keys (and by default the chain) live.",
)
CHAIN = click.option(
    "--chain",
    "chain_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file of the local chain [default: HOME/chain.db].",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _chain_path(home: Path, chain_path: Path | None) -> Path:
    return chain_path or home / "chain.db"


def _colour() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in __import__("os").environ


def _compile(path: Path, contract: str | None, as_json: bool):
    from deed.compiler.diagnostics import CompileError
    from deed.compiler.driver import compile_file

    out = compile_file(path, contract)
    try:
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
        fail(f"{path}: not a UTF-8 text file")
    return out


@main.command("compile", epilog=EPILOG_EXAMPLES["compile"])
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
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
def keys_new(name: str, home: Path) -> None:
    """Create an ed25519 key called NAME."""
    from .local import KeyStore

    key = KeyStore(home).create(name)
    click.echo(f"{name}: address 0x{key.address.hex()}")


@keys.command("list", epilog="Example: deed keys list")
@HOME
@JSON
def keys_list(home: Path, as_json: bool) -> None:
    """List keys and their addresses."""
    from .local import KeyStore

    store = KeyStore(home)
    rows = [(n, store.load(n).address.hex()) for n in store.names()]
    if as_json:
        click.echo(json.dumps([{"name": n, "address": "0x" + a} for n, a in rows], indent=2))
    for n, a in [] if as_json else rows:
        click.echo(f"{n:<16} 0x{a}")


@main.group(epilog=EPILOG_EXAMPLES["chain"])
def chain() -> None:
    """The local chain kept in SQLite."""


@chain.command("init", epilog=EPILOG_EXAMPLES["chain"])
@HOME
@CHAIN
def chain_init(home: Path, chain_path: Path | None) -> None:
    """Create a local chain whose genesis funds every key in the key store."""
    from .local import DEV_FUNDS, KeyStore, open_chain

    path = _chain_path(home, chain_path)
    if path.exists():
        raise UsageError(f"{path} exists already")
    store = KeyStore(home)
    names = store.names()
    if not names:
        raise UsageError("no keys to fund: create one with `deed keys new NAME`")
    c = open_chain(path, create=True)
    header = c.genesis({store.load(n).address: DEV_FUNDS for n in names})
    click.echo(f"{path}: genesis {header.hash.hex()[:16]}.., funded {', '.join(names)}")


def _receipt_json(r) -> dict:
    return {
        "status": r.status,
        "gas_used": r.gas_used,
        "return_values": [("0x" + v.hex()) if isinstance(v, bytes) else v for v in r.return_values],
        "events": [
            {
                "address": "0x" + e.address.hex(),
                "event": e.event,
                "values": [("0x" + v.hex()) if isinstance(v, bytes) else v for v in e.values],
            }
            for e in r.logs
        ],
        "revert_reason": r.revert_reason,
        "error": [r.error[0], [("0x" + v.hex()) if isinstance(v, bytes) else v for v in r.error[1]]]
        if r.error
        else None,
        "contract_address": ("0x" + r.contract_address.hex()) if r.contract_address else None,
        "tx_hash": "0x" + r.tx_hash.hex(),
    }


def _report(r, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(_receipt_json(r), indent=2))
    else:
        click.echo(f"{r.status}: gas {r.gas_used}, tx 0x{r.tx_hash.hex()[:16]}..")
        if r.contract_address:
            click.echo(f"contract 0x{r.contract_address.hex()}")
        if r.return_values:
            click.echo(
                "returned "
                + ", ".join(
                    str(("0x" + v.hex()) if isinstance(v, bytes) else v) for v in r.return_values
                )
            )
        for e in r.logs:
            click.echo(
                f"event {e.event}("
                + ", ".join(str(("0x" + v.hex()) if isinstance(v, bytes) else v) for v in e.values)
                + ")"
            )
        if r.revert_reason:
            click.echo(f"reverted: {r.revert_reason}" + (f" {r.error[1]}" if r.error else ""))
    if not r.success:
        sys.exit(1)


def _submit(c, key, to, data, value, gas, as_json):
    from deed.vm.chain import Transaction

    from .local import mine

    tx = Transaction(
        c.chain_id, c.nonce(key.address), key.public_key, to, value, gas, 1, data
    ).signed(key)
    try:
        r = mine(c, tx, key.address)
    except InvalidTransaction as exc:
        fail(f"transaction rejected: {exc}")
    _report(r, as_json)


@main.command(epilog=EPILOG_EXAMPLES["deploy"])
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1)
@click.option("--from", "sender", required=True, help="Key name of the deployer.")
@click.option("--value", default=0, type=int, help="Native value sent to init.")
@click.option("--gas", default=5_000_000, type=int, show_default=True)
@click.option("--contract", help="Which contract, when the file has several.")
@HOME
@CHAIN
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
    as_json: bool,
) -> None:
    """Compile (or read) a module and deploy it; ARGS go to init."""
    from deed.vm.chain import deploy_data
    from deed.vm.codec import encode_values

    from .local import KeyStore, open_chain, parse_arg

    if source.suffix == ".deed":
        module = _compile(source, contract, as_json).module
    else:
        module = load_module_file(source)
    store = KeyStore(home)
    key = store.load(sender)
    init = next((e for e in module.exports if e.is_init), None)
    params = init.params if init else ()
    if len(args) != len(params):
        raise UsageError(f"init takes {len(params)} argument(s), got {len(args)}")
    encoded = encode_values(
        list(params), [parse_arg(a, t, store) for a, t in zip(args, params, strict=True)]
    )
    c = open_chain(_chain_path(home, chain_path))
    _submit(c, key, None, deploy_data(module.encode(), encoded), value, gas, as_json)


def _resolve_call(c, store, address: str, function: str, args):
    from .local import parse_arg, parse_hex

    try:
        to = parse_hex(address)
    except ValueError:
        raise UsageError(f"{address!r} is not a hex address") from None
    try:
        export = c.export(to, function)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if len(args) != len(export.params):
        raise UsageError(f"{function} takes {len(export.params)} argument(s), got {len(args)}")
    values = [parse_arg(a, t, store) for a, t in zip(args, export.params, strict=True)]
    return to, export, values


@main.command(epilog=EPILOG_EXAMPLES["call"])
@click.argument("address")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--from", "sender", default=None, help="Key name to call as.")
@HOME
@CHAIN
@JSON
def call(
    address: str,
    function: str,
    args,
    sender: str | None,
    home: Path,
    chain_path: Path | None,
    as_json: bool,
) -> None:
    """Run FUNCTION read-only: nothing is kept."""
    from .local import KeyStore, open_chain, show_value

    store = KeyStore(home)
    c = open_chain(_chain_path(home, chain_path))
    to, export, values = _resolve_call(c, store, address, function, args)
    who = store.load(sender).address if sender else bytes(20)
    res = c.call(to, function, values, sender=who)
    shown = [show_value(t, v) for t, v in zip(export.returns, res.return_values, strict=False)]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "status": res.status,
                    "gas_used": res.gas_used,
                    "return_values": shown,
                    "revert_reason": res.revert_reason,
                },
                indent=2,
            )
        )
    elif res.success:
        click.echo(", ".join(map(str, shown)) if shown else "(nothing)")
    else:
        click.echo(f"{res.status}: {res.revert_reason}")
    if not res.success:
        sys.exit(1)


@main.command(epilog=EPILOG_EXAMPLES["send"])
@click.argument("address")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--from", "sender", required=True, help="Key name that signs.")
@click.option("--value", default=0, type=int)
@click.option("--gas", default=1_000_000, type=int, show_default=True)
@HOME
@CHAIN
@JSON
def send(
    address: str,
    function: str,
    args,
    sender: str,
    value: int,
    gas: int,
    home: Path,
    chain_path: Path | None,
    as_json: bool,
) -> None:
    """Sign and mine a transaction calling FUNCTION."""
    from .local import KeyStore, open_chain

    store = KeyStore(home)
    c = open_chain(_chain_path(home, chain_path))
    to, export, values = _resolve_call(c, store, address, function, args)
    from deed.vm.codec import encode_values

    data = export.selector + encode_values(list(export.params), values)
    _submit(c, store.load(sender), to, data, value, gas, as_json)


@main.command(epilog=EPILOG_EXAMPLES["asm"])
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the module (default: SOURCE with .deedc).",
)
def asm(source: Path, output: Path | None) -> None:
    """Assemble text assembly into a verified bytecode module."""
    from deed.vm.asm import assemble
    from deed.vm.verifier import verify

    try:
        module = assemble(source.read_text())
        verify(module)
    except DeedVMError as exc:
        fail(f"{source}: {exc}")
    output = output or source.with_suffix(".deedc")
    output.write_bytes(module.encode())
    click.echo(f"{output}: {len(module.encode())} bytes, module id {module.module_id.hex()}")


@main.command(epilog=EPILOG_EXAMPLES["disasm"])
@click.argument("module_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def disasm(module_file: Path) -> None:
    """Print a bytecode module as text assembly (binary or hex file)."""
    from deed.vm.asm import disassemble

    module = load_module_file(module_file)
    click.echo(f"; module id {module.module_id.hex()}")
    click.echo(disassemble(module), nl=False)


@main.command(epilog=EPILOG_EXAMPLES["verify"])
@click.argument("module_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(module_file: Path) -> None:
    """Check a module against every verifier rule."""
    from deed.vm.verifier import load

    try:
        vm = load(read_module_file(module_file))
    except DeedVMError as exc:
        fail(f"{module_file}: {exc}")
    blocks = sum(len(f.blocks) for f in vm.functions)
    click.echo(
        f"{module_file}: ok ({len(vm.functions)} functions, {blocks} basic blocks, {len(vm.module.exports)} exports)"
    )


@main.command(epilog=EPILOG_EXAMPLES["analyze"])
@click.argument(
    "sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
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
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("deed-demo.db"),
    show_default=True,
    help="SQLite file of the local chain (replaced).",
)
def demo(chain_path: Path) -> None:
    """Deploy the standard contracts on a local SQLite chain and run them."""
    from .demo import run_demo

    try:
        run_demo(chain_path, click.echo)
    except DeedVMError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
