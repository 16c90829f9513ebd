"""docs/tutorial.md, run as a reader would: its files written, every command
typed in a shell, in order, and its shown outputs compared with the real ones.

How the test reads the tutorial:

- a fenced block after ``<!-- file: PATH -->`` is written to PATH;
- a ```` ```bash ```` block holds commands (lines starting ``$ ``), each
  followed by the output the tutorial shows for it; a block after
  ``<!-- not run: WHY -->`` is skipped (installing deed: the test runs in the
  virtual environment that has it);
- each command runs in bash, in the project directory, with this venv's
  ``bin`` first on PATH. Shell variables (``BOND=$(...)``) and exports carry
  over from one command to the next, as in one terminal. A command must exit
  0, or N when its comment says ``# exits N``;
- every output line shown must appear, in order, among the real output's
  lines: ``…`` stands for anything, and what differs from run to run
  (hex values, decimals, numbers of four digits or more) matches any value
  of its kind. Spaces and table rules stretch;
- ``deed node`` (the second terminal) starts a real node on a free port
  (``--port 0``): its URL replaces ``http://127.0.0.1:8545`` in the commands
  that follow, and it is stopped at the end.

Without ``jq`` on PATH, a stand-in that reads ``jq -r .field`` is put there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from node_support import NodeProcess

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
DOC_URL = "http://127.0.0.1:8545"
BLOCK = re.compile(r"(?:<!-- (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
# what differs between runs: hex values, decimals and numbers of 4 digits or more
VARYING = re.compile(r"0x[0-9a-fA-F]+|[0-9a-f]{8,}|\d+\.\d+|\d{4,}|…| +|-{3,}")
JQ_STAND_IN = """\
import json, sys
value = json.load(sys.stdin)
path = next(a for a in sys.argv[1:] if a.startswith("."))
for key in filter(None, path.split(".")):
    value = value[key]
print(value if isinstance(value, str) else json.dumps(value))
"""


@dataclass
class Command:
    line: str
    shown: list[str] = field(default_factory=list)
    exit_code: int = 0
    output: str = ""


def _steps() -> list[tuple[str, object]]:
    """The tutorial in order: ("file", (path, text)) and ("command", Command)."""
    steps: list[tuple[str, object]] = []
    for m in BLOCK.finditer(TUTORIAL.read_text()):
        mark, body = m.group("mark") or "", m.group("body")
        if mark.startswith("file: "):
            steps.append(("file", (mark.removeprefix("file: ").strip(), body)))
        elif m.group("lang") == "bash" and not mark.startswith("not run"):
            for line in body.splitlines():
                if line.startswith("$ "):
                    command = line[2:]
                    code = re.search(r"# exits (\d+)\s*$", command)
                    cmd = Command(command, exit_code=int(code.group(1)) if code else 0)
                    steps.append(("command", cmd))
                elif steps and line.strip() and steps[-1][0] == "command":
                    steps[-1][1].shown.append(line.rstrip())  # type: ignore[union-attr]
    return steps


def _pattern(shown: str) -> re.Pattern:
    parts = []
    pos = 0
    for m in VARYING.finditer(shown):
        parts.append(re.escape(shown[pos : m.start()]))
        token = m.group()
        if token == "…":
            parts.append(".*")
        elif token.startswith("0x"):
            parts.append("0x[0-9a-fA-F]+")
        elif token.startswith(" "):
            parts.append(" +")
        elif token.startswith("-"):
            parts.append("-+")
        elif "." in token:
            parts.append(r"\d+\.\d+")
        else:
            parts.append("[0-9a-f]+" if re.search("[a-f]", token) else r"\d+")
        pos = m.end()
    parts.append(re.escape(shown[pos:]))
    return re.compile("".join(parts))


def _assert_shown(cmd: Command) -> None:
    """Every shown line matches a line of the output, in order."""
    lines = [line.rstrip() for line in cmd.output.splitlines()]
    at = 0
    for shown in cmd.shown:
        if shown == "…":
            continue
        pattern = _pattern(shown)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        assert at < len(lines), f"$ {cmd.line}\nshown: {shown!r}\nnot in:\n{cmd.output}"
        at += 1


def _environment(tmp_path: Path) -> dict[str, str]:
    """The reader's shell: this venv first on PATH, no pytest or node settings
    of the test run that started this one (PYTEST_ADDOPTS, DEED_RPC, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DEED_RPC"))}
    path = [str(Path(sys.executable).parent)]
    if shutil.which("jq") is None:
        shims = tmp_path / "bin"
        shims.mkdir()
        jq = shims / "jq"
        jq.write_text(f"#!{sys.executable}\n{JQ_STAND_IN}")
        jq.chmod(0o755)
        path.append(str(shims))
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])
    # A reader's `pip install deed` brings neither Hypothesis nor pytest-benchmark
    # (they are this repository's dev extras): their plugins would add a second
    # to each of the four pytest runs.
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest -p no:benchmark"
    return env


