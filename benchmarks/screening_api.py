"""Throughput and latency of POST /api/v1/screenings against a bare FastAPI endpoint.

Both run under uvicorn with one worker on loopback; ketacare uses a fresh SQLite database
(migrated, every screening stored and committed, the public rate limiter counting in the
database with a limit high enough not to refuse). 50 concurrent keep-alive clients drive each
for ``--seconds`` after a one-second warm-up.

Run: ``.venv/bin/python benchmarks/screening_api.py``. Target: ketacare reaches at least 40% of
the bare endpoint's requests/s with p99 under 25 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import LoadResult, run

HERE = Path(__file__).resolve().parent
BODY = json.dumps({"phq9": [1, 2, 0, 1, 3, 0, 1, 2, 0], "gad7": [1, 1, 0, 2, 1, 0, 3]}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    # A loaded shared machine can take longer than 30 s to start two workers.
    deadline = time.monotonic() + float(os.environ.get("KETACARE_BENCH_START_TIMEOUT_S", "30"))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    proc.terminate()  # do not leave the server behind
    proc.wait(timeout=60)
    raise SystemExit("server did not start")


def serve(
    args: list[str], env: dict[str, str], cwd: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        *args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=cwd)
    wait_up(port, proc)
    return proc, port


def show(name: str, r: LoadResult) -> None:
    print(
        f"{name:<28} {r.rps:>9.0f} req/s   p50 {r.p50:6.2f} ms   p99 {r.p99:6.2f} ms"
        f"   ({r.requests} requests, {r.errors} errors)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
        env.update(KETACARE_DATA_DIR=tmp, KETACARE_PUBLIC_RATE_LIMIT="1000000000")
        subprocess.run(
            [sys.executable, "-m", "ketacare", "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
        )
        results = {}
        for name, args, path, expect in (
            ("bare FastAPI constant", ["bare_app:app"], "/bare", 200),
            (
                "ketacare POST screenings",
                ["ketacare.web.app:app_from_env", "--factory"],
                "/api/v1/screenings",
                201,
            ),
        ):
            proc, port = serve(args, env, HERE)
            try:
                results[name] = run(
                    "127.0.0.1", port, path, BODY, expect, opts.clients, opts.seconds
                )
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        stored = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                ".execute('select count(*) from screening').fetchone()[0])",
                str(Path(tmp) / "ketacare.db"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {opts.clients} clients, {opts.seconds:.0f} s per run"
    )
    for name, r in results.items():
        show(name, r)
    bare, ours = results["bare FastAPI constant"], results["ketacare POST screenings"]
    ratio = ours.rps / bare.rps
    print(f"screenings stored in SQLite: {stored}")
    print(f"ratio ketacare/bare: {ratio:.0%} (target >= 40%): {'PASS' if ratio >= 0.4 else 'FAIL'}")
    print(
        f"ketacare p99: {ours.p99:.2f} ms (target < 25 ms): {'PASS' if ours.p99 < 25 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
