"""Where measurement-based care reads a patient's treatment sessions.

Planned sessions (for the "before each treatment session" recurrence and the trajectory chart)
are those of the patient's active treatment plan (``features/intake``); a planned session has a
day, not a time, so it counts from 00:00 UTC of that day. The first dose (for the alert
baseline) is the earliest ``dose_start`` of the patient's charted sessions, asked of
``features/sessions`` through the registry (``session_first_dose``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features import registry
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


def first_dose(db: Session, patient_id: int) -> datetime | None:
    """Start of the patient's first charted dose, or None: asked of the feature that charts
    doses (``sessions``, through the registry's ``session_first_dose`` hook, since sessions
    sits above assessments)."""
    hooks = registry.session_hooks("session_first_dose")
    if not hooks:
        return None
    value: datetime | None = hooks[0](db, patient_id)
    return value
