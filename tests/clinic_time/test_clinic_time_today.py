"""The Today page's "today" is the clinic's local day (issue 13 point 6)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlannedSession
from ketacare.features.sessions.models import TreatmentSession
from tests.conftest import login, scalar
from tests.sessions.support import install_clock, setup


def test_today_is_the_clinic_day(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    db.commit()
    # 23:30 EST on Sunday 1 November 2026 (after the clocks went back) is 04:30 UTC Monday.
    install_clock(app, datetime(2026, 11, 2, 4, 30, tzinfo=UTC))
    # the plan starts in 2025: chart its first planned session by choice (issue 13.18)
    first = scalar(db, select(func.min(PlannedSession.id)))
    body = {"planned_session_id": first}
    r = client.post(f"/api/v1/patients/{w['patient_id']}/sessions", json=body, headers=w["nurse"])
    assert r.status_code == 201, r.text
    sid = r.json()["session"]["id"]
    s = db.get(TreatmentSession, sid)
    assert s is not None
    s.created_at = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # 18:00 EST the same local day
    db.commit()
    login(client, w["nurse_email"])
    page = client.get("/today").text
    assert f"/sessions/{sid}" in page
