"""Helpers shared by the tests: a chain with funded keys, and deployment of assembly."""

from __future__ import annotations

from pathlib import Path

from deed.vm import costs
from deed.vm.asm import assemble
from deed.vm.chain import Chain, Receipt, Transaction, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.module import Module
from deed.vm.state import MemoryBackend

ASM = Path(__file__).parent.parent / "contracts" / "asm"
FUNDS = 10**30


def asm_module(name: str) -> Module:
    return assemble((ASM / f"{name}.dasm").read_text())


class Harness:
    """A chain with a few funded accounts and one open block at a time."""

    def __init__(
        self,
        backend=None,
        check_signatures: bool = True,
        names=("alice", "bob", "carol", "dave"),
        modules=None,
    ):
        self.keys = {n: KeyPair.from_text(n) for n in names}
        self.chain = Chain(
            backend if backend is not None else MemoryBackend(),
            check_signatures=check_signatures,
            modules=modules,
        )
        self.chain.genesis({k.address: FUNDS for k in self.keys.values()})
        self.timestamp = 1_000
        self.block = self.chain.begin_block(self.timestamp)

    def addr(self, name: str) -> bytes:
        return self.keys[name].address

    def tx(
        self,
        sender: str,
        to: bytes | None,
        data: bytes = b"",
        value: int = 0,
        gas: int = 5_000_000,
        price: int = 1,
    ) -> Transaction:
        key = self.keys[sender]
        nonce = self.chain.nonce(key.address)
        return Transaction(1, nonce, key.public_key, to, value, gas, price, data).signed(key)

    def deploy(
        self,
        module: Module | str,
        sender: str = "alice",
        init_args: bytes = b"",
        value: int = 0,
        gas: int = 5_000_000,
    ) -> Receipt:
        if isinstance(module, str):
            module = assemble(module)
        return self.block.apply(
            self.tx(sender, None, deploy_data(module.encode(), init_args), value, gas)
        )

    def deployed(self, module: Module | str, **kw) -> bytes:
        r = self.deploy(module, **kw)
        assert r.success, r.revert_reason
        return r.contract_address

    def send(
        self,
        sender: str,
        to: bytes,
        name: str,
        args=(),
        value: int = 0,
        gas: int = 5_000_000,
        price: int = 1,
    ) -> Receipt:
        return self.block.apply(
            self.tx(sender, to, self.chain.encode_call(to, name, list(args)), value, gas, price)
        )

    def load_gas(self, address: bytes) -> int:
        """What a transaction pays for the first use of the code at ``address``."""
        code = self.chain.state.code(self.chain.account(address).code_hash)
        return costs.code_load(len(code))

    def call(self, to: bytes, name: str, args=(), **kw):
        return self.chain.call(to, name, list(args), **kw)

    def next_block(self, seconds: int = 10):
        header = self.block.commit()
        self.timestamp += seconds
        self.block = self.chain.begin_block(self.timestamp)
        return header


def calldata(export, args) -> bytes:
    return export.selector + encode_values(export.params, list(args))
