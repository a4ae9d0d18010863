"""Shared helpers for the stored-intake tests: a complete example intake and a patient."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients import service as patients
from ketacare.features.patients.models import Patient
from tests.conftest import REPO, api_token, make_clinic, make_user

EXAMPLE: dict[str, Any] = json.loads(
    (REPO / "tests" / "intake" / "example_intake.json").read_text("utf-8")
)


def example(**changes: Any) -> dict[str, Any]:
    """A deep copy of the example intake with top-level sections replaced."""
    doc = copy.deepcopy(EXAMPLE)
    doc.update(changes)
    return doc


def make_patient(db: Session, clinic: Clinic, family: str = "Lee") -> Patient:
    """A patient of ``clinic`` (committed)."""
    data = patients.PatientInput("Ada", family, birth_date="1983-04-02", sex="female")
    patient = patients.create_patient(db, clinic.id, data)
    db.commit()
    return patient


def staff_headers(db: Session, clinic: Clinic, role: Role = Role.clinician) -> dict[str, str]:
    """Bearer headers for a new user of ``clinic``."""
    return {"Authorization": f"Bearer {api_token(db, make_user(db, clinic, role))}"}


def setup(db: Session) -> tuple[Clinic, User, Patient, dict[str, str]]:
    """Clinic, clinician, patient and the clinician's API headers."""
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic)
    headers = {"Authorization": f"Bearer {api_token(db, user)}"}
    return clinic, user, patient, headers
