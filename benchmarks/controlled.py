"""Benchmark: controlled-substance ledger with 1,000,000 events on PostgreSQL (issue 18 "Speed").

One run creates a scratch PostgreSQL database, migrates it and loads a 2-year clinic: 24,000
vials of 500 mg, each received, drawn 20 times (25 mg), each draw administered, then closed
(42 events), except the newest ``--open`` vials which are still in use (12 events); draws
and administrations name one of ``--patients`` patients (with an address). The load
is one ``INSERT ... SELECT generate_series`` with the ledger's triggers off (a fixture, not
the application path); the running balances it stores are those the triggers would have.

Then it prints, each as the best of ``--repeat`` runs, our figure and the peer's (plain SQL
over the same rows) with the ratio:

* the balance of every open container: ``queries.containers`` (stored running balance) vs a
  plain ``SUM(delta_ug) GROUP BY container_id`` of the same containers' events;
* the 2-year administration log of the registration (administrations only), as a user
  reads it: the first page (200 rows) and a page in the middle of the range (by its cursor)
  through ``records.log_page`` (names, addresses, clinic time, audit) vs a plain ``SELECT``
  of the same 200 rows (same keyset, ``LIMIT 200``);
* the streamed 2-year CSV through the HTTP API (a live uvicorn server, ``?format=csv&
  kind=administer``): time to the first byte and total vs a plain ``SELECT`` of the same rows
  through a server-side cursor (first row, all rows) and ``COPY (...) TO STDOUT (FORMAT csv)``;
* concurrent draws: ``--threads`` threads drawing 1 mg each through ``service.append`` from
  the open vials for ``--seconds``; draws/s and the invariant violations found afterwards.

Run: ``.venv/bin/python benchmarks/controlled.py [--containers 24000 --open 200 --patients 5000]``
(``KETACARE_TEST_POSTGRES_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, text

from ketacare.db import migrate
from ketacare.db.engine import get_engine, session_factory
from ketacare.features.audit.service import register_key
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.controlled import queries, records, service
from ketacare.features.controlled.config import CsSettings

ADMIN_URL = os.environ.get(
    "KETACARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
TWO_YEARS_S = 730 * 86400

LOAD = """
INSERT INTO patient (id, clinic_id, given_name, family_name, sex, email, phone, synthetic,
    created_at, address_line, city, state, postal_code)
SELECT p, :clinic, 'Given' || p, 'Family' || p, 'unknown', '', '', true, :start,
    p || ' Elm St', 'Nashville', 'TN', (37000 + p % 1000)::text
FROM generate_series(1, :patients) p;

INSERT INTO cs_container (id, clinic_id, registration_id, label, drug, product, form,
    concentration_mg_ml, lot, expiry, full_ug, balance_ug, status, seq, created_at)
SELECT g, :clinic, :reg, 'B' || lpad(g::text, 7, '0'), 'ketamine', 'Ketamine 50 mg/mL 10 mL',
    'vial', 50, 'LOT' || (g / 100), DATE '2028-01-01', 500000,
    CASE WHEN g > :n - :open THEN 375000 ELSE 0 END,
    CASE WHEN g > :n - :open THEN 'open' ELSE 'closed' END,
    CASE WHEN g > :n - :open THEN 11 ELSE 42 END,
    :start
FROM generate_series(1, :n) g;

INSERT INTO cs_event (id, clinic_id, registration_id, container_id, seq, kind, qty_ug,
    delta_ug, balance_ug, draw_id, patient_id, method, note, by_email, witness_email,
    occurred_at, recorded_at)
