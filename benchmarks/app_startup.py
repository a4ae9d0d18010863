"""Server start-up, side by side in one run: a fresh process that builds the ketacare app
(``create_app``, every feature's routes), the same with matplotlib and fpdf2 imported first
(what every start cost while the chart and PDF modules imported them at the top), and a bare
FastAPI app (``bare_app.py``, the peer).

matplotlib and fpdf2 load with the first chart or PDF drawn (docs/architecture.md, "Hot
paths"): a server, a test's app or a command that draws nothing does not pay for them. Each
case runs ``--rounds`` times, interleaved so that a busy machine slows every one alike; the
script prints the median CPU and wall time of each.

    python benchmarks/app_startup.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

APP = """
import sys
from ketacare.settings import Settings
from ketacare.web.app import create_app
create_app(Settings(database_url=sys.argv[1], data_dir=sys.argv[2], secret_key="x" * 32))
"""
PRELOADED = "import matplotlib.figure, fpdf\n" + APP
BARE = f"import sys; sys.path.insert(0, {str(HERE)!r}); import bare_app"


def run(code: str, *args: str) -> tuple[float, float]:
    """(CPU s, wall s) of ``python -c code args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        args = (f"sqlite:///{tmp}/ketacare.db", tmp)
        cases = {
            "ketacare create_app": (APP, args),
            "same, matplotlib+fpdf2 first": (PRELOADED, args),
            "bare FastAPI app (peer)": (BARE, ()),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for code, argv in cases.values():  # warm the file cache and the bytecode once
            run(code, *argv)
        for _ in range(rounds):
            for name, (code, argv) in cases.items():
                times[name].append(run(code, *argv))
    print(f"{rounds} rounds, interleaved; a fresh Python process each")
    print(f"{'case':30} {'CPU s':>7} {'wall s':>7}")
    for name, values in times.items():
        cpu = statistics.median(c for c, _ in values)
        wall = statistics.median(w for _, w in values)
        print(f"{name:30} {cpu:7.2f} {wall:7.2f}")


if __name__ == "__main__":
    main()
