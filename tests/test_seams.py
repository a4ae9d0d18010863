"""Issue 16.2: one actor, one audit call, one clock, for patients, FHIR and reports."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.patients import service
from tests.conftest import api_token, make_clinic, make_user


def test_patient_api_takes_the_request_clock(app: FastAPI, client: TestClient, db: Session) -> None:
    """The birth-date check uses NowDep: with the clock in 2020, a 2021 birth is refused."""
    token = api_token(db, make_user(db, make_clinic(db), Role.clinician))
    auth = {"Authorization": f"Bearer {token}"}
    body = {"given_name": "Ada", "family_name": "Lee", "birth_date": "2021-06-01"}
    app.state.clock = lambda: datetime(2020, 1, 1, 12, tzinfo=UTC)
    early = client.post("/api/v1/patients", json=body, headers=auth)
    assert early.status_code == 422 and early.json()["detail"][0]["field"] == "birth_date"
    app.state.clock = lambda: datetime(2030, 1, 1, 12, tzinfo=UTC)
    later = client.post("/api/v1/patients", json=body, headers=auth)
    assert later.status_code == 201


def test_services_audit_with_the_actor_they_are_given(db: Session) -> None:
    """A service called from the CLI records the operating-system user, channel cli."""
    clinic = make_clinic(db)
    actor = Actor.cli(clinic.id)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    patient = service.add_patient(db, actor, service.PatientInput("Ada", "Lee"), now)
    assert service.find_patients(db, actor, "lee") == [patient]
    db.commit()
    events = db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.resource, e.channel) for e in events] == [
        ("create", "patient", "cli"),
        ("list", "patient", "cli"),
    ]
    assert all(e.actor_email == actor.name and e.clinic_id == clinic.id for e in events)
    assert events[1].patients == f",{patient.id},"


def test_fhir_reads_are_audited_on_the_fhir_channel(client: TestClient, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    token = api_token(db, user)
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/patients", json={"given_name": "Ada", "family_name": "Lee"}, headers=auth
    )
    pid = created.json()["id"]
    assert client.get(f"/fhir/Patient/{pid}", headers=auth).status_code == 200
    found = client.get(f"/fhir/Observation?patient=Patient/{pid}", headers=auth)
    assert found.status_code == 200
    events = db.execute(
        select(AuditEvent).where(AuditEvent.channel == "fhir").order_by(AuditEvent.seq)
    ).scalars()
    assert [(e.action, e.resource, e.patient_id, e.actor_id) for e in events] == [
        ("read", "fhir.Patient", pid, user.id),
        ("search", "fhir.Observation", pid, user.id),
    ]
