"""The 409 refusing a second open session names the open one's start in clinic time
(issue 13 points 2 and 6), on the page and in the API."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic
from ketacare.features.sessions.models import TreatmentSession
from tests.conftest import csrf, login
from tests.sessions.support import T0, install_clock, setup


def test_second_session_refusal_names_the_start_in_clinic_time(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    db.commit()
    install_clock(app, T0)
    url = f"/api/v1/patients/{w['patient_id']}/sessions"
    sid = client.post(url, json={}, headers=w["nurse"]).json()["session"]["id"]
    s = db.get(TreatmentSession, sid)
    assert s is not None
    s.created_at = datetime(2025, 3, 3, 14, 5, tzinfo=UTC)  # 09:05 EST
    db.commit()
    r = client.post(url, json={}, headers=w["nurse"])
    assert r.status_code == 409
    assert "2025-03-03 09:05 EST" in r.text and "14:05" not in r.text
    login(client, w["nurse_email"])
    page_url = f"/patients/{w['patient_id']}/sessions"
    r = client.post(page_url, data={"csrf_token": csrf(client, page_url)})
    assert r.status_code == 409
    assert f"session #{sid} of this patient is still open" in r.text
    assert "2025-03-03 09:05 EST" in r.text and "14:05" not in r.text
