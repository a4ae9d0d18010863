"""The REMS gate on a real esketamine session start (SQLite and PostgreSQL): refused with every
reason and nothing stored, opened once registry, enrolment and prescriber are in place; the PMF
PDF in its revision, submission with hash and confirmation, the dashboard and verification."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.rems.models import PmfSubmission, RemsSessionCover
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.conftest import api_token, count, make_user, scalar
from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, T0, install_clock, iso, setup
from tests.sessions.test_sessions_api import REMS_TYPED

SETTING = {
    "name": "Main Street Clinic",
    "address": "1 Clinic Way",
    "certified": True,
    "certified_on": "2025-03-03",
    "authorised_representative": "Ada Rep",
    "acquisition_route": "distributor",
    "pulse_oximeter": True,
}
ENROLMENT = {
    "enrolled_on": "2025-03-03",
    "patient_signed": True,
    "prescriber_signed": True,
    "prescriber_name": "Dr Pia Prescriber",
}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The gate on, and a file-drop fax."""
    return settings.model_copy(
        update={
            "rems_gate_enforced": True,
            "rems_fax_dir": str(tmp_path / "fax"),
            "rems_fax_number": "+1 555 0199",
            "rems_enrolment_by_hand": True,  # the API records paper enrolments here
        }
    )


def world(db: Session) -> dict[str, Any]:
    w = setup(db)
    admin = make_user(db, w["clinic"], Role.admin)
    w["admin"] = {"Authorization": f"Bearer {api_token(db, admin)}"}
    db.commit()
    return w


def start(client: TestClient, w: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={"lot": "L123"}, headers=w["nurse"]
    )


def ready(client: TestClient, w: dict[str, Any]) -> None:
    """Registry, enrolment and a prescriber on site from T0 to T0 + 8 h."""
    r = client.put("/api/v1/rems/setting", json=SETTING, headers=w["admin"])
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/rems-enrolment", json=ENROLMENT, headers=w["clinician"]
    )
    assert r.status_code == 201, r.text
    body = {"prescriber_name": "Dr Pia Prescriber", "starts_at": iso(), "ends_at": iso(hours=8)}
    r = client.post("/api/v1/rems/prescriber-attestations", json=body, headers=w["nurse"])
    assert r.status_code == 201, r.text


def test_gate_refuses_with_every_reason_and_stores_nothing(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app)
    r = start(client, w)
    assert r.status_code == 409, r.text
    reason = r.json()["detail"][0]["reason"]
    assert r.json()["detail"][0]["field"] == "rems"
    for rule in ("rems.setting.registered", "rems.patient.enrolled", "rems.prescriber.on_site"):
        assert rule in reason
    assert count(db, TreatmentSession) == 0
    status = client.get(
        f"/api/v1/patients/{w['patient_id']}/rems-enrolment", headers=w["nurse"]
    ).json()
    assert status["esketamine_session_allowed"] is False
    assert [x["rule_id"] for x in status["reasons"]] == [
        "rems.setting.registered",
        "rems.patient.enrolled",
        "rems.prescriber.on_site",
    ]


