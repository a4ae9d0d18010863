"""Reminders through a local SMTP server and a local webhook; two job runners at once never
send one reminder twice (SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.domain.course.booking import FloorRules, Kind
from ketacare.features.auth.actor import Actor
from ketacare.features.outreach.notify import SmtpNotifier, WebhookNotifier
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import reminders, service
from ketacare.features.scheduling.models import Reminder, ReminderStatus
from ketacare.settings import Settings
from tests.scheduling.support import GATE_OFF, MON, at, smtp_server, without_tokens, world

RULES = FloorRules()
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def book_many(db: Session, n_patients: int) -> list[int]:
    w = world(db, chairs=4, patients=n_patients, nurses=4)
    ids = []
    for i, pid in enumerate(w.patients):
        patient = db.get(Patient, pid)
        assert patient is not None
        day = MON + timedelta(days=4)
        b = service.book_one(
            db,
            Actor.cli(w.clinic_id),
            NOW,
            patient,
            w.site_id,
            Kind.iv,
            w.chairs[i % 4],
            at(day, 8) + timedelta(minutes=135 * (i // 4)),
            RULES,
            "UTC",
            settings=GATE_OFF,
        )
        ids.append(b.id)
    db.commit()
    return ids


def test_reminders_planned_and_cancelled(db: Session) -> None:
    w = world(db, patients=1)
    patient = db.get(Patient, w.patients[0])
    assert patient is not None
    patient.phone = "+1 555 0100"
    b = service.book_one(
        db,
        Actor.cli(w.clinic_id),
        NOW,
        patient,
        w.site_id,
        Kind.iv,
        w.chairs[0],
        at(MON, 9),
        RULES,
        "UTC",
        settings=GATE_OFF,
    )
    db.commit()
    rows = db.scalars(select(Reminder).where(Reminder.booking_id == b.id)).all()
    assert sorted((r.channel, b.starts_at - r.due_at) for r in rows) == [
        ("email", timedelta(hours=24)),
        ("email", timedelta(hours=48)),
        ("sms", timedelta(hours=24)),
        ("sms", timedelta(hours=48)),
    ]
    # Booked 30 h ahead: the 48 h reminder is already past and is not planned.
    late = service.book_one(
        db,
        Actor.cli(w.clinic_id),
        at(MON, 9) - timedelta(hours=30) + timedelta(days=1),
        patient,
        w.site_id,
        Kind.iv,
        w.chairs[0],
        at(MON + timedelta(days=1), 9),
        RULES,
        "UTC",
        settings=GATE_OFF,
    )
    db.commit()
    got = db.scalars(select(Reminder).where(Reminder.booking_id == late.id)).all()
    assert {late.starts_at - r.due_at for r in got} == {timedelta(hours=24)}
    service.cancel(db, Actor.cli(w.clinic_id), NOW, b, "moved away")
    db.commit()
    statuses = {r.status for r in db.scalars(select(Reminder).where(Reminder.booking_id == b.id))}
    assert statuses == {ReminderStatus.cancelled}
    db.commit()


def test_two_runners_send_each_reminder_once(
    engine: Engine, db: Session, settings: Settings
) -> None:
    book_many(db, 12)
    total = db.scalar(select(func.count()).select_from(Reminder))
    db.commit()
    assert total == 24  # 12 bookings x 2 offsets x e-mail
    factory = session_factory(engine)
    run_at = at(MON + timedelta(days=4), 7)  # every reminder is due, no visit has begun
    reports: list[Any] = [None, None]
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        barrier = threading.Barrier(2)

        def runner(i: int) -> None:
            barrier.wait()
            reports[i] = reminders.send_due(factory, settings, run_at, notifier)

        threads = [threading.Thread(target=runner, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        sent = reports[0].sent + reports[1].sent
        assert len(sent) == len(set(sent)), "a reminder was sent by both runners"
        assert set(reports[0].sent).isdisjoint(reports[1].sent)
        assert len(sent) == total == len(sink.messages)
    statuses = db.scalars(select(Reminder.status)).all()
    db.commit()
    assert set(statuses) == {ReminderStatus.sent}
    body = sink.messages[0].decode().split("\r\n\r\n", 1)[1]
    assert "/b/" in body and "Main" in body
    text = without_tokens(body)
    for word in ("ketamine", "esketamine", "P0", "p0@", "dose", "PHQ"):
        assert word not in text


class _Hook(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, Any]]] = []
    status = 500

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        _Hook.calls.append(json.loads(self.rfile.read(length)))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_failed_delivery_is_recorded_retried_and_skipped(
    db: Session, settings: Settings, engine: Engine
) -> None:
    book_many(db, 2)
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        factory = session_factory(engine)
        run_at = at(MON + timedelta(days=4), 7)
        _Hook.status, _Hook.calls = 500, []
        report = reminders.send_due(factory, settings, run_at, WebhookNotifier(url))
        assert len(report.failed) == 4 and not report.sent  # every item tried, none stops the run
        rows = db.scalars(select(Reminder)).all()
        assert all(
            r.attempts == 1 and r.last_error == "HTTP500" and r.status is ReminderStatus.pending
            for r in rows
        )
        db.commit()
        _Hook.status = 204
        report = reminders.send_due(
            factory, settings, run_at + timedelta(minutes=11), WebhookNotifier(url)
        )
        assert len(report.sent) == 4
        assert {c["channel"] for c in _Hook.calls} == {"email"}
    finally:
        server.shutdown()
        server.server_close()
