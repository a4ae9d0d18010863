"""Read queries of the assessment pages (plain functions; route modules import no SQLAlchemy)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Invitation
from ketacare.features.auth.models import User
from ketacare.features.patients.models import Patient


def account_patient(db: Session, user: User) -> Patient | None:
    """The patient record of a patient account: linked by id, else the clinic's record with
    the account's e-mail (both are entered by the clinic's staff)."""
    stmt = (
        select(Patient)
        .where(
            Patient.clinic_id == user.clinic_id,
            or_(Patient.user_id == user.id, Patient.email == user.email),
        )
        .order_by((Patient.user_id == user.id).desc(), Patient.id)
        .limit(1)
    )
    return db.execute(stmt).scalar_one_or_none()


def open_links(db: Session, patient_id: int, now: datetime) -> list[Invitation]:
    """The patient's links that are due, unanswered and not expired at ``now``, by due time."""
    stmt = (
        select(Invitation)
        .where(
            Invitation.patient_id == patient_id,
            Invitation.used_at.is_(None),
            Invitation.due_at <= now,
            Invitation.expires_at > now,
        )
        .order_by(Invitation.due_at)
    )
    return list(db.execute(stmt).scalars())
