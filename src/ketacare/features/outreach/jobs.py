"""Outreach's periodic work: the one claim-and-send loop, and the ``links-and-alerts`` job.

:func:`claim_and_send` is the loop every queued message goes through (visit reminders and
waitlist offers, ``features/scheduling``): a runner claims a batch of due rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises
runners, one row per transaction there), sends each through the notifier and records the
attempt in the same transaction, so several runners (app hosts) sharing one database never
send a row twice and lose none. Each item runs in a savepoint: one that cannot be prepared or
recorded is rolled back, logged by id and error class (never an address, a name or the error
text) and skipped; the others of the batch are sent. A crash between the hand-over to the
transport and the commit can repeat the messages of that batch (at-least-once delivery).

The job ``links-and-alerts`` (``feature.py``; the app's job runner, ``features/jobs``, runs it
every ``KETACARE_PERIODIC_INTERVAL_S`` seconds, 0 = off, and cron through ``ketacare jobs run
--once`` or ``ketacare alerts dispatch`` / ``alerts escalate``) creates the assessment links
that have fallen due and sends them, then asks the features that escalate (registry hook
``escalations``: ``assessments``' unacknowledged alerts, a package above this one) for their
mails. Assessment links do not go through :func:`claim_and_send`: their token exists only in
memory between the transaction that creates the link and the send (the database keeps its
HMAC), so they are sent from that memory after the commit, not claimed from the table.
Both steps are safe under several workers: links are unique per schedule and due time,
escalation is a conditional UPDATE.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ketacare.db.base import utcnow
from ketacare.features import registry
from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.outreach import queries
from ketacare.features.outreach.notify import (
    DeliveryFailed,
    Message,
    Notifier,
    notifier_from_settings,
)
from ketacare.features.outreach.service import Outgoing, dispatch_due
from ketacare.settings import Settings

log = logging.getLogger("ketacare.outreach")
T = TypeVar("T")
MAX_ERROR = 200
#: Rows claimed per transaction on PostgreSQL (their row locks are held while they are sent).
BATCH = 20


class Outbox(Protocol[T]):
    """One kind of queued message, as :func:`claim_and_send` needs it."""

    #: What the rows are, in logs ("reminder", "waitlist offer").
    kind: str

    def claim(self, db: Session, now: datetime, skip: Collection[int], limit: int) -> Sequence[T]:
        """Lock and return up to ``limit`` due rows no other runner holds (not in ``skip``:
        tried in this run already); :func:`queries.claim_due` builds the lock."""
        ...

    def key(self, item: T) -> int:
        """The row's id (logs and reports name rows by it, never by patient data)."""
        ...

    def prepare(self, db: Session, item: T, now: datetime) -> Message | None:
        """Count the attempt and build the message; None when there is nothing to send any
        more (the row is closed here, e.g. a reminder of a cancelled visit)."""
        ...

    def record(self, db: Session, item: T, now: datetime, error: str | None) -> None:
        """Record the attempt: sent (``error`` None) or failed (the transport's error class);
        audit the disclosure."""
        ...


@dataclass
class SendReport:
    """What one run did (row ids)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def claim_and_send(
    sessions: sessionmaker[Session],
    outbox: Outbox[T],
    notifier: Notifier,
    now: datetime,
    *,
    limit: int = 500,
    batch: int | None = None,
) -> SendReport:
    """Send every due row of ``outbox`` (at most ``limit``), ``batch`` rows per transaction.

    The default batch is :data:`BATCH` on PostgreSQL and 1 on SQLite, where a transaction
    holds the database's one write lock while it sends (the app's own writes wait for it).
    """
    report = SendReport()
    seen: set[int] = set()
    while len(seen) < limit:
        with sessions() as db:
            size = batch or (1 if db.get_bind().dialect.name == "sqlite" else BATCH)
            items = outbox.claim(db, now, seen, min(size, limit - len(seen)))
            if not items:
                db.rollback()
                break
            for item in items:
                key = outbox.key(item)
                seen.add(key)
                try:
                    with db.begin_nested():  # this item's changes, or none of them
                        _send_one(db, outbox, notifier, item, key, now, report)
                except Exception as exc:  # a broken item must not stop the run
                    log.error("%s %s could not be sent: %s", outbox.kind, key, type(exc).__name__)
                    report.failed.append(key)
            db.commit()
    return report


def _send_one(
    db: Session,
    outbox: Outbox[T],
    notifier: Notifier,
    item: T,
    key: int,
    now: datetime,
    report: SendReport,
) -> None:
    message = outbox.prepare(db, item, now)
    if message is None:
        return
    try:
        notifier.send(message)
    except DeliveryFailed as exc:  # the error class of the transport: no address, no text
        outbox.record(db, item, now, str(exc)[:MAX_ERROR])
        log.warning("%s %s failed: %s", outbox.kind, key, exc)
        report.failed.append(key)
    else:
        outbox.record(db, item, now, None)
        report.sent.append(key)


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
                queries.record_delivery(db, inv_id, value, now if value != "failed" else None)
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


class Escalated(Protocol):
    """What an ``escalations`` hook returns: the rows it escalated and the mails to send."""

    @property
    def alert_ids(self) -> list[int]: ...

    @property
    def messages(self) -> list[Message]: ...


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
    hooks = registry.session_hooks("escalations") if escalate else ()
    with sessions() as db:
        clinic_ids = queries.clinic_ids(db)
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
        for hook in hooks:
            try:
                with sessions() as db:
                    result: Escalated = hook(db, settings, now, clinic_id=clinic_id)
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
