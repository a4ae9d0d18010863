"""Reminders before each booking (``KETACARE_SCHED_REMINDER_HOURS``, default 48 and 24 h) by
e-mail and SMS, and the job that sends them.

Several job runners (app hosts) may share one database: a runner claims one due reminder at a
time with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises runners), sends it and records the result in the same transaction, so no reminder
is sent by two runners and none is lost. A failure is recorded (error class only, never an
address or a name) and retried up to 3 attempts; the run goes on with the next reminder.
A crash between the hand-over to the transport and the commit can repeat that one message
(at-least-once delivery).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.outreach.notify import (
    DeliveryFailed,
    Message,
    Notifier,
    notifier_from_settings,
)
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service
from ketacare.features.scheduling.config import SchedulingSettings, scheduling_settings
from ketacare.features.scheduling.models import (
    Booking,
    BookingStatus,
    Reminder,
    ReminderStatus,
    Site,
)
from ketacare.settings import Settings

log = logging.getLogger("ketacare.scheduling.reminders")
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=10)


def _message(db: Session, settings: Settings, reminder: Reminder, booking: Booking) -> Message:
    patient = db.get(Patient, booking.patient_id)
    site = db.get(Site, booking.site_id)
    clinic = db.get(Clinic, booking.clinic_id)
    assert patient is not None and site is not None and clinic is not None
    tz = clock.clinic_tz(clinic, settings.timezone)
    token = service.issue_link(db, settings.secret_key.get_secret_value(), booking)
    link = f"{settings.public_url.rstrip('/')}/b/{token}"
    when = clock.format_local(booking.starts_at, tz, "%A %d %B, %H:%M")
    body = (
        f"{clinic.name}: your visit is on {when} at {site.name}.\n"
        f"Please confirm, ask for another time and read the instructions before your visit: "
        f"{link}\n"
    )
    to = patient.email if reminder.channel == "email" else patient.phone
    return Message(
        to=to,
        subject=f"Your visit on {when}",
        body=body,
        url=link,
        kind="reminder",
        patient_id=booking.patient_id,
        channel=reminder.channel,
        reminder_id=reminder.id,
    )


@dataclass
class RunReport:
    """What one run did (reminder ids)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def claim_one(db: Session, now: datetime) -> Reminder | None:
    """Lock and return one due pending reminder that no other runner holds."""
    stmt = (
        select(Reminder)
        .where(Reminder.status == ReminderStatus.pending, Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return db.scalars(stmt).first()


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    notifier: Notifier,
    limit: int = 500,
) -> RunReport:
    """Send every due reminder (at most ``limit``), one transaction per reminder."""
    report = RunReport()
    for _ in range(limit):
        with sessions() as db:
            reminder = claim_one(db, now)
            if reminder is None:
                db.rollback()
                break
            booking = db.get(Booking, reminder.booking_id)
            assert booking is not None
            if booking.status is not BookingStatus.booked or booking.starts_at <= now:
                reminder.status = ReminderStatus.cancelled
                db.commit()
                continue
            reminder.attempts += 1
            try:
                notifier.send(_message(db, settings, reminder, booking))
            except DeliveryFailed as exc:
                reminder.last_error = str(exc)[:200]
                if reminder.attempts >= MAX_ATTEMPTS:
                    reminder.status = ReminderStatus.failed
                else:
                    reminder.due_at = now + RETRY_AFTER
                log.warning("reminder %s failed: %s", reminder.id, exc)
                report.failed.append(reminder.id)
            except Exception as exc:  # a broken item must not stop the run
                db.rollback()
                log.error("reminder %s could not be prepared: %s", reminder.id, type(exc).__name__)
                report.failed.append(reminder.id)
                continue
            else:
                reminder.status = ReminderStatus.sent
                reminder.sent_at = now
                report.sent.append(reminder.id)
            actor = Actor.job("reminders", booking.clinic_id)
            record(
                db, actor, "disclose", "sched_reminder", reminder.id, patient_id=booking.patient_id
            )
            db.commit()
    return report


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> RunReport:
    """The registered job: send due reminders with the configured notifier."""
    sched: SchedulingSettings = scheduling_settings()
    notifier = notifier_from_settings(settings, sched.notifier, sched.webhook_url)
    return send_due(sessions, settings, now, notifier)
