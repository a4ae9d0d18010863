"""The patient chart summary (issue 21.1): every panel, the patient header, the allergy and
medicine records (pages and API, audited), and a statement count that does not grow with the
record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import PatientAllergy, PatientMedication
from tests.chart.support import START, full_patient, session_count
from tests.conftest import api_token, count, csrf, login, make_clinic, make_user
from tests.sessions.support import install_clock

#: The chart page's statements, whatever the record's length (login session, patient and
#: header, allergies, medicines, the panels, the audit append at commit).
STATEMENT_BOUND = 30


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        seen.append(stmt)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_chart_shows_each_panel(app: FastAPI, client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    patient = full_patient(db, clinic, sessions=3)
    pid = patient.id
    user = make_user(db, clinic, Role.clinician)
    email = user.email
    db.commit()
    install_clock(app, START.replace(day=20))
    login(client, email)
    page = client.get(f"/patients/{pid}")
    assert page.status_code == 200
    html = page.text
    # Header: name, age, record number, open alerts (in words, not only in colour).
    header = html[html.index('id="patient-header"') :][:1200]
    assert "Lee, Ada" in header and "41 years" in header and "2 open alerts" in header
    # Open alerts come first, labelled in text.
    assert html.index('id="panel-alerts"') < html.index('id="patient-summary"')
    assert "Urgent:</strong> PHQ-9 item 9" in html and "Warning:</strong> Worse" in html
    assert html.index("Urgent:</strong>") < html.index("Warning:</strong>")
    # Identity, weight from the intake.
    assert re.search(r'id="fact-weight">\d+(\.\d+)? kg \(intake v1', html)
    # Course progress: 3 of the plan's sessions charted.
    progress = html[html.index('id="course-progress"') :][:300]
    assert "Next: session 4 of" in progress and "3 sessions charted" in progress
    # Latest PHQ-9 with its band, change from the pre-dose baseline (22 -> 17) and a trend.
    row = html[html.index('id="score-phq9"') :][:2500]
    assert "<strong>17</strong>" in row and "Moderate" in row
    assert "-5 (-23%)" in row and "from 22" in row
    assert 'class="sparkline" role="img"' in row and "22, 20, 17" in row
    # Intake verdict with its date.
    verdict = html[html.index('id="intake-verdict"') :][:1500]
    assert "Assessed" in verdict and "IV ketamine" in verdict and "Thase-Rush" in verdict
    # Last session: dose, peak CADSS, lowest MOAA/S, adverse events, discharge.
    last = html[html.index('id="last-session"') :][:2500]
    assert "84 mg" in last and 'id="last-cadss">5' in last and 'id="last-moaas">4' in last
    assert "Nausea" in last or "nausea" in last
    assert 'id="last-discharge">2025-03-09' in last
    # Consent and REMS.
    assert "Enrolled</strong> on 2025-03-03" in html and "R-77" in html
    # Quick actions and the place kept for clinical notes.
    for action in ("action-chart-session", "action-enter-score", "action-send-link"):
        assert f'id="{action}"' in html
    assert 'id="panel-notes"' in html
    # Allergies: none recorded, said in words.
    assert "No known allergies recorded" in html
    # The chart read is audited, naming the patient.
    reads = db.execute(
        select(AuditEvent.resource, AuditEvent.patient_id).where(AuditEvent.action == "read")
    ).all()
    db.commit()
    assert ("chart", pid) in reads and ("patient", pid) in reads


def test_chart_statements_do_not_grow_with_the_record(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    small = full_patient(db, clinic, sessions=2, family="Small")
    large = full_patient(db, clinic, sessions=40, family="Large")
    ids = (small.id, large.id)
    assert session_count(db, ids[0]) == 2 and session_count(db, ids[1]) == 40
    email = make_user(db, clinic, Role.nurse).email
    db.commit()
    install_clock(app, START)
    login(client, email)
    counts = []
    for pid in ids:
        client.get(f"/patients/{pid}")  # warm (prebuilt statements, template compile)
        with statements(app) as seen:
            page = client.get(f"/patients/{pid}")
        assert page.status_code == 200 and 'id="patient-chart"' in page.text
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    assert counts[0] <= STATEMENT_BOUND, counts


def test_allergies_and_medicines_on_the_page(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    patient = full_patient(db, clinic, sessions=1)
    pid = patient.id
    nurse, admin = make_user(db, clinic, Role.nurse), make_user(db, clinic, Role.admin)
    nurse_email, admin_email = nurse.email, admin.email
    db.commit()
    login(client, nurse_email)
    token = csrf(client, f"/patients/{pid}")
    bad = client.post(
        f"/patients/{pid}/allergies",
        data={"substance": "  ", "reaction": "rash", "csrf_token": token},
    )
    assert bad.status_code == 422 and "substance" in bad.text and "is required" in bad.text
    bad = client.post(
        f"/patients/{pid}/allergies",
        data={"substance": "Penicillin", "severity": "deadly", "csrf_token": token},
    )
    assert bad.status_code == 422 and "severity" in bad.text
    bad = client.post(
        f"/patients/{pid}/medications",
        data={"name": "Sertraline", "started_on": "0202-01-01", "csrf_token": token},
    )
    assert bad.status_code == 422 and "started_on" in bad.text and "1900-01-01" in bad.text
    assert count(db, PatientAllergy) == 0 and count(db, PatientMedication) == 0
    ok = client.post(
        f"/patients/{pid}/allergies",
        data={"substance": "Penicillin", "reaction": "hives", "severity": "moderate",
              "csrf_token": token},
    )  # fmt: skip
    assert ok.status_code == 303
    ok = client.post(
        f"/patients/{pid}/medications",
        data={"name": "Sertraline", "dose": "100 mg daily", "started_on": "2024-06-01",
              "csrf_token": token},
    )  # fmt: skip
    assert ok.status_code == 303
    html = client.get(f"/patients/{pid}").text
    assert "Penicillin</strong>: hives" in html and "Sertraline</strong> 100 mg daily" in html
    allergy_id = db.execute(select(PatientAllergy.id)).scalar_one()
    med_id = db.execute(select(PatientMedication.id)).scalar_one()
    db.commit()
    # The office may not change clinical lists (403, nothing stored).
    client.cookies.clear()
    login(client, admin_email)
    token = csrf(client, f"/patients/{pid}")
    refused = client.post(
        f"/patients/{pid}/allergies/{allergy_id}/remove", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    login(client, nurse_email)
    token = csrf(client, f"/patients/{pid}")
    gone = client.post(f"/patients/{pid}/allergies/{allergy_id}/remove", data={"csrf_token": token})
    assert gone.status_code == 303
    stopped = client.post(
        f"/patients/{pid}/medications/{med_id}/remove", data={"csrf_token": token}
    )
    assert stopped.status_code == 303
    again = client.post(f"/patients/{pid}/medications/{med_id}/remove", data={"csrf_token": token})
    assert again.status_code == 404
    html = client.get(f"/patients/{pid}").text
    assert "No known allergies recorded" in html and "No current medicines recorded" in html
    assert count(db, PatientAllergy) == 1  # kept, marked removed
    events = set(
        db.execute(
            select(AuditEvent.action, AuditEvent.resource).where(AuditEvent.patient_id == pid)
        ).all()
    )
    db.commit()
    assert {("create", "allergy"), ("delete", "allergy"), ("create", "medication"),
            ("delete", "medication")} <= events  # fmt: skip
    # Showing them is part of the audited read of the patient's chart (one event a request).
    assert any(resource in ("patient", "patient_chart") for _, resource in events)


def test_allergies_and_medicines_in_the_api(client: TestClient, db: Session) -> None:
    clinic, other = make_clinic(db), make_clinic(db, "other", "Other")
    patient = full_patient(db, clinic, sessions=1)
    pid = patient.id
    mine = {"Authorization": f"Bearer {api_token(db, make_user(db, clinic, Role.clinician))}"}
    office = {"Authorization": f"Bearer {api_token(db, make_user(db, clinic, Role.admin))}"}
    theirs = {"Authorization": f"Bearer {api_token(db, make_user(db, other, Role.clinician))}"}
    db.commit()
    base = f"/api/v1/patients/{pid}"
    bad = client.post(f"{base}/allergies", json={"substance": ""}, headers=mine)
    assert bad.status_code == 422 and "substance" in bad.text
    bad = client.post(f"{base}/medications", json={"name": "X", "started_on": "2999-01-01"},
                      headers=mine)  # fmt: skip
    assert bad.status_code == 422 and "started_on" in bad.text
    assert (
        client.post(f"{base}/allergies", json={"substance": "Latex"}, headers=office).status_code
        == 403
    )
    assert (
        client.post(f"{base}/allergies", json={"substance": "Latex"}, headers=theirs).status_code
        == 404
    )
    made = client.post(f"{base}/allergies", json={"substance": "Latex", "severity": "severe"},
                       headers=mine)  # fmt: skip
    assert made.status_code == 201 and made.json()["severity"] == "severe"
    med = client.post(f"{base}/medications", json={"name": "Lithium", "dose": "400 mg"},
                      headers=mine)  # fmt: skip
    assert med.status_code == 201
    detail = client.get(base, headers=mine).json()
    assert [a["substance"] for a in detail["allergies"]] == ["Latex"]
    assert [m["name"] for m in detail["medications"]] == ["Lithium"]
    assert client.get(f"{base}/medications", headers=office).json()[0]["dose"] == "400 mg"
    assert client.delete(f"{base}/allergies/{made.json()['id']}", headers=mine).status_code == 204
    assert client.delete(f"{base}/allergies/{made.json()['id']}", headers=mine).status_code == 404
    assert client.get(f"{base}/allergies", headers=mine).json() == []
    assert (
        client.post(f"{base}/allergies", json={"substance": "A\x00"}, headers=mine).status_code
        == 422
    )
    assert count(db, PatientAllergy) == 1


def test_patient_header_on_patient_pages(app: FastAPI, client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    patient = full_patient(db, clinic, sessions=2)
    pid = patient.id
    email = make_user(db, clinic, Role.clinician).email
    db.commit()
    install_clock(app, START)
    login(client, email)
    for path in ("assessments", "trajectories", "sessions", "intake", "assessment", "plan",
                 "consent", "rems", "bookings", "report"):  # fmt: skip
        page = client.get(f"/patients/{pid}/{path}")
        assert page.status_code == 200, path
        header = page.text[page.text.index('id="patient-header"') :][:1200]
        assert "Lee, Ada" in header and "2 open alerts" in header and "41 years" in header, path
    sid = int(re.findall(r'href="/sessions/(\d+)"', client.get(f"/patients/{pid}").text)[0])
    header = client.get(f"/sessions/{sid}").text
    assert 'id="patient-header"' in header and "2 open alerts" in header