def _run(cmd: Command, cwd: Path, env: dict[str, str], state: Path) -> None:
    """One command in bash; variables carry over through ``state``."""
    script = f'set -a; . "{state}"; set -o pipefail\n{cmd.line}\nrc=$?\nexport -p > "{state}"\nexit $rc\n'
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    cmd.output = done.stdout + done.stderr
    assert done.returncode == cmd.exit_code, (
        f"$ {cmd.line}\nexit {done.returncode}, expected {cmd.exit_code}:\n{cmd.output}"
    )


def test_every_command_of_the_tutorial(tmp_path, monkeypatch):
    steps = _steps()
    commands = [s for kind, s in steps if kind == "command"]
    files = [s for kind, s in steps if kind == "file"]
    assert [p for p, _ in files] == ["bond.deed", "tests/test_bond.py"]
    assert any(c.line == "deed node" for c in commands)

    project = tmp_path / "bond"  # the reader's project directory
    project.mkdir()
    monkeypatch.chdir(project)  # the node's --home is .deed here, as the reader's
    env = _environment(tmp_path)
    state = tmp_path / "shell-variables"
    state.write_text("")
    node: NodeProcess | None = None
    try:
        for kind, step in steps:
            if kind == "file":
                path, text = step  # type: ignore[misc]
                (project / path).parent.mkdir(parents=True, exist_ok=True)
                (project / path).write_text(text)
                continue
            cmd: Command = step  # type: ignore[assignment]
            if cmd.line == "deed node":
                node = NodeProcess(Path(".deed")).start()
                cmd.output = "".join(node.banner)
            else:
                if node is not None:
                    cmd.line = cmd.line.replace(DOC_URL, node.url)
                _run(cmd, project, env, state)
            _assert_shown(cmd)
    finally:
        if node is not None:
            assert node.stop() == 0

    def output(prefix: str) -> list[str]:
        return [c.output.strip() for c in commands if c.line.startswith(prefix)]

    # the key outputs, exactly (the shown lines let large numbers vary)
    assert output("deed analyze bond.deed") == ["bond.deed: 0 findings"]
    assert "4 passed" in output("pytest -q")[0]
    assert output("deed call $BOND held") == [str(5 * 10**18), "0"]
    released = output("deed send $BOND deliver")[0]
    assert f"Released(seller=0x{_address(project, 'seller')}, amount={5 * 10**18})" in released
    assert "reverted: TooEarly(deadline=" in output("deed send $LATE reclaim")[0]
    refunded = output("deed receipt $TX")[0]
    assert (
        f"Refunded(buyer=0x{_address(project, 'buyer')}, amount={5 * 10**18}, cancelled=false)"
        in refunded
    )
    snapshot = (project / ".gas-snapshot").read_text().splitlines()
    assert len(snapshot) == 4 and all(line.startswith("tests/test_bond.py::") for line in snapshot)


def _address(home: Path, name: str) -> str:
    from deed.vm.crypto import KeyPair

    seed = bytes.fromhex((home / ".deed" / "keys" / f"{name}.key").read_text().strip())
    return KeyPair(seed).address.hex()
