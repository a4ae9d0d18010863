"""Statements of the home pages and the badge counts (counts only where nothing is listed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from ketacare.features.assessments.models import Alert, AlertStatus
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role, User
from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.features.outreach.models import Invitation, Schedule
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import SessionStatus, TreatmentSession

#: The window of the Overdue page's default view (assessments/pages.py ``days=90``).
OVERDUE_DAYS = 90


def open_alert_count(db: Session, clinic_id: int) -> int:
    """Open alerts of the clinic."""
    stmt = select(func.count(Alert.id)).where(
        Alert.clinic_id == clinic_id, Alert.status == AlertStatus.open
    )
    return int(db.execute(stmt).scalar_one())


def overdue_count(db: Session, clinic_id: int, now: datetime, days: int = OVERDUE_DAYS) -> int:
    """Due, unanswered questionnaires of the clinic (the rows of the Overdue page)."""
    stmt = (
        select(func.count(Invitation.id))
        .outerjoin(Schedule, Schedule.id == Invitation.schedule_id)
        .where(
            Invitation.clinic_id == clinic_id,
            or_(Invitation.schedule_id.is_(None), Schedule.active.is_(True)),
            Invitation.used_at.is_(None),
            Invitation.due_at <= now,
            Invitation.due_at >= now - timedelta(days=days),
        )
    )
    return int(db.execute(stmt).scalar_one())


def unsigned_sessions(
    db: Session, clinic_id: int, limit: int = 50
) -> list[tuple[TreatmentSession, Patient]]:
    """Discharged sessions not yet signed, oldest first."""
    stmt = (
        select(TreatmentSession, Patient)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(
            TreatmentSession.clinic_id == clinic_id,
            TreatmentSession.status == SessionStatus.discharged,
        )
        .order_by(TreatmentSession.id)
        .limit(limit)
    )
    return [(s, p) for s, p in db.execute(stmt).all()]


def consents_to_countersign(
    db: Session, clinic_id: int, limit: int = 50
) -> list[tuple[ConsentDocument, ConsentTemplate, Patient]]:
    """Signed consents whose template asks for a countersignature and that have none yet
    (neither countersigned nor revoked: no document supersedes them)."""
    later = aliased(ConsentDocument)
    stmt = (
        select(ConsentDocument, ConsentTemplate, Patient)
        .join(ConsentTemplate, ConsentTemplate.id == ConsentDocument.template_id)
        .join(Patient, Patient.id == ConsentDocument.patient_id)
        .outerjoin(later, later.supersedes_id == ConsentDocument.id)
        .where(
            ConsentDocument.clinic_id == clinic_id,
            ConsentDocument.kind == "signed",
            ConsentTemplate.countersign.is_(True),
            later.id.is_(None),
        )
        .order_by(ConsentDocument.signed_at, ConsentDocument.id)
        .limit(limit)
    )
    return [(d, t, p) for d, t, p in db.execute(stmt).all()]


def user_counts(db: Session, clinic_id: int) -> dict[str, int]:
    """Active accounts of the clinic by role (every role listed, zero included)."""
    rows = db.execute(
        select(User.role, func.count(User.id))
        .where(User.clinic_id == clinic_id, User.is_active.is_(True))
        .group_by(User.role)
    ).all()
    found = {Role(r).value: int(n) for r, n in rows}
    return {role.value: found.get(role.value, 0) for role in Role}


def audit_summary(db: Session, clinic_id: int, since: datetime) -> tuple[int, int, datetime | None]:
    """Audit events of the clinic since ``since``, of those the refused ones, and the time of
    the newest event."""
    total = db.execute(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.clinic_id == clinic_id, AuditEvent.at >= since
        )
    ).scalar_one()
    not_ok = db.execute(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.clinic_id == clinic_id, AuditEvent.at >= since, AuditEvent.outcome != "ok"
        )
    ).scalar_one()
    newest = db.execute(
        select(func.max(AuditEvent.at)).where(AuditEvent.clinic_id == clinic_id)
    ).scalar_one()
    return int(total), int(not_ok), newest
