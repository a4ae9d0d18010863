"""A second patient with the same name and birth date and no record number is not created
silently: the page warns, names the existing record and lets staff confirm; the API answers
409 unless ``confirm_duplicate`` (issue 13 point 20)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from tests.conftest import api_token, count, csrf, login, make_clinic, make_user

ADA = {"given_name": "Ada", "family_name": "Quill", "birth_date": "1980-02-03", "sex": "female"}


def test_page_warns_and_confirms_a_possible_duplicate(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    login(client, make_user(db, clinic, Role.nurse).email)
    token = csrf(client, "/patients/new")
    assert client.post("/patients/new", data=ADA | {"csrf_token": token}).status_code == 303
    again = ADA | {"given_name": "ada", "family_name": "QUILL", "csrf_token": token}
    r = client.post("/patients/new", data=again)
    assert r.status_code == 409 and 'id="duplicate-warning"' in r.text
    assert "already exists" in r.text and 'name="confirm_duplicate"' in r.text
    assert 'value="QUILL"' in r.text  # the typed values are kept
    assert count(db, Patient) == 1
    # A record number tells them apart; or staff confirm it is a different person.
    assert client.post("/patients/new", data=again | {"mrn": "R-2"}).status_code == 303
    r = client.post("/patients/new", data=again | {"confirm_duplicate": "yes"})
    assert r.status_code == 303 and count(db, Patient) == 3


def test_api_answers_409_unless_confirmed(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    other = make_clinic(db, "other", "Other")
    headers = {"Authorization": f"Bearer {api_token(db, make_user(db, clinic))}"}
    elsewhere = {"Authorization": f"Bearer {api_token(db, make_user(db, other))}"}
    assert client.post("/api/v1/patients", json=ADA, headers=headers).status_code == 201
    assert client.post("/api/v1/patients", json=ADA, headers=elsewhere).status_code == 201
    r = client.post("/api/v1/patients", json=ADA, headers=headers)
    assert r.status_code == 409 and "confirm_duplicate" in r.text
    r = client.post("/api/v1/patients", json=ADA | {"confirm_duplicate": True}, headers=headers)
    assert r.status_code == 201 and count(db, Patient) == 3
