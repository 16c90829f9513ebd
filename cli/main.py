"""The ``deed`` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from deed.vm.errors import DeedVMError

from .demo import run_demo

EPILOG_EXAMPLES = {
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deed")
def main() -> None:
    """Deed: contracts, their compiler, and the VM that runs them."""


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
    from deed.vm.module import decode_module

    try:
        module = decode_module(read_module_file(module_file))
    except DeedVMError as exc:
        fail(f"{module_file}: {exc}")
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
    try:
        run_demo(chain_path, click.echo)
    except DeedVMError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
