"""The standard contracts, in Deed (``NAME.deed``), and the hand-assembled
twins of the reference contracts (``asm/NAME.dasm``) that test the VM on
its own."""

from importlib import resources


def source(name: str) -> str:
    """Deed source of ``NAME.deed`` (token, escrow, insurance, compute)."""
    return resources.files(__name__).joinpath(f"{name}.deed").read_text()


def source_path(name: str) -> str:
    return str(resources.files(__name__).joinpath(f"{name}.deed"))


def assembly(name: str) -> str:
    """Text of ``asm/NAME.dasm`` (token, escrow, insurance, compute)."""
    return resources.files(__name__).joinpath("asm", f"{name}.dasm").read_text()
