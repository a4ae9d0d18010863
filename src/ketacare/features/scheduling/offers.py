"""Waitlist offers sent to the patient (issue 17.2), and the job that sends them.

When a booking is cancelled the freed chair time is offered to the longest-waiting patient
whose window contains it (:func:`service.offer_slot`); this job sends that patient a message
with a one-time link (``/w/{token}``) to take the time or say no. Whoever answers first gets the
time through every booking rule; a "no" offers it to the next patient.

Like the reminders, several runners may share one database: one offer is claimed at a time
with ``SELECT ... FOR UPDATE SKIP LOCKED`` and sent and recorded in the same transaction, so no
offer is sent twice and none is lost; a failure is recorded (the error class only) and retried
on the next runs up to 3 attempts, and the run goes on. Messages carry the clinic, the site, the
local time and the link: no clinical data, no name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

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
from ketacare.features.scheduling.models import Site, WaitlistEntry, WaitStatus
from ketacare.settings import Settings

log = logging.getLogger("ketacare.scheduling.offers")
MAX_ATTEMPTS = 3


@dataclass
class OfferReport:
    """What one run did (waitlist entry ids)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def claim_one(db: Session, now: datetime, skip: set[int]) -> WaitlistEntry | None:
    """Lock and return one offer to send that no other runner holds (``skip``: tried in this
    run already)."""
    stmt = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.status == WaitStatus.offered,
            WaitlistEntry.offer_sent_at.is_(None),
            WaitlistEntry.offer_attempts < MAX_ATTEMPTS,
            WaitlistEntry.offered_start > now,
        )
        .order_by(WaitlistEntry.offered_at, WaitlistEntry.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skip:
        stmt = stmt.where(WaitlistEntry.id.not_in(sorted(skip)))
    return db.scalars(stmt).first()


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


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    notifier: Notifier,
    limit: int = 200,
) -> OfferReport:
    """Send every offer not yet sent (at most ``limit``), one transaction per offer."""
    report = OfferReport()
    seen: set[int] = set()
    for _ in range(limit):
        with sessions() as db:
            entry = claim_one(db, now, seen)
            if entry is None:
                db.rollback()
                break
            seen.add(entry.id)
            entry.offer_attempts += 1
            try:
                notifier.send(_message(db, settings, entry))
            except DeliveryFailed as exc:
                entry.offer_error = str(exc)[:200]
                log.warning("waitlist offer %s failed: %s", entry.id, exc)
                report.failed.append(entry.id)
            except Exception as exc:  # a broken item must not stop the run
                db.rollback()
                log.error("waitlist offer %s could not be prepared: %s", entry.id,
                          type(exc).__name__)  # fmt: skip
                report.failed.append(entry.id)
                continue
            else:
                entry.offer_sent_at = now
                report.sent.append(entry.id)
            actor = Actor.job("waitlist-offers", entry.clinic_id)
            record(db, actor, "disclose", "sched_waitlist", entry.id, patient_id=entry.patient_id)
            db.commit()
    return report


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> OfferReport:
    """The registered job: send waitlist offers with the configured notifier."""
    sched: SchedulingSettings = scheduling_settings()
    notifier = notifier_from_settings(settings, sched.notifier, sched.webhook_url)
    return send_due(sessions, settings, now, notifier)
