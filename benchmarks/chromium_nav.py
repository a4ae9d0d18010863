"""Chromium's CPU for the browser tests' kind of work, with the tests' switches and without.

The browser tests navigate some 1,500 times a run, and Chromium took some 40% of the suite's
CPU. This script serves ketacare's public pages (``/``, ``/screen``, ``/login``,
``/password/forgot``) from a fresh SQLite database in process, then in one Chromium opens
``--pages`` pages in turn, each at 1,280 px and resized to 820 and 390 px (the page walk's
widths; the walk now alternates their order, which this comparison of switches leaves as it
was measured), and adds up the CPU time of every Chromium process (``/proc``, sampled every
50 ms).
It does so with Playwright's own switches (the peer) and with the tests' switches
(``tests.browser.chromium_args()``: RenderDocument off), interleaved ``--rounds`` times so
that a machine's drift slows both alike, and prints each round and the medians.

Run: ``.venv/bin/python benchmarks/chromium_nav.py [--pages 100] [--rounds 3]`` (Linux, Debian's
Chromium at ``KETACARE_CHROMIUM`` or /usr/bin/chromium). Figures: benchmarks/README.md ("Suite,
ninth session").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_args, live_server

from ketacare.db import migrate
from ketacare.db.engine import get_engine
from ketacare.settings import Settings
from ketacare.web.app import create_app

PAGES = ("/", "/screen", "/login", "/password/forgot")
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
TICK = os.sysconf("SC_CLK_TCK")


class ChromiumCpu:
    """CPU seconds of every process whose command line names chromium, sampled in a thread
    (a process that exits keeps its last sample)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.05)

    def sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if b"chrom" not in command:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            self.last[(entry.name, fields[19])] = (int(fields[11]) + int(fields[12])) / TICK

    def total(self) -> float:
        self.sample()
        return sum(self.last.values())


def app(**overrides: Any) -> FastAPI:
    """The app on a fresh SQLite database (``overrides``: other settings, such as a login
    rate limit for ``suite_login.py``)."""
    folder = Path(tempfile.mkdtemp(prefix="ketacare-chromium-nav-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    migrate.upgrade(get_engine(url))
    settings = Settings(
        database_url=url,
        data_dir=folder,
        secret_key="bench-secret-key-0123456789abcdef",
        audit_key="bench-audit-key-0123456789abcdef",
        public_rate_limit=1_000_000,
        **overrides,
    )
    return create_app(settings)


def one_run(base: str, args: list[str], pages: int) -> tuple[float, float]:
    """Chromium CPU seconds and wall seconds for ``pages`` page visits with ``args``."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        cpu = ChromiumCpu()
        cpu.thread.start()
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(base + PAGES[0])  # the first load (caches, code) is not measured
        start_cpu, start = cpu.total(), time.perf_counter()
        for i in range(pages):
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(base + PAGES[i % len(PAGES)])
            for width in (820, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.evaluate(NEXT_FRAME)
        wall = time.perf_counter() - start
        used = cpu.total() - start_cpu
        cpu.stop.set()
        browser.close()
    return used, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    variants = {
        "Playwright's switches (peer)": list(CHROMIUM_ARGS),
        "tests' switches": chromium_args(),
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    with live_server(app()) as base:  # uvicorn in a thread, as the browser tests serve
        for round_ in range(1, opts.rounds + 1):
            for name, args in variants.items():
                used, wall = one_run(base, args, opts.pages)
                results[name].append(used)
                print(f"round {round_}  {name:30} Chromium CPU {used:6.2f} s  wall {wall:6.2f} s")
    peer, ours = (statistics.median(v) for v in results.values())
    print(f"\n{opts.pages} pages, median of {opts.rounds} rounds:")
    print(f"  Playwright's switches (peer): Chromium CPU {peer:.2f} s")
    print(f"  tests' switches:              Chromium CPU {ours:.2f} s ({ours / peer - 1:+.0%})")


if __name__ == "__main__":
    main()
