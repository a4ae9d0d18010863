"""Consent on SQLite and PostgreSQL: template versions, signing with a drawn signature, the
countersignature, the session gate, re-consent after a new version, revocation as a new
document, verification (a changed byte fails) and every read audited."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.consent import service
from ketacare.features.consent.models import ConsentDocument
from ketacare.features.intake.models import PlanStatus, TreatmentPlan
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.conftest import api_token, count, make_user
from tests.fhir.fhir_support import validate_both
from tests.sessions.support import install_clock, setup

ESK = {
    "key": "esketamine",
    "title": "Consent to esketamine treatment",
    "body": "Esketamine is given under the SPRAVATO REMS.\nYou are observed for two hours.",
    "routes": "esketamine",
    "countersign": True,
}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Consent required for sessions."""
    return settings.model_copy(update={"consent_required": True})


def signature_png() -> str:
    """A drawn signature as base64 PNG."""
    img = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(img).line([(10, 80), (80, 20), (150, 70), (290, 30)], fill="black", width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def world(db: Session) -> dict[str, Any]:
    w = setup(db)
    admin = make_user(db, w["clinic"], Role.admin)
    w["admin"] = {"Authorization": f"Bearer {api_token(db, admin)}"}
    db.commit()
    return w


def sign(client: TestClient, w: dict[str, Any], template_id: int, **extra: Any) -> Any:
    body = {
        "template_id": template_id,
        "typed_name": "Pat Ient",
        "attested": True,
        "signature_png_base64": signature_png(),
    } | extra
    return client.post(
        f"/api/v1/patients/{w['patient_id']}/consents", json=body, headers=w["nurse"]
    )


def start(client: TestClient, w: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={"lot": "L1"}, headers=w["nurse"]
    )


def test_sign_countersign_unblocks_the_session_and_reconsent_blocks_again(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app)
    r = start(client, w)
    assert r.status_code == 409 and "consent.template" in r.json()["detail"][0]["reason"]
    assert client.post("/api/v1/consent/templates", json=ESK, headers=w["nurse"]).status_code == 403
    r = client.post("/api/v1/consent/templates", json=ESK, headers=w["admin"])
    assert r.status_code == 201 and r.json()["version"] == 1
    tid = r.json()["id"]
    # Refusals name the field; nothing is stored.
    assert sign(client, w, tid, attested=False).json()["detail"][0]["field"] == "attested"
    bad = base64.b64encode(b"GIF89a....").decode()
    assert (
        sign(client, w, tid, signature_png_base64=bad).json()["detail"][0]["field"] == "signature"
    )
    assert count(db, ConsentDocument) == 0
    r = sign(client, w, tid)
    assert r.status_code == 201, r.text
    doc = r.json()
    r = start(client, w)
    assert r.status_code == 409 and "countersignature" in r.json()["detail"][0]["reason"]
    r = client.post(f"/api/v1/consent-documents/{doc['id']}/countersign", headers=w["clinician"])
    assert r.status_code == 201, r.text
    counter = r.json()
    assert counter["kind"] == "countersigned" and counter["supersedes_id"] == doc["id"]
    again = client.post(
        f"/api/v1/consent-documents/{doc['id']}/countersign", headers=w["clinician"]
    )
    assert again.status_code == 409
    assert start(client, w).status_code == 201
    assert count(db, TreatmentSession) == 1
    # A new version flags the patient for re-consent.
    r = client.post(
        "/api/v1/consent/templates", json=ESK | {"body": "New text."}, headers=w["admin"]
    )
    assert r.json()["version"] == 2
    due = client.get("/api/v1/consent/reconsent", headers=w["nurse"]).json()
    assert due == [
        {
            "patient_id": w["patient_id"],
            "patient_name": due[0]["patient_name"],
            "key": "esketamine",
            "signed_version": 1,
            "current_version": 2,
            "why": "newer template version",
        }
    ]
    states = client.get(f"/api/v1/patients/{w['patient_id']}/consents", headers=w["nurse"]).json()
    assert states["states"][0]["state"] == "reconsent"
    # Signing the old version is refused.
    assert sign(client, w, tid).json()["detail"][0]["field"] == "template"


def test_a_protocol_change_after_signing_asks_for_reconsent(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """Issue 19.5: same consent text, but the active plan now follows another protocol
    version than the one the patient consented to."""
    w = world(db)
    install_clock(app)
    tid = client.post("/api/v1/consent/templates", json=ESK, headers=w["admin"]).json()["id"]
    doc = sign(client, w, tid).json()
    client.post(f"/api/v1/consent-documents/{doc['id']}/countersign", headers=w["clinician"])
    assert start(client, w).status_code == 201
    plan = db.scalars(
        select(TreatmentPlan).where(TreatmentPlan.patient_id == w["patient_id"])
    ).one()
    replacement = TreatmentPlan(
        clinic_id=plan.clinic_id, patient_id=plan.patient_id, intake_id=plan.intake_id,
        protocol_id=plan.protocol_id, protocol_version=plan.protocol_version + ".1",
        protocol_title=plan.protocol_title, drug=plan.drug, route=plan.route,
        start_date=plan.start_date, weekdays=plan.weekdays,
        created_at=plan.created_at + timedelta(minutes=5),
    )  # fmt: skip
    plan.status = PlanStatus.superseded
    db.flush()
    db.add(replacement)
    db.commit()
    install_clock(app, replacement.created_at + timedelta(minutes=1))
    states = client.get(f"/api/v1/patients/{w['patient_id']}/consents", headers=w["nurse"]).json()
    assert states["states"][0]["state"] == "reconsent"
    assert "protocol changed" in states["states"][0]["why"]
    due = client.get("/api/v1/consent/reconsent", headers=w["nurse"]).json()
    assert [d["signed_version"] for d in due] == [1] and "protocol" in due[0]["why"]
    patient = db.get(Patient, w["patient_id"])
    assert patient is not None
    reasons = service.session_reasons(db, patient, "esketamine")
    assert [r.rule_id for r in reasons] == ["consent.protocol_changed"]
    # Configurable [U]: off, the old consent still covers the plan.
    assert service.session_reasons(db, patient, "esketamine", protocol_check=False) == []
    db.commit()
    # Signing again (the same template version) covers the new plan.
    doc = sign(client, w, tid).json()
    client.post(f"/api/v1/consent-documents/{doc['id']}/countersign", headers=w["clinician"])
    states = client.get(f"/api/v1/patients/{w['patient_id']}/consents", headers=w["nurse"]).json()
    assert states["states"][0]["state"] == "valid"


def test_revocation_is_a_new_document_and_verification_detects_a_changed_byte(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app)
    tid = client.post(
        "/api/v1/consent/templates", json=ESK | {"countersign": False}, headers=w["admin"]
    ).json()["id"]
    doc = sign(client, w, tid).json()
    r = client.get(f"/api/v1/consent-documents/{doc['id']}.pdf", headers=w["nurse"])
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["x-content-sha256"] == doc["pdf_sha256"]
    verify = f"/api/v1/consent-documents/{doc['id']}/verify"
    assert client.get(verify, headers=w["nurse"]).json()["verified"] is True
    events = list(
        db.execute(
            select(AuditEvent.action, AuditEvent.resource).where(
                AuditEvent.resource_id == doc["pdf_sha256"]
            )
        ).all()
    )
    db.commit()
    assert ("create", "consent_document_signed") in events  # the hash is in the audit chain
    assert ("read", "consent_document") in events  # the PDF download
    stored = db.execute(
        select(ConsentDocument.pdf).where(ConsentDocument.id == doc["id"])
    ).scalar_one()
    changed = stored[:100] + bytes([stored[100] ^ 1]) + stored[101:]
    db.execute(update(ConsentDocument).where(ConsentDocument.id == doc["id"]).values(pdf=changed))
    db.commit()
    assert client.get(verify, headers=w["nurse"]).json()["verified"] is False
    r = client.post(
        f"/api/v1/consent-documents/{doc['id']}/revocation",
        json={"reason": "patient changed their mind"},
        headers=w["nurse"],
    )
    assert r.status_code == 201 and r.json()["kind"] == "revoked"
    states = client.get(f"/api/v1/patients/{w['patient_id']}/consents", headers=w["nurse"]).json()
    assert states["states"][0]["state"] == "revoked"
    assert [d["kind"] for d in states["documents"]] == ["revoked", "signed"]
    assert "consent.valid" in start(client, w).json()["detail"][0]["reason"]
    # The FHIR export carries both documents and the (now inactive) Consent.
    bundle, _ = export_bundle(db, w["clinic_id"], "https://k.example/fhir", w["patient_id"])
    db.commit()
    found = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]
    }
    assert found[("DocumentReference", f"consent-doc-{doc['id']}")]["status"] == "superseded"
    consent = next(v for (t, _), v in found.items() if t == "Consent")
    assert consent["status"] == "inactive"
    validate_both(consent)


