"""The earlier scores a new score's alerts compare against: its baseline and the previous one.

The baseline follows ``KETACARE_OUTCOME_BASELINE``:

* ``before_first_dose`` (default): the last score of the instrument at or before the patient's
  first charted dose, the rule of :func:`ketacare.domain.mbc.outcomes.select_baseline` (clinical
  reference §6: define the baseline explicitly). Before the first dose, or when no score
  precedes it, the earliest score is used instead.
* ``earliest``: the earliest stored score (e.g. the screening value, as in Lii 2023).

Which of these was used is named in the ``worsening.mcid`` reason. The rule is a ketacare
default to review [U]: the literature does not settle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, select
from sqlalchemy.orm import Session, aliased

from ketacare.features.assessments.models import Assessment
from ketacare.features.assessments.sessions import first_dose
from ketacare.settings import OutcomeBaseline

_WHEN = Assessment.completed_at.type
_EARLIER = aliased(Assessment, name="earlier")  # the subqueries' own table, not the outer one


def _one(*where: ColumnElement[bool], newest: bool) -> ScalarSelect[int]:
    """The id of the earliest (or newest) score before ``:before`` that also meets ``where``."""
    e = _EARLIER
    order = (e.completed_at.desc(), e.id.desc()) if newest else (e.completed_at, e.id)
    return (
        select(e.id)
        .where(
            e.patient_id == bindparam("patient_id"),
            e.instrument_id == bindparam("instrument_id"),
            e.completed_at < bindparam("before", type_=_WHEN),
            *where,
        )
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )


# Built once, one round trip (this runs for every stored score): the earliest and the newest
# score before :before, and the last one at or before :first_dose (none when it is NULL).
_CANDIDATES = select(Assessment).where(
    Assessment.id.in_(
        [
            _one(newest=False),
            _one(newest=True),
            _one(_EARLIER.completed_at <= bindparam("first_dose", type_=_WHEN), newest=True),
        ]
    )
)


@dataclass(frozen=True, slots=True)
class History:
    """The baseline and previous score (None: no earlier score) and which baseline it is."""

    baseline: Assessment | None
    previous: Assessment | None
    note: str


def history(
    db: Session, patient_id: int, instrument_id: str, before: datetime, rule: OutcomeBaseline
) -> History:
    """Baseline and previous score of ``instrument_id`` before ``before`` under ``rule``.

    Two small queries at most: the first dose (only for ``before_first_dose``) and the
    candidates.
    """
    dose = first_dose(db, patient_id) if rule == "before_first_dose" else None
    params = {
        "patient_id": patient_id,
        "instrument_id": instrument_id,
        "before": before,
        "first_dose": dose,
    }
    rows = list(db.execute(_CANDIDATES, params).scalars())
    if not rows:
        return History(None, None, "")
    earliest, previous = min(rows, key=_order), max(rows, key=_order)
    if rule == "earliest":
        return History(earliest, previous, "earliest score, as configured")
    if dose is None or dose >= before:
        return History(earliest, previous, "earliest score: no dose charted before this score")
    day = f"{dose:%Y-%m-%d}"
    pre = [r for r in rows if r.completed_at <= dose]
    if not pre:
        return History(
            earliest, previous, f"earliest score: none at or before the first dose, {day}"
        )
    return History(max(pre, key=_order), previous, f"last score at or before the first dose, {day}")


def _order(row: Assessment) -> tuple[datetime, int]:
    return row.completed_at, row.id
