"""Reminders before each booking (``KETACARE_SCHED_REMINDER_HOURS``, default 48 and 24 h) by
e-mail and SMS, and the job that sends them.

They go out through outreach's claim-and-send loop (``outreach.jobs.claim_and_send``): several
job runners (app hosts) may share one database; a runner claims a batch of due reminders with
``SELECT ... FOR UPDATE SKIP LOCKED``, sends them and records each result in the same
transaction, so no reminder is sent by two runners and none is lost. A failed delivery is
recorded (error class only, never an address or a name) and retried up to 3 attempts; a
reminder that cannot be prepared is logged by id and skipped; the run goes on with the next.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.outreach.jobs import SendReport, claim_and_send
from ketacare.features.outreach.notify import Message, Notifier, notifier_from_settings
from ketacare.features.outreach.queries import claim_due
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


class Reminders:
    """The reminders as an outbox of :func:`ketacare.features.outreach.jobs.claim_and_send`."""

    kind = "reminder"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def claim(
        self, db: Session, now: datetime, skip: Collection[int], limit: int
    ) -> list[Reminder]:
        """Lock due pending reminders that no other runner holds, oldest due first."""
        stmt = (
            select(Reminder)
            .where(Reminder.status == ReminderStatus.pending, Reminder.due_at <= now)
            .order_by(Reminder.due_at, Reminder.id)
        )
        if skip:
            stmt = stmt.where(Reminder.id.not_in(sorted(skip)))
        return claim_due(db, stmt, limit)

    def key(self, item: Reminder) -> int:
        return item.id

    def prepare(self, db: Session, item: Reminder, now: datetime) -> Message | None:
        """The reminder's message; None (and cancelled) once its visit is off or has begun."""
        booking = db.get(Booking, item.booking_id)
        assert booking is not None
        if booking.status is not BookingStatus.booked or booking.starts_at <= now:
            item.status = ReminderStatus.cancelled
            return None
        item.attempts += 1
        return _message(db, self.settings, item, booking)

    def record(self, db: Session, item: Reminder, now: datetime, error: str | None) -> None:
        """Sent, or failed: retried after ``RETRY_AFTER`` up to ``MAX_ATTEMPTS`` attempts."""
        if error is None:
            item.status = ReminderStatus.sent
            item.sent_at = now
        else:
            item.last_error = error
            if item.attempts >= MAX_ATTEMPTS:
                item.status = ReminderStatus.failed
            else:
                item.due_at = now + RETRY_AFTER
        booking = db.get(Booking, item.booking_id)
        assert booking is not None
        actor = Actor.job("reminders", booking.clinic_id)
        record(db, actor, "disclose", "sched_reminder", item.id, patient_id=booking.patient_id)


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    notifier: Notifier,
    limit: int = 500,
) -> SendReport:
    """Send every due reminder (at most ``limit``) through outreach's claim-and-send loop."""
    return claim_and_send(sessions, Reminders(settings), notifier, now, limit=limit)


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> SendReport:
    """The registered job: send due reminders with the configured notifier."""
    sched: SchedulingSettings = scheduling_settings()
    notifier = notifier_from_settings(settings, sched.notifier, sched.webhook_url)
    return send_due(sessions, settings, now, notifier)
