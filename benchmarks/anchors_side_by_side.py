"""Deed's transaction-path figures beside the anchors', measured in one run.

Runs the Deed benchmarks of ``test_vm_benchmarks.py`` (token transfers
through the full transaction path, unsigned, signed in process and signed
with the signatures checked ahead in a worker process; escrow and insurance
lifecycles) with pytest-benchmark, then ``../shared/anchors/run.sh --only
token,escrow,insurance`` (Vyper on py-evm and pyrevm; it builds its own venv
in the temp directory on first use, which takes minutes), and prints one
table: each Deed median, the same work on py-evm's transaction path and on
pyrevm, and Deed's ratio to each (above 1: Deed is faster). The machine is
shared and noisy: only figures of the same run are compared.

    .venv/bin/python benchmarks/anchors_side_by_side.py
    .venv/bin/python benchmarks/anchors_side_by_side.py --anchors-json earlier.json  # reuse

The anchors never verify signatures (see their README): the signed rows
compare against the same unsigned anchor figures. ``--before DIR`` also runs
the Deed benchmarks of another checkout (with its own ``.venv``), e.g. main
in a ``git worktree``, first, for a before/after column of the same run.
``--json PATH`` also writes the table's rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_ANCHORS = ROOT.parent / "shared" / "anchors"

#: (row label, Deed benchmark name, anchors figure, unit)
ROWS = [
    (
        "token transfers, unsigned",
        "test_token_transfers_full_transaction_path[unsigned]",
        "token transfer throughput",
        "tx/s",
    ),
    (
        "token transfers, signed in process",
        "test_token_transfers_full_transaction_path[signed]",
        "token transfer throughput",
        "tx/s",
    ),
    (
        "token transfers, signed, checked ahead",
        "test_token_transfers_signed_checked_ahead",
        "token transfer throughput",
        "tx/s",
    ),
    ("escrow lifecycles", "test_escrow_lifecycles", "escrow lifecycle rate", "lifecycles/s"),
    (
        "insurance lifecycles",
        "test_insurance_lifecycles",
        "insurance lifecycle rate",
        "lifecycles/s",
    ),
]
PYEVM = "py-evm tx (raw, unsigned)"  # py-evm's full transaction path, the closest to Deed's
PYREVM = "pyrevm (revm, Rust)"


def run_deed(out: Path, root: Path = ROOT, python: str = sys.executable) -> None:
    """The Deed benchmarks of the table, with pytest-benchmark, into ``out``
    (``root``: the checkout whose benchmarks run, under its ``python``)."""
    subprocess.run(
        [
            python,
            "-m",
            "pytest",
            str(root / "benchmarks" / "test_vm_benchmarks.py"),
            "-k",
            "transfers or lifecycles",
            "--benchmark-only",
            f"--benchmark-json={out}",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        check=True,
        cwd=root,
    )


def run_anchors(anchors: Path, out: Path) -> None:
    """The anchors' token, escrow and insurance figures, into ``out``."""
    subprocess.run(
        ["bash", str(anchors / "run.sh"), "--only", "token,escrow,insurance", "--json", str(out)],
        check=True,
        cwd=anchors,  # not this checkout: its deed.egg-info would lend its pytest plugins
    )


def deed_rates(data: dict) -> dict[str, float]:
    """Each Deed benchmark's median rate: transfers or lifecycles a second."""
    rates = {}
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        rate = extra.get("tx_per_s_median", extra.get("lifecycles_per_s_median"))
        if rate is not None:
            rates[bench["name"]] = float(rate)
    return rates


def anchor_rates(data: dict) -> dict[tuple[str, str], float]:
    """The anchors' medians by (figure, backend)."""
    return {(r["figure"], r["backend"]): float(r["median"]) for r in data["results"]}


def table(
    deed: dict[str, float],
    anchors: dict[tuple[str, str], float],
    before: dict[str, float] | None = None,
) -> list[dict]:
    rows = []
    for label, name, figure, unit in ROWS:
        ours = deed.get(name)
        pyevm, pyrevm = anchors.get((figure, PYEVM)), anchors.get((figure, PYREVM))
        rows.append(
            {
                "workload": label,
                "unit": unit,
                "deed before": (before or {}).get(name),
                "deed": ours,
                "py-evm": pyevm,
                "pyrevm": pyrevm,
                "deed/py-evm": ours / pyevm if ours and pyevm else None,
                "deed/pyrevm": ours / pyrevm if ours and pyrevm else None,
            }
        )
    return rows


def render(rows: list[dict]) -> str:
    def num(v: float | None, ratio: bool = False) -> str:
        if v is None:
            return "-"
        return f"{v:.2f}" if ratio else f"{v:,.0f}"

    with_before = any(r["deed before"] is not None for r in rows)
    head = "| workload | unit | " + ("Deed before | " if with_before else "")
    lines = [
        head + "Deed | py-evm tx | pyrevm | Deed / py-evm | Deed / pyrevm |",
        "|---|---|" + ("---:|" if with_before else "") + "---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        before = f"{num(r['deed before'])} | " if with_before else ""
        lines.append(
            f"| {r['workload']} | {r['unit']} | {before}{num(r['deed'])} | {num(r['py-evm'])} "
            f"| {num(r['pyrevm'])} | {num(r['deed/py-evm'], True)} "
            f"| {num(r['deed/pyrevm'], True)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anchors", type=Path, default=DEFAULT_ANCHORS, help="the anchors' folder")
    ap.add_argument("--anchors-json", type=Path, help="an earlier anchors run (not rerun)")
    ap.add_argument("--deed-json", type=Path, help="an earlier Deed benchmark JSON (not rerun)")
    ap.add_argument("--json", type=Path, help="also write the table's rows here")
    ap.add_argument(
        "--before", type=Path, help="another checkout (with its .venv) to measure first"
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        before = None
        if args.before is not None:
            before_json = Path(tmp) / "before.json"
            run_deed(before_json, args.before.resolve(), str(args.before / ".venv/bin/python"))
            before = deed_rates(json.loads(before_json.read_text()))
        deed_json = args.deed_json or Path(tmp) / "deed.json"
        if args.deed_json is None:
            run_deed(deed_json)
        anchors_json = args.anchors_json or Path(tmp) / "anchors.json"
        if args.anchors_json is None:
            if not (args.anchors / "run.sh").exists():
                print(f"no anchors at {args.anchors} (--anchors DIR)", file=sys.stderr)
                return 2
            run_anchors(args.anchors, anchors_json)
        rows = table(
            deed_rates(json.loads(deed_json.read_text())),
            anchor_rates(json.loads(anchors_json.read_text())),
            before,
        )
    print(render(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + os.linesep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
