"""Where measurement-based care reads a patient's treatment sessions.

Planned sessions (for the "before each treatment session" recurrence and the trajectory chart)
are read by ``outreach.queries.planned_sessions``. The first dose (for the alert
baseline) is the earliest ``dose_start`` of the patient's charted sessions, asked of
``features/sessions`` through the registry (``session_first_dose``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ketacare.features import registry


def first_dose(db: Session, patient_id: int) -> datetime | None:
    """Start of the patient's first charted dose, or None: asked of the feature that charts
    doses (``sessions``, through the registry's ``session_first_dose`` hook, since sessions
    sits above assessments)."""
    hooks = registry.session_hooks("session_first_dose")
    if not hooks:
        return None
    value: datetime | None = hooks[0](db, patient_id)
    return value
