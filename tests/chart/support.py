"""A patient with a full record for the chart tests: plan, sessions, scores, alerts, REMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Alert, Assessment, Source
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlannedSession
from ketacare.features.patients.models import Patient
from ketacare.features.rems.models import RemsEnrolment
from ketacare.features.sessions.models import (
    AdverseEvent,
    ScaleScore,
    SessionStatus,
    TreatmentSession,
)
from tests.conftest import make_user
from tests.intake_app.intake_support import make_patient
from tests.sessions.support import make_plan

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
#: PHQ-9 totals before and during the course: baseline 20 on the first dose's morning.
PHQ9 = [22, 20, 17, 15, 12, 10, 9, 8, 8, 7, 6, 6]


def _band(total: int) -> str:
    for code, top in (("none", 4), ("mild", 9), ("moderate", 14), ("moderately_severe", 19)):
        if total <= top:
            return code
    return "severe"


def full_patient(db: Session, clinic: Clinic, sessions: int, family: str = "Lee") -> Patient:
    """A patient (born 1983-04-02) with an intake, an active plan, ``sessions`` signed
    sessions (each with CADSS-6 and MOAA/S ratings and one adverse event), a PHQ-9 before
    each session, two open alerts and a REMS enrolment; committed."""
    patient = make_patient(db, clinic, family)
    clinician = make_user(db, clinic, Role.clinician)
    plan_id = make_plan(db, clinician, patient)
    planned = list(
        db.execute(
            select(PlannedSession).where(PlannedSession.plan_id == plan_id)
            .order_by(PlannedSession.number)
        ).scalars()
    )  # fmt: skip
    last = planned[-1]
    for n in range(len(planned) + 1, sessions + 1):
        extra = PlannedSession(
            plan_id=plan_id, number=n, day=last.day + timedelta(days=7 * (n - last.number)),
            phase=last.phase, planned_dose_mg=last.planned_dose_mg, dose_label=last.dose_label,
            route=last.route,
        )  # fmt: skip
        db.add(extra)
        planned.append(extra)
    db.flush()
    for i in range(sessions):
        at = START + timedelta(days=3 * i)
        s = TreatmentSession(
            clinic_id=clinic.id, patient_id=patient.id, plan_id=plan_id,
            planned_session_id=planned[i].id, route="esketamine", planned_dose_mg=56,
            given_dose_mg=56 if i < sessions - 1 else 84, devices=3, dose_start=at,
            dose_end=at + timedelta(minutes=10), discharged_at=at + timedelta(hours=2),
            status=SessionStatus.signed, created_at=at,
        )  # fmt: skip
        db.add(s)
        db.flush()
        for minute, cadss, moaas in ((40, 3 + i % 4, 4), (90, 1, 5)):
            t = at + timedelta(minutes=minute)
            db.add(
                ScaleScore(
                    session_id=s.id,
                    instrument_id="cadss6",
                    instrument_version="1",
                    timepoint=str(minute),
                    at=t,
                    answers={},
                    total=cadss,
                )
            )
            db.add(ScaleScore(session_id=s.id, instrument_id="moaas", instrument_version="1",
                              timepoint=str(minute), at=t, answers={}, total=moaas))  # fmt: skip
        db.add(AdverseEvent(session_id=s.id, term="nausea", severity="mild", onset_at=at))
    scores = [PHQ9[i % len(PHQ9)] if i < len(PHQ9) else 6 for i in range(max(sessions, 2))]
    assessments = []
    for i, total in enumerate(scores):
        a = Assessment(
            clinic_id=clinic.id, patient_id=patient.id, instrument_id="phq9",
            instrument_version="1.0.0", answers={}, total=total, band=_band(total),
            completed_at=START + timedelta(days=3 * i - 1), source=Source.clinician,
        )  # fmt: skip
        db.add(a)
        assessments.append(a)
    db.flush()
    for level, reason in (("urgent", "PHQ-9 item 9 answered above zero"), ("warning", "Worse")):
        db.add(Alert(clinic_id=clinic.id, patient_id=patient.id,
                     assessment_id=assessments[-1].id, rule_id="test", level=level,
                     reason=reason, created_at=START))  # fmt: skip
    db.add(RemsEnrolment(clinic_id=clinic.id, patient_id=patient.id,
                         enrolled_on=START.date(), rems_patient_id="R-77"))  # fmt: skip
    db.commit()
    return patient


def session_count(db: Session, patient_id: int) -> int:
    """How many sessions the patient has (ends the read transaction)."""
    n = db.execute(
        select(func.count()).where(TreatmentSession.patient_id == patient_id)
    ).scalar_one()
    db.commit()
    return int(n)
