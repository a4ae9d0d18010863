"""Patients: pages and API, clinic tenancy, validation, audit of every access."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from tests.conftest import api_token, count, csrf, login, make_clinic, make_user


def test_create_and_view_patient_page(client: TestClient, db: Session) -> None:
    nurse = make_user(db, make_clinic(db), Role.nurse)
    login(client, nurse.email)
    token = csrf(client, "/patients/new")
    bad = client.post(
        "/patients/new",
        data={
            "given_name": "",
            "family_name": "Lee",
            "birth_date": "2990-01-01",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "given_name" in bad.text and "must not be in the future" in bad.text
    assert 'value="Lee"' in bad.text
    assert count(db, Patient) == 0
    ok = client.post(
        "/patients/new",
        data={
            "given_name": "Ada",
            "family_name": "Lee",
            "birth_date": "1980-05-02",
            "sex": "female",
            "mrn": "A-1",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 303
    page = client.get(ok.headers["location"])
    assert page.status_code == 200 and "Lee, Ada" in page.text
    assert "Lee, Ada" in client.get("/patients?q=lee").text
    dup = client.post(
        "/patients/new",
        data={"given_name": "B", "family_name": "C", "mrn": "A-1", "csrf_token": token},
    )
    assert dup.status_code == 409 and "already used" in dup.text
    actions = set(db.execute(select(AuditEvent.action)).scalars())
    db.commit()
    assert {"create", "read", "list"} <= actions


def test_api_tenancy_and_validation(client: TestClient, db: Session) -> None:
    home, other = make_clinic(db), make_clinic(db, "other", "Other")
    mine = {"Authorization": f"Bearer {api_token(db, make_user(db, home, Role.clinician))}"}
    theirs = {"Authorization": f"Bearer {api_token(db, make_user(db, other, Role.admin))}"}
    r = client.post(
        "/api/v1/patients",
        json={"given_name": "Al", "family_name": "Bo", "birth_date": "1970-01-01", "sex": "male"},
        headers=mine,
    )
    assert r.status_code == 201
    pid = r.json()["id"]
    assert client.get(f"/api/v1/patients/{pid}", headers=mine).json()["family_name"] == "Bo"
    assert client.get(f"/api/v1/patients/{pid}", headers=theirs).status_code == 404
    assert client.get("/api/v1/patients", headers=theirs).json() == []
    bad = client.post(
        "/api/v1/patients",
        json={"given_name": "Al", "family_name": "Bo", "sex": "robot"},
        headers=mine,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "sex"
    assert client.get(f"/api/v1/patients/{pid}").status_code == 401


def test_patient_role_cannot_list_patients(client: TestClient, db: Session) -> None:
    patient_user = make_user(db, make_clinic(db), Role.patient)
    login(client, patient_user.email)
    assert client.get("/patients").status_code == 403
