"""Billing test helpers: a clinic with a billing profile, a payer, a covered patient with a
plan, and signed sessions charted on given days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role, User
from ketacare.features.billing.models import BillingProfile, Coverage, Payer
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.closing import amend
from ketacare.features.sessions.models import SessionStatus, TreatmentSession
from ketacare.features.sessions.schemas import SessionCreate
from ketacare.features.sessions.service import create_session
from tests.conftest import make_clinic, make_user
from tests.intake_app.intake_support import make_patient
from tests.sessions.support import make_plan

FIRST_DAY = date(2025, 3, 3)  # the plan's first planned session (twice weekly after)


@dataclass
class World:
    clinic: Clinic
    nurse: User
    clinician: User
    billing: User
    patient: Patient
    payer: Payer


def world(
    db: Session, drug: str = "esketamine", payer_policy: dict[str, object] | None = None
) -> World:
    """Clinic with profile and payer, staff, a covered patient with an active plan."""
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    billing = make_user(db, clinic, Role.billing)
    patient = make_patient(db, clinic)
    make_plan(db, clinician, patient, drug)
    db.add(BillingProfile(
        clinic_id=clinic.id, billing_name="Test Clinic", npi="1234567893", tax_id="123456789",
        address="1 Main St", city="Boston", state="MA", postal_code="021101234",
        phone="6175550100", submitter_id="KETACARE01", receiver_id="CLEARHOUSE",
        receiver_name="Clearing House", fees={"G2082": 90600, "G2083": 129000, "J0013": 1000},
    ))  # fmt: skip
    payer = Payer(clinic_id=clinic.id, name="Medicare", payer_id="12345",
                  policy=payer_policy or {})  # fmt: skip
    db.add(payer)
    db.flush()
    db.add(Coverage(
        clinic_id=clinic.id, patient_id=patient.id, payer_id=payer.id, member_id="W123456789",
        address="2 Elm St", city="Boston", state="MA", postal_code="02110",
    ))  # fmt: skip
    db.commit()
    return World(clinic, nurse, clinician, billing, patient, payer)


def signed(
    db: Session, w: World, day: date, dose: float = 56, sign: bool = True
) -> TreatmentSession:
    """A session charted on ``day`` with ``dose`` mg (signed unless ``sign`` is False)."""
    s = create_session(db, w.nurse, w.patient, SessionCreate(), today=day)
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=14)
    s.given_dose_mg = dose
    s.dose_start = start
    s.dose_end = start + timedelta(minutes=10)
    s.discharged_at = start + timedelta(minutes=125)
    s.status = SessionStatus.signed if sign else SessionStatus.discharged
    if sign:
        s.signed_at = s.discharged_at
        s.signed_by_id = w.nurse.id
    db.commit()
    return s


def amend_dose(db: Session, w: World, s: TreatmentSession, dose: float) -> None:
    """Amend the signed session's dose (the sessions package's own amendment)."""
    amend(db, s, w.clinician, "dose transcribed wrongly", {"given_dose_mg": dose},
          datetime.now(UTC))  # fmt: skip
    db.commit()
