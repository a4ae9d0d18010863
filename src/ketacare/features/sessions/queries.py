"""Read queries of the session routes (plain functions; route modules import no SQLAlchemy)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ScalarSelect, bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from ketacare.features._kit.errors import NotFound
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession

# Built once: the session lookup runs on every session request (and the page's refresh).
# Its patient comes in the same round trip: the session state needs it (``state.build`` finds
# it in the unit of work; ``TreatmentSession.patient`` holds it there).
_GET = (
    select(TreatmentSession)
    .join(TreatmentSession.patient)
    .options(contains_eager(TreatmentSession.patient))
    .where(
        TreatmentSession.id == bindparam("id"),
        TreatmentSession.clinic_id == bindparam("clinic"),
    )
)
_PLAN = select(TreatmentPlan).where(TreatmentPlan.id == bindparam("id"))


def get_session(db: Session, clinic_id: int, session_id: int) -> TreatmentSession:
    """A session of this clinic, or NotFound (also for another clinic's sessions)."""
    row = db.execute(_GET, {"id": session_id, "clinic": clinic_id}).scalar_one_or_none()
    if row is None:
        raise NotFound("no such session")
    return row


def plan_of(db: Session, s: TreatmentSession) -> TreatmentPlan:
    """The treatment plan the session belongs to."""
    return db.execute(_PLAN, {"id": s.plan_id}).scalar_one()


def patient_sessions(db: Session, patient_id: int) -> list[TreatmentSession]:
    """The patient's charted sessions, newest first."""
    stmt = (
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient_id)
        .order_by(TreatmentSession.id.desc())
    )
    return list(db.execute(stmt).scalars())


def sessions_since(
    db: Session, clinic_id: int, start: datetime
) -> list[tuple[TreatmentSession, Patient]]:
    """The clinic's sessions created at or after ``start`` with their patients, in order."""
    stmt = (
        select(TreatmentSession, Patient)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(TreatmentSession.clinic_id == clinic_id, TreatmentSession.created_at >= start)
        .order_by(TreatmentSession.id)
    )
    return [(s, p) for s, p in db.execute(stmt).all()]


# Built once: this runs for every stored assessment (ix_treatment_session_patient); assessments
# reaches it through the ``session_first_dose`` hook (features/assessments/sessions.py).
_FIRST_DOSE = select(func.min(TreatmentSession.dose_start)).where(
    TreatmentSession.patient_id == bindparam("patient_id")
)


def first_dose_sql() -> ScalarSelect[datetime | None]:
    """Start of the first charted dose (earliest ``dose_start``; NULL: none) of the patient
    bound as ``:patient_id``, a scalar subquery (the ``session_first_dose`` hook: assessments
    reads it with the earlier scores, one statement)."""
    return _FIRST_DOSE.scalar_subquery()
