"""The session API on SQLite and PostgreSQL: a full esketamine session, refusals naming fields
with nothing stored, tenancy, roles, read-only after signing, amendments as versions, audit
rows, serious-event notifications and the REMS exports (CSV parsed, PDF rendered)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.sessions.rems import PMF_FIELDS
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.sessions.models import (
    AdverseEvent,
    SessionAmendment,
    SessionNotification,
    TreatmentSession,
    VitalSign,
)
from tests.conftest import api_token, count, make_clinic, make_user, scalar
from tests.intake_app.intake_support import make_patient
from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, install_clock, setup

REMS_TYPED = {
    "first_treatment": "yes",
    "enrolled": "yes",
    "conmed_benzodiazepines": "no",
    "conmed_sedative_hypnotics": "no",
    "conmed_psychostimulants": "no",
    "conmed_maois": "no",
    "conmed_opioids": "no",
    "monitor_name": "Nina Nurse",
    "monitor_phone": "555 0100",
    "setting_address": "1 Clinic Way",
    "ready_to_leave_min": "95",
    "vitals_ok_before": "yes",
    "vitals_ok_end": "yes",
    "respiratory_depression": "no",
}


def charted(client: TestClient, app: FastAPI, w: dict[str, Any]) -> tuple[int, Any]:
    """An esketamine session charted up to the 2-hour point; returns (id, clock)."""
    clock = install_clock(app)
    nurse = w["nurse"]
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={"lot": "L123"}, headers=nurse
    )
    assert r.status_code == 201, r.text
    sid = r.json()["session"]["id"]
    base = f"/api/v1/sessions/{sid}"
    assert client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse).status_code == 200
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "pre_dose", **extra}
        assert client.post(f"{base}/scales", json=body, headers=nurse).status_code == 201
    r = client.post(f"{base}/dose", json={"given_dose_mg": 56}, headers=nurse)
    assert r.status_code == 200, r.text
    assert r.json()["session"]["last_device_at"] == "2025-03-03T09:05:00+00:00"
    clock.set(minutes=40)
    r = client.post(
        f"{base}/vitals", json={"systolic": 172, "diastolic": 106, "spo2": 97}, headers=nurse
    )
    assert [f["rule_id"] for f in r.json()["vitals"][-1]["flags"]] == [
        "vitals.sbp_rise",
        "vitals.dbp_rise",
    ]
    clock.set(minutes=110)
    client.post(
        f"{base}/vitals", json={"systolic": 135, "diastolic": 84, "spo2": 98}, headers=nurse
    )
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "discharge", **extra}
        assert client.post(f"{base}/scales", json=body, headers=nurse).status_code == 201
    r = client.post(f"{base}/discharge-approval", headers=w["clinician"])
    assert r.status_code == 200, r.text
    return sid, clock


def test_esketamine_session_end_to_end(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    sid, clock = charted(client, app, w)
    base, nurse = f"/api/v1/sessions/{sid}", w["nurse"]
    clock.set(minutes=124, seconds=59)  # last device at 09:05: 1 s short of 2 h
    r = client.get(f"{base}/discharge", headers=nurse)
    assert r.json()["allowed"] is False
    assert [u["rule_id"] for u in r.json()["unmet"]] == ["discharge.esk.min_time"]
    r = client.post(f"{base}/discharge", headers=nurse)
    assert r.status_code == 422
    assert r.json()["detail"][0]["rule_id"] == "discharge.esk.min_time"
    assert scalar(db, select(TreatmentSession.status).where(TreatmentSession.id == sid)) == "open"
    clock.set(minutes=125)
    assert client.get(f"{base}/discharge", headers=nurse).json()["allowed"] is True
    r = client.post(f"{base}/discharge", headers=nurse)
    assert r.status_code == 200 and r.json()["session"]["status"] == "discharged"
    r = client.post(f"{base}/sign", headers=nurse)  # REMS form incomplete
    assert r.status_code == 422 and {d["field"] for d in r.json()["detail"]} == {"rems"}
    assert "rems.monitor_phone" in {d["rule_id"] for d in r.json()["detail"]}
    r = client.put(f"{base}/rems", json={"fields": REMS_TYPED}, headers=nurse)
    assert r.status_code == 200 and r.json()["missing"] == [], r.json()["missing"]
    fields = r.json()["fields"]
    assert fields["bp_pre"] == "130/80" and fields["bp_40min"] == "172/106"
    assert fields["bp_end"] == "135/84" and fields["duration_min"] == 125
    assert fields["dose"] == "56 mg" and fields["lot_number"] == "L123"
    assert r.json()["deadline"] == "2025-03-10"
    assert client.post(f"{base}/sign", headers=nurse).json()["session"]["status"] == "signed"

    # read-only: every write is a 409 and nothing is stored
    n = count(db, VitalSign)
    r = client.post(f"{base}/vitals", json={"heart_rate": 80}, headers=nurse)
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "session"
    assert client.put(f"{base}/rems", json={"fields": {}}, headers=nurse).status_code == 409
    assert count(db, VitalSign) == n

    # amendments with a reason, kept as versions
    r = client.post(
        f"{base}/amendments", json={"reason": "typo", "changes": {"lot": "L124"}}, headers=nurse
    )
    assert r.status_code == 201 and r.json()["session"]["version"] == 2
    r = client.post(
        f"{base}/amendments", json={"reason": "", "changes": {"lot": "X"}}, headers=nurse
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    r = client.post(
        f"{base}/amendments",
        json={"reason": "x", "changes": {"lot": "X", "route": "iv"}},
        headers=nurse,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "changes.route"
    amendments = client.get(base, headers=nurse).json()["amendments"]
    assert [(a["version"], a["before"]["lot"], a["after"]["lot"]) for a in amendments] == [
        (2, "L123", "L124")
    ]
    assert count(db, SessionAmendment) == 1

    # exports hold the fields
    r = client.get(f"{base}/rems.csv", headers=nurse)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["field"]: row["value"] for row in csv.DictReader(io.StringIO(r.text))}
    assert set(rows) == {f.id for f in PMF_FIELDS}
    assert rows["lot_number"] == "L124" and rows["bp_40min"] == "172/106"
    assert rows["patient_last_name"] == "Lee" and rows["ready_to_leave_min"] == "95"
    pdf = client.get(f"{base}/rems.pdf", headers=nurse)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    due = client.get("/api/v1/rems/due", headers=nurse).json()
    assert [(d["session_id"], d["status"], d["deadline"]) for d in due] == [
        (sid, "due", "2025-03-10")
    ]
    client.post(f"{base}/rems/submitted", headers=nurse)
    assert client.get("/api/v1/rems/due", headers=nurse).json() == []

    actions = set(
        db.execute(
            select(AuditEvent.action, AuditEvent.resource, AuditEvent.outcome).where(
                AuditEvent.resource_id == str(sid)
            )
        ).all()
    )
    db.commit()
    for expected in [
        ("create", "treatment_session", "ok"),
        ("read", "treatment_session", "ok"),
        ("update", "session_checklist", "ok"),
        ("update", "session_dose", "ok"),
        ("discharge", "treatment_session", "refused"),
        ("discharge", "treatment_session", "ok"),
        ("sign", "treatment_session", "ok"),
        ("amend", "treatment_session", "ok"),
        ("export", "rems_form", "ok"),
    ]:
        assert expected in actions, expected


def test_pdf_renders_non_blank(
    client: TestClient, app: FastAPI, db: Session, tmp_path: Path
) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    from ketacare.features.sessions.rems_forms import to_pdf

    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(to_pdf({f.id: f"value-{f.id}" for f in PMF_FIELDS}, 7))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "p")], check=True)
    from matplotlib.image import imread

    image = imread(str(next(tmp_path.glob("p*.png"))))
    assert image.shape[0] > image.shape[1]  # portrait A4
    assert (image[..., :3] < 0.5).mean() > 0.005  # text drawn, not a blank page


def test_checklist_gates_the_dose_and_bp_decision_is_a_clinicians(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    install_clock(app)
    sid = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={}, headers=w["nurse"]
    ).json()["session"]["id"]
    base = f"/api/v1/sessions/{sid}"
    r = client.post(f"{base}/dose", json={"given_dose_mg": 56}, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "checklist"
    body = {**CHECKLIST_OK, "systolic": 141}
    r = client.put(f"{base}/checklist", json=body, headers=w["nurse"])
    assert [u["rule_id"] for u in r.json()["predose"]["unmet"]] == ["predose.bp_above_label"]
    decision = {"decision": "proceed", "reason": "asymptomatic, benefit outweighs risk"}
    assert client.post(f"{base}/bp-decision", json=decision, headers=w["nurse"]).status_code == 403
    r = client.post(f"{base}/bp-decision", json=decision, headers=w["clinician"])
    assert r.status_code == 200 and r.json()["predose"]["complete"] is True
    r = client.post(f"{base}/dose", json={"given_dose_mg": 70}, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "given_dose_mg"
    r = client.put(f"{base}/checklist", json={**CHECKLIST_OK, "spo2": 101}, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "spo2"
    r = client.post(f"{base}/vitals", json={"systolic": 120}, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "diastolic"
    r = client.post(
        f"{base}/scales",
        json={"instrument": "cadss6", "timepoint": "peak", "answers": {"1": 9}},
        headers=w["nurse"],
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "answers"
    assert count(db, VitalSign) == 1  # only the checklist's pre-dose reading


def test_moaas_zero_and_serious_events_notify_clinicians(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    install_clock(app)
    other_clinician = make_user(db, w["clinic"], Role.clinician)
    sid = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={}, headers=w["nurse"]
    ).json()["session"]["id"]
    r = client.post(
        f"/api/v1/sessions/{sid}/scales",
        json={"instrument": "moaas", "timepoint": "peak", "answers": {"1": 0}},
        headers=w["nurse"],
    )
    assert r.status_code == 201
    events = r.json()["adverse_events"]
    assert [(e["term"], e["serious"], e["origin"]) for e in events] == [
        ("sedation", True, "moaas0")
    ]
    assert count(db, SessionNotification) == 2  # both clinicians
    r = client.post(
        f"/api/v1/sessions/{sid}/adverse-events",
        json={"term": "other", "severity": "mild"},
        headers=w["nurse"],
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "other_text"
    r = client.post(
        f"/api/v1/sessions/{sid}/adverse-events",
        json={
            "term": "vomiting",
            "severity": "moderate",
            "action": "antiemetic",
            "outcome": "resolved",
        },
        headers=w["nurse"],
    )
    assert r.status_code == 201 and count(db, SessionNotification) == 2
    assert count(db, AdverseEvent) == 2
    n = scalar(
        db,
        select(func.count())
        .select_from(SessionNotification)
        .where(SessionNotification.user_id == other_clinician.id),
    )
    assert n == 1
    notify = scalar(
        db, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "notify")
    )
    assert notify == 1


def test_tenancy_roles_and_ids(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db)
    install_clock(app)
    sid = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={}, headers=w["nurse"]
    ).json()["session"]["id"]
    other = make_clinic(db, "other", "Other")
    outsider = {"Authorization": f"Bearer {api_token(db, make_user(db, other, Role.admin))}"}
    assert client.get(f"/api/v1/sessions/{sid}", headers=outsider).status_code == 404
    assert (
        client.post(
            f"/api/v1/sessions/{sid}/vitals", json={"heart_rate": 70}, headers=outsider
        ).status_code
        == 404
    )
    patient_user = make_user(db, w["clinic"], Role.patient)
    as_patient = {"Authorization": f"Bearer {api_token(db, patient_user)}"}
    assert client.get(f"/api/v1/sessions/{sid}", headers=as_patient).status_code == 403
    assert client.get(f"/api/v1/sessions/{2**31}", headers=w["nurse"]).status_code == 422
    assert client.get(f"/api/v1/sessions/{2**31 - 1}", headers=w["nurse"]).status_code == 404
    no_plan = make_patient(db, w["clinic"], "Planless")
    r = client.post(f"/api/v1/patients/{no_plan.id}/sessions", json={}, headers=w["nurse"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "plan"
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={"route": "iv"}, headers=w["nurse"]
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "route"
    assert count(db, TreatmentSession) == 1


def test_openapi_documents_every_step(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/v1/patients/{patient_id}/sessions",
        "/api/v1/sessions/{session_id}/vitals",
        "/api/v1/sessions/{session_id}/scales",
        "/api/v1/sessions/{session_id}/adverse-events",
        "/api/v1/sessions/{session_id}/discharge",
        "/api/v1/sessions/{session_id}/sign",
        "/api/v1/sessions/{session_id}/rems.pdf",
        "/api/v1/sessions/{session_id}/rems.csv",
    ):
        assert p in paths, p


def test_rems_pdf_prints_whole_questions_without_markers(tmp_path: Path) -> None:
    """Issue 13.21: no "[U wording]" markers on the PDF or CSV, and no question cut short."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    from ketacare.features.sessions.rems_forms import to_csv, to_pdf

    values = {f.id: f"v-{f.id}" for f in PMF_FIELDS}
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(to_pdf(values, 7))
    out = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(out.split())
    assert "[U wording]" not in out and "..." not in out and "…" not in out
    assert "would have been ready to leave without the 2-hour minimum" in flat
    assert all(f"v-{f.id}" in flat for f in PMF_FIELDS)
    assert "[U wording]" not in to_csv(values)
