"""Server time and statement count of every staff page, on the demo clinic and a large one.

For each clinic size the script builds a fresh database (the demo clinic, ``demo seed``, then
``demo generate --patients N --seed 1``, in process), then calls every staff page (each GET
route answering HTML, found in the app's routes; path parameters filled with a patient of the
median record length, one of that patient's sessions, the first site) through the ASGI app in
process: no network, no load generator. It prints each page's p50 and p95 wall time, the
process CPU time per request (less sensitive to other jobs on the machine than wall time) and
the SQL statements one request runs (an engine event listener), and marks pages whose p95 is
over the 100 ms target.

Run: ``.venv/bin/python benchmarks/pages.py [--patients 60 5000] [--n 40] [--sqlite]``.
PostgreSQL (the default, the production database) at ``KETACARE_BENCH_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/postgres): the script creates and drops its own database.
Figures: benchmarks/README.md ("Staff pages").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import create_engine, event, func, select, text

from ketacare.db import migrate
from ketacare.db.engine import get_engine, unit_of_work
from ketacare.features.audit import service as audit_service
from ketacare.features.auth import service as accounts
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.demo import seed as demo
from ketacare.features.demo.generate import generate
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling.models import Site
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from ketacare.web.app import create_app, routers

ADMIN_URL = os.environ.get(
    "KETACARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TARGET_MS = 100.0
#: A page that has not answered in this time is reported and left out (a long poll, a stream).
PAGE_TIMEOUT_S = 20.0
#: Pages that are not staff pages (public, patient-facing, one-time links) or not pages.
SKIP = re.compile(
    r"^/(screen|link|l/|b/|portal|password/|login|logout|static|healthz|api/|fhir/|docs|redoc)|\.(pdf|csv|ics|json|png|svg)$"
)
#: Views worth measuring that the routes alone do not give: the outcomes of every patient
#: (the large clinic's copied patients are synthetic, which the default view leaves out).
EXTRA = ("/analytics?synthetic=include",)


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    """A fresh database URL, dropped afterwards."""
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/pages.db"
        return
    name = f"ketacare_pages_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


#: A larger clinic is ``GENERATED`` generated patients whose records are copied in SQL:
#: generating 5,000 through the use cases takes hours on the shared 2-core machine.
GENERATED = 50
#: The records copied (in foreign-key order); ids of copy k are id + k * OFFSET.
COPIED = (
    "patient", "intake_record", "treatment_plan", "planned_session", "treatment_session",
    "vital_sign", "scale_score", "adverse_event", "session_amendment", "rems_form",
    "assessment", "alert", "alert_action",
)  # fmt: skip
OFFSET = 10_000_000


def copy_patients(url: str, copies: int) -> None:
    """Add ``copies`` copies of every patient's record (``COPIED`` tables) to the clinic: the
    same rows, ids offset, record numbers suffixed, idempotency keys cleared."""
    from ketacare.features.models import Base

    engine = get_engine(url)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in COPIED:
                continue
            exprs = []
            for col in table.columns:
                name = f'"{col.name}"'
                targets = {fk.column.table.name for fk in col.foreign_keys}
                if col.primary_key or targets & set(COPIED):
                    exprs.append(f"{name} + k.n * {OFFSET}")
                elif (table.name, col.name) == ("patient", "mrn"):
                    exprs.append(f"{name} || '-' || CAST(k.n AS VARCHAR(8))")
                elif (table.name, col.name) == ("assessment", "idempotency_key"):
                    exprs.append("NULL")
                else:
                    exprs.append(name)
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            conn.execute(
                text(
                    f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k "
                    f"WHERE n < {copies}) INSERT INTO {table.name} ({cols}) "
                    f"SELECT {', '.join(exprs)} FROM {table.name} CROSS JOIN k "
                    f"WHERE {table.name}.id < {OFFSET}"
                )
            )
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def build(url: str, patients: int) -> tuple[Settings, dict[str, str], dict[str, int]]:
    """The demo clinic with ``patients`` synthetic patients; staff cookies and path ids."""
    migrate.upgrade(get_engine(url))
    settings = Settings(
        database_url=url, data_dir=Path(tempfile.mkdtemp()),
        secret_key="benchmark-secret-key-benchmark-secret-key",
    )  # fmt: skip
    secret = settings.secret_key.get_secret_value()
    audit_service.use_settings(settings)  # the audit key (create_app does the same)
    started = time.monotonic()
    copies = 0 if patients <= 2 * GENERATED else -(-patients // GENERATED) - 1
    with unit_of_work(get_engine(url)) as db:
        demo.seed(db, settings)
        clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
        generate(db, settings, clinic, GENERATED if copies else patients, 1)
    print(f"  generated {GENERATED if copies else patients} patients in "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    if copies:
        started = time.monotonic()
        copy_patients(url, copies)
        print(f"  copied them {copies} times in {time.monotonic() - started:.0f} s")
    cookies: dict[str, str] = {}
    with unit_of_work(get_engine(url)) as db:
        policy = accounts.SessionPolicy(timedelta(hours=5), timedelta(hours=5))
        for role in ("clinician", "admin", "nurse"):
            user = accounts.user_by_email(db, f"{role}@demo.ketacare.example")
            assert user is not None, role
            cookies[role] = accounts.start_session(db, secret, user, policy)
        # The patient of median record length (by sessions), and that patient's last session.
        counts = db.execute(
            select(TreatmentSession.patient_id, func.count())
            .group_by(TreatmentSession.patient_id)
            .order_by(func.count(), TreatmentSession.patient_id)
        ).all()
        pid = counts[len(counts) // 2][0] if counts else db.execute(select(Patient.id)).scalar()
        sid = db.execute(
            select(func.max(TreatmentSession.id)).where(TreatmentSession.patient_id == pid)
        ).scalar()
        site = db.execute(select(func.min(Site.id))).scalar()
    ids = {"patient_id": int(pid or 0), "session_id": int(sid or 0), "site_id": int(site or 0)}
    return settings, cookies, ids


def pages(app: FastAPI, ids: dict[str, int]) -> list[str]:
    """Every GET path outside the API with its parameters filled (routes needing other
    parameters are left out; those that do not answer an HTML page are dropped later)."""
    out = []
    every = [route for router in routers() for route in router.routes]  # the features' routes
    for route in every + list(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        if SKIP.search(route.path):
            continue
        params = re.findall(r"{([^}:]+)(?::[^}]+)?}", route.path)
        if any(p not in ids or not ids[p] for p in params):
            continue
        path = route.path
        for p in params:
            path = re.sub(r"{" + p + r"(?::[^}]+)?}", str(ids[p]), path)
        out.append(path)
    return sorted({*out, *EXTRA})


async def call(app: FastAPI, path: str, cookie: str) -> int:
    """One GET through the ASGI app; the status (0 for a 200 that is not an HTML page)."""
    sent: list[MutableMapping[str, Any]] = []
    raw, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": raw, "raw_path": raw.encode(), "query_string": query.encode(),
        "root_path": "", "client": ("127.0.0.1", 5555), "server": ("bench", 80), "state": {},
        "headers": [(b"host", b"bench"), (b"cookie", f"kc_session={cookie}".encode())],
    }  # fmt: skip

    received = [False]

    async def receive() -> dict[str, Any]:
        if not received[0]:
            received[0] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects (a streamed body waits)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    try:
        await asyncio.wait_for(app(scope, receive, send), PAGE_TIMEOUT_S)
    except TimeoutError:
        return -1
    status = int(sent[0]["status"])
    kind = dict(sent[0].get("headers", [])).get(b"content-type", b"")
    return status if status != 200 or kind.startswith(b"text/html") else 0


def run(
    url: str, patients: int, n: int, only: re.Pattern[str] = re.compile("")
) -> list[tuple[str, str, float, float, float, int]]:
    settings, cookies, ids = build(url, patients)
    app = create_app(settings)
    engine = app.state.engine
    statements = [0]

    def on_execute(*_: Any) -> None:
        statements[0] += 1

    rows: list[tuple[str, str, float, float, float, int]] = []
    skipped: list[str] = []

    async def measure() -> None:
        async with app.router.lifespan_context(app):
            print(f"  {'page':<44} {'as':<9} {'p50 ms':>7} {'p95 ms':>7} {'cpu ms':>7} "
                  f"{'queries':>7}", flush=True)  # fmt: skip
            for path in [p for p in pages(app, ids) if only.search(p)]:
                role = None
                for r in ("clinician", "admin"):
                    status = await call(app, path, cookies[r])
                    if status == 200:
                        role = r
                        break
                if role is None:
                    skipped.append(f"{path} ({status})")
                    print(f"  {path:<44} skipped: {status} for clinician and admin", flush=True)
                    continue
                for _ in range(3):  # warm-up
                    await call(app, path, cookies[role])
                event.listen(engine, "before_cursor_execute", on_execute)
                statements[0] = 0
                await call(app, path, cookies[role])
                event.remove(engine, "before_cursor_execute", on_execute)
                queries = statements[0]
                times = []
                cpu = time.process_time()
                for _ in range(n):
                    start = time.perf_counter()
                    await call(app, path, cookies[role])
                    times.append((time.perf_counter() - start) * 1000)
                cpu_ms = (time.process_time() - cpu) / n * 1000
                times.sort()
                p50 = statistics.median(times)
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                rows.append((path, role, p50, p95, cpu_ms, queries))
                mark = "  OVER" if p95 >= TARGET_MS else ""
                figures = f"{p50:7.1f} {p95:7.1f} {cpu_ms:7.1f} {queries:7d}"
                print(f"  {path:<44} {role:<9} {figures}{mark}", flush=True)

    asyncio.run(measure())
    if skipped:
        print(f"  not staff HTML pages (or not 200 for clinician/admin): {', '.join(skipped)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[60, 5000])
    parser.add_argument("--n", type=int, default=40, help="requests per page (after 3 warm-up)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--pages", default="", help="only the pages matching this regex")
    args = parser.parse_args()
    kind = "SQLite" if args.sqlite else "PostgreSQL"
    for size in args.patients:
        print(f"{size} patients ({kind}), {args.n} sequential requests per page, in process:")
        with database(args.sqlite) as url:
            rows = run(url, size, args.n, re.compile(args.pages))
        over = sum(1 for r in rows if r[3] >= TARGET_MS)
        print(f"  {len(rows)} pages, {over} with p95 >= {TARGET_MS:.0f} ms\n")


if __name__ == "__main__":
    main()
