"""CLI start-up, side by side in one run: ``ketacare --help`` and ``ketacare score phq9 …``
against ``python -c "import typer"`` and a minimal two-group Typer app's ``--help`` (the peer).

Each command runs ``--rounds`` times, interleaved so that a busy machine slows every one alike;
the script prints the median and the fastest wall time of each and their ratios to the
``import typer`` baseline (targets, issue 16.8: ``--help`` within 3x, ``score`` within 6x).

    python benchmarks/cli_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEER = '''
import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)
one = typer.Typer(help="First group.")
two = typer.Typer(help="Second group.")


@one.command()
def a() -> None:
    """A."""


@two.command()
def b() -> None:
    """B."""


app.add_typer(one, name="one")
app.add_typer(two, name="two")
app()
'''

PHQ9 = ["1", "2", "1", "0", "1", "2", "1", "0", "0"]


def ketacare() -> list[str]:
    script = Path(sys.executable).with_name("ketacare")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ketacare"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str]) -> tuple[float, float]:
    """The wall time and the CPU time (user + system) of one run of ``argv``."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    return took, children_cpu() - cpu


def groups() -> list[str]:
    """The command groups' names, from the CLI's registry (imports no feature)."""
    from ketacare.cli import COMMANDS

    return [name for name, entry in COMMANDS.items() if entry.group]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--groups", action="store_true", help="each command group's --help too")
    args = parser.parse_args()
    rounds = args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        peer = Path(tmp) / "peer.py"
        peer.write_text(PEER, encoding="utf-8")
        cases = {
            "import typer": [sys.executable, "-c", "import typer"],
            "peer two-group --help": [sys.executable, str(peer), "--help"],
            "ketacare --help": [*ketacare(), "--help"],
            "ketacare score phq9": [*ketacare(), "score", "phq9", *PHQ9],
        }
        helps = [f"ketacare {group} --help" for group in (groups() if args.groups else [])]
        for name in helps:
            cases[name] = [*ketacare(), name.split()[1], "--help"]
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for argv in cases.values():  # warm the file cache once
            wall(argv)
        for _ in range(rounds):
            for name, argv in cases.items():
                took, cpu = wall(argv)
                times[name].append(took)
                cpus[name].append(cpu)
    base_med = statistics.median(times["import typer"])
    base_min = min(times["import typer"])
    print(f"{rounds} rounds, interleaved; wall and CPU time of a fresh process")
    print(f"{'command':30} {'median s':>9} {'min s':>7} {'x med':>6} {'x min':>6} {'cpu s':>6}")
    for name, values in times.items():
        med, low = statistics.median(values), min(values)
        cpu = statistics.median(cpus[name])
        print(
            f"{name:30} {med:9.3f} {low:7.3f} {med / base_med:6.2f} {low / base_min:6.2f}"
            f" {cpu:6.3f}"
        )
    print("targets: ketacare --help <= 3x, ketacare score <= 6x (x = ratio to import typer)")
    if helps:
        total = sum(statistics.median(cpus[name]) for name in helps)
        peer_cpu = statistics.median(cpus["peer two-group --help"])
        print(
            f"the {len(helps)} command groups' --help: {total:.2f} s of CPU in all "
            f"({total / len(helps):.3f} s each; the peer's --help {peer_cpu:.3f} s)"
        )


if __name__ == "__main__":
    main()
