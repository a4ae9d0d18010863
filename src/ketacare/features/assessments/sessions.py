"""Where the "before each treatment session" recurrence and the trajectory chart find a
patient's planned treatment sessions: the sessions of the patient's active treatment plan
(``features/intake``). A planned session has a day, not a time, so it counts from 00:00 UTC
of that day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.intake.models import PlannedSession, PlanStatus, TreatmentPlan

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
