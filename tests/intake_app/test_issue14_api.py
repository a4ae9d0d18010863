"""Issue 14 on the API (SQLite and PostgreSQL): a plan never reshapes a protocol phase."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.intake.models import PlannedSession, TreatmentPlan
from tests.conftest import count
from tests.intake_app.intake_support import example, setup


def test_esketamine_plan_on_one_weekday_is_422_naming_weekdays(
    client: TestClient, db: Session
) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    client.put(f"{base}/intake", json=example(), headers=headers)
    body = {"protocol_id": "esketamine-trd", "start_date": "2025-03-03", "weekdays": ["mon"]}
    r = client.post(f"{base}/plan", json=body, headers=headers)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "weekdays"
    assert "mon" in detail["reason"] and "2 sessions a week" in detail["reason"]
    assert count(db, TreatmentPlan) == 0 and count(db, PlannedSession) == 0
    ok = client.post(f"{base}/plan", json={**body, "weekdays": ["mon", "thu"]}, headers=headers)
    assert ok.status_code == 201, ok.text


def test_stale_bp_makes_the_assessment_incomplete_naming_the_date(
    client: TestClient, db: Session, app: FastAPI
) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    old_bp = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "measured_on": "2019-05-02"}
    r = client.put(f"{base}/intake", json=example(blood_pressure=old_bp), headers=headers)
    assert r.status_code == 200, r.text
    esk = client.get(f"{base}/assessment", headers=headers).json()["eligibility"]["esketamine"]
    assert esk["status"] == "incomplete"  # before: eligible
    assert esk["missing_fields"] == ["blood_pressure.measured_on"]
    assert "2019-05-02" in esk["missing"][0]["text"]
    page = client.get(f"/patients/{patient.id}/assessment", headers=headers)
    assert page.status_code in (200, 303)
    # The clinic setting KETACARE_INTAKE_BP_MAX_AGE_DAYS widens the window.
    app.state.settings = app.state.settings.model_copy(update={"intake_bp_max_age_days": 3000})
    esk = client.get(f"{base}/assessment", headers=headers).json()["eligibility"]["esketamine"]
    assert esk["status"] == "eligible"
