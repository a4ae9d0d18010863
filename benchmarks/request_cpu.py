"""CPU time per request of the four request types of benchmarks/load.py, on PostgreSQL.

Calls the ASGI app in-process (no network, no load generator) and reports wall and process CPU
time per request, so the cost of each request type can be compared and tracked.

Run: ``.venv/bin/python benchmarks/request_cpu.py [--n 200] [--calls]`` (``--calls``: Python
calls per request instead of times, a figure the machine's load does not move) with PostgreSQL at
``KETACARE_BENCH_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres); the
script creates and drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from starlette.routing import Match

from ketacare.db import migrate
from ketacare.db.engine import get_engine, unit_of_work
from ketacare.features.audit import service as audit_service
from ketacare.features.auth import service as accounts
from ketacare.features.demo import seed as demo
from ketacare.settings import Settings
from ketacare.web.app import create_app

ADMIN_URL = os.environ.get(
    "KETACARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
INTAKE = json.loads(
    (Path(__file__).resolve().parent.parent / "tests/intake/example_intake.json").read_text()
)
PATIENTS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count Python calls per request instead of timing (deterministic, slower)",
    )
    args = parser.parse_args()
    n = args.n
    name = f"ketacare_cpu_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        run(url, n, args.calls)
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class CallCounter:
    """Counts Python and C function calls in every thread while ``on`` (a profiler hook):
    unlike CPU time, the count does not move with the machine's load."""

    def __init__(self) -> None:
        self.on = False
        self.calls = 0

    def __call__(self, _frame: object, event: str, _arg: object) -> None:
        if self.on and event in ("call", "c_call"):
            self.calls += 1


def run(url: str, n: int, count_calls: bool = False) -> None:
    migrate.upgrade(get_engine(url))
    settings = Settings(
        database_url=url, data_dir=Path(tempfile.mkdtemp()), public_rate_limit=0,
        secret_key="benchmark-secret-key-benchmark-secret-key",
        consent_required=False, rems_gate_enforced=False,  # set-up opens sessions unmeasured
    )  # fmt: skip
    secret = settings.secret_key.get_secret_value()
    audit_service.use_settings(settings)  # the audit key, before the seed's first event
    with unit_of_work(get_engine(url)) as db:
        demo.seed(db, settings)
        user = accounts.user_by_email(db, "clinician@demo.ketacare.example")
        assert user is not None
        token = accounts.create_api_token(db, secret, user, "cpu")
        policy = accounts.SessionPolicy(timedelta(hours=5), timedelta(hours=5))
        cookie = accounts.start_session(db, secret, user, policy)
    app = create_app(settings)
    auth = {"Authorization": f"Bearer {token}"}
    base = "/api/v1/patients"
    pids, sids = [], []
    with TestClient(app) as c:
        for i in range(PATIENTS):
            pid = c.post(base, json={"given_name": f"A{i}", "family_name": "B"}, headers=auth)
            pids.append(pid.json()["id"])
            c.put(f"{base}/{pids[-1]}/intake", json=INTAKE, headers=auth).raise_for_status()
            plan = {"protocol_id": "iv-ketamine-induction", "start_date": "2030-01-07"}
            made = c.post(f"{base}/{pids[-1]}/plan", json=plan, headers=auth)
            made.raise_for_status()
            first = {"planned_session_id": made.json()["sessions"][0]["id"]}  # plan is in 2030
            created = c.post(f"{base}/{pids[-1]}/sessions", json=first, headers=auth).json()
            sids.append(created.get("session", created)["id"])
    bearer = [(b"authorization", f"Bearer {token}".encode())]
    cookies = [(b"cookie", f"kc_session={cookie}".encode())]
    screen = json.dumps({"phq9": [1] * 9, "gad7": [1] * 7}).encode()
    gad7 = json.dumps({"instrument": "gad7", "answers": [1] * 7}).encode()
    vitals = json.dumps({"systolic": 120, "diastolic": 80}).encode()
    # Each request type cycles through the patients (and their open sessions), as the load
    # benchmark does, so that no one chart grows without bound.
    requests: dict[str, list[tuple[str, str, bytes, list[tuple[bytes, bytes]]]]] = {
        "self-screen": [("POST", "/api/v1/screenings", screen, [])],
        "questionnaire": [("POST", f"{base}/{p}/assessments", gad7, bearer) for p in pids],
        "chart view": [("GET", f"/patients/{p}/trajectories", b"", cookies) for p in pids],
        "session vitals": [("POST", f"/api/v1/sessions/{s}/vitals", vitals, bearer) for s in sids],
    }

    async def call(method: str, path: str, body: bytes, extra: list[tuple[bytes, bytes]]) -> int:
        sent: list[MutableMapping[str, Any]] = []
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5555),
            "server": ("bench", 80), "state": {},
            "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()), *extra],
        }  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    counter = CallCounter()
    if count_calls:  # before the measuring loop starts its worker threads
        threading.setprofile(counter)

    async def measure() -> None:
        if count_calls:
            sys.setprofile(counter)
        async with app.router.lifespan_context(app):
            print(
                f"in-process, PostgreSQL, {n} sequential requests each (after 20 warm-up), "
                f"cycling through {PATIENTS} patients"
            )
            for kind, reqs in requests.items():
                for i in range(20):
                    status = await call(*reqs[i % len(reqs)])
                counter.calls, counter.on = 0, count_calls
                wall, cpu = time.perf_counter(), time.process_time()
                for i in range(n):
                    await call(*reqs[i % len(reqs)])
                wall = (time.perf_counter() - wall) / n * 1000
                cpu = (time.process_time() - cpu) / n * 1000
                counter.on = False
                if count_calls:
                    print(f"  {kind:<15} status {status}  calls {counter.calls / n:8.0f}")
                else:
                    print(f"  {kind:<15} status {status}  wall {wall:6.2f} ms  cpu {cpu:6.2f} ms")
        print("route matching (one pass over the app's routers to the matching one):")
        for kind, reqs in requests.items():
            method, path = reqs[0][0], reqs[0][1]
            print(f"  {kind:<15} {route_match_us(app, method, path):6.1f} µs")

    asyncio.run(measure())


def route_match_us(app: FastAPI, method: str, path: str, n: int = 2000) -> float:
    """Microseconds for one pass of the framework's route matching to ``path``.

    FastAPI tries its routers in turn (and matches twice per request), so this is what the
    router order (``FEATURE_MODULES`` in ``ketacare.features.registry``) saves or costs.
    """
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    start = time.perf_counter()
    for _ in range(n):
        for route in app.router.routes:
            if route.matches(dict(scope))[0] == Match.FULL:
                break
    return (time.perf_counter() - start) / n * 1e6


if __name__ == "__main__":
    main()
