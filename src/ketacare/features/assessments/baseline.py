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
from functools import cache

from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, null, select, type_coerce
from sqlalchemy.orm import Session, aliased

from ketacare.features.assessments.models import Assessment
from ketacare.features.assessments.sessions import first_dose_sql
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


def _candidates(first_dose: ColumnElement[datetime | None]) -> Select[Assessment, datetime | None]:
    """The earliest and the newest score before ``:before``, and the last one at or before
    ``first_dose`` (none when it is NULL), each row with ``first_dose`` itself."""
    return select(Assessment, first_dose).where(
        Assessment.id.in_(
            [
                _one(newest=False),
                _one(newest=True),
                _one(_EARLIER.completed_at <= first_dose, newest=True),
            ]
        )
    )


@cache
def _statements() -> dict[OutcomeBaseline, Select[Assessment, datetime | None]]:
    """Built once, one round trip (this runs for every stored score): the candidates under
    each rule, with the patient's first dose read in the same statement (``earliest`` needs
    none: NULL)."""
    return {
        "before_first_dose": _candidates(first_dose_sql()),
        "earliest": _candidates(type_coerce(null(), _WHEN)),
    }


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

    One statement: the candidates, each with the patient's first dose (only for
    ``before_first_dose``).
    """
    params = {"patient_id": patient_id, "instrument_id": instrument_id, "before": before}
    found = db.execute(_statements()[rule], params).all()
    if not found:
        return History(None, None, "")
    rows: list[Assessment] = [row for row, _ in found]
    dose: datetime | None = found[0][1]
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
