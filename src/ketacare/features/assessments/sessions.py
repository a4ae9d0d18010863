"""Where measurement-based care reads a patient's treatment sessions.

Planned sessions (for the "before each treatment session" recurrence and the trajectory chart)
are those of the patient's active treatment plan (``features/intake``); a planned session has a
day, not a time, so it counts from 00:00 UTC of that day. The first dose (for the alert
baseline) is the earliest ``dose_start`` of the patient's charted sessions (``features/sessions``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ketacare.features.intake.models import PlannedSession, PlanStatus, TreatmentPlan
from ketacare.features.sessions.models import TreatmentSession

SessionSource = Callable[[Session, int], list[datetime]]


def planned_sessions(db: Session, patient_id: int) -> list[datetime]:
    """Start (00:00 UTC of the day) of each session of the patient's active plan, in order."""
    days = db.execute(
        select(PlannedSession.day)
        .join(TreatmentPlan, TreatmentPlan.id == PlannedSession.plan_id)
        .where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.status == PlanStatus.active)
        .order_by(PlannedSession.day, PlannedSession.number)
    ).scalars()
    return [datetime.combine(d, time(0, 0), tzinfo=UTC) for d in days]


# Built once: this runs for every stored assessment (ix_treatment_session_patient).
_FIRST_DOSE = select(func.min(TreatmentSession.dose_start)).where(
    TreatmentSession.patient_id == bindparam("patient_id")
)


def first_dose(db: Session, patient_id: int) -> datetime | None:
    """Start of the patient's first charted dose (earliest ``dose_start``), or None."""
    value: datetime | None = db.execute(_FIRST_DOSE, {"patient_id": patient_id}).scalar()
    return value
