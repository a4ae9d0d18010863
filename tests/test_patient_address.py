"""The patient's postal address (optional; printed in the controlled-substance log, 21 CFR
1304.22(c)): new-patient form and API, the chart's address form and PUT, checks naming the
part, nothing written on a refusal, every change audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.patients import service
from ketacare.features.patients.models import Patient
from tests.conftest import api_token, csrf, login, make_clinic, make_user


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", "XX"),
        ("state", "T"),
        ("postal_code", "3720"),
        ("postal_code", "37201-12"),
        ("postal_code", "ABCDE"),
        ("address_line", "x" * 201),
        ("city", "y" * 101),
        ("city", "Nash\x01ville"),
    ],
)
def test_each_part_is_checked(field: str, value: str) -> None:
    _, problems = service.validate_address(**{"address_line": "", "city": "", "state": "",
                                              "postal_code": "", field: value})  # fmt: skip
    assert field in problems


def test_parts_are_trimmed_and_optional() -> None:
    address, problems = service.validate_address("  12  Elm St ", " Nashville", "tn", "37201-1234")
    assert problems == {}
    assert (address.address_line, address.city, address.state, address.postal_code) == (
        "12 Elm St",
        "Nashville",
        "TN",
        "37201-1234",
    )
    assert service.validate_address("", "", "", "") == (service.Address(), {})


def test_api_creates_and_changes_the_address(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    headers = {"Authorization": f"Bearer {api_token(db, make_user(db, clinic, Role.nurse))}"}
    db.commit()
    body = {"given_name": "Ada", "family_name": "Lee", "address_line": "12 Elm St",
            "city": "Nashville", "state": "TN", "postal_code": "37201"}  # fmt: skip
    r = client.post("/api/v1/patients", json=body, headers=headers)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["postal_code"] == "37201"
    bad = client.post("/api/v1/patients", json={**body, "state": "ZZ"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "state"
    r = client.put(f"/api/v1/patients/{pid}/address", headers=headers,
                   json={"address_line": "3 Oak Ave", "city": "Memphis", "state": "tn",
                         "postal_code": "38103"})  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "TN"
    r = client.put(f"/api/v1/patients/{pid}/address", headers=headers,
                   json={"address_line": "9 Nowhere", "postal_code": "1"})  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "postal_code"
    r = client.put(f"/api/v1/patients/{pid}/address", headers=headers, json={"zip": "1"})
    assert r.status_code == 422
    db.expire_all()
    p = db.get(Patient, pid)
    assert p is not None and p.address == "3 Oak Ave, Memphis, TN 38103"  # refusal wrote nothing
    updates = db.execute(
        select(AuditEvent.resource_id).where(AuditEvent.action == "update",
                                             AuditEvent.resource == "patient")
    ).scalars().all()  # fmt: skip
    assert updates == [f"{pid}:address"]
    db.commit()


def test_chart_form_changes_the_address(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    patient = service.create_patient(db, clinic.id, service.PatientInput("Ada", "Lee"))
    pid, email = patient.id, nurse.email
    db.commit()
    login(client, email)
    token = csrf(client, f"/patients/{pid}")
    page = client.get(f"/patients/{pid}")
    assert 'id="patient-address">—' in page.text
    bad = client.post(f"/patients/{pid}/address", data={
        "csrf_token": token, "address_line": "12 Elm St", "state": "QQ"})  # fmt: skip
    assert bad.status_code == 422 and "two-letter US state code" in bad.text
    assert 'value="12 Elm St"' in bad.text  # what was typed is kept
    ok = client.post(f"/patients/{pid}/address", data={
        "csrf_token": token, "address_line": "12 Elm St", "city": "Nashville", "state": "TN",
        "postal_code": "37201"})  # fmt: skip
    assert ok.status_code == 303
    page = client.get(f"/patients/{pid}")
    assert "12 Elm St, Nashville, TN 37201" in page.text