SELECT (g - 1) * 42 + s, :clinic, :reg, g, s,
    CASE WHEN s = 1 THEN 'receive' WHEN s = 42 THEN 'close'
         WHEN s % 2 = 0 THEN 'draw' ELSE 'administer' END,
    CASE WHEN s = 1 THEN 500000 WHEN s = 42 THEN 0 ELSE 25000 END,
    CASE WHEN s = 1 THEN 500000 WHEN s = 42 THEN 0 WHEN s % 2 = 0 THEN -25000 ELSE 0 END,
    500000 - 25000 * LEAST(s / 2, 20),
    CASE WHEN s % 2 = 1 AND s > 1 THEN (g - 1) * 42 + s - 1 END,
    CASE WHEN s BETWEEN 2 AND 41 THEN 1 + (g * 20 + s / 2) % :patients END,
    '', '', 'nurse@bench', '',
    :start + make_interval(secs => (g::float8 / :n) * :span + s * 60),
    :start + make_interval(secs => (g::float8 / :n) * :span + s * 60)
FROM generate_series(1, :n) g
CROSS JOIN generate_series(1, 42) s
WHERE g <= :n - :open OR s <= 11;
"""

PEER_BALANCES = """
SELECT e.container_id, SUM(e.delta_ug) FROM cs_event e
WHERE e.container_id IN (SELECT id FROM cs_container WHERE clinic_id = :clinic
                         AND status <> 'closed')
GROUP BY e.container_id
"""

PEER_SELECT = """
SELECT e.id, e.occurred_at, e.kind, c.label, c.drug, c.product, c.lot, e.qty_ug,
       c.concentration_mg_ml, e.balance_ug, e.patient_id, p.family_name, p.given_name,
       p.address_line, p.city, p.state, p.postal_code, e.session_id, e.by_email,
       e.witness_email, e.method, e.note, e.corrects_id
FROM cs_event e JOIN cs_container c ON c.id = e.container_id
LEFT JOIN patient p ON p.id = e.patient_id
WHERE e.registration_id = {reg} AND e.occurred_at >= '{lo}' AND e.occurred_at < '{hi}'
  AND e.kind = 'administer' {after}
