"""The tests' HTTP clients, side by side in one run: ``tests.real_http`` (every client on one
TLS context, loaded once a process) against the peer it replaced (``httpx.get`` and
``httpx.Client()``, which load the system's CA certificates into a new context each time).

The tests that talk to a real server create a client per request while they wait for a
server to start, per thread in the race tests and per user in the walks. The script serves
``GET /`` from a small threaded server on 127.0.0.1 and sends ``--rounds`` requests each way,
interleaved, each on a new client; it prints the median CPU of this process and the wall
time a request.

    python benchmarks/suite_http.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2 as httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import real_http  # noqa: E402


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        """Quiet."""


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    ways: dict[str, Callable[[], object]] = {
        "tests.real_http.get (one shared TLS context)": lambda: real_http.get(url),
        "peer: httpx.get (a new TLS context a client)": lambda: httpx.get(url),
    }
    for fn in ways.values():  # warm up: imports, the shared context
        fn()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, fn in ways.items():
            times[name].append(_time(fn))
    server.shutdown()
    print(f"{args.rounds} requests each way, each on a new client, to {url}")
    for name, pairs in times.items():
        cpu = statistics.median(c for c, _ in pairs) * 1000
        wall = statistics.median(w for _, w in pairs) * 1000
        print(f"  {name}: median CPU {cpu:.2f} ms, wall {wall:.2f} ms a request")


if __name__ == "__main__":
    main()
