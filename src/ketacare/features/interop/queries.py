"""Queries of the FHIR API: the statements behind each search and the paging over them.

Plain functions; the route module (``api.py``) parses the request, ``service.py`` runs the use
case and audits it, this module holds every SQLAlchemy statement.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment
from ketacare.features.sessions.models import ScaleScore, TreatmentSession, VitalSign
from ketacare.fhir.search import Bound


@dataclass(frozen=True)
class Section:
    """One source of a search's results, in the search's order. ``exact``: one resource per
    row (so an offset can be skipped in SQL, after one count); otherwise rows are streamed and
    mapped to any number of resources (``to`` may return none)."""

    stmt: Any  # a Select of the section's rows, ordered
    to: Callable[[Any], list[dict[str, Any]]]
    exact: bool


def page(db: Session, sections: Sequence[Section], offset: int, count: int) -> list[dict[str, Any]]:
    """Resources ``offset`` .. ``offset + count`` (one more, to know whether a next page
    exists) of the sections in order; never more than ``count + 1`` mapped."""
    skip, need = offset, count + 1
    out: list[dict[str, Any]] = []
    for section in sections:
        if need <= 0:
            break
        if section.exact:
            if skip:
                total = db.execute(
                    select(func.count()).select_from(section.stmt.order_by(None).subquery())
                ).scalar_one()
                if skip >= total:
                    skip -= total
                    continue
            rows = db.execute(section.stmt.offset(skip).limit(need)).all()
            skip = 0
            for row in rows:
                out += section.to(row)
            need = count + 1 - len(out)
            continue
        result = db.execute(section.stmt.execution_options(yield_per=500))
        try:
            for row in result:
                for resource in section.to(row):
                    if skip:
                        skip -= 1
                    elif need > 0:
                        out.append(resource)
                        need -= 1
                if need <= 0:
                    break
        finally:
            result.close()
    return out


def assessments(
    clinic_id: int,
    patient_id: int | None,
    instruments: Collection[str] | None,
    ids: Collection[int] | None,
    bounds: Sequence[Bound],
    by: str = "completed_at",
) -> Select[Assessment]:
    """The clinic's assessments (of one patient, instruments, ids; ``by`` bounded and
    ordered by ``completed_at`` or ``created_at``, then id)."""
    column = Assessment.completed_at if by == "completed_at" else Assessment.created_at
    stmt = select(Assessment).where(Assessment.clinic_id == clinic_id)
    if patient_id is not None:
        stmt = stmt.where(Assessment.patient_id == patient_id)
    if instruments is not None:
        stmt = stmt.where(Assessment.instrument_id.in_(instruments))
    if ids is not None:
        stmt = stmt.where(Assessment.id.in_(ids))
    for op, at in bounds:
        stmt = stmt.where(column >= at if op == "ge" else column < at)
    return stmt.order_by(column, Assessment.id)


def vital_signs(
    clinic_id: int, patient_id: int | None, ids: Collection[int] | None, bounds: Sequence[Bound]
) -> Select[VitalSign, int, datetime | None]:
    """The clinic's vital signs with their patient and dose start, by time and id."""
    stmt = (
        select(VitalSign, TreatmentSession.patient_id, TreatmentSession.dose_start)
        .join(TreatmentSession, TreatmentSession.id == VitalSign.session_id)
        .where(TreatmentSession.clinic_id == clinic_id)
    )
    if patient_id is not None:
        stmt = stmt.where(TreatmentSession.patient_id == patient_id)
    if ids is not None:
        stmt = stmt.where(VitalSign.id.in_(ids))
    for op, at in bounds:
        stmt = stmt.where(VitalSign.at >= at if op == "ge" else VitalSign.at < at)
    return stmt.order_by(VitalSign.at, VitalSign.id)


def scale_scores(
    clinic_id: int,
    patient_id: int | None,
    instruments: Collection[str] | None,
    ids: Collection[int] | None,
    bounds: Sequence[Bound],
) -> Select[ScaleScore, int, datetime | None]:
    """The clinic's session scale totals with their patient and dose start, by time and id."""
    stmt = (
        select(ScaleScore, TreatmentSession.patient_id, TreatmentSession.dose_start)
        .join(TreatmentSession, TreatmentSession.id == ScaleScore.session_id)
        .where(TreatmentSession.clinic_id == clinic_id)
    )
    if patient_id is not None:
        stmt = stmt.where(TreatmentSession.patient_id == patient_id)
    if instruments is not None:
        stmt = stmt.where(ScaleScore.instrument_id.in_(instruments))
    if ids is not None:
        stmt = stmt.where(ScaleScore.id.in_(ids))
    for op, at in bounds:
        stmt = stmt.where(ScaleScore.at >= at if op == "ge" else ScaleScore.at < at)
    return stmt.order_by(ScaleScore.at, ScaleScore.id)
