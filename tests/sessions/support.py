"""Shared helpers for the session tests: a patient with an active plan, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake import plans, service
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.rems_forms import ensure_form
from ketacare.features.sessions.schemas import SessionCreate
from ketacare.features.sessions.service import create_session
from tests.conftest import api_token, make_clinic, make_user
from tests.intake_app.intake_support import example, make_patient

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PROTOCOLS = {"esketamine": "esketamine-trd", "iv": "iv-ketamine-induction"}


class Clock:
    """A settable clock for ``app.state.clock``."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, **delta: float) -> datetime:
        """Move to T0 + delta."""
        self.now = T0 + timedelta(**delta)
        return self.now


def install_clock(app: FastAPI, now: datetime = T0) -> Clock:
    """Put a settable clock on the app."""
    clock = Clock(now)
    app.state.clock = clock
    return clock


def make_plan(db: Session, user: User, patient: Patient, drug: str = "esketamine") -> int:
    """An intake and an active plan for ``patient`` (committed); returns the plan id."""
    service.save_intake(db, user, patient, example(), "")
    plan = plans.create_plan(db, user, patient, plans.PlanInput(PROTOCOLS[drug], "2025-03-03"))
    db.commit()
    return plan.id


def make_session(
    db: Session, clinic: Clinic, patient: Patient, drug: str = "esketamine"
) -> TreatmentSession:
    """A charted session (and the plan it needs), committed."""
    user = make_user(db, clinic, Role.nurse)
    make_plan(db, user, patient, drug)
    s = create_session(db, user, patient, SessionCreate(), today=T0.date())
    ensure_form(db, s)
    db.commit()
    return s


def setup(db: Session, drug: str = "esketamine") -> dict[str, Any]:
    """Clinic, nurse and clinician with API headers, patient with an active plan."""
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic)
    make_plan(db, clinician, patient, drug)
    out = {
        "clinic": clinic,
        "patient_id": patient.id,
        "nurse": {"Authorization": f"Bearer {api_token(db, nurse)}"},
        "clinician": {"Authorization": f"Bearer {api_token(db, clinician)}"},
        "nurse_user": nurse,
        "clinician_user": clinician,
        "nurse_email": nurse.email,
        "clinician_email": clinician.email,
        "clinic_id": clinic.id,
    }
    db.commit()  # end the read transaction the attribute loads opened (SQLite write lock)
    return out


def email_of(db: Session, user: User) -> str:
    """The user's email, ending the read transaction."""
    email = user.email
    db.commit()
    return email


def iso(**delta: float) -> str:
    """T0 + delta as ISO 8601."""
    return (T0 + timedelta(**delta)).isoformat()


CHECKLIST_OK = {
    "systolic": 130,
    "diastolic": 80,
    "heart_rate": 72,
    "spo2": 98,
    "last_food_at": iso(hours=-3),
    "last_liquid_at": iso(hours=-1),
    "pregnancy_test": "negative",
    "transport_arranged": True,
    "assessments_reviewed": True,
    "rems_enrolled": True,
}
CADSS6_ZERO = {"answers": dict.fromkeys(("1", "2", "6", "7", "15", "22"), 0)}
