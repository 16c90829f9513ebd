"""``deed node``: open (or create) a chain and serve it over JSON-RPC until stopped.

While it runs, the node holds the chain file's writer lock and writes
``CHAIN.node`` (its URL and process id) beside it, so a command that would
write the file directly is told where the node is instead of waiting for
the lock. ``--memory`` serves a throwaway chain that dies with the process.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import click

from deed.vm.chain import Chain
from deed.vm.state import SqliteBackend

from .errors import Failure
from .local import (
    DEV_FUNDS,
    FAUCET_FUNDS,
    KeyStore,
    chain_errors,
    check_chain_file,
    faucet_key,
    lock_path,
    node_file,
)


@dataclass(frozen=True)
class NodeOptions:
    chain_file: Path | None  # None: in memory
    home: Path
    host: str
    port: int
    block_time: float | None
    as_json: bool = False  # the start-up banner as one JSON line
    etcd: str | None = None  # a network node: its etcd member's endpoint
    node_id: str | None = None  # a network node: its name in the network's genesis
    network: str = "deed"  # a network node: the network's name (its keys in etcd)
    snapshot_after: int = 10_000  # a network node this far behind loads a snapshot (0: never)


def genesis_funds(store: KeyStore) -> dict[bytes, int]:
    """What a new local chain starts with: the faucet, and every key of the store."""
    funds = {faucet_key().address: FAUCET_FUNDS}
    funds.update({store.address(n): DEV_FUNDS for n in store.names()})
    return funds


@contextmanager
def _held(path: Path) -> Iterator[None]:
    """The chain file's writer lock, for the node's whole life (not waited for)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Failure(
                f"{path} is in use: another deed node serves it, or a command is writing it"
            ) from None
        yield
    finally:
        os.close(fd)


def _open_backend(options: NodeOptions) -> tuple[SqliteBackend, bool]:
    """The chain's backend and whether it was created now (with its genesis)."""
    store = KeyStore(options.home)
    if options.chain_file is None:
        backend = SqliteBackend(":memory:")
        if not options.etcd:  # a network node builds block 0 from the network's genesis
            Chain(backend).genesis(genesis_funds(store))
        return backend, True
    path = options.chain_file
    created = not path.exists()
    if not created:
        check_chain_file(path)
    backend = SqliteBackend(path)
    if created and not options.etcd:
        with chain_errors(path):
            Chain(backend).genesis(genesis_funds(store))
    return backend, created


def _network_node(options: NodeOptions, backend: SqliteBackend, abis):
    """A node of a network: its blocks come from the ordered log in etcd."""
    from deed.network.log import LogUnavailable, OrderingLog
    from deed.network.service import NetworkService, NodeHalted
    from deed.vm.crypto import KeyPair

    try:
        log = OrderingLog(options.etcd, options.network)
        genesis = log.genesis()
    except (ValueError, LogUnavailable) as exc:
        raise Failure(f"--etcd: {exc}") from None
    if genesis is None:
        raise Failure(
            f"network {options.network!r} has no genesis in etcd at {options.etcd} "
            "(deed devnet writes one)"
        )
    try:
        node = NetworkService(
            backend,
            abis,
            options.block_time or 0.1,
            log=log,
            node_id=options.node_id,
            genesis=genesis,
            proposer=KeyPair.from_text(f"deed-node:{options.node_id}").address,
        )
        node.ensure_genesis()
    except NodeHalted as exc:
        raise Failure(str(exc)) from None
    return node


def _snapshot_if_far_behind(options: NodeOptions) -> None:
    """A network node more than --snapshot-after blocks behind the log (a
    new one included) starts from another node's verified snapshot."""
    from deed.network.log import LogUnavailable, OrderingLog
    from deed.network.snapshot import catch_up

    def say(message: str) -> None:
        click.echo(f"deed node {options.node_id}: {message}", err=True)

    try:
        log = OrderingLog(options.etcd, options.network)
        genesis = log.genesis()
        if genesis is not None:
            catch_up(options.chain_file, log, genesis, options.node_id, options.snapshot_after, say)
    except (ValueError, LogUnavailable) as exc:
        say(f"no snapshot ({exc}): replaying the log")


def _tell_the_network(node, url: str) -> None:
    from deed.network.log import LogUnavailable

    try:
        node.log.announce(node.node_id, url)
    except LogUnavailable as exc:
        click.echo(f"deed node {node.node_id}: could not announce {url}: {exc}", err=True)


def serve(options: NodeOptions) -> None:
    from deed.node.server import run
    from deed.node.service import AbiStore, NodeService

    from .abis import Abis, save

    path = options.chain_file
    lock = _held(path) if path is not None else nullcontext()
    with lock:
        if options.etcd and path is not None:
            _snapshot_if_far_behind(options)
        backend, created = _open_backend(options)
        abis = AbiStore.in_memory()
        if path is not None:
            kept = Abis(path)
            abis = AbiStore(kept.abi, lambda a, abi, p=path: save(p, a, abi))
        with chain_errors(path or Path(":memory:")):
            if options.etcd:
                node = _network_node(options, backend, abis)
            else:
                node = NodeService(backend, abis, options.block_time)

        def ready(url: str) -> None:
            _announce(options, node, url, created)
            if options.etcd:
                _tell_the_network(node, url)
            if path is not None:
                node_file(path).write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")

        try:
            asyncio.run(run(node, options.host, options.port, ready))
        except RuntimeError as exc:  # a network node halted (NodeHalted)
            raise Failure(f"node halted: {exc}") from None
        except OSError as exc:
            raise Failure(
                f"cannot serve on {options.host}:{options.port}: {exc.strerror or exc}"
            ) from None
        finally:
            if path is not None:
                node_file(path).unlink(missing_ok=True)
            backend.close()


def _announce(options: NodeOptions, node, url: str, created: bool) -> None:
    where = "in memory" if options.chain_file is None else str(options.chain_file)
    head = node.chain.head
    mining = (
        "every transaction" if options.block_time is None else f"every {options.block_time:g} s"
    )
    if options.etcd:
        mining = (
            f"network {options.network!r} as node {options.node_id} (etcd {options.etcd}); "
            f"the elected node cuts a block every {options.block_time or 0.1:g} s"
        )
    lines = [
        f"deed node: chain {where}{' (new)' if created else ''}, height {head.height}, "
        f"chain id {node.chain_id}",
        f"mining: {mining}",
    ]
    store = KeyStore(options.home)
    names = store.names()
    if created and names:
        lines.append("funded: " + ", ".join(f"{n} 0x{store.address(n).hex()}" for n in names))
    lines.append(f"listening on {url}  (stop: Ctrl-C)")
    if options.as_json:
        shown = {"url": url, "chain": where, "created": created, "height": head.height}
        shown |= {"chain_id": node.chain_id, "block_time": options.block_time}
        click.echo(json.dumps(shown))
    else:
        click.echo("\n".join(lines))
    sys.stdout.flush()
