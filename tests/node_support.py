"""A real ``deed node`` in a process of its own, for the node's tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 30.0


class NodeProcess:
    """``deed node --port 0`` started with ``args``; ``url`` once it listens."""

    def __init__(self, home: Path, *args: str):
        self.home = home
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.banner: list[str] = []

    def start(self) -> NodeProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deed.cli.main",
                "node",
                "--port",
                "0",
                "--home",
                str(self.home),
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("deed node exited:\n" + "".join(self.banner))
            self.banner.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                return self
        raise AssertionError("deed node did not start in time:\n" + "".join(self.banner))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        rest = self.proc.stdout.read()
        assert "Traceback" not in rest, rest
        self.proc.stdout.close()
        return code

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
