"""Print the adversarial table: ns of wall time per gas for every attack on
each engine, beside the plain loop of the same run, and the ratio.

    .venv/bin/python benchmarks/adversarial/report.py [--engines translate,reference]
        [--only NAME,NAME] [--rounds 3] [--markdown] [--baseline translate]

``--baseline ENGINE`` divides every engine's figures by that engine's plain
loop instead of its own: for the ``jit`` and ``tiered`` engines, whose plain
loop runs natively and is far cheaper per gas than the schedule assumes, the
question is whether any program costs a node more per gas than the
translating engine's plain loop (what the gas schedule is calibrated on).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import ATTACKS, BY_NAME, measure  # noqa: E402

from deed.vm.opcodes import SCHEDULE_VERSION  # noqa: E402


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engines", default="translate,reference")
    ap.add_argument("--only", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--baseline", default="", help="the engine whose plain loop divides")
    args = ap.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    if args.baseline and args.baseline not in engines:
        engines.insert(0, args.baseline)
    unknown = [n for n in args.only.split(",") if n and n not in BY_NAME]
    if unknown:
        ap.error(f"unknown attack {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    chosen = [BY_NAME[n] for n in args.only.split(",") if n] or ATTACKS
    if chosen[0].name != "plain loop":
        chosen = [BY_NAME["plain loop"], *chosen]
    results = {}
    plains: dict[str, list[float]] = {e: [] for e in engines}
    plain_attack = BY_NAME["plain loop"]
    for attack in chosen:
        for engine in engines:
            # the plain loop again beside every attack: the machine's speed drifts
            plains[engine].append(measure(plain_attack, engine, 1).ns_per_gas)
            m = measure(attack, engine, args.rounds)
            results[(attack.name, engine)] = m
            if attack is plain_attack:
                plains[engine].append(m.ns_per_gas)
            plain = statistics.median(plains[args.baseline or engine])
            print(
                f"# {attack.name:24s} {engine:9s} {m.ns_per_gas:8.2f} ns/gas  x{m.ns_per_gas / plain:5.2f}"
                f"  gas {m.gas:,}  {m.seconds * 1e3:.1f} ms  {m.status}",
                file=sys.stderr,
                flush=True,
            )
    if args.markdown:
        print(
            f"Gas schedule {SCHEDULE_VERSION}; wall time of applying the transactions and "
            "committing their block; the plain loop is the median of its runs beside every attack."
        )
        print()
        head = (
            "| attack | stresses | "
            + " | ".join(f"{e} ns/gas | {e} x plain" for e in engines)
            + " |"
        )
        print(head)
        print("|---|---|" + "---:|---:|" * len(engines))
        for attack in chosen:
            cells = []
            for e in engines:
                m = results[(attack.name, e)]
                plain = statistics.median(plains[args.baseline or e])
                ns = statistics.median(plains[e]) if attack is plain_attack else m.ns_per_gas
                cells += [f"{ns:.1f}", f"{ns / plain:.2f}"]
            print(f"| {attack.name} | {attack.path} | " + " | ".join(cells) + " |")
    worst = max(
        (results[(a.name, e)].ns_per_gas / statistics.median(plains[args.baseline or e]), a.name, e)
        for a in chosen
        for e in engines
        if a is not plain_attack
    )
    print(f"# worst: {worst[1]} on {worst[2]}: x{worst[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
