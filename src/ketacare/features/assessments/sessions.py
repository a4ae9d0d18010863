"""Where measurement-based care reads a patient's treatment sessions.

Planned sessions (for the "before each treatment session" recurrence and the trajectory chart)
are read by ``outreach.queries.planned_sessions``. The first dose (for the alert
baseline) is the earliest ``dose_start`` of the patient's charted sessions, asked of
``features/sessions`` through the registry (``session_first_dose``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import ColumnElement, bindparam

from ketacare.features import registry
from ketacare.features.assessments.models import Assessment


@cache
def first_dose_sql() -> ColumnElement[datetime | None]:
    """Start of the first charted dose of the patient bound as ``:patient_id`` (NULL: none), as
    a scalar SQL expression: asked of the feature that charts doses (``sessions``, through the
    registry's ``session_first_dose`` hook, since sessions sits above assessments); a NULL
    literal when no feature charts doses."""
    hooks = registry.session_hooks("session_first_dose")
    if not hooks:  # pragma: no cover - the sessions feature is optional
        return bindparam("no_dose", None, type_=Assessment.completed_at.type)
    sql: ColumnElement[datetime | None] = hooks[0]()
    return sql
