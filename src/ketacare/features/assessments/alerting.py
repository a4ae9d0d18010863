"""Alert work queue: listing, acknowledgement with a note, and escalation to admins.

Acknowledgement and escalation are conditional UPDATEs (``... WHERE status = 'open'`` and
``... AND escalated_at IS NULL``), so two clinicians, or several workers running the periodic
check or ``ketacare alerts escalate`` at once, change an alert once and log it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.assessments.models import Alert, AlertAction, AlertStatus
from ketacare.features.assessments.service import log_action
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.outreach.notify import Message
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings

LEVEL_ORDER = case({"critical": 0, "high": 1, "warning": 2}, value=Alert.level, else_=3)
MAX_NOTE = 2000


def list_alerts(
    db: Session, clinic_id: int, status: str = "", patient_id: int | None = None, limit: int = 200
) -> list[tuple[Alert, Patient]]:
    """Alerts of the clinic: open ones first (most urgent, then oldest), then the rest."""
    stmt = select(Alert, Patient).join(Patient, Patient.id == Alert.patient_id)
    stmt = stmt.where(Alert.clinic_id == clinic_id)
    if status:
        try:
            stmt = stmt.where(Alert.status == AlertStatus(status))
        except ValueError:
            raise BadRequest("must be open or acknowledged", "status") from None
    if patient_id is not None:
        stmt = stmt.where(Alert.patient_id == patient_id)
    is_open = case((Alert.status == AlertStatus.open, 0), else_=1)
    stmt = stmt.order_by(is_open, LEVEL_ORDER, Alert.created_at, Alert.id)
    return list(db.execute(stmt.limit(min(limit, 1000))).all())


def alerts_for(
    db: Session, actor: Actor, status: str = "", patient_id: int | None = None
) -> list[tuple[Alert, Patient]]:
    """The actor's clinic's alerts (see :func:`list_alerts`), audited as a list of patients."""
    assert actor.user is not None
    rows = list_alerts(db, actor.user.clinic_id, status, patient_id)
    record(db, actor, "list", "alert", patients=[p.id for _a, p in rows])
    return rows


def get_alert(db: Session, clinic_id: int, alert_id: int) -> Alert:
    """An alert of this clinic, or NotFound."""
    row = db.execute(
        select(Alert).where(Alert.id == alert_id, Alert.clinic_id == clinic_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such alert")
    return row


def acknowledge(db: Session, actor: Actor, alert_id: int, note: str, now: datetime) -> Alert:
    """Acknowledge an open alert of the actor's clinic with a note (who and when are kept)."""
    assert actor.user is not None
    user = actor.user
    alert = get_alert(db, user.clinic_id, alert_id)
    note = note.strip()
    if not note:
        raise BadRequest("is required: say what was done", "note")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"must be at most {MAX_NOTE} characters", "note")
    result = db.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.status == AlertStatus.open)
        .values(
            status=AlertStatus.acknowledged,
            acknowledged_at=now,
            acknowledged_by_id=user.id,
            ack_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise BadRequest("is already acknowledged", "alert")
    db.refresh(alert)
    log_action(db, alert, "acknowledged", user, note, now)
    record(db, actor, "acknowledge", "alert", alert.id, alert.patient_id)
    db.flush()
    return alert


@dataclass(frozen=True, slots=True)
class Escalation:
    """Alerts escalated by one run and the mails to send to their clinics' admins."""

    alert_ids: list[int]
    messages: list[Message]


def escalate_due(
    db: Session,
    settings: Settings,
    now: datetime,
    clinic_id: int | None = None,
    actor: Actor | None = None,
) -> Escalation:
    """Escalate alerts open longer than the configured time; return them and the admin mails.

    Each alert is escalated once, by whichever worker's UPDATE changes it. ``clinic_id``
    limits the run to one clinic. ``actor`` is who runs it (default: the periodic job).
    """
    actor = actor or Actor.job("periodic", clinic_id)
    cutoff = now - timedelta(minutes=settings.alert_escalate_minutes)
    where = [
        Alert.status == AlertStatus.open,
        Alert.escalated_at.is_(None),
        Alert.created_at <= cutoff,
    ]
    if clinic_id is not None:
        where.append(Alert.clinic_id == clinic_id)
    rows = db.execute(
        update(Alert)
        .where(*where)
        .values(escalated_at=now)
        .returning(Alert.id, Alert.clinic_id, Alert.patient_id, Alert.level)
        .execution_options(synchronize_session=False)
    ).all()
    messages: list[Message] = []
    admins: dict[int, list[str]] = {}
    base = settings.public_url.rstrip("/")
    for alert_id, clinic_id, patient_id, level in sorted(rows):
        db.add(
            AlertAction(
                alert_id=alert_id,
                clinic_id=clinic_id,
                action="escalated",
                actor_email="system",
                note=f"not acknowledged within {settings.alert_escalate_minutes:g} minutes",
                at=now,
            )
        )
        record(db, actor, "escalate", "alert", alert_id, patient_id)
        if clinic_id not in admins:
            admins[clinic_id] = list(
                db.execute(
                    select(User.email).where(
                        User.clinic_id == clinic_id, User.role == Role.admin, User.is_active
                    )
                ).scalars()
            )
        for email in admins[clinic_id]:
            messages.append(
                Message(
                    to=email,
                    subject=f"Unacknowledged {level} alert",
                    body=(
                        f"A {level} alert has not been acknowledged within "
                        f"{settings.alert_escalate_minutes:g} minutes.\n"
                        f"Open it: {base}/alerts#alert-{alert_id}\n"
                    ),
                    url=f"{base}/alerts#alert-{alert_id}",
                    kind="escalation",
                    alert_id=alert_id,
                )
            )
    db.flush()
    return Escalation(sorted(r[0] for r in rows), messages)


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """Open alerts of a clinic, for the nav badge and the dashboard heading."""

    open: int
    escalated: int


def counts(db: Session, clinic_id: int) -> AlertCounts:
    """How many alerts are open and how many of those were escalated."""
    rows = db.execute(
        select(Alert.escalated_at).where(
            Alert.clinic_id == clinic_id, Alert.status == AlertStatus.open
        )
    ).all()
    return AlertCounts(len(rows), sum(1 for (e,) in rows if e is not None))
