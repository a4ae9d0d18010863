"""The one claim-and-send loop (features/outreach/jobs.py ``claim_and_send``) that visit
reminders and waitlist offers go through, on SQLite and PostgreSQL: a row that cannot be
prepared is skipped and logged by id and error class only (no address, no name, not the error
text), a failed delivery is recorded, the others are sent, and two runners at once send no row
twice (SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.features.outreach import queries
from ketacare.features.outreach.jobs import SendReport, claim_and_send
from ketacare.features.outreach.notify import DeliveryFailed, Message
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling.models import Booking, Reminder, ReminderStatus
from ketacare.features.scheduling.reminders import Reminders
from ketacare.settings import Settings
from tests.scheduling.support import MON, at
from tests.scheduling.test_reminders import book_many

RUN_AT = at(MON + timedelta(days=4), 7)  # every reminder of book_many is due, no visit begun


class Recorder:
    """A notifier that keeps what it was given (thread-safe) and refuses one reminder."""

    delivered_as = "sent"

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.sent: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> None:
        time.sleep(0.005)  # let two runners interleave
        if message.reminder_id == self.refuse:
            raise DeliveryFailed("HTTP500")
        with self.lock:
            self.sent.append(message)


class Breaks(Reminders):
    """The reminders, with one row whose message cannot be built (the error names the
    patient, as a careless exception might: the loop must not log it)."""

    def __init__(self, settings: Settings, broken: int) -> None:
        super().__init__(settings)
        self.broken = broken

    def prepare(self, db: Session, item: Reminder, now: datetime) -> Message | None:
        message = super().prepare(db, item, now)
        if item.id == self.broken:
            booking = db.get(Booking, item.booking_id)
            assert booking is not None
            patient = db.get(Patient, booking.patient_id)
            assert patient is not None
            raise RuntimeError(f"cannot write to {patient.email} ({patient.given_name})")
        return message


def test_a_broken_row_is_skipped_and_two_runners_send_the_rest_once(
    engine: Engine, db: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    book_many(db, 8)
    ids = sorted(db.scalars(select(Reminder.id)))
    db.commit()
    assert len(ids) == 16
    broken, refused = ids[0], ids[1]
    factory = session_factory(engine)
    notifier = Recorder(refused)
    outbox = Breaks(settings, broken)
    reports: list[SendReport] = [SendReport(), SendReport()]
    barrier = threading.Barrier(2)

    def runner(i: int) -> None:
        barrier.wait()
        reports[i] = claim_and_send(factory, outbox, notifier, RUN_AT, batch=3)

    with caplog.at_level(logging.WARNING, logger="ketacare"):
        threads = [threading.Thread(target=runner, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    sent = reports[0].sent + reports[1].sent
    assert sorted(sent) == ids[2:]  # every other row, each by one runner only
    assert Counter(m.reminder_id for m in notifier.sent) == dict.fromkeys(ids[2:], 1)
    assert broken in reports[0].failed + reports[1].failed
    assert refused in reports[0].failed + reports[1].failed
    rows = {r.id: r for r in db.scalars(select(Reminder))}
    # The broken row's savepoint was rolled back: untouched, still due for the next run.
    assert rows[broken].status is ReminderStatus.pending and rows[broken].attempts == 0
    # The refused one is recorded (error class only) and waits for its retry.
    assert rows[refused].attempts == 1 and rows[refused].last_error == "HTTP500"
    assert rows[refused].due_at > RUN_AT
    assert {rows[i].status for i in ids[2:]} == {ReminderStatus.sent}
    emails = set(db.scalars(select(Patient.email)))
    names = {f"({n})" for n in db.scalars(select(Patient.given_name))}  # P5 is in HTTP500
    db.commit()
    assert f"reminder {broken} could not be sent: RuntimeError" in caplog.text
    assert f"reminder {refused} failed: HTTP500" in caplog.text
    assert "cannot write" not in caplog.text
    for value in emails | names:
        assert value not in caplog.text


def test_skip_locked_hands_each_row_to_one_claimer(engine: Engine, db: Session) -> None:
    """Two open transactions claiming at once get disjoint rows (PostgreSQL only: SQLite
    serialises writers with BEGIN IMMEDIATE instead)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    book_many(db, 3)
    db.commit()
    stmt = select(Reminder).order_by(Reminder.id)
    factory = session_factory(engine)
    got: list[Any] = []
    with factory() as first, factory() as second:
        got.append([r.id for r in queries.claim_due(first, stmt, 4)])
        got.append([r.id for r in queries.claim_due(second, stmt, 4)])
        first.rollback()
        second.rollback()
    assert len(got[0]) == 4 and len(got[1]) == 2
    assert set(got[0]).isdisjoint(got[1])
