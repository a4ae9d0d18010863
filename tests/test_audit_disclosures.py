"""Issue 15.7: every disclosure of patient (or prospective patient) data is in the audit log.

Lead reads and status changes and screening reads have events; list and search reads name
every patient they returned; the admin page finds a list event by any patient in it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.outreach import service as outreach
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.assessments.support import PHQ9_ITEM9_2
from tests.conftest import api_token, login, make_clinic, make_user


def _events(db: Session, resource: str) -> list[AuditEvent]:
    rows = list(
        db.execute(
            select(AuditEvent).where(AuditEvent.resource == resource).order_by(AuditEvent.seq)
        ).scalars()
    )
    db.commit()
    return rows


def test_lead_and_screening_reads_and_status_changes_are_audited(
    client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    email = nurse.email
    headers = {"Authorization": f"Bearer {api_token(db, nurse)}"}
    sid = client.post("/api/v1/screenings", json={"phq9": [1] * 9, "gad7": [1] * 7}).json()["id"]
    body = {"name": "Ana", "email": "ana@example.org", "consent": True, "screening_id": sid}
    lid = client.post("/api/v1/leads", json=body).json()["id"]
    assert client.get(f"/api/v1/screenings/{sid}", headers=headers).status_code == 200
    assert client.get("/api/v1/leads", headers=headers).status_code == 200
    assert client.get(f"/api/v1/leads/{lid}", headers=headers).status_code == 200
    login(client, email)
    assert client.get("/leads").status_code == 200
    assert client.get(f"/leads/{lid}").status_code == 200
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(
        f"/leads/{lid}/status", data={"status": "contacted", "note": "", "csrf_token": token}
    )
    assert r.status_code == 303
    screening = _events(db, "screening")
    assert [(e.action, e.resource_id, e.actor_email) for e in screening] == [("read", sid, email)]
    leads = [(e.action, e.resource_id, e.channel) for e in _events(db, "lead")]
    assert leads == [
        ("list", str(lid), "api"),
        ("read", str(lid), "api"),
        ("list", str(lid), "page"),
        ("read", str(lid), "page"),
        ("update", str(lid), "page"),
    ]


def test_lists_and_searches_name_every_patient_returned(
    client: TestClient, db: Session, settings: Settings
) -> None:
    clinic = make_clinic(db)
    clinician = make_user(db, clinic, Role.clinician)
    admin = make_user(db, clinic, Role.admin)
    email, admin_email = clinician.email, admin.email
    headers = {"Authorization": f"Bearer {api_token(db, clinician)}"}
    ids = []
    for name in ("A", "B", "C"):
        r = client.post(
            "/api/v1/patients", json={"given_name": name, "family_name": "Q"}, headers=headers
        )
        ids.append(r.json()["id"])
    for pid in ids[:2]:
        r = client.post(
            f"/api/v1/patients/{pid}/assessments",
            json={"instrument": "phq9", "answers": PHQ9_ITEM9_2},
            headers=headers,
        )
        assert r.status_code == 201
    all_three = "," + ",".join(map(str, sorted(ids))) + ","
    two = "," + ",".join(map(str, sorted(ids[:2]))) + ","
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    assert client.get("/fhir/Observation", headers=headers).status_code == 200
    assert client.get("/fhir/QuestionnaireResponse", headers=headers).status_code == 200
    patient = db.get(Patient, ids[2])
    assert patient is not None
    now = utcnow()
    outreach.new_link(db, settings, patient, "phq9", now - timedelta(days=1), now)  # overdue
    db.commit()
    login(client, email)
    assert client.get("/patients").status_code == 200
    assert client.get("/alerts").status_code == 200
    assert client.get("/overdue").status_code == 200
    assert client.get("/today").status_code == 200
    assert [e.patients for e in _events(db, "overdue")] == [f",{ids[2]},"]
    assert [e.resource_id for e in _events(db, "treatment_session")] == ["today"]
    assert [e.patients for e in _events(db, "patient") if e.action == "list"] == [all_three] * 2
    assert [e.patients for e in _events(db, "alert") if e.action == "list"] == [two] * 2
    assert [e.patients for e in _events(db, "fhir.Observation")] == [two]
    assert [e.patients for e in _events(db, "fhir.QuestionnaireResponse")] == [two]
    # The admin's filter by patient finds the list events that disclosed that patient.
    client.cookies.clear()
    login(client, admin_email)
    page = client.get(f"/admin/audit?patient={ids[2]}")
    assert page.status_code == 200 and page.text.count("3 patients:") == 2