ORDER BY e.occurred_at, e.id
"""
PAGE = 200


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    """Best wall time (ms) of ``repeat`` runs and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=24_000)
    parser.add_argument("--open", type=int, default=200)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    name = f"ketacare_bench_cs_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        run(url, args)
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, args: argparse.Namespace) -> None:
    engine = get_engine(url)
    migrate.upgrade(engine)
    register_key(url, b"bench-audit-key")
    cs = CsSettings()
    factory = session_factory(engine)
    with factory() as db:
        clinic = get_or_create(db, "bench", "Bench")
        nurse = accounts.create_user(db, clinic, "nurse@bench.example", Role.nurse, "pw-unused-1")
        boss = accounts.create_user(db, clinic, "dr@bench.example", Role.clinician, "pw-unused-2")
        reg = service.create_registration(
            db, Actor.for_user(boss, "cli"), cs, START, site_name="Bench", dea_number="AB1234563",
            address="1 Bench St", registrant="Dr B", expires_on=date(2028, 1, 1),
        )  # fmt: skip
        ids = {"clinic": clinic.id, "reg": reg.id, "nurse": nurse.id, "boss": boss.id}
        db.commit()
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in LOAD.split(";\n"):
            if stmt.strip():
                conn.execute(
                    text(stmt),
                    {"clinic": ids["clinic"], "reg": ids["reg"], "n": args.containers,
                     "open": args.open, "start": START, "span": TWO_YEARS_S,
                     "patients": args.patients},
                )  # fmt: skip
        for table in ("patient", "cs_container", "cs_event"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        events = conn.execute(text("SELECT count(*) FROM cs_event")).scalar_one()
    print(f"load: {events:,} ledger events, {args.containers:,} containers "
          f"({args.open} open) in {time.perf_counter() - t:.1f} s")  # fmt: skip

    with factory() as db:
        user = db.get(User, ids["nurse"])
        assert user is not None
        actor = Actor.for_user(user, "cli")

        def ours_balances() -> int:
            rows = queries.containers(db, ids["clinic"])
            db.rollback()
            return len(rows)

        def peer_balances() -> int:
            n = len(db.execute(text(PEER_BALANCES), {"clinic": ids["clinic"]}).all())
            db.rollback()
            return n

        lo, hi = datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
        first, last = date(2025, 1, 1), date(2026, 12, 31)

        def peer_sql(after: tuple[datetime, int] | None = None) -> str:
            where = f"AND (e.occurred_at, e.id) > ('{after[0]}', {after[1]})" if after else ""
            return PEER_SELECT.format(reg=ids["reg"], lo=lo, hi=hi, after=where)

        # the cursor of a page in the middle of the range (found once, outside the timing)
        total = db.execute(text(f"SELECT count(*) FROM ({peer_sql()}) x")).scalar_one()
        mid = db.execute(text(peer_sql() + f" OFFSET {total // 2} LIMIT 1")).one()
        db.rollback()
        cursor = records.encode_cursor(mid.occurred_at, mid.id)

        def ours_page(after: str = "") -> Any:
            def run() -> int:
                page = records.log_page(
                    db, actor, "UTC", ids["reg"], first, last, after=after, kinds=("administer",)
                )
                db.rollback()
                return len(page.rows)

            return run

        def peer_page(after: tuple[datetime, int] | None = None) -> Any:
            def run() -> int:
                n = len(db.execute(text(peer_sql(after) + f" LIMIT {PAGE}")).all())
                db.rollback()
                return n

            return run

        for label, ours, peer in (
            ("balances of every open container", ours_balances, peer_balances),
            ("2-year log, first page", ours_page(), peer_page()),
            (f"2-year log, page after row {total // 2:,} (cursor)", ours_page(cursor),
             peer_page((mid.occurred_at, mid.id))),
        ):  # fmt: skip
            o_ms, o_n = best(ours, args.repeat)
            p_ms, p_n = best(peer, args.repeat)
            print(f"{label}: ketacare {o_ms:.1f} ms ({o_n:,} rows) | plain SQL {p_ms:.1f} ms "
                  f"({p_n:,} rows) | ratio {o_ms / p_ms:.2f}")  # fmt: skip

    streamed_csv(url, engine, ids, args, peer_sql())
    concurrent_draws(factory, ids, cs, args)


def streamed_csv(url: str, engine: Any, ids: dict[str, int], args: Any, peer: str) -> None:
    """Time to first byte and total of the 2-year CSV over HTTP, and of the plain SQL peers."""
    from ketacare.settings import Settings
    from ketacare.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, data_dir=Path(tmp), secret_key=SECRET,
                            audit_key="bench-audit-key")  # fmt: skip
        app = create_app(settings)
        with session_factory(engine)() as db:
            user = db.get(User, ids["boss"])
            assert user is not None
            token = accounts.create_api_token(db, SECRET, user, "bench")
            db.commit()
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        address = (f"http://127.0.0.1:{port}/api/v1/cs/log?registration_id={ids['reg']}"
                   "&start=2025-01-01&end=2026-12-31&kind=administer&format=csv")  # fmt: skip
        try:
            ours = [_download(address, token) for _ in range(args.repeat)]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    with session_factory(engine)() as db:
        user = db.get(User, ids["boss"])
        assert user is not None
        actor = Actor.for_user(user, "cli")

        def audit_only() -> int:
            records.open_log_export(db, actor, "UTC", ids["reg"], date(2025, 1, 1),
                                    date(2026, 12, 31), "csv", ("administer",))  # fmt: skip
            n = len(db.info.get("ketacare.audit.pending", [{}])[-1].get("patients", "").split(","))
            db.rollback()
            return max(n - 2, 0)

        audit_ms, audit_n = best(audit_only, args.repeat)
    peers = [_peer_cursor(engine, peer) for _ in range(args.repeat)]
    copies = [_peer_copy(engine, peer) for _ in range(args.repeat)]
    (o_first, o_total, o_n), (p_first, p_total, p_n), (c_first, c_total, c_n) = (
        (min(x[0] for x in runs), min(x[1] for x in runs), runs[0][2])
        for runs in (ours, peers, copies)
    )
    print(f"2-year CSV streamed over HTTP ({o_n:,} rows): first byte {o_first:.1f} ms, total "
          f"{o_total:.0f} ms | plain SELECT, server-side cursor ({p_n:,} rows): first row "
          f"{p_first:.1f} ms, total {p_total:.0f} ms | ratio first {o_first / p_first:.2f}, "
          f"total {o_total / p_total:.2f}")  # fmt: skip
    print(f"  of the first byte: the export's audit with its patient list "
          f"({audit_n:,} patients) {audit_ms:.1f} ms")  # fmt: skip
    print(f"  COPY (same SELECT) TO STDOUT (FORMAT csv) ({c_n:,} rows): first byte "
          f"{c_first:.1f} ms, total {c_total:.0f} ms | ratio first {o_first / c_first:.2f}, "
          f"total {o_total / c_total:.2f}")  # fmt: skip


