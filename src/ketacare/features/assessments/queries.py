"""Read queries of the assessment pages (plain functions; route modules import no SQLAlchemy)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

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
