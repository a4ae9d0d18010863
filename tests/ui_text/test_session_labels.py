"""The session page shows instrument names and timepoints as words ("CADSS-6", "pre-dose",
"PHQ-9"), not stored ids ("cadss6", "pre_dose", "phq9"); today's results are in clinic time
(issue 13 points 6 and 21)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic
from tests.conftest import login
from tests.sessions.support import CADSS6_ZERO, install_clock, setup


def test_session_page_uses_display_names(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    db.commit()
    install_clock(app)  # 2025-03-03 09:00 UTC = 04:00 EST
    nurse = w["nurse"]
    r = client.post(f"/api/v1/patients/{w['patient_id']}/sessions", json={}, headers=nurse)
    sid = r.json()["session"]["id"]
    body = {"instrument": "cadss6", "timepoint": "pre_dose", **CADSS6_ZERO}
    assert (
        client.post(f"/api/v1/sessions/{sid}/scales", json=body, headers=nurse).status_code == 201
    )
    phq9 = {"instrument": "phq9", "answers": [1] * 9, "completed_at": "2025-03-03T08:30:00Z"}
    url = f"/api/v1/patients/{w['patient_id']}/assessments"
    assert client.post(url, json=phq9, headers=w["clinician"]).status_code == 201, url
    login(client, w["nurse_email"])
    html = client.get(f"/sessions/{sid}").text
    scales = html[html.index('id="scales"') :]
    assert "CADSS-6" in scales and "pre-dose" in scales
    assert re.search(r"<td>cadss6</td>|<td>pre_dose</td>", html) is None
    assert "PHQ-9: total 9" in html and "at 03:30" in html  # 08:30 UTC in New York
