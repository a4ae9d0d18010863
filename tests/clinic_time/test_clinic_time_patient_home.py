"""The patient's landing page (/me) shows its due questionnaires in clinic time (issue 13.6)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth.models import Role
from ketacare.features.outreach.models import Invitation
from ketacare.features.patients.models import Patient
from tests.conftest import login, make_clinic, make_user

NY = "America/New_York"


def test_patient_home_shows_due_links_in_clinic_time(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    clinic.timezone = NY
    account = make_user(db, clinic, Role.patient, email="robin@example.org")
    patient = Patient(clinic_id=clinic.id, given_name="Robin", family_name="Example")
    patient.email = account.email
    db.add(patient)
    db.flush()
    due = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    expires = due + timedelta(hours=72)
    db.add(
        Invitation(
            clinic_id=clinic.id,
            patient_id=patient.id,
            instrument_id="phq9",
            token_hash="e" * 64,
            due_at=due,
            expires_at=expires,
        )
    )
    email = account.email
    db.commit()
    login(client, email)
    page = client.get("/me").text
    zone = ZoneInfo(NY)
    assert f"due {due.astimezone(zone):%Y-%m-%d %H:%M}" in page
    assert f"open until {expires.astimezone(zone):%Y-%m-%d %H:%M}" in page
    assert f"{due:%Y-%m-%d %H:%M} UTC" not in page