SECRET = "bench-secret-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _download(address: str, token: str) -> tuple[float, float, int]:
    """(ms to the first body byte, ms in all, data rows) of one CSV download."""
    req = urllib.request.Request(address, headers={"Authorization": f"Bearer {token}"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as resp:
        head = resp.read(1)
        first = (time.perf_counter() - t) * 1000
        body = head + resp.read()
    total = (time.perf_counter() - t) * 1000
    return first, total, body.count(b"\n") - 1


def _peer_cursor(engine: Any, sql: str) -> tuple[float, float, int]:
    """A plain SELECT of the same rows through a psycopg server-side cursor."""
    raw = engine.raw_connection()
    try:
        t = time.perf_counter()
        with raw.cursor(name="peer") as cur:
            cur.itersize = 2000
            cur.execute(sql)
            cur.fetchone()
            first = (time.perf_counter() - t) * 1000
            n = 1 + sum(1 for _ in cur)
        total = (time.perf_counter() - t) * 1000
        raw.rollback()
    finally:
        raw.close()
    return first, total, n


def _peer_copy(engine: Any, sql: str) -> tuple[float, float, int]:
    """``COPY (the same SELECT) TO STDOUT (FORMAT csv)``: the database writes the CSV."""
    raw = engine.raw_connection()
    try:
        t = time.perf_counter()
        first, n = 0.0, 0
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                if not first:
                    first = (time.perf_counter() - t) * 1000
                n += bytes(chunk).count(b"\n")
        total = (time.perf_counter() - t) * 1000
        raw.rollback()
    finally:
        raw.close()
    return first, total, n


def concurrent_draws(factory: Any, ids: dict[str, int], cs: CsSettings, args: Any) -> None:
    """``args.threads`` threads drawing 1 mg from the open vials for ``args.seconds``."""
    with factory() as db:
        vials = [c.id for c in queries.containers(db, ids["clinic"])][:4]
        db.rollback()
    done: list[int] = []
    refused: list[int] = []
    stop = time.perf_counter() + args.seconds

    def worker(k: int) -> None:
        n = r = 0
        while time.perf_counter() < stop:
            with factory() as s:
                user = s.get(User, ids["nurse"])
                try:
                    service.append(s, Actor.for_user(user, "api"), cs, datetime.now(UTC),
                                   vials[k % len(vials)], "draw", 1000)  # fmt: skip
                    s.commit()
                    n += 1
                except service.LedgerRefused:
                    s.rollback()
                    r += 1
        done.append(n)
        refused.append(r)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    with factory() as db:
        bad = db.execute(text(
            "SELECT count(*) FROM cs_container c WHERE c.balance_ug < 0 OR c.balance_ug <> "
            "(SELECT sum(delta_ug) FROM cs_event e WHERE e.container_id = c.id)"
        )).scalar_one()  # fmt: skip
        gaps = db.execute(text(
            "SELECT count(*) FROM cs_container c WHERE c.seq <> "
            "(SELECT count(*) FROM cs_event e WHERE e.container_id = c.id)"
        )).scalar_one()  # fmt: skip
    print(f"concurrent draws: {args.threads} threads on {len(vials)} vials, "
          f"{sum(done) / elapsed:.1f} draws/s ({sum(done)} in {elapsed:.1f} s, "
          f"{sum(refused)} refused), invariant violations: {bad + gaps}")  # fmt: skip


if __name__ == "__main__":
    main()
