"""``deed demo``: the standard contracts on a local chain kept in SQLite.

Compiles the standard contracts (``contracts/*.deed``), deploys the token,
the flight-delay pool and an escrow with signed transactions, runs each
through its story, and prints every receipt with its gas.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from deed.compiler.driver import compile_source
from deed.contracts import source
from deed.vm.chain import Chain, Receipt, Transaction, deploy_data
from deed.vm.codec import encode_values
from deed.vm.crypto import KeyPair
from deed.vm.state import SqliteBackend
from deed.vm.types import ADDRESS, U64

ETHER = 10**18


class DemoChain:
    def __init__(self, path: Path, echo: Callable[[str], None]):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        self.echo = echo
        self.keys = {
            name: KeyPair.from_text(f"deed demo {name}")
            for name in ("alice", "bob", "carol", "dave")
        }
        self.chain = Chain(SqliteBackend(path), chain_id=1)
        self.chain.genesis(
            {k.address: 100 * ETHER for k in self.keys.values()}, timestamp=1_700_000_000
        )
        self.timestamp = 1_700_000_000
        self.block = None
        self.new_block()

    def new_block(self, seconds: int = 12) -> None:
        if self.block is not None:
            header = self.block.commit()
            self.echo(
                f"-- block {header.height} committed, state root {header.state_root.hex()[:16]}.."
            )
        self.timestamp += seconds
        self.block = self.chain.begin_block(self.timestamp, proposer=self.keys["dave"].address)

    def addr(self, name: str) -> bytes:
        return self.keys[name].address

    def _apply(self, who: str, to: bytes | None, data: bytes, value: int, what: str) -> Receipt:
        key = self.keys[who]
        tx = Transaction(
            1, self.chain.nonce(key.address), key.public_key, to, value, 2_000_000, 1, data
        ).signed(key)
        r = self.block.apply(tx)
        events = ", ".join(f"{log.event}{_show(log.values)}" for log in r.logs)
        result = f" -> {_show(r.return_values)}" if r.return_values else ""
        reason = f" ({r.revert_reason})" if r.revert_reason else ""
        self.echo(
            f"{who:>5} {what:<42} {r.status:<9} gas {r.gas_used:>6}{result}{reason}{'  ' + events if events else ''}"
        )
        return r

    def deploy(self, who: str, name: str, init_types=(), init_args=(), value: int = 0) -> bytes:
        start = time.perf_counter()
        module = compile_source(source(name), f"contracts/{name}.deed").module
        self.echo(
            f"      compiled contracts/{name}.deed: {len(module.encode())} bytes in {1000 * (time.perf_counter() - start):.0f} ms"
        )
        r = self._apply(
            who,
            None,
            deploy_data(module.encode(), encode_values(list(init_types), list(init_args))),
            value,
            f"deploy {name}",
        )
        if not r.success:
            raise SystemExit(f"deploying {name} failed: {r.revert_reason}")
        return r.contract_address

    def send(self, who: str, to: bytes, fn: str, args=(), value: int = 0) -> Receipt:
        shown = ", ".join(_short(a) for a in args)
        return self._apply(
            who, to, self.chain.encode_call(to, fn, list(args)), value, f"{fn}({shown})"
        )


def _short(v) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()[:8] + ".."
    return str(v)


def _show(values) -> str:
    return "(" + ", ".join(_short(v) for v in values) + ")"


def run_demo(path: Path, echo: Callable[[str], None]) -> None:
    d = DemoChain(path, echo)
    echo(f"local chain in {path} (SQLite), signatures checked")

    echo("\n== token")
    tok = d.deploy("alice", "token")
    d.send("alice", tok, "mint", [d.addr("bob"), 1_000_000])
    d.send("bob", tok, "transfer", [d.addr("carol"), 2_500])
    d.send("bob", tok, "transfer", [d.addr("carol"), 5_000_000])
    d.new_block()

    echo("\n== flight-delay cover (oracle: carol)")
    pool = d.deploy("alice", "insurance", [ADDRESS], [d.addr("carol")], value=ETHER)
    d.send("bob", pool, "join", [b"LH454 2026-11-22".ljust(32, b"\0")], value=10**16)
    d.send("carol", pool, "report_delay", [0, 150])
    d.send("bob", pool, "join", [b"LH455 2026-11-22".ljust(32, b"\0")], value=10**16)
    d.send("carol", pool, "report_delay", [1, 30])
    d.send("bob", pool, "claim", [0])
    d.send("bob", pool, "claim", [0])
    d.new_block()

    echo(
        f"      pool reserve now {d.chain.call(pool, 'reserved_funds').return_values[0] / ETHER} ether"
    )
    echo("\n== escrow (buyer alice, seller bob, arbiter dave)")
    escrow = d.deploy(
        "alice", "escrow", [ADDRESS, ADDRESS, U64], [d.addr("bob"), d.addr("dave"), 86_400]
    )
    d.send("alice", escrow, "deposit", value=2 * ETHER)
    d.send("alice", escrow, "confirm_delivery")
    d.new_block()

    echo("\n== compute: loop_sum(100000), read-only")
    compute = d.deploy("alice", "compute")
    d.new_block()
    start = time.perf_counter()
    res = d.chain.call(compute, "loop_sum", [100_000], gas_limit=10**9)
    echo(
        f"loop_sum(100000) = {res.return_values[0]}  gas {res.gas_used:,}  {1000 * (time.perf_counter() - start):.0f} ms"
    )
    d.block.abandon()
    head = d.chain.head
    echo(f"\nhead: block {head.height}, state root {head.state_root.hex()}")
    echo(
        f"balances: bob {d.chain.balance(d.addr('bob')) / ETHER:.6f}, pool {d.chain.balance(pool) / ETHER:.6f}, escrow {d.chain.balance(escrow) / ETHER:.6f}"
    )