def test_each_requirement_at_its_edge_then_the_session_opens(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    clock = install_clock(app)
    # Only admins register the setting; an uncertified setting is refused.
    assert client.put("/api/v1/rems/setting", json=SETTING, headers=w["nurse"]).status_code == 403
    uncertified = SETTING | {"certified": False, "certified_on": None}
    assert (
        client.put("/api/v1/rems/setting", json=uncertified, headers=w["admin"]).status_code == 200
    )
    assert "rems.setting.certified" in start(client, w).json()["detail"][0]["reason"]
    # Certified from tomorrow: still refused today; enrolment needs both signatures.
    tomorrow = SETTING | {"certified_on": "2025-03-04"}
    client.put("/api/v1/rems/setting", json=tomorrow, headers=w["admin"])
    assert "certified from 2025-03-04" in start(client, w).json()["detail"][0]["reason"]
    base = f"/api/v1/patients/{w['patient_id']}/rems-enrolment"
    unsigned = ENROLMENT | {"prescriber_signed": False}
    r = client.post(base, json=unsigned, headers=w["clinician"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "prescriber_signed"
    assert client.post(base, json=ENROLMENT, headers=w["nurse"]).status_code == 403
    ready(client, w)
    # The attestation is half-open: it covers its start, not its end.
    clock.set(hours=8)
    assert "rems.prescriber.on_site" in start(client, w).json()["detail"][0]["reason"]
    clock.set(hours=8, seconds=-1)
    r = start(client, w)
    assert r.status_code == 201, r.text
    sid = r.json()["session"]["id"]
    cover = scalar(
        db, select(RemsSessionCover.prescriber_name).where(RemsSessionCover.session_id == sid)
    )
    assert cover == "Dr Pia Prescriber"


def test_withdrawal_is_a_new_record_and_blocks_again(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app)
    ready(client, w)
    base = f"/api/v1/patients/{w['patient_id']}/rems-enrolment"
    r = client.post(f"{base}/withdrawal", json={"note": "moved away"}, headers=w["clinician"])
    assert r.status_code == 201, r.text
    assert [h["kind"] for h in r.json()["history"]] == ["enrolled", "withdrawn"]
    assert r.json()["enrolled"] is False
    assert "rems.patient.enrolled" in start(client, w).json()["detail"][0]["reason"]


def test_bad_input_names_the_field(client: TestClient, app: FastAPI, db: Session) -> None:
    w = world(db)
    install_clock(app)
    bad = SETTING | {"certified_on": "9999-12-31"}
    r = client.put("/api/v1/rems/setting", json=bad, headers=w["admin"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "certified_on"
    body = {"prescriber_name": "Dr P", "starts_at": iso(), "ends_at": iso(hours=25)}
    r = client.post("/api/v1/rems/prescriber-attestations", json=body, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "ends_at"
    r = client.put(
        "/api/v1/rems/setting", json=SETTING | {"acquisition_route": "mail"}, headers=w["admin"]
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "acquisition_route"


def signed_session(client: TestClient, app: FastAPI, w: dict[str, Any]) -> int:
    """An esketamine session through the gate, charted, discharged and signed."""
    clock = install_clock(app)
    ready(client, w)
    r = start(client, w)
    assert r.status_code == 201, r.text
    sid = int(r.json()["session"]["id"])
    base, nurse = f"/api/v1/sessions/{sid}", w["nurse"]
    assert client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse).status_code == 200
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "pre_dose", **extra}
        assert client.post(f"{base}/scales", json=body, headers=nurse).status_code == 201
    assert client.post(f"{base}/dose", json={"given_dose_mg": 56}, headers=nurse).status_code == 200
    clock.set(minutes=40)
    client.post(
        f"{base}/vitals", json={"systolic": 140, "diastolic": 88, "spo2": 97}, headers=nurse
    )
    clock.set(minutes=110)
    client.post(
        f"{base}/vitals", json={"systolic": 132, "diastolic": 82, "spo2": 98}, headers=nurse
    )
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "discharge", **extra}
        assert client.post(f"{base}/scales", json=body, headers=nurse).status_code == 201
    assert client.post(f"{base}/discharge-approval", headers=w["clinician"]).status_code == 200
    clock.set(minutes=125)
    assert client.post(f"{base}/discharge", headers=nurse).status_code == 200
    assert client.put(f"{base}/rems", json={"fields": REMS_TYPED}, headers=nurse).status_code == 200
    r = client.post(f"{base}/sign", headers=nurse)
    assert r.json()["session"]["status"] == "signed", r.text
    return sid


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pmf.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_pmf_pdf_submission_dashboard_and_verification(
    client: TestClient, app: FastAPI, db: Session, tmp_path: Path, settings: Settings
) -> None:
    w = world(db)
    sid = signed_session(client, app, w)
    nurse = w["nurse"]
    r = client.get(f"/api/v1/sessions/{sid}/pmf.pdf", headers=nurse)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["x-pmf-revision"] == "2024-12"  # session of 2025-03-03
    assert r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    text = pdf_text(r.content, tmp_path)
    order = ["Patient information", "Concomitant medicines", "Monitoring healthcare provider",
             "Healthcare setting", "Treatment", "Vital signs"]  # fmt: skip
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    for value in ("L123", "56 mg", "Dr Pia Prescriber", "132/82", "Opioids", "2025-03-03"):
        assert value in text, value
    board = client.get("/api/v1/rems/dashboard", headers=nurse).json()
    assert board["counts"] == {"overdue": 0, "due": 1, "submitted": 0}
    assert board["forms"][0]["deadline"] == "2025-03-10"

    base = f"/api/v1/sessions/{sid}/pmf-submission"
    r = client.post(base, json={"channel": "portal"}, headers=nurse)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "confirmation"
    r = client.post(base, json={"channel": "portal", "confirmation": "RX-42"}, headers=nurse)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["confirmation"] == "RX-42" and sub["verified"] is True
    assert sub["submitted_by"] == w["nurse_email"] and sub["revision"] == "2024-12"
    assert client.post(base, json={"channel": "fax"}, headers=nurse).status_code == 409
    board = client.get("/api/v1/rems/dashboard", headers=nurse).json()
    assert board["counts"] == {"overdue": 0, "due": 0, "submitted": 1}
    inpatient = SETTING | {"setting_type": "inpatient"}
    assert client.put("/api/v1/rems/setting", json=inpatient, headers=w["admin"]).status_code == 200
    board = client.get("/api/v1/rems/dashboard", headers=nurse).json()
    assert board["inpatient"] is True and board["forms"] == []
    # The hash is in the audit chain; a changed byte of the stored PDF fails verification.
    hashes = {
        e.resource_id
        for e in db.execute(
            select(AuditEvent).where(AuditEvent.resource == "rems_pmf_submission")
        ).scalars()
    }
    db.commit()
    assert sub["pdf_sha256"] in hashes
    stored = scalar(db, select(PmfSubmission.pdf).where(PmfSubmission.session_id == sid))
    changed = stored[:-20] + bytes([stored[-20] ^ 1]) + stored[-19:]
    db.execute(update(PmfSubmission).where(PmfSubmission.session_id == sid).values(pdf=changed))
    db.commit()
    assert client.get(base, headers=nurse).json()["verified"] is False


def test_overdue_after_seven_days_and_fax_file_drop(
    client: TestClient, app: FastAPI, db: Session, settings: Settings
) -> None:
    w = world(db)
    sid = signed_session(client, app, w)
    clock = install_clock(app)
    clock.set(days=7, hours=14, minutes=59)  # 23:59 UTC on 2025-03-10: last day
    assert client.get("/api/v1/rems/dashboard", headers=w["nurse"]).json()["counts"]["due"] == 1
    clock.set(days=7, hours=15)  # 2025-03-11 00:00 UTC
    board = client.get("/api/v1/rems/dashboard", headers=w["nurse"]).json()
    assert board["counts"]["overdue"] == 1 and board["forms"][0]["status"] == "overdue"
    r = client.post(
        f"/api/v1/sessions/{sid}/pmf-submission", json={"channel": "fax"}, headers=w["nurse"]
    )
    assert r.status_code == 201, r.text
    drop = Path(settings.rems_fax_dir)
    pdf = (drop / f"pmf-session-{sid}.pdf").read_bytes()
    assert r.json()["confirmation"] == "filedrop-" + hashlib.sha256(pdf).hexdigest()[:12]
    assert r.json()["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert '"+1 555 0199"' in (drop / f"pmf-session-{sid}.json").read_text()


def test_old_sessions_use_the_2021_revision(client: TestClient, app: FastAPI, db: Session) -> None:
    w = world(db)
    sid = signed_session(client, app, w)
    db.execute(
        update(TreatmentSession)
        .where(TreatmentSession.id == sid)
        .values(dose_start=T0.replace(year=2024, month=6))
    )
    db.commit()
    r = client.get(f"/api/v1/sessions/{sid}/pmf.pdf", headers=w["nurse"])
    assert r.headers["x-pmf-revision"] == "2021-11"
