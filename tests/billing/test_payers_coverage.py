"""Payers and coverage over HTTP on both databases (issue 20): the billing user adds and edits a
payer and a patient's coverage (member id, plan, subscriber, address, dates) through the API and
the pages; clinicians read and are refused writes; bad input is a 4xx naming the field and
writes nothing; every read of coverage is audited with the patient."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.billing.models import Coverage, Payer
from ketacare.features.patients.models import Patient
from tests.billing.support import world
from tests.conftest import api_token, login

COVER: dict[str, Any] = {
    "member_id": "XK9-000111",
    "plan_name": "Choice Plus PPO",
    "group_number": "G-77",
    "subscriber_relationship": "spouse",
    "subscriber_name": "Sam Ient",
    "subscriber_birth_date": "1970-05-06",
    "address": "2 Elm St",
    "city": "Boston",
    "state": "MA",
    "postal_code": "02110-1234",
    "start_date": "2025-01-01",
    "end_date": "2025-12-31",
    "primary": True,
}


def rows(db: Session, model: type[Any]) -> int:
    n = db.scalar(select(func.count()).select_from(model)) or 0
    db.commit()
    return n


def field(r: Any) -> str:
    return str(r.json()["detail"][0]["field"])


def test_payer_and_coverage_api(app: FastAPI, db: Session) -> None:
    w = world(db)
    pid = w.patient.id
    billing = {"Authorization": f"Bearer {api_token(db, w.billing)}"}
    clinician = {"Authorization": f"Bearer {api_token(db, w.clinician)}"}
    with TestClient(app) as c:
        body = {"name": "Aetna", "payer_id": "60054", "bills_drug_separately": True,
                "modifiers": {"J0013": ["JZ"]}}  # fmt: skip
        assert c.post("/api/v1/billing/payers", json=body, headers=clinician).status_code == 403
        r = c.post("/api/v1/billing/payers", json={**body, "place_of_service": "1"},
                   headers=billing)  # fmt: skip
        assert r.status_code == 422 and field(r) == "place_of_service"
        r = c.post("/api/v1/billing/payers", json={**body, "modifiers": {"ZZ99": ["JZ"]}},
                   headers=billing)  # fmt: skip
        assert r.status_code == 422 and field(r) == "modifiers"
        assert rows(db, Payer) == 1
        r = c.post("/api/v1/billing/payers", json=body, headers=billing)
        assert r.status_code == 201, r.text
        aetna = r.json()["id"]
        assert r.json()["policy"]["modifiers"] == {"J0013": ["JZ"]}
        r = c.post("/api/v1/billing/payers", json=body, headers=billing)
        assert r.status_code == 409 and field(r) == "name"
        r = c.put(f"/api/v1/billing/payers/{aetna}", json={**body, "name": "Medicare"},
                  headers=billing)  # fmt: skip
        assert r.status_code == 409 and field(r) == "name"
        r = c.put(f"/api/v1/billing/payers/{aetna}", json={**body, "name": "Aetna PPO"},
                  headers=billing)  # fmt: skip
        assert r.status_code == 200 and r.json()["name"] == "Aetna PPO"
        names = [p["name"] for p in c.get("/api/v1/billing/payers", headers=clinician).json()]
        assert names == ["Aetna PPO", "Medicare"]

        base = f"/api/v1/billing/patients/{pid}/coverages"
        cover = {**COVER, "payer_id": aetna}
        assert c.post(base, json=cover, headers=clinician).status_code == 403
        for bad, name in (
            ({"subscriber_name": ""}, "subscriber_name"),
            ({"postal_code": "0211"}, "postal_code"),
            ({"state": "M1"}, "state"),
            ({"end_date": "2024-12-31"}, "end_date"),
            ({"member_id": ""}, "member_id"),
            ({"subscriber_relationship": "cousin"}, "subscriber_relationship"),
            ({"payer_id": 999999}, "payer_id"),
            ({"payer_id": 2_147_483_648}, "payer_id"),  # past PostgreSQL's integer: was a 500
        ):
            r = c.post(base, json={**cover, **bad}, headers=billing)
            assert r.status_code in (404, 422) and field(r) == name, (bad, r.text)
        assert rows(db, Coverage) == 1
        r = c.post(base, json=cover, headers=billing)
        assert r.status_code == 201, r.text
        got = r.json()
        assert got["postal_code"] == "021101234" and got["subscriber_name"] == "Sam Ient"
        # The new primary coverage makes the Medicare one secondary.
        listed = c.get(base, headers=clinician).json()
        assert [(x["payer_id"], x["primary"]) for x in listed] == [
            (aetna, True), (w.payer.id, False)
        ]  # fmt: skip
        r = c.post(base, json=cover, headers=billing)
        assert r.status_code == 409 and field(r) == "payer_id"
        # An edit to the patient's own: the subscriber becomes the patient (the name is dropped).
        r = c.put(f"{base}/{got['id']}", json={**cover, "subscriber_relationship": "self"},
                  headers=billing)  # fmt: skip
        assert r.status_code == 200 and r.json()["subscriber_name"] == ""
        # Another patient's path with this coverage: 404.
        other = Patient(clinic_id=w.clinic.id, given_name="Ot", family_name="Her")
        db.add(other)
        db.commit()
        r = c.put(f"/api/v1/billing/patients/{other.id}/coverages/{got['id']}",
                  json=cover, headers=billing)  # fmt: skip
        assert r.status_code == 404
    reads = db.scalars(
        select(AuditEvent).where(
            AuditEvent.resource == "billing_coverage", AuditEvent.action == "read"
        )
    ).all()
    assert len(reads) == 1 and reads[0].patient_id == pid
    db.commit()


def post(c: TestClient, url: str, data: dict[str, str]) -> Any:
    return c.post(url, data={"csrf_token": c.cookies.get("kc_csrf") or "", **data})


def test_payer_and_coverage_pages(app: FastAPI, db: Session) -> None:
    w = world(db)
    pid = w.patient.id
    billing_email, clinician_email, payer_id = w.billing.email, w.clinician.email, w.payer.id
    cover_id = db.scalar(select(Coverage.id))
    db.commit()
    with TestClient(app, follow_redirects=False) as c:
        login(c, clinician_email)
        page = c.get("/billing/payers")
        assert page.status_code == 200 and "Medicare" in page.text
        assert 'id="payer-form"' not in page.text  # clinicians read
        assert post(c, "/billing/payers", {"name": "X", "payer_id": "1"}).status_code == 403
        assert c.get(f"/billing/patients/{pid}/coverage").status_code == 200
    with TestClient(app, follow_redirects=False) as c:
        login(c, billing_email)
        r = post(c, "/billing/payers", {"name": "Cigna", "payer_id": "62308",
                                        "place_of_service": "x1"})  # fmt: skip
        assert r.status_code == 422 and "place_of_service" in r.text
        assert 'value="Cigna"' in r.text  # the form keeps what was typed
        r = post(c, "/billing/payers", {"name": "Cigna", "payer_id": "62308",
                                        "place_of_service": "11", "uses_g_codes": "on",
                                        "modifiers": "J0013=JZ"})  # fmt: skip
        assert r.status_code == 303
        r = post(c, f"/billing/payers/{payer_id}", {"name": "Medicare", "payer_id": "12345",
                                                    "place_of_service": "11",
                                                    "modifiers": "J0013"})  # fmt: skip
        assert r.status_code == 422 and "modifiers" in r.text
        url = f"/billing/patients/{pid}/coverage/{cover_id}"
        form = {"payer_id": str(payer_id), "member_id": "W123456789", "state": "Mass",
                "subscriber_relationship": "self", "primary": "on"}  # fmt: skip
        r = post(c, url, form)
        assert r.status_code == 422 and "state" in r.text
        stored = db.get(Coverage, cover_id)
        assert stored is not None and stored.state == "MA"  # untouched
        db.commit()
        r = post(c, url, {**form, "state": "ny", "plan_name": "Part B"})
        assert r.status_code == 303
        text = c.get(f"/billing/patients/{pid}/coverage").text
        assert "Part B" in text and " NY " in text
    db.expire_all()
    stored = db.get(Coverage, cover_id)
    assert stored is not None and stored.state == "NY" and stored.updated_at is not None
    db.commit()
