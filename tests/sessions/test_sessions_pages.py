"""The session pages on SQLite and PostgreSQL: starting a session, steps posted as forms
(with the CSRF header as fetch() sends it), refusals shown with field names and nothing stored,
tenancy and roles, audited reads, and the Today page (notifications, REMS forms due)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.sessions.models import AdverseEvent, TreatmentSession, VitalSign
from tests.conftest import count, login, make_clinic, make_user, scalar
from tests.sessions.support import email_of, install_clock, setup


def test_nurse_pages_flow(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    install_clock(app)
    login(client, w["nurse_email"])
    pid = w["patient_id"]
    page = client.get(f"/patients/{pid}")
    assert 'id="link-sessions"' in page.text
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/patients/{pid}/sessions", data={"csrf_token": token, "lot": "A1"})
    assert r.status_code == 303
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.get(f"/sessions/{sid}")
    assert r.status_code == 200 and 'id="predose-unmet"' in r.text
    assert '<script src="/static/sessions.js"' in r.text and "<svg" in r.text
    assert 'style="' not in r.text  # CSP: no style attributes (chart included)

    # a bad value: 422 page naming the field, nothing stored
    r = client.post(
        f"/sessions/{sid}/vitals",
        data={"systolic": "500", "diastolic": "80"},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 422 and "systolic" in r.text and 'id="form-errors"' in r.text
    assert count(db, VitalSign) == 0
    r = client.post(f"/sessions/{sid}/vitals", data={"heart_rate": "70", "csrf_token": token})
    assert r.status_code == 303 and count(db, VitalSign) == 1
    r = client.post(f"/sessions/{sid}/dose", data={"given_dose_mg": "56", "csrf_token": token})
    assert r.status_code == 422 and "checklist" in r.text
    r = client.post(f"/sessions/{sid}/vitals", data={"heart_rate": "70"})  # no CSRF token
    assert r.status_code == 403 and count(db, VitalSign) == 1

    # a serious event reaches the clinician's Today page
    r = client.post(
        f"/sessions/{sid}/adverse-events",
        data={
            "csrf_token": token,
            "term": "respiratory_depression",
            "severity": "severe",
            "serious": "on",
            "action": "airway support",
            "outcome": "resolved",
        },
    )
    assert r.status_code == 303 and count(db, AdverseEvent) == 1
    clinician = TestClient(app, follow_redirects=False)
    login(clinician, w["clinician_email"])
    today = clinician.get("/today")
    assert today.status_code == 200 and "respiratory depression (severe)" in today.text
    assert f"/sessions/{sid}" in today.text
    reads = scalar(
        db,
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.resource == "treatment_session",
            AuditEvent.action == "read",
            AuditEvent.channel == "page",
        ),
    )
    assert reads >= 5


def test_page_tenancy_and_roles(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    install_clock(app)
    other = make_clinic(db, "other", "Other")
    outsider = make_user(db, other, Role.admin)
    login(client, w["nurse_email"])
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/patients/{w['patient_id']}/sessions", data={"csrf_token": token})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    c2 = TestClient(app, follow_redirects=False)
    login(c2, email_of(db, outsider))
    assert c2.get(f"/sessions/{sid}").status_code == 404
    assert c2.get(f"/sessions/{2**31}").status_code == 422
    c3 = TestClient(app, follow_redirects=False)
    login(c3, email_of(db, make_user(db, w["clinic"], Role.patient)))
    assert c3.get(f"/sessions/{sid}").status_code == 403
    assert c3.get("/today").status_code == 403
    r = client.post(f"/sessions/{sid}/discharge-approval", data={"csrf_token": token})
    assert r.status_code == 403  # a nurse may not sign the clinician's part
    assert count(db, TreatmentSession) == 1
