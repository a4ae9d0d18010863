"""HTTP to a real server in the tests: clients that share one TLS context, and ``ketacare
serve`` in a subprocess, waited for until it answers.

httpx builds a TLS context for each client it creates and loads the system's CA certificates
into it, some 25 ms of CPU, even for a client that only ever speaks plain HTTP to 127.0.0.1.
The tests that start a server polled ``/readyz`` with a new client every 0.1-0.2 s, taking the
CPU from the server they waited for, and others make a client per thread or per user. Here
every client gets the same context, loaded once (a request on a new client: 21.5 ms of CPU
before, 1.3 ms after, ``benchmarks/suite_http.py``); each still opens its own connections.
The test files that use this module took 13 s less of the workers' CPU (benchmarks/README.md,
"Suite, twelfth session").
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import httpx2 as httpx

#: The console script of the venv that runs the tests.
KETACARE = str(Path(sys.executable).with_name("ketacare"))

Client = httpx.Client
HTTPError = httpx.HTTPError
Response = httpx.Response


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (the system's CA certificates), made once a process."""
    return ssl.create_default_context()


def client(**kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``kwargs``, on the shared TLS context."""
    return httpx.Client(verify=tls_context(), **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """One GET on a new connection, as ``httpx.get`` sends it."""
    with client() as c:
        return c.get(url, **kwargs)


def serve(
    env: dict[str, str], port: int, log: Path, *, start_s: float = 60.0
) -> subprocess.Popen[bytes]:
    """``ketacare serve --port port`` as an operator runs it, its output appended to ``log``;
    returns once ``/readyz`` answers 200. Fails with the log's end if the server exits or has
    not answered within ``start_s`` (a busy shared machine can take 20 s to start it)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [KETACARE, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + start_s
    with client(timeout=2) as c:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if c.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
