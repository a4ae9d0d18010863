"""Benchmark: controlled-substance ledger with 1,000,000 events on PostgreSQL (issue 18 "Speed").

One run creates a scratch PostgreSQL database, migrates it and loads a 2-year clinic: 24,000
vials of 500 mg, each received, drawn 20 times (25 mg), each draw administered, then closed
(42 events), except the newest ``--open`` vials which are still in use (12 events). The load
is one ``INSERT ... SELECT generate_series`` with the ledger's triggers off (a fixture, not
the application path); the running balances it stores are those the triggers would have.

Then it prints, each as the best of ``--repeat`` runs, our figure and the peer's (plain SQL
over the same rows) with the ratio:

* the balance of every open container: ``queries.containers`` (stored running balance) vs a
  plain ``SUM(delta_ug) GROUP BY container_id`` of the same containers' events;
* the 2-year administration log of the registration (administrations only):
  ``records.administration_log`` (ORM rows, names, audit) vs a plain ``SELECT`` of the same
  rows;
* concurrent draws: ``--threads`` threads drawing 1 mg each through ``service.append`` from
  the open vials for ``--seconds``; draws/s and the invariant violations found afterwards.

Run: ``.venv/bin/python benchmarks/controlled.py [--containers 24000 --open 200]``
(``KETACARE_TEST_POSTGRES_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

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
    delta_ug, balance_ug, draw_id, method, note, by_email, witness_email, occurred_at,
    recorded_at)
SELECT (g - 1) * 42 + s, :clinic, :reg, g, s,
    CASE WHEN s = 1 THEN 'receive' WHEN s = 42 THEN 'close'
         WHEN s % 2 = 0 THEN 'draw' ELSE 'administer' END,
    CASE WHEN s = 1 THEN 500000 WHEN s = 42 THEN 0 ELSE 25000 END,
    CASE WHEN s = 1 THEN 500000 WHEN s = 42 THEN 0 WHEN s % 2 = 0 THEN -25000 ELSE 0 END,
    500000 - 25000 * LEAST(s / 2, 20),
    CASE WHEN s % 2 = 1 AND s > 1 THEN (g - 1) * 42 + s - 1 END, '', '', 'nurse@bench', '',
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

PEER_LOG = """
SELECT e.occurred_at, e.kind, c.label, c.lot, e.qty_ug, e.balance_ug, e.by_email,
       e.witness_email, e.method, e.note
FROM cs_event e JOIN cs_container c ON c.id = e.container_id
WHERE e.registration_id = :reg AND e.occurred_at >= :lo AND e.occurred_at < :hi
  AND e.kind = 'administer'
ORDER BY e.occurred_at, e.id
"""


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
        ids = {"clinic": clinic.id, "reg": reg.id, "nurse": nurse.id}
        db.commit()
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in LOAD.split(";\n"):
            if stmt.strip():
                conn.execute(
                    text(stmt),
                    {"clinic": ids["clinic"], "reg": ids["reg"], "n": args.containers,
                     "open": args.open, "start": START, "span": TWO_YEARS_S},
                )  # fmt: skip
        for table in ("cs_container", "cs_event"):
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

        def ours_log() -> int:
            rows = records.administration_log(
                db, actor, "UTC", ids["reg"], date(2025, 1, 1), date(2026, 12, 31),
                kinds=("administer",),
            )  # fmt: skip
            db.rollback()
            return len(rows)

        lo, hi = datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)

        def peer_log() -> int:
            n = len(db.execute(text(PEER_LOG), {"reg": ids["reg"], "lo": lo, "hi": hi}).all())
            db.rollback()
            return n

        for label, ours, peer in (
            ("balances of every open container", ours_balances, peer_balances),
            ("2-year administration log", ours_log, peer_log),
        ):
            o_ms, o_n = best(ours, args.repeat)
            p_ms, p_n = best(peer, args.repeat)
            print(f"{label}: ketacare {o_ms:.1f} ms ({o_n:,} rows) | plain SQL {p_ms:.1f} ms "
                  f"({p_n:,} rows) | ratio {o_ms / p_ms:.2f}")  # fmt: skip

    concurrent_draws(factory, ids, cs, args)


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
