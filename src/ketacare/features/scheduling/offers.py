"""Waitlist offers sent to the patient (issue 17.2), and the job that sends them.

When a booking is cancelled the freed chair time is offered to the longest-waiting patient
whose window contains it (:func:`service.offer_slot`); this job sends that patient a message
with a one-time link (``/w/{token}``) to take the time or say no. Whoever answers first gets the
time through every booking rule; a "no" offers it to the next patient.

Like the reminders, they go out through outreach's claim-and-send loop
(``outreach.jobs.claim_and_send``): several runners may share one database; offers are claimed
in batches with ``SELECT ... FOR UPDATE SKIP LOCKED`` and sent and recorded in the same
transaction, so no offer is sent twice and none is lost; a failure is recorded (the error class
only) and retried on the next runs up to 3 attempts, and the run goes on. Messages carry the
clinic, the site, the local time and the link: no clinical data, no name.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

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
from ketacare.features.scheduling.models import Site, WaitlistEntry, WaitStatus
from ketacare.settings import Settings

MAX_ATTEMPTS = 3


def _message(db: Session, settings: Settings, entry: WaitlistEntry) -> Message:
    patient = db.get(Patient, entry.patient_id)
    site = db.get(Site, entry.site_id)
    clinic = db.get(Clinic, entry.clinic_id)
    assert patient is not None and site is not None and clinic is not None
    assert entry.offered_start is not None
    tz = clock.clinic_tz(clinic, settings.timezone)
    token = service.issue_offer_link(db, settings.secret_key.get_secret_value(), entry)
    link = f"{settings.public_url.rstrip('/')}/w/{token}"
    when = clock.format_local(entry.offered_start, tz, "%A %d %B, %H:%M")
    body = (
        f"{clinic.name}: a treatment chair has become free on {when} at {site.name}.\n"
        f"To take this time, or to say no so that it goes to someone else, open: {link}\n"
        "The first patient to answer gets the time.\n"
    )
    email = "@" in patient.email
    return Message(
        to=patient.email if email else patient.phone,
        subject=f"A free time on {when}",
        body=body,
        url=link,
        kind="offer",
        patient_id=entry.patient_id,
        channel="email" if email else "sms",
        reminder_id=entry.id,
    )


class Offers:
    """Waitlist offers as an outbox of :func:`ketacare.features.outreach.jobs.claim_and_send`."""

    kind = "waitlist offer"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def claim(
        self, db: Session, now: datetime, skip: Collection[int], limit: int
    ) -> list[WaitlistEntry]:
        """Lock offers to send that no other runner holds, oldest offer first."""
        stmt = (
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitStatus.offered,
                WaitlistEntry.offer_sent_at.is_(None),
                WaitlistEntry.offer_attempts < MAX_ATTEMPTS,
                WaitlistEntry.offered_start > now,
            )
            .order_by(WaitlistEntry.offered_at, WaitlistEntry.id)
        )
        if skip:
            stmt = stmt.where(WaitlistEntry.id.not_in(sorted(skip)))
        return claim_due(db, stmt, limit)

    def key(self, item: WaitlistEntry) -> int:
        return item.id

    def prepare(self, db: Session, item: WaitlistEntry, now: datetime) -> Message:  # noqa: ARG002
        item.offer_attempts += 1
        return _message(db, self.settings, item)

    def record(self, db: Session, item: WaitlistEntry, now: datetime, error: str | None) -> None:
        """Sent, or failed (retried on the next runs up to ``MAX_ATTEMPTS`` attempts)."""
        if error is None:
            item.offer_sent_at = now
        else:
            item.offer_error = error
        actor = Actor.job("waitlist-offers", item.clinic_id)
        record(db, actor, "disclose", "sched_waitlist", item.id, patient_id=item.patient_id)


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    notifier: Notifier,
    limit: int = 200,
) -> SendReport:
    """Send every offer not yet sent (at most ``limit``) through outreach's claim-and-send
    loop."""
    return claim_and_send(sessions, Offers(settings), notifier, now, limit=limit)


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> SendReport:
    """The registered job: send waitlist offers with the configured notifier."""
    sched: SchedulingSettings = scheduling_settings()
    notifier = notifier_from_settings(settings, sched.notifier, sched.webhook_url)
    return send_due(sessions, settings, now, notifier)