def test_other_clinics_documents_are_not_found(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    from tests.conftest import make_clinic

    w = world(db)
    install_clock(app)
    tid = client.post("/api/v1/consent/templates", json=ESK, headers=w["admin"]).json()["id"]
    doc = sign(client, w, tid).json()
    other = make_user(db, make_clinic(db, "other", "Other"), Role.clinician)
    headers = {"Authorization": f"Bearer {api_token(db, other)}"}
    assert (
        client.get(f"/api/v1/consent-documents/{doc['id']}.pdf", headers=headers).status_code == 404
    )
    r = client.post(f"/api/v1/consent-documents/{doc['id']}/countersign", headers=headers)
    assert r.status_code == 404


def test_reconsent_list_reads_in_a_fixed_number_of_statements(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """The re-consent list ran three statements per consented patient; now a fixed number."""
    from sqlalchemy import event

    from tests.intake_app.intake_support import make_patient
    from tests.sessions.support import make_plan

    w = world(db)
    install_clock(app)
    tid = client.post("/api/v1/consent/templates", json=ESK, headers=w["admin"]).json()["id"]
    clinician = w["clinician_user"]
    counts = []
    for n in range(3):
        if n:
            patient = make_patient(db, w["clinic"], family=f"Other{n}")
            make_plan(db, clinician, patient, "esketamine")
            db.commit()
            w["patient_id"] = patient.id
        assert sign(client, w, tid).status_code == 201
        seen: list[object] = []

        def tally(*args: object, seen: list[object] = seen) -> None:
            seen.append(args[2])

        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", tally)
        try:
            service.reconsent_due(db, w["clinic_id"])
        finally:
            event.remove(engine, "before_cursor_execute", tally)
        db.rollback()
        counts.append(len(seen))
    assert len(set(counts)) == 1, counts
