"""The periodic work: send due assessment links and escalate unacknowledged alerts.

Registered as the job ``links-and-alerts`` (``feature.py``): the app's job runner
(``features/jobs``) runs it every ``KETACARE_PERIODIC_INTERVAL_S`` seconds (0 = off), and cron
through ``ketacare jobs run --once`` or ``ketacare alerts dispatch`` / ``alerts escalate``. Both
steps are safe under several workers: links are unique per schedule and due time, escalation is a
conditional UPDATE. Messages are sent only after the transaction that created them commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ketacare.db.base import utcnow
from ketacare.features._kit import clock
from ketacare.features.assessments.alerting import escalate_due
from ketacare.features.assessments.links import Outgoing, dispatch_due
from ketacare.features.assessments.models import Invitation
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.outreach.notify import (
    DeliveryFailed,
    Message,
    Notifier,
    notifier_from_settings,
)
from ketacare.settings import Settings

log = logging.getLogger("ketacare.assessments")


def link_message(settings: Settings, out: Outgoing) -> Message:
    """The mail that carries a link: no names, no instrument, no answers."""
    body = (
        f"{settings.clinic_name} asks you to answer a short questionnaire before your next "
        f"visit.\n\nOpen this link (it works once, until "
        f"{clock.format_local(out.expires_at, out.tz)} {clock.tz_label(out.expires_at, out.tz)}):\n"
        f"{out.url}\n\nIf you did not expect this message, contact the clinic.\n"
    )
    return Message(
        to=out.email,
        subject=f"A questionnaire from {settings.clinic_name}",
        body=body,
        url=out.url,
        kind="link",
        patient_id=out.patient_id,
    )


def deliver(
    sessions: sessionmaker[Session],
    settings: Settings,
    notifier: Notifier,
    outgoing: Sequence[Outgoing],
) -> dict[int, str]:
    """Send committed links and record each delivery (sent, logged or failed); return id ->
    status. ``logged``: the console notifier printed it, nobody was sent anything."""
    status: dict[int, str] = {}
    for out in outgoing:
        try:
            notifier.send(link_message(settings, out))
        except DeliveryFailed as exc:
            log.warning("link %s for patient %s not delivered: %s", out.invitation_id,
                        out.patient_id, exc)  # fmt: skip
            status[out.invitation_id] = "failed"
        else:
            status[out.invitation_id] = notifier.delivered_as
    if status:
        with sessions() as db:
            now = utcnow()
            for inv_id, value in status.items():
                sent_at = now if value != "failed" else None
                db.execute(
                    update(Invitation)
                    .where(Invitation.id == inv_id)
                    .values(delivery=value, sent_at=sent_at)
                )
                patient = next(o.patient_id for o in outgoing if o.invitation_id == inv_id)
                record(db, Actor.job("periodic"), f"send_{value}", "assessment_link", inv_id,
                       patient)  # fmt: skip
            db.commit()
    return status


def send_all(notifier: Notifier, messages: Sequence[Message]) -> int:
    """Send escalation mails; return how many went out."""
    sent = 0
    for message in messages:
        try:
            notifier.send(message)
            sent += 1
        except DeliveryFailed as exc:
            log.warning("escalation of alert %s not delivered: %s", message.alert_id, exc)
    return sent


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one periodic run did."""

    links: int
    escalated: int


def run_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    notifier: Notifier | None = None,
    now: datetime | None = None,
    dispatch: bool = True,
    escalate: bool = True,
) -> RunReport:
    """One dispatch and/or escalation pass, per clinic, each in its own committed transaction.

    A clinic whose step fails is logged (clinic id and error type only) and the run goes on
    with the next clinic: one clinic's bad row never stops another clinic's links or alerts.
    """
    notifier = notifier or notifier_from_settings(settings)
    now = now or utcnow()
    outgoing: list[Outgoing] = []
    escalated: list[int] = []
    with sessions() as db:
        clinic_ids = list(db.execute(select(Clinic.id).order_by(Clinic.id)).scalars())
    for clinic_id in clinic_ids:
        if dispatch:
            try:
                with sessions() as db:
                    sent = dispatch_due(db, settings, now, clinic_id=clinic_id)
                    db.commit()
            except Exception as exc:
                log.error("link dispatch of clinic %s failed: %s", clinic_id, type(exc).__name__)
            else:
                outgoing += sent
                deliver(sessions, settings, notifier, sent)
        if escalate:
            try:
                with sessions() as db:
                    result = escalate_due(db, settings, now, clinic_id=clinic_id)
                    db.commit()
            except Exception as exc:
                log.error("escalation of clinic %s failed: %s", clinic_id, type(exc).__name__)
            else:
                escalated += result.alert_ids
                send_all(notifier, result.messages)
    return RunReport(len(outgoing), len(escalated))


def run_job(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> RunReport:
    """The registered periodic job (``feature.py``): dispatch due links, escalate alerts."""
    return run_once(sessions, settings, now=now)
