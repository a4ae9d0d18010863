"""The patient progress report: trajectory, sessions and doses, outcome, notes (read only).

The outcome uses the same analytics core as the clinic figures, on this patient alone, so a
patient counted as a responder in the clinic report reads "response" here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.analytics import Definitions, analyse_outcomes, resolve_definitions
from ketacare.domain.analytics.definitions import AnalyticsConfig
from ketacare.domain.instruments import get_instrument
from ketacare.features.assessments.models import Assessment
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.charts.trajectory import Point, trajectory_svg
from ketacare.features.intake.models import IntakeRecord, TreatmentPlan
from ketacare.features.intake.plans import current_plan
from ketacare.features.intake.service import current_intake
from ketacare.features.patients.models import Patient
from ketacare.features.reports.service import load_cohort
from ketacare.features.sessions.models import TreatmentSession

__all__ = ["Outcome", "PatientReport", "SessionLine", "patient_report", "trajectory"]


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One charted session as the report lists it."""

    number: int
    when: datetime | None
    route: str
    product: str
    planned_dose_mg: float | None
    given_dose_mg: float | None
    status: str
    notes: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The patient's classification under the clinic definitions."""

    classification: str
    baseline: float | None
    baseline_date: date | None
    end_of_induction: float | None
    end_of_induction_day: float | None
    change: float | None
    response_day: float | None
    remission_day: float | None
    relapse_day: float | None
    induction_completed: bool


@dataclass(frozen=True, slots=True)
class PatientReport:
    """Everything the HTML and PDF patient reports show."""

    patient: Patient
    instrument_id: str
    instrument_name: str
    intake: IntakeRecord | None
    plan: TreatmentPlan | None
    sessions: tuple[SessionLine, ...]
    scores: tuple[tuple[datetime, int, str], ...]  # completed_at, total, band
    outcome: Outcome | None
    notes: tuple[str, ...]
    definitions: Definitions
    day0: datetime | None

    @property
    def synthetic(self) -> bool:
        """Is this a generated (synthetic) record?"""
        return bool(self.patient.synthetic)


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _classify(
    cfg: AnalyticsConfig, instrument: str, base: float | None, eoi: float | None, ok: bool
) -> str:
    if not ok or base is None:
        return "Not classifiable: no baseline assessment at or before the first session"
    if eoi is None:
        return "No end-of-induction assessment yet"
    cut = cfg.outcome.remission.get(instrument)
    if cut is not None and eoi <= cut:
        return "Remission at the end of induction"
    if (base - eoi) / base >= cfg.outcome.response_reduction:
        return "Response at the end of induction"
    return "No response at the end of induction"


def patient_report(db: Session, patient: Patient, instrument: str = "phq9") -> PatientReport:
    """The report of one patient of the caller's clinic (the caller checked access)."""
    inst = get_instrument(instrument)
    rows = db.execute(
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient.id)
        .order_by(TreatmentSession.dose_start, TreatmentSession.created_at, TreatmentSession.id)
    ).scalars()
    lines = tuple(
        SessionLine(
            i,
            s.dose_start or s.created_at,
            s.route,
            s.product,
            s.planned_dose_mg,
            s.given_dose_mg,
            s.status.value,
            s.notes,
        )
        for i, s in enumerate(rows, start=1)
    )
    scored = db.execute(
        select(Assessment)
        .where(
            Assessment.patient_id == patient.id,
            Assessment.instrument_id == inst.id,
            Assessment.total.is_not(None),
        )
        .order_by(Assessment.completed_at, Assessment.id)
    ).scalars()
    scores = tuple((a.completed_at, int(a.total or 0), a.band or "") for a in scored)
    intake = current_intake(db, patient.id)
    notes = [f"Intake: {intake.comment}"] if intake is not None and intake.comment else []
    notes += [f"Session {s.number}: {s.notes}" for s in lines if s.notes.strip()]
    cfg = AnalyticsConfig()
    cohort = load_cohort(db, patient.clinic_id, inst.id, patient_id=patient.id)
    outcome = None
    day0 = None
    if cohort.n_treated:
        per = analyse_outcomes(cohort.assessments, cohort.sessions, config=cfg).patients
        first: datetime = per.first_session[0].item()
        day0 = first
        base, eoi = _num(per.baseline_total[0]), _num(per.eoi_total[0])
        outcome = Outcome(
            classification=_classify(cfg, inst.id, base, eoi, bool(per.analysable[0])),
            baseline=base,
            baseline_date=None
            if math.isnan(per.baseline_day[0])
            else (first + timedelta(days=float(per.baseline_day[0]))).date(),
            end_of_induction=eoi,
            end_of_induction_day=_num(per.eoi_day[0]),
            change=None if eoi is None or base is None else eoi - base,
            response_day=_num(per.response_day[0]),
            remission_day=_num(per.remission_day[0]),
            relapse_day=_num(per.relapse_day[0]),
            induction_completed=bool(per.induction_completed[0]),
        )
    return PatientReport(
        patient,
        inst.id,
        inst.short_name,
        intake,
        current_plan(db, patient.id),
        lines,
        scores,
        outcome,
        tuple(notes),
        resolve_definitions(inst.id, cfg),
        day0,
    )


def patient_progress(
    db: Session, actor: Actor, patient: Patient, action: str = "read"
) -> PatientReport:
    """:func:`patient_report`, audited (``read`` for the page, ``export`` for a PDF)."""
    report = patient_report(db, patient)
    record(db, actor, action, "patient_report", patient.id, patient.id)
    return report


def trajectory(report: PatientReport, tz: str = "UTC") -> Markup | None:
    """The trajectory chart (inline SVG, session times in zone ``tz``), or None without scores.

    The same chart as the patient's assessments page: totals over the severity bands, dosed
    sessions marked, and the response line at 50% of the baseline.
    """
    if not report.scores:
        return None
    inst = get_instrument(report.instrument_id)
    bands = inst.band_sets[inst.default_band_set].bands if inst.default_band_set else ()
    top = max(total for _, total, _ in report.scores)
    value_range = inst.range if inst.range is not None else (0, max(top, 1))
    points = [Point(when, total, band) for when, total, band in report.scores]
    sessions = [s.when for s in report.sessions if s.when is not None and s.given_dose_mg]
    base = report.outcome.baseline if report.outcome else None
    title = f"{report.instrument_name} trajectory"
    return trajectory_svg(title, points, bands, value_range, sessions, tz=tz, baseline=base)
