"""The standard contracts. Until the compiler lands, their hand-assembled
twins of the reference (anchor) contracts live in ``asm/``."""

from importlib import resources


def assembly(name: str) -> str:
    """Text of ``asm/NAME.dasm`` (token, escrow, insurance, compute)."""
    return resources.files(__name__).joinpath("asm", f"{name}.dasm").read_text()
