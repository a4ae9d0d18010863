"""Benchmark: scheduling (issue 17 "Speed") on PostgreSQL.

1. Course slot search: 6 IV sessions over 4 weeks (twice weekly) in a clinic with 12 chairs,
   15 staff and 5,000 existing bookings, in process: ketacare's ``find_course_slots`` (one
   floor load, then the pure slot finder) against a plain per-slot SQL availability check
   (one query per candidate chair and start: chair free, patient free, nurses on shift) that
   must give the same answer. Median of ``--repeat`` runs each. Target: median <= 20 ms.
2. Concurrent booking: ``--clients`` threads book ``--per-client`` one-off sessions each
   through ``service.book_one`` (site lock, rules, database overlap guard, audit, reminders,
   one transaction per booking); then the same rows as plain INSERTs (one per transaction) at
   the same concurrency. Prints bookings/s, overlaps found (must be 0) and the ratio.

Run: ``.venv/bin/python benchmarks/scheduling.py [--repeat 20 --clients 16 --per-client 10]``
(a temporary database on ``KETACARE_BENCH_POSTGRES_URL``, default the test server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from ketacare.db import migrate
from ketacare.db.engine import get_engine, session_factory
from ketacare.domain.course.booking import FloorRules, Kind, StaffRole, Window
from ketacare.features.audit.service import register_key
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service
from ketacare.settings import Settings

ADMIN = os.environ.get(
    "KETACARE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NY = ZoneInfo("America/New_York")
START = date(2030, 3, 4)  # Monday
RULES = FloorRules()
NOW = datetime(2030, 1, 1, tzinfo=UTC)
GATE_OFF = Settings(rems_gate_enforced=False)  # iv bookings: the REMS gate does not apply


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, dtime(hh, mm), tzinfo=NY).astimezone(UTC)


def seed(db: Session, bookings: int) -> tuple[int, int, list[int], list[int]]:
    """12 chairs, 15 staff (12 nurses, 3 prescribers) on every weekday for 26 weeks, and
    ``bookings`` bookings packed from the first day on. Returns clinic, site, chairs,
    patients."""
    clinic = Clinic(slug="bench", name="Bench", timezone="America/New_York")
    db.add(clinic)
    db.flush()
    actor = Actor.cli(clinic.id)
    site = service.create_site(db, actor, clinic.id, "Main", "mon-fri 07:00-19:00", True)
    chairs = [service.add_chair(db, actor, site, f"Chair {i + 1:02d}").id for i in range(12)]
    patients = []
    for i in range(2000):
        p = Patient(clinic_id=clinic.id, given_name=f"B{i}", family_name="Bench")
        db.add(p)
        patients.append(p)
    db.flush()
    pids = [p.id for p in patients]
    days = [
        START + timedelta(days=d)
        for d in range(26 * 7)
        if (START + timedelta(days=d)).weekday() < 5
    ]
    for day in days:
        for n in range(15):
            role = StaffRole.prescriber if n >= 12 else StaffRole.nurse
            db.execute(
                text(
                    "INSERT INTO sched_shift (clinic_id, site_id, staff_name, role, starts_at,"
                    " ends_at) VALUES (:c, :s, :n, :r, :a, :b)"
                ),
                {
                    "c": clinic.id,
                    "s": site.id,
                    "n": f"Staff {n}",
                    "r": role.value,
                    "a": at(day, 7),
                    "b": at(day, 19),
                },
            )
    # Five 125-minute slots per chair per day (07:00, 09:15, 11:30, 13:45, 16:00): 60 a day.
    rows: list[dict[str, object]] = []
    for day in days:
        for k in range(5):
            for chair in chairs:
                if len(rows) >= bookings:
                    break
                start = at(day, 7) + timedelta(minutes=135 * k)
                # Leave gaps so that searches have to look (every 7th slot stays free).
                if (len(rows) + k + chair) % 7 == 0 and day >= START + timedelta(days=14):
                    continue
                rows.append(
                    {
                        "c": clinic.id,
                        "s": site.id,
                        "ch": chair,
                        "p": pids[len(rows) % 1000],
                        "a": start,
                        "b": start + timedelta(minutes=125),
                    }
                )
    db.execute(
        text(
            "INSERT INTO sched_booking (clinic_id, site_id, chair_id, patient_id, kind, starts_at,"
            " ends_at, status, holds, reason, created_by_email, created_at) VALUES (:c, :s, :ch,"
            " :p, 'iv', :a, :b, 'booked', true, '', '', now())"
        ),
        rows,
    )
    db.commit()
    return clinic.id, site.id, chairs, pids


def plain_course(
    db: Session,
    site_id: int,
    chairs: list[int],
    patient_id: int,
    targets: list[date],
    spacing_h: float,
    earliest: dtime,
) -> list[tuple[int, datetime]]:
    """The peer: one availability query per candidate (chair, start), first fit per session."""
    check = text(
        "SELECT NOT EXISTS (SELECT 1 FROM sched_booking WHERE holds AND chair_id = :chair"
        " AND starts_at < :e AND ends_at > :s)"
        " AND NOT EXISTS (SELECT 1 FROM sched_booking WHERE holds AND patient_id = :p"
        " AND starts_at < :e AND ends_at > :s)"
        " AND (SELECT count(*) FROM sched_booking WHERE holds AND site_id = :site"
        " AND starts_at < :e AND ends_at > :s) + 1 <= 3 * (SELECT count(*) FROM sched_shift"
        " WHERE site_id = :site AND role = 'nurse' AND starts_at <= :s AND ends_at >= :e)"
    )
    placed: list[tuple[int, datetime]] = []
    length = timedelta(minutes=RULES.iv.total_min)
    for target in targets:
        not_before = placed[-1][1] + timedelta(hours=spacing_h) if placed else None
        found = None
        for delay in range(4):
            day = target + timedelta(days=delay)
            if day.weekday() >= 5:
                continue
            t = datetime.combine(day, max(dtime(7), earliest), tzinfo=NY).astimezone(UTC)
            close = at(day, 19)
            while t + length <= close and found is None:
                if not_before is None or t >= not_before:
                    for chair in chairs:
                        ok = db.execute(
                            check,
                            {
                                "chair": chair,
                                "p": patient_id,
                                "site": site_id,
                                "s": t,
                                "e": t + length,
                            },
                        ).scalar()
                        if ok:
                            found = (chair, t)
                            break
                t += timedelta(minutes=RULES.step_min)
            if found:
                break
        assert found is not None
        placed.append(found)
    db.rollback()
    return placed


def median_ms(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


def overlaps(db: Session) -> int:
    n = db.execute(
        text(
            "SELECT count(*) FROM sched_booking a JOIN sched_booking b ON a.id < b.id AND a.holds"
            " AND b.holds AND (a.chair_id = b.chair_id OR a.patient_id = b.patient_id)"
            " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        )
    ).scalar_one()
    db.rollback()
    return int(n)


def concurrent(
    url: str,
    clients: int,
    per: int,
    clinic_id: int,
    site_id: int,
    chairs: list[int],
    pids: list[int],
) -> None:
    engine = get_engine(url)
    factory = session_factory(engine)
    # Slots on a day 20 weeks out (no seeded bookings there): each client books `per` starts.
    day = START + timedelta(weeks=25)
    jobs = [
        [
            (
                pids[1000 + c * per + i],
                chairs[(c * per + i) % 12],
                at(day, 7)
                + timedelta(minutes=135 * ((c * per + i) // 12 % 5))
                + timedelta(days=((c * per + i) // 60)),
            )
            for i in range(per)
        ]
        for c in range(clients)
    ]

    def run(kind: str) -> tuple[float, int, int]:
        barrier = threading.Barrier(clients + 1)
        ok = [0] * clients
        refused = [0] * clients

        def client(c: int) -> None:
            barrier.wait()
            for pid, chair, start in jobs[c]:
                with factory() as db:
                    try:
                        if kind == "ketacare":
                            patient = db.get(Patient, pid)
                            assert patient is not None
                            service.book_one(
                                db,
                                Actor.cli(clinic_id),
                                NOW,
                                patient,
                                site_id,
                                Kind.iv,
                                chair,
                                start,
                                RULES,
                                "UTC",
                                settings=GATE_OFF,
                            )
                        else:
                            db.execute(
                                text(
                                    "INSERT INTO sched_booking (clinic_id, site_id, chair_id,"
                                    " patient_id, kind, starts_at, ends_at, status, holds, reason,"
                                    " created_by_email, created_at) VALUES (:c, :s, :ch, :p, 'iv',"
                                    " :a, :b, 'booked', true, '', '', now())"
                                ),
                                {
                                    "c": clinic_id,
                                    "s": site_id,
                                    "ch": chair,
                                    "p": pid,
                                    "a": start,
                                    "b": start + timedelta(minutes=125),
                                },
                            )
                        db.commit()
                        ok[c] += 1
                    except Exception:
                        db.rollback()
                        refused[c] += 1

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        return time.perf_counter() - t0, sum(ok), sum(refused)

    def clear() -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sched_reminder"))
            conn.execute(text("DELETE FROM sched_booking WHERE starts_at >= :d"), {"d": at(day, 0)})

    clear()
    secs, ok, refused = run("ketacare")
    with factory() as db:
        bad = overlaps(db)
    ours = ok / secs
    print(
        f"booking, {clients} clients, ketacare book_one: {ok} booked, {refused} refused, "
        f"{ours:,.0f} bookings/s, overlaps {bad}"
    )
    clear()
    secs, ok, refused = run("plain")
    with factory() as db:
        bad = overlaps(db)
    peer = ok / secs
    print(
        f"booking, {clients} clients, plain INSERT:      {ok} inserted, {refused} refused, "
        f"{peer:,.0f} rows/s, overlaps {bad}"
    )
    print(f"booking ratio ketacare / plain INSERT: {ours / peer:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--bookings", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=10)
    args = parser.parse_args()
    name = f"ketacare_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = get_engine(url)
        migrate.upgrade(engine)
        register_key(url, b"bench-audit-key")
        factory = session_factory(engine)
        with factory() as db:
            t0 = time.perf_counter()
            clinic_id, site_id, chairs, pids = seed(db, args.bookings)
            n = db.execute(text("SELECT count(*) FROM sched_booking")).scalar_one()
            db.rollback()
            print(
                f"seeded {n} bookings, 12 chairs, 15 staff a day"
                f" in {time.perf_counter() - t0:.1f} s"
            )
            targets = [START + timedelta(days=d) for d in (14, 17, 21, 24, 28, 31)]
            patient = pids[-1]
            ask = service.CourseAsk(
                site_id, Kind.iv, tuple(targets), 48.0, Window(earliest=dtime(9))
            )

            def ours() -> list[tuple[int, datetime]]:
                slots = service.find_course_slots(db, clinic_id, patient, ask, RULES, "UTC")
                db.rollback()
                return [(s.chair_id, s.start) for s in slots]

            def peer() -> list[tuple[int, datetime]]:
                return plain_course(db, site_id, chairs, patient, targets, 48.0, dtime(9))

            ours()  # warm-up
            ours_ms, a = median_ms(ours, args.repeat)
            peer_ms, b = median_ms(peer, max(3, args.repeat // 4))
            print(f"course search (6 sessions / 4 weeks), ketacare: median {ours_ms:.1f} ms")
            print(f"course search, plain per-slot SQL check:       median {peer_ms:.1f} ms")
            print(f"same answer: {a == b}; ratio ketacare / plain: {ours_ms / peer_ms:.2f}")
        concurrent(url, args.clients, args.per_client, clinic_id, site_id, chairs, pids)
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
