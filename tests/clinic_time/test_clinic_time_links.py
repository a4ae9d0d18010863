"""The questionnaire link message states its expiry in the clinic's time (issue 13 point 6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.jobs import link_message
from ketacare.settings import Settings
from tests.assessments.support import make_patient
from tests.conftest import make_clinic


def test_link_expiry_is_in_clinic_time(db: Session, settings: Settings) -> None:
    clinic = make_clinic(db)
    clinic.timezone = "America/New_York"
    patient = make_patient(db, clinic)
    due = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # 09:30 EDT
    out = outreach.new_link(db, settings, patient, "phq9", due, due)
    db.commit()
    assert out is not None and out.tz == "America/New_York"
    body = link_message(settings, out).body
    assert "until 2026-03-12 09:30 EDT" in body and "UTC" not in body
