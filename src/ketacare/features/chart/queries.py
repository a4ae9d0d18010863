"""The patient chart's reads: one statement each, whatever the length of the record.

Every function here runs a fixed number of statements (one, unless said otherwise), so the
chart page's statement count does not grow with the patient's sessions or scores
(``tests/chart/test_chart.py`` counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Alert, AlertStatus, Assessment
from ketacare.features.intake.models import PlannedSession, PlanStatus, TreatmentPlan
from ketacare.features.scheduling.models import Booking, BookingStatus
from ketacare.features.sessions.models import AdverseEvent, ScaleScore, TreatmentSession


@dataclass(frozen=True, slots=True)
class Course:
    """The active plan, how many sessions it plans and how many were charted on it."""

    plan: TreatmentPlan
    planned: int
    charted: int
    #: The first planned day without a charted session (None when every one was charted).
    next_planned_day: date | None


def course(db: Session, patient_id: int) -> Course | None:
    """The patient's active plan with its counts (one statement), or None."""
    planned = (
        select(func.count(PlannedSession.id))
        .where(PlannedSession.plan_id == TreatmentPlan.id)
        .scalar_subquery()
    )
    charted = (
        select(func.count(TreatmentSession.id))
        .where(
            # patient_id first: ix_treatment_session_patient (there is no plan index)
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.plan_id == TreatmentPlan.id,
            TreatmentSession.legacy_duplicate.is_(False),
        )
        .scalar_subquery()
    )
    next_day = (
        select(func.min(PlannedSession.day))
        .where(
            PlannedSession.plan_id == TreatmentPlan.id,
            # legacy_duplicate = false: the partial unique index uq_treatment_session_planned
            ~select(TreatmentSession.id)
            .where(
                TreatmentSession.planned_session_id == PlannedSession.id,
                TreatmentSession.legacy_duplicate.is_(False),
            )
            .exists(),
        )
        .scalar_subquery()
    )
    row = db.execute(
        select(TreatmentPlan, planned, charted, next_day).where(
            TreatmentPlan.patient_id == patient_id, TreatmentPlan.status == PlanStatus.active
        )
    ).first()
    if row is None:
        return None
    return Course(row[0], int(row[1]), int(row[2]), row[3])


def next_booking(db: Session, clinic_id: int, patient_id: int, now: datetime) -> Booking | None:
    """The patient's next booking that still holds its chair (starts after ``now``)."""
    return db.execute(
        select(Booking)
        .where(
            Booking.clinic_id == clinic_id,
            Booking.patient_id == patient_id,
            Booking.starts_at >= now,
            Booking.status.in_((BookingStatus.booked, BookingStatus.checked_in)),
        )
        .order_by(Booking.starts_at)
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One scored assessment, as the chart uses it."""

    instrument_id: str
    total: int
    band: str | None
    band_set: str | None
    completed_at: datetime


def scores(db: Session, patient_id: int) -> tuple[list[ScoreRow], datetime | None]:
    """Every scored assessment of the patient, oldest first, and the first charted dose
    (one statement: the first dose rides along as a scalar subquery)."""
    first_dose = (
        select(func.min(TreatmentSession.dose_start))
        .where(TreatmentSession.patient_id == patient_id)
        .scalar_subquery()
    )
    rows = db.execute(
        select(
            Assessment.instrument_id,
            Assessment.total,
            Assessment.band,
            Assessment.band_set,
            Assessment.completed_at,
            first_dose,
        )
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .order_by(Assessment.completed_at, Assessment.id)
    ).all()
    out = [ScoreRow(r[0], int(r[1] or 0), r[2], r[3], r[4]) for r in rows]
    return out, (rows[0][5] if rows else None)


def open_alerts(db: Session, clinic_id: int, patient_id: int) -> list[Alert]:
    """The patient's open alerts: urgent ones before warnings, newest first."""
    return list(
        db.execute(
            select(Alert)
            .where(
                Alert.clinic_id == clinic_id,
                Alert.patient_id == patient_id,
                Alert.status == AlertStatus.open,
            )
            .order_by(
                case((Alert.level == "warning", 1), else_=0),
                Alert.created_at.desc(),
                Alert.id.desc(),
            )
        ).scalars()
    )


@dataclass(frozen=True, slots=True)
class LastSession:
    """The newest charted session, its peak dissociation and deepest sedation, its events."""

    session: TreatmentSession
    peak_cadss: int | None
    cadss_instrument: str | None
    lowest_moaas: int | None
    adverse: list[AdverseEvent]


def last_session(db: Session, patient_id: int) -> LastSession | None:
    """The patient's newest session (three statements: the session, its scale extremes,
    its adverse events), or None."""
    s = db.execute(
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient_id)
        .order_by(TreatmentSession.created_at.desc(), TreatmentSession.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if s is None:
        return None
    extremes = db.execute(
        select(ScaleScore.instrument_id, func.max(ScaleScore.total), func.min(ScaleScore.total))
        .where(
            ScaleScore.session_id == s.id,
            ScaleScore.instrument_id.in_(("cadss6", "cadss23", "moaas")),
        )
        .group_by(ScaleScore.instrument_id)
    ).all()
    peak: int | None = None
    cadss_id: str | None = None
    lowest: int | None = None
    for iid, hi, lo in extremes:
        if iid.startswith("cadss") and (peak is None or hi > peak):
            peak, cadss_id = int(hi), iid
        elif iid == "moaas":
            lowest = int(lo) if lowest is None else min(lowest, int(lo))
    adverse = list(
        db.execute(
            select(AdverseEvent)
            .where(AdverseEvent.session_id == s.id)
            .order_by(AdverseEvent.onset_at, AdverseEvent.id)
        ).scalars()
    )
    return LastSession(s, peak, cadss_id, lowest, adverse)
