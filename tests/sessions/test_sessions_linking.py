"""Which planned session a new session charts (issue 13.18), reading times typed as local
clock times (13.16), and the session page's wording (13.21)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.sessions.models import VitalSign
from tests.conftest import login
from tests.sessions.support import T0, install_clock, setup


def test_a_session_links_by_date_or_by_choice_and_says_which(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db, "iv")
    clock = install_clock(app)
    url = f"/api/v1/patients/{w['patient_id']}/sessions"
    plan = client.get(f"/api/v1/patients/{w['patient_id']}/plan", headers=w["nurse"]).json()
    first, second = plan["sessions"][0], plan["sessions"][1]
    assert first["day"] == "2025-03-03" and second["day"] == "2025-03-05"

    # ten days before the course: nothing is within the window, nothing is linked silently
    clock.now = T0 - timedelta(days=10)
    r = client.post(url, json={}, headers=w["nurse"])
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert (
        detail["field"] == "planned_session_id" and "#1 planned for 2025-03-03" in detail["reason"]
    )

    # on the day: linked by date
    clock.now = T0
    r = client.post(url, json={}, headers=w["nurse"])
    assert r.status_code == 201
    s = r.json()["session"]
    assert s["planned_session_id"] == first["id"]

    login(client, w["nurse_email"])
    page = client.get(f"/sessions/{s['id']}")
    assert "linked automatically" in page.text and "2025-03-03" in page.text
    assert "started by " + w["nurse_email"] in page.text and "· nurse " not in page.text


def test_chosen_planned_session_is_recorded_as_chosen(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db, "iv")
    install_clock(app)
    plan = client.get(f"/api/v1/patients/{w['patient_id']}/plan", headers=w["nurse"]).json()
    third = plan["sessions"][2]
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions",
        json={"planned_session_id": third["id"]},
        headers=w["nurse"],
    )
    assert r.status_code == 201
    login(client, w["nurse_email"])
    page = client.get(f"/sessions/{r.json()['session']['id']}")
    assert f"Planned session #{third['number']} of {third['day']}" in page.text
    assert "chosen when the session was started" in page.text


def test_a_reading_time_is_typed_as_local_clock_time(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db, "iv")
    clock = install_clock(app)
    clock.now = T0 + timedelta(hours=1)  # 10:00 UTC
    login(client, w["nurse_email"])
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/patients/{w['patient_id']}/sessions", data={"csrf_token": token})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    data = {"csrf_token": token, "heart_rate": "70", "at_local": "09:20"}
    assert client.post(f"/sessions/{sid}/vitals", data=data).status_code == 303
    at = db.execute(select(VitalSign.at)).scalar_one()
    db.commit()
    assert at == T0 + timedelta(minutes=20)
    later = {"csrf_token": token, "heart_rate": "70", "at_local": "11:30"}
    r = client.post(f"/sessions/{sid}/vitals", data=later)
    assert r.status_code == 422 and "must not be in the future" in r.text
    bad = {"csrf_token": token, "heart_rate": "70", "at_local": "25:00"}
    r = client.post(f"/sessions/{sid}/vitals", data=bad)
    assert r.status_code == 422 and "at_local" in r.text


def test_second_open_session_on_the_page_and_the_decided_bp(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """13.2 on the page: a nurse gets 409 naming the open session; a clinician sees the reason
    field. 13.21: once a clinician decided on the BP, the nurse's page no longer asks."""
    w = setup(db, "iv")
    install_clock(app)
    login(client, w["nurse_email"])
    token = client.cookies.get("kc_csrf") or ""
    url = f"/patients/{w['patient_id']}/sessions"
    r = client.post(url, data={"csrf_token": token})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(url)
    assert 'id="open-session-warning"' in page.text and 'name="concurrent_reason"' not in page.text
    r = client.post(url, data={"csrf_token": token, "lot": "L2"})
    assert r.status_code == 409 and f"session #{sid} of this patient is still open" in r.text
    assert 'value="L2"' in r.text  # the typed lot is kept

    clinician = TestClient(app, follow_redirects=False)
    login(clinician, w["clinician_email"])
    assert 'name="concurrent_reason"' in clinician.get(url).text

    checklist = {"systolic": 150, "diastolic": 95}
    base = f"/api/v1/sessions/{sid}"
    assert client.put(f"{base}/checklist", json=checklist, headers=w["nurse"]).status_code == 200
    assert "A clinician must record the decision" in client.get(f"/sessions/{sid}").text
    decision = {"decision": "proceed", "reason": "benefit"}
    r = client.post(f"{base}/bp-decision", json=decision, headers=w["clinician"])
    assert r.status_code == 200
    text = client.get(f"/sessions/{sid}").text
    assert "A clinician must record the decision" not in text and 'id="bp-decided"' in text


def test_late_charted_pre_dose_vitals_keep_their_measured_time(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """13.16: the checklist takes the time the pre-dose vitals were measured; a dose may not
    start before the pre-dose reading."""
    w = setup(db, "iv")
    clock = install_clock(app)
    clock.now = T0 + timedelta(minutes=50)  # charting at 09:50
    login(client, w["nurse_email"])
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/patients/{w['patient_id']}/sessions", data={"csrf_token": token})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    form = {"csrf_token": token, "systolic": "120", "diastolic": "80", "heart_rate": "70",
            "spo2": "98", "pregnancy_test": "negative", "transport_arranged": "on",
            "assessments_reviewed": "on", "measured_at_local": "09:05"}  # fmt: skip
    assert client.post(f"/sessions/{sid}/checklist", data=form).status_code == 303
    at = db.execute(select(VitalSign.at).where(VitalSign.pre_dose.is_(True))).scalar_one()
    db.commit()
    assert at == T0 + timedelta(minutes=5)
    early = {"csrf_token": token, "given_dose_mg": "35", "dose_start_min_ago": "50"}  # 09:00
    r = client.post(f"/sessions/{sid}/dose", data=early)
    assert r.status_code == 422 and "dose_start" in r.text and "pre-dose reading" in r.text
    ok = {"csrf_token": token, "given_dose_mg": "35", "dose_start_min_ago": "40"}  # 09:10
    assert client.post(f"/sessions/{sid}/dose", data=ok).status_code == 303
