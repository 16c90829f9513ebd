"""``deed devnet``: a local network (:mod:`deed.network.devnet`) from the command line."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import click

from .errors import Failure
from .local import KeyStore
from .node import genesis_funds


def up(
    directory: Path, nodes: int, block_time: float, fresh: bool, home: Path, as_json: bool
) -> None:
    from deed.network.devnet import Devnet, DevnetError

    if (directory / "devnet.json").exists():
        old = Devnet.load(directory)
        if old.running():
            raise Failure(f"a devnet runs already in {directory}: stop it with `deed devnet down`")
        if not fresh:
            raise Failure(
                f"{directory} holds a stopped devnet: `deed devnet --fresh` starts a new one "
                "(its data is deleted)"
            )
    if fresh and directory.exists():
        shutil.rmtree(directory)
    net = Devnet.plan(directory, nodes, block_time)
    genesis = net.genesis_for(genesis_funds(KeyStore(home)))
    try:
        net.up(genesis)
    except DevnetError as exc:
        net.down()
        raise Failure(str(exc)) from None
    _show(net, as_json, started=True)


def down(directory: Path, as_json: bool) -> None:
    from deed.network.devnet import Devnet, DevnetError

    try:
        net = Devnet.load(directory)
    except DevnetError as exc:
        raise Failure(str(exc)) from None
    net.down()
    if as_json:
        click.echo(json.dumps({"stopped": str(directory)}))
    else:
        click.echo(f"devnet in {directory} stopped (its data stays; --fresh deletes it)")


def status(directory: Path, as_json: bool) -> None:
    from deed.network.devnet import Devnet, DevnetError

    try:
        net = Devnet.load(directory)
    except DevnetError as exc:
        raise Failure(str(exc)) from None
    _show(net, as_json, started=False)


def _height(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return json.load(r)["height"]
    except (OSError, ValueError, KeyError):
        return None


def _show(net, as_json: bool, started: bool) -> None:
    rows = [
        {
            "node": m.name,
            "rpc": m.rpc_url,
            "etcd": m.etcd_url,
            "height": _height(m.rpc_url),
            "log": str(net.directory / f"{m.name}-node.log"),
        }
        for m in net.members
    ]
    if as_json:
        click.echo(
            json.dumps({"directory": str(net.directory), "network": net.network, "nodes": rows})
        )
        return
    verb = "started" if started else "in"
    click.echo(f"devnet {verb} {net.directory}: {len(rows)} nodes, network {net.network!r}")
    for r in rows:
        height = "down" if r["height"] is None else f"height {r['height']}"
        click.echo(f"  {r['node']}  rpc {r['rpc']}  etcd {r['etcd']}  {height}")
    if started:
        click.echo(f"send: deed transfer @bob 10 --from alice --rpc {rows[0]['rpc']}")
        click.echo("stop: deed devnet down")
